//! `/api/v1/clients` through the real HTTP surface: create (secret shown
//! once), read, list, merge patch with If-Match, secret rotation, delete,
//! validation errors, and org scoping.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{empty, field_codes, json, problem, read};
use gatehouse_testkit::TestServer;
use serde_json::{Value, json};

fn cid(value: &Value) -> String {
    value["client_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no client_id in {value}"))
        .to_owned()
}

#[tokio::test]
async fn create_shows_the_secret_once_and_reads_never_do() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let response = admin
        .post("/api/v1/clients")
        .json(&json!({
            "client_name": "Shop",
            "redirect_uris": ["https://shop.example/cb"],
            "grant_types": ["authorization_code", "refresh_token"],
            "scope": "openid profile orders:read",
            "client_uri": "https://shop.example",
            "access_token_lifetime": 600,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["cache-control"], "no-store");
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created = json(response, 201).await;
    let id = cid(&created);
    assert_eq!(location, server.url(&format!("/api/v1/clients/{id}")));
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    assert!(secret.len() >= 43, "256 bits: {secret}");
    assert_eq!(created["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(created["response_types"], json!(["code"]));
    assert_eq!(created["scope"], "openid orders:read profile");
    assert_eq!(created["access_token_lifetime"], 600);
    assert_eq!(created["client_secret_expires_at"], 0);
    assert!(created["org_id"].is_string(), "{created}");

    let one = json(
        admin
            .get(&format!("/api/v1/clients/{id}"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let listed = json(admin.get("/api/v1/clients").send().await.unwrap(), 200).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    for body in [&one, &listed] {
        let text = body.to_string();
        assert!(!text.contains(&secret), "the secret leaks: {text}");
        assert!(
            !text.contains("client_secret\"") && !text.contains("hash"),
            "{text}"
        );
    }
    assert_eq!(one["client_name"], "Shop");
    assert_eq!(one["client_uri"], "https://shop.example");

    // A chosen id, then the same id again.
    let chosen = admin
        .create(
            "/api/v1/clients",
            json!({"client_id": "billing-svc", "grant_types": ["client_credentials"]}),
        )
        .await;
    assert_eq!(cid(&chosen), "billing-svc");
    assert_eq!(chosen["response_types"], json!([]));
    let again = admin
        .post("/api/v1/clients")
        .json(&json!({"client_id": "billing-svc", "grant_types": ["client_credentials"]}))
        .send()
        .await
        .unwrap();
    problem(again, 409).await;
}

#[tokio::test]
async fn public_clients_have_no_secret_and_require_pkce() {
    let server = TestServer::start().await;
    let created = server
        .admin()
        .create(
            "/api/v1/clients",
            json!({"token_endpoint_auth_method": "none", "redirect_uris": ["com.example.app:/cb", "http://127.0.0.1/cb"]}),
        )
        .await;
    assert!(created.get("client_secret").is_none(), "{created}");
    assert!(
        created.get("client_secret_expires_at").is_none(),
        "{created}"
    );
    assert_eq!(created["require_pkce"], true);
    let rotate = server
        .admin()
        .post(&format!("/api/v1/clients/{}/secret", cid(&created)))
        .send()
        .await
        .unwrap();
    problem(rotate, 409).await;
}

#[tokio::test]
async fn invalid_settings_are_422_with_fields() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let cases = [
        (json!({}), vec!["redirect_uris:required"]),
        (
            json!({"redirect_uris": ["http://evil.example/cb"]}),
            vec!["redirect_uris/0:invalid_redirect_uri"],
        ),
        (
            json!({"token_endpoint_auth_method": "none", "grant_types": ["client_credentials"]}),
            vec!["grant_types:not_allowed"],
        ),
        (
            json!({"token_endpoint_auth_method": "private_key_jwt", "grant_types": ["client_credentials"]}),
            vec!["jwks:required"],
        ),
        (
            json!({"grant_types": ["client_credentials"], "scope": " openid"}),
            vec!["scope:invalid_scope"],
        ),
        (
            json!({"grant_types": ["client_credentials"], "bogus": true}),
            vec!["bogus:unknown_field"],
        ),
        (
            json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "client_secret_jwt"}),
            vec!["token_endpoint_auth_method:invalid_value"],
        ),
        (
            json!({"grant_types": ["client_credentials"], "client_id": "has space"}),
            vec!["client_id:invalid_value"],
        ),
        (
            json!({"grant_types": ["client_credentials"], "client_secret_expires_in": 0}),
            vec!["client_secret_expires_in:invalid_value"],
        ),
    ];
    for (body, expected) in cases {
        let response = admin
            .post("/api/v1/clients")
            .json(&body)
            .send()
            .await
            .unwrap();
        let p = problem(response, 422).await;
        assert_eq!(field_codes(&p), expected, "{body}");
    }
    let listed = json(admin.get("/api/v1/clients").send().await.unwrap(), 200).await;
    assert_eq!(listed["items"], json!([]), "nothing was created");
}

#[tokio::test]
async fn patch_merges_checks_if_match_and_rotation_replaces_the_secret() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let created = admin
        .create(
            "/api/v1/clients",
            json!({"client_name": "Shop", "redirect_uris": ["https://shop.example/cb"], "contacts": ["a@shop.example"]}),
        )
        .await;
    let id = cid(&created);
    let path = format!("/api/v1/clients/{id}");
    let response = admin
        .patch(&path)
        .header("content-type", "application/merge-patch+json")
        .header("if-match", "\"1\"")
        .json(&json!({"client_name": "Shop 2", "contacts": null, "require_consent": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["etag"], "\"2\"");
    let patched = json(response, 200).await;
    assert_eq!(patched["client_name"], "Shop 2");
    assert_eq!(patched["contacts"], json!([]));
    assert_eq!(patched["require_consent"], false);
    assert_eq!(patched["redirect_uris"], json!(["https://shop.example/cb"]));

    let stale = admin
        .patch(&path)
        .header("if-match", "\"1\"")
        .json(&json!({"client_name": "Stale"}))
        .send()
        .await
        .unwrap();
    problem(stale, 412).await;
    let invalid = admin
        .patch(&path)
        .json(&json!({"redirect_uris": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        field_codes(&problem(invalid, 422).await),
        vec!["redirect_uris:required"]
    );

    // Rotation: a new secret, shown once, with an expiry when asked.
    let response = admin
        .post(&format!("{path}/secret"))
        .json(&json!({"client_secret_expires_in": 3600}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["cache-control"], "no-store");
    let rotated = json(response, 200).await;
    let new_secret = rotated["client_secret"].as_str().unwrap();
    assert_ne!(new_secret, created["client_secret"].as_str().unwrap());
    let expected_expiry = gatehouse_testkit::START_MILLIS / 1000 + 3600;
    assert_eq!(rotated["client_secret_expires_at"], expected_expiry);

    empty(admin.delete(&path).send().await.unwrap(), 204).await;
    problem(admin.get(&path).send().await.unwrap(), 404).await;
    problem(admin.delete(&path).send().await.unwrap(), 404).await;
}

#[tokio::test]
async fn org_tokens_see_only_their_orgs_clients() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let acme = admin.create_org("acme").await;
    let globex = admin.create_org("globex").await;
    let acme_id = acme["id"].as_str().unwrap();
    let globex_id = globex["id"].as_str().unwrap();
    let acme_token = admin.create_token("acme", Some(acme_id)).await;
    let acme_admin = server.with_token(&acme_token);
    let body = json!({"grant_types": ["client_credentials"]});

    // An org token creates into its own org; naming another org is 404.
    let own = acme_admin.create("/api/v1/clients", body.clone()).await;
    assert_eq!(own["org_id"], acme_id);
    let mut elsewhere = body.clone();
    elsewhere["org_id"] = json!(globex_id);
    problem(
        acme_admin
            .post("/api/v1/clients")
            .json(&elsewhere)
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    let foreign = admin.create("/api/v1/clients", elsewhere).await;
    assert_eq!(foreign["org_id"], globex_id);
    let default_org = admin.create("/api/v1/clients", body).await;

    // Lists: the org token sees its own; the instance token filters by org.
    let listed = json(acme_admin.get("/api/v1/clients").send().await.unwrap(), 200).await;
    let ids: Vec<String> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(cid)
        .collect();
    assert_eq!(ids, vec![cid(&own)]);
    let other = json(
        acme_admin
            .get(&format!("/api/v1/clients?org_id={globex_id}"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(other["items"], json!([]));
    let all = json(admin.get("/api/v1/clients").send().await.unwrap(), 200).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 3);

    // Another org's client is absent, whatever the method.
    let path = format!("/api/v1/clients/{}", cid(&foreign));
    problem(acme_admin.get(&path).send().await.unwrap(), 404).await;
    problem(
        acme_admin
            .patch(&path)
            .json(&json!({"client_name": "x"}))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    problem(
        acme_admin
            .post(&format!("{path}/secret"))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    problem(acme_admin.delete(&path).send().await.unwrap(), 404).await;
    problem(
        acme_admin
            .get(&format!("/api/v1/clients/{}", cid(&default_org)))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    json(admin.get(&path).send().await.unwrap(), 200).await;
}

#[tokio::test]
async fn list_pages_with_links() {
    let server = TestServer::start().await;
    let admin = server.admin();
    for name in ["c", "a", "b", "e", "d"] {
        admin
            .create(
                "/api/v1/clients",
                json!({"client_id": name, "grant_types": ["client_credentials"]}),
            )
            .await;
    }
    let mut seen = Vec::new();
    let mut url = server.url("/api/v1/clients?limit=2");
    for _ in 0..10 {
        let response = server
            .client()
            .get(&url)
            .bearer_auth(server.admin_token())
            .send()
            .await
            .unwrap();
        let link = response
            .headers()
            .get("link")
            .map(|l| l.to_str().unwrap().to_owned());
        let page = json(response, 200).await;
        seen.extend(page["items"].as_array().unwrap().iter().map(cid));
        match link {
            Some(link) => {
                url = link
                    .trim_start_matches('<')
                    .split('>')
                    .next()
                    .unwrap()
                    .to_owned();
            }
            None => break,
        }
    }
    assert_eq!(seen, vec!["a", "b", "c", "d", "e"]);
    let (status, _, _) = read(
        admin
            .get("/api/v1/clients?cursor=garbage")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn clients_work_on_postgres() {
    let Some(server) = TestServer::start_postgres().await else {
        return;
    };
    let admin = server.admin();
    let created = admin
        .create(
            "/api/v1/clients",
            json!({"client_id": "pg-app", "redirect_uris": ["https://app.example/cb"], "subject_type": "pairwise"}),
        )
        .await;
    assert_eq!(created["sector_identifier"], "app.example");
    let patched = json(
        admin
            .patch("/api/v1/clients/pg-app")
            .json(&json!({"require_pkce": true}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(patched["require_pkce"], true);
    empty(
        admin.delete("/api/v1/clients/pg-app").send().await.unwrap(),
        204,
    )
    .await;
}
