//! A parsed SCIM filter (RFC 7644 §3.4.2.2) resolved against the schema into
//! the store's engine-neutral [`ScimCond`], with the semantics of the
//! reference evaluator `gatehouse_scim::filter::matches` on the rendered
//! resource:
//!
//! - `ne` is `not eq`; `eq null` is "not present"; other operators with
//!   `null` never match; `pr` is "present and not empty".
//! - Strings fold to lower case unless the attribute is `caseExact`.
//! - `meta.created` and `meta.lastModified` compare as instants.
//! - A multi-valued attribute matches when one of its values does; a complex
//!   one named without a sub-attribute compares its `value`.
//! - Attributes outside the schemas are absent: they match nothing.
//!
//! Comparisons of numbers, and a few paths no client filters on
//! (`meta.location`, value paths on single complex attributes), are refused
//! with `invalidFilter` rather than answered wrongly.

use gatehouse_scim::ScimError;
use gatehouse_scim::filter::{AttrPath, CompValue, CompareOp, Filter, instant};
use gatehouse_scim::schema::{
    self, AttributeDef, Container, ENTERPRISE_USER_SCHEMA, GATEHOUSE_USER_SCHEMA, ResourceKind,
};

use crate::ids::{GroupId, UserId};
use crate::model::{ScimColumn, ScimCond, ScimDoc, ScimOp, ScimSortKey, ScimValue};

/// Where the value a path names is kept.
#[derive(Debug, Clone)]
enum Target {
    Column {
        column: ScimColumn,
        case_exact: bool,
    },
    /// `meta.created`, `meta.lastModified`.
    Instant(ScimColumn),
    Active,
    /// A single value in a document.
    Json {
        doc: ScimDoc,
        path: Vec<String>,
        case_exact: bool,
    },
    /// The array at `path`; `sub` is the key compared in each element.
    Multi {
        doc: ScimDoc,
        path: Vec<String>,
        sub: Option<String>,
        parent: &'static AttributeDef,
    },
    /// `emails`: the primary e-mail column and the stored array.
    Emails {
        sub: Option<String>,
    },
    /// Users' `groups`, groups' `members`.
    Membership,
    /// Never present in a rendered resource.
    Absent,
}

fn unsupported(path: &AttrPath) -> ScimError {
    ScimError::invalid_filter(format!("filtering on \"{path}\" is not supported"))
}

fn json(doc: ScimDoc, path: &[&str], case_exact: bool) -> Target {
    Target::Json {
        doc,
        path: path.iter().map(|s| (*s).to_owned()).collect(),
        case_exact,
    }
}

