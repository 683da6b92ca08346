//! Evaluating a filter on a SCIM resource held as JSON (RFC 7644 §3.4.2.2).
//!
//! - Attribute names match case-insensitively (RFC 7643 §2.1).
//! - Strings compare case-insensitively unless the attribute is `caseExact`
//!   in the schema tables (`id`, `externalId`, `members.value`, ...;
//!   §3.4.2.2: "the case sensitivity for String type attributes SHALL be
//!   determined by the attribute's caseExact characteristic").
//! - A multi-valued attribute matches if any of its values matches; a complex
//!   value named without a sub-attribute compares its `value` sub-attribute
//!   (`emails co "example.com"`).
//! - `ne` is the negation of `eq`, so an absent attribute is "not equal";
//!   `eq null` holds when the attribute is absent, `ne null` when present.
//! - `gt`/`ge`/`lt`/`le` order strings and numbers; `dateTime` attributes
//!   (`meta.lastModified`) compare as instants when both sides are RFC 3339,
//!   so offsets and fractions of a second do not mislead a string order. On
//!   booleans and across types they never match; `co`/`sw`/`ew` apply to
//!   strings only.
//!
//! The SQL translation in the store must give the same answers; this is the
//! reference it is tested against.

use serde_json::Value;

use super::{AttrPath, CompValue, CompareOp, Filter};
use crate::schema::{self, AttrType, AttributeDef, Container, ResourceKind};

/// True when `resource` (a User or Group, told apart by `schemas`) matches.
pub fn matches(filter: &Filter, resource: &Value) -> bool {
    let kind = ResourceKind::of(resource);
    eval(filter, resource, &Scope::Resource(kind))
}

/// True when one value of a multi-valued complex attribute (defined by
/// `parent`, when known) matches a value filter (`emails[type eq "work"]`).
pub(crate) fn matches_element(
    filter: &Filter,
    element: &Value,
    parent: Option<&'static AttributeDef>,
) -> bool {
    eval(filter, element, &Scope::Element(parent))
}

/// What the names of a path are relative to.
enum Scope {
    Resource(ResourceKind),
    /// Inside `attr[...]`: one value of a multi-valued complex attribute.
    Element(Option<&'static AttributeDef>),
}

/// A value found at a path, and whether strings compare case-exactly.
struct Leaf<'v> {
    value: &'v Value,
    case_exact: bool,
    date_time: bool,
}

/// Looks `name` up in a JSON object, ignoring case.
fn get_ci<'v>(object: &'v Value, name: &str) -> Option<&'v Value> {
    object
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// Every value at `path`, arrays flattened. For a comparison (`compare`),
/// a complex value named without a sub-attribute stands for its `value`;
/// for `pr` it stands for itself.
fn leaves<'v>(path: &AttrPath, object: &'v Value, scope: &Scope, compare: bool) -> Vec<Leaf<'v>> {
    let (container, def): (Option<&'v Value>, Option<&'static AttributeDef>) = match scope {
        Scope::Resource(kind) => {
            let resolved = schema::resolve(*kind, path);
            let container = match resolved.container {
                Container::Core => Some(object),
                Container::Extension(uri) => get_ci(object, uri),
            };
            (container, resolved.attribute)
        }
        Scope::Element(parent) => (Some(object), parent.and_then(|p| p.sub(&path.name))),
    };
    let Some(value) = container.and_then(|c| get_ci(c, &path.name)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    for item in items {
        let (name, sub_def) = match (&path.sub_attr, def) {
            (Some(sub), def) => (Some(sub.as_str()), def.and_then(|d| d.sub(sub))),
            (None, Some(d)) if compare && item.is_object() => (Some("value"), d.sub("value")),
            (None, None) if compare && item.is_object() => (Some("value"), None),
            (None, def) => (None, def),
        };
        let leaf_def = sub_def.or(def);
        let case_exact = leaf_def.is_some_and(|d| d.case_exact);
        let date_time = leaf_def.is_some_and(|d| d.ty == AttrType::DateTime);
        let target = match name {
            Some(name) => get_ci(item, name),
            None => Some(item),
        };
        match target {
            Some(Value::Array(values)) => out.extend(values.iter().map(|value| Leaf {
                value,
                case_exact,
                date_time,
            })),
            Some(value) => out.push(Leaf {
                value,
                case_exact,
                date_time,
            }),
            None => {}
        }
    }
    out
}

/// RFC 7644 §3.4.2.2 `pr`: a non-empty value (not null, "", [] or {}).
fn is_present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => a.iter().any(is_present),
        Value::Object(o) => o.values().any(is_present),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

fn eval(filter: &Filter, object: &Value, scope: &Scope) -> bool {
    match filter {
        Filter::Present(path) => leaves(path, object, scope, false)
            .iter()
            .any(|l| is_present(l.value)),
        Filter::Compare(path, CompareOp::Ne, value) => {
            !eval_compare(path, CompareOp::Eq, value, object, scope)
        }
        Filter::Compare(path, op, value) => eval_compare(path, *op, value, object, scope),
        Filter::ValuePath(path, inner) => {
            let def = match scope {
                Scope::Resource(kind) => schema::resolve(*kind, path).attribute,
                Scope::Element(_) => None,
            };
            let inner_scope = Scope::Element(def);
            let container = match scope {
                Scope::Resource(kind) => match schema::resolve(*kind, path).container {
                    Container::Core => Some(object),
                    Container::Extension(uri) => get_ci(object, uri),
                },
                Scope::Element(_) => Some(object),
            };
            match container.and_then(|c| get_ci(c, &path.name)) {
                Some(Value::Array(items)) => items.iter().any(|i| eval(inner, i, &inner_scope)),
                Some(item @ Value::Object(_)) => eval(inner, item, &inner_scope),
                _ => false,
            }
        }
        Filter::Not(inner) => !eval(inner, object, scope),
        Filter::And(left, right) => eval(left, object, scope) && eval(right, object, scope),
        Filter::Or(left, right) => eval(left, object, scope) || eval(right, object, scope),
    }
}

