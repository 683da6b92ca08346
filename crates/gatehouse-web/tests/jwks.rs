//! `GET /oauth2/jwks`: the served key set verifies tokens signed with the
//! active keys (checked with an independent JWT library, `jsonwebtoken`),
//! publishes the next key before it signs, keeps a retired key until its
//! retention has passed, and then drops it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;

use gatehouse_core::model::Algorithm;
use gatehouse_core::services::{AdminPrincipal, RequestContext};
use gatehouse_testkit::TestServer;
use jsonwebtoken as jt;
use serde_json::{Value, json};

const DAY_SECS: i64 = 24 * 3600;

async fn fetch_jwks(server: &TestServer) -> jt::jwk::JwkSet {
    let response = server
        .client()
        .get(server.url("/oauth2/jwks"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["cache-control"], "public, max-age=300");
    let body = common::json(response, 200).await;
    for key in body["keys"].as_array().unwrap() {
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(key.get(private).is_none(), "{private} published: {key}");
        }
        assert_eq!(key["use"], "sig", "{key}");
    }
    serde_json::from_value(body).unwrap()
}

fn kids(jwks: &jt::jwk::JwkSet) -> HashSet<String> {
    jwks.keys
        .iter()
        .filter_map(|k| k.common.key_id.clone())
        .collect()
}

async fn sign(server: &TestServer, alg: Algorithm) -> String {
    let key = server.services.keys.signer(alg).await.unwrap();
    let claims = json!({ "iss": server.url(""), "sub": "alice", "exp": 4_000_000_000_i64 });
    gatehouse_oauth::jwt::sign(&key, "JWT", &claims).unwrap()
}

/// Verifies `token` with the key its `kid` names in `jwks`, through jsonwebtoken.
fn verify_with(jwks: &jt::jwk::JwkSet, token: &str) -> Result<Value, String> {
    let header = jt::decode_header(token).unwrap();
    let kid = header.kid.expect("our tokens carry a kid");
    let jwk = jwks
        .find(&kid)
        .ok_or_else(|| format!("kid {kid} is not published"))?;
    let key = jt::DecodingKey::from_jwk(jwk).unwrap();
    let validation = jt::Validation::new(header.alg);
    jt::decode::<Value>(token, &key, &validation)
        .map(|data| data.claims)
        .map_err(|e| e.to_string())
}

async fn rotate(server: &TestServer, alg: Option<Algorithm>) {
    server
        .services
        .keys
        .rotate(&AdminPrincipal::cli(), &RequestContext::default(), alg)
        .await
        .unwrap();
}

async fn jwks_verifies_tokens_of_every_algorithm_across_a_rotation(server: TestServer) {
    let before = fetch_jwks(&server).await;
    assert_eq!(
        before.keys.len(),
        6,
        "an active and a next key per algorithm"
    );
    let mut old_tokens = Vec::new();
    for alg in Algorithm::ALL {
        let token = sign(&server, alg).await;
        assert_eq!(verify_with(&before, &token).unwrap()["sub"], "alice");
        old_tokens.push(token);
    }

    let next_kids: Vec<String> = {
        let keys = server
            .services
            .keys
            .list(&AdminPrincipal::cli())
            .await
            .unwrap();
        keys.into_iter()
            .filter(|k| k.state.as_str() == "next")
            .map(|k| k.kid)
            .collect()
    };
    rotate(&server, None).await;

    let after = fetch_jwks(&server).await;
    assert_eq!(after.keys.len(), 9, "the retired keys are still published");
    assert!(kids(&before).is_subset(&kids(&after)));
    for token in &old_tokens {
        verify_with(&after, token).expect("a token of the retired key still verifies");
    }
    for alg in Algorithm::ALL {
        let token = sign(&server, alg).await;
        let kid = jt::decode_header(&token).unwrap().kid.unwrap();
        assert!(
            next_kids.contains(&kid),
            "{alg} now signs with the former next key"
        );
        verify_with(&after, &token).unwrap();
        // Our own verifier agrees with the published set.
        let keys = server.services.keys.verifier().await.unwrap();
        let (header, _) =
            gatehouse_oauth::jwt::verify_signature(&token, &keys, &Algorithm::ALL).unwrap();
        assert_eq!(header.kid.as_deref(), Some(kid.as_str()));
    }
}

