//! The second-factor page, `/login/factor` (INTERFACE.md: one input named
//! `otp` for TOTP, e-mailed, texted and recovery codes; `answer` for the
//! user's knowledge question). Shown after a correct
//! password when the sign-on policy wants a second factor, or for a step-up
//! of an existing session; the half-finished sign-in lives in the database
//! and the browser holds only its handle, in a short-lived cookie.
//!
//! A user who must have a factor but has none enrols TOTP here: the page
//! shows the QR code (inline SVG) and the key, and the first correct code
//! activates the factor; the recovery codes made then are shown once.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use gatehouse_core::Error;
use gatehouse_core::model::{FactorKind, PolicyScope};
use gatehouse_core::secret::Secret;
use gatehouse_core::services::RequestContext;
use gatehouse_core::services::mfa::{CHALLENGE_TTL_SECS, ChallengeScreen, SecondStep};
use gatehouse_core::services::passkeys::CeremonyOptions;

use crate::AppState;
use crate::cookies::Cookie;
use crate::csrf;
use crate::extract::Ctx;
use crate::login::{Proved, Target, finish, unavailable};
use crate::oauth::{FormPairs, QueryPairs, param, peek_session, secure};
use crate::pages::Page;

pub fn routes() -> Router<AppState> {
    Router::new().route("/login/factor", get(show).post(submit))
}

/// Opens the second-factor page for a new challenge: stores its handle in
/// the short-lived cookie and renders the page.
pub(crate) async fn challenge_page(
    state: &AppState,
    headers: &HeaderMap,
    target: &Target,
    handle: &Secret,
) -> Response {
    let mut response = screen_page(state, headers, target, handle.expose(), None, None).await;
    if let Some(cookie) = Cookie::Mfa.set_for(handle.expose(), secure(state), CHALLENGE_TTL_SECS) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// For `GET /login?request=…` with a session that only needs a second
/// factor: the step-up page, or `None` to show the sign-in page.
pub(crate) async fn step_up(
    state: &AppState,
    ctx: &RequestContext,
    headers: &HeaderMap,
    target: &Target,
    handle: &str,
) -> Option<Response> {
    let session = match peek_session(state, headers).await {
        Ok(session) => session?,
        Err(page) => return Some(page.into_response()),
    };
    // An unusable request handle is reported by the sign-in page itself.
    let client = state
        .services
        .oauth
        .step_up_for(ctx, handle, &session)
        .await
        .ok()
        .flatten()?;
    match state
        .services
        .mfa
        .begin_step_up(ctx, &session, Some(&PolicyScope::Client(client)))
        .await
    {
        Ok(Some(challenge)) => Some(challenge_page(state, headers, target, &challenge).await),
        Ok(None) => None,
        Err(error) => {
            tracing::error!(%error, "starting a step-up failed");
            Some(unavailable())
        }
    }
}

/// `GET /login/factor`: the page again (a reload).
async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    QueryPairs(pairs): QueryPairs,
) -> Response {
    let target = Target::from_pairs(&pairs);
    let Some(handle) = Cookie::Mfa.read(&headers, secure(&state)) else {
        return expired(&state);
    };
    screen_page(&state, &headers, &target, &handle, None, None).await
}

