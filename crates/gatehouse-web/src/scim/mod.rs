//! `/scim/v2`: the SCIM 2.0 service provider (RFC 7644).
//!
//! Handlers are thin: [`ScimClient`] proves the caller (a SCIM token, or an
//! admin token acting on its org), [`ScimBody`] reads `application/scim+json`
//! (or `application/json`), `gatehouse_scim` parses the protocol messages, a
//! `services::scim` call decides, and [`ScimJson`] / [`ScimReply`] render the
//! resource or the SCIM error (RFC 7644 §3.12) as `application/scim+json`.
//!
//! | module | endpoints |
//! | --- | --- |
//! | `discovery` | `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas` |
//! | `resources` | `/Users`, `/Groups`, their `/.search`, the root `/.search`, `/Me` |
//! | `bulk` | `/Bulk` |

mod bulk;
mod discovery;
mod resources;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use gatehouse_core::Error;
use gatehouse_core::services::ScimPrincipal;
use gatehouse_core::services::scim::ScimFailure;
use gatehouse_scim::ScimError;
use serde_json::Value;

use crate::AppState;

/// The SCIM media type (RFC 7644 §8.1).
pub const SCIM_JSON: &str = "application/scim+json";

/// Longest bearer token looked up.
const MAX_TOKEN_LEN: usize = 512;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/scim/v2/ServiceProviderConfig",
            get(discovery::service_provider_config),
        )
        .route("/scim/v2/ResourceTypes", get(discovery::resource_types))
        .route("/scim/v2/ResourceTypes/{id}", get(discovery::resource_type))
        .route("/scim/v2/Schemas", get(discovery::schemas))
        .route("/scim/v2/Schemas/{id}", get(discovery::schema))
        .route(
            "/scim/v2/Users",
            get(resources::list_users).post(resources::create_user),
        )
        .route("/scim/v2/Users/.search", post(resources::search_users))
        .route(
            "/scim/v2/Users/{id}",
            get(resources::get_user)
                .put(resources::replace_user)
                .patch(resources::patch_user)
                .delete(resources::delete_user),
        )
        .route(
            "/scim/v2/Groups",
            get(resources::list_groups).post(resources::create_group),
        )
        .route("/scim/v2/Groups/.search", post(resources::search_groups))
        .route(
            "/scim/v2/Groups/{id}",
            get(resources::get_group)
                .put(resources::replace_group)
                .patch(resources::patch_group)
                .delete(resources::delete_group),
        )
        .route("/scim/v2/.search", post(resources::search_all))
        .route("/scim/v2/Bulk", post(bulk::bulk))
        .route("/scim/v2/Me", any(resources::me))
        .route("/scim/v2/Me/{*rest}", any(resources::me))
        .route("/scim/v2", any(unknown_endpoint))
        .route("/scim/v2/{*rest}", any(unknown_endpoint))
}

/// An authenticated SCIM client, from `Authorization: Bearer` (RFC 7644 §2).
#[derive(Debug, Clone)]
pub struct ScimClient(pub ScimPrincipal);

impl FromRequestParts<AppState> for ScimClient {
    type Rejection = ScimReply;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(&parts.headers).ok_or_else(unauthorized)?;
        match state.services.admin_auth.authenticate_scim(token).await {
            Ok(principal) => Ok(ScimClient(principal)),
            Err(Error::AuthFailed) => Err(unauthorized()),
            Err(other) => Err(ScimFailure::from(other).into()),
        }
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && token.len() <= MAX_TOKEN_LEN)
        .then_some(token)
}

fn unauthorized() -> ScimReply {
    ScimReply(ScimFailure::Protocol(ScimError::with_status(
        401,
        "a valid bearer token is required",
    )))
}

/// A SCIM request body: `application/scim+json` or `application/json`
/// (any `+json` type; a missing content type is read as JSON too). Broken
/// JSON is 400 `invalidSyntax`.
#[derive(Debug)]
pub struct ScimBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for ScimBody {
    type Rejection = ScimReply;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = RawBody::from_request(request, state).await?.0;
        serde_json::from_slice(&bytes)
            .map(ScimBody)
            .map_err(|_| ScimError::invalid_syntax("the request body is not valid JSON").into())
    }
}

/// The bytes of a JSON request body (the bulk endpoint measures them).
#[derive(Debug)]
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ScimReply;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .is_none_or(|essence| {
                essence == "application/json"
                    || (essence.starts_with("application/") && essence.ends_with("+json"))
            });
        if !json {
            return Err(ScimError::with_status(
                415,
                "the request body must be application/scim+json",
            )
            .into());
        }
        Bytes::from_request(request, state)
            .await
            .map(RawBody)
            .map_err(|rejection| match rejection {
                BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_)) => {
                    ScimError::with_status(413, "the request body is too large").into()
                }
                _ => ScimError::invalid_syntax("the request body could not be read").into(),
            })
    }
}

/// A SCIM error answer.
#[derive(Debug)]
pub struct ScimReply(pub ScimFailure);

impl From<ScimFailure> for ScimReply {
    fn from(failure: ScimFailure) -> Self {
        Self(failure)
    }
}

impl From<ScimError> for ScimReply {
    fn from(error: ScimError) -> Self {
        Self(ScimFailure::Protocol(error))
    }
}

impl IntoResponse for ScimReply {
    fn into_response(self) -> Response {
        let error = match self.0 {
            ScimFailure::Protocol(error) => error,
            ScimFailure::Core(Error::Unavailable) => {
                ScimError::with_status(503, "temporarily unavailable; retry later")
            }
            ScimFailure::Core(cause) => {
                tracing::error!(error = %cause, "SCIM request failed");
                ScimError::with_status(500, "internal error")
            }
        };
        error_response(&error)
    }
}

/// The RFC 7644 §3.12 error body with its status.
pub fn error_response(error: &ScimError) -> Response {
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = ScimJson::new(status, error.to_json()).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"scim\""),
        );
    }
    response
}

/// A SCIM JSON answer with optional `ETag` and `Location`.
#[derive(Debug)]
pub struct ScimJson {
    status: StatusCode,
    body: Value,
    etag: Option<String>,
    location: Option<String>,
}

impl ScimJson {
    pub fn new(status: StatusCode, body: Value) -> Self {
        Self {
            status,
            body,
            etag: None,
            location: None,
        }
    }

    pub fn ok(body: Value) -> Self {
        Self::new(StatusCode::OK, body)
    }

    pub fn etag(mut self, etag: String) -> Self {
        self.etag = Some(etag);
        self
    }

    pub fn location(mut self, location: String) -> Self {
        self.location = Some(location);
        self
    }
}

impl IntoResponse for ScimJson {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(etag) = self.etag.and_then(|e| HeaderValue::from_str(&e).ok()) {
            headers.insert(header::ETAG, etag);
        }
        if let Some(location) = self.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            headers.insert(header::LOCATION, location);
        }
        response
    }
}

/// RFC 7644 §3.12: an endpoint that does not exist is 404.
async fn unknown_endpoint() -> ScimReply {
    ScimError::with_status(404, "no such SCIM endpoint").into()
}

/// Turns a bare error a layer produced under `/scim/` (body limit, wrong
/// method) into the SCIM error body; see `problem::fill_bare_errors`.
pub(crate) fn bare_error(status: StatusCode) -> Response {
    let detail = status.canonical_reason().unwrap_or("error");
    error_response(&ScimError::with_status(status.as_u16(), detail))
}
