//! Listing and searching (RFC 7644 §3.4.2, §3.4.3): the query parameters
//! `filter`, `sortBy`, `sortOrder`, `startIndex`, `count`, `attributes` and
//! `excludedAttributes`, read from a query string or a `/.search` body
//! (`SearchRequest`); the `ListResponse` message (§3.4.2); and the
//! `attributes`/`excludedAttributes` projection of a resource (§3.4.2.5,
//! §3.9, with RFC 7643 §7 `returned`).

use serde_json::{Map, Value, json};

use crate::error::ScimError;
use crate::filter::{self, AttrPath, Filter};
use crate::patch::{member, require_schema};
use crate::schema::{self, AttributeDef, Container, ResourceKind, Returned};

pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const SEARCH_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// Page sizes: what `count` is when absent, and its ceiling (the
/// `filter.maxResults` advertised in `/ServiceProviderConfig`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListLimits {
    pub default_count: usize,
    pub max_count: usize,
}

impl Default for ListLimits {
    fn default() -> Self {
        Self {
            default_count: 100,
            max_count: 200,
        }
    }
}

/// `sortOrder` (§3.4.2.3); ascending when absent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortOrder {
    #[default]
    Ascending,
    Descending,
}

/// A list or search request, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct ListQuery {
    pub filter: Option<Filter>,
    pub sort_by: Option<AttrPath>,
    pub sort_order: SortOrder,
    /// 1-based (§3.4.2.4); values below 1 were raised to 1.
    pub start_index: u64,
    /// At most `max_count`; negative values were raised to 0 (§3.4.2.4).
    pub count: usize,
    pub attributes: Vec<AttrPath>,
    pub excluded_attributes: Vec<AttrPath>,
}

/// The parameters as received, before validation.
#[derive(Debug, Default)]
struct Raw {
    filter: Option<String>,
    sort_by: Option<String>,
    sort_order: Option<String>,
    start_index: Option<String>,
    count: Option<String>,
    attributes: Option<Vec<String>>,
    excluded_attributes: Option<Vec<String>>,
}

fn comma_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// An integer parameter, saturating far outside `i64`.
fn parse_int(name: &str, value: &str) -> Result<i128, ScimError> {
    let value = value.trim();
    let (negative, digits) = match value.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, value.strip_prefix('+').unwrap_or(value)),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ScimError::invalid_value(format!(
            "\"{name}\" must be an integer"
        )));
    }
    let magnitude = if digits.len() > 30 {
        i128::MAX
    } else {
        digits.parse::<i128>().unwrap_or(i128::MAX)
    };
    Ok(if negative { -magnitude } else { magnitude })
}

impl ListQuery {
    /// From query-string pairs (already percent-decoded). Names match in any
    /// case; unknown names are ignored; a repeated parameter is `invalidValue`.
    pub fn from_query<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
        limits: &ListLimits,
    ) -> Result<Self, ScimError> {
        let mut raw = Raw::default();
        for (name, value) in pairs {
            let slot = match name.to_ascii_lowercase().as_str() {
                "filter" => Slot::One(&mut raw.filter),
                "sortby" => Slot::One(&mut raw.sort_by),
                "sortorder" => Slot::One(&mut raw.sort_order),
                "startindex" => Slot::One(&mut raw.start_index),
                "count" => Slot::One(&mut raw.count),
                "attributes" => Slot::List(&mut raw.attributes),
                "excludedattributes" => Slot::List(&mut raw.excluded_attributes),
                _ => continue,
            };
            let repeated = match slot {
                Slot::One(slot) => slot.replace(value.to_owned()).is_some(),
                Slot::List(slot) => slot.replace(comma_list(value)).is_some(),
            };
            if repeated {
                return Err(ScimError::invalid_value(format!(
                    "the query parameter \"{name}\" is repeated"
                )));
            }
        }
        raw.validate(limits)
    }

    /// From a `POST /.search` body (§3.4.3, `SearchRequest`).
    pub fn from_search_request(body: &Value, limits: &ListLimits) -> Result<Self, ScimError> {
        let body = body
            .as_object()
            .ok_or_else(|| ScimError::invalid_syntax("the request body must be a JSON object"))?;
        require_schema(body, SEARCH_REQUEST_SCHEMA)?;
        let string = |name: &str| -> Result<Option<String>, ScimError> {
            match member(body, name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Number(n)) => Ok(Some(n.to_string())),
                Some(_) => Err(ScimError::invalid_value(format!(
                    "\"{name}\" must be a string"
                ))),
            }
        };
        let list = |name: &str| -> Result<Option<Vec<String>>, ScimError> {
            match member(body, name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(comma_list(s))),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|i| {
                        i.as_str().map(str::to_owned).ok_or_else(|| {
                            ScimError::invalid_value(format!(
                                "\"{name}\" must be an array of strings"
                            ))
                        })
                    })
                    .collect::<Result<_, _>>()
                    .map(Some),
                Some(_) => Err(ScimError::invalid_value(format!(
                    "\"{name}\" must be an array of strings"
                ))),
            }
        };
        Raw {
            filter: string("filter")?,
            sort_by: string("sortBy")?,
            sort_order: string("sortOrder")?,
            start_index: string("startIndex")?,
            count: string("count")?,
            attributes: list("attributes")?,
            excluded_attributes: list("excludedAttributes")?,
        }
        .validate(limits)
    }

    /// The number of resources to skip (`startIndex - 1`).
    pub fn offset(&self) -> u64 {
        self.start_index.saturating_sub(1)
    }
}

