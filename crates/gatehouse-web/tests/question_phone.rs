//! The knowledge-question and phone factors through the real HTTP surfaces:
//! the admin API, `/account/security` and the second-factor page, with the
//! ID token's `amr` checked by the `openidconnect` relying party.
//!
//! Phone codes go to a stub provider (an axum server on 127.0.0.1) that
//! records each webhook call; the test checks the `X-Gatehouse-Signature`
//! with the `hmac`/`sha2` crates, independently of the server's aws-lc-rs,
//! and reads the code from the JSON body.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use common::rp::{PASSWORD, callback, discover, exchange, param, register, start, user};
use common::{json, problem};
use gatehouse_core::model::AuditQuery;
use gatehouse_testkit::browser::{Browser, Consent, Landing, hidden_fields};
use gatehouse_testkit::{TestDb, TestOptions, TestServer};
use hmac::{Hmac, KeyInit, Mac};
use openidconnect::TokenResponse;
use serde_json::{Value, json};

const DEFAULT_ORG: &str = "00000000-0000-7000-8000-000000000001";
const WEBHOOK_SECRET: &str = "whsec-test-0123456789";

// ------------------------------------------------------------ helpers

async fn set_policy(server: &TestServer, policy: Value) {
    let response = server
        .admin()
        .put(&format!("/api/v1/orgs/{DEFAULT_ORG}/signon-policy"))
        .json(&policy)
        .send()
        .await
        .unwrap();
    json(response, 200).await;
}

fn amr_of(claims: &openidconnect::core::CoreIdTokenClaims) -> Vec<String> {
    claims
        .auth_method_refs()
        .map(|amr| amr.iter().map(|m| m.as_str().to_owned()).collect())
        .unwrap_or_default()
}

/// Walks an authorization request through the password to the
/// second-factor page.
async fn to_factor_page(browser: &Browser, url: &str, username: &str) -> String {
    match browser
        .walk(url, Some((username, PASSWORD)), Consent::Allow)
        .await
        .unwrap()
    {
        Landing::Page(200, html) if html.contains("action=\"/login/factor\"") => html,
        other => panic!("expected the second-factor page, got {other:?}"),
    }
}

/// A browser signed in (password only) on `/account/security`.
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

