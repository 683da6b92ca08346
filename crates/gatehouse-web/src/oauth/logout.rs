//! `GET|POST /oauth2/logout`, the `end_session_endpoint` (OpenID Connect
//! RP-Initiated Logout 1.0). Without a hint naming the current session the
//! user confirms on a page (a CSRF-protected POST back here). The SAML SPs
//! the session signed in to are then logged out on the front channel (a
//! page per SP, `services::saml::slo`) before the final redirect.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_core::model::LogoutFinish;
use gatehouse_core::services::RequestContext;
use gatehouse_core::services::oauth::{LogoutRequest, LogoutStep};
use gatehouse_core::services::saml::LogoutOutcome;

use super::{FormPairs, OAuthReply, QueryPairs, current_session, error_page, found, secure};
use crate::AppState;
use crate::cookies::Cookie;
use crate::csrf;
use crate::extract::Ctx;
use crate::login::expired_form;
use crate::pages::Page;

pub async fn get(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    QueryPairs(pairs): QueryPairs,
) -> Response {
    logout(&state, &ctx, &headers, pairs, false).await
}

pub async fn post(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    form: Result<FormPairs, OAuthReply>,
) -> Response {
    let FormPairs(pairs) = match form {
        Ok(form) => form,
        Err(OAuthReply(error)) => return error_page(&error).into_response(),
    };
    let confirm = pairs.iter().any(|(n, v)| n == "confirm" && v == "yes");
    if confirm {
        let submitted = pairs
            .iter()
            .find(|(n, _)| n == "csrf")
            .map_or("", |(_, v)| v.as_str());
        if !csrf::check(
            &headers,
            secure(&state),
            &state.config.public_url,
            submitted,
        ) {
            return expired_form();
        }
    }
    let pairs = pairs
        .into_iter()
        .filter(|(n, _)| n != "confirm" && n != "csrf")
        .collect();
    logout(&state, &ctx, &headers, pairs, confirm).await
}

async fn logout(
    state: &AppState,
    ctx: &RequestContext,
    headers: &HeaderMap,
    pairs: Vec<(String, String)>,
    confirmed: bool,
) -> Response {
    let request = match LogoutRequest::parse(&pairs) {
        Ok(request) => request,
        Err(error) => return error_page(&error).into_response(),
    };
    let session = match current_session(state, headers).await {
        Ok(session) => session,
        Err(page) => return page.into_response(),
    };
    let had_session = session.is_some();
    let session_id = session.as_ref().map(|s| s.id);
    let step = match state
        .services
        .oauth
        .logout(ctx, &request, session, confirmed)
        .await
    {
        Ok(step) => step,
        Err(error) => return error_page(&error).into_response(),
    };
    let secure = secure(state);
    match step {
        LogoutStep::Confirm { client_name } => {
            let (token, cookie) = csrf::token_for_page(headers, secure);
            let mut page = Page::render(
                StatusCode::OK,
                "logout.html",
                minijinja::context! {
                    lang => "en",
                    title => "Sign out",
                    csrf => token,
                    client_name => client_name,
                    params => pairs,
                },
            );
            if let Some(cookie) = cookie {
                page = page.with_header(header::SET_COOKIE, cookie);
            }
            page.into_response()
        }
        LogoutStep::Done { redirect } => {
            // IdP-initiated SAML single logout: the session's SAML SPs are
            // sent LogoutRequests, one page at a time, before the redirect.
            let chain = match session_id {
                Some(id) => {
                    let finish = match &redirect {
                        Some(url) => LogoutFinish::Redirect { url: url.clone() },
                        None => LogoutFinish::Page,
                    };
                    match state.services.saml.start_chain(id, None, finish).await {
                        Ok(step) => step,
                        Err(error) => {
                            tracing::error!(%error, "starting SAML single logout failed");
                            None
                        }
                    }
                }
                None => None,
            };
            let mut response = match (chain, redirect) {
                (Some(step), _) => crate::saml::slo::render(LogoutOutcome::Step(step)),
                (None, Some(uri)) => found(&uri),
                (None, None) => Page::message(StatusCode::OK, "Signed out", "You have signed out.")
                    .into_response(),
            };
            if had_session || Cookie::Session.read(headers, secure).is_some() {
                response
                    .headers_mut()
                    .append(header::SET_COOKIE, Cookie::Session.clear(secure));
            }
            response
        }
    }
}
