//! OpenID Connect Back-Channel Logout 1.0 end to end: a user signs in to
//! relying parties through the hosted pages, the session ends (RP-initiated
//! logout or an administrator), and each relying party that registered a
//! `backchannel_logout_uri` receives a Logout Token — checked here with an
//! independent JWT library against the published JWKS. Deliveries that fail
//! are retried on the fake clock and finally dropped with an audit event.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine as _;
use common::rp::{discover, exchange, register, sign_in, start, user};
use gatehouse_core::model::AuditQuery;
use gatehouse_core::services::oauth::{LOGOUT_EVENT, LOGOUT_TOKEN_TTL_SECS, MAX_ATTEMPTS};
use gatehouse_testkit::TestServer;
use gatehouse_testkit::browser::{Browser, Consent, Landing};
use jsonwebtoken as jt;
use openidconnect::TokenResponse;
use serde_json::{Value, json};

/// One POST the receiver got.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    content_type: String,
    form: HashMap<String, String>,
}

#[derive(Clone)]
struct Receiver {
    received: Arc<Mutex<Vec<Received>>>,
    /// The status every request is answered with.
    status: Arc<AtomicU16>,
    base: String,
}

impl Receiver {
    /// A relying party's back-channel logout endpoint on 127.0.0.1:0.
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let receiver = Self {
            received: Arc::default(),
            status: Arc::new(AtomicU16::new(200)),
            base: format!("http://{}", listener.local_addr().unwrap()),
        };
        let app = Router::new()
            .route("/logout/{rp}", post(receive))
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        receiver
    }

    fn uri(&self, rp: &str) -> String {
        format!("{}/logout/{rp}", self.base)
    }

    fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

