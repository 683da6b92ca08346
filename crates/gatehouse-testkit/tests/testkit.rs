//! The test server itself: it starts, serves, isolates and stops.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use gatehouse_core::clock::Clock;
use gatehouse_testkit::{BOOTSTRAP_TOKEN, START_MILLIS, TestOptions, TestServer};

#[tokio::test]
async fn starts_on_a_free_port_with_the_bootstrap_token() {
    let server = TestServer::start().await;
    assert_eq!(server.addr().ip().to_string(), "127.0.0.1");
    assert_ne!(server.addr().port(), 0);
    assert_eq!(server.admin_token(), BOOTSTRAP_TOKEN);
    assert_eq!(
        server.url("/healthz"),
        format!("http://{}/healthz", server.addr())
    );
    let response = server
        .client()
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = server.admin().get("/api/v1/users").send().await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn servers_are_isolated_from_each_other() {
    let (a, b) = tokio::join!(TestServer::start(), TestServer::start());
    assert_ne!(a.addr(), b.addr());
    a.admin().create_user("only-in-a", None).await;
    let listed: serde_json::Value = b
        .admin()
        .get("/api/v1/users")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"], serde_json::json!([]));
}

#[tokio::test]
async fn the_clock_is_fake_and_shared_with_the_services() {
    let server = TestServer::start().await;
    assert_eq!(server.clock.now_millis(), START_MILLIS);
    server.clock.advance_secs(86_400);
    let user = server.admin().create_user("ada", None).await;
    assert_eq!(user["created_at"], "2023-11-15T22:13:20.000Z");
}

#[tokio::test]
async fn stops_serving_when_dropped() {
    let server = TestServer::start().await;
    let url = server.url("/healthz");
    let client = server.client().clone();
    drop(server);
    // The listener is closed once the server task is gone.
    let mut refused = false;
    for _ in 0..100 {
        if client.get(&url).send().await.is_err() {
            refused = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(refused, "the server still answers after drop");
}

#[tokio::test]
async fn without_a_bootstrap_token_the_setup_link_is_issued() {
    let server = TestServer::start_with(TestOptions::default().without_bootstrap_token()).await;
    let response = server
        .with_token(BOOTSTRAP_TOKEN)
        .get("/api/v1/users")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert!(
        server
            .services
            .setup
            .first_start_link()
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn postgres_server_gets_a_fresh_database() {
    let Some(server) = TestServer::start_postgres().await else {
        return; // GATEHOUSE_TEST_POSTGRES_URL is not set.
    };
    let listed: serde_json::Value = server
        .admin()
        .get("/api/v1/users")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"], serde_json::json!([]));
    server.admin().create_user("ada", None).await;
}
