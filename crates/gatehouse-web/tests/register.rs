//! Dynamic Client Registration (RFC 7591) and its management (RFC 7592) at
//! `/oauth2/register`, through the real HTTP surface.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::read;
use gatehouse_oauth::client_auth::ClientAuthentication;
use gatehouse_oauth::secret::Secret;
use gatehouse_testkit::TestServer;
use reqwest::Response;
use serde_json::{Value, json};

/// Asserts the status, `no-store` and a JSON body, and returns the body.
async fn oauth_json(response: Response, status: u16) -> Value {
    let (got, headers, text) = read(response).await;
    assert_eq!(got, status, "expected {status}, got {got}: {text}");
    assert_eq!(headers["cache-control"], "no-store", "{text}");
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"),
        "{text}"
    );
    serde_json::from_str(&text).unwrap()
}

/// Asserts a 401 `invalid_token` with a Bearer challenge.
async fn invalid_token(response: Response) {
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = oauth_json(response, 401).await;
    assert_eq!(body["error"], "invalid_token");
    assert!(challenge.starts_with("Bearer"), "{challenge}");
}

async fn register(server: &TestServer, token: &str, body: Value) -> Response {
    server
        .client()
        .post(server.url("/oauth2/register"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn registration_returns_credentials_once_and_they_work() {
    let server = TestServer::start().await;
    let response = register(
        &server,
        server.admin_token(),
        json!({
            "redirect_uris": ["https://app.example/cb"],
            "client_name": "App",
            "grant_types": ["authorization_code", "refresh_token"],
            "scope": "openid email",
            "contacts": ["ops@app.example"],
            "logo_uri": "https://app.example/logo.png",
            "some_future_member": {"ignored": true},
        }),
    )
    .await;
    let created = oauth_json(response, 201).await;
    let id = created["client_id"].as_str().unwrap().to_owned();
    assert_eq!(created["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(created["response_types"], json!(["code"]));
    assert_eq!(
        created["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(created["scope"], "email openid");
    assert_eq!(created["client_name"], "App");
    assert_eq!(created["contacts"], json!(["ops@app.example"]));
    assert_eq!(created["client_secret_expires_at"], 0);
    assert_eq!(
        created["client_id_issued_at"],
        gatehouse_testkit::START_MILLIS / 1000
    );
    assert!(created.get("some_future_member").is_none());
    let uri = created["registration_client_uri"].as_str().unwrap();
    assert_eq!(uri, server.url(&format!("/oauth2/register/{id}")));
    let secret = created["client_secret"].as_str().unwrap();
    let token = created["registration_access_token"].as_str().unwrap();

    // The secret authenticates the client; the admin API shows the client in the default org.
    let auth = ClientAuthentication::SecretBasic {
        client_id: id.clone(),
        client_secret: Secret::new(secret),
    };
    let client = server
        .services
        .clients
        .authenticate(&auth, "https://x/token", "https://x")
        .await
        .unwrap();
    assert_eq!(client.client_id, id);
    let view = common::json(
        server
            .admin()
            .get(&format!("/api/v1/clients/{id}"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(view["dynamically_registered"], true);

    // RFC 7592 read: the metadata, never the secret or the token.
    let read_back = oauth_json(
        server
            .client()
            .get(uri)
            .bearer_auth(token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(read_back["client_id"], id.as_str());
    assert_eq!(
        read_back["redirect_uris"],
        json!(["https://app.example/cb"])
    );
    let text = read_back.to_string();
    assert!(!text.contains(secret) && !text.contains(token), "{text}");
}

#[tokio::test]
async fn registration_needs_a_valid_initial_access_token() {
    let server = TestServer::start().await;
    let body = json!({"redirect_uris": ["https://app.example/cb"]});
    invalid_token(register(&server, "gha_not-a-token", body.clone()).await).await;
    let anonymous = server
        .client()
        .post(server.url("/oauth2/register"))
        .json(&body)
        .send()
        .await
        .unwrap();
    invalid_token(anonymous).await;
    let listed = common::json(
        server.admin().get("/api/v1/clients").send().await.unwrap(),
        200,
    )
    .await;
    assert_eq!(listed["items"], json!([]));
}

#[tokio::test]
async fn bad_metadata_gets_the_registration_errors() {
    let server = TestServer::start().await;
    let token = server.admin_token();
    let cases = [
        (json!({}), "invalid_redirect_uri"),
        (
            json!({"redirect_uris": ["http://app.example/cb"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["https://a.example/cb"], "response_types": ["token"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "private_key_jwt"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": ["https://a.example/cb"], "org_id": "nope"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": ["https://a.example/cb"], "org_id": "0190f5d2-8c8e-7000-8000-000000000000"}),
            "invalid_client_metadata",
        ),
    ];
    for (body, error) in cases {
        let answer = oauth_json(register(&server, token, body.clone()).await, 400).await;
        assert_eq!(answer["error"], error, "{body}");
    }
    let not_json = server
        .client()
        .post(server.url("/oauth2/register"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(
        oauth_json(not_json, 400).await["error"],
        "invalid_client_metadata"
    );
}

#[tokio::test]
async fn org_tokens_register_into_their_org() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let acme = admin.create_org("acme").await;
    let globex = admin.create_org("globex").await;
    let acme_id = acme["id"].as_str().unwrap();
    let acme_token = admin.create_token("acme", Some(acme_id)).await;
    let body = json!({"grant_types": ["client_credentials"]});

    let created = oauth_json(register(&server, &acme_token, body.clone()).await, 201).await;
    assert_eq!(created["org_id"], acme_id);
    assert!(created.get("response_types").is_some());
    let mut elsewhere = body.clone();
    elsewhere["org_id"] = globex["id"].clone();
    let refused = oauth_json(register(&server, &acme_token, elsewhere.clone()).await, 400).await;
    assert_eq!(refused["error"], "invalid_client_metadata");
    // An instance token may name the org.
    let placed = oauth_json(
        register(&server, server.admin_token(), elsewhere).await,
        201,
    )
    .await;
    assert_eq!(placed["org_id"], globex["id"]);
    let default = oauth_json(register(&server, server.admin_token(), body).await, 201).await;
    assert_ne!(default["org_id"], acme_id);
    assert_ne!(default["org_id"], globex["id"]);
}

#[tokio::test]
async fn management_needs_the_registration_token_and_never_tells_who_exists() {
    let server = TestServer::start().await;
    let created = oauth_json(
        register(
            &server,
            server.admin_token(),
            json!({"redirect_uris": ["https://app.example/cb"], "client_name": "App"}),
        )
        .await,
        201,
    )
    .await;
    let other = oauth_json(
        register(
            &server,
            server.admin_token(),
            json!({"redirect_uris": ["https://other.example/cb"]}),
        )
        .await,
        201,
    )
    .await;
    let id = created["client_id"].as_str().unwrap();
    let uri = created["registration_client_uri"].as_str().unwrap();
    let token = created["registration_access_token"].as_str().unwrap();
    let other_token = other["registration_access_token"].as_str().unwrap();
    let c = server.client();

    // Wrong token, another client's token, an admin token, no token, unknown client: all 401.
    for bad in [other_token, "wrong", server.admin_token()] {
        invalid_token(c.get(uri).bearer_auth(bad).send().await.unwrap()).await;
        invalid_token(c.delete(uri).bearer_auth(bad).send().await.unwrap()).await;
        invalid_token(
            c.put(uri)
                .bearer_auth(bad)
                .json(&json!({"client_id": id, "redirect_uris": ["https://app.example/cb"]}))
                .send()
                .await
                .unwrap(),
        )
        .await;
    }
    invalid_token(c.get(uri).send().await.unwrap()).await;
    invalid_token(
        c.get(server.url("/oauth2/register/no-such-client"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    // A client created through the admin API has no registration token at all.
    let admin_made = server
        .admin()
        .create(
            "/api/v1/clients",
            json!({"client_id": "admin-made", "grant_types": ["client_credentials"]}),
        )
        .await;
    assert_eq!(admin_made["dynamically_registered"], false);
    invalid_token(
        c.get(server.url("/oauth2/register/admin-made"))
            .bearer_auth("anything")
            .send()
            .await
            .unwrap(),
    )
    .await;

    // PUT replaces: omitted members go back to their defaults.
    let mismatched = c
        .put(uri)
        .bearer_auth(token)
        .json(&json!({"client_id": "someone-else", "redirect_uris": ["https://app.example/cb"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        oauth_json(mismatched, 400).await["error"],
        "invalid_client_metadata"
    );
    let bad_uri = c
        .put(uri)
        .bearer_auth(token)
        .json(&json!({"client_id": id, "redirect_uris": ["http://evil.example/cb"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        oauth_json(bad_uri, 400).await["error"],
        "invalid_redirect_uri"
    );
    let replaced = oauth_json(
        c.put(uri)
            .bearer_auth(token)
            .json(&json!({"client_id": id, "redirect_uris": ["https://app.example/new"]}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(
        replaced["redirect_uris"],
        json!(["https://app.example/new"])
    );
    assert_eq!(replaced["client_name"], "");

    // DELETE deregisters; the token then opens nothing.
    let (status, headers, _) = read(c.delete(uri).bearer_auth(token).send().await.unwrap()).await;
    assert_eq!(status, 204);
    assert_eq!(headers["cache-control"], "no-store");
    invalid_token(c.get(uri).bearer_auth(token).send().await.unwrap()).await;
    common::problem(
        server
            .admin()
            .get(&format!("/api/v1/clients/{id}"))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
}
