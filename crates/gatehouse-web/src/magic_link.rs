//! Sign-in links by e-mail (core `services::magic_link`):
//! `POST /login/link` asks for one (the browser gets a cookie binding the
//! link to it), `GET /login/link?token=…` shows a confirmation page in that
//! browser only, and `POST /login/link/confirm` spends the link and
//! continues the sign-in like a correct password would (the sign-on policy
//! may still ask for a second factor).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use gatehouse_core::Error;
use gatehouse_core::ids::OrgId;
use gatehouse_core::model::PolicyScope;
use gatehouse_core::services::magic_link::LINK_TTL_SECS;

use crate::AppState;
use crate::cookies::Cookie;
use crate::csrf;
use crate::extract::Ctx;
use crate::login::{Target, unavailable};
use crate::oauth::{FormPairs, QueryPairs, error_page, param, secure};
use crate::pages::Page;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login/link", get(open).post(request))
        .route("/login/link/confirm", post(confirm))
}

/// `POST /login/link`: `username` (or e-mail), with the sign-in page's
/// hidden fields. The same answer whether or not the login exists.
async fn request(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    form: Result<FormPairs, crate::oauth::OAuthReply>,
) -> Response {
    let pairs = match csrf::checked_form(&state, &headers, form) {
        Ok(pairs) => pairs,
        Err(page) => return *page,
    };
    let target = Target::from_pairs(&pairs);
    let org = match &target.request {
        Some(handle) => match state.services.oauth.pending_client(handle).await {
            Ok((org, _)) => org,
            Err(error) => return error_page(&error).into_response(),
        },
        None => target.org.unwrap_or(OrgId::DEFAULT),
    };
    let login = param(&pairs, "username").unwrap_or("");
    let existing = Cookie::MagicLink.read(&headers, secure(&state));
    let sent = state
        .services
        .magic_links
        .send(
            &ctx,
            org,
            login,
            existing.as_deref(),
            (target.request.as_deref(), target.return_to.as_deref()),
        )
        .await;
    match sent {
        Ok(browser) => {
            let mut page = Page::message(
                StatusCode::OK,
                "Check your e-mail",
                "If the account exists and has an e-mail address, we sent it a sign-in link. Open it in this browser within 10 minutes.",
            )
            .into_response();
            if let Some(cookie) =
                Cookie::MagicLink.set_for(browser.expose(), secure(&state), LINK_TTL_SECS)
            {
                page.headers_mut().append(header::SET_COOKIE, cookie);
            }
            page
        }
        Err(Error::Invalid(_)) => Page::message(
            StatusCode::BAD_REQUEST,
            "Not available",
            "Sign-in links are not available here. Sign in with your password.",
        )
        .into_response(),
        Err(error) => {
            tracing::error!(%error, "sending a sign-in link failed");
            unavailable()
        }
    }
}

/// `GET /login/link?token=…`: the confirmation page, in the browser that
/// asked for the link. (A GET never signs in: mail scanners fetch links.)
async fn open(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    QueryPairs(pairs): QueryPairs,
) -> Response {
    let token = param(&pairs, "token").unwrap_or("");
    let browser = Cookie::MagicLink.read(&headers, secure(&state));
    let username = match state
        .services
        .magic_links
        .screen(&ctx, token, browser.as_deref())
        .await
    {
        Ok(username) => username,
        Err(error) => return failure(error),
    };
    let (csrf_token, cookie) = csrf::token_for_page(&headers, secure(&state));
    let mut page = Page::render(
        StatusCode::OK,
        "magic_link.html",
        minijinja::context! {
            lang => "en",
            title => "Sign in",
            csrf => csrf_token,
            token => token,
            username => username,
        },
    );
    if let Some(cookie) = cookie {
        page = page.with_header(header::SET_COOKIE, cookie);
    }
    page.into_response()
}

/// `POST /login/link/confirm`: spends the link and signs in.
async fn confirm(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    form: Result<FormPairs, crate::oauth::OAuthReply>,
) -> Response {
    let pairs = match csrf::checked_form(&state, &headers, form) {
        Ok(pairs) => pairs,
        Err(page) => return *page,
    };
    let secure = secure(&state);
    let token = param(&pairs, "token").unwrap_or("");
    let browser = Cookie::MagicLink.read(&headers, secure);
    let redeemed = match state
        .services
        .magic_links
        .redeem(&ctx, token, browser.as_deref())
        .await
    {
        Ok(redeemed) => redeemed,
        Err(error) => return failure(error),
    };
    let target = Target {
        request: redeemed.request,
        return_to: redeemed.return_to,
        org: None,
    };
    let client = match &target.request {
        Some(handle) => match state.services.oauth.pending_client(handle).await {
            Ok((_, client)) => Some(client),
            Err(error) => return error_page(&error).into_response(),
        },
        None => None,
    };
    let device = Cookie::Device.read(&headers, secure);
    let user = redeemed.user;
    let known = match crate::login::known_device(&state, &headers, &user).await {
        Ok(known) => known,
        Err(page) => return page,
    };
    let outcome = state
        .services
        .mfa
        .after_first_factor(
            &ctx,
            &user,
            client.map(PolicyScope::Client).as_ref(),
            device.as_deref(),
            known,
            &["otp"],
        )
        .await;
    let mut response =
        crate::login::after_first_factor(&state, &headers, &ctx, &target, &user, outcome).await;
    response
        .headers_mut()
        .append(header::SET_COOKIE, Cookie::MagicLink.clear(secure));
    response
}

fn failure(error: Error) -> Response {
    match error {
        Error::NotFound(_) => Page::message(
            StatusCode::BAD_REQUEST,
            "Link expired",
            "This sign-in link has expired or was already used. Ask for a new one.",
        )
        .into_response(),
        Error::Forbidden => Page::message(
            StatusCode::FORBIDDEN,
            "Open the link where you asked for it",
            "This sign-in link works only in the browser where it was asked for. Open it there, or ask for a new one here.",
        )
        .into_response(),
        error => {
            tracing::error!(%error, "a sign-in link failed");
            unavailable()
        }
    }
}
