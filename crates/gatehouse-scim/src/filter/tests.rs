use proptest::prelude::*;
use serde_json::json;

use super::*;

/// `Ok(canonical form)` or the error kind and byte position.
fn check(input: &str, expected: Result<&str, (FilterErrorKind, usize)>) {
    let parsed = parse(input);
    assert_eq!(
        parsed
            .as_ref()
            .map(ToString::to_string)
            .map_err(|e| (e.kind, e.position)),
        expected.map(str::to_owned),
        "{input:?}"
    );
    if let Ok(filter) = parsed {
        // The canonical form is a fixed point.
        assert_eq!(
            parse(&filter.to_string()).as_ref(),
            Ok(&filter),
            "{input:?}"
        );
    }
}

fn path(name: &str) -> AttrPath {
    AttrPath::new(name)
}

fn pr(name: &str) -> Filter {
    Filter::Present(path(name))
}

fn eq(name: &str, value: &str) -> Filter {
    Filter::Compare(path(name), CompareOp::Eq, CompValue::String(value.into()))
}

fn and(a: Filter, b: Filter) -> Filter {
    Filter::And(Box::new(a), Box::new(b))
}

fn or(a: Filter, b: Filter) -> Filter {
    Filter::Or(Box::new(a), Box::new(b))
}

fn not(a: Filter) -> Filter {
    Filter::Not(Box::new(a))
}

