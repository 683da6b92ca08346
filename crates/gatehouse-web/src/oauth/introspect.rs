//! `POST /oauth2/introspect` (RFC 7662): client-authenticated; `token` is
//! required, `token_type_hint` is only a hint and may be ignored (§2.1).

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use gatehouse_oauth::params::{Params, Repeated};
use gatehouse_oauth::{ErrorCode, OAuthError};

use super::{FormPairs, OAuthReply, no_store};
use crate::AppState;

pub async fn introspect(
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
    let token = match token_param(&pairs) {
        Ok(token) => token,
        Err(error) => return OAuthReply(error).into_response(),
    };
    match oauth.introspect(&client, &token).await {
        Ok(answer) => {
            let mut response = axum::Json(answer).into_response();
            no_store(response.headers_mut());
            response
        }
        Err(error) => OAuthReply(error).into_response(),
    }
}

/// The required, single `token` parameter (RFC 7662 §2.1, RFC 7009 §2.1).
pub fn token_param(pairs: &[(String, String)]) -> Result<String, OAuthError> {
    Params::new(pairs)
        .single("token")
        .map_err(Repeated::to_oauth_error)?
        .map(str::to_owned)
        .ok_or_else(|| {
            OAuthError::with_description(ErrorCode::InvalidRequest, "missing parameter: token")
        })
}