/// Resolves a path of a User or Group; `custom` lists the org's custom attribute names.
fn target(kind: ResourceKind, path: &AttrPath, custom: &[String]) -> Result<Target, ScimError> {
    let resolved = schema::resolve(kind, path);
    if let Container::Extension(uri) = resolved.container {
        return extension_target(kind, path, uri, resolved.attribute, custom);
    }
    let Some(def) = resolved.attribute else {
        return Ok(Target::Absent);
    };
    let sub = match (&path.sub_attr, resolved.sub_attribute) {
        (None, _) => None,
        (Some(_), Some(sub)) => Some(sub),
        (Some(_), None) => return Ok(Target::Absent),
    };
    let sub_name = sub.map(|s| s.name);
    let column = |column, case_exact| Target::Column { column, case_exact };
    Ok(match (kind, def.name, sub_name) {
        (_, "id", None) => column(ScimColumn::Id, true),
        (_, "externalId", None) => column(ScimColumn::ExternalId, true),
        (_, "meta", Some("created")) => Target::Instant(ScimColumn::Created),
        (_, "meta", Some("lastModified")) => Target::Instant(ScimColumn::LastModified),
        (_, "meta", _) => return Err(unsupported(path)),
        (ResourceKind::Group, "displayName", None) => column(ScimColumn::Name, false),
        (ResourceKind::Group, "members", None | Some("value")) => Target::Membership,
        (ResourceKind::Group, _, _) => return Err(unsupported(path)),
        (ResourceKind::User, "userName", None) => column(ScimColumn::Name, false),
        (ResourceKind::User, "active", None) => Target::Active,
        (ResourceKind::User, "password", _) => Target::Absent,
        (ResourceKind::User, "groups", None | Some("value")) => Target::Membership,
        (ResourceKind::User, "groups", _) => return Err(unsupported(path)),
        (ResourceKind::User, "emails", sub) => Target::Emails {
            sub: sub.map(str::to_owned),
        },
        (ResourceKind::User, "displayName", None) => json(ScimDoc::Claims, &["name"], false),
        (ResourceKind::User, "nickName", None) => json(ScimDoc::Claims, &["nickname"], false),
        (ResourceKind::User, "profileUrl", None) => {
            json(ScimDoc::Claims, &["profile"], def.case_exact)
        }
        (ResourceKind::User, "locale", None) => json(ScimDoc::Claims, &["locale"], false),
        (ResourceKind::User, "timezone", None) => json(ScimDoc::Claims, &["zoneinfo"], false),
        (ResourceKind::User, "name", Some("givenName")) => {
            json(ScimDoc::Claims, &["given_name"], false)
        }
        (ResourceKind::User, "name", Some("familyName")) => {
            json(ScimDoc::Claims, &["family_name"], false)
        }
        (ResourceKind::User, "name", Some("middleName")) => {
            json(ScimDoc::Claims, &["middle_name"], false)
        }
        (ResourceKind::User, name, sub) if def.multi_valued => Target::Multi {
            doc: ScimDoc::Resource,
            path: vec![name.to_owned()],
            sub: sub.map(str::to_owned),
            parent: def,
        },
        (ResourceKind::User, name, Some(sub_name)) => json(
            ScimDoc::Resource,
            &[name, sub_name],
            sub.is_some_and(|s| s.case_exact),
        ),
        // A complex attribute without sub-attribute compares its `value`.
        (ResourceKind::User, name, None) if !def.sub_attributes.is_empty() => {
            json(ScimDoc::Resource, &[name, "value"], false)
        }
        (ResourceKind::User, name, None) => json(ScimDoc::Resource, &[name], def.case_exact),
    })
}

fn extension_target(
    kind: ResourceKind,
    path: &AttrPath,
    uri: &str,
    def: Option<&'static AttributeDef>,
    custom: &[String],
) -> Result<Target, ScimError> {
    if kind == ResourceKind::User && uri.eq_ignore_ascii_case(ENTERPRISE_USER_SCHEMA) {
        let Some(def) = def else {
            return Ok(Target::Absent);
        };
        return Ok(match (&path.sub_attr, def.sub_attributes.is_empty()) {
            (None, true) => json(
                ScimDoc::Resource,
                &[ENTERPRISE_USER_SCHEMA, def.name],
                def.case_exact,
            ),
            (None, false) => json(
                ScimDoc::Resource,
                &[ENTERPRISE_USER_SCHEMA, def.name, "value"],
                true,
            ),
            (Some(sub), _) => match def.sub(sub) {
                Some(s) => json(
                    ScimDoc::Resource,
                    &[ENTERPRISE_USER_SCHEMA, def.name, s.name],
                    s.case_exact,
                ),
                None => Target::Absent,
            },
        });
    }
    if kind == ResourceKind::User && uri.eq_ignore_ascii_case(GATEHOUSE_USER_SCHEMA) {
        if path.sub_attr.is_some() {
            return Err(unsupported(path));
        }
        return Ok(
            match custom.iter().find(|c| c.eq_ignore_ascii_case(&path.name)) {
                Some(name) => json(ScimDoc::Attributes, &[name.as_str()], false),
                None => Target::Absent,
            },
        );
    }
    Ok(Target::Absent)
}

