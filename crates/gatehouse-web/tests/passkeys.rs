//! WebAuthn / passkeys through the real HTTP endpoints, with
//! `webauthn-authenticator-rs`'s software passkey as the independent
//! authenticator: registration on `/account/security`, the passkey as second
//! factor on `/login/factor` (acr/amr checked in the ID token by the
//! `openidconnect` relying party), username-less sign-in on `/login`,
//! replayed and foreign challenges, a signature counter going backwards,
//! and one ceremony finished twice at once.
//!
//! The test server's public URL is `http://127.0.0.1:<port>`; WebAuthn
//! there uses the RP id `localhost`, so the authenticator is told the page's
//! origin is `http://localhost:<port>` (what a browser opening the pages
//! under that name would say).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::rp::{PASSWORD, callback, discover, exchange, param, register, start, user};
use common::{empty, json};
use gatehouse_testkit::TestServer;
use gatehouse_testkit::browser::{Browser, Consent, Landing, hidden_fields};
use openidconnect::TokenResponse;
use serde_json::{Value, json};
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::prelude::{
    CreationChallengeResponse, RequestChallengeResponse, Url,
};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

fn origin(server: &TestServer) -> Url {
    Url::parse(&format!("http://localhost:{}", server.addr().port())).unwrap()
}

/// A software passkey that reports user verification (as a platform
/// authenticator with a PIN or biometric does).
fn authenticator() -> SoftPasskey {
    SoftPasskey::new(true)
}

fn field(html: &str, name: &str) -> String {
    hidden_fields(html)
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no hidden field {name} in {html}"))
}