#[tokio::test]
async fn jwks_verifies_tokens_across_a_rotation_sqlite() {
    jwks_verifies_tokens_of_every_algorithm_across_a_rotation(TestServer::start().await).await;
}

#[tokio::test]
async fn jwks_verifies_tokens_across_a_rotation_postgres() {
    let Some(server) = TestServer::start_postgres().await else {
        return;
    };
    jwks_verifies_tokens_of_every_algorithm_across_a_rotation(server).await;
}

#[tokio::test]
async fn jwks_rotates_on_the_period_and_drops_retired_keys_after_retention() {
    let server = TestServer::start().await;
    let first = kids(&fetch_jwks(&server).await);
    let es256 = sign(&server, Algorithm::ES256).await;

    // Not due yet: nothing changes.
    server.clock.advance_secs(89 * DAY_SECS);
    assert!(server.services.keys.maintain().await.unwrap().is_empty());
    assert_eq!(kids(&fetch_jwks(&server).await), first);

    // 90 days after activation every algorithm rotates, once.
    server.clock.advance_secs(DAY_SECS);
    let rotated = server.services.keys.maintain().await.unwrap();
    assert_eq!(rotated.len(), 3, "{rotated:?}");
    assert!(server.services.keys.maintain().await.unwrap().is_empty());
    let after = fetch_jwks(&server).await;
    assert_eq!(after.keys.len(), 9);
    assert!(verify_with(&after, &es256).is_ok());

    // The retired keys stay for the 7-day retention, then leave JWKS.
    server.clock.advance_secs(7 * DAY_SECS - 1);
    server.services.keys.maintain().await.unwrap();
    assert_eq!(fetch_jwks(&server).await.keys.len(), 9);
    server.clock.advance_secs(1);
    server.services.keys.maintain().await.unwrap();
    let trimmed = fetch_jwks(&server).await;
    assert_eq!(trimmed.keys.len(), 6);
    assert!(
        verify_with(&trimmed, &es256).is_err(),
        "the retired key is gone"
    );
    let remaining = server
        .services
        .keys
        .list(&AdminPrincipal::cli())
        .await
        .unwrap();
    assert_eq!(remaining.len(), 6, "and deleted from the database");
}

#[tokio::test]
async fn jwks_rotating_one_algorithm_leaves_the_others() {
    let server = TestServer::start().await;
    let rs256 = server.services.keys.signer(Algorithm::RS256).await.unwrap();
    let eddsa = server.services.keys.signer(Algorithm::EdDSA).await.unwrap();
    rotate(&server, Some(Algorithm::EdDSA)).await;
    let rs256_after = server.services.keys.signer(Algorithm::RS256).await.unwrap();
    let eddsa_after = server.services.keys.signer(Algorithm::EdDSA).await.unwrap();
    assert_eq!(rs256.kid(), rs256_after.kid());
    assert_ne!(eddsa.kid(), eddsa_after.kid());
    assert_eq!(fetch_jwks(&server).await.keys.len(), 7);
}

/// A second node: its own services (and key cache) over the server's database.
async fn second_node(server: &TestServer) -> std::sync::Arc<gatehouse_core::services::Services> {
    use gatehouse_core::clock::SystemRng;
    use gatehouse_core::password::PasswordHasher;
    use gatehouse_core::services::{
        DEFAULT_KEY_ROTATION_PERIOD, DEFAULT_RETIRED_KEY_RETENTION, Services, ServicesConfig,
    };
    let config = ServicesConfig {
        bootstrap_token: None,
        hash_concurrency: 1,
        public_url: server.url(""),
        key_rotation_period: Some(DEFAULT_KEY_ROTATION_PERIOD),
        retired_key_retention: DEFAULT_RETIRED_KEY_RETENTION,
        sign_in: Default::default(),
        mailer: None,
        sms: None,
        sessions: Default::default(),
        oauth: Default::default(),
    };
    Services::with_hasher(
        server.services.store().clone(),
        std::sync::Arc::new(server.clock.clone()),
        std::sync::Arc::new(SystemRng::new()),
        server.services.master_key().clone(),
        config,
        PasswordHasher::with_params(256, 1, 1, 1).unwrap(),
    )
    .await
    .unwrap()
}

