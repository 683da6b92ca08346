//! Sign-on policy rules through the real HTTP pages with the fake clock: the
//! `new_device` second-factor rule (and that a browser becomes known only
//! when its sign-in completes), the re-authentication interval, session
//! lifetime and idle timeout per org and per app, and the `acr` of a sign-in
//! whose second factor a remembered device stood in for. ID tokens are read
//! by the `openidconnect` relying party.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::rp::{
    PASSWORD, Rp, Started, callback, discover, exchange, param, register, start, user,
};
use common::{field_codes, json, problem};
use gatehouse_core::clock::Clock;
use gatehouse_core::model::AuditQuery;
use gatehouse_testkit::TestServer;
use gatehouse_testkit::browser::{Browser, Consent, Landing};
use openidconnect::TokenResponse;
use serde_json::{Value, json};

const DEFAULT_ORG: &str = "00000000-0000-7000-8000-000000000001";

fn org_policy() -> String {
    format!("/api/v1/orgs/{DEFAULT_ORG}/signon-policy")
}

fn client_policy(client_id: &str) -> String {
    format!("/api/v1/clients/{client_id}/signon-policy")
}

async fn set_policy(server: &TestServer, path: &str, policy: Value) {
    let response = server.admin().put(path).json(&policy).send().await.unwrap();
    json(response, 200).await;
}

/// The TOTP code for the secret in `otpauth_uri` at the server's clock.
fn code_at(server: &TestServer, otpauth_uri: &str) -> String {
    let url = url::Url::parse(otpauth_uri).unwrap();
    let secret = url
        .query_pairs()
        .find(|(k, _)| k == "secret")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let bytes = totp_rs::Secret::try_from_base32(&secret).unwrap();
    let totp = totp_rs::Builder::new()
        .with_secret(bytes.as_bytes().to_vec())
        .build()
        .unwrap();
    let now = server.clock.now_millis() / 1000;
    totp.generate(u64::try_from(now).unwrap()).to_string()
}

