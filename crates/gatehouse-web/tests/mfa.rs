//! Multifactor authentication through the real HTTP endpoints: TOTP enrolment
//! and activation in the admin API exactly as INTERFACE.md fixes them, the
//! second-factor page at sign-in, enrolment at sign-in, recovery codes,
//! sign-on policies per org and per client, step-up with `acr_values=2`
//! checked by the `openidconnect` relying party, remembered devices, and
//! single use of every code under concurrent submission.
//!
//! TOTP codes come from `totp-rs` computed independently from the secret in
//! the `otpauth://` URI, at the server's fake-clock time.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::rp::{PASSWORD, callback, discover, exchange, param, register, start, user};
use common::{empty, json, problem};
use gatehouse_core::clock::Clock;
use gatehouse_testkit::TestServer;
use gatehouse_testkit::browser::{Browser, Consent, Landing};
use openidconnect::TokenResponse;
use serde_json::{Value, json};

const DEFAULT_ORG: &str = "00000000-0000-7000-8000-000000000001";

/// The TOTP code for the secret in `otpauth_uri` at the server's clock,
/// `offset` steps away.
fn code_at(server: &TestServer, otpauth_uri: &str, offset: i64) -> String {
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
    let now = server.clock.now_millis() / 1000 + offset * 30;
    totp.generate(u64::try_from(now).unwrap()).to_string()
}

/// A six-digit code that is not valid at any step near now.
fn wrong_code(server: &TestServer, otpauth_uri: &str) -> String {
    let valid: Vec<String> = (-1..=1).map(|o| code_at(server, otpauth_uri, o)).collect();
    (0..10)
        .map(|d| format!("{d}{d}{d}{d}{d}{d}"))
        .find(|c| !valid.contains(c))
        .unwrap()
}

async fn enrol(server: &TestServer, user_id: &str) -> Value {
    let response = server
        .admin()
        .post(&format!("/api/v1/users/{user_id}/factors"))
        .json(&json!({"type": "totp"}))
        .send()
        .await
        .unwrap();
    json(response, 201).await
}

async fn activate(
    server: &TestServer,
    user_id: &str,
    factor_id: &str,
    code: &str,
) -> reqwest::Response {
    server
        .admin()
        .post(&format!(
            "/api/v1/users/{user_id}/factors/{factor_id}/activate"
        ))
        .json(&json!({"code": code}))
        .send()
        .await
        .unwrap()
}

/// Enrols and activates TOTP for the user; returns the otpauth URI. The
/// clock moves one step on, so the sign-in code is a new one.
async fn active_totp(server: &TestServer, user_id: &str) -> String {
    let enrolled = enrol(server, user_id).await;
    let uri = enrolled["otpauth_uri"].as_str().unwrap().to_owned();
    let code = code_at(server, &uri, 0);
    json(
        activate(server, user_id, enrolled["id"].as_str().unwrap(), &code).await,
        200,
    )
    .await;
    server.clock.advance_secs(30);
    uri
}

async fn set_policy(server: &TestServer, path: &str, policy: Value) {
    let response = server.admin().put(path).json(&policy).send().await.unwrap();
    json(response, 200).await;
}

// ------------------------------------------------------------ admin API

