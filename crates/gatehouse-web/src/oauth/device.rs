//! `POST /oauth2/device_authorization` (RFC 8628 §3.1–3.2): a client-
//! authenticated (or, for public clients, identified) request for a device
//! code and a user code.

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

use super::{FormPairs, OAuthReply, no_store};
use crate::AppState;

pub async fn device_authorization(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<FormPairs, OAuthReply>,
) -> Response {
    let FormPairs(pairs) = match form {
        Ok(form) => form,
        Err(reply) => return reply.into_response(),
    };
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let oauth = &state.services.oauth;
    let client = match oauth.authenticate_client(authorization, &pairs).await {
        Ok(client) => client,
        Err(error) => return OAuthReply(error).into_response(),
    };
    match oauth.device_authorization(&client, &pairs).await {
        Ok(answer) => {
            let mut response = axum::Json(answer).into_response();
            no_store(response.headers_mut());
            response
        }
        Err(error) => OAuthReply(error).into_response(),
    }
}
