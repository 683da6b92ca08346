//! The committed `docs/openapi.json` is what the code generates, and what the
//! server serves at `/api/openapi.json`.
//!
//! After changing a handler or a DTO, regenerate it with
//! `UPDATE_OPENAPI=1 cargo test -p gatehouse-web --test openapi`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use gatehouse_testkit::TestServer;

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json")
}

#[test]
fn committed_openapi_document_is_current() {
    let generated = gatehouse_web::openapi::to_pretty_json();
    let path = committed_path();
    if std::env::var_os("UPDATE_OPENAPI").is_some_and(|v| v == "1") {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let line = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .map_or_else(
                || committed.lines().count().min(generated.lines().count()) + 1,
                |i| i + 1,
            );
        panic!(
            "docs/openapi.json is out of date (first difference at line {line}).\n\
             Regenerate it with: UPDATE_OPENAPI=1 cargo test -p gatehouse-web --test openapi\n\
             and commit the result."
        );
    }
}

#[test]
fn openapi_document_describes_the_admin_api() {
    let doc: serde_json::Value =
        serde_json::from_str(&gatehouse_web::openapi::to_pretty_json()).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    for path in [
        "/api/v1/users",
        "/api/v1/users/{id}",
        "/api/v1/users/{id}/lifecycle/{action}",
        "/api/v1/users/{id}/password",
        "/api/v1/users/{id}/groups",
        "/api/v1/orgs",
        "/api/v1/orgs/{id}",
        "/api/v1/groups",
        "/api/v1/groups/{id}",
        "/api/v1/groups/{id}/members",
        "/api/v1/groups/{id}/members/{user_id}",
        "/api/v1/api-tokens",
        "/api/v1/api-tokens/{id}",
    ] {
        let item = &doc["paths"][path];
        assert!(item.is_object(), "{path} is not documented");
        for (method, op) in item.as_object().unwrap() {
            assert_eq!(
                op["security"][0]["bearer"],
                serde_json::json!([]),
                "{method} {path} lacks bearer security"
            );
            assert!(
                op["responses"]["401"].is_object(),
                "{method} {path} lacks a 401"
            );
        }
    }
    let text = doc.to_string();
    for reference in text.split("\"#/components/schemas/").skip(1) {
        let name = reference.split('"').next().unwrap();
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "dangling schema reference {name}"
        );
    }
    let user = &doc["components"]["schemas"]["User"]["properties"];
    assert!(
        user["id"].is_object() && user["given_name"].is_object() && user["version"].is_object()
    );
    assert!(user.get("password").is_none() && user.get("password_hash").is_none());
}

#[tokio::test]
async fn served_openapi_document_is_the_generated_one() {
    let server = TestServer::start().await;
    let response = server
        .client()
        .get(server.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(
        response.text().await.unwrap(),
        gatehouse_web::openapi::to_pretty_json()
    );
}