fn eval_compare(
    path: &AttrPath,
    op: CompareOp,
    value: &CompValue,
    object: &Value,
    scope: &Scope,
) -> bool {
    let found = leaves(path, object, scope, true);
    if let CompValue::Null = value {
        // `eq null`: absent; anything else against null never matches.
        return op == CompareOp::Eq && !found.iter().any(|l| is_present(l.value));
    }
    found.iter().any(|leaf| compare(leaf, op, value))
}

/// Lower-cases when the comparison is case-insensitive.
fn fold(s: &str, case_exact: bool) -> String {
    if case_exact {
        s.to_owned()
    } else {
        s.to_lowercase()
    }
}

pub(crate) fn compare_strings(
    actual: &str,
    op: CompareOp,
    expected: &str,
    case_exact: bool,
) -> bool {
    let (a, e) = (fold(actual, case_exact), fold(expected, case_exact));
    match op {
        CompareOp::Eq => a == e,
        CompareOp::Ne => a != e,
        CompareOp::Co => a.contains(&e),
        CompareOp::Sw => a.starts_with(&e),
        CompareOp::Ew => a.ends_with(&e),
        CompareOp::Gt => a > e,
        CompareOp::Ge => a >= e,
        CompareOp::Lt => a < e,
        CompareOp::Le => a <= e,
    }
}

fn compare(leaf: &Leaf<'_>, op: CompareOp, expected: &CompValue) -> bool {
    match (leaf.value, expected) {
        (Value::String(a), CompValue::String(e)) => {
            // dateTime (RFC 7643 §2.3.5) orders and equals as instants when
            // both sides are RFC 3339 (offsets and fractions may differ).
            let instants = match (leaf.date_time, op) {
                (true, CompareOp::Co | CompareOp::Sw | CompareOp::Ew) | (false, _) => None,
                (true, _) => instant(a).zip(instant(e)),
            };
            match instants {
                Some((a, e)) => match op {
                    CompareOp::Eq => a == e,
                    CompareOp::Ne => a != e,
                    CompareOp::Gt => a > e,
                    CompareOp::Ge => a >= e,
                    CompareOp::Lt => a < e,
                    CompareOp::Le => a <= e,
                    CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
                },
                None => compare_strings(a, op, e, leaf.case_exact),
            }
        }
        (Value::Number(a), CompValue::Number(e)) => {
            let (Some(a), Some(e)) = (a.as_f64(), e.as_f64()) else {
                return false;
            };
            match op {
                CompareOp::Eq => a == e,
                CompareOp::Ne => a != e,
                CompareOp::Gt => a > e,
                CompareOp::Ge => a >= e,
                CompareOp::Lt => a < e,
                CompareOp::Le => a <= e,
                CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
            }
        }
        (Value::Bool(a), CompValue::Bool(e)) => match op {
            CompareOp::Eq => a == e,
            CompareOp::Ne => a != e,
            CompareOp::Co
            | CompareOp::Sw
            | CompareOp::Ew
            | CompareOp::Gt
            | CompareOp::Ge
            | CompareOp::Lt
            | CompareOp::Le => false,
        },
        _ => false,
    }
}

/// An RFC 3339 date-time (`2011-05-13T04:42:34Z`, `...34.5+02:00`) as
/// (seconds since the epoch, nanoseconds); `None` when it is not one.
pub fn instant(text: &str) -> Option<(i64, u32)> {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(range)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    let sep = |i: usize, c: &[u8]| b.get(i).is_some_and(|x| c.contains(x));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    let mut nanos: u32 = 0;
    if sep(i, b".") {
        let start = i + 1;
        let mut end = start;
        while b.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
        if end == start {
            return None;
        }
        let fraction = std::str::from_utf8(b.get(start..end.min(start + 9))?).ok()?;
        nanos = format!("{fraction:0<9}").parse().ok()?;
        i = end;
    }
    let offset = match b.get(i..)? {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), rest @ ..] if rest.len() == 5 && rest.get(2) == Some(&b':') => {
            let minutes = digits(i + 1..i + 3)? * 60 + digits(i + 4..i + 6)?;
            if *sign == b'+' { minutes } else { -minutes }
        }
        _ => return None,
    };
    // Days from the civil date (H. Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset * 60;
    Some((seconds, nanos))
}

/// Unix milliseconds as an RFC 3339 UTC date-time with milliseconds
/// (`2024-05-01T12:00:00.000Z`), the form `meta.created` and
/// `meta.lastModified` are written in; [`instant`] reads it back.
pub fn format_instant(millis: i64) -> String {
    let secs = millis.div_euclid(1000);
    let ms = millis.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    // Days to the civil date (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        of_day / 3600,
        (of_day % 3600) / 60,
        of_day % 60
    )
}

#[cfg(test)]
mod instant_tests {
    use super::*;

    #[test]
    fn format_instant_reads_back_as_the_same_instant() {
        for millis in [0_i64, 1_714_564_800_123, 951_782_400_000, -86_400_000] {
            let text = format_instant(millis);
            assert_eq!(
                instant(&text),
                Some((
                    millis.div_euclid(1000),
                    (millis.rem_euclid(1000) * 1_000_000) as u32
                )),
                "{text}"
            );
        }
        assert_eq!(
            format_instant(1_714_564_800_123),
            "2024-05-01T12:00:00.123Z"
        );
    }
}
