//! Who may call the admin API: bearer tokens, their scope and their end.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{empty, id, json, problem};
use gatehouse_testkit::TestServer;
use serde_json::{Value, json};

const DEFAULT_ORG: &str = "00000000-0000-7000-8000-000000000001";

#[tokio::test]
async fn missing_token_is_401_with_a_bearer_challenge() {
    let server = TestServer::start().await;
    let cases = [
        server.client().get(server.url("/api/v1/users")),
        server
            .client()
            .post(server.url("/api/v1/users"))
            .json(&json!({"username": "x"})),
        server
            .client()
            .get(server.url("/api/v1/users"))
            .basic_auth("admin", Some("secret")),
        // Authentication comes before body checks: no body is even parsed.
        server
            .client()
            .post(server.url("/api/v1/users"))
            .body("{not json"),
    ];
    for request in cases {
        let response = request.send().await.unwrap();
        assert_eq!(
            response.headers()["www-authenticate"],
            r#"Bearer realm="gatehouse""#
        );
        problem(response, 401).await;
    }
}

#[tokio::test]
async fn wrong_token_is_401_invalid_token() {
    let server = TestServer::start().await;
    for token in [
        "wrong",
        "gha_0000000000000000000000000000000000000000000",
        &"x".repeat(600),
    ] {
        let response = server
            .with_token(token)
            .get("/api/v1/users")
            .send()
            .await
            .unwrap();
        let challenge = response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            challenge.starts_with(r#"Bearer realm="gatehouse", error="invalid_token""#),
            "{challenge}"
        );
        problem(response, 401).await;
    }
    let response = server
        .client()
        .get(server.url("/api/v1/users"))
        .header("authorization", "Bearer")
        .send()
        .await;
    problem(response.unwrap(), 401).await;
    // The scheme is case-insensitive.
    let response = server
        .client()
        .get(server.url("/api/v1/users"))
        .header("authorization", format!("bearer {}", server.admin_token()))
        .send()
        .await
        .unwrap();
    json(response, 200).await;
}

/// An org-scoped token sees nothing of another org: its users, groups,
/// clients and tokens answer 404 (not 403, which would confirm they exist) and lists are empty.
#[tokio::test]
async fn org_token_cannot_see_another_orgs_resources() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let acme = admin.create_org("acme").await;
    let acme_id = id(&acme);
    let other_user = admin.create_user("victim", None).await;
    let other_group = admin
        .create("/api/v1/groups", json!({"name": "default-admins"}))
        .await;
    let instance_token = admin
        .create("/api/v1/api-tokens", json!({"name": "ci"}))
        .await;
    admin
        .create(
            "/api/v1/clients",
            json!({"client_id": "default-app", "grant_types": ["client_credentials"]}),
        )
        .await;

    let token = admin.create_token("acme-automation", Some(&acme_id)).await;
    let acme_admin = server.with_token(&token);

    let user_path = format!("/api/v1/users/{}", id(&other_user));
    let group_path = format!("/api/v1/groups/{}", id(&other_group));
    // Every call on the other org's resources, and every create in it, is a 404.
    let instance_token_path = format!("/api/v1/api-tokens/{}", id(&instance_token));
    let default_org_path = format!("/api/v1/orgs/{DEFAULT_ORG}");
    let requests = [
        acme_admin.get(&user_path),
        acme_admin.patch(&user_path).json(&json!({"nickname": "x"})),
        acme_admin.delete(&user_path),
        acme_admin.post(&format!("{user_path}/lifecycle/suspend")),
        acme_admin
            .put(&format!("{user_path}/password"))
            .json(&json!({"password": "x"})),
        acme_admin.get(&format!("{user_path}/groups")),
        acme_admin.get(&group_path),
        acme_admin.get(&format!("{group_path}/members")),
        acme_admin.get(&default_org_path),
        acme_admin.get(&instance_token_path),
        acme_admin
            .post("/api/v1/users")
            .json(&json!({"username": "intruder", "org_id": DEFAULT_ORG})),
        acme_admin
            .post("/api/v1/groups")
            .json(&json!({"name": "intruders", "org_id": DEFAULT_ORG})),
        acme_admin.get("/api/v1/clients/default-app"),
        acme_admin
            .patch("/api/v1/clients/default-app")
            .json(&json!({"client_name": "x"})),
        acme_admin.delete("/api/v1/clients/default-app"),
        acme_admin.post("/api/v1/clients/default-app/secret"),
        acme_admin
            .post("/api/v1/clients")
            .json(&json!({"grant_types": ["client_credentials"], "org_id": DEFAULT_ORG})),
    ];
    for request in requests {
        problem(request.send().await.unwrap(), 404).await;
    }

    // Lists show only its own org.
    let users = json(acme_admin.get("/api/v1/users").send().await.unwrap(), 200).await;
    assert_eq!(users["items"], json!([]));
    let asked = acme_admin
        .get("/api/v1/users")
        .query(&[("org_id", DEFAULT_ORG)])
        .send()
        .await
        .unwrap();
    assert_eq!(json(asked, 200).await["items"], json!([]));
    let groups = json(acme_admin.get("/api/v1/groups").send().await.unwrap(), 200).await;
    assert_eq!(groups["items"], json!([]));
    let orgs = json(acme_admin.get("/api/v1/orgs").send().await.unwrap(), 200).await;
    assert_eq!(
        orgs["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(id)
            .collect::<Vec<_>>(),
        vec![acme_id.clone()]
    );
    let tokens = json(
        acme_admin.get("/api/v1/api-tokens").send().await.unwrap(),
        200,
    )
    .await;
    assert!(
        tokens["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["org_id"] == Value::String(acme_id.clone()))
    );

    // What it creates lands in its own org, and it sees that.
    let own = acme_admin
        .create("/api/v1/users", json!({"username": "victim"}))
        .await;
    assert_eq!(own["org_id"], acme_id.as_str());
    let users = json(acme_admin.get("/api/v1/users").send().await.unwrap(), 200).await;
    assert_eq!(users["items"].as_array().unwrap().len(), 1);

    // Org administration is for instance tokens.
    problem(
        acme_admin
            .post("/api/v1/orgs")
            .json(&json!({"slug": "evil", "name": "Evil"}))
            .send()
            .await
            .unwrap(),
        403,
    )
    .await;
    problem(
        acme_admin
            .delete(&format!("/api/v1/orgs/{acme_id}"))
            .send()
            .await
            .unwrap(),
        403,
    )
    .await;
}

#[tokio::test]
async fn revoked_token_stops_working() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let created = admin
        .create("/api/v1/api-tokens", json!({"name": "short-lived"}))
        .await;
    let token = created["token"].as_str().unwrap();
    json(
        server
            .with_token(token)
            .get("/api/v1/users")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    empty(
        admin
            .delete(&format!("/api/v1/api-tokens/{}", id(&created)))
            .send()
            .await
            .unwrap(),
        204,
    )
    .await;
    problem(
        server
            .with_token(token)
            .get("/api/v1/users")
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
}

#[tokio::test]
async fn expired_token_stops_working() {
    let server = TestServer::start().await;
    let created = server
        .admin()
        .create(
            "/api/v1/api-tokens",
            json!({"name": "hour", "expires_in": 3600}),
        )
        .await;
    assert_eq!(created["expires_at"], "2023-11-14T23:13:20.000Z");
    let token = created["token"].as_str().unwrap();
    json(
        server
            .with_token(token)
            .get("/api/v1/users")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    server.clock.advance_secs(3600);
    problem(
        server
            .with_token(token)
            .get("/api/v1/users")
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
}