/// `POST /login/factor`: a code in `otp`, an answer in `answer` (or
/// `send_email` / `send_phone` to have a code sent).
async fn submit(
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
    let Some(handle) = Cookie::Mfa.read(&headers, secure) else {
        return expired(&state);
    };
    let mfa = &state.services.mfa;
    if param(&pairs, "send_email").is_some() {
        let (notice, error) = match mfa.send_email_code(&ctx, &handle).await {
            Ok(()) => (Some("We sent a code to your e-mail address."), None),
            Err(Error::Conflict(_)) => (
                None,
                Some(
                    "A code was sent moments ago. Check your e-mail, or ask again in half a minute.",
                ),
            ),
            Err(error) => return failure(error),
        };
        return screen_page(&state, &headers, &target, &handle, notice, error).await;
    }
    if param(&pairs, "send_phone").is_some() {
        let (notice, error) = match mfa.send_phone_code(&ctx, &handle).await {
            Ok(()) => (Some("We sent a code to your phone."), None),
            Err(Error::Conflict(_)) => (
                None,
                Some("A code was sent moments ago. Wait for it, or ask again in half a minute."),
            ),
            Err(Error::Unavailable) => (
                None,
                Some(
                    "We could not send a code to your phone. Try again later or use another factor.",
                ),
            ),
            Err(error) => return failure(error),
        };
        return screen_page(&state, &headers, &target, &handle, notice, error).await;
    }
    let code = param(&pairs, "otp").unwrap_or("");
    let answer = param(&pairs, "answer");
    let remember = param(&pairs, "remember").is_some_and(|v| v == "on");
    let step = match param(&pairs, "webauthn_response").filter(|r| !r.is_empty()) {
        Some(response) => {
            let ceremony = param(&pairs, "webauthn_ceremony").unwrap_or("");
            if param(&pairs, "webauthn_register") == Some("1") {
                mfa.enrol_webauthn(&ctx, &handle, ceremony, response, remember)
                    .await
            } else {
                mfa.verify_webauthn(&ctx, &handle, ceremony, response, remember)
                    .await
            }
        }
        None => match answer {
            Some(answer) => mfa.verify_answer(&ctx, &handle, answer, remember).await,
            None => mfa.verify(&ctx, &handle, code, remember).await,
        },
    };
    let verified = match step {
        Ok(SecondStep::Verified(verified)) => *verified,
        Ok(SecondStep::Throttled { retry_after_secs }) => {
            let mut page = screen_page(
                &state,
                &headers,
                &target,
                &handle,
                None,
                Some("Too many wrong codes. Wait a moment and try again."),
            )
            .await;
            *page.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            page.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            return page;
        }
        Err(Error::AuthFailed) => {
            return screen_page(
                &state,
                &headers,
                &target,
                &handle,
                None,
                Some(if answer.is_some() {
                    "That answer is not right."
                } else {
                    "That code or key is not right, has expired or was already used."
                }),
            )
            .await;
        }
        Err(error) => return failure(error),
    };
    let proved = Proved {
        amr: verified.amr,
        acr: verified.acr,
        remembered_device: false,
    };
    let mut response = finish(
        &state,
        &ctx,
        &headers,
        &target,
        &verified.user,
        proved,
        verified.session,
    )
    .await;
    if !verified.recovery_codes.is_empty() {
        response = with_recovery_codes(response, &verified.recovery_codes);
    }
    let headers = response.headers_mut();
    headers.append(header::SET_COOKIE, Cookie::Mfa.clear(secure));
    if let Some((token, days)) = verified.device
        && let Some(cookie) =
            Cookie::Device.set_for(token.expose(), secure, i64::from(days) * 86_400)
    {
        headers.append(header::SET_COOKIE, cookie);
    }
    response
}

/// Shows freshly made recovery codes before continuing to where `next`
/// redirects (its cookies are kept). A continuation that is not a redirect
/// (a `form_post` page) is returned as is: the codes can be made again.
fn with_recovery_codes(next: Response, codes: &[Secret]) -> Response {
    let Some(location) = next
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
    else {
        return next;
    };
    let codes: Vec<String> = codes.iter().map(|c| c.expose().to_owned()).collect();
    let mut page = Page::render(
        StatusCode::OK,
        "recovery_codes.html",
        minijinja::context! {
            lang => "en",
            title => "Recovery codes",
            codes => codes,
            next => location,
        },
    )
    .into_response();
    for cookie in next.headers().get_all(header::SET_COOKIE) {
        page.headers_mut()
            .append(header::SET_COOKIE, cookie.clone());
    }
    page
}

/// The second-factor page of the challenge behind `handle`, with a fresh
/// WebAuthn ceremony when the user has a passkey or security key.
async fn screen_page(
    state: &AppState,
    headers: &HeaderMap,
    target: &Target,
    handle: &str,
    notice: Option<&str>,
    error: Option<&str>,
) -> Response {
    let mfa = &state.services.mfa;
    let screen = match mfa.screen(handle).await {
        Ok(screen) => screen,
        Err(error) => return failure(error),
    };
    let register = screen.webauthn_enrolment;
    let options = if register {
        mfa.webauthn_enrol_options(handle).await
    } else if screen.kinds.contains(&FactorKind::Webauthn) {
        mfa.webauthn_options(handle).await
    } else {
        Ok(None)
    };
    let options = options.unwrap_or_else(|error| {
        tracing::error!(%error, "starting a WebAuthn ceremony failed");
        None
    });
    let webauthn = options.as_ref().map(|o| (o, register));
    render(state, headers, target, &screen, webauthn, notice, error)
}