fn op(op: CompareOp) -> ScimOp {
    match op {
        CompareOp::Eq | CompareOp::Ne => ScimOp::Eq,
        CompareOp::Co => ScimOp::Co,
        CompareOp::Sw => ScimOp::Sw,
        CompareOp::Ew => ScimOp::Ew,
        CompareOp::Gt => ScimOp::Gt,
        CompareOp::Ge => ScimOp::Ge,
        CompareOp::Lt => ScimOp::Lt,
        CompareOp::Le => ScimOp::Le,
    }
}

fn fold(text: &str, case_exact: bool) -> String {
    if case_exact {
        text.to_owned()
    } else {
        text.to_lowercase()
    }
}

fn not(cond: ScimCond) -> ScimCond {
    ScimCond::Not(Box::new(cond))
}

fn or(a: ScimCond, b: ScimCond) -> ScimCond {
    ScimCond::Or(Box::new(a), Box::new(b))
}

/// Translates a whole filter on Users (`kind` User) or Groups.
pub(super) fn translate(
    kind: ResourceKind,
    filter: &Filter,
    custom: &[String],
) -> Result<ScimCond, ScimError> {
    Ok(match filter {
        Filter::Present(path) => present(kind, &target(kind, path, custom)?, path)?,
        Filter::Compare(path, CompareOp::Ne, value) => not(compare(
            kind,
            &target(kind, path, custom)?,
            path,
            CompareOp::Eq,
            value,
        )?),
        Filter::Compare(path, CompareOp::Eq, CompValue::Null) => {
            not(present(kind, &target(kind, path, custom)?, path)?)
        }
        Filter::Compare(_, _, CompValue::Null) => ScimCond::False,
        Filter::Compare(path, o, value) => {
            compare(kind, &target(kind, path, custom)?, path, *o, value)?
        }
        Filter::ValuePath(path, inner) => value_path(kind, path, inner, custom)?,
        Filter::Not(inner) => not(translate(kind, inner, custom)?),
        Filter::And(a, b) => ScimCond::And(
            Box::new(translate(kind, a, custom)?),
            Box::new(translate(kind, b, custom)?),
        ),
        Filter::Or(a, b) => or(translate(kind, a, custom)?, translate(kind, b, custom)?),
    })
}

fn present(kind: ResourceKind, target: &Target, path: &AttrPath) -> Result<ScimCond, ScimError> {
    Ok(match target {
        Target::Column {
            column: column @ (ScimColumn::ExternalId | ScimColumn::Email),
            ..
        } => ScimCond::ColumnPresent(*column),
        Target::Column { .. } | Target::Instant(_) | Target::Active => ScimCond::True,
        Target::Json { doc, path, .. } => ScimCond::JsonPresent {
            doc: *doc,
            path: path.clone(),
        },
        Target::Multi {
            doc,
            path,
            sub: None,
            ..
        } => ScimCond::JsonPresent {
            doc: *doc,
            path: path.clone(),
        },
        Target::Multi {
            doc,
            path,
            sub: Some(sub),
            ..
        } => ScimCond::Any {
            doc: *doc,
            path: path.clone(),
            cond: Box::new(ScimCond::JsonPresent {
                doc: ScimDoc::Element,
                path: vec![sub.clone()],
            }),
        },
        Target::Emails { sub: None } => or(
            ScimCond::ColumnPresent(ScimColumn::Email),
            ScimCond::JsonPresent {
                doc: ScimDoc::Resource,
                path: vec!["emails".into()],
            },
        ),
        Target::Emails { sub: Some(sub) } => {
            let any = ScimCond::Any {
                doc: ScimDoc::Resource,
                path: vec!["emails".into()],
                cond: Box::new(ScimCond::JsonPresent {
                    doc: ScimDoc::Element,
                    path: vec![sub.clone()],
                }),
            };
            if sub == "value" {
                or(ScimCond::ColumnPresent(ScimColumn::Email), any)
            } else {
                any
            }
        }
        Target::Membership => {
            let _ = kind;
            return Err(unsupported(path));
        }
        Target::Absent => ScimCond::False,
    })
}

