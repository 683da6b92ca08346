//! The consent page, `/consent` (INTERFACE.md: buttons named `consent` with
//! values `allow` and `deny`). Only the signed-in user whose request it is can
//! answer it; the answer is remembered per client and scope set.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::AppState;
use crate::csrf;
use crate::extract::Ctx;
use crate::oauth::authorize::step_response;
use crate::oauth::{FormPairs, QueryPairs, current_session, error_page, param, secure};
use crate::pages::Page;

pub fn routes() -> Router<AppState> {
    Router::new().route("/consent", get(show).post(submit))
}

/// `GET /consent?request=…`.
pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    QueryPairs(pairs): QueryPairs,
) -> Response {
    let Some(handle) = param(&pairs, "request") else {
        return Page::message(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "No request to consent to.",
        )
        .into_response();
    };
    let session = match current_session(&state, &headers).await {
        Ok(Some(session)) => session,
        Ok(None) => return crate::oauth::found(&format!("/login?request={handle}")),
        Err(page) => return page.into_response(),
    };
    let screen = match state.services.oauth.consent_screen(handle, &session).await {
        Ok(screen) => screen,
        Err(error) => return error_page(&error).into_response(),
    };
    let (token, cookie) = csrf::token_for_page(&headers, secure(&state));
    let mut page = Page::render(
        StatusCode::OK,
        "consent.html",
        minijinja::context! {
            lang => "en",
            title => "Allow access",
            csrf => token,
            request => handle,
            client_name => screen.client_name,
            username => screen.username,
            scopes => screen.scopes,
        },
    );
    if let Some(cookie) = cookie {
        page = page.with_header(header::SET_COOKIE, cookie);
    }
    page.into_response()
}

/// `POST /consent`: `consent=allow` or `consent=deny`.
pub async fn submit(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    form: Result<FormPairs, crate::oauth::OAuthReply>,
) -> Response {
    let pairs = match csrf::checked_form(&state, &headers, form) {
        Ok(pairs) => pairs,
        Err(page) => return *page,
    };
    let Some(handle) = param(&pairs, "request") else {
        return Page::message(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "No request to consent to.",
        )
        .into_response();
    };
    let allow = match param(&pairs, "consent") {
        Some("allow") => true,
        Some("deny") => false,
        _ => {
            return Page::message(
                StatusCode::BAD_REQUEST,
                "Bad request",
                "Choose Allow or Deny.",
            )
            .into_response();
        }
    };
    let session = match current_session(&state, &headers).await {
        Ok(session) => session,
        Err(page) => return page.into_response(),
    };
    match state
        .services
        .oauth
        .decide_consent(&ctx, handle, session, allow)
        .await
    {
        Ok(step) => step_response(step),
        Err(error) => error_page(&error).into_response(),
    }
}
