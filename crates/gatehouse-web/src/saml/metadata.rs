//! `GET /saml/metadata`: the IdP's metadata (SAML 2.0 Metadata §2.4.3).

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::AppState;

pub async fn metadata(State(state): State<AppState>) -> Response {
    match state.services.saml.metadata().await {
        Ok(xml) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/samlmetadata+xml"),
            )],
            xml,
        )
            .into_response(),
        Err(error) => super::error_page(&error),
    }
}
