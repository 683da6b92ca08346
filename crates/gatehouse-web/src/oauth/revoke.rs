//! `POST /oauth2/revoke` (RFC 7009): client-authenticated; answers 200 with an
//! empty body for revoked, unknown and foreign tokens alike (§2.2).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::introspect::token_param;
use super::{FormPairs, OAuthReply, no_store};
use crate::AppState;
use crate::extract::Ctx;

pub async fn revoke(
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
    let token = match token_param(&pairs) {
        Ok(token) => token,
        Err(error) => return OAuthReply(error).into_response(),
    };
    match oauth.revoke(&ctx, &client, &token).await {
        Ok(()) => {
            let mut response = StatusCode::OK.into_response();
            no_store(response.headers_mut());
            response
        }
        Err(error) => OAuthReply(error).into_response(),
    }
}