/// Enrols and activates TOTP for the user; returns the otpauth URI. The
/// clock moves one step on, so the next code is a new one.
async fn active_totp(server: &TestServer, user_id: &str) -> String {
    let enrolled = json(
        server
            .admin()
            .post(&format!("/api/v1/users/{user_id}/factors"))
            .json(&json!({"type": "totp"}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let uri = enrolled["otpauth_uri"].as_str().unwrap().to_owned();
    let factor = enrolled["id"].as_str().unwrap();
    json(
        server
            .admin()
            .post(&format!(
                "/api/v1/users/{user_id}/factors/{factor}/activate"
            ))
            .json(&json!({"code": code_at(server, &uri)}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    server.clock.advance_secs(30);
    uri
}

fn is_factor_page(landing: &Landing) -> bool {
    matches!(landing, Landing::Page(200, html) if html.contains("name=\"otp\""))
}

fn is_login_page(landing: &Landing) -> bool {
    matches!(landing, Landing::Page(200, html) if html.contains("name=\"password\""))
}

async fn submit_otp(browser: &Browser, landing: &Landing, code: &str) -> Landing {
    let Landing::Page(_, html) = landing else {
        panic!("not a page: {landing:?}")
    };
    let response = browser.fill(html, &[("otp", code)]).await.unwrap();
    browser
        .follow(response, None, Consent::Allow)
        .await
        .unwrap()
}

/// Walks `started` (signing in as `username` if the sign-in page comes) and
/// returns the ID token claims.
async fn claims_of(
    rp: &Rp,
    browser: &Browser,
    started: Started,
    username: Option<&str>,
) -> openidconnect::core::CoreIdTokenClaims {
    let landing = browser
        .walk(
            &started.url,
            username.map(|u| (u, PASSWORD)),
            Consent::Allow,
        )
        .await
        .unwrap();
    let code = param(&callback(&landing), "code").unwrap().to_owned();
    tokens_claims(rp, &code, started).await
}

async fn tokens_claims(
    rp: &Rp,
    code: &str,
    started: Started,
) -> openidconnect::core::CoreIdTokenClaims {
    let tokens = exchange(rp, code, started.verifier).await;
    tokens
        .id_token()
        .unwrap()
        .claims(&rp.id_token_verifier(), &started.nonce)
        .unwrap()
        .clone()
}

fn amr_of(claims: &openidconnect::core::CoreIdTokenClaims) -> Vec<String> {
    claims
        .auth_method_refs()
        .map(|amr| amr.iter().map(|m| m.as_str().to_owned()).collect())
        .unwrap_or_default()
}

fn acr_of(claims: &openidconnect::core::CoreIdTokenClaims) -> Option<String> {
    claims.auth_context_ref().map(|a| a.as_str().to_owned())
}

async fn audited(server: &TestServer, action: &str) -> usize {
    server
        .services
        .store()
        .list_audit(&AuditQuery {
            action: Some(action.to_owned()),
            limit: 1000,
            ..AuditQuery::default()
        })
        .await
        .unwrap()
        .items
        .len()
}

/// Regression (the known-device cookie was set after a correct password,
/// before the second factor): a browser becomes known only when its sign-in
/// completes, so one that passed the password and stopped at the second
/// factor is still new next time. `new_device` asks new browsers only.
async fn new_device_rule_asks_new_browsers_only(server: TestServer) {
    let ada = user(&server, "ada").await;
    let uri = active_totp(&server, ada["id"].as_str().unwrap()).await;
    set_policy(
        &server,
        &org_policy(),
        json!({"second_factor": "new_device"}),
    )
    .await;
    let (client_id, secret) = register(&server, json!({})).await;
    let rp = discover(&server, &client_id, &secret).await;

    // A new browser: the password, then the second factor — abandoned.
    let browser = Browser::new(&server.url("")).unwrap();
    let abandoned = browser
        .walk(
            &start(&rp, &["profile"], &[]).url,
            Some(("ada", PASSWORD)),
            Consent::Allow,
        )
        .await
        .unwrap();
    assert!(is_factor_page(&abandoned), "{abandoned:?}");
    assert_eq!(audited(&server, "device.new").await, 0);

    // Still new: the second factor again, this time given.
    let started = start(&rp, &["profile"], &[]);
    let landing = browser
        .walk(&started.url, Some(("ada", PASSWORD)), Consent::Allow)
        .await
        .unwrap();
    assert!(
        is_factor_page(&landing),
        "a half sign-in made the browser known"
    );
    let landing = submit_otp(&browser, &landing, &code_at(&server, &uri)).await;
    let code = param(&callback(&landing), "code").unwrap().to_owned();
    let claims = tokens_claims(&rp, &code, started).await;
    assert_eq!(acr_of(&claims).as_deref(), Some("2"));
    assert_eq!(audited(&server, "device.new").await, 1);

    // The same cookie jar is known now: the password alone.
    let claims = claims_of(
        &rp,
        &browser,
        start(&rp, &["profile"], &[("prompt", "login")]),
        Some("ada"),
    )
    .await;
    assert_eq!(amr_of(&claims), ["pwd"]);
    assert_eq!(acr_of(&claims).as_deref(), Some("1"));
    assert_eq!(audited(&server, "device.new").await, 1);

    // Another browser is new.
    let other = Browser::new(&server.url("")).unwrap();
    let landing = other
        .walk(
            &start(&rp, &["profile"], &[]).url,
            Some(("ada", PASSWORD)),
            Consent::Allow,
        )
        .await
        .unwrap();
    assert!(is_factor_page(&landing), "{landing:?}");
}

#[tokio::test]
async fn new_device_rule_asks_new_browsers_only_sqlite() {
    new_device_rule_asks_new_browsers_only(TestServer::start().await).await;
}

#[tokio::test]
async fn new_device_rule_asks_new_browsers_only_postgres() {
    let Some(server) = TestServer::start_postgres().await else {
        return;
    };
    new_device_rule_asks_new_browsers_only(server).await;
}

/// A password-only sign-in where nothing more is asked completes at once
/// and makes the browser known (audited once).
#[tokio::test]
async fn password_only_sign_in_marks_the_browser_known() {
    let server = TestServer::start().await;
    user(&server, "ada").await;
    let (client_id, secret) = register(&server, json!({})).await;
    let rp = discover(&server, &client_id, &secret).await;
    let browser = Browser::new(&server.url("")).unwrap();
    claims_of(&rp, &browser, start(&rp, &["profile"], &[]), Some("ada")).await;
    assert_eq!(audited(&server, "device.new").await, 1);
    set_policy(
        &server,
        &org_policy(),
        json!({"second_factor": "new_device"}),
    )
    .await;
    let claims = claims_of(
        &rp,
        &browser,
        start(&rp, &["profile"], &[("prompt", "login")]),
        Some("ada"),
    )
    .await;
    assert_eq!(amr_of(&claims), ["pwd"]);
    assert_eq!(audited(&server, "device.new").await, 1);
}

/// `reauthenticate_after_minutes`: an older sign-in asks for the password
/// again (as `max_age` would), `prompt=none` gets `login_required`, a fresh
/// `auth_time` follows, and another account cannot take the request over.
/// A client's policy applies to that client only.
async fn reauthentication_interval(server: TestServer) {
    user(&server, "ada").await;
    user(&server, "bob").await;
    let (strict_id, strict_secret) = register(&server, json!({})).await;
    let strict = discover(&server, &strict_id, &strict_secret).await;
    let (lax_id, lax_secret) = register(&server, json!({})).await;
    let lax = discover(&server, &lax_id, &lax_secret).await;
    set_policy(
        &server,
        &client_policy(&strict_id),
        json!({"reauthenticate_after_minutes": 10}),
    )
    .await;
    let browser = Browser::new(&server.url("")).unwrap();
    let first = claims_of(
        &strict,
        &browser,
        start(&strict, &["profile"], &[]),
        Some("ada"),
    )
    .await;
    let signed_in = first.auth_time().unwrap().timestamp();

    server.clock.advance_secs(5 * 60);
    let claims = claims_of(&strict, &browser, start(&strict, &["profile"], &[]), None).await;
    assert_eq!(claims.auth_time().unwrap().timestamp(), signed_in);

    server.clock.advance_secs(6 * 60);
    // The other client has no such policy: single sign-on as before.
    let claims = claims_of(&lax, &browser, start(&lax, &["profile"], &[]), None).await;
    assert_eq!(claims.auth_time().unwrap().timestamp(), signed_in);
    // prompt=none cannot ask: login_required.
    let silent = start(&strict, &["profile"], &[("prompt", "none")]);
    let pairs = callback(
        &browser
            .walk(&silent.url, None, Consent::Allow)
            .await
            .unwrap(),
    );
    assert_eq!(param(&pairs, "error"), Some("login_required"));
    // The sign-in page again, for ada.
    let started = start(&strict, &["profile"], &[]);
    let landing = browser
        .walk(&started.url, None, Consent::Allow)
        .await
        .unwrap();
    assert!(is_login_page(&landing), "{landing:?}");
    let Landing::Page(_, html) = &landing else {
        unreachable!()
    };
    assert!(
        html.contains("value=\"ada\""),
        "the username is ada's: {html}"
    );
    // Bob cannot take ada's re-authentication over.
    let response = browser
        .fill(html, &[("username", "bob"), ("password", PASSWORD)])
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    // Ada can; auth_time is now.
    let claims = claims_of(&strict, &browser, started, Some("ada")).await;
    let now = server.clock.now_millis() / 1000;
    assert_eq!(claims.auth_time().unwrap().timestamp(), now);
    assert_eq!(
        claims.subject().as_str(),
        first.subject().as_str(),
        "the same user"
    );
}

#[tokio::test]
async fn reauthentication_interval_sqlite() {
    reauthentication_interval(TestServer::start().await).await;
}

#[tokio::test]
async fn reauthentication_interval_postgres() {
    let Some(server) = TestServer::start_postgres().await else {
        return;
    };
    reauthentication_interval(server).await;
}

/// An org policy's idle timeout and lifetime are the session's own (the
/// server's are 30 minutes idle and 10 hours).
async fn org_session_lifetime_and_idle(server: TestServer) {
    user(&server, "ada").await;
    set_policy(
        &server,
        &org_policy(),
        json!({"session_idle_minutes": 5, "session_lifetime_minutes": 20}),
    )
    .await;
    let (client_id, secret) = register(&server, json!({})).await;
    let rp = discover(&server, &client_id, &secret).await;
    let browser = Browser::new(&server.url("")).unwrap();
    claims_of(&rp, &browser, start(&rp, &["profile"], &[]), Some("ada")).await;
    // Active every four minutes: still signed in…
    for _ in 0..4 {
        server.clock.advance_secs(4 * 60);
        claims_of(&rp, &browser, start(&rp, &["profile"], &[]), None).await;
    }
    // …until the lifetime (20 minutes) is over.
    server.clock.advance_secs(4 * 60 + 1);
    let landing = browser
        .walk(&start(&rp, &["profile"], &[]).url, None, Consent::Allow)
        .await
        .unwrap();
    assert!(is_login_page(&landing), "past the lifetime: {landing:?}");
    claims_of(&rp, &browser, start(&rp, &["profile"], &[]), Some("ada")).await;
    // Six idle minutes end the new session.
    server.clock.advance_secs(6 * 60);
    let landing = browser
        .walk(&start(&rp, &["profile"], &[]).url, None, Consent::Allow)
        .await
        .unwrap();
    assert!(is_login_page(&landing), "idle too long: {landing:?}");
}

#[tokio::test]
async fn org_session_lifetime_and_idle_sqlite() {
    org_session_lifetime_and_idle(TestServer::start().await).await;
}

#[tokio::test]
async fn org_session_lifetime_and_idle_postgres() {
    let Some(server) = TestServer::start_postgres().await else {
        return;
    };
    org_session_lifetime_and_idle(server).await;
}

/// A client's shorter idle timeout or lifetime makes the session sign in
/// again for that client only; other clients keep using it.
#[tokio::test]
async fn app_session_lifetime_and_idle_apply_to_that_app() {
    let server = TestServer::start().await;
    user(&server, "ada").await;
    let (strict_id, strict_secret) = register(&server, json!({})).await;
    let strict = discover(&server, &strict_id, &strict_secret).await;
    let (lax_id, lax_secret) = register(&server, json!({})).await;
    let lax = discover(&server, &lax_id, &lax_secret).await;
    set_policy(
        &server,
        &client_policy(&strict_id),
        json!({"session_idle_minutes": 5, "session_lifetime_minutes": 20}),
    )
    .await;
    let browser = Browser::new(&server.url("")).unwrap();
    claims_of(
        &strict,
        &browser,
        start(&strict, &["profile"], &[]),
        Some("ada"),
    )
    .await;

    // Idle six minutes: too long for the strict client, not for the session.
    server.clock.advance_secs(6 * 60);
    let landing = browser
        .walk(&start(&strict, &["profile"], &[]).url, None, Consent::Allow)
        .await
        .unwrap();
    assert!(is_login_page(&landing), "idle too long for it: {landing:?}");
    // Asking did not count as activity: still too idle.
    let landing = browser
        .walk(&start(&strict, &["profile"], &[]).url, None, Consent::Allow)
        .await
        .unwrap();
    assert!(is_login_page(&landing), "{landing:?}");
    claims_of(&lax, &browser, start(&lax, &["profile"], &[]), None).await;

    // A new session for the strict client; kept active by the lax client,
    // it outlives the strict client's 20 minutes there only.
    claims_of(
        &strict,
        &browser,
        start(&strict, &["profile"], &[]),
        Some("ada"),
    )
    .await;
    for _ in 0..5 {
        server.clock.advance_secs(4 * 60 + 30);
        claims_of(&lax, &browser, start(&lax, &["profile"], &[]), None).await;
    }
    let landing = browser
        .walk(&start(&strict, &["profile"], &[]).url, None, Consent::Allow)
        .await
        .unwrap();
    assert!(
        is_login_page(&landing),
        "older than its lifetime: {landing:?}"
    );
}

/// A remembered device stands in for the policy's second factor, but the
/// factor was not performed: acr 1, no `mfa`; `acr_values=2` then asks for
/// a real one.
#[tokio::test]
async fn remembered_device_is_acr_1_and_acr_values_2_steps_up() {
    let server = TestServer::start().await;
    let ada = user(&server, "ada").await;
    let uri = active_totp(&server, ada["id"].as_str().unwrap()).await;
    set_policy(
        &server,
        &org_policy(),
        json!({"second_factor": "always", "remember_device_days": 30}),
    )
    .await;
    let (client_id, secret) = register(&server, json!({})).await;
    let rp = discover(&server, &client_id, &secret).await;
    let browser = Browser::new(&server.url("")).unwrap();
    let landing = browser
        .walk(
            &start(&rp, &["profile"], &[]).url,
            Some(("ada", PASSWORD)),
            Consent::Allow,
        )
        .await
        .unwrap();
    let Landing::Page(_, html) = &landing else {
        panic!("{landing:?}")
    };
    let response = browser
        .fill(
            html,
            &[("otp", &code_at(&server, &uri)), ("remember", "on")],
        )
        .await
        .unwrap();
    let landing = browser
        .follow(response, None, Consent::Allow)
        .await
        .unwrap();
    assert!(param(&callback(&landing), "code").is_some());

    server.clock.advance_secs(60);
    let claims = claims_of(
        &rp,
        &browser,
        start(&rp, &["profile"], &[("prompt", "login")]),
        Some("ada"),
    )
    .await;
    assert_eq!(acr_of(&claims).as_deref(), Some("1"));
    assert_eq!(amr_of(&claims), ["pwd"]);
    // The policy's requirement is met: single sign-on without a code.
    let claims = claims_of(&rp, &browser, start(&rp, &["profile"], &[]), None).await;
    assert_eq!(acr_of(&claims).as_deref(), Some("1"));
    // An explicit request for two factors performs one.
    let started = start(&rp, &["profile"], &[("acr_values", "2")]);
    let landing = browser
        .walk(&started.url, None, Consent::Allow)
        .await
        .unwrap();
    assert!(is_factor_page(&landing), "{landing:?}");
    let landing = submit_otp(&browser, &landing, &code_at(&server, &uri)).await;
    let code = param(&callback(&landing), "code").unwrap().to_owned();
    let claims = tokens_claims(&rp, &code, started).await;
    assert_eq!(acr_of(&claims).as_deref(), Some("2"));
    assert!(amr_of(&claims).contains(&"otp".to_owned()), "{claims:?}");
}

/// The new fields read back; values past their maxima are refused naming
/// the field.
#[tokio::test]
async fn session_fields_validate_and_read_back() {
    let server = TestServer::start().await;
    let path = org_policy();
    let policy = json!({
        "second_factor": "new_device",
        "reauthenticate_after_minutes": 60,
        "session_lifetime_minutes": 480,
        "session_idle_minutes": 15
    });
    set_policy(&server, &path, policy).await;
    let read = json(server.admin().get(&path).send().await.unwrap(), 200).await;
    assert_eq!(read["second_factor"], "new_device");
    assert_eq!(read["reauthenticate_after_minutes"], 60);
    assert_eq!(read["session_lifetime_minutes"], 480);
    assert_eq!(read["session_idle_minutes"], 15);
    for (field, value) in [
        ("reauthenticate_after_minutes", 90 * 24 * 60 + 1),
        ("session_lifetime_minutes", 90 * 24 * 60 + 1),
        ("session_idle_minutes", 30 * 24 * 60 + 1),
    ] {
        let response = server
            .admin()
            .put(&path)
            .json(&json!({ field: value }))
            .send()
            .await
            .unwrap();
        let body = problem(response, 422).await;
        assert_eq!(field_codes(&body), [format!("{field}:too_large")]);
    }
    let response = server
        .admin()
        .put(&path)
        .json(&json!({"session_idle_minutes": -1}))
        .send()
        .await
        .unwrap();
    problem(response, 422).await;
}
