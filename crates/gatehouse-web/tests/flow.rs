//! The main admin flow (org, users, group, membership, token, lifecycle,
//! update, delete) on SQLite always, and on PostgreSQL when
//! `GATEHOUSE_TEST_POSTGRES_URL` is set: the API behaves the same on both.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{empty, id, json, problem};
use gatehouse_testkit::TestServer;
use serde_json::{Value, json};

async fn main_flow(server: &TestServer) {
    let admin = server.admin();
    let org = admin
        .create(
            "/api/v1/orgs",
            json!({"slug": "acme", "name": "Acme", "domains": ["acme.example"]}),
        )
        .await;
    let org_id = id(&org);
    let token = admin.create_token("acme-ci", Some(&org_id)).await;
    let acme = server.with_token(&token);

    let ada = acme
        .create(
            "/api/v1/users",
            json!({"username": "ada", "email": "Ada@Acme.example", "password": "analytical-engine-1843",
                "given_name": "Ada", "family_name": "Lovelace"}),
        )
        .await;
    assert_eq!(ada["org_id"], org_id.as_str());
    server.clock.advance_secs(1);
    let grace = acme.create_user("grace", None).await;
    let duplicate = json!({"username": "ADA", "email": "x@acme.example"});
    problem(
        acme.post("/api/v1/users")
            .json(&duplicate)
            .send()
            .await
            .unwrap(),
        409,
    )
    .await;

    let group = acme
        .create("/api/v1/groups", json!({"name": "engineering"}))
        .await;
    let members = format!("/api/v1/groups/{}/members", id(&group));
    for user in [&ada, &grace] {
        empty(
            acme.put(&format!("{members}/{}", id(user)))
                .send()
                .await
                .unwrap(),
            204,
        )
        .await;
    }
    let listed = json(
        acme.get(&format!("{members}?limit=1"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(listed["items"][0]["username"], "ada");
    let cursor = listed["next_cursor"].as_str().unwrap();
    let rest = json(
        acme.get(&members)
            .query(&[("limit", "1"), ("cursor", cursor)])
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(rest["items"][0]["username"], "grace");

    let by_email = json(
        acme.get("/api/v1/users?email=ada@acme.EXAMPLE")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(by_email["items"].as_array().unwrap().len(), 1);

    let ada_path = format!("/api/v1/users/{}", id(&ada));
    let patched = acme
        .patch(&ada_path)
        .header("if-match", "\"1\"")
        .json(&json!({"nickname": "Countess"}))
        .send();
    assert_eq!(json(patched.await.unwrap(), 200).await["version"], 2);
    let stale = acme
        .patch(&ada_path)
        .header("if-match", "\"1\"")
        .json(&json!({"nickname": "x"}))
        .send();
    problem(stale.await.unwrap(), 412).await;
    let suspended = json(
        acme.post(&format!("{ada_path}/lifecycle/suspend"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(suspended["status"], "suspended");
    problem(
        acme.post(&format!("{ada_path}/lifecycle/suspend"))
            .send()
            .await
            .unwrap(),
        409,
    )
    .await;
    let groups = json(
        acme.get(&format!("{ada_path}/groups"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(groups["items"][0]["name"], "engineering");

    // The default org's admin data stays invisible to the org token.
    let outsider = admin.create_user("outsider", None).await;
    problem(
        acme.get(&format!("/api/v1/users/{}", id(&outsider)))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    let seen = json(acme.get("/api/v1/users").send().await.unwrap(), 200).await;
    assert_eq!(seen["items"].as_array().unwrap().len(), 2);

    empty(acme.delete(&ada_path).send().await.unwrap(), 204).await;
    problem(acme.get(&ada_path).send().await.unwrap(), 404).await;
    let after = json(acme.get(&members).send().await.unwrap(), 200).await;
    assert_eq!(after["items"].as_array().unwrap().len(), 1);
    assert_eq!(after["next_cursor"], Value::Null);

    let tokens = json(admin.get("/api/v1/api-tokens").send().await.unwrap(), 200).await;
    let acme_token = tokens["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "acme-ci")
        .unwrap();
    empty(
        admin
            .delete(&format!("/api/v1/api-tokens/{}", id(acme_token)))
            .send()
            .await
            .unwrap(),
        204,
    )
    .await;
    problem(acme.get("/api/v1/users").send().await.unwrap(), 401).await;

    empty(
        admin
            .delete(&format!("/api/v1/orgs/{org_id}"))
            .send()
            .await
            .unwrap(),
        204,
    )
    .await;
    problem(
        admin
            .get(&format!("/api/v1/users/{}", id(&grace)))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
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
    assert_eq!(ready["status"], "ready");
}

#[tokio::test]
async fn main_flow_on_sqlite() {
    main_flow(&TestServer::start().await).await;
}

#[tokio::test]
async fn main_flow_on_postgres() {
    let Some(server) = TestServer::start_postgres().await else {
        return; // GATEHOUSE_TEST_POSTGRES_URL is not set.
    };
    main_flow(&server).await;
}

#[tokio::test]
async fn concurrent_patches_both_land_on_postgres() {
    let Some(server) = TestServer::start_postgres().await else {
        return;
    };
    let admin = server.admin();
    let user = admin.create_user("ada", None).await;
    let path = format!("/api/v1/users/{}", id(&user));
    let a = admin
        .patch(&path)
        .json(&json!({"given_name": "Ada"}))
        .send();
    let b = admin
        .patch(&path)
        .json(&json!({"family_name": "Lovelace"}))
        .send();
    let (a, b) = tokio::join!(a, b);
    json(a.unwrap(), 200).await;
    json(b.unwrap(), 200).await;
    let stored = json(admin.get(&path).send().await.unwrap(), 200).await;
    assert_eq!(
        (
            stored["given_name"].as_str(),
            stored["family_name"].as_str()
        ),
        (Some("Ada"), Some("Lovelace"))
    );
}