async fn receive(
    State(receiver): State<Receiver>,
    axum::extract::Path(rp): axum::extract::Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> StatusCode {
    receiver.received.lock().unwrap().push(Received {
        path: rp,
        content_type: headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        form,
    });
    StatusCode::from_u16(receiver.status.load(Ordering::SeqCst)).unwrap()
}

/// The claims of a JWT, without checking it (for our own ID tokens).
fn payload(token: &str) -> Value {
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

/// §2.6 as a relying party would check it, with `jsonwebtoken` against the
/// provider's JWKS: signature, `typ`, `iss`, `aud`, `events`, no `nonce`.
async fn verify_logout_token(server: &TestServer, token: &str, audience: &str) -> Value {
    let jwks: jt::jwk::JwkSet = server
        .client()
        .get(server.url("/oauth2/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jt::decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
    assert_eq!(header.alg, jt::Algorithm::RS256, "the ID-token algorithm");
    let key = jt::DecodingKey::from_jwk(jwks.find(&header.kid.unwrap()).unwrap()).unwrap();
    let mut validation = jt::Validation::new(header.alg);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[server.url("")]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud"]);
    let claims = jt::decode::<Value>(token, &key, &validation)
        .unwrap()
        .claims;
    assert_eq!(claims["events"], json!({ LOGOUT_EVENT: {} }));
    assert!(claims.get("nonce").is_none(), "§2.4: nonce is prohibited");
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        LOGOUT_TOKEN_TTL_SECS
    );
    claims
}

/// A client with a back-channel logout URI, signed in to through `browser`;
/// returns its client id and the ID token it got.
async fn signed_in_client(
    server: &TestServer,
    browser: &Browser,
    extra: Value,
) -> (String, String) {
    let (client_id, secret) = register(server, extra).await;
    let rp = discover(server, &client_id, &secret).await;
    let started = start(&rp, &["email"], &[]);
    let code = sign_in(browser, &started, "ada").await;
    let tokens = exchange(&rp, &code, started.verifier).await;
    (client_id, tokens.id_token().unwrap().to_string())
}

async fn rp_initiated_logout_notifies_every_back_channel_client(server: TestServer) {
    let receiver = Receiver::start().await;
    user(&server, "ada").await;
    let browser = Browser::new(&server.url("")).unwrap();
    let (public_id, public_token) = signed_in_client(
        &server,
        &browser,
        json!({
            "backchannel_logout_uri": receiver.uri("public"),
            "backchannel_logout_session_required": true,
        }),
    )
    .await;
    // The second app signs in through the SSO session; it sees a pairwise `sub`.
    let (pairwise_id, pairwise_token) = signed_in_client(
        &server,
        &browser,
        json!({ "backchannel_logout_uri": receiver.uri("pairwise"), "subject_type": "pairwise" }),
    )
    .await;
    // A third app registered no back-channel URI and is not called.
    signed_in_client(&server, &browser, json!({})).await;
    let public_claims = payload(&public_token);
    let pairwise_claims = payload(&pairwise_token);
    assert_ne!(public_claims["sub"], pairwise_claims["sub"]);
    assert_eq!(public_claims["sid"], pairwise_claims["sid"]);

    let url = format!(
        "{}?id_token_hint={public_token}",
        server.url("/oauth2/logout")
    );
    match browser.walk(&url, None, Consent::Deny).await.unwrap() {
        Landing::Page(200, _) => {}
        other => panic!("expected the signed-out page, got {other:?}"),
    }
    assert!(
        receiver.received().is_empty(),
        "sent by the worker, not inline"
    );

    assert_eq!(server.deliver_logouts().await, 2);
    let mut received = receiver.received();
    received.sort_by(|a, b| a.path.cmp(&b.path));
    assert_eq!(received.len(), 2);
    for (got, client_id, id_token) in [
        (&received[0], &pairwise_id, &pairwise_claims),
        (&received[1], &public_id, &public_claims),
    ] {
        assert_eq!(got.content_type, "application/x-www-form-urlencoded");
        let claims = verify_logout_token(&server, &got.form["logout_token"], client_id).await;
        assert_eq!(claims["sub"], id_token["sub"], "the sub this client knows");
        assert_eq!(claims["sid"], id_token["sid"]);
    }
    // Delivered once: nothing is left to send.
    assert_eq!(server.deliver_logouts().await, 0);
    assert_eq!(receiver.received().len(), 2);
}

#[tokio::test]
async fn rp_initiated_logout_notifies_every_back_channel_client_on_sqlite() {
    rp_initiated_logout_notifies_every_back_channel_client(TestServer::start().await).await;
}

#[tokio::test]
async fn rp_initiated_logout_notifies_every_back_channel_client_on_postgres() {
    let Some(server) = TestServer::start_postgres().await else {
        return;
    };
    rp_initiated_logout_notifies_every_back_channel_client(server).await;
}

#[tokio::test]
async fn admin_revocation_notifies_and_a_failed_delivery_is_retried() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    user(&server, "ada").await;
    let browser = Browser::new(&server.url("")).unwrap();
    let (client_id, id_token) = signed_in_client(
        &server,
        &browser,
        json!({ "backchannel_logout_uri": receiver.uri("app") }),
    )
    .await;
    let sid = payload(&id_token)["sid"].as_str().unwrap().to_owned();
    let response = server
        .admin()
        .delete(&format!("/api/v1/sessions/{sid}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);

    receiver.answer(503);
    assert_eq!(server.deliver_logouts().await, 0);
    assert_eq!(receiver.received().len(), 1);
    // Not due again until the back-off has passed.
    receiver.answer(200);
    assert_eq!(server.deliver_logouts().await, 0);
    server.clock.advance_secs(29);
    assert_eq!(server.deliver_logouts().await, 0);
    assert_eq!(receiver.received().len(), 1);
    server.clock.advance_secs(1);
    assert_eq!(server.deliver_logouts().await, 1);
    let received = receiver.received();
    assert_eq!(received.len(), 2);
    // The retry carries a freshly signed token for the same session.
    let first = &received[0].form["logout_token"];
    let second = &received[1].form["logout_token"];
    assert_ne!(first, second);
    let claims = verify_logout_token(&server, second, &client_id).await;
    assert_eq!(claims["sid"], sid);
    assert_ne!(payload(first)["jti"], claims["jti"]);
}

#[tokio::test]
async fn a_delivery_that_keeps_failing_is_dropped_with_an_audit_event() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    receiver.answer(500);
    user(&server, "ada").await;
    let browser = Browser::new(&server.url("")).unwrap();
    let (client_id, id_token) = signed_in_client(
        &server,
        &browser,
        json!({ "backchannel_logout_uri": receiver.uri("app") }),
    )
    .await;
    let url = format!("{}?id_token_hint={id_token}", server.url("/oauth2/logout"));
    browser.walk(&url, None, Consent::Deny).await.unwrap();

    let failed = AuditQuery {
        action: Some("logout.delivery_failed".into()),
        limit: 10,
        ..AuditQuery::default()
    };
    let mut wait = 30;
    for attempt in 1..=MAX_ATTEMPTS {
        assert_eq!(server.deliver_logouts().await, 0);
        assert_eq!(receiver.received().len() as u32, attempt);
        if attempt < MAX_ATTEMPTS {
            let events = server.services.store().list_audit(&failed).await.unwrap();
            assert!(events.items.is_empty(), "given up after {attempt} attempts");
        }
        server.clock.advance_secs(wait);
        wait *= 2;
    }
    let events = server.services.store().list_audit(&failed).await.unwrap();
    assert_eq!(events.items.len(), 1);
    let event = &events.items[0];
    assert_eq!(event.target_id.as_deref(), Some(client_id.as_str()));
    assert_eq!(event.details["attempts"], MAX_ATTEMPTS);
    assert_eq!(event.details["last_error"], "HTTP 500");
    assert_eq!(event.details["sid"], payload(&id_token)["sid"]);
    // Dropped: even a recovered receiver hears nothing more.
    receiver.answer(200);
    server.clock.advance_secs(24 * 3600);
    assert_eq!(server.deliver_logouts().await, 0);
    assert_eq!(receiver.received().len() as u32, MAX_ATTEMPTS);
}
