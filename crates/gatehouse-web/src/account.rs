//! `/account/security`: a signed-in user's own factors. Lists them, adds an
//! authenticator app (TOTP: QR code, then a first code activates it) or a
//! passkey / security key (a WebAuthn registration; the page's script
//! `/assets/webauthn.js` talks to the authenticator and posts its answer as
//! base64url JSON), sets or replaces a knowledge question, adds a phone (a
//! code sent through the SMS webhook, typed back in `otp`, activates it),
//! and removes one (the password again, unless the sign-in is recent). Every form is CSRF-protected; without a session the page
//! sends the browser to `/login` and back.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use gatehouse_core::Error;
use gatehouse_core::ids::FactorId;
use gatehouse_core::model::{Factor, FactorKind, PhoneChannel, SsoSession};
use gatehouse_core::secret::Secret;
use gatehouse_core::services::account::SecurityOverview;
use gatehouse_core::services::factors::question;
use gatehouse_core::services::passkeys::KeyKind;

use crate::AppState;
use crate::csrf;
use crate::extract::Ctx;
use crate::oauth::{FormPairs, QueryPairs, current_session, found, param, secure};
use crate::pages::Page;
use crate::rfc3339;

const PATH: &str = "/account/security";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(PATH, get(show))
        .route("/account/security/passkey", post(add_passkey))
        .route("/account/security/totp", post(enrol_totp))
        .route("/account/security/totp/activate", post(activate_totp))
        .route("/account/security/question", post(set_question))
        .route("/account/security/phone", post(enrol_phone))
        .route("/account/security/phone/activate", post(activate_phone))
        .route("/account/security/phone/resend", post(resend_phone))
        .route("/account/security/remove", post(remove))
}

/// The session, or the response sending the browser to sign in first.
async fn session(state: &AppState, headers: &HeaderMap) -> Result<SsoSession, Response> {
    match current_session(state, headers).await {
        Ok(Some(session)) => Ok(session),
        Ok(None) => Err(found("/login?return_to=/account/security")),
        Err(page) => Err(page.into_response()),
    }
}

