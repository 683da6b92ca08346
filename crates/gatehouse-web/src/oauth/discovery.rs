//! `GET /.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §4)
//! and `GET /.well-known/oauth-authorization-server` (RFC 8414 §3): the same
//! provider metadata, built from the issuer and what this build offers.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_core::services::sessions::acr;
use gatehouse_oauth::discovery::{Capabilities, ProviderMetadata};

use crate::AppState;

pub async fn openid_configuration(State(state): State<AppState>) -> Response {
    metadata(&state)
}

pub async fn authorization_server(State(state): State<AppState>) -> Response {
    metadata(&state)
}

/// What this build implements; a capability is advertised only once it works.
pub fn capabilities() -> Capabilities {
    Capabilities {
        backchannel_logout: true,
        acr_values_supported: vec![acr::SINGLE_FACTOR.to_owned(), acr::MULTI_FACTOR.to_owned()],
        ..Capabilities::default()
    }
}

fn metadata(state: &AppState) -> Response {
    match ProviderMetadata::new(state.services.oauth.issuer(), &capabilities()) {
        Ok(document) => {
            let mut response = axum::Json(document).into_response();
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            );
            response
        }
        Err(error) => {
            tracing::error!(%error, "the provider metadata cannot be built from the public URL");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