fn render(
    state: &AppState,
    headers: &HeaderMap,
    target: &Target,
    screen: &ChallengeScreen,
    webauthn: Option<(&CeremonyOptions, bool)>,
    notice: Option<&str>,
    error: Option<&str>,
) -> Response {
    let (token, cookie) = csrf::token_for_page(headers, secure(state));
    let (qr_svg, secret) = match &screen.enrolment {
        Some(enrolment) => (
            qr_svg(enrolment.otpauth_uri.expose()),
            Some(enrolment.secret.expose().to_owned()),
        ),
        None => (String::new(), None),
    };
    let mut page = Page::render(
        StatusCode::OK,
        "factor.html",
        minijinja::context! {
            lang => "en",
            title => if screen.enrolment.is_some() { "Set up a second factor" } else { "Second factor" },
            csrf => token,
            request => target.request.clone(),
            return_to => target.return_to.clone(),
            org => target.org.map(|o| o.to_string()),
            enrolment => screen.enrolment.is_some(),
            qr_svg => qr_svg,
            secret => secret,
            recovery => screen.kinds.contains(&FactorKind::RecoveryCode),
            // The code form, unless the question is all the user has here.
            codes => screen.enrolment.is_some()
                || screen.kinds.iter().any(|k| *k != FactorKind::Question)
                || screen.kinds.is_empty(),
            totp => screen.kinds.contains(&FactorKind::Totp),
            question => screen.question,
            phone => screen.phone.map(|c| c.as_str()),
            email_available => screen.email_available,
            email_sent => screen.email_sent,
            remember_days => screen.remember_days,
            webauthn => webauthn.map(|(w, register)| minijinja::context! {
                ceremony => w.handle.expose(),
                options => w.options.clone(),
                register => register,
            }),
            notice => notice,
            error => error,
        },
    );
    if webauthn.is_some() {
        page = page.with_script();
    }
    if let Some(cookie) = cookie {
        page = page.with_header(header::SET_COOKIE, cookie);
    }
    page.into_response()
}

/// The Key URI as an inline SVG QR code (no external image, so the page's
/// CSP stays `default-src 'none'`).
pub(crate) fn qr_svg(uri: &str) -> String {
    match qrcode::QrCode::new(uri.as_bytes()) {
        Ok(code) => {
            let svg = code
                .render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(200, 200)
                .build();
            // Drop the XML declaration: this is inline HTML.
            match svg.find("<svg") {
                Some(start) => svg[start..].to_owned(),
                None => svg,
            }
        }
        Err(error) => {
            tracing::error!(%error, "the Key URI does not fit a QR code");
            String::new()
        }
    }
}

fn expired(state: &AppState) -> Response {
    let mut response = Page::message(
        StatusCode::BAD_REQUEST,
        "Sign-in expired",
        "This sign-in has expired or was already completed. Go back to the application and sign in again.",
    )
    .into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, Cookie::Mfa.clear(secure(state)));
    response
}

fn failure(error: Error) -> Response {
    match error {
        Error::NotFound(_) => Page::message(
            StatusCode::BAD_REQUEST,
            "Sign-in expired",
            "This sign-in has expired, was already completed or had too many wrong codes. Go back to the application and sign in again.",
        )
        .into_response(),
        Error::Invalid(_) => Page::message(
            StatusCode::BAD_REQUEST,
            "Not available",
            "Codes by e-mail, text message or call are not available for this sign-in.",
        )
        .into_response(),
        Error::Conflict(_)
        | Error::PreconditionFailed
        | Error::Forbidden
        | Error::AuthFailed
        | Error::Unavailable
        | Error::Store(_)
        | Error::Internal(_) => {
            tracing::error!(%error, "the second factor step failed");
            unavailable()
        }
    }
}
