//! Group rules through the admin API and `/scim/v2`, on SQLite and (when
//! `GATEHOUSE_TEST_POSTGRES_URL` is set) PostgreSQL: users matching a rule are
//! put in its group by every user write, taken out when they stop matching,
//! manual memberships are left alone, and a new rule picks up existing users.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{empty, id, json, problem};
use gatehouse_core::model::AuditQuery;
use gatehouse_testkit::TestServer;
use serde_json::{Value, json};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const EXT: &str = "urn:ietf:params:scim:schemas:extension:gatehouse:2.0:User";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const NURSING: &str = r#"user.profile.department == "Nursing""#;

async fn member_names(server: &TestServer, group: &str) -> Vec<String> {
    let list = json(
        server
            .admin()
            .get(&format!("/api/v1/groups/{group}/members"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let mut names: Vec<String> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

async fn new_group(server: &TestServer, name: &str) -> String {
    id(&server
        .admin()
        .create("/api/v1/groups", json!({ "name": name }))
        .await)
}

async fn new_rule(server: &TestServer, group: &str, expression: &str) -> Value {
    server
        .admin()
        .create(
            &format!("/api/v1/groups/{group}/rules"),
            json!({ "expression": expression }),
        )
        .await
}

async fn admin_api_keeps_rule_memberships_in_sync(server: TestServer) {
    let admin = server.admin();
    let nursing = new_group(&server, "nursing").await;
    let rule = new_rule(&server, &nursing, NURSING).await;
    assert_eq!(rule["expression"], NURSING);
    assert_eq!(rule["group_id"], nursing.as_str());

    let ada = admin
        .create(
            "/api/v1/users",
            json!({"username": "ada", "attributes": {"department": "Nursing"}}),
        )
        .await;
    let bob = admin
        .create(
            "/api/v1/users",
            json!({"username": "bob", "attributes": {"department": "Surgery"}}),
        )
        .await;
    assert_eq!(member_names(&server, &nursing).await, ["ada"]);

    // bob also joins by hand: the rule never removes a manual membership.
    let path = format!("/api/v1/groups/{nursing}/members/{}", id(&bob));
    empty(admin.put(&path).send().await.unwrap(), 204).await;

    // Changing the attribute takes ada out, and puts bob (already manual) nowhere new.
    let ada_path = format!("/api/v1/users/{}", id(&ada));
    let response = admin
        .patch(&ada_path)
        .json(&json!({"attributes": {"department": "Surgery"}}))
        .send()
        .await
        .unwrap();
    json(response, 200).await;
    let bob_path = format!("/api/v1/users/{}", id(&bob));
    let response = admin
        .patch(&bob_path)
        .json(&json!({"attributes": {"department": "Nursing"}}))
        .send()
        .await
        .unwrap();
    json(response, 200).await;
    let response = admin
        .patch(&bob_path)
        .json(&json!({"attributes": {"department": "Surgery"}}))
        .send()
        .await
        .unwrap();
    json(response, 200).await;
    assert_eq!(member_names(&server, &nursing).await, ["bob"]);

    // A lifecycle change is a user write too.
    let active = new_group(&server, "active").await;
    new_rule(&server, &active, r#"user.status == "active""#).await;
    assert_eq!(member_names(&server, &active).await, ["ada", "bob"]);
    let response = admin
        .post(&format!("{ada_path}/lifecycle/suspend"))
        .send()
        .await
        .unwrap();
    json(response, 200).await;
    assert_eq!(member_names(&server, &active).await, ["bob"]);

    // A new rule picks up existing users; deleting it takes them out again.
    let surgery = new_group(&server, "surgery").await;
    let rule = new_rule(
        &server,
        &surgery,
        r#"user.profile.department in ["Surgery", "Theatre"] and not user.username.startsWith("b")"#,
    )
    .await;
    assert_eq!(member_names(&server, &surgery).await, ["ada"]);
    let rules_path = format!("/api/v1/groups/{surgery}/rules");
    let list = json(admin.get(&rules_path).send().await.unwrap(), 200).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let rule_path = format!("{rules_path}/{}", id(&rule));
    empty(admin.delete(&rule_path).send().await.unwrap(), 204).await;
    problem(admin.delete(&rule_path).send().await.unwrap(), 404).await;
    assert!(member_names(&server, &surgery).await.is_empty());
    assert_eq!(member_names(&server, &nursing).await, ["bob"]);

    let audit = server
        .services
        .store()
        .list_audit(&AuditQuery {
            target_id: Some(surgery.clone()),
            limit: 100,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    let actions: Vec<&str> = audit.items.iter().map(|e| e.action.as_str()).collect();
    assert!(actions.contains(&"group.rule.create"), "{actions:?}");
    assert!(actions.contains(&"group.rule.delete"), "{actions:?}");
}

async fn scim_writes_keep_rule_memberships_in_sync(server: TestServer) {
    let nursing = new_group(&server, "nursing").await;
    new_rule(&server, &nursing, NURSING).await;
    let scim = |method: reqwest::Method, path: &str, body: Value| {
        server
            .client()
            .request(method, server.url(&format!("/scim/v2{path}")))
            .bearer_auth(server.admin_token())
            .header("content-type", "application/scim+json")
            .body(body.to_string())
    };
    let response = scim(
        reqwest::Method::POST,
        "/Users",
        json!({"schemas": [USER, EXT], "userName": "ada", EXT: {"department": "Nursing"}}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), 201);
    let ada: Value = response.json().await.unwrap();
    assert_eq!(ada["groups"][0]["value"], nursing.as_str(), "{ada}");
    assert_eq!(member_names(&server, &nursing).await, ["ada"]);

    let path = format!("/Users/{}", id(&ada));
    let response = scim(
        reqwest::Method::PATCH,
        &path,
        json!({"schemas": [PATCH], "Operations": [
            {"op": "replace", "path": format!("{EXT}:department"), "value": "Surgery"}
        ]}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    assert!(member_names(&server, &nursing).await.is_empty());

    let response = scim(
        reqwest::Method::PUT,
        &path,
        json!({"schemas": [USER, EXT], "userName": "ada", EXT: {"department": "Nursing"}}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    let replaced: Value = response.json().await.unwrap();
    assert_eq!(
        replaced["groups"][0]["value"],
        nursing.as_str(),
        "{replaced}"
    );
    assert_eq!(member_names(&server, &nursing).await, ["ada"]);
}

#[tokio::test]
async fn admin_api_keeps_rule_memberships_in_sync_on_sqlite() {
    admin_api_keeps_rule_memberships_in_sync(TestServer::start().await).await;
}

#[tokio::test]
async fn admin_api_keeps_rule_memberships_in_sync_on_postgres() {
    let Some(server) = TestServer::start_postgres().await else {
        return;
    };
    admin_api_keeps_rule_memberships_in_sync(server).await;
}

#[tokio::test]
async fn scim_writes_keep_rule_memberships_in_sync_on_sqlite() {
    scim_writes_keep_rule_memberships_in_sync(TestServer::start().await).await;
}

#[tokio::test]
async fn scim_writes_keep_rule_memberships_in_sync_on_postgres() {
    let Some(server) = TestServer::start_postgres().await else {
        return;
    };
    scim_writes_keep_rule_memberships_in_sync(server).await;
}

#[tokio::test]
async fn bad_expressions_are_400_with_the_position() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let group = new_group(&server, "g").await;
    let path = format!("/api/v1/groups/{group}/rules");
    for (expression, at) in [
        ("user.dept == \"a\"", "at position 5"),
        ("user.username = \"a\"", "at position 14"),
        ("", "at position 0"),
    ] {
        let response = admin
            .post(&path)
            .json(&json!({ "expression": expression }))
            .send()
            .await
            .unwrap();
        let body = problem(response, 400).await;
        assert!(
            body["detail"].as_str().unwrap().contains(at),
            "{expression}: {body}"
        );
    }
    let long = format!("user.username == \"{}\"", "a".repeat(5000));
    let response = admin
        .post(&path)
        .json(&json!({ "expression": long }))
        .send()
        .await
        .unwrap();
    problem(response, 400).await;
    let missing = "/api/v1/groups/00000000-0000-7000-8000-00000000dead/rules";
    let response = admin
        .post(missing)
        .json(&json!({ "expression": "user.email exists" }))
        .send()
        .await
        .unwrap();
    problem(response, 404).await;
    problem(admin.get(missing).send().await.unwrap(), 404).await;
}
