//! Static assets of the hosted pages: `/assets/webauthn.js`, the glue
//! between the WebAuthn forms and `navigator.credentials` (embedded in the
//! binary; loaded under the pages' CSP `script-src 'self'`).

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::AppState;

const WEBAUTHN_JS: &str = include_str!("../assets/webauthn.js");

pub fn routes() -> Router<AppState> {
    Router::new().route("/assets/webauthn.js", get(webauthn_js))
}

async fn webauthn_js() -> Response {
    let mut response = WEBAUTHN_JS.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}
