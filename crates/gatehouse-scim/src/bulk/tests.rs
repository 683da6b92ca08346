use std::collections::HashMap;

use serde_json::{Value, json};

use super::*;
use crate::error::ScimType;

const LIMITS: BulkLimits = BulkLimits {
    max_operations: 10,
    max_payload_size: 4096,
};

fn parse(body: &Value) -> Result<BulkRequest, ScimError> {
    BulkRequest::parse(body.to_string().as_bytes(), &LIMITS)
}

fn request(operations: Value) -> Value {
    json!({ "schemas": [BULK_REQUEST_SCHEMA], "Operations": operations })
}

/// The request of RFC 7644 §3.7.2 (abridged data).
#[test]
fn rfc_7644_section_3_7_example() {
    let parsed = parse(&json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "failOnErrors": 1,
        "Operations": [
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "qwerty",
                "data": { "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "Alice" }
            },
            {
                "method": "PUT",
                "path": "/Users/b7c14771-226c-4d05-8860-134711653041",
                "version": "W/\"3694e05e9dff591\"",
                "data": { "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "b7c14771-226c-4d05-8860-134711653041", "userName": "Bob" }
            },
            {
                "method": "PATCH",
                "path": "/Users/5d8d29d3-342c-4b5f-8683-a3cb6763ffcc",
                "version": "W/\"edac3253e2c0ef2\"",
                "data": { "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{ "op": "remove", "path": "nickName" }] }
            },
            {
                "method": "DELETE",
                "path": "/Users/e9025315-6bea-44e1-899c-1e07454e468b",
                "version": "W/\"0ee8add0a938e1a\""
            }
        ]
    }))
    .unwrap();
    assert_eq!(parsed.fail_on_errors, Some(1));
    assert_eq!(
        parsed
            .operations
            .iter()
            .map(|o| o.method)
            .collect::<Vec<_>>(),
        [
            BulkMethod::Post,
            BulkMethod::Put,
            BulkMethod::Patch,
            BulkMethod::Delete
        ]
    );
    assert_eq!(parsed.operations[0].bulk_id.as_deref(), Some("qwerty"));
    assert_eq!(
        parsed.operations[1].version.as_deref(),
        Some("W/\"3694e05e9dff591\"")
    );
    assert_eq!(parsed.operations[3].data, None);
    assert!(!parsed.should_stop(0));
    assert!(parsed.should_stop(1));
    let plan = parsed.plan();
    assert_eq!(plan.order, [0, 1, 2, 3]);
    assert!(plan.failed.is_empty());
}

/// §3.7.4: over maxPayloadSize or maxOperations is 413.
#[test]
fn limits_are_enforced() {
    let big = request(
        json!([{ "method": "POST", "path": "/Users", "bulkId": "a", "data": { "x": "y".repeat(5000) } }]),
    );
    let error = parse(&big).unwrap_err();
    assert_eq!((error.status, error.scim_type), (413, None));
    assert_eq!(
        error.detail,
        "The size of the bulk operation exceeds the maxPayloadSize (4096)."
    );
    let many: Vec<Value> = (0..11)
        .map(|i| json!({ "method": "DELETE", "path": format!("/Users/{i}") }))
        .collect();
    let error = parse(&request(Value::Array(many))).unwrap_err();
    assert_eq!((error.status, error.scim_type), (413, None));
    assert_eq!(error.to_json()["status"], "413");
    let ten: Vec<Value> = (0..10)
        .map(|i| json!({ "method": "DELETE", "path": format!("/Users/{i}") }))
        .collect();
    assert!(parse(&request(Value::Array(ten))).is_ok());
}

