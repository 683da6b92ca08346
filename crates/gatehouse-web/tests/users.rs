//! `/api/v1/users` through the real HTTP surface.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{empty, etag, field_codes, id, json, problem};
use gatehouse_testkit::TestServer;
use serde_json::{Value, json};

const PASSWORD: &str = "Tr0ub4dor&3-horse-staple";

#[tokio::test]
async fn create_user_answers_201_with_the_user() {
    let server = TestServer::start().await;
    // The fixed INTERFACE.md call.
    let response = server
        .admin()
        .post("/api/v1/users")
        .json(
            &json!({"username": "ada", "email": "ada@example.com", "password": PASSWORD,
            "given_name": "Ada", "family_name": "Lovelace"}),
        )
        .send()
        .await
        .unwrap();
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let tag = etag(response.headers());
    let user = json(response, 201).await;
    let id = id(&user);
    assert_eq!(location, server.url(&format!("/api/v1/users/{id}")));
    assert_eq!(tag, "\"1\"");
    assert_eq!(user["username"], "ada");
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["email_verified"], false);
    assert_eq!(user["given_name"], "Ada");
    assert_eq!(user["family_name"], "Lovelace");
    assert_eq!(user["status"], "active");
    assert_eq!(user["org_id"], "00000000-0000-7000-8000-000000000001");
    assert_eq!(user["attributes"], json!({}));
    assert_eq!(user["version"], 1);
    assert_eq!(user["created_at"], "2023-11-14T22:13:20.000Z");
    assert_eq!(user["last_login_at"], Value::Null);
    assert!(user.get("password").is_none() && user.get("password_hash").is_none());
    assert!(!user.to_string().contains(PASSWORD));

    let response = server
        .admin()
        .get(&format!("/api/v1/users/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(etag(response.headers()), "\"1\"");
    assert_eq!(json(response, 200).await, user);
}

#[tokio::test]
async fn create_user_takes_claims_attributes_status_and_imported_hashes() {
    let server = TestServer::start().await;
    let user = server
        .admin()
        .create(
            "/api/v1/users",
            json!({"username": "grace", "email": "grace@example.com", "email_verified": true,
                "locale": "en-US", "phone_number": "+1 555 0100", "address": {"country": "US"},
                "attributes": {"department": "Navy"}, "status": "staged",
                "password_hash": "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"}),
        )
        .await;
    assert_eq!(user["status"], "staged");
    assert_eq!(user["email_verified"], true);
    assert_eq!(user["locale"], "en-US");
    assert_eq!(user["address"], json!({"country": "US"}));
    assert_eq!(user["attributes"], json!({"department": "Navy"}));
    assert!(!user.to_string().contains("$2b$"));
}

#[tokio::test]
async fn create_user_rejects_bad_fields_with_422() {
    let server = TestServer::start().await;
    let cases = [
        (
            json!({"username": "a", "email": "not-an-email"}),
            "email:invalid_email",
        ),
        (json!({"email": "a@example.com"}), "username:required"),
        (json!({"username": 5}), "username:invalid_type"),
        (
            json!({"username": "a", "password": 12345678}),
            "password:invalid_type",
        ),
        (
            json!({"username": "a", "status": "locked_out"}),
            "status:invalid_value",
        ),
        (
            json!({"username": "a", "status": "sleepy"}),
            "status:invalid_value",
        ),
        (
            json!({"username": "a", "org_id": "not-a-uuid"}),
            "org_id:invalid_value",
        ),
        (
            json!({"username": "a", "attributes": []}),
            "attributes:invalid_type",
        ),
        (
            json!({"username": "a", "password": "short"}),
            "password:too_short",
        ),
        (
            json!({"username": "a", "password": "x", "password_hash": "y"}),
            "password_hash:conflict",
        ),
    ];
    for (body, expected) in cases {
        let response = server
            .admin()
            .post("/api/v1/users")
            .json(&body)
            .send()
            .await
            .unwrap();
        let problem = problem(response, 422).await;
        assert!(
            field_codes(&problem).contains(&expected.to_owned()),
            "{body}: {problem}"
        );
        assert!(
            !problem.to_string().contains("12345678"),
            "a misplaced secret is echoed: {problem}"
        );
    }
    // An unknown field is refused, not ignored.
    let response = server
        .admin()
        .post("/api/v1/users")
        .json(&json!({"username": "a", "shoe_size": 44}))
        .send()
        .await;
    let problem = problem(response.unwrap(), 422).await;
    assert_eq!(
        field_codes(&problem),
        ["shoe_size:unknown_field"],
        "{problem}"
    );
}