enum Slot<'r> {
    One(&'r mut Option<String>),
    List(&'r mut Option<Vec<String>>),
}

fn paths(name: &str, list: Option<Vec<String>>) -> Result<Vec<AttrPath>, ScimError> {
    list.unwrap_or_default()
        .iter()
        .map(|p| {
            AttrPath::parse(p)
                .map_err(|e| ScimError::invalid_path(format!("invalid path in \"{name}\": {e}")))
        })
        .collect()
}

impl Raw {
    fn validate(self, limits: &ListLimits) -> Result<ListQuery, ScimError> {
        let filter = match self.filter.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(filter::parse(text)?),
        };
        let sort_by = match self.sort_by.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(path) => Some(
                AttrPath::parse(path)
                    .map_err(|e| ScimError::invalid_path(format!("invalid \"sortBy\": {e}")))?,
            ),
        };
        let sort_order = match self.sort_order.as_deref().map(str::trim) {
            None | Some("") => SortOrder::Ascending,
            Some(s) if s.eq_ignore_ascii_case("ascending") => SortOrder::Ascending,
            Some(s) if s.eq_ignore_ascii_case("descending") => SortOrder::Descending,
            Some(_) => {
                return Err(ScimError::invalid_value(
                    "\"sortOrder\" must be \"ascending\" or \"descending\"",
                ));
            }
        };
        // §3.4.2.4: "A value less than 1 SHALL be interpreted as 1."
        let start_index = match &self.start_index {
            None => 1,
            Some(s) => u64::try_from(parse_int("startIndex", s)?.max(1)).unwrap_or(u64::MAX),
        };
        // §3.4.2.4: "A negative value SHALL be interpreted as "0""; the
        // service provider returns no more than its maximum.
        let count = match &self.count {
            None => limits.default_count.min(limits.max_count),
            Some(s) => {
                let requested = parse_int("count", s)?.max(0);
                usize::try_from(requested).map_or(limits.max_count, |c| c.min(limits.max_count))
            }
        };
        Ok(ListQuery {
            filter,
            sort_by,
            sort_order,
            start_index,
            count,
            attributes: paths("attributes", self.attributes)?,
            excluded_attributes: paths("excludedAttributes", self.excluded_attributes)?,
        })
    }
}

/// A `ListResponse` (§3.4.2): one page of resources.
#[derive(Clone, Debug, PartialEq)]
pub struct ListResponse {
    pub total_results: u64,
    pub start_index: u64,
    pub resources: Vec<Value>,
}

impl ListResponse {
    pub fn to_json(&self) -> Value {
        json!({
            "schemas": [LIST_RESPONSE_SCHEMA],
            "totalResults": self.total_results,
            "startIndex": self.start_index,
            "itemsPerPage": self.resources.len(),
            "Resources": self.resources,
        })
    }
}

/// Attributes returned whatever `attributes`/`excludedAttributes` say:
/// `schemas`, `meta` and those whose `returned` is `always` (`id`).
fn always_returned(kind: ResourceKind, key: &str) -> bool {
    key.eq_ignore_ascii_case("schemas")
        || key.eq_ignore_ascii_case("meta")
        || kind
            .core()
            .attributes
            .iter()
            .chain(schema::COMMON_ATTRIBUTES)
            .any(|d| d.returned == Returned::Always && d.name.eq_ignore_ascii_case(key))
}

/// RFC 7643 §7: `returned: never` attributes (`password`) never leave.
fn never_returned(kind: ResourceKind, key: &str) -> bool {
    kind.core()
        .attributes
        .iter()
        .any(|d| d.returned == Returned::Never && d.name.eq_ignore_ascii_case(key))
}