#[test]
fn malformed_requests() {
    let error = |body: Value| parse(&body).map(|_| ()).map_err(|e| e.scim_type);
    let op = |op: Value| error(request(json!([op])));
    assert_eq!(
        BulkRequest::parse(b"{", &LIMITS)
            .map(|_| ())
            .map_err(|e| e.scim_type),
        Err(Some(ScimType::InvalidSyntax))
    );
    assert_eq!(
        error(json!({ "Operations": [] })),
        Err(Some(ScimType::InvalidSyntax))
    );
    assert_eq!(
        error(json!({ "schemas": [BULK_REQUEST_SCHEMA] })),
        Err(Some(ScimType::InvalidSyntax))
    );
    assert_eq!(
        error(json!({ "schemas": [BULK_REQUEST_SCHEMA], "failOnErrors": 0, "Operations": [] })),
        Err(Some(ScimType::InvalidValue))
    );
    assert_eq!(
        error(json!({ "schemas": [BULK_REQUEST_SCHEMA], "failOnErrors": "1", "Operations": [] })),
        Err(Some(ScimType::InvalidValue))
    );
    assert_eq!(
        op(json!({ "method": "GET", "path": "/Users" })),
        Err(Some(ScimType::InvalidSyntax))
    );
    assert_eq!(
        op(json!({ "path": "/Users" })),
        Err(Some(ScimType::InvalidSyntax))
    );
    assert_eq!(
        op(json!({ "method": "DELETE" })),
        Err(Some(ScimType::InvalidSyntax))
    );
    assert_eq!(
        op(json!({ "method": "DELETE", "path": "Users/1" })),
        Err(Some(ScimType::InvalidSyntax))
    );
    assert_eq!(
        op(json!({ "method": "POST", "path": "/Users", "data": {} })),
        Err(Some(ScimType::InvalidSyntax))
    );
    assert_eq!(
        op(json!({ "method": "POST", "path": "/Users", "bulkId": "", "data": {} })),
        Err(Some(ScimType::InvalidSyntax))
    );
    assert_eq!(
        op(json!({ "method": "POST", "path": "/Users", "bulkId": "a" })),
        Err(Some(ScimType::InvalidSyntax))
    );
    assert_eq!(
        op(json!({ "method": "PUT", "path": "/Users/1", "data": null })),
        Err(Some(ScimType::InvalidSyntax))
    );
    assert_eq!(
        op(json!({ "method": "DELETE", "path": "/Users/1", "version": 3 })),
        Err(Some(ScimType::InvalidSyntax))
    );
    assert_eq!(
        error(request(json!([
            { "method": "POST", "path": "/Users", "bulkId": "a", "data": {} },
            { "method": "POST", "path": "/Groups", "bulkId": "a", "data": {} }
        ]))),
        Err(Some(ScimType::InvalidValue))
    );
    // Methods match in any case.
    assert!(op(json!({ "method": "delete", "path": "/Users/1" })).is_ok());
}

/// §3.7.2: an operation runs after the POST whose bulkId it references,
/// wherever that POST is in the request.
#[test]
fn bulk_id_references_order_the_operations() {
    let parsed = parse(&request(json!([
        { "method": "POST", "path": "/Groups", "bulkId": "ytrewq", "data": {
            "displayName": "Tour Guides",
            "members": [{ "type": "User", "value": "bulkId:qwerty" }]
        } },
        { "method": "PATCH", "path": "/Groups/bulkId:ytrewq", "data": {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{ "op": "add", "path": "members", "value": [{ "value": "bulkId:other" }] }]
        } },
        { "method": "POST", "path": "/Users", "bulkId": "qwerty", "data": { "userName": "Alice" } },
        { "method": "POST", "path": "/Users", "bulkId": "other", "data": { "userName": "Bob" } }
    ])))
    .unwrap();
    assert_eq!(
        parsed.operations[1]
            .references()
            .into_iter()
            .collect::<Vec<_>>(),
        ["other", "ytrewq"]
    );
    let plan = parsed.plan();
    assert_eq!(plan.order, [2, 0, 3, 1]);
    assert!(plan.failed.is_empty());

    let created: HashMap<String, String> = [
        ("qwerty".to_owned(), "92b725cd".to_owned()),
        ("ytrewq".to_owned(), "e9e30dba".to_owned()),
    ]
    .into();
    assert_eq!(
        parsed.operations[0].resolve(&created),
        Ok((
            "/Groups".to_owned(),
            Some(
                json!({ "displayName": "Tour Guides", "members": [{ "type": "User", "value": "92b725cd" }] })
            )
        ))
    );
    // "other" failed, so the PATCH referencing it cannot run.
    let error = parsed.operations[1].resolve(&created).unwrap_err();
    assert_eq!((error.status, error.scim_type), (409, None));
    let mut all = created;
    all.insert("other".into(), "6c5bb468".into());
    let (path, data) = parsed.operations[1].resolve(&all).unwrap();
    assert_eq!(path, "/Groups/e9e30dba");
    assert_eq!(
        data.unwrap()["Operations"][0]["value"][0]["value"],
        "6c5bb468"
    );
}

