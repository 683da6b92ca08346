//! Request sequences as Microsoft Entra ID and Okta send them (shapes from
//! their provisioning documentation), replayed through the public API:
//! list queries, then PATCH bodies parsed and applied in order.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use gatehouse_scim::filter;
use gatehouse_scim::list::{ListLimits, ListQuery};
use gatehouse_scim::patch::{PatchRequest, apply};
use serde_json::{Value, json};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// Parses and applies each body in turn, as the server would for
/// consecutive PATCH requests.
fn replay(mut resource: Value, bodies: &[Value]) -> Value {
    for body in bodies {
        let request = PatchRequest::parse(body).unwrap_or_else(|e| panic!("{body}: {e}"));
        apply(&mut resource, &request.operations).unwrap_or_else(|e| panic!("{body}: {e}"));
    }
    resource
}

fn patch(operations: Value) -> Value {
    json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations })
}

fn query(q: &[(&str, &str)]) -> ListQuery {
    ListQuery::from_query(q.iter().copied(), &ListLimits::default()).unwrap()
}

#[test]
fn entra_id_user_lifecycle() {
    let created = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "id": "7d3a9b1e",
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
        "active": true,
        "displayName": "Test User",
        "emails": [{ "primary": true, "type": "work", "value": "Test_User_fd0ea19b@testuser.com" }],
        "name": { "formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName" },
        ENTERPRISE: { "employeeNumber": "1234", "department": "Sales" },
        "meta": { "resourceType": "User" }
    });
    // Entra ID looks the user up first.
    let lookup = query(&[(
        "filter",
        "userName eq \"Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1\"",
    )]);
    assert!(filter::matches(lookup.filter.as_ref().unwrap(), &created));
    let lookup = query(&[
        (
            "filter",
            "externalId eq \"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef\"",
        ),
        ("startIndex", "1"),
        ("count", "1"),
    ]);
    assert!(filter::matches(lookup.filter.as_ref().unwrap(), &created));

    let updated = replay(
        created.clone(),
        &[
            // Update User [Multi-valued properties]
            patch(json!([
                { "op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com" },
                { "op": "Replace", "path": "name.familyName", "value": "updatedFamilyName" }
            ])),
            // Update User [Single-valued properties]
            patch(
                json!([{ "op": "Replace", "path": "userName", "value": "5b50642d@testuser.com" }]),
            ),
            // New values come as Add through a filter, the manager as a bare id.
            patch(json!([
                { "op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100" },
                { "op": "Add", "path": "addresses[type eq \"work\"].locality", "value": "Redmond" },
                { "op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": "26118915-6090-4610-87e4-49d8ca9f808d" },
                { "op": "Add", "value": { "name.givenName": "Updated", "title": "Engineer" } }
            ])),
            // Disable User, with the string boolean older tenants send.
            patch(json!([{ "op": "Replace", "path": "active", "value": "False" }])),
        ],
    );
    assert_eq!(
        updated["emails"],
        json!([{ "primary": true, "type": "work", "value": "updatedEmail@microsoft.com" }])
    );
    assert_eq!(updated["name"]["familyName"], "updatedFamilyName");
    assert_eq!(updated["name"]["givenName"], "Updated");
    assert_eq!(updated["userName"], "5b50642d@testuser.com");
    assert_eq!(
        updated["phoneNumbers"],
        json!([{ "type": "mobile", "value": "+1 555 0100" }])
    );
    assert_eq!(
        updated["addresses"],
        json!([{ "type": "work", "locality": "Redmond" }])
    );
    assert_eq!(
        updated[ENTERPRISE],
        json!({ "employeeNumber": "1234", "department": "Sales", "manager": { "value": "26118915-6090-4610-87e4-49d8ca9f808d" } })
    );
    assert_eq!(updated["title"], "Engineer");
    assert_eq!(updated["active"], false);
    assert_eq!(updated["id"], created["id"]);
}

#[test]
fn entra_id_group_membership() {
    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "40734ae655284ad3abcc",
        "externalId": "60f3d3c3-0f6d-4a09-a9b2-6ba2cb4ebc3a",
        "displayName": "displayName",
        "meta": { "resourceType": "Group" }
    });
    let lookup = query(&[
        ("filter", "displayName eq \"displayName\""),
        ("excludedAttributes", "members"),
    ]);
    assert!(filter::matches(lookup.filter.as_ref().unwrap(), &group));
    let updated = replay(
        group,
        &[
            patch(
                json!([{ "op": "Replace", "path": "displayName", "value": "1879db59updatedDisplayName" }]),
            ),
            patch(
                json!([{ "op": "Add", "path": "members", "value": [{ "value": "f648f8d5ea4e4cd38e9c" }] }]),
            ),
            patch(
                json!([{ "op": "Add", "path": "members", "value": [{ "value": "a1b2c3" }, { "value": "f648f8d5ea4e4cd38e9c" }] }]),
            ),
            patch(
                json!([{ "op": "Remove", "path": "members", "value": [{ "value": "f648f8d5ea4e4cd38e9c" }] }]),
            ),
        ],
    );
    assert_eq!(updated["displayName"], "1879db59updatedDisplayName");
    assert_eq!(updated["members"], json!([{ "value": "a1b2c3" }]));
    // Entra ID checks membership with a filter on the group.
    let member =
        filter::parse("id eq \"40734ae655284ad3abcc\" and members[value eq \"a1b2c3\"]").unwrap();
    assert!(filter::matches(&member, &updated));
}

#[test]
fn okta_user_and_group_push() {
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "23a35c27",
        "userName": "test.user@okta.local",
        "name": { "givenName": "Test", "familyName": "User" },
        "emails": [{ "primary": true, "value": "test.user@okta.local", "type": "work" }],
        "active": true
    });
    let lookup = query(&[
        ("filter", "userName eq \"test.user@okta.local\""),
        ("startIndex", "1"),
        ("count", "100"),
    ]);
    assert_eq!((lookup.start_index, lookup.count), (1, 100));
    assert!(filter::matches(lookup.filter.as_ref().unwrap(), &user));
    let deactivated = replay(
        user,
        &[patch(
            json!([{ "op": "replace", "value": { "active": false } }]),
        )],
    );
    assert_eq!(deactivated["active"], false);

    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "abf4dd94-a4c0-4f67-89c9-76b03340cb9b",
        "displayName": "Test SCIMv2",
        "members": []
    });
    let pushed = replay(
        group,
        &[
            // Okta renames with the id in the value.
            patch(
                json!([{ "op": "replace", "value": { "id": "abf4dd94-a4c0-4f67-89c9-76b03340cb9b", "displayName": "Test SCIMv2 renamed" } }]),
            ),
            patch(json!([{ "op": "add", "path": "members", "value": [
                { "value": "23a35c27", "display": "test.user@okta.local" },
                { "value": "89bb1940", "display": "other.user@okta.local" }
            ] }])),
            patch(json!([{ "op": "remove", "path": "members[value eq \"89bb1940\"]" }])),
        ],
    );
    assert_eq!(pushed["displayName"], "Test SCIMv2 renamed");
    assert_eq!(
        pushed["members"],
        json!([{ "value": "23a35c27", "display": "test.user@okta.local" }])
    );
}
