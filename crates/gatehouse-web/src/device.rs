//! The device verification page, `/device` (RFC 8628 §3.3): the user enters
//! (or follows a link with) the code their device shows, signs in if needed,
//! and allows or denies. The answer is a CSRF-protected POST.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use gatehouse_core::services::oauth::normalise_user_code;

use crate::AppState;
use crate::csrf;
use crate::extract::Ctx;
use crate::oauth::{FormPairs, QueryPairs, current_session, error_page, found, param, secure};
use crate::pages::Page;

pub fn routes() -> Router<AppState> {
    Router::new().route("/device", get(show).post(submit))
}

/// `GET /device[?user_code=…]`.
pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    QueryPairs(pairs): QueryPairs,
) -> Response {
    let typed = param(&pairs, "user_code").unwrap_or("").trim().to_owned();
    if typed.is_empty() {
        return device_page(&state, &headers, None, &typed, None);
    }
    let screen = match state.services.oauth.device_screen(&typed).await {
        Ok(Some(screen)) => screen,
        Ok(None) => {
            return device_page(
                &state,
                &headers,
                None,
                &typed,
                Some("This code is not valid or has expired. Check your device."),
            );
        }
        Err(error) => return error_page(&error).into_response(),
    };
    let session = match current_session(&state, &headers).await {
        Ok(session) => session.filter(|s| s.org_id == screen.org_id),
        Err(page) => return page.into_response(),
    };
    let Some(session) = session else {
        let back = format!("/device?user_code={}", screen.user_code);
        let login = format!(
            "/login?org={}&return_to={}",
            screen.org_id,
            url::form_urlencoded::byte_serialize(back.as_bytes()).collect::<String>()
        );
        return found(&login);
    };
    let username = match state.services.store().get_user(session.user_id).await {
        Ok(Some(user)) => user.username,
        _ => String::new(),
    };
    device_page(
        &state,
        &headers,
        Some((screen.client_name, screen.scopes, username)),
        &screen.user_code,
        None,
    )
}

/// `POST /device`: `user_code`, `consent=allow|deny`, `csrf`.
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
    let typed = param(&pairs, "user_code").unwrap_or("");
    let session = match current_session(&state, &headers).await {
        Ok(Some(session)) => session,
        Ok(None) => {
            return found(&format!(
                "/device?user_code={}",
                normalise_user_code(typed).unwrap_or_default()
            ));
        }
        Err(page) => return page.into_response(),
    };
    match state
        .services
        .oauth
        .decide_device(&ctx, typed, &session, allow)
        .await
    {
        Ok(true) if allow => Page::message(
            StatusCode::OK,
            "Device connected",
            "You may return to your device; it will continue on its own.",
        )
        .into_response(),
        Ok(true) => Page::message(
            StatusCode::OK,
            "Request denied",
            "The device was not connected.",
        )
        .into_response(),
        Ok(false) => Page::message(
            StatusCode::BAD_REQUEST,
            "Code not valid",
            "This code is not valid, has expired, or was already used.",
        )
        .into_response(),
        Err(error) => error_page(&error).into_response(),
    }
}

fn device_page(
    state: &AppState,
    headers: &HeaderMap,
    request: Option<(String, Vec<String>, String)>,
    user_code: &str,
    error: Option<&str>,
) -> Response {
    let (token, cookie) = csrf::token_for_page(headers, secure(state));
    let (client_name, scopes, username) = match request {
        Some((client, scopes, username)) => (Some(client), scopes, username),
        None => (None, Vec::new(), String::new()),
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let mut page = Page::render(
        status,
        "device.html",
        minijinja::context! {
            lang => "en",
            title => "Connect a device",
            csrf => token,
            client_name => client_name,
            scopes => scopes,
            username => username,
            user_code => user_code,
            error => error,
        },
    );
    if let Some(cookie) = cookie {
        page = page.with_header(header::SET_COOKIE, cookie);
    }
    page.into_response()
}
