//! `/saml/slo` and `/saml/slo/continue`: Single Logout on the Redirect and
//! POST bindings. Core ends the SSO session the SP's LogoutRequest names
//! and runs the front-channel chain through the session's other SPs; this
//! renders each step (a page that carries the LogoutRequest to the SP, with
//! a "continue" link for an SP that does not answer), the final signed
//! LogoutResponse on the initiating SP's binding, and clears this browser's
//! session cookie.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_core::clock::{Rng as _, SystemRng};
use gatehouse_core::services::saml::{Inbound, LogoutOutcome, LogoutReply, LogoutStep, paths};
use gatehouse_saml::binding::Kind;

use super::{auto_post, error_page};
use crate::AppState;
use crate::cookies::Cookie;
use crate::extract::Ctx;
use crate::oauth::{FormPairs, OAuthReply, QueryPairs, found, param, secure};
use crate::pages::Page;

pub async fn slo_redirect(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    RawQuery(raw): RawQuery,
) -> Response {
    let inbound = Inbound::Redirect {
        raw_query: raw.unwrap_or_default(),
    };
    answer(&state, &ctx, inbound).await
}

/// No CSRF token: the SP posts cross-site by design.
pub async fn slo_post(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    form: Result<FormPairs, OAuthReply>,
) -> Response {
    let pairs = form.map(|f| f.0).unwrap_or_default();
    let (kind, message) = match (param(&pairs, "SAMLRequest"), param(&pairs, "SAMLResponse")) {
        (Some(m), None) => (Kind::Request, m),
        (None, Some(m)) => (Kind::Response, m),
        _ => {
            return Page::message(
                StatusCode::BAD_REQUEST,
                "This sign-out request cannot be completed",
                "The request carries no single SAML message.",
            )
            .into_response();
        }
    };
    let inbound = Inbound::Post {
        kind,
        message: message.to_owned(),
        relay_state: param(&pairs, "RelayState").map(str::to_owned),
    };
    answer(&state, &ctx, inbound).await
}

/// `GET /saml/slo/continue?chain=…`: skips an SP that did not answer.
pub async fn slo_continue(
    State(state): State<AppState>,
    QueryPairs(pairs): QueryPairs,
) -> Response {
    let Some(handle) = param(&pairs, "chain") else {
        return error_page(&gatehouse_core::Error::NotFound("logout"));
    };
    match state.services.saml.continue_chain(handle).await {
        Ok(outcome) => render(outcome),
        Err(error) => error_page(&error),
    }
}

async fn answer(
    state: &AppState,
    ctx: &gatehouse_core::services::RequestContext,
    inbound: Inbound,
) -> Response {
    let mut response = match state.services.saml.slo(ctx, inbound).await {
        Ok(outcome) => render(outcome),
        Err(error) => return error_page(&error),
    };
    response
        .headers_mut()
        .append(header::SET_COOKIE, Cookie::Session.clear(secure(state)));
    response
}

/// A chain's step page, final reply, or the signed-out page.
pub(crate) fn render(outcome: LogoutOutcome) -> Response {
    match outcome {
        LogoutOutcome::Reply(LogoutReply::Redirect(url)) => found(&url),
        LogoutOutcome::Reply(LogoutReply::Post {
            url,
            field,
            message,
            relay_state,
        }) => auto_post(&url, field, message, relay_state),
        LogoutOutcome::Step(step) => step_page(&step),
        LogoutOutcome::Acknowledged => {
            Page::message(StatusCode::OK, "Signed out", "You are signed out.").into_response()
        }
    }
}

/// One step: the LogoutRequest on its way to the SP (auto-submitted or
/// followed with JavaScript, a button or link without), and the link that
/// skips the SP.
fn step_page(step: &LogoutStep) -> Response {
    let nonce = SystemRng::new().token(16);
    let skip = format!(
        "{}?{}",
        paths::SLO_CONTINUE,
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("chain", &step.handle)
            .finish()
    );
    let (post, action, params) = match &step.request {
        LogoutReply::Redirect(url) => (false, url.clone(), Vec::new()),
        LogoutReply::Post {
            url,
            field,
            message,
            relay_state,
        } => {
            let mut params = vec![((*field).to_owned(), message.clone())];
            if let Some(relay_state) = relay_state {
                params.push(("RelayState".to_owned(), relay_state.clone()));
            }
            (true, url.clone(), params)
        }
    };
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-{nonce}'; \
         form-action {}; frame-ancestors 'none'; base-uri 'none'",
        origin_of(&action)
    );
    let page = Page::render(
        StatusCode::OK,
        "slo_step.html",
        minijinja::context! {
            lang => "en",
            title => "Signing out",
            app => step.app.clone(),
            step => step.step,
            total => step.total,
            post => post,
            action => action,
            params => params,
            skip => skip,
            nonce => nonce,
        },
    );
    match HeaderValue::from_str(&csp) {
        Ok(csp) => page.with_csp(csp).into_response(),
        Err(_) => page.into_response(),
    }
}

/// `scheme://host[:port]` of a URL, for `form-action`.
fn origin_of(uri: &str) -> String {
    match uri.find("://") {
        Some(i) => match uri[i + 3..].find(['/', '?', '#']) {
            Some(j) => uri[..i + 3 + j].to_owned(),
            None => uri.to_owned(),
        },
        None => "'none'".to_owned(),
    }
}
