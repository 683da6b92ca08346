//! `Clients::authenticate`, the check behind the token, introspection and
//! revocation endpoints, against a real store: every method, the wrong
//! method, wrong and expired secrets, unknown clients, and `private_key_jwt`
//! assertions signed with an independent library (`jsonwebtoken`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use gatehouse_core::model::{AuditQuery, Client, Outcome};
use gatehouse_core::secret::Secret as CoreSecret;
use gatehouse_core::services::{AdminPrincipal, ClientSettings, NewClient, RequestContext};
use gatehouse_oauth::client_auth::ClientAuthentication;
use gatehouse_oauth::error::ErrorCode;
use gatehouse_oauth::jwk::{Algorithm, Jwks, SigningKey};
use gatehouse_oauth::secret::Secret;
use gatehouse_testkit::TestServer;
use jsonwebtoken as jt;
use serde_json::{Value, json};

const ISSUER: &str = "https://id.example";
const TOKEN_URL: &str = "https://id.example/oauth2/token";

async fn create(server: &TestServer, settings: Value) -> (Client, Option<String>) {
    let settings = ClientSettings::from_json(settings).unwrap();
    let (client, secret) = server
        .services
        .clients
        .create(
            &AdminPrincipal::cli(),
            &RequestContext::default(),
            NewClient {
                settings,
                ..NewClient::default()
            },
        )
        .await
        .unwrap();
    (client, secret.map(|s: CoreSecret| s.expose().to_owned()))
}

fn basic(id: &str, secret: &str) -> ClientAuthentication {
    ClientAuthentication::SecretBasic {
        client_id: id.into(),
        client_secret: Secret::new(secret),
    }
}

fn post(id: &str, secret: &str) -> ClientAuthentication {
    ClientAuthentication::SecretPost {
        client_id: id.into(),
        client_secret: Secret::new(secret),
    }
}

fn jwt_auth(id: Option<&str>, assertion: String) -> ClientAuthentication {
    ClientAuthentication::PrivateKeyJwt {
        client_id: id.map(str::to_owned),
        assertion: Secret::new(assertion),
    }
}

async fn authenticate(
    server: &TestServer,
    auth: &ClientAuthentication,
) -> Result<String, ErrorCode> {
    server
        .services
        .clients
        .authenticate(auth, TOKEN_URL, ISSUER)
        .await
        .map(|c| c.client_id)
        .map_err(|e| e.code)
}

