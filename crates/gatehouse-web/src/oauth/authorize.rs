//! `GET|POST /oauth2/authorize` (RFC 6749 §3.1, OpenID Connect Core §3.1.2.1:
//! both methods MUST be supported). The decision is core's; this renders it:
//! to the client, to the sign-in or consent page, or an error page.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use gatehouse_core::services::oauth::AuthorizeStep;

use super::{FormPairs, QueryPairs, error_page, found, peek_session, redirect_to_client};
use crate::AppState;
use crate::extract::Ctx;

pub async fn get(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    QueryPairs(pairs): QueryPairs,
) -> Response {
    authorize(state, ctx, headers, pairs).await
}

pub async fn post(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    form: Result<FormPairs, super::OAuthReply>,
) -> Response {
    match form {
        Ok(FormPairs(pairs)) => authorize(state, ctx, headers, pairs).await,
        Err(super::OAuthReply(error)) => error_page(&error).into_response(),
    }
}

async fn authorize(
    state: AppState,
    ctx: gatehouse_core::services::RequestContext,
    headers: HeaderMap,
    pairs: Vec<(String, String)>,
) -> Response {
    let session = match peek_session(&state, &headers).await {
        Ok(session) => session,
        Err(page) => return page.into_response(),
    };
    match state.services.oauth.authorize(&ctx, pairs, session).await {
        Ok(step) => step_response(step),
        Err(error) => error_page(&error).into_response(),
    }
}

/// Where an authorization step sends the browser.
pub fn step_response(step: AuthorizeStep) -> Response {
    match step {
        AuthorizeStep::Redirect(redirect) => redirect_to_client(&redirect),
        AuthorizeStep::Login(screen) => {
            found(&format!("/login?request={}", screen.handle.expose()))
        }
        AuthorizeStep::Consent(screen) => {
            found(&format!("/consent?request={}", screen.handle.expose()))
        }
    }
}
