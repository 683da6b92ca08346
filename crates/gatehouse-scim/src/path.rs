//! PATCH paths (RFC 7644 §3.5.2): `PATH = attrPath / valuePath [subAttr]`,
//! e.g. `name.familyName`, `members[value eq "2819c223"]`,
//! `emails[type eq "work"].value` or a URN-qualified
//! `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager`.
//!
//! Parsed with the filter parser's own attribute-path and value-filter
//! rules, so the two never disagree; errors are `invalidPath` (§3.5.2).

use std::fmt;

use crate::error::ScimError;
use crate::filter::{
    AttrPath, Cursor, Filter, FilterError, FilterErrorKind, MAX_FILTER_LEN, Scope,
};

/// A parsed PATCH path.
#[derive(Clone, Debug, PartialEq)]
pub struct PatchPath {
    /// The attribute; with a `filter` it names the multi-valued attribute
    /// and has no sub-attribute of its own.
    pub attr: AttrPath,
    /// The value selection filter of a `valuePath`.
    pub filter: Option<Filter>,
    /// The sub-attribute after a value path (`emails[...].value`).
    pub sub_attr: Option<String>,
}

impl PatchPath {
    /// A plain attribute path.
    pub fn attribute(attr: AttrPath) -> Self {
        Self {
            attr,
            filter: None,
            sub_attr: None,
        }
    }

    pub fn parse(input: &str) -> Result<Self, FilterError> {
        if input.len() > MAX_FILTER_LEN {
            return Err(FilterError {
                position: 0,
                kind: FilterErrorKind::TooLong,
            });
        }
        let mut cursor = Cursor::new(input);
        cursor.skip_spaces();
        let attr = cursor.attr_path(Scope::Top)?;
        if cursor.peek() != Some('[') {
            cursor.end()?;
            return Ok(Self::attribute(attr));
        }
        if attr.sub_attr.is_some() {
            return Err(FilterError {
                position: cursor.position(),
                kind: FilterErrorKind::Unexpected,
            });
        }
        let filter = cursor.value_filter()?;
        let sub_attr = if cursor.eat('.') {
            let at = cursor.position();
            let sub = cursor.attr_path(Scope::ValueFilter)?;
            if sub.schema.is_some() || sub.sub_attr.is_some() {
                return Err(FilterError {
                    position: at,
                    kind: FilterErrorKind::InvalidAttrName,
                });
            }
            Some(sub.name)
        } else {
            None
        };
        cursor.end()?;
        Ok(Self {
            attr,
            filter: Some(filter),
            sub_attr,
        })
    }

    /// Parses, answering `invalidPath` (RFC 7644 §3.5.2).
    pub fn parse_scim(input: &str) -> Result<Self, ScimError> {
        Self::parse(input).map_err(|e| ScimError::invalid_path(format!("invalid path: {e}")))
    }
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.attr)?;
        if let Some(filter) = &self.filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::filter::{CompValue, CompareOp};

    fn check(input: &str, expected: Result<PatchPath, FilterErrorKind>) {
        let parsed = PatchPath::parse(input);
        assert_eq!(parsed.clone().map_err(|e| e.kind), expected, "{input:?}");
        if let Ok(path) = parsed {
            assert_eq!(PatchPath::parse(&path.to_string()), Ok(path), "{input:?}");
        }
    }

    fn eq(name: &str, value: &str) -> Filter {
        Filter::Compare(
            AttrPath::new(name),
            CompareOp::Eq,
            CompValue::String(value.into()),
        )
    }

    #[test]
    fn paths_of_rfc_7644_section_3_5_2() {
        check(
            "members",
            Ok(PatchPath::attribute(AttrPath::new("members"))),
        );
        check(
            "name.familyName",
            Ok(PatchPath::attribute(AttrPath {
                schema: None,
                name: "name".into(),
                sub_attr: Some("familyName".into()),
            })),
        );
        check(
            r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#,
            Ok(PatchPath {
                attr: AttrPath::new("members"),
                filter: Some(eq("value", "2819c223-7f76-453a-919d-413861904646")),
                sub_attr: None,
            }),
        );
        check(
            r#"emails[type eq "work"].value"#,
            Ok(PatchPath {
                attr: AttrPath::new("emails"),
                filter: Some(eq("type", "work")),
                sub_attr: Some("value".into()),
            }),
        );
        check(
            r#"addresses[type eq "work" and primary eq true].streetAddress"#,
            Ok(PatchPath {
                attr: AttrPath::new("addresses"),
                filter: Some(Filter::And(
                    Box::new(eq("type", "work")),
                    Box::new(Filter::Compare(
                        AttrPath::new("primary"),
                        CompareOp::Eq,
                        CompValue::Bool(true),
                    )),
                )),
                sub_attr: Some("streetAddress".into()),
            }),
        );
        check(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            Ok(PatchPath::attribute(AttrPath {
                schema: Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".into()),
                name: "manager".into(),
                sub_attr: None,
            })),
        );
        check(
            "urn:ietf:params:scim:schemas:core:2.0:User:name.givenName",
            Ok(PatchPath::attribute(AttrPath {
                schema: Some("urn:ietf:params:scim:schemas:core:2.0:User".into()),
                name: "name".into(),
                sub_attr: Some("givenName".into()),
            })),
        );
    }

    #[test]
    fn malformed_paths_are_rejected() {
        check("", Err(FilterErrorKind::ExpectedAttrPath));
        check("emails[", Err(FilterErrorKind::ExpectedAttrPath));
        check(
            r#"emails[type eq "work""#,
            Err(FilterErrorKind::ExpectedCloseBracket),
        );
        check(
            r#"emails[type eq "work"]value"#,
            Err(FilterErrorKind::Unexpected),
        );
        check(
            r#"emails[type eq "work"].value.x"#,
            Err(FilterErrorKind::QualifiedInValueFilter),
        );
        check(
            r#"name.x[type eq "work"]"#,
            Err(FilterErrorKind::Unexpected),
        );
        check("1abc", Err(FilterErrorKind::InvalidAttrName));
        check("a.b.c", Err(FilterErrorKind::InvalidAttrName));
        check("userName eq", Err(FilterErrorKind::Unexpected));
        check(
            r#"emails[x[y eq 1]]"#,
            Err(FilterErrorKind::NestedValuePath),
        );
        assert_eq!(
            PatchPath::parse_scim("a b").map_err(|e| e.scim_type),
            Err(Some(crate::error::ScimType::InvalidPath))
        );
    }

    proptest::proptest! {
        /// What parses renders back to itself; nothing panics.
        #[test]
        fn token_soup_round_trips(tokens in proptest::collection::vec(proptest::sample::select(vec![
            "emails", "members", "name", ".", "value", "givenName", "[", "]", " ", "type", "eq",
            "\"work\"", "and", "or", "not", "(", ")", "pr", "urn:ietf:params:scim:schemas:core:2.0:User:",
            "1", "true",
        ]), 0..16)) {
            let input = tokens.concat();
            if let Ok(path) = PatchPath::parse(&input) {
                proptest::prop_assert_eq!(PatchPath::parse(&path.to_string()), Ok(path));
            }
        }
    }
}
