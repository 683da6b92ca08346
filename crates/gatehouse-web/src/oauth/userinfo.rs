//! `GET|POST /oauth2/userinfo` (OpenID Connect Core §5.3). The access token
//! comes in the `Authorization: Bearer` header, or for POST in the form body
//! (RFC 6750 §2.2) — never both (§2: exactly one method).

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use gatehouse_oauth::{ErrorCode, OAuthError};

use super::{FormPairs, OAuthReply, no_store};
use crate::AppState;

pub async fn get(State(state): State<AppState>, headers: HeaderMap) -> Response {
    respond(&state, bearer(&headers)).await
}

pub async fn post(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<FormPairs, OAuthReply>,
) -> Response {
    let from_body = form.ok().and_then(|FormPairs(pairs)| {
        pairs
            .into_iter()
            .find(|(name, _)| name == "access_token")
            .map(|(_, value)| value)
    });
    let token = match (bearer(&headers), from_body) {
        (Ok(Some(_)), Some(_)) => Err(OAuthError::with_description(
            ErrorCode::InvalidRequest,
            "send the access token one way only",
        )),
        (Ok(None), Some(token)) => Ok(Some(token)),
        (header, _) => header,
    };
    respond(&state, token).await
}

/// The bearer token of the `Authorization` header (RFC 6750 §2.1).
pub fn bearer(headers: &HeaderMap) -> Result<Option<String>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().unwrap_or("");
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim().to_owned()))
        }
        _ => Err(OAuthError::with_description(
            ErrorCode::InvalidRequest,
            "the Authorization header must be Bearer",
        )),
    }
}

async fn respond(state: &AppState, token: Result<Option<String>, OAuthError>) -> Response {
    let token = match token {
        Ok(Some(token)) => token,
        // RFC 6750 §3.1: no credentials at all is a bare challenge.
        Ok(None) => {
            return OAuthReply(OAuthError::with_description(
                ErrorCode::InvalidToken,
                "an access token is required",
            ))
            .into_response();
        }
        Err(error) => return OAuthReply(error).into_response(),
    };
    match state.services.oauth.userinfo(&token).await {
        Ok(claims) => {
            let mut response = axum::Json(claims).into_response();
            no_store(response.headers_mut());
            response
        }
        Err(error) => OAuthReply(error).into_response(),
    }
}
