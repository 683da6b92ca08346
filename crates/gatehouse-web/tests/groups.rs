//! `/api/v1/groups` and memberships through the real HTTP surface.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{empty, etag, field_codes, id, json, problem};
use gatehouse_testkit::TestServer;
use serde_json::{Value, json};

#[tokio::test]
async fn group_crud() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let response = admin
        .post("/api/v1/groups")
        .json(&json!({"name": "engineering", "description": "Builds"}))
        .send();
    let response = response.await.unwrap();
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let group = json(response, 201).await;
    let path = format!("/api/v1/groups/{}", id(&group));
    assert_eq!(location, server.url(&path));
    assert_eq!(group["name"], "engineering");
    assert_eq!(group["description"], "Builds");
    assert_eq!(group["org_id"], "00000000-0000-7000-8000-000000000001");
    assert_eq!(group["version"], 1);

    let response = admin.get(&path).send().await.unwrap();
    assert_eq!(etag(response.headers()), "\"1\"");
    assert_eq!(json(response, 200).await, group);

    let response = admin
        .patch(&path)
        .json(&json!({"description": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(etag(response.headers()), "\"2\"");
    let patched = json(response, 200).await;
    assert_eq!(patched["description"], Value::Null);
    let response = admin
        .patch(&path)
        .header("if-match", "\"1\"")
        .json(&json!({"name": "x"}))
        .send()
        .await;
    problem(response.unwrap(), 412).await;
    let response = admin
        .patch(&path)
        .json(&json!({"owner": "me"}))
        .send()
        .await
        .unwrap();
    problem(response, 422).await;

    admin.create("/api/v1/groups", json!({"name": "ops"})).await;
    let list = json(
        admin
            .get("/api/v1/groups?name_prefix=ENG")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let list = json(
        admin.get("/api/v1/groups?limit=1").send().await.unwrap(),
        200,
    )
    .await;
    assert!(list["next_cursor"].is_string());

    empty(admin.delete(&path).send().await.unwrap(), 204).await;
    problem(admin.get(&path).send().await.unwrap(), 404).await;
}

#[tokio::test]
async fn group_bad_input() {
    let server = TestServer::start().await;
    let admin = server.admin();
    admin.create("/api/v1/groups", json!({"name": "Ops"})).await;
    problem(
        admin
            .post("/api/v1/groups")
            .json(&json!({"name": "ops"}))
            .send()
            .await
            .unwrap(),
        409,
    )
    .await;
    let blank = problem(
        admin
            .post("/api/v1/groups")
            .json(&json!({"name": "  "}))
            .send()
            .await
            .unwrap(),
        422,
    )
    .await;
    assert_eq!(field_codes(&blank), ["name:invalid_length"]);
    let nowhere = json!({"name": "x", "org_id": "0190a5a0-0000-7000-8000-0000000000ff"});
    problem(
        admin
            .post("/api/v1/groups")
            .json(&nowhere)
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    problem(
        admin
            .get("/api/v1/groups?cursor=nope")
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
}

#[tokio::test]
async fn memberships_are_idempotent_and_listed() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let group = admin
        .create("/api/v1/groups", json!({"name": "engineering"}))
        .await;
    let members = format!("/api/v1/groups/{}/members", id(&group));
    let mut users = Vec::new();
    for name in ["ada", "grace", "alan"] {
        users.push(admin.create_user(name, None).await);
        server.clock.advance_secs(1);
    }
    for user in &users {
        let path = format!("{members}/{}", id(user));
        empty(admin.put(&path).send().await.unwrap(), 204).await;
        empty(admin.put(&path).send().await.unwrap(), 204).await;
    }
    let response = admin
        .get(&format!("{members}?limit=2&sort=username"))
        .send()
        .await
        .unwrap();
    let link = response.headers()["link"].to_str().unwrap().to_owned();
    assert!(
        link.contains(&format!("/api/v1/groups/{}/members?", id(&group))),
        "{link}"
    );
    assert!(!link.contains("group_id"), "{link}");
    let page = json(response, 200).await;
    let names: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ada", "alan"]);

    let first = format!("{members}/{}", id(&users[0]));
    empty(admin.delete(&first).send().await.unwrap(), 204).await;
    problem(admin.delete(&first).send().await.unwrap(), 404).await;
    let all = json(admin.get(&members).send().await.unwrap(), 200).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2);

    // Unknown users and groups, and malformed ids, are all plain 404s.
    problem(
        admin
            .put(&format!("{members}/0190a5a0-0000-7000-8000-0000000000ff"))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    problem(
        admin.put(&format!("{members}/nope")).send().await.unwrap(),
        404,
    )
    .await;
    let nowhere = "/api/v1/groups/0190a5a0-0000-7000-8000-0000000000ff/members";
    problem(admin.get(nowhere).send().await.unwrap(), 404).await;
    problem(
        admin
            .get("/api/v1/groups/nope/members")
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
}

#[tokio::test]
async fn members_must_share_the_groups_org() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let acme = admin.create_org("acme").await;
    let outsider = admin.create_user("outsider", Some(&id(&acme))).await;
    let group = admin
        .create("/api/v1/groups", json!({"name": "default-only"}))
        .await;
    let path = format!("/api/v1/groups/{}/members/{}", id(&group), id(&outsider));
    let problem_body = problem(admin.put(&path).send().await.unwrap(), 422).await;
    assert_eq!(field_codes(&problem_body), ["user_id:other_org"]);
}
