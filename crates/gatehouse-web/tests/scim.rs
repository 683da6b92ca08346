//! `/scim/v2` through the real HTTP surface: auth and org scoping, the
//! resource lifecycle with ETags, PATCH quirks of real clients, errors,
//! groups, bulk, and filters checked against the reference evaluator
//! (`gatehouse_scim::filter::matches`) on both engines.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{json, read};
use gatehouse_core::model::AuditQuery;
use gatehouse_testkit::TestServer;
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{Value, json};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

struct Scim<'a> {
    server: &'a TestServer,
    token: String,
}

impl Scim<'_> {
    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.server
            .client()
            .request(method, self.server.url(&format!("/scim/v2{path}")))
            .bearer_auth(&self.token)
    }

    fn send(&self, method: Method, path: &str, body: Value) -> RequestBuilder {
        self.request(method, path)
            .header("content-type", "application/scim+json")
            .body(body.to_string())
    }

    async fn create_user(&self, body: Value) -> Value {
        scim(
            self.send(Method::POST, "/Users", body)
                .send()
                .await
                .unwrap(),
            201,
        )
        .await
    }
}

fn as_admin(server: &TestServer) -> Scim<'_> {
    Scim {
        server,
        token: server.admin_token().to_owned(),
    }
}

/// Asserts a SCIM JSON answer with this status.
async fn scim(response: Response, status: u16) -> Value {
    let (got, headers, text) = read(response).await;
    assert_eq!(got, status, "expected {status}, got {got}: {text}");
    assert_eq!(headers["content-type"], "application/scim+json", "{text}");
    serde_json::from_str(&text).unwrap()
}

/// Asserts a SCIM error (RFC 7644 §3.12) and returns its `scimType`.
async fn scim_error(response: Response, status: u16) -> Option<String> {
    let body = scim(response, status).await;
    assert_eq!(body["schemas"], json!([ERROR]), "{body}");
    assert_eq!(body["status"], status.to_string(), "{body}");
    body["scimType"].as_str().map(str::to_owned)
}

fn user(name: &str) -> Value {
    json!({
        "schemas": [USER],
        "userName": name,
        "name": { "givenName": "Ada", "familyName": "Lovelace" },
        "emails": [{ "value": format!("{name}@example.com"), "type": "work", "primary": true }],
        "active": true,
    })
}

