//! `/saml/sso` and `/saml/sso/resume`: Web Browser SSO. Parsing and the
//! decisions are core's (`services::saml::sso`); this renders the next step:
//! the hosted sign-in, the second-factor page (a step-up the SP's
//! `RequestedAuthnContext` or sign-on policy asks for), or the auto-POST of
//! the response to the ACS.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_core::ids::OrgId;
use gatehouse_core::services::saml::{Inbound, SsoStep, paths};
use gatehouse_saml::binding::Kind;

use super::{auto_post, error_page};
use crate::AppState;
use crate::extract::Ctx;
use crate::login::Target;
use crate::oauth::{FormPairs, OAuthReply, QueryPairs, found, param, peek_session};
use crate::pages::Page;

/// `GET /saml/sso`: an AuthnRequest on the Redirect binding, or
/// `?sp=<entityID>[&RelayState=…]` for IdP-initiated sign-in.
pub async fn sso_redirect(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    QueryPairs(pairs): QueryPairs,
) -> Response {
    let saml = &state.services.saml;
    let started = match param(&pairs, "sp") {
        Some(entity_id) if param(&pairs, "SAMLRequest").is_none() => {
            let relay_state = param(&pairs, "RelayState").map(str::to_owned);
            saml.sso_idp_initiated(entity_id, relay_state).await
        }
        _ => {
            let raw_query = raw.unwrap_or_default();
            saml.sso_request(&ctx, Inbound::Redirect { raw_query })
                .await
        }
    };
    match started {
        Ok(handle) => continue_with(&state, &ctx, &headers, &handle).await,
        Err(error) => error_page(&error),
    }
}

/// `POST /saml/sso`: an AuthnRequest on the POST binding. No CSRF token:
/// the SP's page posts it cross-site by design.
pub async fn sso_post(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    form: Result<FormPairs, OAuthReply>,
) -> Response {
    let Ok(FormPairs(pairs)) = form else {
        return bad_form();
    };
    let Some(message) = param(&pairs, "SAMLRequest") else {
        return bad_form();
    };
    let inbound = Inbound::Post {
        kind: Kind::Request,
        message: message.to_owned(),
        relay_state: param(&pairs, "RelayState").map(str::to_owned),
    };
    match state.services.saml.sso_request(&ctx, inbound).await {
        Ok(handle) => see_other(&resume_path(&handle)),
        Err(error) => error_page(&error),
    }
}

/// `GET /saml/sso/resume?request=…`: continues a pending sign-in.
pub async fn resume(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    QueryPairs(pairs): QueryPairs,
) -> Response {
    match param(&pairs, "request") {
        Some(handle) => continue_with(&state, &ctx, &headers, handle).await,
        None => error_page(&gatehouse_core::Error::NotFound("request")),
    }
}

async fn continue_with(
    state: &AppState,
    ctx: &gatehouse_core::services::RequestContext,
    headers: &HeaderMap,
    handle: &str,
) -> Response {
    let session = match peek_session(state, headers).await {
        Ok(session) => session,
        Err(page) => return page.into_response(),
    };
    let step = state
        .services
        .saml
        .sso_resume(ctx, handle, session.clone())
        .await;
    let step = match (step, session) {
        (
            Ok(SsoStep::StepUp {
                handle,
                org,
                app: scope,
            }),
            Some(session),
        ) => {
            match state
                .services
                .mfa
                .begin_step_up(ctx, &session, Some(&scope))
                .await
            {
                Ok(Some(challenge)) => {
                    let target = Target {
                        request: None,
                        return_to: Some(resume_path(&handle)),
                        org: Some(org),
                    };
                    return crate::factor::challenge_page(state, headers, &target, &challenge)
                        .await;
                }
                // No factor to step up with: NoAuthnContext to the ACS.
                Ok(None) => state.services.saml.sso_unmet(&handle).await,
                Err(error) => Err(error),
            }
        }
        (step, _) => step,
    };
    match step {
        Ok(SsoStep::Login { handle, org }) => found(&login_path(&handle, org)),
        Ok(SsoStep::Post {
            acs_url,
            saml_response,
            relay_state,
        }) => auto_post(&acs_url, "SAMLResponse", saml_response, relay_state),
        // Only answered for a session, which the arm above always has.
        Ok(SsoStep::StepUp { handle, org, .. }) => found(&login_path(&handle, org)),
        Err(error) => error_page(&error),
    }
}

fn resume_path(handle: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("request", handle)
        .finish();
    format!("{}?{query}", paths::SSO_RESUME)
}

/// The hosted sign-in, returning to the pending sign-in afterwards.
fn login_path(handle: &str, org: OrgId) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("return_to", &resume_path(handle));
    if org != OrgId::DEFAULT {
        query.append_pair("org", &org.to_string());
    }
    format!("/login?{}", query.finish())
}

fn see_other(location: &str) -> Response {
    let mut response = found(location);
    *response.status_mut() = StatusCode::SEE_OTHER;
    response
}

fn bad_form() -> Response {
    let mut response = Page::message(
        StatusCode::BAD_REQUEST,
        "This sign-in request cannot be completed",
        "The request carries no SAML message.",
    )
    .into_response();
    response.headers_mut().remove(header::SET_COOKIE);
    response
}
