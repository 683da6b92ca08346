//! `/saml/slo`: Single Logout on the Redirect and POST bindings. Core ends
//! the SSO session the SP's LogoutRequest names and builds the signed
//! LogoutResponse; this sends it back on the SP's binding and clears the
//! session cookie of this browser.

use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_core::services::saml::{Inbound, LogoutOutcome, LogoutReply};
use gatehouse_saml::binding::Kind;

use super::{auto_post, error_page};
use crate::AppState;
use crate::cookies::Cookie;
use crate::extract::Ctx;
use crate::oauth::{FormPairs, OAuthReply, found, param, secure};
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

async fn answer(
    state: &AppState,
    ctx: &gatehouse_core::services::RequestContext,
    inbound: Inbound,
) -> Response {
    let mut response = match state.services.saml.slo(ctx, inbound).await {
        Ok(LogoutOutcome::Reply(LogoutReply::Redirect(url))) => found(&url),
        Ok(LogoutOutcome::Reply(LogoutReply::Post {
            url,
            saml_response,
            relay_state,
        })) => auto_post(&url, "SAMLResponse", saml_response, relay_state),
        Ok(LogoutOutcome::Acknowledged) => {
            Page::message(StatusCode::OK, "Signed out", "You are signed out.").into_response()
        }
        Err(error) => return error_page(&error),
    };
    response
        .headers_mut()
        .append(header::SET_COOKIE, Cookie::Session.clear(secure(state)));
    response
}
