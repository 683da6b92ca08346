//! The hosted sign-in page, `/login` (INTERFACE.md: a form with `username`
//! and `password`, each labelled). Reached from `/oauth2/authorize` with a
//! pending request's handle, or directly.
//!
//! After the password, `services.mfa` decides whether a second factor is
//! needed (`crate::factor` shows that page); only then does the SSO session
//! start.
//!
//! A failed attempt answers the same page with the same message whether the
//! account does not exist, has no password, is not active or the password is
//! wrong; core does the same hashing work in every case. An attempt the
//! brute-force throttle refuses gets the page with 429 and `Retry-After`,
//! again alike for every login; a full hashing queue gets 503 and `Retry-After`.
//! A completed sign-in (after the second factor where one was asked, never
//! after the password alone) sets the device cookie that marks the browser
//! as known for the account (core's `services::throttle`); a browser's first
//! one is audited as `device.new`.
//!
//! When the sign-on policies make an existing session sign in again for a
//! request (re-authentication interval, an app's session lifetime or idle
//! timeout), the page asks for the same account, and a sign-in as another
//! account is refused rather than silently taking the request over.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use gatehouse_core::Error;
use gatehouse_core::ids::OrgId;
use gatehouse_core::model::{PolicyScope, SsoSession, User};
use gatehouse_core::secret::Secret;
use gatehouse_core::services::mfa::{PasskeyAttempt, PasswordOutcome};
use gatehouse_core::services::passkeys::Discoverable;
use gatehouse_core::services::saml::paths;
use gatehouse_core::services::{RequestContext, SignIn};

use crate::AppState;
use crate::cookies::Cookie;
use crate::csrf;
use crate::extract::Ctx;
use crate::oauth::authorize::step_response;
use crate::oauth::{FormPairs, QueryPairs, error_page, param, peek_session, secure};
use crate::pages::Page;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(show).post(submit))
        .route("/login/passkey", post(passkey_options))
}