/// The value of the last hidden field `name` (the WebAuthn form comes after
/// the others on a page).
fn last_field(html: &str, name: &str) -> String {
    hidden_fields(html)
        .into_iter()
        .rfind(|(n, _)| n == name)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no hidden field {name}"))
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

async fn text(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// A browser signed in as `username` (password only) on the security page.
async fn signed_in(server: &TestServer, username: &str) -> (Browser, String) {
    let browser = Browser::new(&server.url("")).unwrap();
    let landing = browser
        .walk(
            &server.url("/login?return_to=/account/security"),
            Some((username, PASSWORD)),
            Consent::Allow,
        )
        .await
        .unwrap();
    match landing {
        Landing::Page(200, html) if html.contains("Security</h1>") => (browser, html),
        other => panic!("expected the security page, got {other:?}"),
    }
}

/// A passkey registered on the security page: the registration answer's
/// credential id, the user handle (base64url) and the page after.
struct Registered {
    credential_id: String,
    user_handle: String,
    page: String,
}

async fn register_passkey(
    server: &TestServer,
    browser: &Browser,
    page: &str,
    key: &mut impl WebauthnAuthenticator,
    name: &str,
) -> Registered {
    let options = last_field(page, "webauthn_options");
    let ccr: CreationChallengeResponse = serde_json::from_str(&options).unwrap();
    let options_json: Value = serde_json::from_str(&options).unwrap();
    let user_handle = options_json["publicKey"]["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let answer = key.do_registration(origin(server), ccr).unwrap();
    let response = browser
        .post_form(
            "/account/security/passkey",
            &pairs(&[
                ("csrf", &field(page, "csrf")),
                ("webauthn_ceremony", &last_field(page, "webauthn_ceremony")),
                (
                    "webauthn_response",
                    &serde_json::to_string(&answer).unwrap(),
                ),
                ("name", name),
            ]),
        )
        .await
        .unwrap();
    let (status, html) = text(response).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Passkey added."), "{html}");
    Registered {
        credential_id: answer.id,
        user_handle,
        page: html,
    }
}

/// Answers request options (webauthn-rs JSON) with `key`. The software
/// passkey keeps no resident credentials, so for a discoverable request
/// the test names the credential (`allow`) and adds the user handle a
/// resident key would return.
fn assert_with(
    server: &TestServer,
    key: &mut impl WebauthnAuthenticator,
    options: &Value,
    allow: Option<&Registered>,
) -> String {
    let mut options = options.clone();
    if let Some(registered) = allow {
        options["publicKey"]["allowCredentials"] =
            json!([{"type": "public-key", "id": registered.credential_id}]);
    }
    let rcr: RequestChallengeResponse = serde_json::from_value(options).unwrap();
    let answer = key.do_authentication(origin(server), rcr).unwrap();
    let mut answer = serde_json::to_value(&answer).unwrap();
    if let Some(registered) = allow {
        answer["response"]["userHandle"] = json!(registered.user_handle);
    }
    answer.to_string()
}

fn amr_of(claims: &openidconnect::core::CoreIdTokenClaims) -> Vec<String> {
    claims
        .auth_method_refs()
        .map(|amr| amr.iter().map(|m| m.as_str().to_owned()).collect())
        .unwrap_or_default()
}

async fn audit_actions(server: &TestServer) -> Vec<(String, String)> {
    let query = gatehouse_core::model::AuditQuery {
        limit: 1000,
        ..Default::default()
    };
    server
        .services
        .store()
        .list_audit(&query)
        .await
        .unwrap()
        .items
        .iter()
        .map(|e| (e.action.clone(), e.outcome.as_str().to_owned()))
        .collect()
}

// ------------------------------------------------------------ registration

async fn passkey_registration(server: TestServer) {
    let ada = user(&server, "ada").await;
    let id = ada["id"].as_str().unwrap();
    let (browser, page) = signed_in(&server, "ada").await;
    assert!(page.contains("data-webauthn=\"create\""), "{page}");
    assert!(page.contains("<script src=\"/assets/webauthn.js\""));
    // A passkey is asked to be discoverable where the authenticator can,
    // so it can sign in without a username; user verification is required.
    let options: Value = serde_json::from_str(&last_field(&page, "webauthn_options")).unwrap();
    let selection = &options["publicKey"]["authenticatorSelection"];
    assert_eq!(selection["residentKey"], "preferred");
    assert_eq!(selection["userVerification"], "required");
    let mut key = authenticator();
    let registered = register_passkey(&server, &browser, &page, &mut key, "My key").await;
    assert!(
        registered.page.contains("Passkey or security key: My key"),
        "{}",
        registered.page
    );
    // The user handle is the user id (a UUID, no personal data).
    let handle = URL_SAFE_NO_PAD.decode(&registered.user_handle).unwrap();
    assert_eq!(uuid::Uuid::from_slice(&handle).unwrap().to_string(), id);

    // The admin API lists it as a `webauthn` factor.
    let list = json(
        server
            .admin()
            .get(&format!("/api/v1/users/{id}/factors"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(list["items"][0]["type"], "webauthn");
    assert_eq!(list["items"][0]["status"], "active");
    assert!(
        audit_actions(&server)
            .await
            .contains(&("factor.enrolled".into(), "success".into()))
    );

    // The same answer again: its ceremony is spent.
    let options = last_field(&page, "webauthn_options");
    let ccr: CreationChallengeResponse = serde_json::from_str(&options).unwrap();
    let mut other = authenticator();
    let answer = other.do_registration(origin(&server), ccr).unwrap();
    let replay = browser
        .post_form(
            "/account/security/passkey",
            &pairs(&[
                ("csrf", &field(&page, "csrf")),
                ("webauthn_ceremony", &last_field(&page, "webauthn_ceremony")),
                (
                    "webauthn_response",
                    &serde_json::to_string(&answer).unwrap(),
                ),
                ("name", "again"),
            ]),
        )
        .await
        .unwrap();
    let (status, html) = text(replay).await;
    assert_eq!(status, 400, "{html}");
    assert!(html.contains("not added"), "{html}");

    // Without the CSRF token nothing happens.
    let forged = browser
        .post_form(
            "/account/security/passkey",
            &pairs(&[("webauthn_ceremony", "x"), ("webauthn_response", "{}")]),
        )
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 403);

    // An admin deletes it like any factor.
    let factor = list["items"][0]["id"].as_str().unwrap();
    empty(
        server
            .admin()
            .delete(&format!("/api/v1/users/{id}/factors/{factor}"))
            .send()
            .await
            .unwrap(),
        204,
    )
    .await;
    let list = json(
        server
            .admin()
            .get(&format!("/api/v1/users/{id}/factors"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(list["items"], json!([]));
}

#[tokio::test]
async fn passkey_registration_sqlite() {
    passkey_registration(TestServer::start().await).await;
}

#[tokio::test]
async fn passkey_registration_postgres() {
    let Some(server) = TestServer::start_postgres().await else {
        return;
    };
    passkey_registration(server).await;
}

// ------------------------------------------------------------ second factor

async fn passkey_as_second_factor(server: TestServer) {
    user(&server, "ada").await;
    let (browser, page) = signed_in(&server, "ada").await;
    let mut key = authenticator();
    register_passkey(&server, &browser, &page, &mut key, "YubiKey").await;

    let (client_id, secret) = register(&server, json!({})).await;
    let response = server
        .admin()
        .put(&format!("/api/v1/clients/{client_id}/signon-policy"))
        .json(&json!({"second_factor": "always"}))
        .send()
        .await
        .unwrap();
    json(response, 200).await;
    let rp = discover(&server, &client_id, &secret).await;
    let fresh = Browser::new(&server.url("")).unwrap();
    let started = start(&rp, &["profile"], &[]);
    let page = match fresh
        .walk(&started.url, Some(("ada", PASSWORD)), Consent::Allow)
        .await
        .unwrap()
    {
        Landing::Page(200, html) if html.contains("data-webauthn=\"get\"") => html,
        other => panic!("expected the second-factor page with a passkey form, got {other:?}"),
    };
    let options: Value = serde_json::from_str(&last_field(&page, "webauthn_options")).unwrap();
    let answer = assert_with(&server, &mut key, &options, None);
    let mut form = hidden_fields(&page);
    form.retain(|(n, _)| n != "webauthn_response");
    form.push(("webauthn_response".into(), answer));
    let response = fresh.post_form("/login/factor", &form).await.unwrap();
    let landing = fresh.follow(response, None, Consent::Allow).await.unwrap();
    let code = param(&callback(&landing), "code").unwrap().to_owned();
    let tokens = exchange(&rp, &code, started.verifier).await;
    let claims = tokens
        .id_token()
        .unwrap()
        .claims(&rp.id_token_verifier(), &started.nonce)
        .unwrap()
        .clone();
    assert_eq!(claims.auth_context_ref().map(|a| a.as_str()), Some("2"));
    // The soft passkey is not backup-eligible: a device-bound key.
    assert_eq!(amr_of(&claims), ["pwd", "hwk", "user"]);
}

#[tokio::test]
async fn passkey_as_second_factor_sqlite() {
    passkey_as_second_factor(TestServer::start().await).await;
}

#[tokio::test]
async fn passkey_as_second_factor_postgres() {
    let Some(server) = TestServer::start_postgres().await else {
        return;
    };
    passkey_as_second_factor(server).await;
}

/// An answer to another sign-in's challenge is refused (and counted as a
/// failed second factor); the right answer then completes the sign-in.
#[tokio::test]
async fn foreign_challenge_is_refused_on_the_factor_page() {
    let server = TestServer::start().await;
    user(&server, "ada").await;
    let (browser, page) = signed_in(&server, "ada").await;
    let mut key = authenticator();
    register_passkey(&server, &browser, &page, &mut key, "YubiKey").await;
    let (client_id, secret) = register(&server, json!({})).await;
    json(
        server
            .admin()
            .put(&format!("/api/v1/clients/{client_id}/signon-policy"))
            .json(&json!({"second_factor": "always"}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let rp = discover(&server, &client_id, &secret).await;
    let mut pages = Vec::new();
    let mut starts = Vec::new();
    for _ in 0..2 {
        let b = Browser::new(&server.url("")).unwrap();
        let started = start(&rp, &["profile"], &[]);
        let page = match b
            .walk(&started.url, Some(("ada", PASSWORD)), Consent::Allow)
            .await
            .unwrap()
        {
            Landing::Page(200, html) if html.contains("data-webauthn=\"get\"") => html,
            other => panic!("expected the second-factor page, got {other:?}"),
        };
        pages.push((b, page));
        starts.push(started);
    }
    let (first, first_page) = &pages[0];
    let (_, second_page) = &pages[1];
    let options: Value =
        serde_json::from_str(&last_field(second_page, "webauthn_options")).unwrap();
    let foreign = assert_with(&server, &mut key, &options, None);
    let mut form = hidden_fields(first_page);
    form.retain(|(n, _)| n != "webauthn_response");
    form.push(("webauthn_response".into(), foreign));
    let (status, html) = text(first.post_form("/login/factor", &form).await.unwrap()).await;
    assert_eq!(status, 200);
    assert!(html.contains("role=\"alert\""), "{html}");
    let actions = audit_actions(&server).await;
    assert!(
        actions.contains(&("user.second_factor.verify".into(), "failure".into())),
        "the throttle counted it: {actions:?}"
    );

    // The fresh page's own ceremony works.
    let options: Value = serde_json::from_str(&last_field(&html, "webauthn_options")).unwrap();
    let answer = assert_with(&server, &mut key, &options, None);
    let mut form = hidden_fields(&html);
    form.retain(|(n, _)| n != "webauthn_response");
    form.push(("webauthn_response".into(), answer));
    let response = first.post_form("/login/factor", &form).await.unwrap();
    let landing = first.follow(response, None, Consent::Allow).await.unwrap();
    assert!(param(&callback(&landing), "code").is_some());
}

// ------------------------------------------------------------ username-less

/// A new discoverable ceremony from the sign-in page's endpoint.
async fn discoverable_options(browser: &Browser, server: &TestServer) -> (String, Value) {
    let response = browser
        .client()
        .post(server.url("/login/passkey"))
        .send()
        .await
        .unwrap();
    let body = json(response, 200).await;
    assert_eq!(body["options"]["mediation"], "conditional");
    (
        body["ceremony"].as_str().unwrap().to_owned(),
        body["options"].clone(),
    )
}

/// The sign-in page of an authorization request (for its CSRF token and
/// request handle).
async fn login_page(browser: &Browser, url: &str) -> String {
    match browser.walk(url, None, Consent::Allow).await.unwrap() {
        Landing::Page(200, html) if html.contains("name=\"password\"") => html,
        other => panic!("expected the sign-in page, got {other:?}"),
    }
}

fn login_form(page: &str, ceremony: &str, answer: &str) -> Vec<(String, String)> {
    let mut form: Vec<(String, String)> = hidden_fields(page)
        .into_iter()
        .filter(|(n, _)| n == "csrf" || n == "request")
        .collect();
    form.dedup();
    form.push(("webauthn_ceremony".into(), ceremony.to_owned()));
    form.push(("webauthn_response".into(), answer.to_owned()));
    form
}

async fn usernameless_sign_in(server: TestServer) {
    user(&server, "ada").await;
    let (browser, page) = signed_in(&server, "ada").await;
    let mut key = authenticator();
    let registered = register_passkey(&server, &browser, &page, &mut key, "Laptop").await;

    let (client_id, secret) = register(&server, json!({})).await;
    let rp = discover(&server, &client_id, &secret).await;
    let fresh = Browser::new(&server.url("")).unwrap();
    let started = start(&rp, &["profile"], &[]);
    let page = login_page(&fresh, &started.url).await;
    assert!(
        page.contains("autocomplete=\"username webauthn\""),
        "{page}"
    );
    assert!(page.contains("data-webauthn-conditional"), "{page}");
    let (ceremony, options) = discoverable_options(&fresh, &server).await;
    let answer = assert_with(&server, &mut key, &options, Some(&registered));
    let form = login_form(&page, &ceremony, &answer);
    let response = fresh.post_form("/login", &form).await.unwrap();
    let landing = fresh.follow(response, None, Consent::Allow).await.unwrap();
    let code = param(&callback(&landing), "code").unwrap().to_owned();
    let tokens = exchange(&rp, &code, started.verifier).await;
    let claims = tokens
        .id_token()
        .unwrap()
        .claims(&rp.id_token_verifier(), &started.nonce)
        .unwrap()
        .clone();
    assert_eq!(claims.subject().as_str().len(), 36);
    assert_eq!(claims.auth_context_ref().map(|a| a.as_str()), Some("2"));
    assert_eq!(amr_of(&claims), ["hwk", "user", "mfa"]);

    // The same ceremony and answer again (a replay): refused.
    let again = Browser::new(&server.url("")).unwrap();
    let started = start(&rp, &["profile"], &[]);
    let page = login_page(&again, &started.url).await;
    let mut form = login_form(&page, &ceremony, &answer);
    form.retain(|(n, _)| n != "csrf");
    form.push(("csrf".into(), field(&page, "csrf")));
    let (status, html) = text(again.post_form("/login", &form).await.unwrap()).await;
    assert_eq!(status, 200);
    assert!(html.contains("That passkey was not accepted"), "{html}");
}

#[tokio::test]
async fn usernameless_sign_in_sqlite() {
    usernameless_sign_in(TestServer::start().await).await;
}

#[tokio::test]
async fn usernameless_sign_in_postgres() {
    let Some(server) = TestServer::start_postgres().await else {
        return;
    };
    usernameless_sign_in(server).await;
}

/// Anyone may open a username-less ceremony, and each is a row: one client
/// IP gets a minute's allowance, then 429 with `Retry-After`.
#[tokio::test]
async fn usernameless_ceremonies_are_limited_per_source() {
    use gatehouse_core::services::passkeys::DISCOVERABLE_PER_MINUTE;
    let server = TestServer::start().await;
    let browser = Browser::new(&server.url("")).unwrap();
    for _ in 0..DISCOVERABLE_PER_MINUTE {
        discoverable_options(&browser, &server).await;
    }
    let response = browser
        .client()
        .post(server.url("/login/passkey"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    // The next minute: allowed again.
    server.clock.advance_secs(i64::try_from(wait).unwrap());
    discoverable_options(&browser, &server).await;
}

/// Refused username-less answers count on the client IP's counter (there
/// is no account to count them on): past the free failures the source is
/// slowed down with 429 and `Retry-After`, without a look at the answer,
/// while password sign-ins from it go on (their counters are separate) and
/// no account is locked.
#[tokio::test]
async fn refused_usernameless_answers_slow_their_source_down() {
    let server = TestServer::start().await;
    user(&server, "ada").await;
    let free = server.services.throttle.policy().ip.free_failures;
    let browser = Browser::new(&server.url("")).unwrap();
    let page = login_page(&browser, &server.url("/login")).await;
    let form = login_form(&page, "no-such-ceremony", r#"{"id": "x"}"#);
    for _ in 0..free {
        let (status, html) = text(browser.post_form("/login", &form).await.unwrap()).await;
        assert_eq!(status, 200);
        assert!(html.contains("That passkey was not accepted"), "{html}");
    }
    // The failure past the free ones starts a delay: the next is refused unchecked.
    let (status, _) = text(browser.post_form("/login", &form).await.unwrap()).await;
    assert_eq!(status, 200);
    let response = browser.post_form("/login", &form).await.unwrap();
    assert_eq!(response.status().as_u16(), 429);
    assert!(response.headers().contains_key("retry-after"));
    let actions = audit_actions(&server).await;
    assert!(
        actions.contains(&("user.sign_in.throttled".into(), "failure".into())),
        "{actions:?}"
    );
    assert!(
        !actions.iter().any(|(a, _)| a == "user.sign_in.locked"),
        "{actions:?}"
    );

    // A password sign-in from the same source is not held up.
    let (_, html) = signed_in(&server, "ada").await;
    assert!(html.contains("Security</h1>"));
}

/// Two assertions made in order, presented in the opposite order: the
/// older one carries a lower signature counter and is refused as a
/// possibly cloned key, and audited as such.
#[tokio::test]
async fn counter_regression_is_refused_and_audited() {
    let server = TestServer::start().await;
    user(&server, "ada").await;
    let (browser, page) = signed_in(&server, "ada").await;
    let mut key = authenticator();
    let registered = register_passkey(&server, &browser, &page, &mut key, "Laptop").await;

    let fresh = Browser::new(&server.url("")).unwrap();
    let page = login_page(&fresh, &server.url("/login")).await;
    let (older, older_options) = discoverable_options(&fresh, &server).await;
    let (newer, newer_options) = discoverable_options(&fresh, &server).await;
    let older_answer = assert_with(&server, &mut key, &older_options, Some(&registered));
    let newer_answer = assert_with(&server, &mut key, &newer_options, Some(&registered));

    let (status, html) = text(
        fresh
            .post_form("/login", &login_form(&page, &newer, &newer_answer))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(html.contains("You are signed in as ada"), "{html}");

    let other = Browser::new(&server.url("")).unwrap();
    let page = login_page(&other, &server.url("/login")).await;
    let (status, html) = text(
        other
            .post_form("/login", &login_form(&page, &older, &older_answer))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(html.contains("That passkey was not accepted"), "{html}");
    let actions = audit_actions(&server).await;
    assert!(
        actions.contains(&("webauthn.counter_regressed".into(), "failure".into())),
        "{actions:?}"
    );
}

/// One ceremony finished twice at the same moment: exactly one sign-in.
#[tokio::test]
async fn concurrent_finish_of_one_ceremony_signs_in_once() {
    let server = TestServer::start().await;
    user(&server, "ada").await;
    let (browser, page) = signed_in(&server, "ada").await;
    let mut key = authenticator();
    let registered = register_passkey(&server, &browser, &page, &mut key, "Laptop").await;

    let fresh = Browser::new(&server.url("")).unwrap();
    let page = login_page(&fresh, &server.url("/login")).await;
    let (ceremony, options) = discoverable_options(&fresh, &server).await;
    let answer = assert_with(&server, &mut key, &options, Some(&registered));
    let form = login_form(&page, &ceremony, &answer);
    let (a, b) = tokio::join!(
        fresh.post_form("/login", &form),
        fresh.post_form("/login", &form)
    );
    let mut signed_in = 0;
    for response in [a.unwrap(), b.unwrap()] {
        let (status, html) = text(response).await;
        assert_eq!(status, 200);
        if html.contains("You are signed in as ada") {
            signed_in += 1;
        } else {
            assert!(html.contains("That passkey was not accepted"), "{html}");
        }
    }
    assert_eq!(signed_in, 1);
}

// ------------------------------------------------------------ the pages

/// The script is a static asset under the pages' CSP; no inline script.
#[tokio::test]
async fn webauthn_script_is_served_under_the_csp() {
    let server = TestServer::start().await;
    let response = server
        .client()
        .get(server.url("/assets/webauthn.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let body = response.text().await.unwrap();
    assert!(body.contains("navigator.credentials"));

    let response = server
        .client()
        .get(server.url("/login"))
        .send()
        .await
        .unwrap();
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let script_src: Vec<&str> = csp
        .split(';')
        .map(str::trim)
        .filter(|d| d.starts_with("script-src"))
        .collect();
    assert_eq!(script_src, ["script-src 'self'"], "{csp}");
    let html = response.text().await.unwrap();
    assert_eq!(
        html.matches("<script").count(),
        html.matches("<script src=\"/assets/webauthn.js\"").count(),
        "only the static script: {html}"
    );
}

/// Removing a factor on the security page needs the password once the
/// sign-in is no longer recent; TOTP can be added there too.
#[tokio::test]
async fn security_page_adds_totp_and_removes_with_the_password() {
    let server = TestServer::start().await;
    user(&server, "ada").await;
    let (browser, page) = signed_in(&server, "ada").await;
    let response = browser
        .post_form(
            "/account/security/totp",
            &pairs(&[("csrf", &field(&page, "csrf"))]),
        )
        .await
        .unwrap();
    let (status, totp_page) = text(response).await;
    assert_eq!(status, 200, "{totp_page}");
    assert!(totp_page.contains("<svg"), "a QR code");
    let secret = totp_page
        .split("<code class=\"secret\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap()
        .to_owned();
    let bytes = totp_rs::Secret::try_from_base32(&secret).unwrap();
    let totp = totp_rs::Builder::new()
        .with_secret(bytes.as_bytes().to_vec())
        .build()
        .unwrap();
    let now = gatehouse_core::clock::Clock::now_millis(&server.clock) / 1000;
    let code = totp.generate(u64::try_from(now).unwrap()).to_string();
    let response = browser
        .post_form(
            "/account/security/totp/activate",
            &pairs(&[
                ("csrf", &field(&totp_page, "csrf")),
                ("factor", &field(&totp_page, "factor")),
                ("otp", &code),
            ]),
        )
        .await
        .unwrap();
    let (status, codes) = text(response).await;
    assert_eq!(status, 200, "{codes}");
    assert!(codes.contains("recovery codes"), "{codes}");

    // Ten minutes later the password is asked for.
    server.clock.advance_secs(600);
    let (status, page) = text(
        browser
            .client()
            .get(server.url("/account/security"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(page.contains("Authenticator app"), "{page}");
    assert!(page.contains("name=\"password\""), "{page}");
    let factor = page
        .split("name=\"factor\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    let csrf = field(&page, "csrf");
    let (status, _) = text(
        browser
            .post_form(
                "/account/security/remove",
                &pairs(&[("csrf", &csrf), ("factor", &factor), ("password", "wrong")]),
            )
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 403);
    let (status, html) = text(
        browser
            .post_form(
                "/account/security/remove",
                &pairs(&[("csrf", &csrf), ("factor", &factor), ("password", PASSWORD)]),
            )
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Factor removed."), "{html}");
    assert!(html.contains("You have no second factor yet."), "{html}");

    // Signed out: the page sends the browser to sign in.
    let anonymous = Browser::new(&server.url("")).unwrap();
    let response = anonymous
        .client()
        .get(server.url("/account/security"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 302);
    assert_eq!(
        response.headers()["location"],
        "/login?return_to=/account/security"
    );
}

/// A user the policy asks for a factor but who has none can register a
/// passkey on the enrolment page at sign-in instead of an app; the
/// sign-in completes with it and the recovery codes are shown once.
#[tokio::test]
async fn passkey_enrolment_at_sign_in() {
    let server = TestServer::start().await;
    user(&server, "ada").await;
    let (client_id, secret) = register(&server, json!({})).await;
    json(
        server
            .admin()
            .put(&format!("/api/v1/clients/{client_id}/signon-policy"))
            .json(&json!({"second_factor": "always"}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let rp = discover(&server, &client_id, &secret).await;
    let browser = Browser::new(&server.url("")).unwrap();
    let started = start(&rp, &["profile"], &[]);
    let page = match browser
        .walk(&started.url, Some(("ada", PASSWORD)), Consent::Allow)
        .await
        .unwrap()
    {
        Landing::Page(200, html) if html.contains("data-webauthn=\"create\"") => html,
        other => panic!("expected the enrolment page with a passkey form, got {other:?}"),
    };
    assert!(page.contains("<svg"), "the app is still offered");
    let options = last_field(&page, "webauthn_options");
    let ccr: CreationChallengeResponse = serde_json::from_str(&options).unwrap();
    let mut key = authenticator();
    let answer = key.do_registration(origin(&server), ccr).unwrap();
    let mut form = hidden_fields(&page);
    form.retain(|(n, _)| n != "webauthn_response");
    form.push((
        "webauthn_response".into(),
        serde_json::to_string(&answer).unwrap(),
    ));
    let response = browser.post_form("/login/factor", &form).await.unwrap();
    let (status, html) = text(response).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Save your recovery codes"), "{html}");
    let next = html
        .split("<a href=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .replace("&#x2f;", "/")
        .replace("&#x2F;", "/")
        .replace("&amp;", "&");
    let landing = if next.starts_with('/') {
        browser
            .walk(&server.url(&next), None, Consent::Allow)
            .await
            .unwrap()
    } else {
        Landing::Client(next)
    };
    let code = param(&callback(&landing), "code").unwrap().to_owned();
    let tokens = exchange(&rp, &code, started.verifier).await;
    let claims = tokens
        .id_token()
        .unwrap()
        .claims(&rp.id_token_verifier(), &started.nonce)
        .unwrap()
        .clone();
    assert_eq!(claims.auth_context_ref().map(|a| a.as_str()), Some("2"));
    assert_eq!(amr_of(&claims), ["pwd", "hwk", "user"]);
}

/// An org whose policy demands attestation admits only keys whose
/// certificate chain leads to a trusted root and whose model is listed.
#[tokio::test]
async fn attestation_policy_admits_only_attested_models() {
    use crypto_glue::traits::{EncodePem, LineEndingPem};
    use webauthn_authenticator_rs::softtoken::{AAGUID, SoftToken};

    let server = TestServer::start().await;
    user(&server, "ada").await;
    let path = "/api/v1/orgs/00000000-0000-7000-8000-000000000001/signon-policy";
    // Attestation without roots or models is refused.
    let response = server
        .admin()
        .put(path)
        .json(&json!({"webauthn_attestation": "direct"}))
        .send()
        .await
        .unwrap();
    let problem = common::problem(response, 422).await;
    assert!(
        problem.to_string().contains("webauthn_attestation_cas"),
        "{problem}"
    );

    let (mut token, root) = SoftToken::new(true).unwrap();
    let pem = root.to_pem(LineEndingPem::LF).unwrap();
    json(
        server
            .admin()
            .put(path)
            .json(&json!({
                "webauthn_attestation": "direct",
                "webauthn_attestation_cas": [pem],
                "webauthn_aaguids": [AAGUID.to_string()],
            }))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let (browser, page) = signed_in(&server, "ada").await;

    // A key without a trusted attestation: refused.
    let options = last_field(&page, "webauthn_options");
    let ccr: CreationChallengeResponse = serde_json::from_str(&options).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&options).unwrap()["publicKey"]["attestation"],
        "direct"
    );
    let mut untrusted = authenticator();
    let answer = untrusted.do_registration(origin(&server), ccr).unwrap();
    let response = browser
        .post_form(
            "/account/security/passkey",
            &pairs(&[
                ("csrf", &field(&page, "csrf")),
                ("webauthn_ceremony", &last_field(&page, "webauthn_ceremony")),
                (
                    "webauthn_response",
                    &serde_json::to_string(&answer).unwrap(),
                ),
                ("name", "untrusted"),
            ]),
        )
        .await
        .unwrap();
    let (status, page) = text(response).await;
    assert_eq!(status, 400, "{page}");

    // The attested soft token: admitted.
    let registered = register_passkey(&server, &browser, &page, &mut token, "Token").await;
    assert!(registered.page.contains("Passkey or security key: Token"));

    // A trusted root but a model not on the list: refused.
    let (mut other, other_root) = SoftToken::new(true).unwrap();
    json(
        server
            .admin()
            .put(path)
            .json(&json!({
                "webauthn_attestation": "direct",
                "webauthn_attestation_cas": [other_root.to_pem(LineEndingPem::LF).unwrap()],
                "webauthn_aaguids": ["6d44ba9b-f6ec-2e49-b930-0c8fe920cb73"],
            }))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let (_, page) = text(
        browser
            .client()
            .get(server.url("/account/security"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let ccr: CreationChallengeResponse =
        serde_json::from_str(&last_field(&page, "webauthn_options")).unwrap();
    let answer = other.do_registration(origin(&server), ccr).unwrap();
    let response = browser
        .post_form(
            "/account/security/passkey",
            &pairs(&[
                ("csrf", &field(&page, "csrf")),
                ("webauthn_ceremony", &last_field(&page, "webauthn_ceremony")),
                (
                    "webauthn_response",
                    &serde_json::to_string(&answer).unwrap(),
                ),
                ("name", "other model"),
            ]),
        )
        .await
        .unwrap();
    let (status, html) = text(response).await;
    assert_eq!(status, 400, "{html}");
}

// ------------------------------------------------------------ security keys

async fn get_page(server: &TestServer, browser: &Browser, path: &str) -> String {
    let (status, html) = text(browser.client().get(server.url(path)).send().await.unwrap()).await;
    assert_eq!(status, 200, "{html}");
    html
}

/// Puts the second factor on every sign-in of the default org.
async fn always_second_factor(server: &TestServer, extra: Value) {
    let mut policy = json!({"second_factor": "always"});
    if let (Some(policy), Some(extra)) = (policy.as_object_mut(), extra.as_object()) {
        policy.extend(extra.clone());
    }
    json(
        server
            .admin()
            .put("/api/v1/orgs/00000000-0000-7000-8000-000000000001/signon-policy")
            .json(&policy)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
}

/// A fresh browser's sign-in with the password up to the factor page.
async fn factor_page(server: &TestServer, username: &str) -> (Browser, String) {
    let browser = Browser::new(&server.url("")).unwrap();
    let landing = browser
        .walk(
            &server.url("/login?return_to=/account/security"),
            Some((username, PASSWORD)),
            Consent::Allow,
        )
        .await
        .unwrap();
    match landing {
        Landing::Page(200, html) if html.contains("data-webauthn=\"get\"") => (browser, html),
        other => panic!("expected the second-factor page with a key form, got {other:?}"),
    }
}

/// Posts `answer` on the factor page: `true` when it signed in.
async fn answer_factor(browser: &Browser, page: &str, answer: String) -> bool {
    let mut form = hidden_fields(page);
    form.retain(|(n, _)| n != "webauthn_response");
    form.push(("webauthn_response".into(), answer));
    let response = browser.post_form("/login/factor", &form).await.unwrap();
    match browser
        .follow(response, None, Consent::Allow)
        .await
        .unwrap()
    {
        Landing::Page(200, html) => html.contains("Security</h1>"),
        _ => false,
    }
}

/// A key that tests only the user's presence (no PIN: what U2F-era keys
/// and FIDO2 keys without a PIN can do) registers as a security key — not
/// as a passkey, which must verify the user — and then serves as the
/// second factor.
#[tokio::test]
async fn presence_only_security_key_registers_and_serves_as_second_factor() {
    use webauthn_authenticator_rs::softtoken::SoftToken;

    let server = TestServer::start().await;
    user(&server, "ada").await;
    let (browser, _) = signed_in(&server, "ada").await;
    let page = get_page(&server, &browser, "/account/security?key=security").await;
    assert!(page.contains("Add a security key"), "{page}");
    let options: Value = serde_json::from_str(&last_field(&page, "webauthn_options")).unwrap();
    assert_eq!(
        options["publicKey"]["authenticatorSelection"]["userVerification"],
        "preferred"
    );
    // `SoftToken::new(false)` refuses to claim user verification.
    let (mut key, _) = SoftToken::new(false).unwrap();
    let registered = register_passkey(&server, &browser, &page, &mut key, "Old key").await;
    assert!(registered.page.contains("Old key"), "{}", registered.page);

    // The same key cannot answer a passkey registration (verification required).
    let (mut other, _) = SoftToken::new(false).unwrap();
    let passkey_page = get_page(&server, &browser, "/account/security").await;
    let ccr: CreationChallengeResponse =
        serde_json::from_str(&last_field(&passkey_page, "webauthn_options")).unwrap();
    assert!(other.do_registration(origin(&server), ccr).is_err());

    always_second_factor(&server, json!({})).await;
    let (fresh, page) = factor_page(&server, "ada").await;
    let options: Value = serde_json::from_str(&last_field(&page, "webauthn_options")).unwrap();
    assert_eq!(options["publicKey"]["userVerification"], "preferred");
    assert!(options["publicKey"]["extensions"]["appid"].is_null());
    let answer = assert_with(&server, &mut key, &options, None);
    assert!(answer_factor(&fresh, &page, answer).await);
}

/// A U2F registration from an earlier system: key handle and public key.
struct U2fKey {
    pair: aws_lc_rs::signature::EcdsaKeyPair,
    handle: Vec<u8>,
}

impl U2fKey {
    fn new() -> Self {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).unwrap();
        let mut handle = vec![0u8; 64];
        aws_lc_rs::rand::fill(&mut handle).unwrap();
        Self { pair, handle }
    }

    fn import_body(&self, counter: u32) -> Value {
        use aws_lc_rs::signature::KeyPair as _;
        json!({
            "name": "U2F key",
            "key_handle": URL_SAFE_NO_PAD.encode(&self.handle),
            "public_key": URL_SAFE_NO_PAD.encode(self.pair.public_key().as_ref()),
            "counter": counter,
        })
    }

    /// What a browser returns when the key answers `options` as a U2F
    /// device registered under `appid`: authenticator data over the
    /// AppID's hash (presence only), the raw U2F signature, and the
    /// client's report whether it used the extension.
    fn answer(
        &self,
        server: &TestServer,
        options: &Value,
        appid: &str,
        used: bool,
        counter: u32,
    ) -> String {
        let sha256 = |data: &[u8]| aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
        let client_data = json!({
            "type": "webauthn.get",
            "challenge": options["publicKey"]["challenge"],
            "origin": origin(server).as_str().trim_end_matches('/'),
            "crossOrigin": false,
        })
        .to_string();
        let mut authenticator_data = sha256(appid.as_bytes()).as_ref().to_vec();
        authenticator_data.push(0x01);
        authenticator_data.extend_from_slice(&counter.to_be_bytes());
        let mut signed = authenticator_data.clone();
        signed.extend_from_slice(sha256(client_data.as_bytes()).as_ref());
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let signature = self.pair.sign(&rng, &signed).unwrap();
        let id = URL_SAFE_NO_PAD.encode(&self.handle);
        json!({
            "id": id,
            "rawId": id,
            "type": "public-key",
            "response": {
                "authenticatorData": URL_SAFE_NO_PAD.encode(&authenticator_data),
                "clientDataJSON": URL_SAFE_NO_PAD.encode(client_data.as_bytes()),
                "signature": URL_SAFE_NO_PAD.encode(signature.as_ref()),
                "userHandle": null,
            },
            "extensions": {"appid": used},
        })
        .to_string()
    }
}

/// A key registered through the legacy U2F API elsewhere is imported with
/// its key handle and public key; with the org's legacy AppID set, the
/// second factor asks for the `appid` extension and accepts the key's
/// signature over the AppID's hash — and only when the client says it used
/// the extension.
#[tokio::test]
async fn imported_u2f_key_signs_in_through_the_appid_extension() {
    const APPID: &str = "https://localhost/u2f-app-id.json";
    let server = TestServer::start().await;
    let ada = user(&server, "ada").await;
    let id = ada["id"].as_str().unwrap();
    let key = U2fKey::new();
    let path = format!("/api/v1/users/{id}/factors/u2f");

    // Malformed imports are refused, naming the field.
    let mut bad = key.import_body(0);
    bad["public_key"] = json!(URL_SAFE_NO_PAD.encode([4u8; 65]));
    let problem = common::problem(
        server.admin().post(&path).json(&bad).send().await.unwrap(),
        422,
    )
    .await;
    assert!(problem.to_string().contains("public_key"), "{problem}");
    let mut bad = key.import_body(0);
    bad["key_handle"] = json!("");
    let problem = common::problem(
        server.admin().post(&path).json(&bad).send().await.unwrap(),
        422,
    )
    .await;
    assert!(problem.to_string().contains("key_handle"), "{problem}");

    let factor = json(
        server
            .admin()
            .post(&path)
            .json(&key.import_body(7))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    assert_eq!(factor["type"], "webauthn");
    assert_eq!(factor["status"], "active");
    // The same key handle twice: refused.
    common::problem(
        server
            .admin()
            .post(&path)
            .json(&key.import_body(7))
            .send()
            .await
            .unwrap(),
        422,
    )
    .await;

    // An AppID must be an https URL.
    let response = server
        .admin()
        .put("/api/v1/orgs/00000000-0000-7000-8000-000000000001/signon-policy")
        .json(&json!({"webauthn_legacy_appid": "ftp://example.com"}))
        .send()
        .await
        .unwrap();
    let problem = common::problem(response, 422).await;
    assert!(
        problem.to_string().contains("webauthn_legacy_appid"),
        "{problem}"
    );
    always_second_factor(&server, json!({"webauthn_legacy_appid": APPID})).await;

    // The client did not use the extension: the AppID's hash is refused.
    let (browser, page) = factor_page(&server, "ada").await;
    let options: Value = serde_json::from_str(&last_field(&page, "webauthn_options")).unwrap();
    assert_eq!(options["publicKey"]["extensions"]["appid"], APPID);
    let answer = key.answer(&server, &options, APPID, false, 8);
    assert!(!answer_factor(&browser, &page, answer).await);

    // Signed over another AppID: refused.
    let (browser, page) = factor_page(&server, "ada").await;
    let options: Value = serde_json::from_str(&last_field(&page, "webauthn_options")).unwrap();
    let answer = key.answer(&server, &options, "https://elsewhere.example/app", true, 9);
    assert!(!answer_factor(&browser, &page, answer).await);

    // A counter at or below the imported one: refused as a possible clone.
    let (browser, page) = factor_page(&server, "ada").await;
    let options: Value = serde_json::from_str(&last_field(&page, "webauthn_options")).unwrap();
    let answer = key.answer(&server, &options, APPID, true, 7);
    assert!(!answer_factor(&browser, &page, answer).await);

    // The extension used, the AppID's hash, a counter that advanced: signed in.
    let (browser, page) = factor_page(&server, "ada").await;
    let options: Value = serde_json::from_str(&last_field(&page, "webauthn_options")).unwrap();
    let answer = key.answer(&server, &options, APPID, true, 10);
    assert!(answer_factor(&browser, &page, answer).await);

    // Registrations ask browsers to refuse keys registered under the AppID
    // (`appidExclude`), so an imported key is not registered twice.
    let page = get_page(&server, &browser, "/account/security").await;
    let options: Value = serde_json::from_str(&last_field(&page, "webauthn_options")).unwrap();
    assert_eq!(options["publicKey"]["extensions"]["appidExclude"], APPID);

    let actions = audit_actions(&server).await;
    assert!(
        actions.contains(&("factor.enrolled".into(), "success".into())),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("webauthn.counter_regressed".into(), "failure".into())),
        "{actions:?}"
    );
}
