//! RFC 9457 problem details: the one way the admin API reports an error.
//!
//! [`ApiError`] is what handlers and extractors fail with. It renders in one
//! exhaustive `match`, and so does the core [`Error`] inside it, so a new
//! variant on either side forces a decision here. Internal causes (store and
//! crypto failures, panics) are logged inside the request's span, which
//! carries the request id, and never reach a response body.

use std::any::Any;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use gatehouse_core::{Error, FieldError, StoreError};

/// The media type of every error body (RFC 9457 §3).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// `WWW-Authenticate` for a request without credentials (RFC 6750 §3.1: no error code).
const CHALLENGE: &str = r#"Bearer realm="gatehouse""#;
/// `WWW-Authenticate` for a presented bearer token that was refused (RFC 6750 §3.1).
const CHALLENGE_INVALID_TOKEN: &str = r#"Bearer realm="gatehouse", error="invalid_token", error_description="the access token is invalid""#;
/// Seconds a client should wait before retrying a 503.
const RETRY_AFTER_SECS: &str = "2";

/// Problem type of a request that could not be parsed (JSON syntax, query string, header).
const TYPE_MALFORMED: &str = "urn:gatehouse:problem:malformed-request";
/// Problem type of a request whose fields failed validation; `errors` lists them.
const TYPE_VALIDATION: &str = "urn:gatehouse:problem:validation";
/// Problem type of a request that conflicts with stored state.
const TYPE_CONFLICT: &str = "urn:gatehouse:problem:conflict";
/// RFC 9457 §4.2.1: the status code says it all.
const TYPE_BLANK: &str = "about:blank";

/// An RFC 9457 problem details object.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI reference identifying the problem type; `about:blank` when the status says it all.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the problem type.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// An explanation specific to this occurrence; never contains a secret or an internal cause.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// A URI reference identifying this occurrence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The fields that failed validation (422 only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl Problem {
    /// A problem whose type is `about:blank` and whose title is the status phrase.
    pub fn status(status: StatusCode) -> Self {
        Self::typed(TYPE_BLANK, status)
    }

    fn typed(kind: &str, status: StatusCode) -> Self {
        Self {
            kind: kind.to_owned(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: None,
            instance: None,
            errors: Vec::new(),
        }
    }

    fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    fn title(mut self, title: &str) -> Self {
        self.title = title.to_owned();
        self
    }

    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let body = serde_json::to_vec(&self).unwrap_or_default();
        (
            status,
            [(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON))],
            body,
        )
            .into_response()
    }
}

/// Why a request failed, as the web layer sees it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A core service refused or failed.
    #[error(transparent)]
    Core(#[from] Error),
    /// No bearer token was presented.
    #[error("no credentials")]
    MissingToken,
    /// A bearer token was presented and refused (unknown, revoked, expired, malformed).
    #[error("invalid token")]
    InvalidToken,
    /// The request could not be parsed: JSON syntax, query string, a header.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// The body is not JSON (by its `Content-Type`).
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// The body is larger than the configured limit.
    #[error("payload too large")]
    PayloadTooLarge,
    /// No route matches the path.
    #[error("no such route")]
    NoRoute,
    /// The route exists but not with this method.
    #[error("method not allowed")]
    MethodNotAllowed,
}

impl ApiError {
    /// The problem this error renders as, with any extra headers it needs.
    fn render(self) -> (Problem, HeaderMap) {
        let mut headers = HeaderMap::new();
        let problem = match self {
            ApiError::Core(e) => return render_core(e),
            ApiError::MissingToken => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(CHALLENGE),
                );
                Problem::status(StatusCode::UNAUTHORIZED).detail("a bearer token is required")
            }
            ApiError::InvalidToken => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(CHALLENGE_INVALID_TOKEN),
                );
                Problem::status(StatusCode::UNAUTHORIZED)
                    .detail("the bearer token is invalid, expired or revoked")
            }
            ApiError::Malformed(detail) => Problem::typed(TYPE_MALFORMED, StatusCode::BAD_REQUEST)
                .title("Malformed request")
                .detail(detail),
            ApiError::UnsupportedMediaType => Problem::status(StatusCode::UNSUPPORTED_MEDIA_TYPE)
                .detail("the body must be JSON: Content-Type application/json (or a +json type)"),
            ApiError::PayloadTooLarge => Problem::status(StatusCode::PAYLOAD_TOO_LARGE)
                .detail("the request body is larger than allowed"),
            ApiError::NoRoute => Problem::status(StatusCode::NOT_FOUND).detail("no such resource"),
            ApiError::MethodNotAllowed => Problem::status(StatusCode::METHOD_NOT_ALLOWED)
                .detail("the resource does not support this method"),
        };
        (problem, headers)
    }
}

