//! `/api/v1/api-tokens` through the real HTTP surface.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{empty, id, json, problem};
use gatehouse_testkit::TestServer;
use serde_json::{Value, json};

#[tokio::test]
async fn token_is_shown_once_and_never_listed() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let response = admin
        .post("/api/v1/api-tokens")
        .json(&json!({"name": "ci"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["cache-control"], "no-store");
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created = json(response, 201).await;
    let secret = created["token"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("gha_"), "{secret}");
    assert!(secret.starts_with(created["prefix"].as_str().unwrap()));
    assert_eq!(created["name"], "ci");
    assert_eq!(created["org_id"], Value::Null);
    assert_eq!(created["expires_at"], Value::Null);
    assert_eq!(
        location,
        server.url(&format!("/api/v1/api-tokens/{}", id(&created)))
    );

    let listed = json(admin.get("/api/v1/api-tokens").send().await.unwrap(), 200).await;
    let one = json(
        admin
            .get(&format!("/api/v1/api-tokens/{}", id(&created)))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    for body in [&listed, &one] {
        let text = body.to_string();
        assert!(!text.contains(&secret), "the secret leaks: {text}");
        assert!(
            !text.contains("\"token\"") && !text.contains("hash"),
            "{text}"
        );
    }
    assert_eq!(one["created_by"], "bootstrap");
    assert_eq!(one["revoked_at"], Value::Null);
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);

    // The new token works, and tokens it creates name it as their creator.
    let child = server
        .with_token(&secret)
        .create("/api/v1/api-tokens", json!({"name": "child"}))
        .await;
    let child = json(
        admin
            .get(&format!("/api/v1/api-tokens/{}", id(&child)))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(child["created_by"], format!("token:{}", id(&created)));
}

#[tokio::test]
async fn revoke_is_204_once() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let created = admin
        .create("/api/v1/api-tokens", json!({"name": "ci"}))
        .await;
    let path = format!("/api/v1/api-tokens/{}", id(&created));
    empty(admin.delete(&path).send().await.unwrap(), 204).await;
    let revoked = json(admin.get(&path).send().await.unwrap(), 200).await;
    assert_eq!(revoked["revoked_at"], "2023-11-14T22:13:20.000Z");
    problem(admin.delete(&path).send().await.unwrap(), 409).await;
    problem(
        admin
            .delete("/api/v1/api-tokens/0190a5a0-0000-7000-8000-0000000000ff")
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    problem(
        admin
            .delete("/api/v1/api-tokens/nope")
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
}

#[tokio::test]
async fn token_bad_input() {
    let server = TestServer::start().await;
    let admin = server.admin();
    for body in [
        json!({"name": ""}),
        json!({"name": "x", "expires_in": 0}),
        json!({"name": "x", "expires_in": -5}),
    ] {
        problem(
            admin
                .post("/api/v1/api-tokens")
                .json(&body)
                .send()
                .await
                .unwrap(),
            422,
        )
        .await;
    }
    let nowhere = json!({"name": "x", "org_id": "0190a5a0-0000-7000-8000-0000000000ff"});
    problem(
        admin
            .post("/api/v1/api-tokens")
            .json(&nowhere)
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    problem(
        admin
            .post("/api/v1/api-tokens")
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
        422,
    )
    .await;
}

#[tokio::test]
async fn org_token_creates_only_tokens_of_its_org() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let acme = admin.create_org("acme").await;
    let token = admin.create_token("acme", Some(&id(&acme))).await;
    let acme_admin = server.with_token(&token);
    let child = acme_admin
        .create("/api/v1/api-tokens", json!({"name": "child"}))
        .await;
    assert_eq!(child["org_id"], id(&acme).as_str());
    let other = json!({"name": "x", "org_id": "00000000-0000-7000-8000-000000000001"});
    problem(
        acme_admin
            .post("/api/v1/api-tokens")
            .json(&other)
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
}
