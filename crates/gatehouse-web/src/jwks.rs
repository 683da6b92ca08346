//! `GET /oauth2/jwks`: the JSON Web Key Set (RFC 7517 §5) of the keys tokens
//! are signed with — the `next`, `active` and not yet removed `retired` keys
//! of every algorithm, public halves only.
//!
//! Served from the in-memory key snapshot (no database round trip) with
//! `Cache-Control: public, max-age=300`: a `next` key is published a whole
//! rotation period before it signs, so a relying party's cached copy is never
//! missing a key in use. The media type is `application/json`, which every
//! OIDC client library accepts (some refuse `application/jwk-set+json`).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::AppState;
use crate::problem::ApiError;

/// How long relying parties may cache the key set.
pub const CACHE_CONTROL: &str = "public, max-age=300";

pub fn routes() -> Router<AppState> {
    Router::new().route("/oauth2/jwks", get(jwks))
}

async fn jwks(State(app): State<AppState>) -> Response {
    let jwks = match app.services.keys.jwks().await {
        Ok(jwks) => jwks,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let mut response = axum::Json(&*jwks).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    response
}