/// The resource as a list or get answers it (§3.4.2.5, §3.9): with
/// `attributes`, only those (and the always-returned ones); otherwise all
/// but `excludedAttributes`; never a `returned: never` attribute.
pub fn project(resource: &Value, attributes: &[AttrPath], excluded: &[AttrPath]) -> Value {
    let kind = ResourceKind::of(resource);
    let Some(source) = resource.as_object() else {
        return resource.clone();
    };
    let mut out = Map::new();
    if attributes.is_empty() {
        out = source.clone();
        for path in excluded {
            remove_path(kind, &mut out, path);
        }
    } else {
        for (key, value) in source {
            if always_returned(kind, key) {
                out.insert(key.clone(), value.clone());
            }
        }
        for path in attributes {
            copy_path(kind, source, &mut out, path);
        }
    }
    out.retain(|key, _| !never_returned(kind, key));
    Value::Object(out)
}

/// `urn:...:enterprise:2.0:User` parses as schema `urn:...:2.0`, name
/// `User`: the key of a whole extension object, if the resource has one.
fn whole_extension(source: &Map<String, Value>, path: &AttrPath) -> Option<String> {
    let schema = path.schema.as_ref()?;
    if path.sub_attr.is_some() {
        return None;
    }
    let joined = format!("{schema}:{}", path.name);
    source
        .keys()
        .find(|k| k.eq_ignore_ascii_case(&joined))
        .cloned()
}

fn key_of(map: &Map<String, Value>, name: &str) -> Option<String> {
    map.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

fn copy_path(
    kind: ResourceKind,
    source: &Map<String, Value>,
    out: &mut Map<String, Value>,
    path: &AttrPath,
) {
    if let Some(key) = whole_extension(source, path) {
        if let Some(value) = source.get(&key) {
            out.insert(key, value.clone());
        }
        return;
    }
    let (src, dst) = match schema::resolve(kind, path).container {
        Container::Core => (source, out),
        Container::Extension(uri) => {
            let Some(key) = key_of(source, uri) else {
                return;
            };
            let Some(Value::Object(src)) = source.get(&key) else {
                return;
            };
            let dst = out.entry(key).or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(dst) = dst else { return };
            (src, dst)
        }
    };
    let Some(key) = key_of(src, &path.name) else {
        return;
    };
    let Some(value) = src.get(&key) else { return };
    let Some(sub) = &path.sub_attr else {
        dst.insert(key, value.clone());
        return;
    };
    let pick = |object: &Value| -> Option<(String, Value)> {
        let object = object.as_object()?;
        let sub_key = key_of(object, sub)?;
        Some((sub_key.clone(), object.get(&sub_key)?.clone()))
    };
    match value {
        Value::Object(_) => {
            if let Some((sub_key, sub_value)) = pick(value) {
                let slot = dst.entry(key).or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(slot) = slot {
                    slot.insert(sub_key, sub_value);
                }
            }
        }
        Value::Array(items) => {
            let slot = dst
                .entry(key)
                .or_insert_with(|| Value::Array(vec![Value::Object(Map::new()); items.len()]));
            if let Value::Array(slots) = slot {
                for (item, slot) in items.iter().zip(slots.iter_mut()) {
                    if let (Some((sub_key, sub_value)), Value::Object(slot)) = (pick(item), slot) {
                        slot.insert(sub_key, sub_value);
                    }
                }
            }
        }
        _ => {}
    }
}

fn remove_path(kind: ResourceKind, out: &mut Map<String, Value>, path: &AttrPath) {
    if let Some(key) = whole_extension(out, path) {
        out.remove(&key);
        return;
    }
    let resolved = schema::resolve(kind, path);
    let dst = match resolved.container {
        Container::Core => {
            if path.sub_attr.is_none() && always_returned(kind, &path.name) {
                return;
            }
            Some(out)
        }
        Container::Extension(uri) => key_of(out, uri)
            .and_then(move |key| out.get_mut(&key))
            .and_then(Value::as_object_mut),
    };
    let Some(dst) = dst else { return };
    let Some(key) = key_of(dst, &path.name) else {
        return;
    };
    let Some(sub) = &path.sub_attr else {
        dst.remove(&key);
        return;
    };
    if resolved
        .sub_attribute
        .is_some_and(|d: &AttributeDef| d.returned == Returned::Always)
    {
        return;
    }
    let strip = |object: &mut Map<String, Value>| {
        if let Some(sub_key) = key_of(object, sub) {
            object.remove(&sub_key);
        }
    };
    match dst.get_mut(&key) {
        Some(Value::Object(object)) => strip(object),
        Some(Value::Array(items)) => items
            .iter_mut()
            .filter_map(Value::as_object_mut)
            .for_each(strip),
        _ => {}
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