#[tokio::test]
async fn duplicate_username_or_email_in_one_org_is_409_case_insensitively() {
    let server = TestServer::start().await;
    let admin = server.admin();
    admin
        .create(
            "/api/v1/users",
            json!({"username": "Alice", "email": "Alice@Example.com"}),
        )
        .await;
    for body in [
        json!({"username": "alice", "email": "other@example.com"}),
        json!({"username": "ALICE"}),
        json!({"username": "bob", "email": "alice@example.COM"}),
    ] {
        let response = admin
            .post("/api/v1/users")
            .json(&body)
            .send()
            .await
            .unwrap();
        let problem = problem(response, 409).await;
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("already exists"),
            "{problem}"
        );
    }
    // The same names are free in another org.
    let org = admin.create_org("acme").await;
    admin
        .create(
            "/api/v1/users",
            json!({"username": "alice", "email": "alice@example.com", "org_id": org["id"]}),
        )
        .await;
}

#[tokio::test]
async fn patch_merges_fields_and_bumps_the_etag() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let user = admin.create_user("ada", None).await;
    let path = format!("/api/v1/users/{}", id(&user));
    server.clock.advance_secs(60);
    let response = admin
        .patch(&path)
        .header("content-type", "application/merge-patch+json")
        .body(r#"{"given_name": "Ada", "attributes": {"team": "engines"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(etag(response.headers()), "\"2\"");
    let patched = json(response, 200).await;
    assert_eq!(patched["given_name"], "Ada");
    assert_eq!(patched["attributes"], json!({"team": "engines"}));
    assert_eq!(patched["email"], "ada@example.com");
    assert_eq!(patched["version"], 2);
    assert_eq!(patched["updated_at"], "2023-11-14T22:14:20.000Z");
    assert_eq!(patched["created_at"], user["created_at"]);

    // null removes; plain application/json is accepted too.
    let response = admin
        .patch(&path)
        .json(&json!({"given_name": null, "email": null}))
        .send()
        .await
        .unwrap();
    let patched = json(response, 200).await;
    assert!(patched.get("given_name").is_none(), "{patched}");
    assert_eq!(patched["email"], Value::Null);

    // Read-only fields and passwords are refused with a pointer to the right call.
    let response = admin
        .patch(&path)
        .json(&json!({"status": "suspended", "password": PASSWORD}))
        .send()
        .await;
    let problem = problem(response.unwrap(), 422).await;
    assert_eq!(
        field_codes(&problem),
        ["status:read_only", "password:read_only"]
    );
    assert!(!problem.to_string().contains(PASSWORD));

    let response = admin
        .patch(&path)
        .json(&json!({"email": "bad"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        field_codes(&problem_of(response, 422).await),
        ["email:invalid_email"]
    );
    let response = admin
        .patch(&path)
        .json(&json!(["not", "an", "object"]))
        .send()
        .await
        .unwrap();
    problem_of(response, 422).await;
}

async fn problem_of(response: reqwest::Response, status: u16) -> Value {
    problem(response, status).await
}

#[tokio::test]
async fn stale_if_match_is_412_and_current_one_succeeds() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let user = admin.create_user("ada", None).await;
    let path = format!("/api/v1/users/{}", id(&user));
    let response = admin
        .patch(&path)
        .header("if-match", "\"1\"")
        .json(&json!({"nickname": "a"}))
        .send()
        .await;
    assert_eq!(json(response.unwrap(), 200).await["version"], 2);
    for stale in ["\"1\"", "W/\"2\"", "\"abc\""] {
        let response = admin
            .patch(&path)
            .header("if-match", stale)
            .json(&json!({"nickname": "b"}))
            .send()
            .await;
        problem(response.unwrap(), 412).await;
    }
    let response = admin
        .patch(&path)
        .header("if-match", "2")
        .json(&json!({"nickname": "b"}))
        .send()
        .await;
    problem(response.unwrap(), 400).await;
    let response = admin
        .patch(&path)
        .header("if-match", "*")
        .json(&json!({"nickname": "c"}))
        .send()
        .await;
    assert_eq!(json(response.unwrap(), 200).await["nickname"], "c");
    let response = admin.get(&path).send().await.unwrap();
    assert_eq!(json(response, 200).await["nickname"], "c");
}

/// Two concurrent updates of different fields without `If-Match` both land:
/// a lost race is retried on the new version, never silently overwritten.
#[tokio::test]
async fn concurrent_patches_without_if_match_both_land() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let user = admin.create_user("ada", None).await;
    let path = format!("/api/v1/users/{}", id(&user));
    let fields = [
        "given_name",
        "family_name",
        "nickname",
        "locale",
        "zoneinfo",
    ];
    let patches = fields.map(|field| {
        let request = admin
            .patch(&path)
            .json(&json!({ field: format!("{field}-value") }));
        async move { request.send().await.unwrap().status().as_u16() }
    });
    let [a, b, c, d, e] = patches;
    let statuses = tokio::join!(a, b, c, d, e);
    assert_eq!(statuses, (200, 200, 200, 200, 200));
    let stored = json(admin.get(&path).send().await.unwrap(), 200).await;
    for field in fields {
        assert_eq!(stored[field], format!("{field}-value"), "{stored}");
    }
    assert_eq!(stored["version"], 1 + fields.len());
}

