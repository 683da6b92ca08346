//! Malformed requests are answered with problem details, never a 500, and the
//! cross-cutting headers (request id, security headers) are on every answer.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{field_codes, json, problem, read};
use gatehouse_testkit::{TestOptions, TestServer};
use serde_json::json;

#[tokio::test]
async fn malformed_json_is_400() {
    let server = TestServer::start().await;
    for body in [
        "{",
        "{\"username\": }",
        "not json",
        "",
        "{\"username\": \"a\",}",
        "\u{0}",
    ] {
        let response = server
            .admin()
            .post("/api/v1/users")
            .header("content-type", "application/json")
            .body(body)
            .send();
        let problem = problem(response.await.unwrap(), 400).await;
        assert!(
            problem["detail"].as_str().unwrap().contains("JSON") || body.is_empty(),
            "{body:?}: {problem}"
        );
    }
}

#[tokio::test]
async fn wrong_or_missing_content_type_is_415() {
    let server = TestServer::start().await;
    let body = r#"{"username": "ada"}"#;
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("text/json"),
        None,
    ] {
        let mut request = server.admin().post("/api/v1/users").body(body);
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        problem(request.send().await.unwrap(), 415).await;
    }
    // Any +json type and parameters are fine.
    let response = server
        .admin()
        .post("/api/v1/users")
        .header(
            "content-type",
            "application/vnd.gatehouse+json; charset=utf-8",
        )
        .body(body)
        .send()
        .await
        .unwrap();
    json(response, 201).await;
}

#[tokio::test]
async fn body_over_the_limit_is_413() {
    let server = TestServer::start_with(TestOptions {
        body_limit_bytes: 1024,
        ..TestOptions::default()
    })
    .await;
    let big = json!({"username": "ada", "attributes": {"blob": "x".repeat(4096)}});
    let response = server
        .admin()
        .post("/api/v1/users")
        .json(&big)
        .send()
        .await
        .unwrap();
    problem(response, 413).await;
    let response = server
        .admin()
        .patch("/api/v1/groups/0190a5a0-0000-7000-8000-0000000000ff")
        .json(&big)
        .send();
    problem(response.await.unwrap(), 413).await;
    // Under the limit is fine.
    let response = server
        .admin()
        .post("/api/v1/users")
        .json(&json!({"username": "ada"}))
        .send()
        .await
        .unwrap();
    json(response, 201).await;
}

#[tokio::test]
async fn default_body_limit_is_one_mebibyte() {
    let server = TestServer::start().await;
    let big = json!({"name": "x".repeat(1024 * 1024)});
    problem(
        server
            .admin()
            .post("/api/v1/groups")
            .json(&big)
            .send()
            .await
            .unwrap(),
        413,
    )
    .await;
}

#[tokio::test]
async fn wrong_types_and_unknown_fields_are_422_naming_the_field() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let cases = [
        ("/api/v1/groups", json!({"name": 7}), "name:invalid_type"),
        (
            "/api/v1/groups",
            json!({"name": "a", "colour": "red"}),
            "colour:unknown_field",
        ),
        (
            "/api/v1/groups",
            json!({"description": "no name"}),
            "name:required",
        ),
        ("/api/v1/groups", json!(["name"]), ":invalid_type"),
        (
            "/api/v1/orgs",
            json!({"slug": "a", "name": "A", "domains": "a.example"}),
            "domains:invalid_type",
        ),
        (
            "/api/v1/orgs",
            json!({"slug": "a", "name": "A", "domains": ["ok.example", 5]}),
            "domains/1:invalid_type",
        ),
        (
            "/api/v1/api-tokens",
            json!({"name": "t", "expires_in": "soon"}),
            "expires_in:invalid_type",
        ),
        (
            "/api/v1/api-tokens",
            json!({"name": "t", "scope": "all"}),
            "scope:unknown_field",
        ),
    ];
    for (path, body, expected) in cases {
        let problem = problem(admin.post(path).json(&body).send().await.unwrap(), 422).await;
        assert_eq!(
            field_codes(&problem),
            [expected],
            "{path} {body}: {problem}"
        );
    }
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405_problems() {
    let server = TestServer::start().await;
    let response = server
        .admin()
        .get("/api/v1/nothing-here")
        .send()
        .await
        .unwrap();
    problem(response, 404).await;
    let response = server
        .client()
        .get(server.url("/no/such/page"))
        .send()
        .await
        .unwrap();
    problem(response, 404).await;
    let response = server
        .admin()
        .put("/api/v1/users")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let allow = response
        .headers()
        .get("allow")
        .map(|v| v.to_str().unwrap().to_owned());
    problem(response, 405).await;
    let allow = allow.expect("405 carries Allow");
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    problem(
        server
            .admin()
            .delete("/api/v1/users/x/password")
            .send()
            .await
            .unwrap(),
        405,
    )
    .await;
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let server = TestServer::start().await;
    let response = server
        .client()
        .get(server.url("/healthz"))
        .header("x-request-id", "req-42.a:b/c")
        .send()
        .await;
    assert_eq!(response.unwrap().headers()["x-request-id"], "req-42.a:b/c");
    for insane in ["has space", "<script>", &"x".repeat(65)] {
        let response = server
            .client()
            .get(server.url("/healthz"))
            .header("x-request-id", insane)
            .send()
            .await;
        let id = response.unwrap().headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_ne!(id, insane);
        assert_eq!(id.len(), 32);
    }
    let a = server
        .client()
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    let b = server
        .client()
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_ne!(a.headers()["x-request-id"], b.headers()["x-request-id"]);
    // Also on errors.
    let response = server
        .client()
        .get(server.url("/api/v1/users"))
        .header("x-request-id", "err-1")
        .send()
        .await;
    let response = response.unwrap();
    assert_eq!(response.headers()["x-request-id"], "err-1");
    problem(response, 401).await;
}

#[tokio::test]
async fn api_responses_carry_security_headers() {
    let server = TestServer::start().await;
    let response = server.admin().get("/api/v1/users").send().await.unwrap();
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert!(
        response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    read(response).await;
    let response = server
        .admin()
        .get("/api/v1/users/nope")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["cache-control"], "no-store");
    problem(response, 404).await;
}