#[tokio::test]
async fn scim_tokens_are_bound_to_one_org_and_refused_by_the_admin_api() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let org = admin.create_org("acme").await;
    let org_id = org["id"].as_str().unwrap();
    let created = admin
        .create(
            "/api/v1/api-tokens",
            json!({"name": "okta", "org_id": org_id, "kind": "scim"}),
        )
        .await;
    assert_eq!(created["kind"], "scim");
    let token = created["token"].as_str().unwrap().to_owned();
    let client = Scim {
        server: &server,
        token: token.clone(),
    };

    // No token, a wrong token: 401 with the SCIM error body.
    let response = server
        .client()
        .get(server.url("/scim/v2/Users"))
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key("www-authenticate"));
    scim_error(response, 401).await;
    let wrong = Scim {
        server: &server,
        token: "gha_wrong".into(),
    };
    scim_error(
        wrong.request(Method::GET, "/Users").send().await.unwrap(),
        401,
    )
    .await;

    // The SCIM token provisions its org; the admin API refuses it.
    let ada = client.create_user(user("ada")).await;
    let listed = admin
        .get(&format!("/api/v1/users?org_id={org_id}"))
        .send()
        .await
        .unwrap();
    let listed = json(listed, 200).await;
    assert_eq!(listed["items"][0]["username"], "ada");
    let response = server.with_token(&token).get("/api/v1/users").send().await;
    assert_eq!(response.unwrap().status(), 401);

    // Another org's users are absent, both ways.
    let default_user = admin.create_user("bob", None).await;
    let path = format!("/Users/{}", default_user["id"].as_str().unwrap());
    scim_error(
        client.request(Method::GET, &path).send().await.unwrap(),
        404,
    )
    .await;
    let default_client = as_admin(&server);
    let path = format!("/Users/{}", ada["id"].as_str().unwrap());
    scim_error(
        default_client
            .request(Method::GET, &path)
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;

    // The audit trail names the SCIM client.
    let events = server
        .services
        .store()
        .list_audit(&AuditQuery {
            action: Some("scim.user.create".into()),
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        events.items[0].actor,
        format!("scim_token:{}", created["id"].as_str().unwrap())
    );

    // A revoked token stops working.
    let revoke = admin
        .delete(&format!(
            "/api/v1/api-tokens/{}",
            created["id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert!(revoke.status().is_success());
    scim_error(
        client.request(Method::GET, "/Users").send().await.unwrap(),
        401,
    )
    .await;
}

#[tokio::test]
async fn user_lifecycle_with_etags() {
    let server = TestServer::start().await;
    let client = as_admin(&server);
    let response = client
        .send(Method::POST, "/Users", user("grace"))
        .send()
        .await
        .unwrap();
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(etag, "W/\"1\"");
    let created = scim(response, 201).await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(location, server.url(&format!("/scim/v2/Users/{id}")));
    assert_eq!(created["meta"]["version"], "W/\"1\"");
    assert_eq!(created["meta"]["resourceType"], "User");
    assert_eq!(created["meta"]["location"], location);
    assert_eq!(created["name"]["givenName"], "Ada");
    let path = format!("/Users/{id}");

    // If-None-Match with the current version: 304.
    let response = client
        .request(Method::GET, &path)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 304);

    // PUT replaces; a stale If-Match is 412 and changes nothing.
    let mut replaced = user("grace");
    replaced["title"] = json!("Rear Admiral");
    replaced["name"] = json!({"givenName": "Grace", "familyName": "Hopper"});
    let response = client
        .send(Method::PUT, &path, replaced.clone())
        .header("if-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["etag"], "W/\"2\"");
    let body = scim(response, 200).await;
    assert_eq!(body["title"], "Rear Admiral");
    assert_eq!(body["name"]["givenName"], "Grace");
    let response = client
        .send(Method::PUT, &path, replaced)
        .header("if-match", &etag)
        .send()
        .await
        .unwrap();
    scim_error(response, 412).await;

    // The admin API sees the mapped profile.
    let admin_view = json(
        server
            .admin()
            .get(&format!("/api/v1/users/{id}"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(admin_view["given_name"], "Grace");
    assert_eq!(admin_view["email"], "grace@example.com");

    // attributes= projects the answer.
    let body = scim(
        client
            .request(Method::GET, &format!("{path}?attributes=userName"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(body["userName"], "grace");
    assert!(body.get("name").is_none(), "{body}");

    let response = client.request(Method::DELETE, &path).send().await.unwrap();
    assert_eq!(response.status(), 204);
    scim_error(
        client.request(Method::GET, &path).send().await.unwrap(),
        404,
    )
    .await;
}

/// Entra ID capitalises op names and sends booleans as strings; Okta
/// replaces `active` with a bare value. Both deactivate the user.
/// Removing `active` leaves it unassigned: a client that deactivated the user
/// withdraws its own deactivation (the user is active and reads no `active`),
/// but leaving `active` out never undoes an administrator's suspension.
#[tokio::test]
async fn removing_active_withdraws_only_the_clients_own_deactivation() {
    let server = TestServer::start().await;
    let client = as_admin(&server);
    let remove_active = json!({
        "schemas": [PATCH],
        "Operations": [{"op": "remove", "path": "active"}],
    });
    let admin_status = |id: String| {
        let server = &server;
        async move {
            let response = server
                .admin()
                .get(&format!("/api/v1/users/{id}"))
                .send()
                .await
                .unwrap();
            let body: Value = response.json().await.unwrap();
            body["status"].as_str().unwrap().to_owned()
        }
    };

    let mut off = user("ada");
    off["active"] = json!(false);
    let created = client.create_user(off).await;
    assert_eq!(created["active"], false);
    let ada = created["id"].as_str().unwrap().to_owned();
    assert_eq!(admin_status(ada.clone()).await, "staged");
    let response = client
        .send(
            Method::PATCH,
            &format!("/Users/{ada}"),
            remove_active.clone(),
        )
        .send()
        .await
        .unwrap();
    let patched = scim(response, 200).await;
    assert!(patched.get("active").is_none(), "{patched}");
    assert_eq!(admin_status(ada).await, "active");

    let created = client.create_user(user("grace")).await;
    let grace = created["id"].as_str().unwrap().to_owned();
    let response = server
        .admin()
        .post(&format!("/api/v1/users/{grace}/lifecycle/suspend"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = client
        .send(Method::PATCH, &format!("/Users/{grace}"), remove_active)
        .send()
        .await
        .unwrap();
    let patched = scim(response, 200).await;
    assert_eq!(patched["active"], false, "{patched}");
    assert_eq!(admin_status(grace).await, "suspended");
}

#[tokio::test]
async fn patch_accepts_entra_and_okta_shapes_and_is_all_or_nothing() {
    let server = TestServer::start().await;
    let client = as_admin(&server);
    let created = client.create_user(user("linus")).await;
    let id = created["id"].as_str().unwrap();
    let path = format!("/Users/{id}");
    let entra = json!({
        "schemas": [PATCH],
        "Operations": [
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "linus@corp.example"},
        ]
    });
    let body = scim(
        client
            .send(Method::PATCH, &path, entra)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(body["active"], false);
    assert_eq!(body["emails"][0]["value"], "linus@corp.example");
    let admin_view = json(
        server
            .admin()
            .get(&format!("/api/v1/users/{id}"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(admin_view["status"], "deprovisioned");
    assert_eq!(admin_view["email"], "linus@corp.example");

    let okta = json!({
        "schemas": [PATCH],
        "Operations": [{"op": "replace", "value": {"active": true}}]
    });
    let body = scim(
        client
            .send(Method::PATCH, &path, okta)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(body["active"], true);
    let version = body["meta"]["version"].clone();

    // A failing operation leaves the user as it was.
    let bad = json!({
        "schemas": [PATCH],
        "Operations": [
            {"op": "replace", "path": "displayName", "value": "Changed"},
            {"op": "replace", "path": "nosuch[", "value": "x"},
        ]
    });
    let scim_type = scim_error(
        client.send(Method::PATCH, &path, bad).send().await.unwrap(),
        400,
    )
    .await;
    assert_eq!(scim_type.as_deref(), Some("invalidPath"));
    let body = scim(
        client.request(Method::GET, &path).send().await.unwrap(),
        200,
    )
    .await;
    assert_eq!(body["meta"]["version"], version);
    assert!(body.get("displayName").is_none());
}

#[tokio::test]
async fn errors_carry_the_scim_type() {
    let server = TestServer::start().await;
    let client = as_admin(&server);
    client.create_user(user("dup")).await;
    let response = client
        .send(Method::POST, "/Users", user("DUP"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        scim_error(response, 409).await.as_deref(),
        Some("uniqueness")
    );

    let response = client
        .request(Method::POST, "/Users")
        .header("content-type", "application/scim+json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        scim_error(response, 400).await.as_deref(),
        Some("invalidSyntax")
    );

    let response = client
        .request(Method::GET, "/Users?filter=userName%20eq")
        .send()
        .await
        .unwrap();
    assert_eq!(
        scim_error(response, 400).await.as_deref(),
        Some("invalidFilter")
    );

    let response = client
        .send(Method::POST, "/Users", json!({"schemas": [USER]}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        scim_error(response, 400).await.as_deref(),
        Some("invalidValue")
    );

    scim_error(
        client
            .request(Method::GET, "/Users/not-an-id")
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    scim_error(
        client
            .request(Method::GET, "/NoSuchThing")
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    scim_error(
        client
            .request(Method::DELETE, "/Users")
            .send()
            .await
            .unwrap(),
        405,
    )
    .await;
    scim_error(
        client.request(Method::GET, "/Me").send().await.unwrap(),
        501,
    )
    .await;
}

#[tokio::test]
async fn groups_hold_members_of_the_org() {
    let server = TestServer::start().await;
    let client = as_admin(&server);
    let a = client.create_user(user("alice")).await;
    let b = client.create_user(user("bert")).await;
    let (a, b) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    let group = scim(
        client
            .send(
                Method::POST,
                "/Groups",
                json!({"schemas": [GROUP], "displayName": "Nurses", "members": [{"value": a}]}),
            )
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let gid = group["id"].as_str().unwrap();
    assert_eq!(group["members"][0]["value"], a);

    // Entra ID adds members with PATCH.
    let add = json!({
        "schemas": [PATCH],
        "Operations": [{"op": "Add", "path": "members", "value": [{"value": b}]}]
    });
    let body = scim(
        client
            .send(Method::PATCH, &format!("/Groups/{gid}"), add)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(body["members"].as_array().unwrap().len(), 2);
    let remove = json!({
        "schemas": [PATCH],
        "Operations": [{"op": "remove", "path": format!("members[value eq \"{a}\"]")}]
    });
    let body = scim(
        client
            .send(Method::PATCH, &format!("/Groups/{gid}"), remove)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(
        body["members"],
        json!([{"value": b, "$ref": server.url(&format!("/scim/v2/Users/{b}")), "type": "User"}])
    );

    // The user shows the group; filters find both ways.
    let bert = scim(
        client
            .request(Method::GET, &format!("/Users/{b}"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(bert["groups"][0]["value"], gid);
    let list = scim(
        client
            .request(
                Method::GET,
                &format!(
                    "/Groups?filter=members.value%20eq%20%22{b}%22&excludedAttributes=members"
                ),
            )
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(list["totalResults"], 1);
    assert!(list["Resources"][0].get("members").is_none());
    // Lists show each user's own groups too (one query for the page).
    let users = scim(
        client
            .request(Method::GET, "/Users?sortBy=userName")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let groups_of = |id: &str| {
        users["Resources"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|u| u["id"] == id)
            .map(|u| u.get("groups").cloned())
    };
    assert_eq!(groups_of(b).flatten().unwrap()[0]["value"], gid);
    assert_eq!(
        groups_of(b).flatten().unwrap().as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(groups_of(a), Some(None), "{users}");

    // A member from nowhere is invalidValue; a duplicate name is uniqueness.
    let response = client
        .send(
            Method::POST,
            "/Groups",
            json!({"schemas": [GROUP], "displayName": "Other", "members": [{"value": "01234567-89ab-7def-8123-456789abcdef"}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        scim_error(response, 400).await.as_deref(),
        Some("invalidValue")
    );
    let response = client
        .send(
            Method::POST,
            "/Groups",
            json!({"schemas": [GROUP], "displayName": "nurses"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        scim_error(response, 409).await.as_deref(),
        Some("uniqueness")
    );
}

#[tokio::test]
async fn bulk_resolves_bulk_ids_and_enforces_limits() {
    let server = TestServer::start().await;
    let client = as_admin(&server);
    let request = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "failOnErrors": 2,
        "Operations": [
            {"method": "POST", "path": "/Groups", "bulkId": "g",
             "data": {"schemas": [GROUP], "displayName": "Team", "members": [{"value": "bulkId:u"}]}},
            {"method": "POST", "path": "/Users", "bulkId": "u", "data": user("bulky")},
            {"method": "POST", "path": "/Users", "bulkId": "dup", "data": user("bulky")},
        ]
    });
    let body = scim(
        client
            .send(Method::POST, "/Bulk", request)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let ops = body["Operations"].as_array().unwrap();
    let status = |bulk_id: &str| {
        ops.iter()
            .find(|o| o["bulkId"] == bulk_id)
            .map(|o| o["status"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert_eq!(status("u"), "201");
    assert_eq!(status("g"), "201");
    assert_eq!(status("dup"), "409");
    let group = ops.iter().find(|o| o["bulkId"] == "g").unwrap();
    let group = scim(
        server
            .client()
            .get(group["location"].as_str().unwrap())
            .bearer_auth(server.admin_token())
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(group["members"].as_array().unwrap().len(), 1);

    let too_many: Vec<Value> = (0..1001)
        .map(|i| json!({"method": "DELETE", "path": format!("/Users/{i}")}))
        .collect();
    let request = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": too_many});
    scim_error(
        client
            .send(Method::POST, "/Bulk", request)
            .send()
            .await
            .unwrap(),
        413,
    )
    .await;
}

/// Replays request sequences recorded from Microsoft Entra ID and Okta
/// provisioning (`fixtures/scim/*.json`, written from their published
/// request examples): each step's status must match.
#[tokio::test]
async fn recorded_entra_and_okta_sequences_replay() {
    for fixture in ["entra_id.json", "okta.json"] {
        let server = TestServer::start().await;
        let client = as_admin(&server);
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/scim")
                .join(fixture),
        )
        .unwrap();
        let steps: Vec<Value> = serde_json::from_str(&text).unwrap();
        let mut ids: Vec<(String, String)> = Vec::new();
        for (i, step) in steps.iter().enumerate() {
            let mut path = step["path"].as_str().unwrap().to_owned();
            let mut body = step.get("body").map(Value::to_string);
            for (name, id) in &ids {
                path = path.replace(&format!("{{{name}}}"), id);
                body = body.map(|b| b.replace(&format!("{{{name}}}"), id));
            }
            let method: Method = step["method"].as_str().unwrap().parse().unwrap();
            let mut request = client.request(method, &path);
            if let Some(body) = body {
                request = request
                    .header("content-type", "application/scim+json")
                    .body(body);
            }
            let response = request.send().await.unwrap();
            let (status, _, text) = read(response).await;
            let expected = step["status"].as_u64().unwrap() as u16;
            assert_eq!(status, expected, "{fixture} step {i} {path}: {text}");
            if let Some(name) = step.get("save_id").and_then(Value::as_str) {
                let body: Value = serde_json::from_str(&text).unwrap();
                ids.push((name.to_owned(), body["id"].as_str().unwrap().to_owned()));
            }
            if let Some(expect) = step.get("expect") {
                let mut expect = expect.to_string();
                for (name, id) in &ids {
                    expect = expect.replace(&format!("{{{name}}}"), id);
                }
                let expect: Value = serde_json::from_str(&expect).unwrap();
                let body: Value = serde_json::from_str(&text).unwrap();
                for (pointer, value) in expect.as_object().unwrap() {
                    assert_eq!(
                        body.pointer(pointer),
                        Some(value),
                        "{fixture} step {i}: {body}"
                    );
                }
            }
        }
    }
}

/// Every filter gives, through SQL, exactly the users the reference
/// evaluator picks from the same rendered documents.
async fn filters_agree_with_the_reference_evaluator(server: TestServer) {
    let client = as_admin(&server);
    let people = [
        (
            "ada",
            "Ada",
            "Lovelace",
            "Engineering",
            "work",
            true,
            Some("e-1"),
        ),
        (
            "Grace",
            "Grace",
            "Hopper",
            "Navy",
            "home",
            true,
            Some("E-2"),
        ),
        ("alan", "Alan", "Turing", "engineering", "work", false, None),
        (
            "barbara",
            "Barbara",
            "Liskov",
            "Research",
            "other",
            true,
            Some("e-3"),
        ),
        ("edsger", "Edsger", "Dijkstra", "", "work", true, None),
    ];
    for (name, given, family, department, kind, active, external) in people {
        let mut body = json!({
            "schemas": [USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "userName": name,
            "displayName": format!("{given} {family}"),
            "name": {"givenName": given, "familyName": family, "formatted": format!("{given} {family}")},
            "title": format!("{family} title"),
            "emails": [
                {"value": format!("{name}@example.com"), "type": kind, "primary": true},
                {"value": format!("{}@home.example.org", name.to_lowercase()), "type": "home"},
            ],
            "phoneNumbers": [{"value": "+1 555 0100", "type": "mobile"}],
            "active": active,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": department},
        });
        if let Some(external) = external {
            body["externalId"] = json!(external);
        }
        client.create_user(body).await;
        server.clock.advance_secs(60);
    }
    let all = scim(
        client
            .request(Method::GET, "/Users?count=100")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let docs = all["Resources"].as_array().unwrap().clone();
    assert_eq!(docs.len(), people.len());
    let third_modified = docs[2]["meta"]["lastModified"].as_str().unwrap().to_owned();
    let filters = [
        "userName eq \"ADA\"".to_owned(),
        "userName ne \"ada\"".into(),
        "userName sw \"a\"".into(),
        "userName ew \"A\"".into(),
        "userName co \"ar\"".into(),
        "userName gt \"b\"".into(),
        "userName le \"barbara\"".into(),
        "userName pr".into(),
        "externalId eq \"e-1\"".into(),
        "externalId eq \"E-1\"".into(),
        "externalId pr".into(),
        "not (externalId pr)".into(),
        "externalId eq null".into(),
        "emails.value co \"home.example\"".into(),
        "emails.value ew \"@example.com\"".into(),
        "emails co \"GRACE\"".into(),
        "emails.value co \"a\"".into(),
        "emails.value sw \"GRACE\"".into(),
        "emails.value eq \"Grace@Example.com\"".into(),
        "emails.value gt \"h\"".into(),
        "not (emails.value co \"example\")".into(),
        "emails[type eq \"work\"]".into(),
        "emails[type eq \"work\" and value sw \"a\"]".into(),
        "emails[not (type eq \"home\")]".into(),
        "emails.type eq \"other\"".into(),
        "emails.primary eq true".into(),
        "emails pr".into(),
        "phoneNumbers.value eq \"+1 555 0100\"".into(),
        "phoneNumbers[type eq \"mobile\"]".into(),
        "name.familyName eq \"hopper\"".into(),
        "name.givenName sw \"A\" and name.familyName ew \"ing\"".into(),
        "name.formatted co \"ra\"".into(),
        "displayName co \"a L\"".into(),
        "title pr".into(),
        "title eq \"Turing title\"".into(),
        "active eq true".into(),
        "active eq false".into(),
        "active ne true".into(),
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq \"engineering\"".into(),
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department pr".into(),
        "urn:ietf:params:scim:schemas:core:2.0:User:userName sw \"g\"".into(),
        format!("meta.lastModified gt \"{third_modified}\""),
        format!("meta.lastModified ge \"{third_modified}\""),
        format!("meta.created lt \"{third_modified}\""),
        "meta.created gt \"2000-01-01T00:00:00Z\" and (userName eq \"ada\" or userName eq \"alan\")".into(),
        "userName eq \"ada\" or not (emails.type eq \"work\")".into(),
        "nickName pr".into(),
        "nickName eq null".into(),
        "x509Certificates.value eq \"x\"".into(),
        "noSuchAttribute eq \"x\"".into(),
        "noSuchAttribute ne \"x\"".into(),
    ];
    for filter in &filters {
        let parsed = gatehouse_scim::filter::parse(filter).unwrap();
        let mut expected: Vec<&str> = docs
            .iter()
            .filter(|d| gatehouse_scim::filter::matches(&parsed, d))
            .map(|d| d["id"].as_str().unwrap())
            .collect();
        expected.sort_unstable();
        let response = client
            .request(Method::POST, "/Users/.search")
            .header("content-type", "application/scim+json")
            .body(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": filter, "count": 100}).to_string())
            .send()
            .await
            .unwrap();
        let body = scim(response, 200).await;
        let mut got: Vec<&str> = body["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_str().unwrap())
            .collect();
        got.sort_unstable();
        assert_eq!(got, expected, "filter {filter}");
        assert_eq!(body["totalResults"], expected.len(), "filter {filter}");
    }

    // Sorting and paging.
    let page = scim(
        client
            .request(
                Method::GET,
                "/Users?sortBy=userName&sortOrder=descending&startIndex=2&count=2",
            )
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let names: Vec<&str> = page["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["userName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["edsger", "barbara"]);
    assert_eq!(page["totalResults"], 5);
    assert_eq!(page["startIndex"], 2);
    assert_eq!(page["itemsPerPage"], 2);
}

#[tokio::test]
async fn filters_agree_with_the_reference_evaluator_on_sqlite() {
    filters_agree_with_the_reference_evaluator(TestServer::start().await).await;
}

#[tokio::test]
async fn filters_agree_with_the_reference_evaluator_on_postgres() {
    let Some(server) = TestServer::start_postgres().await else {
        return;
    };
    filters_agree_with_the_reference_evaluator(server).await;
}

/// Hostile and malformed input gets a SCIM error, never a 500 or a problem
/// document: broken JSON, wrong shapes, odd filters, paths and headers.
#[tokio::test]
async fn bad_input_never_fails_the_server() {
    let server = TestServer::start().await;
    let client = as_admin(&server);
    let created = client.create_user(user("target")).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let filters = [
        "",
        "(",
        ")",
        "userName",
        "userName eq",
        "userName eq \"x",
        "userName xx \"x\"",
        "emails[type eq \"work\"",
        "emails[value[type eq \"x\"]]",
        "not userName eq \"x\"",
        "userName eq 1",
        "meta.lastModified gt \"yesterday\"",
        "meta.version eq \"x\"",
        "urn:x:y:z eq \"x\"",
        "groups.display eq \"x\"",
        "\u{0}",
        "userName eq \"\\ud800\"",
        "a.b.c eq \"x\"",
        "((((((((((((((((((((((((((((((((((userName pr))))))))))))))))))))))))))))))))))",
    ];
    for filter in filters {
        let url = format!(
            "/Users?filter={}",
            url::form_urlencoded::byte_serialize(filter.as_bytes()).collect::<String>()
        );
        let (status, headers, text) =
            read(client.request(Method::GET, &url).send().await.unwrap()).await;
        assert!((200..500).contains(&status), "{filter:?}: {status} {text}");
        assert_eq!(
            headers["content-type"], "application/scim+json",
            "{filter:?}: {text}"
        );
    }
    let bodies = [
        "",
        "null",
        "[]",
        "\"x\"",
        "{",
        "{\"userName\": 5}",
        "{\"userName\": \"\"}",
        "{\"userName\": \"u\", \"emails\": \"x\"}",
        "{\"userName\": \"u\", \"emails\": [5]}",
        "{\"userName\": \"u\", \"name\": 5}",
        "{\"userName\": \"u\", \"active\": \"maybe\"}",
        "{\"userName\": \"u\", \"password\": 5}",
        "{\"userName\": \"u\", \"emails\": [{\"value\": \"not an email\"}]}",
        "{\"userName\": \"u\", \"urn:ietf:params:scim:schemas:extension:gatehouse:2.0:User\": 5}",
        "{\"schemas\": [\"x\"], \"Operations\": 5}",
        "{\"Operations\": [{\"op\": \"jump\"}]}",
        "{\"schemas\": [\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"], \"Operations\": [{\"op\": \"replace\", \"path\": \"id\", \"value\": \"x\"}]}",
        "{\"schemas\": [\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"], \"Operations\": [{\"op\": \"remove\", \"path\": \"userName\"}]}",
        "{\"schemas\": [\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"], \"Operations\": [{\"op\": \"add\", \"path\": \"emails[type eq \\\"x\\\"].value\", \"value\": 5}]}",
    ];
    let paths = [
        (Method::POST, "/Users".to_owned()),
        (Method::PUT, format!("/Users/{id}")),
        (Method::PATCH, format!("/Users/{id}")),
        (Method::POST, "/Groups".to_owned()),
        (Method::POST, "/Users/.search".to_owned()),
        (Method::POST, "/.search".to_owned()),
        (Method::POST, "/Bulk".to_owned()),
    ];
    for (method, path) in &paths {
        for body in bodies {
            let response = client
                .request(method.clone(), path)
                .header("content-type", "application/scim+json")
                .body(body)
                .send()
                .await
                .unwrap();
            let (status, headers, text) = read(response).await;
            assert!(
                (200..500).contains(&status),
                "{method} {path} {body:?}: {status} {text}"
            );
            assert_eq!(
                headers["content-type"], "application/scim+json",
                "{method} {path} {body:?}: {text}"
            );
        }
    }
    let response = client
        .request(Method::PUT, &format!("/Users/{id}"))
        .header("content-type", "text/plain")
        .header("if-match", "garbage")
        .body("x")
        .send()
        .await
        .unwrap();
    let (status, _, _) = read(response).await;
    assert_eq!(status, 415);
    // The user survived all of it.
    let body = scim(
        client
            .request(Method::GET, &format!("/Users/{id}"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(body["userName"], "target");
}