fn compare(
    kind: ResourceKind,
    target: &Target,
    path: &AttrPath,
    o: CompareOp,
    value: &CompValue,
) -> Result<ScimCond, ScimError> {
    if let CompValue::Number(_) = value {
        return Err(ScimError::invalid_filter(
            "comparisons with numbers are not supported",
        ));
    }
    let o = op(o);
    Ok(match (target, value) {
        (Target::Column { column, case_exact }, CompValue::String(s)) => {
            ScimCond::Column(*column, o, ScimValue::Text(fold(s, *case_exact)))
        }
        (Target::Instant(column), CompValue::String(s)) => {
            let Some((secs, nanos)) = instant(s) else {
                return Err(ScimError::invalid_filter(format!(
                    "\"{path}\" compares with an RFC 3339 date-time"
                )));
            };
            if matches!(o, ScimOp::Co | ScimOp::Sw | ScimOp::Ew) {
                return Err(unsupported(path));
            }
            let millis = secs.saturating_mul(1000) + i64::from(nanos / 1_000_000);
            ScimCond::Column(*column, o, ScimValue::Millis(millis))
        }
        (Target::Active, CompValue::Bool(b)) if o == ScimOp::Eq => {
            ScimCond::Column(ScimColumn::Active, ScimOp::Eq, ScimValue::Bool(*b))
        }
        (
            Target::Json {
                doc,
                path,
                case_exact,
            },
            value,
        ) => json_compare(*doc, path.clone(), o, value, *case_exact),
        (
            Target::Multi {
                doc,
                path,
                sub,
                parent,
            },
            value,
        ) => {
            let key = sub.clone().unwrap_or_else(|| "value".to_owned());
            let case_exact = parent.sub(&key).is_some_and(|d| d.case_exact);
            ScimCond::Any {
                doc: *doc,
                path: path.clone(),
                cond: Box::new(json_compare(
                    ScimDoc::Element,
                    vec![key],
                    o,
                    value,
                    case_exact,
                )),
            }
        }
        (Target::Emails { sub }, value) => {
            let key = sub.clone().unwrap_or_else(|| "value".to_owned());
            let any = ScimCond::Any {
                doc: ScimDoc::Resource,
                path: vec!["emails".into()],
                cond: Box::new(json_compare(
                    ScimDoc::Element,
                    vec![key.clone()],
                    o,
                    value,
                    false,
                )),
            };
            match value {
                CompValue::String(s) if key == "value" => ScimCond::Email(o, s.to_lowercase()),
                _ => any,
            }
        }
        (Target::Membership, CompValue::String(s)) if o == ScimOp::Eq => match kind {
            ResourceKind::User => match s.parse::<GroupId>() {
                Ok(id) => ScimCond::MemberOf(id),
                Err(_) => ScimCond::False,
            },
            ResourceKind::Group => match s.parse::<UserId>() {
                Ok(id) => ScimCond::HasMember(id),
                Err(_) => ScimCond::False,
            },
        },
        (Target::Membership, _) => return Err(unsupported(path)),
        (Target::Absent, _) => ScimCond::False,
        // A type mismatch (a boolean against a string column, ...) never matches.
        (Target::Column { .. } | Target::Instant(_) | Target::Active, _) => ScimCond::False,
    })
}

fn json_compare(
    doc: ScimDoc,
    path: Vec<String>,
    o: ScimOp,
    value: &CompValue,
    case_exact: bool,
) -> ScimCond {
    match value {
        CompValue::String(s) => ScimCond::Json {
            doc,
            path,
            op: o,
            value: ScimValue::Text(fold(s, case_exact)),
            case_exact,
        },
        CompValue::Bool(b) if o == ScimOp::Eq => ScimCond::Json {
            doc,
            path,
            op: o,
            value: ScimValue::Bool(*b),
            case_exact,
        },
        CompValue::Bool(_) | CompValue::Null | CompValue::Number(_) => ScimCond::False,
    }
}

