//! The OAuth 2.0 / OpenID Connect endpoints (paths from
//! `gatehouse_oauth::discovery::paths`). Handlers read the wire format into
//! parameter pairs, call one `services.oauth` method and render its answer:
//! JSON with `Cache-Control: no-store` for the back-channel endpoints, a
//! redirect or a page for the browser ones.

pub(crate) mod authorize;
mod device;
mod discovery;
mod introspect;
mod logout;
mod revoke;
mod token;
mod userinfo;

use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use gatehouse_core::clock::{Rng, SystemRng};
use gatehouse_core::model::SsoSession;
use gatehouse_oauth::authorize::Redirect;
use gatehouse_oauth::discovery::paths;
use gatehouse_oauth::error::INVALID_CLIENT_CHALLENGE;
use gatehouse_oauth::{ErrorCode, OAuthError};

use crate::AppState;
use crate::cookies::Cookie;
use crate::pages::Page;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            paths::OPENID_CONFIGURATION,
            get(discovery::openid_configuration),
        )
        .route(
            paths::OAUTH_AUTHORIZATION_SERVER,
            get(discovery::authorization_server),
        )
        .route(paths::AUTHORIZE, get(authorize::get).post(authorize::post))
        .route(paths::TOKEN, post(token::token))
        .route(paths::USERINFO, get(userinfo::get).post(userinfo::post))
        .route(paths::INTROSPECT, post(introspect::introspect))
        .route(paths::REVOKE, post(revoke::revoke))
        .route(paths::LOGOUT, get(logout::get).post(logout::post))
        .route(
            paths::DEVICE_AUTHORIZATION,
            post(device::device_authorization),
        )
}

/// Request parameters as ordered pairs, so repeated parameters can be refused
/// (RFC 6749 §3.1). From the query string.
#[derive(Debug)]
pub struct QueryPairs(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        Ok(Self(
            url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect(),
        ))
    }
}

/// The first value of a parameter, for the hosted pages' own forms (OAuth
/// parameters go through `gatehouse_oauth::params`, which refuses repeats).
pub fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Parameters from an `application/x-www-form-urlencoded` body (RFC 6749 §3.2).
#[derive(Debug)]
pub struct FormPairs(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequest<S> for FormPairs {
    type Rejection = OAuthReply;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_form = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                v.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !is_form {
            return Err(OAuthReply(OAuthError::with_description(
                ErrorCode::InvalidRequest,
                "the body must be application/x-www-form-urlencoded",
            )));
        }
        let body = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|_| {
                OAuthReply(OAuthError::with_description(
                    ErrorCode::InvalidRequest,
                    "the body could not be read",
                ))
            })?;
        Ok(Self(
            url::form_urlencoded::parse(&body).into_owned().collect(),
        ))
    }
}

/// An OAuth error as a JSON response (RFC 6749 §5.2, RFC 6750 §3): status by
/// code, `WWW-Authenticate` on 401, never cached.
#[derive(Debug)]
pub struct OAuthReply(pub OAuthError);

impl From<OAuthError> for OAuthReply {
    fn from(error: OAuthError) -> Self {
        Self(error)
    }
}

impl IntoResponse for OAuthReply {
    fn into_response(self) -> Response {
        let error = self.0;
        let status = StatusCode::from_u16(error.code.status()).unwrap_or(StatusCode::BAD_REQUEST);
        let mut response = (status, axum::Json(error.to_json())).into_response();
        no_store(response.headers_mut());
        if status == StatusCode::UNAUTHORIZED {
            let challenge = match error.code {
                ErrorCode::InvalidClient => INVALID_CLIENT_CHALLENGE.to_owned(),
                _ => error.bearer_challenge(),
            };
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, value);
            }
        }
        response
    }
}

/// RFC 6749 §5.1: token responses are not cached.
pub fn no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// Whether cookies must be `Secure` (the public URL is https).
pub fn secure(state: &AppState) -> bool {
    state.config.public_url.starts_with("https://")
}

/// The browser's active SSO session, if its cookie names one.
pub async fn current_session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<SsoSession>, Page> {
    session_of(state, headers, true).await
}

/// As [`current_session`] without recording activity: for the sign-in
/// paths (authorize, SAML SSO, the sign-in and second-factor pages), where
/// an app's idle limit is judged on the activity before the request and
/// only a use of the session counts as activity.
pub async fn peek_session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<SsoSession>, Page> {
    session_of(state, headers, false).await
}

async fn session_of(
    state: &AppState,
    headers: &HeaderMap,
    touch: bool,
) -> Result<Option<SsoSession>, Page> {
    let Some(cookie) = Cookie::Session.read(headers, secure(state)) else {
        return Ok(None);
    };
    let sessions = &state.services.sessions;
    let found = if touch {
        sessions.current(&cookie).await
    } else {
        sessions.peek(&cookie).await
    };
    found.map_err(|error| {
        tracing::error!(%error, "reading the session failed");
        Page::message(
            StatusCode::SERVICE_UNAVAILABLE,
            "Temporarily unavailable",
            "Sign-in is temporarily unavailable. Try again in a moment.",
        )
    })
}

/// The page for an authorization error that must not be redirected (RFC 6749 §4.1.2.1).
pub fn error_page(error: &OAuthError) -> Page {
    let status = match error.code {
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    };
    let message = error
        .description()
        .unwrap_or("The request could not be completed.");
    Page::message(
        status,
        "This request cannot be completed",
        &format!("{message} ({})", error.code.as_str()),
    )
}

/// Sends an authorization response to the client: a 302 for `query` and
/// `fragment`, an auto-submitting form for `form_post`.
pub fn redirect_to_client(redirect: &Redirect) -> Response {
    match redirect.location() {
        Some(location) => found(&location),
        None => {
            let nonce = SystemRng::new().token(16);
            let params: Vec<(String, String)> = redirect
                .params
                .iter()
                .map(|(name, value)| ((*name).to_owned(), value.clone()))
                .collect();
            let target = origin_of(&redirect.uri);
            let csp = format!(
                "default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-{nonce}'; \
                 form-action {target}; frame-ancestors 'none'; base-uri 'none'"
            );
            let page = Page::render(
                StatusCode::OK,
                "form_post.html",
                minijinja::context! {
                    lang => "en",
                    title => "Continuing",
                    action => redirect.uri.clone(),
                    params => params,
                    nonce => nonce,
                },
            );
            match HeaderValue::from_str(&csp) {
                Ok(csp) => page.with_csp(csp).into_response(),
                Err(_) => page.into_response(),
            }
        }
    }
}

/// A 302 to `location`.
pub fn found(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => {
            let mut response = StatusCode::FOUND.into_response();
            response.headers_mut().insert(header::LOCATION, value);
            response
        }
        Err(_) => Page::message(
            StatusCode::BAD_REQUEST,
            "Cannot redirect",
            "The redirect address is not valid.",
        )
        .into_response(),
    }
}

fn origin_of(uri: &str) -> String {
    match uri.find("://") {
        Some(i) => match uri[i + 3..].find(['/', '?', '#']) {
            Some(j) => uri[..i + 3 + j].to_owned(),
            None => uri.to_owned(),
        },
        None => "'none'".to_owned(),
    }
}
