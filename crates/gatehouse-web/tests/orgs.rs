//! `/api/v1/orgs` through the real HTTP surface.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{empty, etag, field_codes, id, json, problem};
use gatehouse_testkit::TestServer;
use serde_json::{Value, json};

#[tokio::test]
async fn org_crud() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let response = admin
        .post("/api/v1/orgs")
        .json(&json!({"slug": "Acme", "name": " Acme Corp ", "domains": ["Acme.example", "acme.example."],
            "password_policy": {"min_length": 12}}))
        .send()
        .await
        .unwrap();
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(etag(response.headers()), "\"1\"");
    let org = json(response, 201).await;
    let path = format!("/api/v1/orgs/{}", id(&org));
    assert_eq!(location, server.url(&path));
    assert_eq!(org["slug"], "acme");
    assert_eq!(org["name"], "Acme Corp");
    assert_eq!(org["domains"], json!(["acme.example"]));
    assert_eq!(org["password_policy"]["min_length"], 12);
    assert_eq!(org["profile_schema"], Value::Null);

    assert_eq!(json(admin.get(&path).send().await.unwrap(), 200).await, org);
    let list = json(admin.get("/api/v1/orgs").send().await.unwrap(), 200).await;
    let slugs: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["default", "acme"]);

    let schema = json!({"type": "object", "properties": {"department": {"type": "string"}}});
    let response = admin
        .patch(&path)
        .header("if-match", "\"1\"")
        .header("content-type", "application/merge-patch+json")
        .body(json!({"name": "Acme Inc", "profile_schema": schema}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(etag(response.headers()), "\"2\"");
    let patched = json(response, 200).await;
    assert_eq!(patched["name"], "Acme Inc");
    assert_eq!(patched["profile_schema"], schema);
    let response = admin
        .patch(&path)
        .header("if-match", "\"1\"")
        .json(&json!({"name": "Stale"}))
        .send()
        .await;
    problem(response.unwrap(), 412).await;

    // The org's profile schema now applies to its users.
    let body = json!({"username": "ada", "org_id": id(&org), "attributes": {"department": 7}});
    let problem_body = problem(
        admin
            .post("/api/v1/users")
            .json(&body)
            .send()
            .await
            .unwrap(),
        422,
    )
    .await;
    assert!(
        field_codes(&problem_body)
            .iter()
            .any(|c| c.starts_with("attributes")),
        "{problem_body}"
    );

    empty(admin.delete(&path).send().await.unwrap(), 204).await;
    problem(admin.get(&path).send().await.unwrap(), 404).await;
}

#[tokio::test]
async fn org_bad_input() {
    let server = TestServer::start().await;
    let admin = server.admin();
    admin
        .create(
            "/api/v1/orgs",
            json!({"slug": "acme", "name": "Acme", "domains": ["acme.example"]}),
        )
        .await;
    problem(
        admin
            .post("/api/v1/orgs")
            .json(&json!({"slug": "ACME", "name": "Again"}))
            .send()
            .await
            .unwrap(),
        409,
    )
    .await;
    let taken = json!({"slug": "other", "name": "Other", "domains": ["ACME.example"]});
    problem(
        admin
            .post("/api/v1/orgs")
            .json(&taken)
            .send()
            .await
            .unwrap(),
        409,
    )
    .await;
    let bad = json!({"slug": "-bad slug", "name": "", "domains": ["localhost"]});
    let problem_body = problem(
        admin.post("/api/v1/orgs").json(&bad).send().await.unwrap(),
        422,
    )
    .await;
    assert_eq!(
        field_codes(&problem_body),
        [
            "slug:invalid_format",
            "name:invalid_length",
            "domains/0:invalid_domain"
        ]
    );
    let bad_schema = json!({"slug": "s", "name": "S", "profile_schema": {"type": 12}});
    problem(
        admin
            .post("/api/v1/orgs")
            .json(&bad_schema)
            .send()
            .await
            .unwrap(),
        422,
    )
    .await;
    let default = "/api/v1/orgs/00000000-0000-7000-8000-000000000001";
    problem(admin.delete(default).send().await.unwrap(), 409).await;
    problem(admin.get("/api/v1/orgs/acme").send().await.unwrap(), 404).await;
    problem(admin.get("/api/v1/orgs?limit=0").send().await.unwrap(), 400).await;
}

#[tokio::test]
async fn org_list_pages() {
    let server = TestServer::start().await;
    let admin = server.admin();
    for slug in ["a", "b", "c"] {
        server.clock.advance_secs(1);
        admin.create_org(slug).await;
    }
    let response = admin.get("/api/v1/orgs?limit=3").send().await.unwrap();
    assert!(response.headers().contains_key("link"));
    let first = json(response, 200).await;
    assert_eq!(first["items"].as_array().unwrap().len(), 3);
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = json(
        admin
            .get("/api/v1/orgs")
            .query(&[("cursor", cursor)])
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest["next_cursor"], Value::Null);
}