/// §3.7.1: circular references that cannot be resolved are 409; references
/// to no operation are 400.
#[test]
fn unresolvable_references_fail_per_operation() {
    let parsed = parse(&request(json!([
        { "method": "POST", "path": "/Groups", "bulkId": "a", "data": { "members": [{ "value": "bulkId:b" }] } },
        { "method": "POST", "path": "/Groups", "bulkId": "b", "data": { "members": [{ "value": "bulkId:a" }] } },
        { "method": "POST", "path": "/Groups", "bulkId": "c", "data": { "members": [{ "value": "bulkId:a" }] } },
        { "method": "POST", "path": "/Groups", "bulkId": "d", "data": { "members": [{ "value": "bulkId:nowhere" }] } },
        { "method": "POST", "path": "/Groups", "bulkId": "e", "data": { "members": [{ "value": "bulkId:e" }] } },
        { "method": "POST", "path": "/Users", "bulkId": "f", "data": { "userName": "bulkId:d" } },
        { "method": "DELETE", "path": "/Users/1" }
    ])))
    .unwrap();
    let plan = parsed.plan();
    // f depends on d, which failed: it runs, and its own resolve reports 409.
    assert_eq!(plan.order, [5, 6]);
    assert_eq!(
        plan.failed
            .iter()
            .map(|(i, e)| (*i, e.status, e.scim_type))
            .collect::<Vec<_>>(),
        [
            (0, 409, None),
            (1, 409, None),
            (2, 409, None),
            (3, 400, Some(ScimType::InvalidValue)),
            (4, 409, None),
        ]
    );
    assert_eq!(
        parsed.operations[5]
            .resolve(&HashMap::new())
            .unwrap_err()
            .status,
        409
    );
}

/// §3.7.3: the response, statuses as strings, errors as SCIM error bodies.
#[test]
fn bulk_response_rendering() {
    let failed_op = BulkOperation {
        method: BulkMethod::Post,
        bulk_id: Some("qwerty".into()),
        version: None,
        path: "/Users".into(),
        data: Some(json!({})),
    };
    let results = [
        BulkOperationResult {
            method: BulkMethod::Put,
            bulk_id: None,
            version: Some("W/\"huiasdfda\"".into()),
            location: Some("https://example.com/v2/Users/b7c14771".into()),
            status: 200,
            response: None,
        },
        BulkOperationResult::failed(
            &failed_op,
            &ScimError::new(
                ScimType::InvalidSyntax,
                "Request is unparsable, syntactically incorrect, or violates schema.",
            ),
        ),
    ];
    assert_eq!(
        bulk_response(&results),
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkResponse"],
            "Operations": [
                {
                    "method": "PUT",
                    "version": "W/\"huiasdfda\"",
                    "location": "https://example.com/v2/Users/b7c14771",
                    "status": "200"
                },
                {
                    "method": "POST",
                    "bulkId": "qwerty",
                    "status": "400",
                    "response": {
                        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                        "scimType": "invalidSyntax",
                        "detail": "Request is unparsable, syntactically incorrect, or violates schema.",
                        "status": "400"
                    }
                }
            ]
        })
    );
}

proptest::proptest! {
    /// Random bytes never panic the bulk parser.
    #[test]
    fn parsing_random_bytes_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
        let _ = BulkRequest::parse(&bytes, &LIMITS);
    }

    /// Whatever references a request holds, every operation is either
    /// planned once or failed once.
    #[test]
    fn plan_covers_every_operation(refs in proptest::collection::vec(proptest::collection::vec(0usize..8, 0..3), 1..8)) {
        let operations: Vec<Value> = refs
            .iter()
            .enumerate()
            .map(|(i, refs)| json!({
                "method": "POST",
                "path": "/Groups",
                "bulkId": format!("b{i}"),
                "data": { "members": refs.iter().map(|r| json!({ "value": format!("bulkId:b{r}") })).collect::<Vec<_>>() }
            }))
            .collect();
        let parsed = parse(&request(Value::Array(operations))).unwrap();
        let plan = parsed.plan();
        let mut seen: Vec<usize> = plan.order.iter().copied().chain(plan.failed.iter().map(|(i, _)| *i)).collect();
        seen.sort_unstable();
        proptest::prop_assert_eq!(seen, (0..refs.len()).collect::<Vec<_>>());
        // Each planned operation comes after the operations it references.
        for (position, index) in plan.order.iter().enumerate() {
            for r in &refs[*index] {
                if let Some(at) = plan.order.iter().position(|i| i == r) {
                    proptest::prop_assert!(at < position);
                }
            }
        }
    }
}
