//! Liveness and readiness probes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::json;
use gatehouse_testkit::TestServer;
use serde_json::json;

#[tokio::test]
async fn probes_answer_200_without_credentials() {
    let server = TestServer::start().await;
    let health = json(
        server
            .client()
            .get(server.url("/healthz"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(health, json!({"status": "ok"}));
    let ready = json(
        server
            .client()
            .get(server.url("/readyz"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(ready, json!({"status": "ready"}));
}