async fn jwks_nodes_share_keys_and_pick_up_each_others_rotations(server: TestServer) {
    let a = &server.services;
    let b = second_node(&server).await;
    assert_eq!(
        a.keys.list(&AdminPrincipal::cli()).await.unwrap().len(),
        6,
        "the second start created no keys"
    );
    for alg in Algorithm::ALL {
        assert_eq!(
            a.keys.signer(alg).await.unwrap().kid(),
            b.keys.signer(alg).await.unwrap().kid()
        );
    }

    // A rotates. A's new signer was B's published next key, so B verifies its
    // tokens without reloading; B itself signs with the old key until it reloads.
    rotate(&server, Some(Algorithm::ES256)).await;
    let signer = a.keys.signer(Algorithm::ES256).await.unwrap();
    let old_kid = b
        .keys
        .signer(Algorithm::ES256)
        .await
        .unwrap()
        .kid()
        .to_owned();
    assert_ne!(signer.kid(), old_kid);
    let token = sign(&server, Algorithm::ES256).await;
    let b_keys = b.keys.verifier().await.unwrap();
    gatehouse_oauth::jwt::verify_signature(&token, &b_keys, &[Algorithm::ES256]).unwrap();

    // The new next key is unknown to B: asking for it reloads, at most once per RELOAD_INTERVAL.
    let new_next = a
        .keys
        .list(&AdminPrincipal::cli())
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.alg == Algorithm::ES256 && k.state.as_str() == "next")
        .unwrap()
        .kid;
    let published = |jwks: &gatehouse_oauth::jwk::Jwks| {
        jwks.keys
            .iter()
            .any(|k| k.kid.as_deref() == Some(new_next.as_str()))
    };
    b.keys.verifier_for_kid(&new_next).await.unwrap();
    assert!(
        !published(&b.keys.jwks().await.unwrap()),
        "loaded moments ago: no reload"
    );
    server.clock.advance_secs(5);
    b.keys.verifier_for_kid(&new_next).await.unwrap();
    assert!(published(&b.keys.jwks().await.unwrap()));
    assert_eq!(
        b.keys.signer(Algorithm::ES256).await.unwrap().kid(),
        signer.kid(),
        "the reload also switched B's signer"
    );

    // When rotation falls due, both nodes try; each algorithm rotates once.
    server.clock.advance_secs(91 * DAY_SECS);
    let (from_a, from_b) = tokio::join!(a.keys.maintain(), b.keys.maintain());
    let rotated = from_a.unwrap().len() + from_b.unwrap().len();
    assert_eq!(rotated, 3);
    b.keys.maintain().await.unwrap();
    a.keys.maintain().await.unwrap();
    let listed = a.keys.list(&AdminPrincipal::cli()).await.unwrap();
    for alg in Algorithm::ALL {
        let count = |state: &str| {
            listed
                .iter()
                .filter(|k| k.alg == alg && k.state.as_str() == state)
                .count()
        };
        assert_eq!((count("active"), count("next")), (1, 1), "{alg}");
        assert_eq!(
            a.keys.signer(alg).await.unwrap().kid(),
            b.keys.signer(alg).await.unwrap().kid(),
            "{alg}: both nodes sign with the same key after maintenance"
        );
    }
    assert_eq!(*a.keys.jwks().await.unwrap(), *b.keys.jwks().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_nodes_share_keys_sqlite() {
    jwks_nodes_share_keys_and_pick_up_each_others_rotations(TestServer::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_nodes_share_keys_postgres() {
    let Some(server) = TestServer::start_postgres().await else {
        return;
    };
    jwks_nodes_share_keys_and_pick_up_each_others_rotations(server).await;
}
