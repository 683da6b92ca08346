use serde_json::{Value, json};

use super::*;
use crate::error::ScimType;

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const CUSTOM: &str = "urn:ietf:params:scim:schemas:extension:gatehouse:2.0:User";

fn body(operations: Value) -> Value {
    json!({ "schemas": [PATCH_OP_SCHEMA], "Operations": operations })
}

/// Parses `operations` and applies them to `resource`: the resource after,
/// or the error's `scimType` (the resource must then be unchanged).
fn check(resource: &Value, operations: Value, expected: Result<Value, ScimType>) {
    let mut patched = resource.clone();
    let outcome = PatchRequest::parse(&body(operations.clone()))
        .and_then(|request| apply(&mut patched, &request.operations));
    match (outcome, expected) {
        (Ok(()), Ok(expected)) => assert_eq!(patched, expected, "{operations}"),
        (Err(e), Err(scim_type)) => {
            assert_eq!(e.scim_type, Some(scim_type), "{operations}: {e}");
            assert_eq!(
                &patched, resource,
                "a failed PATCH changes nothing: {operations}"
            );
        }
        (outcome, expected) => {
            panic!("{operations}: got {outcome:?}, {patched}; expected {expected:?}")
        }
    }
}

/// The resource with `edit` applied.
fn edited(resource: &Value, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
    let mut copy = resource.clone();
    if let Some(map) = copy.as_object_mut() {
        edit(map);
    }
    copy
}

fn user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "userName": "bjensen@example.com",
        "name": { "familyName": "Jensen", "givenName": "Barbara" },
        "title": "Tour Guide",
        "active": true,
        "emails": [
            { "value": "bjensen@example.com", "type": "work", "primary": true },
            { "value": "babs@jensen.org", "type": "home" }
        ],
        "meta": { "resourceType": "User", "created": "2010-01-23T04:56:22Z" }
    })
}

fn group() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "e9e30dba-f08f-4109-8486-d5c6a331660a",
        "displayName": "Tour Guides",
        "members": [
            { "value": "2819c223-7f76-453a-919d-413861904646", "display": "Babs Jensen" },
            { "value": "902c246b-6245-4190-8e05-00816be7344a", "display": "Mandy Pepperidge" }
        ]
    })
}

#[test]
fn request_parsing() {
    let parsed = PatchRequest::parse(&json!({
        "schemas": [PATCH_OP_SCHEMA],
        "Operations": [
            { "op": "Add", "path": "members", "value": [{ "value": "2819c223" }] },
            { "op": "REPLACE", "value": { "active": false } },
            { "op": "remove", "path": "emails[type eq \"work\"].value" },
            { "op": "replace", "path": "", "value": { "title": "x" } }
        ]
    }))
    .unwrap();
    assert_eq!(
        parsed.operations.iter().map(|o| o.op).collect::<Vec<_>>(),
        [
            PatchOp::Add,
            PatchOp::Replace,
            PatchOp::Remove,
            PatchOp::Replace
        ]
    );
    assert_eq!(
        parsed.operations[2].path.as_ref().map(ToString::to_string),
        Some("emails[type eq \"work\"].value".to_owned())
    );
    assert_eq!(parsed.operations[3].path, None);
    // Lower-case "operations" (seen from some clients) is accepted.
    assert!(
        PatchRequest::parse(&json!({
            "schemas": [PATCH_OP_SCHEMA],
            "operations": [{ "op": "remove", "path": "title" }]
        }))
        .is_ok()
    );
    assert!(PatchRequest::from_slice(br#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"title"}]}"#).is_ok());
}

#[test]
fn malformed_requests() {
    let error = |body: Value| {
        PatchRequest::parse(&body)
            .map(|_| ())
            .map_err(|e| e.scim_type)
    };
    let op = |op: Value| error(body(json!([op])));
    assert_eq!(error(json!([])), Err(Some(ScimType::InvalidSyntax)));
    assert_eq!(
        error(json!({ "Operations": [{ "op": "remove", "path": "title" }] })),
        Err(Some(ScimType::InvalidSyntax))
    );
    assert_eq!(
        error(
            json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [] })
        ),
        Err(Some(ScimType::InvalidSyntax))
    );
    assert_eq!(error(body(json!({}))), Err(Some(ScimType::InvalidSyntax)));
    assert_eq!(error(body(json!([]))), Err(Some(ScimType::InvalidSyntax)));
    assert_eq!(op(json!("add")), Err(Some(ScimType::InvalidSyntax)));
    assert_eq!(
        op(json!({ "op": "move", "path": "title" })),
        Err(Some(ScimType::InvalidSyntax))
    );
    assert_eq!(
        op(json!({ "path": "title" })),
        Err(Some(ScimType::InvalidSyntax))
    );
    assert_eq!(op(json!({ "op": "remove" })), Err(Some(ScimType::NoTarget)));
    assert_eq!(
        op(json!({ "op": "add", "path": "title" })),
        Err(Some(ScimType::InvalidValue))
    );
    assert_eq!(
        op(json!({ "op": "replace", "value": "x" })),
        Err(Some(ScimType::InvalidValue))
    );
    assert_eq!(
        op(json!({ "op": "add", "path": "emails[type eq", "value": "x" })),
        Err(Some(ScimType::InvalidPath))
    );
    assert_eq!(
        op(json!({ "op": "add", "path": 7, "value": "x" })),
        Err(Some(ScimType::InvalidPath))
    );
    assert_eq!(
        PatchRequest::from_slice(b"{not json")
            .map(|_| ())
            .map_err(|e| e.scim_type),
        Err(Some(ScimType::InvalidSyntax))
    );
    let many = vec![json!({ "op": "remove", "path": "title" }); MAX_OPERATIONS + 1];
    assert_eq!(
        error(body(Value::Array(many))),
        Err(Some(ScimType::InvalidSyntax))
    );
    // The operation's index is in the detail.
    let detail = PatchRequest::parse(&body(json!([
        { "op": "remove", "path": "title" },
        { "op": "add", "path": "title" }
    ])))
    .unwrap_err()
    .detail;
    assert!(detail.starts_with("Operations[1]: "), "{detail}");
}

