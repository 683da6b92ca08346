//! The SAML 2.0 IdP endpoints (INTERFACE.md): `/saml/metadata`, `/saml/sso`
//! (HTTP-Redirect and HTTP-POST bindings, and `?sp=<entityID>` for
//! IdP-initiated sign-in), `/saml/sso/resume` and `/saml/slo`.
//!
//! The SAML POST endpoints are cross-site by design (the SP's page posts to
//! them), so they take no CSRF token; what authenticates them is the message
//! itself (registered issuer, ACS and signature checks, single-use IDs).
//! A cross-site POST carries no `SameSite=Lax` session cookie, so a POSTed
//! AuthnRequest is stored and the browser sent on to `/saml/sso/resume` with
//! a 303, a top-level GET that does carry it.

mod metadata;
pub(crate) mod slo;
mod sso;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use gatehouse_core::Error;
use gatehouse_core::services::saml::paths;

use crate::AppState;
use crate::pages::Page;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(paths::METADATA, get(metadata::metadata))
        .route(paths::SSO, get(sso::sso_redirect).post(sso::sso_post))
        .route(paths::SSO_RESUME, get(sso::resume))
        .route(paths::SLO, get(slo::slo_redirect).post(slo::slo_post))
        .route(paths::SLO_CONTINUE, get(slo::slo_continue))
}

/// A refused SAML message or an expired sign-in, as a page: nothing goes
/// back to an SP whose request could not be trusted.
fn error_page(error: &Error) -> Response {
    match error {
        Error::Invalid(fields) => {
            let message = fields
                .first()
                .map_or("The SAML message is invalid.", |f| f.message.as_str());
            Page::message(
                StatusCode::BAD_REQUEST,
                "This sign-in request cannot be completed",
                message,
            )
            .into_response()
        }
        Error::Forbidden => Page::message(
            StatusCode::FORBIDDEN,
            "No access to this application",
            "Your account is not assigned to this application. Ask your administrator for access.",
        )
        .into_response(),
        Error::NotFound(_) => Page::message(
            StatusCode::BAD_REQUEST,
            "This sign-in request cannot be completed",
            "The request is unknown or has expired. Go back to the application and start again.",
        )
        .into_response(),
        other => {
            tracing::error!(error = %other, "SAML request failed inside");
            Page::message(
                StatusCode::SERVICE_UNAVAILABLE,
                "Temporarily unavailable",
                "Sign-in is temporarily unavailable. Try again in a moment.",
            )
            .into_response()
        }
    }
}

/// An auto-submitting form posting `SAMLResponse` or `SAMLRequest` (and
/// `RelayState`) to `url`, as the OAuth `form_post` page does.
fn auto_post(
    url: &str,
    field: &'static str,
    value: String,
    relay_state: Option<String>,
) -> Response {
    let mut params = vec![(field, value)];
    if let Some(relay_state) = relay_state {
        params.push(("RelayState", relay_state));
    }
    crate::oauth::redirect_to_client(&gatehouse_oauth::authorize::Redirect {
        uri: url.to_owned(),
        mode: gatehouse_oauth::authorize::ResponseMode::FormPost,
        params,
    })
}