/// `GET /account/security[?key=security]`: the page offers to add a
/// passkey, or with `key=security` a security key (one that may not verify
/// the user: U2F-era keys, keys without a PIN).
async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    QueryPairs(pairs): QueryPairs,
) -> Response {
    let session = match session(&state, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let kind = match param(&pairs, "key") {
        Some("security") => KeyKind::SecurityKey,
        _ => KeyKind::Passkey,
    };
    page_for(&state, &headers, &session, kind, StatusCode::OK, None, None).await
}

/// The security page, with a fresh passkey registration ceremony.
async fn page(
    state: &AppState,
    headers: &HeaderMap,
    session: &SsoSession,
    status: StatusCode,
    notice: Option<&str>,
    error: Option<&str>,
) -> Response {
    let kind = KeyKind::Passkey;
    page_for(state, headers, session, kind, status, notice, error).await
}

/// The security page, with a fresh registration ceremony of `kind`.
async fn page_for(
    state: &AppState,
    headers: &HeaderMap,
    session: &SsoSession,
    kind: KeyKind,
    status: StatusCode,
    notice: Option<&str>,
    error: Option<&str>,
) -> Response {
    let account = &state.services.account;
    let overview = match account.overview(session).await {
        Ok(overview) => overview,
        Err(error) => return failure(error),
    };
    let passkey = if overview.passkeys_available {
        match account.begin_passkey(session, kind).await {
            Ok(options) => Some(options),
            Err(error) => {
                tracing::error!(%error, "starting a passkey registration failed");
                None
            }
        }
    } else {
        None
    };
    let (token, cookie) = csrf::token_for_page(headers, secure(state));
    let mut page = Page::render(
        status,
        "account_security.html",
        minijinja::context! {
            lang => "en",
            title => "Security",
            csrf => token,
            username => overview.user.username.clone(),
            factors => factor_rows(&overview),
            recovery_codes_left => overview.recovery_codes_left,
            needs_password => overview.needs_password,
            questions => question::QUESTIONS
                .iter()
                .map(|q| minijinja::context! { id => q.id, text => q.text })
                .collect::<Vec<_>>(),
            has_question => overview.factors.iter().any(|f| f.kind == FactorKind::Question),
            phone_available => overview.phone_available,
            passkey => passkey.as_ref().map(|p| minijinja::context! {
                ceremony => p.handle.expose(),
                options => p.options.clone(),
                security_key => kind == KeyKind::SecurityKey,
            }),
            notice => notice,
            error => error,
        },
    );
    if passkey.is_some() {
        page = page.with_script();
    }
    if let Some(cookie) = cookie {
        page = page.with_header(header::SET_COOKIE, cookie);
    }
    page.into_response()
}

fn factor_rows(overview: &SecurityOverview) -> Vec<minijinja::Value> {
    overview
        .factors
        .iter()
        .map(|f| {
            let label = match f.kind {
                FactorKind::Webauthn => {
                    let name = overview
                        .credentials
                        .iter()
                        .find(|c| c.factor_id == f.id)
                        .map(|c| c.name.as_str())
                        .unwrap_or("Passkey");
                    format!("Passkey or security key: {name}")
                }
                FactorKind::Totp => "Authenticator app".to_owned(),
                FactorKind::Question => format!(
                    "Security question: {}",
                    f.detail
                        .as_deref()
                        .and_then(question::find)
                        .map_or("(unknown)", |q| q.text)
                ),
                FactorKind::Phone => format!(
                    "Phone ({}): {}",
                    match f.detail.as_deref().and_then(PhoneChannel::parse) {
                        Some(PhoneChannel::Voice) => "voice call",
                        Some(PhoneChannel::Sms) | None => "text message",
                    },
                    f.hint.as_deref().unwrap_or("")
                ),
                FactorKind::RecoveryCode | FactorKind::Email => f.kind.as_str().to_owned(),
            };
            minijinja::context! {
                id => f.id.to_string(),
                label => label,
                status => f.status.as_str(),
                created_at => rfc3339::format(f.created_at),
                last_used_at => f.last_used_at.map(rfc3339::format),
            }
        })
        .collect()
}

/// The form's pairs and the session, or the response to give instead.
async fn checked(
    state: &AppState,
    headers: &HeaderMap,
    form: Result<FormPairs, crate::oauth::OAuthReply>,
) -> Result<(Vec<(String, String)>, SsoSession), Response> {
    let pairs = csrf::checked_form(state, headers, form).map_err(|page| *page)?;
    let session = session(state, headers).await?;
    Ok((pairs, session))
}

/// `POST /account/security/passkey`: `name`, `webauthn_ceremony`, `webauthn_response`.
async fn add_passkey(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    form: Result<FormPairs, crate::oauth::OAuthReply>,
) -> Response {
    let (pairs, session) = match checked(&state, &headers, form).await {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    let ceremony = param(&pairs, "webauthn_ceremony").unwrap_or("");
    let response = param(&pairs, "webauthn_response").unwrap_or("");
    let name = param(&pairs, "name").unwrap_or("");
    if response.is_empty() {
        return page(
            &state,
            &headers,
            &session,
            StatusCode::BAD_REQUEST,
            None,
            Some("Adding a passkey needs JavaScript and a security key or passkey."),
        )
        .await;
    }
    let result = state
        .services
        .account
        .finish_passkey(&ctx, &session, ceremony, response, name)
        .await;
    let said = ("Passkey added.", "The passkey was not added");
    after_change(&state, &headers, &session, result, said).await
}

/// The form's `factor` id.
fn factor_param(pairs: &[(String, String)]) -> Option<FactorId> {
    param(pairs, "factor").and_then(|f| f.parse().ok())
}

/// After a factor's first code: the new recovery codes, to show once (the
/// user had none left), else the page with `notice`.
async fn activated(
    state: &AppState,
    headers: &HeaderMap,
    session: &SsoSession,
    codes: &[Secret],
    notice: &str,
) -> Response {
    if codes.is_empty() {
        page(state, headers, session, StatusCode::OK, Some(notice), None).await
    } else {
        recovery_codes(codes)
    }
}

/// The page after a change: `said.0` as its notice, or for a refused
/// input `said.1` and the first validation message (400).
async fn after_change<T>(
    state: &AppState,
    headers: &HeaderMap,
    session: &SsoSession,
    result: Result<T, Error>,
    said: (&str, &str),
) -> Response {
    let (done, refused) = said;
    match result {
        Ok(_) => page(state, headers, session, StatusCode::OK, Some(done), None).await,
        Err(Error::Invalid(errors)) => {
            refused_page(state, headers, session, refused, &errors).await
        }
        Err(error) => failure(error),
    }
}

/// The page with `refused` and the first validation message (400).
async fn refused_page(
    state: &AppState,
    headers: &HeaderMap,
    session: &SsoSession,
    refused: &str,
    errors: &[gatehouse_core::FieldError],
) -> Response {
    let message = errors
        .first()
        .map(|e| e.message.clone())
        .unwrap_or_default();
    let error = format!("{refused}: {message}.");
    page(
        state,
        headers,
        session,
        StatusCode::BAD_REQUEST,
        None,
        Some(&error),
    )
    .await
}

/// `POST /account/security/totp`: a new pending TOTP factor and its QR code.
async fn enrol_totp(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    form: Result<FormPairs, crate::oauth::OAuthReply>,
) -> Response {
    let (_, session) = match checked(&state, &headers, form).await {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    match state.services.account.enrol_totp(&ctx, &session).await {
        Ok(enrolled) => totp_page(
            &state,
            &headers,
            enrolled.factor.id,
            enrolled.otpauth_uri.expose(),
            enrolled.secret.expose(),
            None,
        ),
        Err(error) => failure(error),
    }
}

fn totp_page(
    state: &AppState,
    headers: &HeaderMap,
    factor: FactorId,
    uri: &str,
    secret: &str,
    error: Option<&str>,
) -> Response {
    let (token, cookie) = csrf::token_for_page(headers, secure(state));
    let mut page = Page::render(
        if error.is_some() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        },
        "account_totp.html",
        minijinja::context! {
            lang => "en",
            title => "Set up an authenticator app",
            csrf => token,
            factor => factor.to_string(),
            qr_svg => crate::factor::qr_svg(uri),
            secret => secret,
            error => error,
        },
    );
    if let Some(cookie) = cookie {
        page = page.with_header(header::SET_COOKIE, cookie);
    }
    page.into_response()
}

/// `POST /account/security/totp/activate`: `factor` and its first code `otp`.
async fn activate_totp(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    form: Result<FormPairs, crate::oauth::OAuthReply>,
) -> Response {
    let (pairs, session) = match checked(&state, &headers, form).await {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    let Some(factor) = factor_param(&pairs) else {
        return failure(Error::NotFound("factor"));
    };
    let code = param(&pairs, "otp").unwrap_or("");
    let account = &state.services.account;
    match account.activate_totp(&ctx, &session, factor, code).await {
        Ok(codes) => {
            activated(
                &state,
                &headers,
                &session,
                &codes,
                "Authenticator app added.",
            )
            .await
        }
        Err(Error::AuthFailed) => match account.pending_totp(&session, factor).await {
            Ok(enrolled) => totp_page(
                &state,
                &headers,
                factor,
                enrolled.otpauth_uri.expose(),
                enrolled.secret.expose(),
                Some("That code is not right or has expired."),
            ),
            Err(error) => failure(error),
        },
        Err(error) => failure(error),
    }
}

/// `POST /account/security/question`: `question` (an id of the list) and
/// `answer`; replaces any earlier question.
async fn set_question(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    form: Result<FormPairs, crate::oauth::OAuthReply>,
) -> Response {
    let (pairs, session) = match checked(&state, &headers, form).await {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    let question = param(&pairs, "question").unwrap_or("");
    let answer = Secret::new(param(&pairs, "answer").unwrap_or(""));
    let result = state
        .services
        .account
        .set_question(&ctx, &session, question, &answer)
        .await;
    let said = ("Security question saved.", "The question was not saved");
    after_change(&state, &headers, &session, result, said).await
}

/// `POST /account/security/phone`: `phone` (E.164) and `channel` (`sms`
/// or `voice`); a pending phone factor and its first code.
async fn enrol_phone(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    form: Result<FormPairs, crate::oauth::OAuthReply>,
) -> Response {
    let (pairs, session) = match checked(&state, &headers, form).await {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    let number = param(&pairs, "phone").unwrap_or("");
    let channel = param(&pairs, "channel")
        .and_then(PhoneChannel::parse)
        .unwrap_or(PhoneChannel::Sms);
    match state
        .services
        .account
        .enrol_phone(&ctx, &session, number, channel)
        .await
    {
        Ok(enrolled) if enrolled.sent => phone_page(
            &state,
            &headers,
            &enrolled.factor,
            StatusCode::OK,
            None,
            None,
        ),
        Ok(enrolled) => phone_page(
            &state,
            &headers,
            &enrolled.factor,
            StatusCode::OK,
            None,
            Some(COULD_NOT_SEND),
        ),
        Err(Error::Invalid(errors)) => {
            refused_page(
                &state,
                &headers,
                &session,
                "The phone was not added",
                &errors,
            )
            .await
        }
        Err(Error::Conflict(_)) => {
            page(
                &state,
                &headers,
                &session,
                StatusCode::TOO_MANY_REQUESTS,
                None,
                Some("A code was sent moments ago. Wait for it, or try again in half a minute."),
            )
            .await
        }
        Err(error) => failure(error),
    }
}

/// Shown when the SMS webhook did not take a code.
const COULD_NOT_SEND: &str =
    "We could not send a code to that number just now. Try again in a moment.";

fn phone_page(
    state: &AppState,
    headers: &HeaderMap,
    factor: &Factor,
    status: StatusCode,
    notice: Option<&str>,
    error: Option<&str>,
) -> Response {
    let (token, cookie) = csrf::token_for_page(headers, secure(state));
    let mut page = Page::render(
        status,
        "account_phone.html",
        minijinja::context! {
            lang => "en",
            title => "Verify your phone",
            csrf => token,
            factor => factor.id.to_string(),
            hint => factor.hint.clone().unwrap_or_default(),
            channel => factor.detail.clone().unwrap_or_default(),
            notice => notice,
            error => error,
        },
    );
    if let Some(cookie) = cookie {
        page = page.with_header(header::SET_COOKIE, cookie);
    }
    page.into_response()
}

/// `POST /account/security/phone/activate`: `factor` and the code `otp`.
async fn activate_phone(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    form: Result<FormPairs, crate::oauth::OAuthReply>,
) -> Response {
    let (pairs, session) = match checked(&state, &headers, form).await {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    let Some(factor) = factor_param(&pairs) else {
        return failure(Error::NotFound("factor"));
    };
    let code = param(&pairs, "otp").unwrap_or("");
    let account = &state.services.account;
    match account.activate_phone(&ctx, &session, factor, code).await {
        Ok(codes) => activated(&state, &headers, &session, &codes, "Phone added.").await,
        Err(Error::AuthFailed) => match account.pending_phone(&session, factor).await {
            Ok(pending) => phone_page(
                &state,
                &headers,
                &pending,
                StatusCode::BAD_REQUEST,
                None,
                Some("That code is not right, has expired or was already used."),
            ),
            Err(error) => failure(error),
        },
        Err(error) => failure(error),
    }
}

/// `POST /account/security/phone/resend`: `factor`.
async fn resend_phone(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    form: Result<FormPairs, crate::oauth::OAuthReply>,
) -> Response {
    let (pairs, session) = match checked(&state, &headers, form).await {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    let Some(factor) = factor_param(&pairs) else {
        return failure(Error::NotFound("factor"));
    };
    let account = &state.services.account;
    let (status, notice, error) = match account.resend_phone(&ctx, &session, factor).await {
        Ok(()) => (StatusCode::OK, Some("We sent a new code."), None),
        Err(Error::Conflict(_)) => (
            StatusCode::TOO_MANY_REQUESTS,
            None,
            Some("A code was sent moments ago. Wait for it, or ask again in half a minute."),
        ),
        Err(Error::Unavailable) => (StatusCode::OK, None, Some(COULD_NOT_SEND)),
        Err(error) => return failure(error),
    };
    match account.pending_phone(&session, factor).await {
        Ok(pending) => phone_page(&state, &headers, &pending, status, notice, error),
        Err(error) => failure(error),
    }
}

fn recovery_codes(codes: &[Secret]) -> Response {
    let codes: Vec<String> = codes.iter().map(|c| c.expose().to_owned()).collect();
    Page::render(
        StatusCode::OK,
        "recovery_codes.html",
        minijinja::context! {
            lang => "en",
            title => "Recovery codes",
            codes => codes,
            next => PATH,
        },
    )
    .into_response()
}

/// `POST /account/security/remove`: `factor`, and `password` unless the
/// sign-in is recent.
async fn remove(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    form: Result<FormPairs, crate::oauth::OAuthReply>,
) -> Response {
    let (pairs, session) = match checked(&state, &headers, form).await {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    let Some(factor) = factor_param(&pairs) else {
        return failure(Error::NotFound("factor"));
    };
    let password = Secret::new(param(&pairs, "password").unwrap_or(""));
    let result = state
        .services
        .account
        .remove_factor(&ctx, &session, factor, &password)
        .await;
    remove_page(&state, &headers, &session, result).await
}

async fn remove_page(
    state: &AppState,
    headers: &HeaderMap,
    session: &SsoSession,
    result: Result<(), Error>,
) -> Response {
    match result {
        Ok(()) => {
            page(
                state,
                headers,
                session,
                StatusCode::OK,
                Some("Factor removed."),
                None,
            )
            .await
        }
        Err(Error::AuthFailed) => {
            page(
                state,
                headers,
                session,
                StatusCode::FORBIDDEN,
                None,
                Some("Enter your current password to remove a factor."),
            )
            .await
        }
        Err(error) => failure(error),
    }
}

fn failure(error: Error) -> Response {
    match error {
        Error::NotFound(_) => Page::message(
            StatusCode::NOT_FOUND,
            "Not found",
            "That factor does not exist or is not yours.",
        )
        .into_response(),
        Error::Forbidden => Page::message(
            StatusCode::FORBIDDEN,
            "Not allowed",
            "Your account cannot change its factors now.",
        )
        .into_response(),
        Error::Invalid(_) => Page::message(
            StatusCode::BAD_REQUEST,
            "Not available",
            "That factor is not available on this server.",
        )
        .into_response(),
        error => {
            tracing::error!(%error, "the security page failed");
            crate::login::unavailable()
        }
    }
}