/// RFC 7644 §3.5.2.1.
#[test]
fn add() {
    let u = user();
    // A multi-valued attribute gets a new value; a present one is not repeated.
    check(
        &u,
        json!([{ "op": "add", "path": "emails", "value": [
            { "value": "babs@jensen.org", "type": "home" },
            { "value": "b@example.net", "type": "other" }
        ] }]),
        Ok(edited(&u, |m| {
            m["emails"]
                .as_array_mut()
                .unwrap()
                .push(json!({ "value": "b@example.net", "type": "other" }));
        })),
    );
    // A new primary value takes "primary" from the others (RFC 7643 §2.4).
    check(
        &u,
        json!([{ "op": "add", "path": "emails", "value": { "value": "new@example.com", "type": "work", "primary": "True" } }]),
        Ok(edited(&u, |m| {
            m["emails"][0]["primary"] = json!(false);
            m["emails"]
                .as_array_mut()
                .unwrap()
                .push(json!({ "value": "new@example.com", "type": "work", "primary": true }));
        })),
    );
    // A single-valued attribute is replaced or created.
    check(
        &u,
        json!([{ "op": "add", "path": "title", "value": "Head Guide" }, { "op": "add", "path": "nickName", "value": "Babs" }]),
        Ok(edited(&u, |m| {
            m["title"] = json!("Head Guide");
            m.insert("nickName".into(), json!("Babs"));
        })),
    );
    // A complex attribute takes the given sub-attributes and keeps the others.
    check(
        &u,
        json!([{ "op": "add", "path": "name", "value": { "middleName": "Jane", "GIVENNAME": "Babs" } }]),
        Ok(edited(&u, |m| {
            m["name"] =
                json!({ "familyName": "Jensen", "givenName": "Babs", "middleName": "Jane" });
        })),
    );
    check(
        &u,
        json!([{ "op": "add", "path": "name.honorificPrefix", "value": "Ms." }]),
        Ok(edited(&u, |m| {
            m["name"]["honorificPrefix"] = json!("Ms.");
        })),
    );
    // Without a path, the value is a set of attributes.
    check(
        &u,
        json!([{ "op": "add", "value": { "nickName": "Babs", "phoneNumbers": [{ "value": "555-1234", "type": "work" }] } }]),
        Ok(edited(&u, |m| {
            m.insert("nickName".into(), json!("Babs"));
            m.insert(
                "phoneNumbers".into(),
                json!([{ "value": "555-1234", "type": "work" }]),
            );
        })),
    );
    // Adding the value already there changes nothing.
    check(
        &u,
        json!([{ "op": "add", "path": "title", "value": "Tour Guide" }]),
        Ok(u.clone()),
    );
    // Add through a filter sets the sub-attribute of the matching values.
    check(
        &u,
        json!([{ "op": "add", "path": "emails[type eq \"home\"].display", "value": "Home" }]),
        Ok(edited(&u, |m| {
            m["emails"][1]["display"] = json!("Home");
        })),
    );
    // A complex value for a complex attribute is required.
    check(
        &u,
        json!([{ "op": "add", "path": "name", "value": "Babs" }]),
        Err(ScimType::InvalidValue),
    );
    // Adding null or an empty array changes nothing.
    check(
        &u,
        json!([{ "op": "add", "path": "nickName", "value": null }]),
        Ok(u.clone()),
    );
}