/// Every example filter of RFC 7644 §3.4.2.2 parses, and its canonical
/// form is the RFC's text.
#[test]
fn rfc_7644_section_3_4_2_2_examples() {
    for example in [
        r#"userName eq "bjensen""#,
        r#"name.familyName co "O'Malley""#,
        r#"userName sw "J""#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
        r#"title pr"#,
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
        r#"title pr and userType eq "Employee""#,
        r#"title pr or userType eq "Intern""#,
        r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
    ] {
        check(example, Ok(example));
    }
    // The only example with parentheses the tree does not need.
    check(
        r#"userType eq "Employee" and (emails.type eq "work")"#,
        Ok(r#"userType eq "Employee" and emails.type eq "work""#),
    );
}

#[test]
fn rfc_examples_have_the_expected_trees() {
    assert_eq!(
        parse(r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#),
        Ok(Filter::Compare(
            AttrPath {
                schema: Some("urn:ietf:params:scim:schemas:core:2.0:User".into()),
                name: "userName".into(),
                sub_attr: None,
            },
            CompareOp::Sw,
            CompValue::String("J".into()),
        ))
    );
    assert_eq!(
        parse(
            r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#
        ),
        Ok(and(
            Filter::Compare(
                path("userType"),
                CompareOp::Ne,
                CompValue::String("Employee".into())
            ),
            not(or(
                Filter::Compare(
                    path("emails"),
                    CompareOp::Co,
                    CompValue::String("example.com".into())
                ),
                Filter::Compare(
                    AttrPath {
                        schema: None,
                        name: "emails".into(),
                        sub_attr: Some("value".into()),
                    },
                    CompareOp::Co,
                    CompValue::String("example.org".into()),
                ),
            )),
        ))
    );
    assert_eq!(
        parse(r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp"]"#),
        Ok(or(
            Filter::ValuePath(
                path("emails"),
                Box::new(and(
                    eq("type", "work"),
                    Filter::Compare(
                        path("value"),
                        CompareOp::Co,
                        CompValue::String("@example.com".into())
                    ),
                )),
            ),
            Filter::ValuePath(path("ims"), Box::new(eq("type", "xmpp"))),
        ))
    );
    assert_eq!(
        parse(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq \"701984\""
        ),
        Ok(Filter::Compare(
            AttrPath {
                schema: Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".into()),
                name: "employeeNumber".into(),
                sub_attr: None,
            },
            CompareOp::Eq,
            CompValue::String("701984".into()),
        ))
    );
}

/// §3.4.2.2: "not" binds tighter than "and", which binds tighter than "or".
#[test]
fn precedence_and_grouping() {
    assert_eq!(
        parse("a pr or b pr and c pr"),
        Ok(or(pr("a"), and(pr("b"), pr("c"))))
    );
    assert_eq!(
        parse("a pr and b pr or c pr"),
        Ok(or(and(pr("a"), pr("b")), pr("c")))
    );
    assert_eq!(
        parse("(a pr or b pr) and c pr"),
        Ok(and(or(pr("a"), pr("b")), pr("c")))
    );
    assert_eq!(parse("not (a pr) and b pr"), Ok(and(not(pr("a")), pr("b"))));
    assert_eq!(
        parse("a pr and b pr and c pr"),
        Ok(and(and(pr("a"), pr("b")), pr("c")))
    );
    assert_eq!(
        parse("a pr and (b pr and c pr)"),
        Ok(and(pr("a"), and(pr("b"), pr("c"))))
    );
    check("a pr and (b pr and c pr)", Ok("a pr and (b pr and c pr)"));
    check("a pr or (b pr or c pr)", Ok("a pr or (b pr or c pr)"));
    check("(a pr or b pr) or c pr", Ok("a pr or b pr or c pr"));
    check("((((a pr))))", Ok("a pr"));
    check("not(a pr)", Ok("not (a pr)"));
    check("not   (a pr)", Ok("not (a pr)"));
    check("not (not (a pr))", Ok("not (not (a pr))"));
    check(
        "not (a pr or b pr) and c pr",
        Ok("not (a pr or b pr) and c pr"),
    );
    // Errata 7322: grouping inside a value filter.
    check(
        r#"emails[type eq "work" or (type eq "home" and value ew "@example.com")]"#,
        Ok(r#"emails[type eq "work" or type eq "home" and value ew "@example.com"]"#),
    );
    check(
        r#"emails[not (type eq "work")]"#,
        Ok(r#"emails[not (type eq "work")]"#),
    );
}

#[test]
fn keywords_values_and_spacing() {
    check(
        r#"userName EQ "x" AND title Pr"#,
        Ok(r#"userName eq "x" and title pr"#),
    );
    check(r#"a eq "x" OR NOT (b pr)"#, Ok(r#"a eq "x" or not (b pr)"#));
    check("  a   pr   and   b  pr ", Ok("a pr and b pr"));
    check("( a pr )", Ok("a pr"));
    check("a eq True", Ok("a eq true"));
    check("a ne FALSE", Ok("a ne false"));
    check("a eq null", Ok("a eq null"));
    check("a gt 42", Ok("a gt 42"));
    check("a lt -1.5e3", Ok("a lt -1500.0"));
    check("a ge 0.25", Ok("a ge 0.25"));
    check(
        r#"a eq "say \"hi\" \u00e9 \\ \/""#,
        Ok(r#"a eq "say \"hi\" é \\ /""#),
    );
    check(r#"a eq """#, Ok(r#"a eq """#));
    check(r#"a co "(not) [and] or""#, Ok(r#"a co "(not) [and] or""#));
    // Attributes that begin with a keyword are attributes.
    check("notes pr", Ok("notes pr"));
    check("not pr", Ok("not pr"));
    check("order pr and andrew pr", Ok("order pr and andrew pr"));
    check("$ref eq \"x\"", Ok("$ref eq \"x\""));
    check("x-y_z9 pr", Ok("x-y_z9 pr"));
    assert_eq!(
        parse(r#"a eq "x\ty""#),
        Ok(Filter::Compare(
            path("a"),
            CompareOp::Eq,
            CompValue::String("x\ty".into())
        ))
    );
}

#[test]
fn malformed_filters_are_rejected_with_a_position() {
    use FilterErrorKind::*;
    check("", Err((ExpectedAttrPath, 0)));
    check("   ", Err((ExpectedAttrPath, 3)));
    check("userName", Err((ExpectedOperator, 8)));
    check("userName eq", Err((ExpectedValue, 11)));
    check("userName eq ", Err((ExpectedValue, 12)));
    check(r#"userName regex "x""#, Err((UnknownOperator, 9)));
    check(r#"userName eq"x""#, Err((ExpectedValue, 11)));
    check(r#"userName  eq  bjensen"#, Err((ExpectedValue, 14)));
    check(r#"a eq "open"#, Err((InvalidString, 5)));
    check("a eq \"tab\there\"", Err((InvalidString, 5)));
    check(r#"a eq "bad \q escape""#, Err((InvalidString, 5)));
    check("a eq 01", Err((InvalidNumber, 5)));
    check("a eq 1.", Err((InvalidNumber, 5)));
    check("a eq --1", Err((InvalidNumber, 5)));
    check("a eq tru", Err((ExpectedValue, 5)));
    check("a pr and", Err((Unexpected, 5)));
    check("a pr or ", Err((ExpectedAttrPath, 8)));
    check("a pr b pr", Err((Unexpected, 5)));
    check("a pr)", Err((Unexpected, 4)));
    check("(a pr", Err((ExpectedCloseParen, 5)));
    check("not a pr", Err((UnknownOperator, 4)));
    check("1a pr", Err((InvalidAttrName, 0)));
    check("a.b.c pr", Err((InvalidAttrName, 0)));
    check("a. pr", Err((InvalidAttrName, 0)));
    check(":a pr", Err((InvalidAttrName, 0)));
    check("urn:x: pr", Err((InvalidAttrName, 0)));
    check(r#"emails[type eq "work""#, Err((ExpectedCloseBracket, 21)));
    check(r#"emails[type eq "work"] pr"#, Err((Unexpected, 23)));
    check(r#"emails[x[type eq "work"]]"#, Err((NestedValuePath, 8)));
    check(r#"emails[a.b eq 1]"#, Err((QualifiedInValueFilter, 7)));
    check(r#"emails[urn:x:a eq 1]"#, Err((QualifiedInValueFilter, 7)));
    check(r#"name.givenName[a pr]"#, Err((Unexpected, 14)));
    check("a pr and \u{e9} pr", Err((ExpectedAttrPath, 9)));
}

#[test]
fn length_and_depth_are_limited() {
    let long = format!("a eq \"{}\"", "x".repeat(MAX_FILTER_LEN));
    check(&long, Err((FilterErrorKind::TooLong, 0)));
    let fits = format!("a eq \"{}\"", "x".repeat(MAX_FILTER_LEN - 7));
    assert!(parse(&fits).is_ok());

    let nested = |n: usize| format!("{}a pr{}", "(".repeat(n), ")".repeat(n));
    assert!(parse(&nested(MAX_DEPTH)).is_ok());
    check(
        &nested(MAX_DEPTH + 1),
        Err((FilterErrorKind::TooDeep, MAX_DEPTH)),
    );
}

/// Regression: input such as `((((…` or `not(not(…` a thousand levels
/// deep must be an error, not a stack overflow.
#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    for input in [
        "(".repeat(4000),
        "not(".repeat(1000),
        "not (".repeat(800),
        format!("emails[{}", "(".repeat(3000)),
    ] {
        assert_eq!(
            parse(&input).map_err(|e| e.kind),
            Err(FilterErrorKind::TooDeep),
            "{}",
            &input[..10]
        );
    }
    // A long flat chain is not nesting: it parses, renders and drops.
    let chain = vec!["a pr"; 400].join(" and ");
    let filter = parse(&chain).unwrap();
    assert_eq!(filter.to_string(), chain);
}

#[test]
fn scim_error_is_invalid_filter() {
    let error: ScimError = parse("a eq").unwrap_err().into();
    assert_eq!(error.status, 400);
    assert_eq!(error.scim_type, Some(crate::ScimType::InvalidFilter));
    assert_eq!(
        error.detail,
        "invalid filter: expected a comparison value (a JSON string, number, true, false or null) at byte 4"
    );
}

#[test]
fn attr_path_parse() {
    assert_eq!(
        AttrPath::parse("name.givenName").map(|p| p.to_string()),
        Ok("name.givenName".into())
    );
    assert_eq!(
        AttrPath::parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value")
            .map(|p| (p.schema, p.name, p.sub_attr)),
        Ok((
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".into()),
            "manager".into(),
            Some("value".into())
        ))
    );
    assert!(AttrPath::parse("a b").is_err());
    assert!(AttrPath::parse("a[b pr]").is_err());
    assert!(AttrPath::parse("").is_err());
    assert!(AttrPath::new("Name").is("name", None));
    assert!(!AttrPath::new("Name").is("name", Some("x")));
}

fn bjensen() -> serde_json::Value {
    json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "Bjensen-EXT",
        "userName": "bjensen@example.com",
        "name": { "familyName": "O'Malley", "givenName": "Barbara" },
        "title": "Tour Guide",
        "userType": "Employee",
        "active": true,
        "emails": [
            { "value": "bjensen@example.com", "type": "work", "primary": true },
            { "value": "babs@jensen.org", "type": "home" }
        ],
        "ims": [ { "value": "someaimhandle", "type": "aim" } ],
        "x-count": 7,
        "meta": {
            "resourceType": "User",
            "created": "2010-01-23T04:56:22Z",
            "lastModified": "2011-05-13T04:42:34Z",
            "version": "W/\"3694e05e9dff591\""
        },
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "701984",
            "manager": { "value": "26118915-6090-4610-87e4-49d8ca9f808d" }
        }
    })
}

#[test]
fn evaluation_on_a_user() {
    let user = bjensen();
    let cases = [
        (r#"userName eq "bjensen@example.com""#, true),
        // userName is not caseExact; attribute names are case-insensitive.
        (r#"USERNAME eq "BJensen@Example.COM""#, true),
        (r#"userName sw "BJ""#, true),
        (r#"userName ew "EXAMPLE.COM""#, true),
        (r#"userName co "jensen@""#, true),
        (r#"userName ne "bjensen@example.com""#, false),
        // id and externalId are caseExact (RFC 7643 §3.1).
        (r#"externalId eq "Bjensen-EXT""#, true),
        (r#"externalId eq "bjensen-ext""#, false),
        (r#"id eq "2819C223-7F76-453A-919D-413861904646""#, false),
        (r#"name.familyName co "o'malley""#, true),
        (
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "b""#,
            true,
        ),
        (
            r#"urn:ietf:params:scim:schemas:core:2.0:User:name.givenName eq "barbara""#,
            true,
        ),
        ("title pr", true),
        ("nickName pr", false),
        ("name pr", true),
        (r#"title pr and userType eq "Employee""#, true),
        (r#"nickName pr or userType eq "Intern""#, false),
        ("active eq true", true),
        ("active eq false", false),
        ("active ne false", true),
        ("active gt false", false),
        (r#"meta.lastModified gt "2011-05-13T04:42:33Z""#, true),
        (r#"meta.lastModified ge "2011-05-13T04:42:34Z""#, true),
        (r#"meta.lastModified lt "2011-05-13T04:42:34Z""#, false),
        (r#"meta.lastModified le "2011-05-13T04:42:34Z""#, true),
        // A complex multi-valued attribute compares its "value".
        (r#"emails co "jensen.org""#, true),
        (r#"emails.value co "example.org""#, false),
        (r#"emails.type eq "home""#, true),
        (
            r#"emails[type eq "work" and value co "@example.com"]"#,
            true,
        ),
        (
            r#"emails[type eq "home" and value co "@example.com"]"#,
            false,
        ),
        (
            r#"emails[type eq "work" or (type eq "home" and value ew "jensen.org")]"#,
            true,
        ),
        (r#"emails[not (type eq "work")]"#, true),
        (r#"emails[primary eq true] and ims[type eq "aim"]"#, true),
        (r#"ims[type eq "xmpp" and value co "@foo.com"]"#, false),
        (r#"phoneNumbers[type eq "work"]"#, false),
        (
            r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
            false,
        ),
        (r#"not (emails co "example.net")"#, true),
        (
            r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
            true,
        ),
        (
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#,
            true,
        ),
        (
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d""#,
            true,
        ),
        // manager.value is caseExact.
        (
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090-4610-87E4-49D8CA9F808D""#,
            false,
        ),
        (
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber pr"#,
            true,
        ),
        (
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter pr"#,
            false,
        ),
        ("x-count gt 6", true),
        ("x-count le 6.5", false),
        ("x-count eq 7", true),
        ("x-count co 7", false),
        (r#"x-count eq "7""#, false),
        // Absent attributes: ne and eq null hold, others do not.
        (r#"nickName ne "x""#, true),
        ("nickName eq null", true),
        ("title eq null", false),
        ("title ne null", true),
        (r#"nickName eq "x""#, false),
        (r#"nickName gt "a""#, false),
    ];
    for (filter, expected) in cases {
        let parsed = parse(filter).unwrap();
        assert_eq!(matches(&parsed, &user), expected, "{filter}");
    }
}

#[test]
fn evaluation_on_a_group() {
    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "e9e30dba",
        "displayName": "Tour Guides",
        "members": [
            { "value": "2819c223-7f76-453a-919d-413861904646", "display": "Babs Jensen", "type": "User" }
        ]
    });
    let cases = [
        (r#"displayName eq "tour guides""#, true),
        (
            r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#,
            true,
        ),
        // members.value is caseExact.
        (
            r#"members[value eq "2819C223-7F76-453A-919D-413861904646"]"#,
            false,
        ),
        (r#"members.display sw "babs""#, true),
        (r#"members[type eq "group"]"#, false),
    ];
    for (filter, expected) in cases {
        assert_eq!(
            matches(&parse(filter).unwrap(), &group),
            expected,
            "{filter}"
        );
    }
}

fn attr_name() -> impl Strategy<Value = String> {
    "[a-zA-Z$][a-zA-Z0-9_-]{0,6}"
        .prop_filter("$ starts $ref only", |s| !s.starts_with('$') || s.len() > 1)
}

fn attr_path(qualified: bool) -> BoxedStrategy<AttrPath> {
    if !qualified {
        return attr_name().prop_map(AttrPath::new).boxed();
    }
    (
        prop::option::of(prop::sample::select(vec![
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            "urn:x",
        ])),
        attr_name(),
        prop::option::of(attr_name()),
    )
        .prop_map(|(schema, name, sub_attr)| AttrPath {
            schema: schema.map(str::to_owned),
            name,
            sub_attr,
        })
        .boxed()
}

fn comp_value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        Just(CompValue::Null),
        any::<bool>().prop_map(CompValue::Bool),
        any::<i64>().prop_map(|n| CompValue::Number(n.into())),
        any::<u64>().prop_map(|n| CompValue::Number(n.into())),
        any::<f64>()
            .prop_filter_map("finite", serde_json::Number::from_f64)
            .prop_map(CompValue::Number),
        ".{0,12}".prop_map(CompValue::String),
    ]
}

fn leaf(qualified: bool) -> BoxedStrategy<Filter> {
    prop_oneof![
        attr_path(qualified).prop_map(Filter::Present),
        (
            attr_path(qualified),
            prop::sample::select(CompareOp::ALL.to_vec()),
            comp_value()
        )
            .prop_map(|(p, op, v)| Filter::Compare(p, op, v)),
    ]
    .boxed()
}

fn tree(leaves: BoxedStrategy<Filter>) -> BoxedStrategy<Filter> {
    leaves
        .prop_recursive(4, 24, 2, |inner| {
            prop_oneof![
                inner.clone().prop_map(|f| Filter::Not(Box::new(f))),
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
                (inner.clone(), inner).prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
            ]
        })
        .boxed()
}

fn filter_ast() -> BoxedStrategy<Filter> {
    let value_path = (attr_name(), tree(leaf(false)))
        .prop_map(|(name, inner)| Filter::ValuePath(AttrPath::new(name), Box::new(inner)));
    tree(prop_oneof![3 => leaf(true), 1 => value_path].boxed())
}

proptest! {
    /// Any AST renders to text that parses back to the same AST.
    #[test]
    fn display_round_trips(filter in filter_ast()) {
        let text = filter.to_string();
        prop_assert_eq!(parse(&text), Ok(filter), "{}", text);
    }

    /// Arbitrary text never panics, and what parses renders canonically.
    #[test]
    fn arbitrary_strings_never_panic(input in ".{0,200}") {
        if let Ok(filter) = parse(&input) {
            prop_assert_eq!(parse(&filter.to_string()), Ok(filter));
        }
    }

    /// Text built from the grammar's own tokens reaches deeper into the parser.
    #[test]
    fn token_soup_never_panics(tokens in prop::collection::vec(prop::sample::select(vec![
        "a", "emails", "name.givenName", "urn:x:y", " ", "  ", "(", ")", "[", "]", "not", "and",
        "or", "pr", "eq", "co", "gt", "\"x\"", "\"\\u00e9\"", "\"", "\\", "1", "-2.5e3", "true",
        "null", ".", ":", "$ref",
    ]), 0..40)) {
        let input = tokens.concat();
        if let Ok(filter) = parse(&input) {
            prop_assert_eq!(parse(&filter.to_string()), Ok(filter));
        }
    }

    /// Fuzz-style: random bytes (lossily decoded) never panic.
    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let input = String::from_utf8_lossy(&bytes);
        let _ = parse(&input);
        let _ = crate::path::PatchPath::parse(&input);
        let _ = AttrPath::parse(&input);
    }

    /// Evaluation never panics on any filter and a fixed resource.
    #[test]
    fn evaluation_never_panics(filter in filter_ast()) {
        let _ = matches(&filter, &bjensen());
    }
}

#[test]
fn date_times_compare_as_instants() {
    use super::instant;
    assert_eq!(instant("1970-01-01T00:00:00Z"), Some((0, 0)));
    assert_eq!(instant("2011-05-13T04:42:34Z"), Some((1_305_261_754, 0)));
    assert_eq!(
        instant("2011-05-13T06:42:34.5+02:00"),
        Some((1_305_261_754, 500_000_000))
    );
    assert_eq!(
        instant("2000-02-29T23:59:59.123456789123-00:30"),
        Some((951_868_799 + 1800, 123_456_789))
    );
    for bad in [
        "",
        "2011-05-13",
        "2011-05-13T04:42Z",
        "2011-13-13T04:42:34Z",
        "2011-05-13T04:42:34",
        "2011-05-13T04:42:34.Z",
        "2011-05-13T04:42:34+0200",
        "٢٠١١-05-13T04:42:34Z",
    ] {
        assert_eq!(instant(bad), None, "{bad}");
    }
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "meta": { "lastModified": "2011-05-13T04:42:34.250Z" },
        "title": "2011-05-13T04:42:34.250Z"
    });
    let cases = [
        // As strings ".250Z" sorts before "Z"; as instants it is later.
        (r#"meta.lastModified gt "2011-05-13T04:42:34Z""#, true),
        (
            r#"meta.lastModified eq "2011-05-13T06:42:34.25+02:00""#,
            true,
        ),
        (r#"meta.lastModified lt "2011-05-13T04:42:35Z""#, true),
        (r#"meta.lastModified sw "2011-05-13""#, true),
        (r#"meta.lastModified gt "not a date""#, false),
        // A string attribute stays a string.
        (r#"title gt "2011-05-13T04:42:34Z""#, false),
    ];
    for (filter, expected) in cases {
        assert_eq!(
            matches(&parse(filter).unwrap(), &user),
            expected,
            "{filter}"
        );
    }
}