async fn failures(server: &TestServer) -> Vec<Value> {
    let page = server
        .services
        .store()
        .list_audit(&AuditQuery {
            limit: 1000,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    page.items
        .into_iter()
        .filter(|e| e.action == "client.authentication_failed")
        .map(|e| {
            assert_eq!(e.outcome, Outcome::Failure);
            e.details
        })
        .collect()
}

#[tokio::test]
async fn secret_methods_accept_only_the_registered_method_and_secret() {
    let server = TestServer::start().await;
    let cb = json!(["https://app.example/cb"]);
    let (basic_client, basic_secret) = create(&server, json!({"redirect_uris": cb})).await;
    let basic_secret = basic_secret.unwrap();
    let (post_client, post_secret) = create(
        &server,
        json!({"redirect_uris": cb, "token_endpoint_auth_method": "client_secret_post"}),
    )
    .await;
    let post_secret = post_secret.unwrap();
    let id = basic_client.client_id.as_str();
    let post_id = post_client.client_id.as_str();

    assert_eq!(
        authenticate(&server, &basic(id, &basic_secret)).await,
        Ok(id.to_owned())
    );
    assert_eq!(
        authenticate(&server, &post(post_id, &post_secret)).await,
        Ok(post_id.to_owned())
    );
    let refused = Err(ErrorCode::InvalidClient);
    // The right secret through the other method.
    assert_eq!(
        authenticate(&server, &post(id, &basic_secret)).await,
        refused
    );
    assert_eq!(
        authenticate(&server, &basic(post_id, &post_secret)).await,
        refused
    );
    // Wrong secret, another client's secret, empty secret, unknown client.
    assert_eq!(authenticate(&server, &basic(id, "wrong")).await, refused);
    assert_eq!(
        authenticate(&server, &basic(id, &post_secret)).await,
        refused
    );
    assert_eq!(authenticate(&server, &basic(id, "")).await, refused);
    assert_eq!(
        authenticate(&server, &basic("nobody", &basic_secret)).await,
        refused
    );
    // A confidential client cannot pass as public.
    let none = ClientAuthentication::None {
        client_id: id.into(),
    };
    assert_eq!(authenticate(&server, &none).await, refused);

    let reasons: Vec<String> = failures(&server)
        .await
        .iter()
        .map(|d| d["reason"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        reasons.iter().filter(|r| *r == "wrong_method").count(),
        3,
        "{reasons:?}"
    );
    assert_eq!(reasons.iter().filter(|r| *r == "wrong_secret").count(), 3);
    assert_eq!(reasons.iter().filter(|r| *r == "unknown_client").count(), 1);
    // No secret ever reaches the audit log.
    let log = format!("{:?}", failures(&server).await);
    assert!(
        !log.contains(&basic_secret) && !log.contains(&post_secret),
        "{log}"
    );
}

#[tokio::test]
async fn expired_and_rotated_secrets_are_refused() {
    let server = TestServer::start().await;
    let settings =
        ClientSettings::from_json(json!({"grant_types": ["client_credentials"]})).unwrap();
    let (client, secret) = server
        .services
        .clients
        .create(
            &AdminPrincipal::cli(),
            &RequestContext::default(),
            NewClient {
                settings,
                secret_expires_in: Some(60),
                ..NewClient::default()
            },
        )
        .await
        .unwrap();
    let id = client.client_id.as_str();
    let secret = secret.unwrap();
    assert!(
        authenticate(&server, &basic(id, secret.expose()))
            .await
            .is_ok()
    );
    server.clock.advance_secs(60);
    assert_eq!(
        authenticate(&server, &basic(id, secret.expose())).await,
        Err(ErrorCode::InvalidClient)
    );
    let (_, rotated) = server
        .services
        .clients
        .rotate_secret(&AdminPrincipal::cli(), &RequestContext::default(), id, None)
        .await
        .unwrap();
    assert!(
        authenticate(&server, &basic(id, rotated.expose()))
            .await
            .is_ok()
    );
    assert_eq!(
        authenticate(&server, &basic(id, secret.expose())).await,
        Err(ErrorCode::InvalidClient),
        "the old secret stops working"
    );
    let reasons: Vec<Value> = failures(&server)
        .await
        .iter()
        .map(|d| d["reason"].clone())
        .collect();
    assert!(reasons.contains(&json!("expired_secret")), "{reasons:?}");
}

#[tokio::test]
async fn none_is_only_for_public_clients() {
    let server = TestServer::start().await;
    let (public, secret) = create(
        &server,
        json!({"redirect_uris": ["com.example.app:/cb"], "token_endpoint_auth_method": "none"}),
    )
    .await;
    assert!(secret.is_none(), "public clients get no secret");
    assert!(public.pkce_required());
    let id = public.client_id.as_str();
    let none = ClientAuthentication::None {
        client_id: id.into(),
    };
    assert_eq!(authenticate(&server, &none).await, Ok(id.to_owned()));
    // A public client has no secret to present.
    assert_eq!(
        authenticate(&server, &basic(id, "")).await,
        Err(ErrorCode::InvalidClient)
    );
    let unknown = ClientAuthentication::None {
        client_id: "nobody".into(),
    };
    assert_eq!(
        authenticate(&server, &unknown).await,
        Err(ErrorCode::InvalidClient)
    );
}

/// A `private_key_jwt` client whose key pair the test holds.
struct JwtClient {
    id: String,
    key: SigningKey,
}

impl JwtClient {
    async fn create(server: &TestServer) -> Self {
        let key = SigningKey::generate(Algorithm::ES256).unwrap();
        let jwks = serde_json::to_value(Jwks::from_signing_keys([&key])).unwrap();
        let (client, secret) = create(
            server,
            json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "private_key_jwt", "jwks": jwks}),
        )
        .await;
        assert!(secret.is_none());
        Self {
            id: client.client_id,
            key,
        }
    }

    fn claims(&self, server: &TestServer, aud: &str, jti: &str) -> Value {
        let now = server.clock.now_secs_for_tests();
        json!({"iss": self.id, "sub": self.id, "aud": aud, "exp": now + 60, "iat": now, "jti": jti})
    }

    /// Signed by jsonwebtoken with the client's private key.
    fn sign(&self, claims: &Value) -> String {
        let mut header = jt::Header::new(jt::Algorithm::ES256);
        header.kid = Some(self.key.kid().to_owned());
        let key = jt::EncodingKey::from_ec_der(self.key.private_pkcs8_der());
        jt::encode(&header, claims, &key).unwrap()
    }
}

/// The clock the test server runs on, in seconds.
trait NowSecs {
    fn now_secs_for_tests(&self) -> i64;
}

impl NowSecs for gatehouse_core::clock::FakeClock {
    fn now_secs_for_tests(&self) -> i64 {
        use gatehouse_core::clock::Clock;
        self.now_millis() / 1000
    }
}

#[tokio::test]
async fn private_key_jwt_accepts_a_fresh_assertion_once() {
    let server = TestServer::start().await;
    let client = JwtClient::create(&server).await;
    let id = client.id.clone();
    let good = client.sign(&client.claims(&server, TOKEN_URL, "jti-1"));
    assert_eq!(
        authenticate(&server, &jwt_auth(Some(&id), good.clone())).await,
        Ok(id.clone())
    );
    // RFC 7523 §3: the same jti again is a replay.
    assert_eq!(
        authenticate(&server, &jwt_auth(Some(&id), good)).await,
        Err(ErrorCode::InvalidClient)
    );
    // The issuer is an accepted audience too, and client_id may be omitted (RFC 7521 §4.2).
    let to_issuer = client.sign(&client.claims(&server, ISSUER, "jti-2"));
    assert_eq!(
        authenticate(&server, &jwt_auth(None, to_issuer)).await,
        Ok(id.clone())
    );
    let reasons: Vec<Value> = failures(&server)
        .await
        .iter()
        .map(|d| d["reason"].clone())
        .collect();
    assert_eq!(reasons, vec![json!("replayed_jti")]);
}

#[tokio::test]
async fn private_key_jwt_refuses_bad_assertions() {
    let server = TestServer::start().await;
    let client = JwtClient::create(&server).await;
    let other = JwtClient::create(&server).await;
    let id = client.id.clone();
    let refused = Err(ErrorCode::InvalidClient);
    let now = server.clock.now_secs_for_tests();
    let with = |patch: Value, jti: &str| {
        let mut claims = client.claims(&server, TOKEN_URL, jti);
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                claims.as_object_mut().unwrap().remove(k);
            } else {
                claims[k] = v.clone();
            }
        }
        client.sign(&claims)
    };
    let cases = [
        (
            "wrong audience",
            with(json!({"aud": "https://elsewhere.example/token"}), "a"),
        ),
        ("expired", with(json!({"exp": now - 120}), "b")),
        ("no exp", with(json!({"exp": null}), "c")),
        ("exp too far", with(json!({"exp": now + 86_400}), "d")),
        ("no jti", with(json!({"jti": null}), "e")),
        ("iss is not the client", with(json!({"iss": other.id}), "f")),
        ("sub is another client", with(json!({"sub": other.id}), "g")),
        // Signed by another client's key.
        (
            "foreign key",
            other.sign(&client.claims(&server, TOKEN_URL, "h")),
        ),
    ];
    for (name, assertion) in cases {
        assert_eq!(
            authenticate(&server, &jwt_auth(Some(&id), assertion)).await,
            refused,
            "{name}"
        );
    }
    // alg none: an unsigned token.
    let b64 = |v: &Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let unsigned = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&client.claims(&server, TOKEN_URL, "i"))
    );
    assert_eq!(
        authenticate(&server, &jwt_auth(Some(&id), unsigned)).await,
        refused
    );
    // HS256 keyed with the public key's coordinates (key confusion).
    let public = serde_json::to_string(client.key.public_jwk()).unwrap();
    let hmac = jt::encode(
        &jt::Header::new(jt::Algorithm::HS256),
        &client.claims(&server, TOKEN_URL, "j"),
        &jt::EncodingKey::from_secret(public.as_bytes()).unwrap(),
    )
    .unwrap();
    assert_eq!(
        authenticate(&server, &jwt_auth(Some(&id), hmac)).await,
        refused
    );
    // The body's client_id must name the assertion's subject.
    let good = client.sign(&client.claims(&server, TOKEN_URL, "k"));
    assert_eq!(
        authenticate(&server, &jwt_auth(Some(&other.id), good.clone())).await,
        refused
    );
    // Garbage.
    assert_eq!(
        authenticate(&server, &jwt_auth(Some(&id), "not.a.jwt".into())).await,
        refused
    );
    // A secret client cannot authenticate with an assertion, nor this one with a secret.
    assert_eq!(
        authenticate(&server, &basic(&id, "anything")).await,
        refused
    );
    // None of the refusals used up the good assertion's jti.
    assert_eq!(
        authenticate(&server, &jwt_auth(Some(&id), good)).await,
        Ok(id.clone())
    );
}