#[tokio::test]
async fn lifecycle_transitions_follow_the_state_machine() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let user = admin
        .create(
            "/api/v1/users",
            json!({"username": "ada", "status": "staged"}),
        )
        .await;
    let base = format!("/api/v1/users/{}/lifecycle", id(&user));
    let step = |action: &str| admin.post(&format!("{base}/{action}")).send();
    assert_eq!(
        json(step("activate").await.unwrap(), 200).await["status"],
        "active"
    );
    let conflict = problem(step("activate").await.unwrap(), 409).await;
    assert!(
        conflict["detail"].as_str().unwrap().contains("active"),
        "{conflict}"
    );
    assert_eq!(
        json(step("suspend").await.unwrap(), 200).await["status"],
        "suspended"
    );
    problem(step("suspend").await.unwrap(), 409).await;
    problem(step("unlock").await.unwrap(), 409).await;
    assert_eq!(
        json(step("unsuspend").await.unwrap(), 200).await["status"],
        "active"
    );
    let user = json(step("deactivate").await.unwrap(), 200).await;
    assert_eq!(user["status"], "deprovisioned");
    assert_eq!(user["version"], 5);
    problem(step("deactivate").await.unwrap(), 409).await;
    problem(step("explode").await.unwrap(), 404).await;
    problem(
        admin.get(&format!("{base}/activate")).send().await.unwrap(),
        405,
    )
    .await;
}