/// Posts a form of `page` (its hidden fields, `csrf` included) to `path`.
async fn post(browser: &Browser, page: &str, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let mut form = hidden_fields(page);
    for (name, value) in fields {
        form.push(((*name).to_owned(), (*value).to_owned()));
    }
    let response = browser.post_form(path, &form).await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// The `amr` of the ID token a landing at the client leads to.
async fn amr_after(
    rp: &common::rp::Rp,
    started: common::rp::Started,
    landing: &Landing,
) -> Vec<String> {
    let pairs = callback(landing);
    let code = param(&pairs, "code").unwrap().to_owned();
    let tokens = exchange(rp, &code, started.verifier).await;
    let claims = tokens
        .id_token()
        .unwrap()
        .claims(&rp.id_token_verifier(), &started.nonce)
        .unwrap()
        .clone();
    assert_eq!(claims.auth_context_ref().map(|a| a.as_str()), Some("2"));
    amr_of(&claims)
}

// ------------------------------------------------------------ the stub provider

/// One webhook call the stub received.
#[derive(Debug, Clone)]
struct Call {
    signature: String,
    body: Vec<u8>,
}

impl Call {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    fn code(&self) -> String {
        self.json()["code"].as_str().unwrap().to_owned()
    }
}

/// An SMS provider adapter on 127.0.0.1: records calls, answers `status`.
#[derive(Clone)]
struct Provider {
    url: String,
    calls: Arc<Mutex<Vec<Call>>>,
    status: Arc<AtomicU16>,
}

impl Provider {
    async fn start() -> Self {
        let calls: Arc<Mutex<Vec<Call>>> = Arc::default();
        let status = Arc::new(AtomicU16::new(200));
        let (c, s) = (calls.clone(), status.clone());
        let app = axum::Router::new().route(
            "/sms",
            axum::routing::post(
                move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                    let (calls, status) = (c.clone(), s.clone());
                    async move {
                        let signature = headers
                            .get("x-gatehouse-signature")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_owned();
                        calls.lock().unwrap().push(Call {
                            signature,
                            body: body.to_vec(),
                        });
                        axum::http::StatusCode::from_u16(status.load(Ordering::SeqCst)).unwrap()
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/sms", listener.local_addr().unwrap());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { url, calls, status }
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    fn last(&self) -> Call {
        self.calls().last().cloned().expect("no webhook call")
    }

    fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }
}

/// Checks `t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">` with the `hmac`
/// crate, and that `t` is the server's (fake) clock.
fn verify_signature(server: &TestServer, call: &Call) {
    let (t, v1) = call
        .signature
        .split_once(",v1=")
        .unwrap_or_else(|| panic!("malformed signature {:?}", call.signature));
    let t = t.strip_prefix("t=").unwrap();
    assert_eq!(
        t.parse::<i64>().unwrap(),
        gatehouse_core::clock::Clock::now_secs(&server.clock)
    );
    let tag: Vec<u8> = (0..v1.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&v1[i..i + 2], 16).unwrap())
        .collect();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(WEBHOOK_SECRET.as_bytes()).unwrap();
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(&call.body);
    mac.verify_slice(&tag)
        .expect("the signature does not verify");
    // Another secret does not verify it.
    let mut other = Hmac::<sha2::Sha256>::new_from_slice(b"another secret").unwrap();
    other.update(t.as_bytes());
    other.update(b".");
    other.update(&call.body);
    assert!(other.verify_slice(&tag).is_err());
}

async fn server_with_provider(postgres: bool) -> Option<(TestServer, Provider)> {
    let provider = Provider::start().await;
    let db = if postgres {
        let server_url = std::env::var(gatehouse_testkit::POSTGRES_URL_VAR)
            .ok()
            .filter(|u| !u.is_empty())?;
        TestDb::Postgres { server_url }
    } else {
        TestDb::Sqlite
    };
    let server = TestServer::start_with(TestOptions {
        db,
        sms_webhook: Some((provider.url.clone(), WEBHOOK_SECRET.to_owned())),
        ..TestOptions::default()
    })
    .await;
    Some((server, provider))
}

// ------------------------------------------------------------ knowledge question

async fn question_enrol_and_sign_in(server: TestServer) {
    let ada = user(&server, "ada").await;
    let id = ada["id"].as_str().unwrap();

    let questions = json(
        server
            .admin()
            .get("/api/v1/factors/questions")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let items = questions["items"].as_array().unwrap();
    assert_eq!(items.len(), 8);
    assert!(items.iter().any(|q| q["id"] == "first_pet"));

    // Bad input is a validation problem, never a 500.
    for (body, field) in [
        (
            json!({"type": "question", "question": "first_pet", "answer": " a-b! "}),
            "answer",
        ),
        (
            json!({"type": "question", "question": "favourite_colour", "answer": "blue sky"}),
            "question",
        ),
        (json!({"type": "question"}), "question"),
    ] {
        let response = server
            .admin()
            .post(&format!("/api/v1/users/{id}/factors"))
            .json(&body)
            .send()
            .await
            .unwrap();
        let p = problem(response, 422).await;
        assert_eq!(p["errors"][0]["field"], field, "{p}");
    }

    let created = server
        .admin()
        .create(
            &format!("/api/v1/users/{id}/factors"),
            json!({"type": "question", "question": "first_pet", "answer": "Fluffy the cat"}),
        )
        .await;
    assert_eq!(created["type"], "question");
    assert_eq!(created["status"], "active");
    assert_eq!(created["question"], "first_pet");
    assert!(created.get("otpauth_uri").is_none());
    let text = created.to_string().to_lowercase();
    assert!(!text.contains("fluffy"), "the answer is not echoed: {text}");
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
    assert!(!list.to_string().to_lowercase().contains("fluffy"));

    set_policy(
        &server,
        json!({"second_factor": "always", "allowed_factors": ["question"]}),
    )
    .await;
    let (client_id, secret) = register(&server, json!({})).await;
    let rp = discover(&server, &client_id, &secret).await;
    let browser = Browser::new(&server.url("")).unwrap();
    let started = start(&rp, &["profile"], &[]);
    let page = to_factor_page(&browser, &started.url, "ada").await;
    assert!(
        page.contains("What was the name of your first pet?"),
        "{page}"
    );
    assert!(page.contains("name=\"answer\""), "{page}");
    assert!(
        !page.contains("name=\"otp\""),
        "the code form is not offered: {page}"
    );

    // A wrong answer shows the page again.
    let response = browser.fill(&page, &[("answer", "Rex")]).await.unwrap();
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    assert!(page.contains("That answer is not right."), "{page}");
    // Case, spacing and punctuation do not matter.
    let response = browser
        .fill(&page, &[("answer", "  Fluffy  the CAT ")])
        .await
        .unwrap();
    let landing = browser
        .follow(response, None, Consent::Allow)
        .await
        .unwrap();
    assert_eq!(amr_after(&rp, started, &landing).await, ["pwd", "kba"]);

    // Removing it through the admin API.
    let factor = created["id"].as_str().unwrap();
    let response = server
        .admin()
        .delete(&format!("/api/v1/users/{id}/factors/{factor}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
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
    assert!(list["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn question_enrol_and_sign_in_sqlite() {
    question_enrol_and_sign_in(TestServer::start().await).await;
}

#[tokio::test]
async fn question_enrol_and_sign_in_postgres() {
    let Some(server) = TestServer::start_postgres().await else {
        return;
    };
    question_enrol_and_sign_in(server).await;
}

/// The question is opt-in: a policy that does not list it neither offers
/// nor accepts it, and it does not meet a step-up to `acr` 2 alone.
#[tokio::test]
async fn question_counts_only_where_a_policy_lists_it() {
    let server = TestServer::start().await;
    let ada = user(&server, "ada").await;
    let id = ada["id"].as_str().unwrap();
    server
        .admin()
        .create(
            &format!("/api/v1/users/{id}/factors"),
            json!({"type": "question", "question": "first_school", "answer": "Hill Top Primary"}),
        )
        .await;
    let (client_id, secret) = register(&server, json!({})).await;
    let rp = discover(&server, &client_id, &secret).await;

    // acr_values=2 with the default policy: the question alone is not a
    // usable factor, so the sign-in does not reach a second-factor page.
    let browser = Browser::new(&server.url("")).unwrap();
    let started = start(&rp, &["profile"], &[("acr_values", "2")]);
    let landing = browser
        .walk(&started.url, Some(("ada", PASSWORD)), Consent::Allow)
        .await
        .unwrap();
    if let Landing::Page(_, html) = &landing {
        assert!(!html.contains("name=\"answer\""), "{html}");
    }

    // A policy requiring a factor without listing `question`: with TOTP
    // enrolled too, the page offers only the code.
    let totp = server
        .admin()
        .create(
            &format!("/api/v1/users/{id}/factors"),
            json!({"type": "totp"}),
        )
        .await;
    assert_eq!(totp["status"], "pending");
    set_policy(&server, json!({"second_factor": "always"})).await;
    let browser = Browser::new(&server.url("")).unwrap();
    // The pending TOTP is enrolled at sign-in: the page is the enrolment.
    let page = to_factor_page(&browser, &start(&rp, &["profile"], &[]).url, "ada").await;
    assert!(!page.contains("name=\"answer\""), "{page}");
    // A right answer posted anyway is refused.
    let response = browser
        .fill(&page, &[("answer", "hill top primary")])
        .await
        .unwrap();
    let landing = browser
        .follow(response, None, Consent::Allow)
        .await
        .unwrap();
    assert!(!matches!(landing, Landing::Client(_)), "{landing:?}");
}

/// Wrong answers count on the second-factor throttle like wrong codes:
/// across fresh challenges the attempt is eventually refused unchecked with
/// 429 and `Retry-After`.
#[tokio::test]
async fn wrong_answers_throttle_the_second_factor() {
    let server = TestServer::start().await;
    let ada = user(&server, "ada").await;
    let id = ada["id"].as_str().unwrap();
    server
        .admin()
        .create(
            &format!("/api/v1/users/{id}/factors"),
            json!({"type": "question", "question": "first_car", "answer": "Fiat Panda"}),
        )
        .await;
    set_policy(
        &server,
        json!({"second_factor": "always", "allowed_factors": ["question"]}),
    )
    .await;
    let (client_id, secret) = register(&server, json!({})).await;
    let rp = discover(&server, &client_id, &secret).await;
    for _ in 0..4 {
        let browser = Browser::new(&server.url("")).unwrap();
        let mut page = to_factor_page(&browser, &start(&rp, &["profile"], &[]).url, "ada").await;
        for _ in 0..4 {
            let response = browser
                .fill(&page, &[("answer", "wrong guess")])
                .await
                .unwrap();
            if response.status() == 429 {
                assert!(response.headers().contains_key("retry-after"));
                let html = response.text().await.unwrap();
                assert!(html.contains("Too many wrong"), "{html}");
                // Even the right answer is not looked at now.
                let response = browser
                    .fill(&html, &[("answer", "fiat panda")])
                    .await
                    .unwrap();
                assert_eq!(response.status(), 429);
                return;
            }
            assert_eq!(response.status(), 200);
            page = response.text().await.unwrap();
            if !page.contains("name=\"answer\"") {
                break; // this challenge ran out of attempts
            }
        }
    }
    panic!("wrong answers were never throttled");
}

/// Self-service: set, replace (one question at a time), refuse a short
/// answer, remove.
#[tokio::test]
async fn question_on_the_security_page() {
    let server = TestServer::start().await;
    let ada = user(&server, "ada").await;
    let id = ada["id"].as_str().unwrap();
    let (browser, page) = signed_in(&server, "ada").await;
    assert!(page.contains("name=\"question\""), "{page}");
    assert!(page.contains("What was the make and model of your first car?"));
    assert!(
        !page.contains("action=\"/account/security/phone\""),
        "no phone without an SMS webhook"
    );

    let (status, html) = post(
        &browser,
        &page,
        "/account/security/question",
        &[("question", "first_pet"), ("answer", "a.b")],
    )
    .await;
    assert_eq!(status, 400);
    assert!(html.contains("at least 4"), "{html}");

    let (status, html) = post(
        &browser,
        &page,
        "/account/security/question",
        &[("question", "first_pet"), ("answer", "Fluffy")],
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Security question saved."), "{html}");
    assert!(html.contains("Security question: What was the name of your first pet?"));
    let (status, html) = post(
        &browser,
        &html,
        "/account/security/question",
        &[("question", "birth_city_x"), ("answer", "Leeds")],
    )
    .await;
    assert_eq!(status, 400, "an unknown question: {html}");
    let (status, html) = post(
        &browser,
        &html,
        "/account/security/question",
        &[("question", "first_concert"), ("answer", "Pulp, 1996")],
    )
    .await;
    assert_eq!(status, 200, "{html}");
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
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "replaced, not added: {list}");
    assert_eq!(items[0]["question"], "first_concert");

    // Without the CSRF token the form is refused.
    let response = browser
        .client()
        .post(server.url("/account/security/question"))
        .form(&[("question", "first_pet"), ("answer", "Fluffy")])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error());

    // Removing it (the sign-in is recent: no password needed).
    let factor = items[0]["id"].as_str().unwrap();
    let (status, html) = post(
        &browser,
        &html,
        "/account/security/remove",
        &[("factor", factor)],
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Factor removed."), "{html}");
}

// ------------------------------------------------------------ phone

async fn phone_enrol_sign_in_and_replay(server: TestServer, provider: Provider) {
    let ada = user(&server, "ada").await;
    let id = ada["id"].as_str().unwrap();

    // An admin cannot enrol a phone: its owner must prove it.
    let response = server
        .admin()
        .post(&format!("/api/v1/users/{id}/factors"))
        .json(&json!({"type": "phone"}))
        .send()
        .await
        .unwrap();
    let p = problem(response, 422).await;
    assert_eq!(p["errors"][0]["code"], "needs_user", "{p}");

    let (browser, page) = signed_in(&server, "ada").await;
    assert!(
        page.contains("action=\"/account/security/phone\""),
        "{page}"
    );
    let (status, html) = post(
        &browser,
        &page,
        "/account/security/phone",
        &[("phone", "0207 946 1234"), ("channel", "sms")],
    )
    .await;
    assert_eq!(status, 400, "not E.164: {html}");
    assert!(provider.calls().is_empty());

    let (status, html) = post(
        &browser,
        &page,
        "/account/security/phone",
        &[("phone", "+44 20 7946 1234"), ("channel", "sms")],
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Verify your phone"), "{html}");
    assert!(html.contains("+••••••••1234"), "{html}");
    assert_eq!(provider.calls().len(), 1);
    let call = provider.last();
    verify_signature(&server, &call);
    let body = call.json();
    assert_eq!(body["to"], "+442079461234");
    assert_eq!(body["channel"], "sms");
    assert_eq!(body["purpose"], "enrol");
    assert_eq!(body["org_id"], DEFAULT_ORG);
    let code = call.code();
    assert!(
        code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()),
        "{code}"
    );
    assert!(body["message"].as_str().unwrap().contains(&code));

    // Another enrolment at once is refused (each one sends a text).
    let (status, other) = post(
        &browser,
        &page,
        "/account/security/phone",
        &[("phone", "+15550100199"), ("channel", "sms")],
    )
    .await;
    assert_eq!(status, 429, "{other}");
    assert_eq!(provider.calls().len(), 1);

    // A resend at once is refused; a wrong code is refused; the right one activates.
    let (status, html) = post(&browser, &html, "/account/security/phone/resend", &[]).await;
    assert_eq!(status, 429, "{html}");
    assert_eq!(provider.calls().len(), 1);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (status, html) = post(
        &browser,
        &html,
        "/account/security/phone/activate",
        &[("otp", wrong)],
    )
    .await;
    assert_eq!(status, 400, "{html}");
    let (status, html) = post(
        &browser,
        &html,
        "/account/security/phone/activate",
        &[("otp", &code)],
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("Recovery codes"),
        "first factor: codes shown once: {html}"
    );

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
    let phone = &list["items"][0];
    assert_eq!(phone["type"], "phone");
    assert_eq!(phone["status"], "active");
    assert_eq!(phone["phone"], "+••••••••1234");
    assert_eq!(phone["channel"], "sms");
    assert!(!list.to_string().contains("2079461234"), "{list}");

    // Sign-in with a texted code.
    set_policy(
        &server,
        json!({"second_factor": "always", "allowed_factors": ["phone"]}),
    )
    .await;
    let (client_id, secret) = register(&server, json!({})).await;
    let rp = discover(&server, &client_id, &secret).await;
    let browser = Browser::new(&server.url("")).unwrap();
    let started = start(&rp, &["profile"], &[]);
    let page = to_factor_page(&browser, &started.url, "ada").await;
    assert!(page.contains("name=\"send_phone\""), "{page}");
    assert!(page.contains("Send a code by text message"), "{page}");
    let (status, page) = post(&browser, &page, "/login/factor", &[("send_phone", "1")]).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("We sent a code to your phone."), "{page}");
    let call = provider.last();
    verify_signature(&server, &call);
    assert_eq!(call.json()["purpose"], "sign_in");
    let code = call.code();
    let response = browser.fill(&page, &[("otp", &code)]).await.unwrap();
    let landing = browser
        .follow(response, None, Consent::Allow)
        .await
        .unwrap();
    assert_eq!(amr_after(&rp, started, &landing).await, ["pwd", "sms"]);

    // The same code again, in a fresh sign-in: refused.
    let other = Browser::new(&server.url("")).unwrap();
    let page = to_factor_page(&other, &start(&rp, &["profile"], &[]).url, "ada").await;
    let response = other.fill(&page, &[("otp", &code)]).await.unwrap();
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("role=\"alert\""),
        "a spent code was accepted: {html}"
    );

    // A new code, submitted by two challenges at once: exactly one wins.
    server.clock.advance_secs(30);
    let one = Browser::new(&server.url("")).unwrap();
    let two = Browser::new(&server.url("")).unwrap();
    let page_one = to_factor_page(&one, &start(&rp, &["profile"], &[]).url, "ada").await;
    let page_two = to_factor_page(&two, &start(&rp, &["profile"], &[]).url, "ada").await;
    let (status, page_one) = post(&one, &page_one, "/login/factor", &[("send_phone", "1")]).await;
    assert_eq!(status, 200, "{page_one}");
    let code = provider.last().code();
    let fields = [("otp", code.as_str())];
    let (a, b) = tokio::join!(one.fill(&page_one, &fields), two.fill(&page_two, &fields));
    let redirected = [a.unwrap(), b.unwrap()]
        .iter()
        .filter(|r| r.status().is_redirection())
        .count();
    assert_eq!(redirected, 1);
}

#[tokio::test]
async fn phone_enrol_sign_in_and_replay_sqlite() {
    let (server, provider) = server_with_provider(false).await.unwrap();
    phone_enrol_sign_in_and_replay(server, provider).await;
}

#[tokio::test]
async fn phone_enrol_sign_in_and_replay_postgres() {
    let Some((server, provider)) = server_with_provider(true).await else {
        return;
    };
    phone_enrol_sign_in_and_replay(server, provider).await;
}

/// A provider answering 500 is "could not send" on the page (never a 500
/// of ours), audited as a failure; the user can try again and the sign-in
/// goes on with another factor.
#[tokio::test]
async fn provider_failure_is_could_not_send() {
    let (server, provider) = server_with_provider(false).await.unwrap();
    let ada = user(&server, "ada").await;
    let id = ada["id"].as_str().unwrap();
    let (browser, page) = signed_in(&server, "ada").await;

    provider.answer(500);
    let (status, html) = post(
        &browser,
        &page,
        "/account/security/phone",
        &[("phone", "+1 555 010 0199"), ("channel", "voice")],
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("could not send"), "{html}");
    assert_eq!(provider.calls().len(), 1);
    let failed = server
        .services
        .store()
        .list_audit(&AuditQuery {
            action: Some("phone.code_sent".into()),
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(failed.items.len(), 1);
    assert_eq!(
        failed.items[0].outcome,
        gatehouse_core::model::Outcome::Failure
    );

    // Once the provider works again, a resend (30 s later) goes through.
    provider.answer(200);
    server.clock.advance_secs(30);
    let (status, html) = post(&browser, &html, "/account/security/phone/resend", &[]).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("We sent a new code."), "{html}");
    let call = provider.last();
    assert_eq!(call.json()["channel"], "voice");
    let (status, _) = post(
        &browser,
        &html,
        "/account/security/phone/activate",
        &[("otp", &call.code())],
    )
    .await;
    assert_eq!(status, 200);

    // At sign-in the provider fails again: the page says so; a question
    // (also allowed) still completes the sign-in.
    server
        .admin()
        .create(
            &format!("/api/v1/users/{id}/factors"),
            json!({"type": "question", "question": "first_pet", "answer": "Fluffy"}),
        )
        .await;
    set_policy(
        &server,
        json!({"second_factor": "always", "allowed_factors": ["phone", "question"]}),
    )
    .await;
    let (client_id, secret) = register(&server, json!({})).await;
    let rp = discover(&server, &client_id, &secret).await;
    let browser = Browser::new(&server.url("")).unwrap();
    let started = start(&rp, &["profile"], &[]);
    let page = to_factor_page(&browser, &started.url, "ada").await;
    assert!(page.contains("Call me with a code"), "{page}");
    provider.answer(503);
    let (status, page) = post(&browser, &page, "/login/factor", &[("send_phone", "1")]).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("could not send"), "{page}");
    let response = browser.fill(&page, &[("answer", "fluffy")]).await.unwrap();
    let landing = browser
        .follow(response, None, Consent::Allow)
        .await
        .unwrap();
    assert_eq!(amr_after(&rp, started, &landing).await, ["pwd", "kba"]);
}

/// A voice code proves `tel`; the admin reset removes phone and question.
#[tokio::test]
async fn voice_code_is_tel_and_reset_removes_both() {
    let (server, provider) = server_with_provider(false).await.unwrap();
    let ada = user(&server, "ada").await;
    let id = ada["id"].as_str().unwrap();
    let (browser, page) = signed_in(&server, "ada").await;
    let (_, html) = post(
        &browser,
        &page,
        "/account/security/phone",
        &[("phone", "+15550100199"), ("channel", "voice")],
    )
    .await;
    let (status, _) = post(
        &browser,
        &html,
        "/account/security/phone/activate",
        &[("otp", &provider.last().code())],
    )
    .await;
    assert_eq!(status, 200);
    set_policy(
        &server,
        json!({"second_factor": "always", "allowed_factors": ["phone"]}),
    )
    .await;
    let (client_id, secret) = register(&server, json!({})).await;
    let rp = discover(&server, &client_id, &secret).await;
    let browser = Browser::new(&server.url("")).unwrap();
    let started = start(&rp, &["profile"], &[]);
    let page = to_factor_page(&browser, &started.url, "ada").await;
    let (_, page) = post(&browser, &page, "/login/factor", &[("send_phone", "1")]).await;
    let call = provider.last();
    assert_eq!(call.json()["channel"], "voice");
    let response = browser.fill(&page, &[("otp", &call.code())]).await.unwrap();
    let landing = browser
        .follow(response, None, Consent::Allow)
        .await
        .unwrap();
    assert_eq!(amr_after(&rp, started, &landing).await, ["pwd", "tel"]);

    server
        .admin()
        .create(
            &format!("/api/v1/users/{id}/factors"),
            json!({"type": "question", "question": "first_pet", "answer": "Fluffy"}),
        )
        .await;
    let response = server
        .admin()
        .delete(&format!("/api/v1/users/{id}/factors"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
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
    assert!(list["items"].as_array().unwrap().is_empty(), "{list}");
}