async fn totp_enrol_and_activate(server: TestServer) {
    let ada = user(&server, "ada").await;
    let id = ada["id"].as_str().unwrap();
    let enrolled = enrol(&server, id).await;
    assert_eq!(enrolled["type"], "totp");
    assert_eq!(enrolled["status"], "pending");
    let uri = enrolled["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/Gatehouse:ada?"), "{uri}");
    for part in [
        "secret=",
        "issuer=Gatehouse",
        "algorithm=SHA1",
        "digits=6",
        "period=30",
    ] {
        assert!(uri.contains(part), "{part} missing from {uri}");
    }
    let factor = enrolled["id"].as_str().unwrap();

    // A wrong code is the caller's mistake, not a server error.
    let wrong = wrong_code(&server, uri);
    let refused = problem(activate(&server, id, factor, &wrong).await, 422).await;
    assert_eq!(refused["errors"][0]["field"], "code");

    // The previous step's code is still inside the ±1 window.
    let code = code_at(&server, uri, -1);
    let active = json(activate(&server, id, factor, &code).await, 200).await;
    assert_eq!(active["status"], "active");
    assert_eq!(active["type"], "totp");
    assert!(
        active.get("otpauth_uri").is_none(),
        "the secret is shown once"
    );
    problem(activate(&server, id, factor, &code).await, 409).await;

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
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["status"], "active");
    assert!(!list.to_string().contains("secret"));
    let one = json(
        server
            .admin()
            .get(&format!("/api/v1/users/{id}/factors/{factor}"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(one["id"], factor);

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
    problem(
        server
            .admin()
            .get(&format!("/api/v1/users/{id}/factors/{factor}"))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;

    // Every step of it is in the audit log.
    let query = gatehouse_core::model::AuditQuery {
        target_id: Some(factor.to_owned()),
        limit: 100,
        ..Default::default()
    };
    let events = server.services.store().list_audit(&query).await.unwrap();
    let actions: Vec<(String, String)> = events
        .items
        .iter()
        .map(|e| (e.action.clone(), e.outcome.as_str().to_owned()))
        .collect();
    for action in ["factor.enrolled", "factor.activated", "factor.deleted"] {
        assert!(
            actions.iter().any(|(a, o)| a == action && o == "success"),
            "{action} not audited: {actions:?}"
        );
    }
    assert!(
        actions
            .iter()
            .any(|(a, o)| a == "factor.activated" && o == "failure"),
        "the wrong code is audited: {actions:?}"
    );
}

#[tokio::test]
async fn totp_enrol_and_activate_sqlite() {
    totp_enrol_and_activate(TestServer::start().await).await;
}

#[tokio::test]
async fn totp_enrol_and_activate_postgres() {
    let Some(server) = TestServer::start_postgres().await else {
        return;
    };
    totp_enrol_and_activate(server).await;
}

#[tokio::test]
async fn factor_bad_input_is_problem_json() {
    let server = TestServer::start().await;
    let ada = user(&server, "ada").await;
    let bob = user(&server, "bob").await;
    let (ada, bob) = (ada["id"].as_str().unwrap(), bob["id"].as_str().unwrap());
    let post = |path: String, body: &'static str| {
        server
            .admin()
            .post(&path)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let factors = format!("/api/v1/users/{ada}/factors");
    let unknown = problem(
        post(factors.clone(), r#"{"type":"sms"}"#).await.unwrap(),
        422,
    )
    .await;
    assert_eq!(unknown["errors"][0]["field"], "type");
    problem(
        post(factors.clone(), r#"{"type":"totp""#).await.unwrap(),
        400,
    )
    .await;
    problem(
        post(factors.clone(), r#"{"kind":"totp"}"#).await.unwrap(),
        422,
    )
    .await;
    problem(
        post(
            "/api/v1/users/0190a000-0000-7000-8000-000000000000/factors".into(),
            r#"{"type":"totp"}"#,
        )
        .await
        .unwrap(),
        404,
    )
    .await;
    problem(
        post("/api/v1/users/nope/factors".into(), r#"{"type":"totp"}"#)
            .await
            .unwrap(),
        404,
    )
    .await;

    // Another user's factor is not found under this user.
    let bobs = enrol(&server, bob).await;
    let bobs = bobs["id"].as_str().unwrap();
    problem(
        server
            .admin()
            .get(&format!("/api/v1/users/{ada}/factors/{bobs}"))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    problem(activate(&server, ada, bobs, "123456").await, 404).await;
    problem(
        server
            .admin()
            .delete(&format!("/api/v1/users/{ada}/factors/{bobs}"))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    problem(activate(&server, bob, "not-an-id", "123456").await, 404).await;
    problem(
        post(
            format!("/api/v1/users/{bob}/factors/{bobs}/activate"),
            r#"{"code":1}"#,
        )
        .await
        .unwrap(),
        422,
    )
    .await;
    // An org-scoped token does not see the default org's users.
    let org = server.admin().create_org("acme").await;
    let token = server
        .admin()
        .create_token("acme admin", org["id"].as_str())
        .await;
    problem(
        server
            .with_token(&token)
            .get(&factors)
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    // Policies refuse nonsense with the field named.
    let bad = server
        .admin()
        .put(&format!("/api/v1/orgs/{DEFAULT_ORG}/signon-policy"))
        .json(&json!({"second_factor": "outside_zones", "network_zones": ["10.0.0.0/33"]}))
        .send()
        .await
        .unwrap();
    let bad = problem(bad, 422).await;
    assert_eq!(bad["errors"][0]["field"], "network_zones/0");
    let unknown_rule = server
        .admin()
        .put(&format!("/api/v1/orgs/{DEFAULT_ORG}/signon-policy"))
        .json(&json!({"second_factor": "sometimes"}))
        .send()
        .await
        .unwrap();
    problem(unknown_rule, 422).await;
    problem(
        server
            .admin()
            .get("/api/v1/clients/no-such-client/signon-policy")
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
}

/// Two activations with one code at the same moment: exactly one succeeds.
#[tokio::test]
async fn activation_code_is_accepted_once_under_concurrent_submission() {
    let server = TestServer::start().await;
    let ada = user(&server, "ada").await;
    let id = ada["id"].as_str().unwrap();
    let enrolled = enrol(&server, id).await;
    let factor = enrolled["id"].as_str().unwrap();
    let code = code_at(&server, enrolled["otpauth_uri"].as_str().unwrap(), 0);
    let (a, b) = tokio::join!(
        activate(&server, id, factor, &code),
        activate(&server, id, factor, &code)
    );
    let statuses = [a.status().as_u16(), b.status().as_u16()];
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [200, 409, 422].contains(s)),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn recovery_codes_are_shown_once_and_reset_removes_everything() {
    let server = TestServer::start().await;
    let ada = user(&server, "ada").await;
    let id = ada["id"].as_str().unwrap();
    active_totp(&server, id).await;
    let created = json(
        server
            .admin()
            .post(&format!("/api/v1/users/{id}/recovery-codes"))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let codes = created["codes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    let left = json(
        server
            .admin()
            .get(&format!("/api/v1/users/{id}/recovery-codes"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(left["remaining"], 10);

    empty(
        server
            .admin()
            .delete(&format!("/api/v1/users/{id}/factors"))
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
    let left = json(
        server
            .admin()
            .get(&format!("/api/v1/users/{id}/recovery-codes"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(left["remaining"], 0);
}

// ------------------------------------------------------------ sign-in

/// Walks an authorization request to the second-factor page.
async fn to_factor_page(browser: &Browser, url: &str, username: &str) -> String {
    match browser
        .walk(url, Some((username, PASSWORD)), Consent::Allow)
        .await
        .unwrap()
    {
        Landing::Page(200, html) if html.contains("name=\"otp\"") => html,
        other => panic!("expected the second-factor page, got {other:?}"),
    }
}

async fn submit_otp(browser: &Browser, html: &str, code: &str) -> Landing {
    let response = browser.fill(html, &[("otp", code)]).await.unwrap();
    browser
        .follow(response, None, Consent::Allow)
        .await
        .unwrap()
}

fn amr_of(claims: &openidconnect::core::CoreIdTokenClaims) -> Vec<String> {
    claims
        .auth_method_refs()
        .map(|amr| amr.iter().map(|m| m.as_str().to_owned()).collect())
        .unwrap_or_default()
}

async fn client_policy_demands_totp(server: TestServer) {
    let ada = user(&server, "ada").await;
    let uri = active_totp(&server, ada["id"].as_str().unwrap()).await;
    let (client_id, secret) = register(&server, json!({})).await;
    set_policy(
        &server,
        &format!("/api/v1/clients/{client_id}/signon-policy"),
        json!({"second_factor": "always"}),
    )
    .await;
    let rp = discover(&server, &client_id, &secret).await;
    let browser = Browser::new(&server.url("")).unwrap();
    let started = start(&rp, &["profile"], &[]);
    let page = to_factor_page(&browser, &started.url, "ada").await;
    assert!(
        page.contains("<label for=\"otp\""),
        "the otp input is labelled"
    );
    assert!(page.contains("name=\"csrf\""), "the form is CSRF-protected");
    assert!(!page.contains("name=\"password\""));

    // A wrong code shows the page again; the right one completes the sign-in.
    let wrong = wrong_code(&server, &uri);
    let again = match submit_otp(&browser, &page, &wrong).await {
        Landing::Page(200, html) if html.contains("name=\"otp\"") => html,
        other => panic!("expected the page again, got {other:?}"),
    };
    assert!(again.contains("role=\"alert\""));
    let landing = submit_otp(&browser, &again, &code_at(&server, &uri, 0)).await;
    let pairs = callback(&landing);
    let code = param(&pairs, "code").unwrap().to_owned();
    let tokens = exchange(&rp, &code, started.verifier).await;
    let claims = tokens
        .id_token()
        .unwrap()
        .claims(&rp.id_token_verifier(), &started.nonce)
        .unwrap()
        .clone();
    assert_eq!(claims.auth_context_ref().map(|a| a.as_str()), Some("2"));
    assert_eq!(amr_of(&claims), ["pwd", "otp"]);

    // The session is multifactor: SSO continues with no further prompt.
    let again = start(&rp, &["profile"], &[]);
    let landing = browser
        .walk(&again.url, None, Consent::Allow)
        .await
        .unwrap();
    assert!(param(&callback(&landing), "code").is_some());
}

#[tokio::test]
async fn client_policy_demands_totp_sqlite() {
    client_policy_demands_totp(TestServer::start().await).await;
}

#[tokio::test]
async fn client_policy_demands_totp_postgres() {
    let Some(server) = TestServer::start_postgres().await else {
        return;
    };
    client_policy_demands_totp(server).await;
}

/// A password-only session is stepped up by `acr_values=2` with the second
/// factor alone, and the ID token says so.
#[tokio::test]
async fn acr_values_2_steps_up_a_password_session() {
    let server = TestServer::start().await;
    let ada = user(&server, "ada").await;
    let uri = active_totp(&server, ada["id"].as_str().unwrap()).await;
    let (client_id, secret) = register(&server, json!({})).await;
    let rp = discover(&server, &client_id, &secret).await;
    let browser = Browser::new(&server.url("")).unwrap();

    // No policy: the password is enough.
    let first = start(&rp, &["profile"], &[]);
    let landing = browser
        .walk(&first.url, Some(("ada", PASSWORD)), Consent::Allow)
        .await
        .unwrap();
    let code = param(&callback(&landing), "code").unwrap().to_owned();
    let tokens = exchange(&rp, &code, first.verifier).await;
    let claims = tokens
        .id_token()
        .unwrap()
        .claims(&rp.id_token_verifier(), &first.nonce)
        .unwrap()
        .clone();
    assert_eq!(claims.auth_context_ref().map(|a| a.as_str()), Some("1"));

    // Step-up: the second-factor page, with no password asked.
    server.clock.advance_secs(60);
    let stepped = start(&rp, &["profile"], &[("acr_values", "2")]);
    let page = match browser
        .walk(&stepped.url, None, Consent::Allow)
        .await
        .unwrap()
    {
        Landing::Page(200, html) if html.contains("name=\"otp\"") => html,
        other => panic!("expected the step-up page, got {other:?}"),
    };
    let landing = submit_otp(&browser, &page, &code_at(&server, &uri, 0)).await;
    let code = param(&callback(&landing), "code").unwrap().to_owned();
    let tokens = exchange(&rp, &code, stepped.verifier).await;
    let claims = tokens
        .id_token()
        .unwrap()
        .claims(&rp.id_token_verifier(), &stepped.nonce)
        .unwrap()
        .clone();
    assert_eq!(claims.auth_context_ref().map(|a| a.as_str()), Some("2"));
    assert_eq!(amr_of(&claims), ["pwd", "otp"]);
    let discovery = json(
        server
            .client()
            .get(server.url("/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(discovery["acr_values_supported"], json!(["1", "2"]));
}

/// The same TOTP code submitted twice at once: exactly one sign-in completes.
#[tokio::test]
async fn one_totp_code_completes_one_sign_in_under_concurrent_submission() {
    let server = TestServer::start().await;
    let ada = user(&server, "ada").await;
    let uri = active_totp(&server, ada["id"].as_str().unwrap()).await;
    set_policy(
        &server,
        &format!("/api/v1/orgs/{DEFAULT_ORG}/signon-policy"),
        json!({"second_factor": "always"}),
    )
    .await;
    let (client_id, secret) = register(&server, json!({})).await;
    let rp = discover(&server, &client_id, &secret).await;
    // Two browsers, each with its own password-verified challenge.
    let one = Browser::new(&server.url("")).unwrap();
    let two = Browser::new(&server.url("")).unwrap();
    let page_one = to_factor_page(&one, &start(&rp, &["profile"], &[]).url, "ada").await;
    let page_two = to_factor_page(&two, &start(&rp, &["profile"], &[]).url, "ada").await;
    let code = code_at(&server, &uri, 0);
    let fields = [("otp", code.as_str())];
    let (a, b) = tokio::join!(one.fill(&page_one, &fields), two.fill(&page_two, &fields));
    let redirected = [a.unwrap(), b.unwrap()]
        .iter()
        .filter(|r| r.status().is_redirection())
        .count();
    assert_eq!(redirected, 1);
}

/// Wrong codes count on the throttle's second-factor counters across
/// challenges: someone who knows the password cannot guess on by starting
/// fresh sign-ins. A throttled attempt gets 429 with `Retry-After` and even
/// the right code is not looked at; once the wait is over it works.
#[tokio::test]
async fn wrong_codes_across_challenges_throttle_the_second_factor() {
    let server = TestServer::start().await;
    let ada = user(&server, "ada").await;
    let uri = active_totp(&server, ada["id"].as_str().unwrap()).await;
    set_policy(
        &server,
        &format!("/api/v1/orgs/{DEFAULT_ORG}/signon-policy"),
        json!({"second_factor": "always"}),
    )
    .await;
    let (client_id, secret) = register(&server, json!({})).await;
    let rp = discover(&server, &client_id, &secret).await;
    let wrong = wrong_code(&server, &uri);
    // Two wrong codes on each of two challenges: four on the account and IP,
    // while neither challenge has used up its own five attempts.
    let mut page = String::new();
    for _ in 0..2 {
        let browser = Browser::new(&server.url("")).unwrap();
        page = to_factor_page(&browser, &start(&rp, &["profile"], &[]).url, "ada").await;
        for _ in 0..2 {
            let response = browser
                .fill(&page, &[("otp", wrong.as_str())])
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            page = response.text().await.unwrap();
            assert!(page.contains("name=\"otp\""), "{page}");
        }
        let code = code_at(&server, &uri, 0);
        let response = browser
            .fill(&page, &[("otp", code.as_str())])
            .await
            .unwrap();
        if response.status() == 429 {
            let retry: i64 = response.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(retry >= 1);
            page = response.text().await.unwrap();
            assert!(page.contains("Too many wrong codes"), "{page}");
            // Waiting it out lets the right code through.
            server.clock.advance_secs(retry);
            let code = code_at(&server, &uri, 0);
            let response = browser
                .fill(&page, &[("otp", code.as_str())])
                .await
                .unwrap();
            let landing = browser
                .follow(response, None, Consent::Allow)
                .await
                .unwrap();
            assert!(matches!(landing, Landing::Client(_)), "{landing:?}");
            return;
        }
        // Not yet throttled: only the first challenge may get here, and the
        // right code then completes it.
        let landing = browser
            .follow(response, None, Consent::Allow)
            .await
            .unwrap();
        assert!(matches!(landing, Landing::Client(_)), "{landing:?}");
        server.clock.advance_secs(30);
    }
    panic!("four wrong codes across two challenges were never throttled: {page}");
}

/// A user who must have a second factor but has none enrols TOTP at sign-in
/// (QR code inline, key in text), then sees recovery codes once; a recovery
/// code then works once in the same `otp` input.
#[tokio::test]
async fn enrolment_at_sign_in_then_recovery_code() {
    let server = TestServer::start().await;
    user(&server, "ada").await;
    set_policy(
        &server,
        &format!("/api/v1/orgs/{DEFAULT_ORG}/signon-policy"),
        json!({"second_factor": "always"}),
    )
    .await;
    let (client_id, secret) = register(&server, json!({})).await;
    let rp = discover(&server, &client_id, &secret).await;
    let browser = Browser::new(&server.url("")).unwrap();
    let started = start(&rp, &["profile"], &[]);
    let page = to_factor_page(&browser, &started.url, "ada").await;
    assert!(page.contains("<svg"), "QR code inline");
    let key = page
        .split("<code class=\"secret\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_owned();
    let uri = format!("otpauth://totp/Gatehouse:ada?secret={key}");
    let response = browser
        .fill(&page, &[("otp", &code_at(&server, &uri, 0))])
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let codes_page = response.text().await.unwrap();
    let codes: Vec<String> = codes_page
        .split("<li><code>")
        .skip(1)
        .filter_map(|c| c.split('<').next().map(str::to_owned))
        .collect();
    assert_eq!(codes.len(), 10, "{codes_page}");
    let next = codes_page
        .split("<a href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .replace("&#x2f;", "/")
        .replace("&amp;", "&");
    // Continue links to the next step (here the consent page), then the client.
    let next = if next.starts_with('/') {
        server.url(&next)
    } else {
        next
    };
    let landing = browser.walk(&next, None, Consent::Allow).await.unwrap();
    assert!(param(&callback(&landing), "code").is_some());

    // A new browser signs in with a recovery code, once.
    let other = Browser::new(&server.url("")).unwrap();
    let page = to_factor_page(&other, &start(&rp, &["profile"], &[]).url, "ada").await;
    assert!(page.contains("recovery codes"));
    let landing = submit_otp(&other, &page, &codes[3].to_uppercase()).await;
    assert!(param(&callback(&landing), "code").is_some());
    let third = Browser::new(&server.url("")).unwrap();
    let page = to_factor_page(&third, &start(&rp, &["profile"], &[]).url, "ada").await;
    match submit_otp(&third, &page, &codes[3]).await {
        Landing::Page(200, html) => assert!(html.contains("role=\"alert\"")),
        other => panic!("a used recovery code was accepted: {other:?}"),
    }
}

/// "Remember this device" skips the second factor in that browser only;
/// network zones exempt trusted networks; group policies pick their members.
#[tokio::test]
async fn remembered_devices_zones_and_groups() {
    let server = TestServer::start().await;
    let ada = user(&server, "ada").await;
    let uri = active_totp(&server, ada["id"].as_str().unwrap()).await;
    set_policy(
        &server,
        &format!("/api/v1/orgs/{DEFAULT_ORG}/signon-policy"),
        json!({"second_factor": "always", "remember_device_days": 30}),
    )
    .await;
    let (client_id, secret) = register(&server, json!({})).await;
    let rp = discover(&server, &client_id, &secret).await;
    let browser = Browser::new(&server.url("")).unwrap();
    let page = to_factor_page(&browser, &start(&rp, &["profile"], &[]).url, "ada").await;
    assert!(page.contains("name=\"remember\""));
    let response = browser
        .fill(
            &page,
            &[("otp", &code_at(&server, &uri, 0)), ("remember", "on")],
        )
        .await
        .unwrap();
    let landing = browser
        .follow(response, None, Consent::Allow)
        .await
        .unwrap();
    assert!(param(&callback(&landing), "code").is_some());

    // Sign out (a fresh session cookie jar is simplest: log out through the
    // endpoint would also work) — here, a new sign-in with prompt=login.
    let relogin = start(&rp, &["profile"], &[("prompt", "login")]);
    let landing = browser
        .walk(&relogin.url, Some(("ada", PASSWORD)), Consent::Allow)
        .await
        .unwrap();
    let code = param(&callback(&landing), "code").unwrap().to_owned();
    let tokens = exchange(&rp, &code, relogin.verifier).await;
    let claims = tokens
        .id_token()
        .unwrap()
        .claims(&rp.id_token_verifier(), &relogin.nonce)
        .unwrap()
        .clone();
    // The remembered device stood in for the second factor, which was not
    // performed in this sign-in: one factor's acr and amr (an explicit
    // `acr_values=2` steps up; see tests/signon_policy.rs).
    assert_eq!(claims.auth_context_ref().map(|a| a.as_str()), Some("1"));
    assert_eq!(amr_of(&claims), ["pwd"]);
    // Another browser still needs the code.
    let other = Browser::new(&server.url("")).unwrap();
    to_factor_page(&other, &start(&rp, &["profile"], &[]).url, "ada").await;

    // Loopback is a trusted zone: no second factor from there.
    set_policy(
        &server,
        &format!("/api/v1/orgs/{DEFAULT_ORG}/signon-policy"),
        json!({"second_factor": "outside_zones", "network_zones": ["127.0.0.0/8", "::1/128"]}),
    )
    .await;
    let inside = Browser::new(&server.url("")).unwrap();
    let landing = inside
        .walk(
            &start(&rp, &["profile"], &[]).url,
            Some(("ada", PASSWORD)),
            Consent::Allow,
        )
        .await
        .unwrap();
    assert!(param(&callback(&landing), "code").is_some());

    // Group policy: only members need the factor.
    let group = server
        .admin()
        .create("/api/v1/groups", json!({"name": "admins"}))
        .await;
    let group_id = group["id"].as_str().unwrap();
    set_policy(
        &server,
        &format!("/api/v1/orgs/{DEFAULT_ORG}/signon-policy"),
        json!({"second_factor": "groups", "groups": [group_id]}),
    )
    .await;
    let before = Browser::new(&server.url("")).unwrap();
    let landing = before
        .walk(
            &start(&rp, &["profile"], &[]).url,
            Some(("ada", PASSWORD)),
            Consent::Allow,
        )
        .await
        .unwrap();
    assert!(param(&callback(&landing), "code").is_some());
    let added = server
        .admin()
        .put(&format!(
            "/api/v1/groups/{group_id}/members/{}",
            ada["id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert!(added.status().is_success(), "{}", added.status());
    let member = Browser::new(&server.url("")).unwrap();
    to_factor_page(&member, &start(&rp, &["profile"], &[]).url, "ada").await;
}

/// Policies read back as set, and are removable.
#[tokio::test]
async fn policies_read_back_and_delete() {
    let server = TestServer::start().await;
    let path = format!("/api/v1/orgs/{DEFAULT_ORG}/signon-policy");
    problem(server.admin().get(&path).send().await.unwrap(), 404).await;
    let policy = json!({
        "second_factor": "outside_zones",
        "network_zones": ["10.0.0.0/8"],
        "groups": [],
        "allowed_factors": ["totp"],
        "remember_device_days": 7,
        "enrol_at_sign_in": false,
        "magic_link": false,
        "webauthn_attestation": "none",
        "webauthn_attestation_cas": [],
        "webauthn_aaguids": [],
        "webauthn_legacy_appid": null,
        "reauthenticate_after_minutes": 0,
        "session_lifetime_minutes": 0,
        "session_idle_minutes": 0
    });
    set_policy(&server, &path, policy.clone()).await;
    let read = json(server.admin().get(&path).send().await.unwrap(), 200).await;
    assert_eq!(read, policy);
    empty(server.admin().delete(&path).send().await.unwrap(), 204).await;
    problem(server.admin().delete(&path).send().await.unwrap(), 404).await;
}

/// Where a policy allows e-mail, a user without an app gets a code by
/// e-mail (read here from the test server's file mailbox); it works once.
#[tokio::test]
async fn email_code_from_the_file_mailbox() {
    let server = TestServer::start().await;
    user(&server, "ada").await;
    set_policy(
        &server,
        &format!("/api/v1/orgs/{DEFAULT_ORG}/signon-policy"),
        json!({"second_factor": "always", "allowed_factors": ["totp", "email"]}),
    )
    .await;
    let (client_id, secret) = register(&server, json!({})).await;
    let rp = discover(&server, &client_id, &secret).await;
    let browser = Browser::new(&server.url("")).unwrap();
    let page = to_factor_page(&browser, &start(&rp, &["profile"], &[]).url, "ada").await;
    assert!(page.contains("name=\"send_email\""), "{page}");
    assert!(server.mailbox().is_empty());

    // Press "E-mail me a code".
    let mut form = gatehouse_testkit::browser::hidden_fields(&page);
    form.push(("send_email".into(), "1".into()));
    let response = browser.post_form("/login/factor", &form).await.unwrap();
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    // Asking again at once sends nothing more.
    let again = browser.post_form("/login/factor", &form).await.unwrap();
    assert!(again.text().await.unwrap().contains("role=\"alert\""));
    let mails = server.mailbox();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert!(mail.contains("To: ada@example.com\r\n"), "{mail}");
    let code: String = mail
        .split("Your sign-in code is ")
        .nth(1)
        .unwrap()
        .chars()
        .take(6)
        .collect();
    assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");

    let landing = submit_otp(&browser, &page, &code).await;
    let pairs = callback(&landing);
    let code_param = param(&pairs, "code").unwrap().to_owned();
    let started_again = start(&rp, &["profile"], &[]);
    // SSO now carries acr 2; a second use of the e-mailed code is refused
    // in a fresh sign-in.
    assert!(!code_param.is_empty());
    let other = Browser::new(&server.url("")).unwrap();
    let page = to_factor_page(&other, &started_again.url, "ada").await;
    match submit_otp(&other, &page, &code).await {
        Landing::Page(200, html) => assert!(html.contains("role=\"alert\"")),
        other => panic!("a spent e-mailed code was accepted: {other:?}"),
    }
}

/// An exceeded `max_age` is met by the second factor alone for a user who
/// has one (a fresh `auth_time`), and a policy that requires a factor
/// without allowing enrolment at sign-in refuses a user with none.
#[tokio::test]
async fn max_age_steps_up_and_enrolment_can_be_refused() {
    let server = TestServer::start().await;
    let ada = user(&server, "ada").await;
    user(&server, "bob").await;
    let uri = active_totp(&server, ada["id"].as_str().unwrap()).await;
    let (client_id, secret) = register(&server, json!({})).await;
    let rp = discover(&server, &client_id, &secret).await;
    let browser = Browser::new(&server.url("")).unwrap();
    let first = start(&rp, &["profile"], &[]);
    let landing = browser
        .walk(&first.url, Some(("ada", PASSWORD)), Consent::Allow)
        .await
        .unwrap();
    assert!(param(&callback(&landing), "code").is_some());

    server.clock.advance_secs(600);
    let fresh = start(&rp, &["profile"], &[("max_age", "60")]);
    let page = match browser
        .walk(&fresh.url, None, Consent::Allow)
        .await
        .unwrap()
    {
        Landing::Page(200, html) if html.contains("name=\"otp\"") => html,
        other => panic!("expected the step-up page, got {other:?}"),
    };
    let landing = submit_otp(&browser, &page, &code_at(&server, &uri, 0)).await;
    let code = param(&callback(&landing), "code").unwrap().to_owned();
    let tokens = exchange(&rp, &code, fresh.verifier).await;
    let claims = tokens
        .id_token()
        .unwrap()
        .claims(&rp.id_token_verifier(), &fresh.nonce)
        .unwrap()
        .clone();
    let now = server.clock.now_millis() / 1000;
    let auth_time = claims.auth_time().unwrap().timestamp();
    assert!(
        now - auth_time < 60,
        "auth_time {auth_time} is fresh (now {now})"
    );
    assert_eq!(claims.auth_context_ref().map(|a| a.as_str()), Some("2"));

    set_policy(
        &server,
        &format!("/api/v1/orgs/{DEFAULT_ORG}/signon-policy"),
        json!({"second_factor": "always", "enrol_at_sign_in": false}),
    )
    .await;
    let other = Browser::new(&server.url("")).unwrap();
    match other
        .walk(
            &start(&rp, &["profile"], &[]).url,
            Some(("bob", PASSWORD)),
            Consent::Allow,
        )
        .await
        .unwrap()
    {
        Landing::Page(403, html) => assert!(html.contains("Second factor required")),
        other => panic!("expected a refusal, got {other:?}"),
    }
}
