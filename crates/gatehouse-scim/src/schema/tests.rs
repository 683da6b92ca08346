use serde_json::{Value, json};

use super::*;

const BASE: &str = "https://id.example.com/scim/v2/";

/// Compares `actual` with `tests/snapshots/<name>`, reviewed by hand against
/// RFC 7643; `UPDATE_SNAPSHOTS=1` rewrites the file instead.
fn check_snapshot(name: &str, actual: &Value) {
    let path = format!("{}/tests/snapshots/{name}", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        let text = serde_json::to_string_pretty(actual).unwrap() + "\n";
        std::fs::write(&path, text).unwrap();
        return;
    }
    let expected: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(actual, &expected, "{name} differs from its snapshot");
}

#[test]
fn discovery_documents_match_the_reviewed_snapshots() {
    check_snapshot(
        "service_provider_config.json",
        &ServiceProviderConfig::default().to_json(BASE),
    );
    check_snapshot(
        "resource_types.json",
        &Value::Array(resource_types(true, BASE)),
    );
    let custom = [
        CustomAttribute {
            name: "badgeNumber".into(),
            ty: CustomType::String,
            multi_valued: false,
            required: false,
        },
        CustomAttribute {
            name: "shifts".into(),
            ty: CustomType::DateTime,
            multi_valued: true,
            required: true,
        },
    ];
    check_snapshot("schemas.json", &Value::Array(schemas(&custom, BASE)));
}

/// RFC 7643 §7: what each attribute definition must say.
fn check_attribute(schema: &str, attribute: &Value) {
    let name = attribute["name"].as_str().unwrap();
    let context = format!("{schema}:{name}");
    assert!(
        AttrPath::parse(name).is_ok_and(|p| p.schema.is_none() && p.sub_attr.is_none()),
        "{context}"
    );
    for key in [
        "type",
        "multiValued",
        "description",
        "required",
        "mutability",
        "returned",
    ] {
        assert!(attribute.get(key).is_some(), "{context} lacks {key}");
    }
    assert!(
        !attribute["description"].as_str().unwrap().is_empty(),
        "{context}"
    );
    match attribute["type"].as_str().unwrap() {
        "complex" => {
            let subs = attribute["subAttributes"].as_array().unwrap();
            assert!(!subs.is_empty(), "{context}");
            for sub in subs {
                assert_ne!(
                    sub["type"], "complex",
                    "{context}: complex attributes nest one level"
                );
                check_attribute(&context, sub);
            }
        }
        "string" | "boolean" | "decimal" | "integer" | "dateTime" | "binary" | "reference" => {
            assert!(attribute["caseExact"].is_boolean(), "{context}");
            assert!(attribute["uniqueness"].is_string(), "{context}");
            assert!(attribute.get("subAttributes").is_none(), "{context}");
        }
        other => panic!("{context}: unknown type {other}"),
    }
    if attribute["type"] == "reference" {
        assert!(
            !attribute["referenceTypes"].as_array().unwrap().is_empty(),
            "{context}"
        );
    }
}

#[test]
fn every_attribute_is_fully_described() {
    for schema in schemas(&[], BASE) {
        let id = schema["id"].as_str().unwrap();
        let attributes = schema["attributes"].as_array().unwrap();
        let mut names: Vec<String> = attributes
            .iter()
            .map(|a| a["name"].as_str().unwrap().to_lowercase())
            .collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), attributes.len(), "{id}: duplicate names");
        for attribute in attributes {
            check_attribute(id, attribute);
        }
        assert_eq!(
            schema["meta"]["location"],
            format!("https://id.example.com/scim/v2/Schemas/{id}")
        );
    }
}

/// Characteristics RFC 7643 §4 and §8.7.1 give particular attributes.
#[test]
fn rfc_7643_characteristics() {
    let user = |name: &str| find(USER.attributes, name).unwrap();
    assert!(user("userName").required);
    assert_eq!(user("userName").uniqueness, Uniqueness::Server);
    assert!(!user("userName").case_exact);
    assert_eq!(user("password").mutability, Mutability::WriteOnly);
    assert_eq!(user("password").returned, Returned::Never);
    assert_eq!(user("groups").mutability, Mutability::ReadOnly);
    assert!(user("emails").multi_valued);
    assert_eq!(
        user("emails").sub("type").unwrap().canonical_values,
        ["work", "home", "other"]
    );
    assert_eq!(user("emails").sub("primary").unwrap().ty, AttrType::Boolean);
    assert_eq!(user("photos").sub("value").unwrap().ty, AttrType::Reference);
    assert_eq!(
        user("x509Certificates").sub("value").unwrap().ty,
        AttrType::Binary
    );
    assert_eq!(user("active").ty, AttrType::Boolean);
    assert_eq!(USER.attributes.len(), 21);
    let member = find(GROUP.attributes, "members").unwrap();
    assert_eq!(
        member.sub("value").unwrap().mutability,
        Mutability::Immutable
    );
    assert_eq!(
        member.sub("$REF").unwrap().reference_types,
        ["User", "Group"]
    );
    let manager = find(ENTERPRISE_USER.attributes, "manager").unwrap();
    assert_eq!(
        manager.sub("displayName").unwrap().mutability,
        Mutability::ReadOnly
    );
    let common = |name: &str| find(COMMON_ATTRIBUTES, name).unwrap();
    assert!(common("id").case_exact);
    assert_eq!(common("id").returned, Returned::Always);
    assert!(common("externalId").case_exact);
    assert_eq!(common("meta").mutability, Mutability::ReadOnly);
}