/// `POST /login/passkey`: a fresh username-less (discoverable) WebAuthn
/// ceremony for the sign-in page's script: `{"ceremony": handle, "options":
/// {publicKey: …, mediation: "conditional"}}`. The ceremony lives in the
/// database for a few minutes and is spent by the `POST /login` that
/// answers it. One client IP opens at most 60 a minute (then 429 with
/// `Retry-After`).
async fn passkey_options(State(state): State<AppState>, Ctx(ctx): Ctx) -> Response {
    let options = match state.services.passkeys.begin_discoverable(&ctx).await {
        Ok(Discoverable::Options(o)) => serde_json::from_str::<serde_json::Value>(&o.options)
            .map(|options| (o.handle, options))
            .map_err(|e| Error::Internal(e.to_string())),
        Ok(Discoverable::Limited { retry_after_secs }) => {
            let mut response = StatusCode::TOO_MANY_REQUESTS.into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            return response;
        }
        Err(error) => Err(error),
    };
    match options {
        Ok((handle, options)) => axum::Json(serde_json::json!({
            "ceremony": handle.expose(),
            "options": options,
        }))
        .into_response(),
        Err(Error::Invalid(_)) => StatusCode::NOT_FOUND.into_response(),
        Err(error) => {
            tracing::error!(%error, "starting a passkey sign-in failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// `GET /login[?request=…]`. A signed-in browser whose session falls short
/// of the request only by a second factor gets the second-factor page
/// instead (step-up), with no new password.
pub async fn show(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    QueryPairs(pairs): QueryPairs,
) -> Response {
    let target = Target::from_pairs(&pairs);
    if let Some(handle) = &target.request
        && let Some(page) = crate::factor::step_up(&state, &ctx, &headers, &target, handle).await
    {
        return page;
    }
    let (client_name, mut hint) = match &target.request {
        Some(handle) => match state.services.oauth.login_screen(handle).await {
            Ok(screen) => (Some(screen.client_name), screen.login_hint),
            Err(error) => return error_page(&error).into_response(),
        },
        None => (None, None),
    };
    match reauthenticating(&state, &ctx, &headers, &target).await {
        Ok(Some(user)) => hint = Some(user.username),
        Ok(None) => {}
        Err(page) => return page,
    }
    let org = match &target.request {
        Some(handle) => match state.services.oauth.pending_client(handle).await {
            Ok((org, _)) => org,
            Err(error) => return error_page(&error).into_response(),
        },
        None => target.org.unwrap_or(OrgId::DEFAULT),
    };
    login_page(
        &state,
        &headers,
        StatusCode::OK,
        &target,
        org,
        client_name,
        hint.unwrap_or_default(),
        None,
    )
    .await
}

/// Where the sign-in leads: a pending authorization request, or a local page
/// (`return_to`, a path on this server) for users of an org (`org`).
#[derive(Debug, Default)]
pub(crate) struct Target {
    pub(crate) request: Option<String>,
    pub(crate) return_to: Option<String>,
    pub(crate) org: Option<OrgId>,
}

impl Target {
    pub(crate) fn from_pairs(pairs: &[(String, String)]) -> Self {
        Self {
            request: param(pairs, "request").map(str::to_owned),
            // Only a path on this server: never `//host` or `/\host`, which
            // browsers treat as another origin (no open redirect).
            return_to: param(pairs, "return_to")
                .filter(|p| p.starts_with('/') && !p.starts_with("//") && !p.contains('\\'))
                .map(str::to_owned),
            org: param(pairs, "org").and_then(|o| o.parse().ok()),
        }
    }
}

/// `POST /login`: checks the password, starts the SSO session, continues the
/// pending authorization request.
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
    let secure = secure(&state);
    let target = Target::from_pairs(&pairs);
    let username = param(&pairs, "username").unwrap_or("").trim().to_owned();
    let password = Secret::new(param(&pairs, "password").unwrap_or(""));
    let (org, client, client_name) = match &target.request {
        Some(handle) => match state.services.oauth.login_screen(handle).await {
            Ok(screen) => match state.services.oauth.pending_client(handle).await {
                Ok((org, client)) => (org, Some(client), Some(screen.client_name)),
                Err(error) => return error_page(&error).into_response(),
            },
            Err(error) => return error_page(&error).into_response(),
        },
        None => (target.org.unwrap_or(OrgId::DEFAULT), None, None),
    };
    if let Some(response) = param(&pairs, "webauthn_response").filter(|r| !r.is_empty()) {
        let ceremony = param(&pairs, "webauthn_ceremony").unwrap_or("");
        return match state
            .services
            .mfa
            .passkey_sign_in(
                &ctx,
                org,
                client.clone().map(PolicyScope::Client).as_ref(),
                Cookie::KnownDevice.read(&headers, secure).as_deref(),
                ceremony,
                response,
            )
            .await
        {
            Ok(PasskeyAttempt::SignedIn(signed_in)) => {
                let proved = Proved {
                    amr: signed_in.amr,
                    acr: signed_in.acr,
                    remembered_device: false,
                };
                finish(&state, &ctx, &headers, &target, &signed_in.user, proved, None).await
            }
            Ok(PasskeyAttempt::Refused) => {
                login_page(
                    &state,
                    &headers,
                    StatusCode::OK,
                    &target,
                    org,
                    client_name,
                    String::new(),
                    Some("That passkey was not accepted. Try again, or sign in with your password."),
                )
                .await
            }
            Ok(PasskeyAttempt::Throttled { retry_after_secs }) => {
                let mut page = login_page(
                    &state,
                    &headers,
                    StatusCode::TOO_MANY_REQUESTS,
                    &target,
                    org,
                    client_name,
                    String::new(),
                    Some("Too many sign-in attempts. Wait a moment and try again later."),
                )
                .await;
                page.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
                page
            }
            Err(Error::Forbidden) => Page::message(
                StatusCode::FORBIDDEN,
                "Passkey not allowed here",
                "Signing in here requires a second factor that passkeys do not satisfy. Sign in with your password.",
            )
            .into_response(),
            Err(error) => {
                tracing::error!(%error, "a passkey sign-in failed inside");
                unavailable()
            }
        };
    }
    let known = Cookie::KnownDevice.read(&headers, secure).map(Secret::new);
    let (user, known) = match sign_in(&state, &ctx, org, &username, &password, known).await {
        Ok(SignIn::Verified { user, known_device }) => (*user, known_device),
        Ok(SignIn::Throttled { retry_after_secs }) => {
            let mut page = login_page(
                &state,
                &headers,
                StatusCode::TOO_MANY_REQUESTS,
                &target,
                org,
                client_name,
                username,
                Some("Too many sign-in attempts. Wait a moment and try again later."),
            )
            .await;
            page.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            return page;
        }
        Err(Error::Unavailable) => {
            let mut page = Page::message(
                StatusCode::SERVICE_UNAVAILABLE,
                "Temporarily unavailable",
                "Sign-in is busy. Try again in a moment.",
            )
            .into_response();
            page.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return page;
        }
        Err(Error::AuthFailed | Error::Invalid(_)) => {
            return login_page(
                &state,
                &headers,
                StatusCode::OK,
                &target,
                org,
                client_name,
                username,
                Some("Invalid username or password."),
            )
            .await;
        }
        Err(error) => {
            tracing::error!(%error, "sign-in failed inside");
            return unavailable();
        }
    };
    let device = Cookie::Device.read(&headers, secure);
    let outcome = state
        .services
        .mfa
        .after_password(
            &ctx,
            &user,
            client.map(PolicyScope::Client).as_ref(),
            device.as_deref(),
            known,
        )
        .await;
    // The browser becomes known only when the sign-in completes (`finish`).
    after_first_factor(&state, &headers, &ctx, &target, &user, outcome).await
}

/// Whether the browser's device cookie marks it as a known device of `user`.
pub(crate) async fn known_device(
    state: &AppState,
    headers: &HeaderMap,
    user: &User,
) -> Result<bool, Response> {
    let cookie = Cookie::KnownDevice.read(headers, secure(state));
    state
        .services
        .throttle
        .knows(user.id, cookie.as_deref())
        .await
        .map_err(|error| {
            tracing::error!(%error, "reading the known device failed");
            unavailable()
        })
}

/// The user whose existing session must sign in again for where the
/// sign-in leads (a pending OAuth request, or a pending SAML sign-in the
/// `return_to` resumes), when the sign-on policies find it too old or idle.
async fn reauthenticating(
    state: &AppState,
    ctx: &RequestContext,
    headers: &HeaderMap,
    target: &Target,
) -> Result<Option<User>, Response> {
    let saml = target
        .return_to
        .as_deref()
        .and_then(|path| path.strip_prefix(paths::SSO_RESUME))
        .and_then(|query| query.strip_prefix('?'))
        .and_then(|query| {
            url::form_urlencoded::parse(query.as_bytes())
                .find(|(name, _)| name == "request")
                .map(|(_, handle)| handle.into_owned())
        });
    if target.request.is_none() && saml.is_none() {
        return Ok(None);
    }
    let session = match peek_session(state, headers).await {
        Ok(Some(session)) => session,
        Ok(None) => return Ok(None),
        Err(page) => return Err(page.into_response()),
    };
    match (&target.request, saml) {
        (Some(handle), _) => state
            .services
            .oauth
            .reauthentication_for(ctx, handle, &session)
            .await
            .map_err(|error| error_page(&error).into_response()),
        (None, Some(handle)) => state
            .services
            .saml
            .reauthentication_for(&handle, &session)
            .await
            .map_err(|error| {
                tracing::error!(%error, "reading the pending SAML sign-in failed");
                unavailable()
            }),
        (None, None) => Ok(None),
    }
}

/// Where a proved first factor (password, sign-in link) leads: signed in,
/// the second-factor page, or a refusal when one is needed and none can be
/// used.
pub(crate) async fn after_first_factor(
    state: &AppState,
    headers: &HeaderMap,
    ctx: &RequestContext,
    target: &Target,
    user: &User,
    outcome: Result<PasswordOutcome, Error>,
) -> Response {
    match outcome {
        Ok(PasswordOutcome::SignedIn {
            amr,
            acr,
            remembered_device,
        }) => {
            let proved = Proved {
                amr,
                acr,
                remembered_device,
            };
            finish(state, ctx, headers, target, user, proved, None).await
        }
        Ok(PasswordOutcome::SecondFactor(handle)) => {
            crate::factor::challenge_page(state, headers, target, &handle).await
        }
        Err(Error::Forbidden) => Page::message(
            StatusCode::FORBIDDEN,
            "Second factor required",
            "Signing in here requires a second factor, and your account has none that can be used. Ask your administrator to set one up.",
        )
        .into_response(),
        Err(error) => {
            tracing::error!(%error, "deciding the second factor failed");
            unavailable()
        }
    }
}

/// What a completed sign-in proved.
#[derive(Debug)]
pub(crate) struct Proved {
    pub(crate) amr: Vec<String>,
    pub(crate) acr: String,
    /// A remembered browser stood in for a required second factor.
    pub(crate) remembered_device: bool,
}

/// Completes a sign-in: refuses another account taking over a
/// re-authentication, marks the browser as a known device of the user,
/// starts the SSO session (unless `stepped_up` is the raised existing one)
/// and continues where the sign-in leads.
pub(crate) async fn finish(
    state: &AppState,
    ctx: &RequestContext,
    headers: &HeaderMap,
    target: &Target,
    user: &User,
    proved: Proved,
    stepped_up: Option<SsoSession>,
) -> Response {
    if stepped_up.is_none() {
        match reauthenticating(state, ctx, headers, target).await {
            Ok(Some(expected)) if expected.id != user.id => {
                return Page::message(
                    StatusCode::FORBIDDEN,
                    "Signed in as another account",
                    &format!(
                        "This application asks {} to sign in again. To use another account, sign out first.",
                        expected.username
                    ),
                )
                .into_response();
            }
            Ok(_) => {}
            Err(page) => return page,
        }
    }
    let presented = Cookie::KnownDevice
        .read(headers, secure(state))
        .map(Secret::new);
    let device = match state
        .services
        .throttle
        .complete_sign_in(ctx, user, presented.as_ref())
        .await
    {
        Ok(device) => device,
        Err(error) => {
            tracing::error!(%error, "recording the known device failed");
            return unavailable();
        }
    };
    let (session, cookie_secret) = match stepped_up {
        Some(session) => (session, None),
        None => match state
            .services
            .sessions
            .start(
                ctx,
                user,
                proved.amr,
                Some(proved.acr),
                proved.remembered_device,
            )
            .await
        {
            Ok((session, secret)) => (session, Some(secret)),
            Err(error) => {
                tracing::error!(%error, "starting a session failed");
                return unavailable();
            }
        },
    };
    let mut response = match (&target.request, &target.return_to) {
        (Some(handle), _) => match state
            .services
            .oauth
            .resume(ctx, handle, Some(session))
            .await
        {
            Ok(step) => step_response(step),
            Err(error) => error_page(&error).into_response(),
        },
        (None, Some(path)) => crate::oauth::found(path),
        (None, None) => Page::message(
            StatusCode::OK,
            "Signed in",
            &format!("You are signed in as {}.", user.username),
        )
        .into_response(),
    };
    if let Some(secret) = cookie_secret
        && let Some(cookie) = Cookie::Session.set(secret.expose(), secure(state))
    {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    let lifetime = state.services.throttle.device_lifetime_secs();
    if let Some(cookie) = Cookie::KnownDevice.set_for(device.expose(), secure(state), lifetime) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// The page for a failure inside (logged by the caller).
pub(crate) fn unavailable() -> Response {
    Page::message(
        StatusCode::SERVICE_UNAVAILABLE,
        "Temporarily unavailable",
        "Sign-in is temporarily unavailable. Try again in a moment.",
    )
    .into_response()
}

async fn sign_in(
    state: &AppState,
    ctx: &RequestContext,
    org: OrgId,
    username: &str,
    password: &Secret,
    device: Option<Secret>,
) -> Result<SignIn, Error> {
    if username.is_empty() || password.is_empty() {
        return Err(Error::AuthFailed);
    }
    state
        .services
        .password_login
        .sign_in(ctx, org, username, password, device.as_ref())
        .await
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn login_page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    target: &Target,
    org: OrgId,
    client_name: Option<String>,
    username: String,
    error: Option<&str>,
) -> Response {
    let (token, cookie) = csrf::token_for_page(headers, secure(state));
    let passkeys = state.services.passkeys.available();
    let magic_link = match state.services.magic_links.enabled(org).await {
        Ok(enabled) => enabled,
        Err(error) => {
            tracing::error!(%error, "reading the org's sign-on policy failed");
            false
        }
    };
    let mut page = Page::render(
        status,
        "login.html",
        minijinja::context! {
            lang => "en",
            title => "Sign in",
            csrf => token,
            request => target.request.clone(),
            return_to => target.return_to.clone(),
            org => target.org.map(|o| o.to_string()),
            client_name => client_name,
            username => username,
            passkeys => passkeys,
            magic_link => magic_link,
            error => error,
        },
    );
    if passkeys {
        page = page.with_script();
    }
    if let Some(cookie) = cookie {
        page = page.with_header(header::SET_COOKIE, cookie);
    }
    page.into_response()
}

/// A POST without a valid CSRF pair: the form was old, or forged.
pub fn expired_form() -> Response {
    Page::message(
        StatusCode::FORBIDDEN,
        "Form expired",
        "This form has expired or did not come from this site. Go back, reload the page and try again.",
    )
    .into_response()
}
