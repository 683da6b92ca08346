use serde_json::{Value, json};

use super::*;
use crate::error::ScimType;

const LIMITS: ListLimits = ListLimits {
    default_count: 50,
    max_count: 100,
};

fn query(pairs: &[(&str, &str)]) -> Result<ListQuery, Option<ScimType>> {
    ListQuery::from_query(pairs.iter().copied(), &LIMITS).map_err(|e| e.scim_type)
}

fn paths(list: &[&str]) -> Vec<AttrPath> {
    list.iter().map(|p| AttrPath::parse(p).unwrap()).collect()
}

#[test]
fn query_defaults() {
    assert_eq!(
        query(&[]),
        Ok(ListQuery {
            filter: None,
            sort_by: None,
            sort_order: SortOrder::Ascending,
            start_index: 1,
            count: 50,
            attributes: vec![],
            excluded_attributes: vec![],
        })
    );
    assert_eq!(query(&[]).unwrap().offset(), 0);
}

#[test]
fn query_parameters_of_rfc_7644_section_3_4_2() {
    let parsed = query(&[
        ("filter", r#"userName sw "J""#),
        ("sortBy", "name.familyName"),
        ("sortOrder", "DESCENDING"),
        ("startIndex", "21"),
        ("count", "10"),
        ("attributes", "userName, name.givenName,emails"),
        ("ignored", "x"),
    ])
    .unwrap();
    assert_eq!(
        parsed.filter,
        Some(crate::filter::parse(r#"userName sw "J""#).unwrap())
    );
    assert_eq!(
        parsed.sort_by,
        Some(AttrPath::parse("name.familyName").unwrap())
    );
    assert_eq!(parsed.sort_order, SortOrder::Descending);
    assert_eq!(
        (parsed.start_index, parsed.offset(), parsed.count),
        (21, 20, 10)
    );
    assert_eq!(
        parsed.attributes,
        paths(&["userName", "name.givenName", "emails"])
    );
    // Parameter names match in any case.
    assert_eq!(
        query(&[(
            "EXCLUDEDATTRIBUTES",
            "emails,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        )])
        .unwrap()
        .excluded_attributes,
        paths(&[
            "emails",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ])
    );
}

/// §3.4.2.4: startIndex below 1 is 1, a negative count is 0, and count
/// never exceeds the maximum.
#[test]
fn paging_values_are_clamped() {
    let page = |start: &str, count: &str| {
        query(&[("startIndex", start), ("count", count)]).map(|q| (q.start_index, q.count))
    };
    assert_eq!(page("0", "0"), Ok((1, 0)));
    assert_eq!(page("-7", "-1"), Ok((1, 0)));
    assert_eq!(page("+3", "1000"), Ok((3, 100)));
    assert_eq!(
        page(
            "99999999999999999999999999999999999999",
            "99999999999999999999999"
        ),
        Ok((u64::MAX, 100))
    );
    assert_eq!(
        page("-99999999999999999999999999999999999999", "7"),
        Ok((1, 7))
    );
    assert_eq!(page(" 5 ", "5"), Ok((5, 5)));
    for bad in ["", "x", "1.5", "1e3", "--1", "0x10"] {
        assert_eq!(page(bad, "1"), Err(Some(ScimType::InvalidValue)), "{bad:?}");
        assert_eq!(page("1", bad), Err(Some(ScimType::InvalidValue)), "{bad:?}");
    }
}

#[test]
fn bad_parameters() {
    assert_eq!(
        query(&[("filter", "userName eq")]),
        Err(Some(ScimType::InvalidFilter))
    );
    assert_eq!(
        query(&[("sortBy", "a b")]),
        Err(Some(ScimType::InvalidPath))
    );
    assert_eq!(
        query(&[("sortOrder", "up")]),
        Err(Some(ScimType::InvalidValue))
    );
    assert_eq!(
        query(&[("attributes", "userName,1x")]),
        Err(Some(ScimType::InvalidPath))
    );
    assert_eq!(
        query(&[("count", "1"), ("Count", "2")]),
        Err(Some(ScimType::InvalidValue))
    );
    // Empty values mean absent.
    assert_eq!(
        query(&[("filter", "  "), ("sortBy", ""), ("sortOrder", "")]),
        query(&[])
    );
}

/// §3.4.3: the same parameters in a SearchRequest body.
#[test]
fn search_request() {
    let search = |body: Value| ListQuery::from_search_request(&body, &LIMITS);
    let parsed = search(json!({
        "schemas": [SEARCH_REQUEST_SCHEMA],
        "attributes": ["displayName", "userName"],
        "excludedAttributes": [],
        "filter": "displayName sw \"smith\"",
        "startIndex": 1,
        "count": 10
    }))
    .unwrap();
    assert_eq!(parsed.attributes, paths(&["displayName", "userName"]));
    assert_eq!(
        parsed.filter,
        Some(crate::filter::parse("displayName sw \"smith\"").unwrap())
    );
    assert_eq!((parsed.start_index, parsed.count), (1, 10));
    let parsed = search(json!({
        "schemas": [SEARCH_REQUEST_SCHEMA],
        "sortBy": "userName",
        "sortOrder": "descending",
        "startIndex": -4,
        "count": "500",
        "attributes": "userName,emails"
    }))
    .unwrap();
    assert_eq!(
        (parsed.start_index, parsed.count, parsed.sort_order),
        (1, 100, SortOrder::Descending)
    );
    assert_eq!(parsed.attributes, paths(&["userName", "emails"]));
    let error = |body: Value| search(body).map(|_| ()).map_err(|e| e.scim_type);
    assert_eq!(
        error(json!({ "filter": "title pr" })),
        Err(Some(ScimType::InvalidSyntax))
    );
    assert_eq!(error(json!([])), Err(Some(ScimType::InvalidSyntax)));
    assert_eq!(
        error(json!({ "schemas": [SEARCH_REQUEST_SCHEMA], "filter": 7 })),
        Err(Some(ScimType::InvalidFilter))
    );
    assert_eq!(
        error(json!({ "schemas": [SEARCH_REQUEST_SCHEMA], "filter": true })),
        Err(Some(ScimType::InvalidValue))
    );
    assert_eq!(
        error(json!({ "schemas": [SEARCH_REQUEST_SCHEMA], "attributes": [1] })),
        Err(Some(ScimType::InvalidValue))
    );
    assert_eq!(
        error(json!({ "schemas": [SEARCH_REQUEST_SCHEMA], "count": 1.5 })),
        Err(Some(ScimType::InvalidValue))
    );
}

#[test]
fn list_response() {
    let response = ListResponse {
        total_results: 2,
        start_index: 1,
        resources: vec![json!({ "id": "a" }), json!({ "id": "b" })],
    };
    assert_eq!(
        response.to_json(),
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": 2,
            "startIndex": 1,
            "itemsPerPage": 2,
            "Resources": [{ "id": "a" }, { "id": "b" }]
        })
    );
    let empty = ListResponse {
        total_results: 0,
        start_index: 1,
        resources: vec![],
    };
    assert_eq!(empty.to_json()["Resources"], json!([]));
}

fn user() -> Value {
    json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ],
        "id": "2819c223",
        "userName": "bjensen",
        "password": "t1meMa$heen",
        "name": { "familyName": "Jensen", "givenName": "Barbara" },
        "emails": [
            { "value": "bjensen@example.com", "type": "work" },
            { "value": "babs@jensen.org", "type": "home" }
        ],
        "meta": { "resourceType": "User" },
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "701984",
            "department": "Tour Operations"
        }
    })
}