#[test]
fn resolving_paths() {
    let path = |s: &str| AttrPath::parse(s).unwrap();
    fn names(r: Resolved<'_>) -> (Container<'_>, Option<&'static str>, Option<&'static str>) {
        (
            r.container,
            r.attribute.map(|a| a.name),
            r.sub_attribute.map(|a| a.name),
        )
    }
    let p = path("NAME.givenname");
    assert_eq!(
        names(resolve(ResourceKind::User, &p)),
        (Container::Core, Some("name"), Some("givenName"))
    );
    let p = path("urn:ietf:params:scim:schemas:core:2.0:User:id");
    assert_eq!(
        names(resolve(ResourceKind::User, &p)),
        (Container::Core, Some("id"), None)
    );
    let p = path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value");
    assert_eq!(
        names(resolve(ResourceKind::User, &p)),
        (
            Container::Extension(ENTERPRISE_USER_SCHEMA),
            Some("manager"),
            Some("value")
        )
    );
    // The enterprise extension is not a Group's; the core Group schema is.
    assert_eq!(names(resolve(ResourceKind::Group, &p)).1, None);
    let p = path("urn:ietf:params:scim:schemas:core:2.0:Group:members.value");
    assert_eq!(
        names(resolve(ResourceKind::Group, &p)),
        (Container::Core, Some("members"), Some("value"))
    );
    let p = path("userName");
    assert_eq!(names(resolve(ResourceKind::Group, &p)).1, None);
    assert_eq!(
        ResourceKind::of(&json!({ "schemas": [GROUP_SCHEMA] })),
        ResourceKind::Group
    );
    assert_eq!(
        ResourceKind::of(&json!({ "schemas": [USER_SCHEMA] })),
        ResourceKind::User
    );
    assert_eq!(ResourceKind::of(&json!({})), ResourceKind::User);
    assert_eq!(ResourceKind::Group.endpoint(), "Groups");
}

#[test]
fn custom_extension() {
    let custom = [
        CustomAttribute {
            name: "department2".into(),
            ty: CustomType::String,
            multi_valued: false,
            required: false,
        },
        CustomAttribute {
            name: "onCall".into(),
            ty: CustomType::Boolean,
            multi_valued: false,
            required: true,
        },
        CustomAttribute {
            name: "rank".into(),
            ty: CustomType::Integer,
            multi_valued: false,
            required: false,
        },
        CustomAttribute {
            name: "rate".into(),
            ty: CustomType::Decimal,
            multi_valued: true,
            required: false,
        },
        CustomAttribute {
            name: "not valid".into(),
            ty: CustomType::String,
            multi_valued: false,
            required: false,
        },
        CustomAttribute {
            name: "a.b".into(),
            ty: CustomType::String,
            multi_valued: false,
            required: false,
        },
    ];
    let schema = custom_extension_schema(&custom, BASE);
    assert_eq!(schema["id"], GATEHOUSE_USER_SCHEMA);
    let attributes = schema["attributes"].as_array().unwrap();
    assert_eq!(
        attributes
            .iter()
            .map(|a| (a["name"].as_str().unwrap(), a["type"].as_str().unwrap()))
            .collect::<Vec<_>>(),
        [
            ("department2", "string"),
            ("onCall", "boolean"),
            ("rank", "integer"),
            ("rate", "decimal")
        ]
    );
    assert_eq!(attributes[1]["required"], true);
    assert_eq!(attributes[3]["multiValued"], true);
    for attribute in attributes {
        check_attribute(GATEHOUSE_USER_SCHEMA, attribute);
    }
    // Without custom attributes there is no custom schema.
    assert_eq!(schemas(&[], BASE).len(), 3);
    assert_eq!(
        resource_types(false, BASE)[0]["schemaExtensions"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn service_provider_config_follows_the_limits() {
    let config = ServiceProviderConfig {
        documentation_uri: Some("https://docs.example.com/scim".into()),
        change_password: false,
        bulk_max_operations: 50,
        bulk_max_payload_size: 2048,
        filter_max_results: 25,
    }
    .to_json("https://id.example.com/scim/v2");
    assert_eq!(
        config["bulk"],
        json!({ "supported": true, "maxOperations": 50, "maxPayloadSize": 2048 })
    );
    assert_eq!(
        config["filter"],
        json!({ "supported": true, "maxResults": 25 })
    );
    assert_eq!(config["documentationUri"], "https://docs.example.com/scim");
    assert_eq!(config["changePassword"], json!({ "supported": false }));
    assert_eq!(
        config["authenticationSchemes"][0]["type"],
        "oauthbearertoken"
    );
    assert_eq!(
        config["meta"]["location"],
        "https://id.example.com/scim/v2/ServiceProviderConfig"
    );
}