/// Renders a core error: one arm per variant, no catch-all.
fn render_core(e: Error) -> (Problem, HeaderMap) {
    let mut headers = HeaderMap::new();
    let problem = match e {
        Error::NotFound(what) => {
            Problem::status(StatusCode::NOT_FOUND).detail(format!("{what} not found"))
        }
        Error::Conflict(detail) => {
            Problem::typed(TYPE_CONFLICT, StatusCode::CONFLICT).detail(detail)
        }
        Error::PreconditionFailed => Problem::status(StatusCode::PRECONDITION_FAILED).detail(
            "the resource has changed since the If-Match version; fetch it again and retry",
        ),
        Error::Forbidden => Problem::status(StatusCode::FORBIDDEN)
            .detail("this token may not perform this operation"),
        Error::Invalid(errors) => {
            let mut p = Problem::typed(TYPE_VALIDATION, StatusCode::UNPROCESSABLE_ENTITY)
                .title("Validation failed")
                .detail("one or more fields are invalid; see `errors`");
            p.errors = errors;
            p
        }
        Error::AuthFailed => {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(CHALLENGE),
            );
            Problem::status(StatusCode::UNAUTHORIZED).detail("authentication failed")
        }
        Error::Unavailable => {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECS),
            );
            Problem::status(StatusCode::SERVICE_UNAVAILABLE)
                .detail("the server is busy; retry shortly")
        }
        Error::Store(cause) => {
            log_store_error(&cause);
            Problem::status(StatusCode::INTERNAL_SERVER_ERROR)
        }
        Error::Internal(cause) => {
            tracing::error!(cause = %cause, "internal error");
            Problem::status(StatusCode::INTERNAL_SERVER_ERROR)
        }
    };
    (problem, headers)
}

fn log_store_error(cause: &StoreError) {
    tracing::error!(cause = %cause, "storage error");
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (problem, headers) = self.render();
        let mut response = problem.into_response();
        response.headers_mut().extend(headers);
        response
    }
}

/// The fallback for paths no route matches.
pub async fn no_route() -> ApiError {
    ApiError::NoRoute
}

/// The fallback for a known path with a method it does not serve.
pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// The response to a panicking handler: a bare 500, the panic message logged.
pub fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(non-string panic payload)".to_owned());
    tracing::error!(panic = %message, "handler panicked");
    Problem::status(StatusCode::INTERNAL_SERVER_ERROR).into_response()
}

/// Middleware: an error response from a layer that knows nothing of problem
/// details (a body limit's 413, axum's bare 405) gets a problem body for its
/// status, keeping its other headers (`Allow`, `Retry-After`). HTML error
/// pages, existing problem bodies and OAuth JSON errors pass through.
pub async fn fill_bare_errors(request: Request, next: Next) -> Response {
    let scim = request.uri().path().starts_with("/scim/");
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    // SCIM clients get the SCIM error body (RFC 7644 §3.12), also from layers.
    if scim {
        let is_scim = response
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(crate::scim::SCIM_JSON.as_bytes()));
        return if is_scim {
            response
        } else {
            crate::scim::bare_error(status)
        };
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // OAuth endpoints answer errors as `application/json` (RFC 6749 §5.2, RFC 7591 §3.2.2).
    if content_type.starts_with(PROBLEM_JSON)
        || content_type.starts_with("text/html")
        || content_type.starts_with("application/json")
    {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_TYPE);
    let mut problem = Problem::status(status).into_response();
    problem.headers_mut().extend(parts.headers);
    problem
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn check(error: ApiError, status: u16, www_authenticate: Option<&str>) {
        let response = error.into_response();
        assert_eq!(response.status().as_u16(), status);
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        assert_eq!(
            response
                .headers()
                .get(header::WWW_AUTHENTICATE)
                .map(|v| v.to_str().unwrap()),
            www_authenticate
        );
    }

    #[test]
    fn core_errors_map_to_their_status() {
        check(Error::NotFound("user").into(), 404, None);
        check(Error::Conflict("x".into()).into(), 409, None);
        check(Error::PreconditionFailed.into(), 412, None);
        check(Error::Forbidden.into(), 403, None);
        check(
            Error::invalid("email", "invalid_email", "bad").into(),
            422,
            None,
        );
        check(Error::AuthFailed.into(), 401, Some(CHALLENGE));
        check(Error::Unavailable.into(), 503, None);
        check(
            Error::Store(StoreError::Backend("secret cause".into())).into(),
            500,
            None,
        );
        check(Error::Internal("secret cause".into()).into(), 500, None);
        check(ApiError::InvalidToken, 401, Some(CHALLENGE_INVALID_TOKEN));
        check(ApiError::MissingToken, 401, Some(CHALLENGE));
        check(ApiError::UnsupportedMediaType, 415, None);
        check(ApiError::PayloadTooLarge, 413, None);
        check(ApiError::Malformed("x".into()), 400, None);
        check(ApiError::NoRoute, 404, None);
        check(ApiError::MethodNotAllowed, 405, None);
    }

    #[test]
    fn internal_errors_say_nothing() {
        let (problem, _) =
            ApiError::from(Error::Store(StoreError::Backend("password=hunter2".into()))).render();
        let body = serde_json::to_string(&problem).unwrap();
        assert_eq!(
            body,
            r#"{"type":"about:blank","title":"Internal Server Error","status":500}"#
        );
    }

    #[test]
    fn validation_errors_list_fields() {
        let (problem, _) =
            ApiError::from(Error::invalid("email", "invalid_email", "is not valid")).render();
        let body = serde_json::to_value(&problem).unwrap();
        assert_eq!(body["errors"][0]["field"], "email");
        assert_eq!(body["errors"][0]["code"], "invalid_email");
        assert_eq!(body["type"], TYPE_VALIDATION);
    }
}
