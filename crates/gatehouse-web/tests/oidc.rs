//! The OpenID Provider driven end to end by the `openidconnect` crate as the
//! relying party and a scripted browser on the hosted pages: discovery,
//! authorization code with PKCE, ID-token verification, userinfo, refresh,
//! SSO, logout — on SQLite always and on PostgreSQL when configured — and one
//! negative test per MUST of the token endpoint.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::rp::{
    PASSWORD, REDIRECT, callback, discover, exchange, http, param, register, sign_in, start, user,
};
use gatehouse_testkit::TestServer;
use gatehouse_testkit::browser::{Browser, Consent, Landing};
use openidconnect::core::CoreUserInfoClaims;
use openidconnect::{AccessTokenHash, OAuth2TokenResponse, TokenResponse};
use serde_json::{Value, json};

async fn full_flow(server: &TestServer) {
    user(server, "ada").await;
    let (client_id, secret) = register(server, json!({})).await;
    let rp = discover(server, &client_id, &secret).await;
    let browser = Browser::new(&server.url("")).unwrap();

    let started = start(&rp, &["profile", "email", "offline_access"], &[]);
    let code = sign_in(&browser, &started, "ada").await;
    let tokens = exchange(&rp, &code, started.verifier).await;

    // The ID token verifies against the JWKS and carries what was asked for.
    let id_token = tokens.id_token().expect("an ID token");
    let verifier = rp.id_token_verifier();
    let claims = id_token.claims(&verifier, &started.nonce).unwrap();
    assert_eq!(claims.email().map(|e| e.as_str()), Some("ada@example.com"));
    assert_eq!(claims.preferred_username().map(|u| u.as_str()), Some("ada"));
    assert!(claims.auth_time().is_some());
    assert_eq!(
        claims.auth_context_ref().map(|acr| acr.as_str()),
        Some("1"),
        "password sign-in is one factor"
    );
    assert!(
        claims
            .auth_method_refs()
            .is_some_and(|amr| amr.iter().any(|m| m.as_str() == "pwd"))
    );
    let at_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&at_hash));

    // Userinfo with the access token.
    let info: CoreUserInfoClaims = rp
        .user_info(tokens.access_token().to_owned(), None)
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(info.subject(), claims.subject());
    assert_eq!(info.email().map(|e| e.as_str()), Some("ada@example.com"));

    // Refresh: a new access token and a rotated refresh token.
    let refresh = tokens.refresh_token().expect("a refresh token").clone();
    let refreshed = rp
        .exchange_refresh_token(&refresh)
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();
    assert_ne!(
        refreshed.access_token().secret(),
        tokens.access_token().secret()
    );
    let rotated = refreshed.refresh_token().expect("a rotated refresh token");
    assert_ne!(rotated.secret(), refresh.secret());
    let refreshed_id = refreshed.id_token().expect("an ID token on refresh");
    let refreshed_claims = refreshed_id
        .claims(&verifier, |_: Option<&openidconnect::Nonce>| Ok(()))
        .unwrap();
    assert_eq!(refreshed_claims.subject(), claims.subject());

    // SSO: the same browser signs in again without a password and without
    // being asked to consent again.
    let again = start(
        &rp,
        &["profile", "email", "offline_access"],
        &[("prompt", "none")],
    );
    let landing = browser.walk(&again.url, None, Consent::Deny).await.unwrap();
    let pairs = callback(&landing);
    assert!(param(&pairs, "code").is_some(), "{pairs:?}");
    assert_eq!(param(&pairs, "iss"), Some(server.url("").as_str()));
}

#[tokio::test]
async fn code_flow_with_pkce_userinfo_refresh_and_sso_on_sqlite() {
    full_flow(&TestServer::start().await).await;
}

#[tokio::test]
async fn code_flow_with_pkce_userinfo_refresh_and_sso_on_postgres() {
    let Some(server) = TestServer::start_postgres().await else {
        return;
    };
    full_flow(&server).await;
}