#[tokio::test]
async fn password_is_set_with_put_and_checked_against_the_policy() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let user = admin.create_user("ada", None).await;
    let path = format!("/api/v1/users/{}/password", id(&user));
    empty(
        admin
            .put(&path)
            .json(&json!({"password": PASSWORD}))
            .send()
            .await
            .unwrap(),
        204,
    )
    .await;
    let too_short = problem(
        admin
            .put(&path)
            .json(&json!({"password": "Zq7#x"}))
            .send()
            .await
            .unwrap(),
        422,
    )
    .await;
    assert_eq!(field_codes(&too_short), ["password:too_short"]);
    assert!(!too_short.to_string().contains("Zq7#x"), "{too_short}");
    let common = problem(
        admin
            .put(&path)
            .json(&json!({"password": "password123"}))
            .send()
            .await
            .unwrap(),
        422,
    )
    .await;
    assert!(!common.to_string().contains("password123"), "{common}");
    problem(
        admin
            .put(&path)
            .json(&json!({"password": PASSWORD, "old": "x"}))
            .send()
            .await
            .unwrap(),
        422,
    )
    .await;
    problem(admin.put(&path).json(&json!({})).send().await.unwrap(), 422).await;
    let missing = "/api/v1/users/0190a5a0-0000-7000-8000-0000000000ff/password";
    problem(
        admin
            .put(missing)
            .json(&json!({"password": PASSWORD}))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
}

#[tokio::test]
async fn delete_user_answers_204_then_404() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let user = admin.create_user("ada", None).await;
    let path = format!("/api/v1/users/{}", id(&user));
    empty(admin.delete(&path).send().await.unwrap(), 204).await;
    problem(admin.get(&path).send().await.unwrap(), 404).await;
    problem(admin.delete(&path).send().await.unwrap(), 404).await;
    // The username is free again.
    admin.create_user("ada", None).await;
}

#[tokio::test]
async fn non_uuid_ids_are_404_not_400() {
    let server = TestServer::start().await;
    let admin = server.admin();
    for path in [
        "/api/v1/users/42",
        "/api/v1/users/..%2F..%2Fetc",
        "/api/v1/users/0190a5a000007000800000000000000001",
    ] {
        let problem = problem(admin.get(path).send().await.unwrap(), 404).await;
        assert_eq!(problem["detail"], "user not found");
    }
    problem(
        admin.delete("/api/v1/users/nope").send().await.unwrap(),
        404,
    )
    .await;
    problem(
        admin
            .post("/api/v1/users/nope/lifecycle/suspend")
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
}

#[tokio::test]
async fn list_users_pages_with_cursor_and_link_header() {
    let server = TestServer::start().await;
    let admin = server.admin();
    for name in ["carol", "alice", "eve", "bob", "dave"] {
        admin.create_user(name, None).await;
        // Ids are time-ordered; a tick apart keeps creation order unambiguous.
        server.clock.advance_secs(1);
    }
    let response = admin.get("/api/v1/users?limit=2").send().await.unwrap();
    let link = response.headers()["link"].to_str().unwrap().to_owned();
    let page = json(response, 200).await;
    let names = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&page), ["carol", "alice"]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let next_url = link
        .strip_prefix('<')
        .and_then(|l| l.strip_suffix(">; rel=\"next\""))
        .unwrap();
    assert!(
        next_url.starts_with(&server.url("/api/v1/users?")),
        "{link}"
    );
    assert!(next_url.contains("limit=2"), "{link}");

    // Following the Link header and passing the cursor give the same page.
    let via_link = json(
        server
            .client()
            .get(next_url)
            .bearer_auth(server.admin_token())
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let via_cursor = admin
        .get("/api/v1/users")
        .query(&[("limit", "2"), ("cursor", cursor)])
        .send()
        .await
        .unwrap();
    let via_cursor = json(via_cursor, 200).await;
    assert_eq!(names(&via_link), ["eve", "bob"]);
    assert_eq!(via_link, via_cursor);
    let last = admin.get("/api/v1/users").query(&[
        ("limit", "2"),
        ("cursor", via_link["next_cursor"].as_str().unwrap()),
    ]);
    let response = last.send().await.unwrap();
    assert!(!response.headers().contains_key("link"));
    let last = json(response, 200).await;
    assert_eq!(names(&last), ["dave"]);
    assert_eq!(last["next_cursor"], Value::Null);

    let sorted = admin
        .get("/api/v1/users?sort=username&order=desc")
        .send()
        .await
        .unwrap();
    assert_eq!(
        names(&json(sorted, 200).await),
        ["eve", "dave", "carol", "bob", "alice"]
    );
    let all = json(admin.get("/api/v1/users").send().await.unwrap(), 200).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 5);
    assert_eq!(all["next_cursor"], Value::Null);
}