/// `attr[filter]` on a multi-valued complex attribute: some element matches.
fn value_path(
    kind: ResourceKind,
    path: &AttrPath,
    inner: &Filter,
    custom: &[String],
) -> Result<ScimCond, ScimError> {
    match target(kind, path, custom)? {
        Target::Multi {
            doc, path, parent, ..
        } => Ok(ScimCond::Any {
            doc,
            path,
            cond: Box::new(element(inner, parent)?),
        }),
        Target::Emails { .. } => {
            let parent = schema::resolve(kind, path)
                .attribute
                .ok_or_else(|| unsupported(path))?;
            Ok(ScimCond::Any {
                doc: ScimDoc::Resource,
                path: vec!["emails".into()],
                cond: Box::new(element(inner, parent)?),
            })
        }
        Target::Membership => match inner {
            Filter::Compare(p, CompareOp::Eq, value) if p.is("value", None) => {
                compare(kind, &Target::Membership, path, CompareOp::Eq, value)
            }
            _ => Err(unsupported(path)),
        },
        Target::Absent => Ok(ScimCond::False),
        _ => Err(unsupported(path)),
    }
}

/// A value filter over the sub-attributes of one element.
fn element(filter: &Filter, parent: &'static AttributeDef) -> Result<ScimCond, ScimError> {
    let key = |p: &AttrPath| {
        parent
            .sub(&p.name)
            .map(|d| (d.name.to_owned(), d.case_exact))
    };
    Ok(match filter {
        Filter::Present(p) => match key(p) {
            Some((k, _)) => ScimCond::JsonPresent {
                doc: ScimDoc::Element,
                path: vec![k],
            },
            None => ScimCond::False,
        },
        Filter::Compare(p, o, value) => {
            let Some((k, case_exact)) = key(p) else {
                return Ok(match (o, value) {
                    (CompareOp::Ne, _) | (CompareOp::Eq, CompValue::Null) => ScimCond::True,
                    _ => ScimCond::False,
                });
            };
            if let CompValue::Number(_) = value {
                return Err(ScimError::invalid_filter(
                    "comparisons with numbers are not supported",
                ));
            }
            let present = ScimCond::JsonPresent {
                doc: ScimDoc::Element,
                path: vec![k.clone()],
            };
            match (o, value) {
                (CompareOp::Eq, CompValue::Null) => not(present),
                (_, CompValue::Null) => ScimCond::False,
                (CompareOp::Ne, v) => not(json_compare(
                    ScimDoc::Element,
                    vec![k],
                    ScimOp::Eq,
                    v,
                    case_exact,
                )),
                (o, v) => json_compare(ScimDoc::Element, vec![k], op(*o), v, case_exact),
            }
        }
        Filter::ValuePath(p, _) => {
            return Err(ScimError::invalid_filter(format!(
                "value paths cannot nest (\"{p}\")"
            )));
        }
        Filter::Not(inner) => not(element(inner, parent)?),
        Filter::And(a, b) => {
            ScimCond::And(Box::new(element(a, parent)?), Box::new(element(b, parent)?))
        }
        Filter::Or(a, b) => or(element(a, parent)?, element(b, parent)?),
    })
}

/// The order `sortBy` asks for (RFC 7644 §3.4.2.3); attributes that cannot
/// be sorted on leave the default order (by id, i.e. creation).
pub(super) fn sort_key(
    kind: ResourceKind,
    path: &AttrPath,
    custom: &[String],
) -> Option<ScimSortKey> {
    match target(kind, path, custom).ok()? {
        Target::Column { column, .. } | Target::Instant(column) => {
            Some(ScimSortKey::Column(column))
        }
        Target::Emails { sub: None } => Some(ScimSortKey::Column(ScimColumn::Email)),
        Target::Emails { sub: Some(sub) } if sub == "value" => {
            Some(ScimSortKey::Column(ScimColumn::Email))
        }
        Target::Json { doc, path, .. } => Some(ScimSortKey::Json(doc, path)),
        _ => None,
    }
}