/// Projection (§3.4.2.5, §3.9): id, schemas and meta always; password never.
#[test]
fn projection() {
    let u = user();
    let check = |attributes: &[&str], excluded: &[&str], expected: Value| {
        assert_eq!(
            project(&u, &paths(attributes), &paths(excluded)),
            expected,
            "{attributes:?} {excluded:?}"
        );
    };
    let mut all = u.clone();
    all.as_object_mut().unwrap().remove("password");
    check(&[], &[], all.clone());
    check(
        &["userName"],
        &[],
        json!({
            "schemas": u["schemas"], "id": "2819c223", "meta": { "resourceType": "User" },
            "userName": "bjensen"
        }),
    );
    check(
        &["USERNAME", "name.givenName", "emails.value", "password"],
        &[],
        json!({
            "schemas": u["schemas"], "id": "2819c223", "meta": { "resourceType": "User" },
            "userName": "bjensen",
            "name": { "givenName": "Barbara" },
            "emails": [{ "value": "bjensen@example.com" }, { "value": "babs@jensen.org" }]
        }),
    );
    check(
        &["emails.value", "emails.type"],
        &[],
        json!({
            "schemas": u["schemas"], "id": "2819c223", "meta": { "resourceType": "User" },
            "emails": u["emails"]
        }),
    );
    check(
        &["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"],
        &[],
        json!({
            "schemas": u["schemas"], "id": "2819c223", "meta": { "resourceType": "User" },
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { "employeeNumber": "701984" }
        }),
    );
    check(
        &[
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            "urn:ietf:params:scim:schemas:core:2.0:User:userName",
        ],
        &[],
        json!({
            "schemas": u["schemas"], "id": "2819c223", "meta": { "resourceType": "User" },
            "userName": "bjensen",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": u["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]
        }),
    );
    check(
        &["nickName"],
        &[],
        json!({ "schemas": u["schemas"], "id": "2819c223", "meta": { "resourceType": "User" } }),
    );
    // excludedAttributes never removes id, schemas or meta.
    let mut expected = all.clone();
    let map = expected.as_object_mut().unwrap();
    map.remove("emails");
    map.insert("name".into(), json!({ "familyName": "Jensen" }));
    check(
        &[],
        &[
            "emails",
            "id",
            "schemas",
            "meta",
            "name.givenName",
            "nickName",
        ],
        expected,
    );
    let mut expected = all.clone();
    expected["emails"] =
        json!([{ "value": "bjensen@example.com" }, { "value": "babs@jensen.org" }]);
    expected["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] =
        json!({ "employeeNumber": "701984" });
    check(
        &[],
        &[
            "emails.type",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
        ],
        expected,
    );
    let mut expected = all;
    expected
        .as_object_mut()
        .unwrap()
        .remove("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User");
    check(
        &[],
        &["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        expected,
    );
    // `attributes` wins over `excludedAttributes`.
    check(
        &["userName"],
        &["userName"],
        json!({
            "schemas": u["schemas"], "id": "2819c223", "meta": { "resourceType": "User" },
            "userName": "bjensen"
        }),
    );
}

proptest::proptest! {
    /// Arbitrary parameter values never panic, and paging stays in range.
    #[test]
    fn query_parsing_never_panics(
        values in proptest::collection::vec(".{0,30}", 7),
    ) {
        let names = ["filter", "sortBy", "sortOrder", "startIndex", "count", "attributes", "excludedAttributes"];
        let pairs: Vec<(&str, &str)> = names.iter().copied().zip(values.iter().map(String::as_str)).collect();
        if let Ok(q) = ListQuery::from_query(pairs, &LIMITS) {
            proptest::prop_assert!(q.start_index >= 1 && q.count <= LIMITS.max_count);
        }
    }
}