#[tokio::test]
async fn list_users_filters() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let alice = admin.create_user("alice", None).await;
    admin.create_user("alfred", None).await;
    admin
        .create(
            "/api/v1/users",
            json!({"username": "bob", "status": "staged"}),
        )
        .await;
    let group = admin
        .create("/api/v1/groups", json!({"name": "admins"}))
        .await;
    let member = format!("/api/v1/groups/{}/members/{}", id(&group), id(&alice));
    empty(admin.put(&member).send().await.unwrap(), 204).await;

    let names = |page: Value| -> Vec<String> {
        let mut names: Vec<String> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };
    let query = |q: &'static str| admin.get(&format!("/api/v1/users?{q}")).send();
    assert_eq!(
        names(json(query("username_prefix=AL").await.unwrap(), 200).await),
        ["alfred", "alice"]
    );
    assert_eq!(
        names(json(query("email=ALICE@example.com").await.unwrap(), 200).await),
        ["alice"]
    );
    assert_eq!(
        names(json(query("status=staged").await.unwrap(), 200).await),
        ["bob"]
    );
    let by_group = admin
        .get("/api/v1/users")
        .query(&[("group_id", id(&group))])
        .send()
        .await
        .unwrap();
    assert_eq!(names(json(by_group, 200).await), ["alice"]);
    let by_org = admin
        .get("/api/v1/users")
        .query(&[("org_id", "00000000-0000-7000-8000-000000000001")])
        .send();
    assert_eq!(names(json(by_org.await.unwrap(), 200).await).len(), 3);
}

#[tokio::test]
async fn list_users_rejects_bad_parameters_with_400() {
    let server = TestServer::start().await;
    let admin = server.admin();
    admin.create_user("alice", None).await;
    admin.create_user("bob", None).await;
    let page = json(
        admin
            .get("/api/v1/users?limit=1&sort=username")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let username_cursor = page["next_cursor"].as_str().unwrap().to_owned();
    for query in [
        "limit=0".to_owned(),
        "limit=1001".to_owned(),
        "limit=-1".to_owned(),
        "limit=ten".to_owned(),
        "status=sleepy".to_owned(),
        "sort=age".to_owned(),
        "order=sideways".to_owned(),
        "group_id=not-a-uuid".to_owned(),
        "colour=blue".to_owned(),
        "cursor=garbage".to_owned(),
        // A cursor only continues the listing (sort and order) that issued it.
        format!("cursor={username_cursor}"),
        format!("sort=username&order=desc&cursor={username_cursor}"),
    ] {
        let response = admin
            .get(&format!("/api/v1/users?{query}"))
            .send()
            .await
            .unwrap();
        let problem = problem(response, 400).await;
        assert!(problem["detail"].is_string(), "{query}: {problem}");
    }
    // An unknown group is not found, not a bad parameter.
    let response = admin
        .get("/api/v1/users?group_id=0190a5a0-0000-7000-8000-0000000000ff")
        .send()
        .await
        .unwrap();
    problem(response, 404).await;
}

#[tokio::test]
async fn user_groups_lists_memberships() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let user = admin.create_user("ada", None).await;
    for name in ["ops", "dev"] {
        let group = admin.create("/api/v1/groups", json!({"name": name})).await;
        let member = format!("/api/v1/groups/{}/members/{}", id(&group), id(&user));
        empty(admin.put(&member).send().await.unwrap(), 204).await;
    }
    let groups = json(
        admin
            .get(&format!("/api/v1/users/{}/groups", id(&user)))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let names: Vec<&str> = groups["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["dev", "ops"]);
    assert_eq!(groups["next_cursor"], Value::Null);
}