/// RFC 7644 §3.5.2.3.
#[test]
fn replace() {
    let u = user();
    // Okta deactivates this way.
    check(
        &u,
        json!([{ "op": "replace", "value": { "active": false } }]),
        Ok(edited(&u, |m| {
            m["active"] = json!(false);
        })),
    );
    // A multi-valued attribute without a filter is replaced whole.
    check(
        &u,
        json!([{ "op": "replace", "path": "emails", "value": [{ "value": "only@example.com", "type": "work" }] }]),
        Ok(edited(&u, |m| {
            m["emails"] = json!([{ "value": "only@example.com", "type": "work" }]);
        })),
    );
    // With a filter and a sub-attribute, the sub-attribute of every match.
    check(
        &u,
        json!([{ "op": "replace", "path": "emails[type eq \"work\"].value", "value": "barbara@example.com" }]),
        Ok(edited(&u, |m| {
            m["emails"][0]["value"] = json!("barbara@example.com");
        })),
    );
    // With a filter and no sub-attribute, the matching values are replaced.
    check(
        &u,
        json!([{ "op": "replace", "path": "emails[value co \"jensen.org\"]", "value": { "value": "babs@home.org", "type": "home" } }]),
        Ok(edited(&u, |m| {
            m["emails"][1] = json!({ "value": "babs@home.org", "type": "home" });
        })),
    );
    // "If ... no record match was made, ... 400 ... noTarget".
    check(
        &u,
        json!([{ "op": "replace", "path": "emails[type eq \"other\"].value", "value": "x@example.com" }]),
        Err(ScimType::NoTarget),
    );
    check(
        &u,
        json!([{ "op": "replace", "path": "phoneNumbers[type eq \"work\"].value", "value": "555" }]),
        Err(ScimType::NoTarget),
    );
    // A complex attribute keeps the sub-attributes not given.
    check(
        &u,
        json!([{ "op": "replace", "path": "name", "value": { "givenName": "Babs" } }]),
        Ok(edited(&u, |m| {
            m["name"]["givenName"] = json!("Babs");
        })),
    );
    // A missing attribute is added.
    check(
        &u,
        json!([{ "op": "replace", "path": "locale", "value": "en-US" }]),
        Ok(edited(&u, |m| {
            m.insert("locale".into(), json!("en-US"));
        })),
    );
    // null unassigns (RFC 7643 §2.5).
    check(
        &u,
        json!([{ "op": "replace", "path": "title", "value": null }]),
        Ok(edited(&u, |m| {
            m.remove("title");
        })),
    );
    // Attribute names are case-insensitive; the stored spelling is kept.
    check(
        &u,
        json!([{ "op": "replace", "path": "TITLE", "value": "Guide" }]),
        Ok(edited(&u, |m| {
            m["title"] = json!("Guide");
        })),
    );
}