/// A raw token request with HTTP Basic client authentication.
async fn token_request(
    server: &TestServer,
    client_id: &str,
    secret: &str,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let response = server
        .client()
        .post(server.url("/oauth2/token"))
        .basic_auth(client_id, Some(secret))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    assert_eq!(response.headers()["cache-control"], "no-store");
    (status, response.json().await.unwrap())
}

async fn userinfo_status(server: &TestServer, token: &str) -> u16 {
    server
        .client()
        .get(server.url("/oauth2/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// A signed-in user, a client and a fresh code for it.
struct Fixture {
    server: TestServer,
    client_id: String,
    secret: String,
    code: String,
    verifier: String,
}

impl Fixture {
    /// The code exchange the authorization request was made for.
    fn exchange_form(&self) -> [(&str, &str); 4] {
        [
            ("grant_type", "authorization_code"),
            ("code", self.code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", self.verifier.as_str()),
        ]
    }

    /// Sends that exchange with the client's own credentials.
    async fn exchange(&self) -> (u16, Value) {
        token_request(
            &self.server,
            &self.client_id,
            &self.secret,
            &self.exchange_form(),
        )
        .await
    }
}

async fn fixture() -> Fixture {
    let server = TestServer::start().await;
    user(&server, "ada").await;
    let (client_id, secret) = register(&server, json!({})).await;
    let rp = discover(&server, &client_id, &secret).await;
    let browser = Browser::new(&server.url("")).unwrap();
    let started = start(&rp, &["email"], &[]);
    let code = sign_in(&browser, &started, "ada").await;
    Fixture {
        server,
        client_id,
        secret,
        code,
        verifier: started.verifier.secret().clone(),
    }
}

#[tokio::test]
async fn a_reused_code_is_refused_and_revokes_what_it_issued() {
    let f = fixture().await;
    let form = f.exchange_form();
    let (status, first) = token_request(&f.server, &f.client_id, &f.secret, &form).await;
    assert_eq!(status, 200, "{first}");
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(userinfo_status(&f.server, access).await, 200);

    let (status, second) = token_request(&f.server, &f.client_id, &f.secret, &form).await;
    assert_eq!(
        (status, second["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // RFC 6749 §4.1.2: tokens issued from the code are revoked.
    assert_eq!(userinfo_status(&f.server, access).await, 401);
    let refresh = first["refresh_token"].as_str().unwrap();
    let (status, body) = token_request(
        &f.server,
        &f.client_id,
        &f.secret,
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn a_wrong_pkce_verifier_is_refused() {
    let f = fixture().await;
    let wrong = "x".repeat(50);
    let (status, body) = token_request(
        &f.server,
        &f.client_id,
        &f.secret,
        &[
            ("grant_type", "authorization_code"),
            ("code", f.code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", wrong.as_str()),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // Missing verifier when a challenge was sent.
    let f = fixture().await;
    let (status, body) = token_request(
        &f.server,
        &f.client_id,
        &f.secret,
        &[
            ("grant_type", "authorization_code"),
            ("code", f.code.as_str()),
            ("redirect_uri", REDIRECT),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
}

#[tokio::test]
async fn a_different_redirect_uri_at_the_token_endpoint_is_refused() {
    let f = fixture().await;
    let (status, body) = token_request(
        &f.server,
        &f.client_id,
        &f.secret,
        &[
            ("grant_type", "authorization_code"),
            ("code", f.code.as_str()),
            ("redirect_uri", "http://127.0.0.1:9/other"),
            ("code_verifier", f.verifier.as_str()),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let f = fixture().await;
    f.server.clock.advance_secs(61);
    let (status, body) = f.exchange().await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn another_clients_code_and_wrong_secrets_are_refused() {
    let f = fixture().await;
    let (other_id, other_secret) = register(&f.server, json!({"client_name": "Other"})).await;
    let form = f.exchange_form();
    let (status, body) = token_request(&f.server, &other_id, &other_secret, &form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    // A wrong secret and an unknown client look the same: 401 invalid_client.
    let response = f
        .server
        .client()
        .post(f.server.url("/oauth2/token"))
        .basic_auth(&f.client_id, Some("wrong"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert!(response.headers().contains_key("www-authenticate"));
    let wrong: Value = response.json().await.unwrap();
    let (status, unknown) = token_request(&f.server, "no-such-client", "x", &form).await;
    assert_eq!(status, 401);
    assert_eq!(wrong, unknown);
    assert_eq!(wrong["error"], "invalid_client");
}

#[tokio::test]
async fn refresh_token_reuse_revokes_the_family() {
    let f = fixture().await;
    let (_, first) = f.exchange().await;
    let r1 = first["refresh_token"].as_str().unwrap().to_owned();
    let refresh = |token: String| {
        let server = &f.server;
        let (id, secret) = (f.client_id.clone(), f.secret.clone());
        async move {
            token_request(
                server,
                &id,
                &secret,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", token.as_str()),
                ],
            )
            .await
        }
    };
    let (status, second) = refresh(r1.clone()).await;
    assert_eq!(status, 200, "{second}");
    let r2 = second["refresh_token"].as_str().unwrap().to_owned();
    let access2 = second["access_token"].as_str().unwrap().to_owned();
    // The old token again: theft is assumed, the whole family dies.
    let (status, body) = refresh(r1).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, body) = refresh(r2).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(userinfo_status(&f.server, &access2).await, 401);
}

#[tokio::test]
async fn unregistered_redirect_uris_get_an_error_page_never_a_redirect() {
    let server = TestServer::start().await;
    let (client_id, _) = register(&server, json!({})).await;
    let browser = Browser::new(&server.url("")).unwrap();
    for redirect in [
        "https://evil.example/cb",
        "http://127.0.0.1:9/callback/extra",
    ] {
        let url = format!(
            "{}?response_type=code&client_id={client_id}&scope=openid&redirect_uri={}&state=s&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
            server.url("/oauth2/authorize"),
            url::form_urlencoded::byte_serialize(redirect.as_bytes()).collect::<String>()
        );
        match browser.walk(&url, None, Consent::Deny).await.unwrap() {
            Landing::Page(status, html) => {
                assert_eq!(status, 400);
                assert!(html.contains("redirect"), "{html}");
            }
            Landing::Client(url) => panic!("redirected to {url}"),
        }
    }
    // An unknown client: an error page too.
    let url = format!(
        "{}?response_type=code&client_id=nobody&redirect_uri={}",
        server.url("/oauth2/authorize"),
        REDIRECT
    );
    assert!(matches!(
        browser.walk(&url, None, Consent::Deny).await.unwrap(),
        Landing::Page(400, _)
    ));
}

#[tokio::test]
async fn prompt_none_without_a_session_and_denied_consent_go_back_with_errors() {
    let server = TestServer::start().await;
    user(&server, "ada").await;
    let (client_id, secret) = register(&server, json!({})).await;
    let rp = discover(&server, &client_id, &secret).await;
    let browser = Browser::new(&server.url("")).unwrap();

    let started = start(&rp, &["email"], &[("prompt", "none")]);
    let pairs = callback(
        &browser
            .walk(&started.url, None, Consent::Deny)
            .await
            .unwrap(),
    );
    assert_eq!(param(&pairs, "error"), Some("login_required"));
    assert_eq!(
        param(&pairs, "state"),
        Some(started.state.secret().as_str())
    );
    assert_eq!(param(&pairs, "iss"), Some(server.url("").as_str()));

    let started = start(&rp, &["email"], &[]);
    let landing = browser
        .walk(&started.url, Some(("ada", PASSWORD)), Consent::Deny)
        .await
        .unwrap();
    let pairs = callback(&landing);
    assert_eq!(param(&pairs, "error"), Some("access_denied"));
    assert!(param(&pairs, "code").is_none());
}

#[tokio::test]
async fn wrong_and_unknown_logins_get_the_same_page_and_no_session() {
    let server = TestServer::start().await;
    user(&server, "ada").await;
    let (client_id, secret) = register(&server, json!({})).await;
    let rp = discover(&server, &client_id, &secret).await;
    let mut pages = Vec::new();
    for (username, password) in [("ada", "wrong-password-1"), ("nobody", "wrong-password-1")] {
        let browser = Browser::new(&server.url("")).unwrap();
        let started = start(&rp, &["email"], &[]);
        match browser
            .walk(&started.url, Some((username, password)), Consent::Allow)
            .await
            .unwrap()
        {
            Landing::Page(status, html) => {
                assert!(html.contains("Invalid username or password."), "{html}");
                // Only the echoed username, the CSRF token and the request handle differ.
                let normalised = html
                    .replace(username, "USER")
                    .split("<input")
                    .filter(|part| !part.contains("type=\"hidden\""))
                    .collect::<Vec<_>>()
                    .join("<input");
                pages.push((status, normalised));
            }
            Landing::Client(url) => panic!("signed in with a wrong password: {url}"),
        }
    }
    assert_eq!(pages[0], pages[1]);
}

#[tokio::test]
async fn a_login_post_without_the_csrf_token_is_refused() {
    let server = TestServer::start().await;
    user(&server, "ada").await;
    let browser = Browser::new(&server.url("")).unwrap();
    let response = browser
        .post_form(
            "/login",
            &[
                ("username".into(), "ada".into()),
                ("password".into(), PASSWORD.into()),
            ],
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(response.headers().get("set-cookie").is_none());
}

#[tokio::test]
async fn logout_ends_the_session_and_returns_to_the_registered_uri() {
    let server = TestServer::start().await;
    user(&server, "ada").await;
    let (client_id, secret) = register(&server, json!({})).await;
    let rp = discover(&server, &client_id, &secret).await;
    let browser = Browser::new(&server.url("")).unwrap();
    let started = start(&rp, &["email"], &[]);
    let code = sign_in(&browser, &started, "ada").await;
    let tokens = exchange(&rp, &code, started.verifier).await;
    let id_token = tokens.id_token().unwrap().to_string();

    // An unregistered post-logout URI is an error page.
    let bad = format!(
        "{}?id_token_hint={id_token}&post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F",
        server.url("/oauth2/logout")
    );
    assert!(matches!(
        browser.walk(&bad, None, Consent::Deny).await.unwrap(),
        Landing::Page(400, _)
    ));

    let url = format!(
        "{}?id_token_hint={id_token}&post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fsigned-out&state=bye",
        server.url("/oauth2/logout")
    );
    match browser.walk(&url, None, Consent::Deny).await.unwrap() {
        Landing::Client(to) => assert_eq!(to, "http://127.0.0.1:9/signed-out?state=bye"),
        Landing::Page(status, html) => panic!("{status}: {html}"),
    }
    // The session is over: prompt=none now needs a login, and the access
    // token of the session's grant no longer works.
    let again = start(&rp, &["email"], &[("prompt", "none")]);
    let pairs = callback(&browser.walk(&again.url, None, Consent::Deny).await.unwrap());
    assert_eq!(param(&pairs, "error"), Some("login_required"));
    assert_eq!(
        userinfo_status(&server, tokens.access_token().secret()).await,
        401
    );
}

#[tokio::test]
async fn forged_tokens_are_refused_at_userinfo() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    let f = fixture().await;
    let (_, tokens) = f.exchange().await;
    let real = tokens["access_token"].as_str().unwrap();
    let payload = real.split('.').nth(1).unwrap();
    // alg none with the real payload.
    let none = format!(
        "{}.{payload}.",
        B64.encode(br#"{"alg":"none","typ":"at+jwt"}"#)
    );
    assert_eq!(userinfo_status(&f.server, &none).await, 401);
    // HS256 "signed" with the public JWKS as the secret (key confusion): the
    // algorithm is not accepted at all, whatever the MAC.
    let hs = format!(
        "{}.{payload}.{}",
        B64.encode(br#"{"alg":"HS256","typ":"at+jwt"}"#),
        B64.encode([0u8; 32])
    );
    assert_eq!(userinfo_status(&f.server, &hs).await, 401);
    // The real token with its payload altered.
    let mut claims: Value = serde_json::from_slice(&B64.decode(payload).unwrap()).unwrap();
    claims["sub"] = json!("someone-else");
    let parts: Vec<&str> = real.split('.').collect();
    let altered = format!(
        "{}.{}.{}",
        parts[0],
        B64.encode(claims.to_string()),
        parts[2]
    );
    assert_eq!(userinfo_status(&f.server, &altered).await, 401);
    assert_eq!(userinfo_status(&f.server, real).await, 200);
}

#[tokio::test]
async fn client_credentials_introspection_and_revocation() {
    use oauth2::basic::BasicClient;
    use oauth2::{ClientId, ClientSecret, TokenUrl};
    let server = TestServer::start().await;
    let (client_id, secret) = register(
        &server,
        json!({"grant_types": ["client_credentials"], "response_types": [], "redirect_uris": [], "scope": "reports.read"}),
    )
    .await;
    let client = BasicClient::new(ClientId::new(client_id.clone()))
        .set_client_secret(ClientSecret::new(secret.clone()))
        .set_token_uri(TokenUrl::new(server.url("/oauth2/token")).unwrap());
    let token = client
        .exchange_client_credentials()
        .add_scope(oauth2::Scope::new("reports.read".into()))
        .request_async(&http)
        .await
        .unwrap();
    let access = token.access_token().secret().clone();

    let introspect = |token: String| {
        let server = &server;
        let (id, secret) = (client_id.clone(), secret.clone());
        async move {
            server
                .client()
                .post(server.url("/oauth2/introspect"))
                .basic_auth(id, Some(secret))
                .form(&[("token", token)])
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let active = introspect(access.clone()).await;
    assert_eq!(active["active"], true, "{active}");
    assert_eq!(active["client_id"], client_id.as_str());
    assert_eq!(active["scope"], "reports.read");
    assert_eq!(introspect("garbage".into()).await, json!({"active": false}));

    let response = server
        .client()
        .post(server.url("/oauth2/revoke"))
        .basic_auth(&client_id, Some(&secret))
        .form(&[("token", access.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(introspect(access).await, json!({"active": false}));

    // Not allowed: openid scope without a user.
    let refused = client
        .exchange_client_credentials()
        .add_scope(oauth2::Scope::new("openid".into()))
        .request_async(&http)
        .await;
    assert!(refused.is_err());
}

#[tokio::test]
async fn device_flow_with_the_oauth2_crate() {
    use oauth2::basic::BasicClient;
    use oauth2::{
        ClientId, ClientSecret, DeviceAuthorizationUrl, Scope, StandardDeviceAuthorizationResponse,
        TokenResponse as _, TokenUrl,
    };
    let server = TestServer::start().await;
    user(&server, "ada").await;
    let (client_id, secret) = register(
        &server,
        json!({"grant_types": ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"],
               "response_types": [], "redirect_uris": [], "scope": "openid email offline_access"}),
    )
    .await;
    let client = BasicClient::new(ClientId::new(client_id.clone()))
        .set_client_secret(ClientSecret::new(secret.clone()))
        .set_token_uri(TokenUrl::new(server.url("/oauth2/token")).unwrap())
        .set_device_authorization_url(
            DeviceAuthorizationUrl::new(server.url("/oauth2/device_authorization")).unwrap(),
        );
    let details: StandardDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scope(Scope::new("openid".into()))
        .add_scope(Scope::new("email".into()))
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(details.verification_uri().as_str(), server.url("/device"));

    // Polling before the user answers: pending, then slow_down when too fast.
    let device_code = details.device_code().secret().clone();
    let poll = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ("device_code", device_code.as_str()),
    ];
    let (status, body) = token_request(&server, &client_id, &secret, &poll).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("authorization_pending"))
    );
    let (_, body) = token_request(&server, &client_id, &secret, &poll).await;
    assert_eq!(body["error"], "slow_down");

    // The user signs in on /device and allows it.
    let browser = Browser::new(&server.url("")).unwrap();
    let complete = details
        .verification_uri_complete()
        .unwrap()
        .secret()
        .clone();
    match browser
        .walk(&complete, Some(("ada", PASSWORD)), Consent::Allow)
        .await
        .unwrap()
    {
        Landing::Page(200, html) => assert!(html.contains("Device connected"), "{html}"),
        other => panic!("{other:?}"),
    }

    // The crate polls (its sleeps move the fake clock) and gets the tokens.
    let clock = server.clock.clone();
    let sleep = move |d: std::time::Duration| {
        clock.advance_secs(i64::try_from(d.as_secs()).unwrap() + 1);
        std::future::ready(())
    };
    let tokens = client
        .exchange_device_access_token(&details)
        .request_async(&http, sleep, None)
        .await
        .unwrap();
    assert!(tokens.refresh_token().is_some(), "the client may refresh");
    assert_eq!(
        userinfo_status(&server, tokens.access_token().secret()).await,
        200
    );

    // The device code is spent: polling again gets nothing.
    server.clock.advance_secs(60);
    let (status, body) = token_request(&server, &client_id, &secret, &poll).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn sessions_are_listed_and_revoked_in_the_admin_api() {
    let server = TestServer::start().await;
    let ada = user(&server, "ada").await;
    let (client_id, secret) = register(&server, json!({})).await;
    let rp = discover(&server, &client_id, &secret).await;
    let browser = Browser::new(&server.url("")).unwrap();
    let started = start(&rp, &["email"], &[]);
    let code = sign_in(&browser, &started, "ada").await;
    let tokens = exchange(&rp, &code, started.verifier).await;

    let admin = server.admin();
    let path = format!("/api/v1/users/{}/sessions", ada["id"].as_str().unwrap());
    let list: Value = admin.get(&path).send().await.unwrap().json().await.unwrap();
    let sessions = list["items"].as_array().unwrap();
    assert_eq!(sessions.len(), 1, "{list}");
    assert_eq!(sessions[0]["amr"], json!(["pwd"]));
    let sid = sessions[0]["id"].as_str().unwrap();
    // The ID token names the same session.
    let payload = tokens.id_token().unwrap().to_string();
    let claims: Value = {
        use base64::Engine;
        let part = payload.split('.').nth(1).unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part)
                .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(claims["sid"], sid);

    let response = admin
        .delete(&format!("/api/v1/sessions/{sid}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let response = admin
        .delete(&format!("/api/v1/sessions/{sid}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let list: Value = admin.get(&path).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["items"], json!([]));
    // The browser is signed out and the session's tokens stop working.
    assert_eq!(
        userinfo_status(&server, tokens.access_token().secret()).await,
        401
    );
    let again = start(&rp, &["email"], &[("prompt", "none")]);
    let pairs = callback(&browser.walk(&again.url, None, Consent::Deny).await.unwrap());
    assert_eq!(param(&pairs, "error"), Some("login_required"));
}

#[tokio::test]
async fn id_token_hint_max_age_and_prompt_login_are_honoured() {
    let server = TestServer::start().await;
    user(&server, "ada").await;
    let (client_id, secret) = register(&server, json!({})).await;
    let rp = discover(&server, &client_id, &secret).await;
    let browser = Browser::new(&server.url("")).unwrap();
    let started = start(&rp, &["email"], &[]);
    let code = sign_in(&browser, &started, "ada").await;
    let tokens = exchange(&rp, &code, started.verifier).await;
    let hint = tokens.id_token().unwrap().to_string();

    // The hint names the signed-in user: silent sign-in works.
    let silent = start(
        &rp,
        &["email"],
        &[("prompt", "none"), ("id_token_hint", &hint)],
    );
    let pairs = callback(
        &browser
            .walk(&silent.url, None, Consent::Deny)
            .await
            .unwrap(),
    );
    assert!(param(&pairs, "code").is_some(), "{pairs:?}");
    // A hint that is not ours goes back as invalid_request.
    let forged = start(
        &rp,
        &["email"],
        &[("prompt", "none"), ("id_token_hint", "a.b.c")],
    );
    let pairs = callback(
        &browser
            .walk(&forged.url, None, Consent::Deny)
            .await
            .unwrap(),
    );
    assert_eq!(param(&pairs, "error"), Some("invalid_request"));

    // max_age: an hour later the session is too old for max_age=60.
    server.clock.advance_secs(600);
    let aged = start(&rp, &["email"], &[("prompt", "none"), ("max_age", "60")]);
    let pairs = callback(&browser.walk(&aged.url, None, Consent::Deny).await.unwrap());
    assert_eq!(param(&pairs, "error"), Some("login_required"));
    // prompt=login asks for the password even with a live session.
    let fresh = start(&rp, &["email"], &[("prompt", "login")]);
    match browser
        .walk(&fresh.url, None, Consent::Allow)
        .await
        .unwrap()
    {
        Landing::Page(200, html) => assert!(html.contains("name=\"password\""), "{html}"),
        other => panic!("{other:?}"),
    }
    let code = sign_in(&browser, &fresh, "ada").await;
    assert!(!code.is_empty());
}

#[tokio::test]
async fn pairwise_subjects_differ_per_sector_but_agree_within_one() {
    let server = TestServer::start().await;
    let ada = user(&server, "ada").await;
    let (client_id, secret) = register(&server, json!({"subject_type": "pairwise"})).await;
    let rp = discover(&server, &client_id, &secret).await;
    let browser = Browser::new(&server.url("")).unwrap();
    let started = start(&rp, &["email"], &[]);
    let code = sign_in(&browser, &started, "ada").await;
    let tokens = exchange(&rp, &code, started.verifier).await;
    let claims = tokens
        .id_token()
        .unwrap()
        .claims(&rp.id_token_verifier(), &started.nonce)
        .unwrap();
    let sub = claims.subject().as_str().to_owned();
    assert_ne!(
        sub,
        ada["id"].as_str().unwrap(),
        "pairwise hides the user id"
    );
    let info: openidconnect::core::CoreUserInfoClaims = rp
        .user_info(tokens.access_token().to_owned(), None)
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(info.subject().as_str(), sub);

    // A public-subject client sees the user id.
    let (public_id, public_secret) = register(&server, json!({"client_name": "Public"})).await;
    let public = discover(&server, &public_id, &public_secret).await;
    let started = start(&public, &["email"], &[]);
    let code = sign_in(&browser, &started, "ada").await;
    let tokens = exchange(&public, &code, started.verifier).await;
    let claims = tokens
        .id_token()
        .unwrap()
        .claims(&public.id_token_verifier(), &started.nonce)
        .unwrap();
    assert_eq!(claims.subject().as_str(), ada["id"].as_str().unwrap());
}

#[tokio::test]
async fn form_post_response_mode_renders_a_self_submitting_form() {
    let server = TestServer::start().await;
    user(&server, "ada").await;
    let (client_id, secret) = register(&server, json!({})).await;
    let rp = discover(&server, &client_id, &secret).await;
    let browser = Browser::new(&server.url("")).unwrap();
    let started = start(&rp, &["email"], &[("response_mode", "form_post")]);
    let html = match browser
        .walk(&started.url, Some(("ada", PASSWORD)), Consent::Allow)
        .await
        .unwrap()
    {
        Landing::Page(200, html) => html,
        other => panic!("{other:?}"),
    };
    // minijinja escapes `/` as `&#x2f;` inside the attribute; browsers decode it.
    let decoded = html.replace("&#x2f;", "/");
    assert!(
        decoded.contains(&format!("action=\"{REDIRECT}\"")),
        "{html}"
    );
    let fields = gatehouse_testkit::browser::hidden_fields(&html);
    let code = fields.iter().find(|(n, _)| n == "code").unwrap().1.clone();
    let state = fields.iter().find(|(n, _)| n == "state").unwrap().1.clone();
    assert_eq!(&state, started.state.secret());
    let tokens = exchange(&rp, &code, started.verifier).await;
    assert!(tokens.id_token().is_some());
}
