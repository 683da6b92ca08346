//! `POST /oauth2/token` (RFC 6749 §3.2): authenticate the client, then let
//! core decide the grant. Success is JSON with `Cache-Control: no-store`
//! (§5.1); errors are §5.2 JSON, `invalid_client` as 401 with a challenge.

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

use super::{FormPairs, OAuthReply, no_store};
use crate::AppState;
use crate::extract::Ctx;

pub async fn token(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
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
    match oauth.token(&ctx, &client, &pairs).await {
        Ok(tokens) => {
            let mut response = axum::Json(tokens).into_response();
            no_store(response.headers_mut());
            response
        }
        Err(error) => OAuthReply(error).into_response(),
    }
}