/// RFC 7644 §3.5.2.2.
#[test]
fn remove() {
    let u = user();
    check(
        &u,
        json!([{ "op": "remove", "path": "title" }]),
        Ok(edited(&u, |m| {
            m.remove("title");
        })),
    );
    check(
        &u,
        json!([{ "op": "remove", "path": "name.givenName" }]),
        Ok(edited(&u, |m| {
            m["name"] = json!({ "familyName": "Jensen" });
        })),
    );
    check(
        &u,
        json!([{ "op": "remove", "path": "emails[type eq \"work\"]" }]),
        Ok(edited(&u, |m| {
            m["emails"] = json!([{ "value": "babs@jensen.org", "type": "home" }]);
        })),
    );
    check(
        &u,
        json!([{ "op": "remove", "path": "emails[type eq \"work\"].primary" }]),
        Ok(edited(&u, |m| {
            m["emails"][0] = json!({ "value": "bjensen@example.com", "type": "work" });
        })),
    );
    // Removing every value leaves the attribute unassigned.
    check(
        &u,
        json!([{ "op": "remove", "path": "emails[value ew \"m\" or value ew \"g\"]" }]),
        Ok(edited(&u, |m| {
            m.remove("emails");
        })),
    );
    check(
        &u,
        json!([{ "op": "remove", "path": "emails" }]),
        Ok(edited(&u, |m| {
            m.remove("emails");
        })),
    );
    // Removing what is not there changes nothing.
    check(
        &u,
        json!([{ "op": "remove", "path": "nickName" }]),
        Ok(u.clone()),
    );
    check(
        &u,
        json!([{ "op": "remove", "path": "emails[type eq \"other\"]" }]),
        Ok(u.clone()),
    );
    check(
        &u,
        json!([{ "op": "remove", "path": format!("{ENTERPRISE}:department") }]),
        Ok(u.clone()),
    );
    // A required attribute cannot be removed.
    check(
        &u,
        json!([{ "op": "remove", "path": "userName" }]),
        Err(ScimType::Mutability),
    );
}

/// RFC 7643 §7 mutability and the schema tables.
#[test]
fn mutability_and_unknown_paths() {
    let u = user();
    check(
        &u,
        json!([{ "op": "replace", "path": "id", "value": "other" }]),
        Err(ScimType::Mutability),
    );
    check(
        &u,
        json!([{ "op": "remove", "path": "id" }]),
        Err(ScimType::Mutability),
    );
    check(
        &u,
        json!([{ "op": "replace", "path": "meta.created", "value": "2020-01-01T00:00:00Z" }]),
        Err(ScimType::Mutability),
    );
    check(
        &u,
        json!([{ "op": "add", "path": "groups", "value": [{ "value": "g" }] }]),
        Err(ScimType::Mutability),
    );
    // A client echoing the id it read changes nothing and is not an error.
    check(
        &u,
        json!([{ "op": "replace", "value": { "id": "2819c223-7f76-453a-919d-413861904646", "title": "Guide" } }]),
        Ok(edited(&u, |m| {
            m["title"] = json!("Guide");
        })),
    );
    check(
        &u,
        json!([{ "op": "replace", "value": { "id": "other" } }]),
        Err(ScimType::Mutability),
    );
    check(
        &u,
        json!([{ "op": "add", "path": "favouriteColour", "value": "red" }]),
        Err(ScimType::InvalidPath),
    );
    check(
        &u,
        json!([{ "op": "add", "path": "name.nickname", "value": "x" }]),
        Err(ScimType::InvalidPath),
    );
    check(
        &u,
        json!([{ "op": "add", "path": "urn:example:ext:x", "value": "x" }]),
        Err(ScimType::InvalidPath),
    );
    check(
        &u,
        json!([{ "op": "add", "path": format!("{ENTERPRISE}:shoeSize"), "value": "x" }]),
        Err(ScimType::InvalidPath),
    );
    check(
        &u,
        json!([{ "op": "replace", "path": "name[givenName eq \"x\"]", "value": {} }]),
        Err(ScimType::InvalidPath),
    );
    check(
        &u,
        json!([{ "op": "replace", "path": "emails[type eq \"work\"].label", "value": "x" }]),
        Err(ScimType::InvalidPath),
    );
    check(
        &u,
        json!([{ "op": "replace", "value": { "a b": "x" } }]),
        Err(ScimType::InvalidPath),
    );
    // The whole PATCH fails if one operation does (§3.5.2).
    check(
        &u,
        json!([
            { "op": "replace", "path": "title", "value": "Guide" },
            { "op": "replace", "path": "id", "value": "other" }
        ]),
        Err(ScimType::Mutability),
    );
}

/// The request sequences Microsoft Entra ID sends.
#[test]
fn entra_id_quirks() {
    let u = user();
    check(
        &u,
        json!([
            { "op": "Replace", "path": "active", "value": "False" },
            { "op": "Replace", "path": "emails[type eq \"work\"].primary", "value": "True" }
        ]),
        Ok(edited(&u, |m| {
            m["active"] = json!(false);
        })),
    );
    // replace without a path: dotted and URN-qualified keys, string booleans.
    check(
        &u,
        json!([{ "op": "Replace", "value": {
            "name.givenName": "Babs",
            "name.familyName": "Jensen-Smith",
            "active": "True",
            "urn:ietf:params:scim:schemas:core:2.0:User:title": "Guide",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "701984"
        } }]),
        Ok(edited(&u, |m| {
            m["name"] = json!({ "familyName": "Jensen-Smith", "givenName": "Babs" });
            m["title"] = json!("Guide");
            m["schemas"].as_array_mut().unwrap().push(json!(ENTERPRISE));
            m.insert(ENTERPRISE.into(), json!({ "employeeNumber": "701984" }));
        })),
    );
    // Add through a filter that matches nothing creates the value.
    check(
        &u,
        json!([
            { "op": "Add", "path": "phoneNumbers[type eq \"work\"].value", "value": "+1 555 0100" },
            { "op": "Add", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Main St" },
            { "op": "Add", "path": "addresses[type eq \"work\"].locality", "value": "Springfield" }
        ]),
        Ok(edited(&u, |m| {
            m.insert(
                "phoneNumbers".into(),
                json!([{ "type": "work", "value": "+1 555 0100" }]),
            );
            m.insert(
                "addresses".into(),
                json!([{ "type": "work", "streetAddress": "1 Main St", "locality": "Springfield" }]),
            );
        })),
    );
    // ... but only when the filter says what to create.
    check(
        &u,
        json!([{ "op": "Add", "path": "phoneNumbers[value co \"555\"].type", "value": "work" }]),
        Err(ScimType::NoTarget),
    );
    // The manager as a bare id.
    check(
        &u,
        json!([{ "op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": "26118915-6090-4610-87e4-49d8ca9f808d" }]),
        Ok(edited(&u, |m| {
            m["schemas"].as_array_mut().unwrap().push(json!(ENTERPRISE));
            m.insert(
                ENTERPRISE.into(),
                json!({ "manager": { "value": "26118915-6090-4610-87e4-49d8ca9f808d" } }),
            );
        })),
    );
    // An extension URN as the key of its attributes.
    check(
        &u,
        json!([{ "op": "replace", "value": { ENTERPRISE: { "department": "Nursing" }, "schemas": ["ignored"] } }]),
        Ok(edited(&u, |m| {
            m["schemas"].as_array_mut().unwrap().push(json!(ENTERPRISE));
            m.insert(ENTERPRISE.into(), json!({ "department": "Nursing" }));
        })),
    );
    // Custom attributes live in Gatehouse's extension, checked by the core service.
    check(
        &u,
        json!([{ "op": "add", "path": format!("{CUSTOM}:shoeSize"), "value": 42 }]),
        Ok(edited(&u, |m| {
            m["schemas"].as_array_mut().unwrap().push(json!(CUSTOM));
            m.insert(CUSTOM.into(), json!({ "shoeSize": 42 }));
        })),
    );
}

#[test]
fn group_membership() {
    let g = group();
    let babs = "2819c223-7f76-453a-919d-413861904646";
    let mandy = "902c246b-6245-4190-8e05-00816be7344a";
    // Okta adds members with a display; one already there is not repeated.
    check(
        &g,
        json!([{ "op": "add", "path": "members", "value": [
            { "value": babs, "display": "Babs" },
            { "value": "6c5bb468-14b2-4183-baf2-06d523e03bd3", "display": "Jim" }
        ] }]),
        Ok(edited(&g, |m| {
            m["members"]
                .as_array_mut()
                .unwrap()
                .push(json!({ "value": "6c5bb468-14b2-4183-baf2-06d523e03bd3", "display": "Jim" }));
        })),
    );
    // RFC 7644 §3.5.2.2 example.
    check(
        &g,
        json!([{ "op": "remove", "path": format!("members[value eq \"{babs}\"]") }]),
        Ok(edited(&g, |m| {
            m["members"] = json!([{ "value": mandy, "display": "Mandy Pepperidge" }]);
        })),
    );
    // Entra ID removes members by value.
    check(
        &g,
        json!([{ "op": "Remove", "path": "members", "value": [{ "value": mandy }] }]),
        Ok(edited(&g, |m| {
            m["members"] = json!([{ "value": babs, "display": "Babs Jensen" }]);
        })),
    );
    // members.value is caseExact, so a different case matches nothing.
    check(
        &g,
        json!([{ "op": "remove", "path": format!("members[value eq \"{}\"]", babs.to_uppercase()) }]),
        Ok(g.clone()),
    );
    // A member's value is immutable.
    check(
        &g,
        json!([{ "op": "replace", "path": format!("members[value eq \"{babs}\"].value"), "value": "x" }]),
        Err(ScimType::Mutability),
    );
    check(
        &g,
        json!([{ "op": "Replace", "path": "displayName", "value": "Guides" }]),
        Ok(edited(&g, |m| {
            m["displayName"] = json!("Guides");
        })),
    );
    // The enterprise extension is for Users only.
    check(
        &g,
        json!([{ "op": "add", "path": format!("{ENTERPRISE}:department"), "value": "x" }]),
        Err(ScimType::InvalidPath),
    );
    check(
        &g,
        json!([{ "op": "add", "path": "userName", "value": "x" }]),
        Err(ScimType::InvalidPath),
    );
}

#[test]
fn apply_rejects_a_non_object_resource() {
    let mut resource = json!([1, 2]);
    let error = apply(&mut resource, &[]).unwrap_err();
    assert_eq!(error.scim_type, Some(ScimType::InvalidSyntax));
}

fn operation() -> impl proptest::strategy::Strategy<Value = PatchOperation> {
    use proptest::prelude::*;
    let paths = prop::sample::select(vec![
        "",
        "title",
        "active",
        "name",
        "name.givenName",
        "emails",
        "emails.value",
        "emails[type eq \"work\"]",
        "emails[type eq \"work\"].value",
        "emails[type eq \"other\" and primary eq true].primary",
        "emails[value co \"@\" or not (type pr)]",
        "phoneNumbers[type eq \"work\"].value",
        "addresses[type eq \"home\"]",
        "id",
        "meta.created",
        "groups",
        "userName",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        "urn:ietf:params:scim:schemas:extension:gatehouse:2.0:User:x",
        "urn:ietf:params:scim:schemas:core:2.0:User:nickName",
        "members[value eq \"a\"]",
    ]);
    let values = prop::sample::select(vec![
        json!(null),
        json!("x"),
        json!("True"),
        json!(false),
        json!(7),
        json!([]),
        json!({}),
        json!({ "value": "a@example.com", "type": "work", "primary": "true" }),
        json!([{ "value": "b@example.com" }, "loose"]),
        json!({ "givenName": "B", "name.familyName": "J", "active": "False" }),
        json!({ "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { "department": "D" } }),
        json!({ "id": "2819c223-7f76-453a-919d-413861904646" }),
    ]);
    (
        prop::sample::select(vec![PatchOp::Add, PatchOp::Replace, PatchOp::Remove]),
        paths,
        prop::option::of(values),
    )
        .prop_map(|(op, path, value)| PatchOperation {
            op,
            path: if path.is_empty() {
                None
            } else {
                crate::path::PatchPath::parse(path).ok()
            },
            value,
        })
}

proptest::proptest! {
    /// Any sequence of operations, valid or not, applies or fails without
    /// panicking, and a failure leaves the resource as it was.
    #[test]
    fn apply_never_panics_and_is_all_or_nothing(
        operations in proptest::collection::vec(operation(), 1..6),
        on_group in proptest::bool::ANY,
    ) {
        let resource = if on_group { group() } else { user() };
        let mut patched = resource.clone();
        if apply(&mut patched, &operations).is_err() {
            proptest::prop_assert_eq!(patched, resource);
        }
    }

    /// Arbitrary JSON-ish bodies never panic the request parser.
    #[test]
    fn request_parsing_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
        let _ = PatchRequest::from_slice(&bytes);
    }
}
