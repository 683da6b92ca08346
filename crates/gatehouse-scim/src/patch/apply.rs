//! Applying PATCH operations to a SCIM resource held as JSON
//! (RFC 7644 §3.5.2.1 add, §3.5.2.2 remove, §3.5.2.3 replace).
//!
//! The operations apply in order to a copy; the resource changes only if
//! all of them succeed (§3.5.2: "the entire operation fails" otherwise).
//! Paths are checked against the schema tables: an attribute the resource's
//! schemas do not define is `invalidPath` (except in the custom-attribute
//! extension, which the core service validates against the organisation's
//! profile), a change to a `readOnly` attribute is `mutability` unless it
//! writes the value already there, and so is changing an `immutable` one
//! that has a value (RFC 7643 §7).

use serde_json::{Map, Value};

use super::target::{
    Target, check_mutation, coerce, container_mut, existing_key, extension_uri, is_unassigned,
    key_for, resolve_target,
};
use super::{PatchOp, PatchOperation};
use crate::error::ScimError;
use crate::filter::{AttrPath, CompValue, CompareOp, Filter, matches_element};
use crate::path::PatchPath;
use crate::schema::{AttrType, ResourceKind};

/// Applies `operations` to `resource` (a User or Group, told apart by its
/// `schemas`), all or nothing.
pub fn apply(resource: &mut Value, operations: &[PatchOperation]) -> Result<(), ScimError> {
    if !resource.is_object() {
        return Err(ScimError::invalid_syntax(
            "the resource is not a JSON object",
        ));
    }
    let kind = ResourceKind::of(resource);
    let mut working = resource.clone();
    for (index, operation) in operations.iter().enumerate() {
        apply_one(&mut working, kind, operation).map_err(|mut e| {
            e.detail = format!("Operations[{index}]: {}", e.detail);
            e
        })?;
    }
    *resource = working;
    Ok(())
}

fn apply_one(
    root: &mut Value,
    kind: ResourceKind,
    operation: &PatchOperation,
) -> Result<(), ScimError> {
    match (operation.op, &operation.path, &operation.value) {
        (PatchOp::Remove, None, _) => Err(ScimError::no_target("\"remove\" needs a \"path\"")),
        (PatchOp::Remove, Some(path), value) => remove(root, kind, path, value.as_ref()),
        (op, Some(path), Some(value)) => write(root, kind, op, path, value.clone()),
        // RFC 7644 §3.5.2.1 / §3.5.2.3: without a path, the value is a set of
        // attributes of the resource. Keys may be dotted ("name.givenName"),
        // URN-qualified, or an extension URN holding that extension's attributes.
        (op, None, Some(Value::Object(attributes))) => attributes
            .iter()
            .try_for_each(|(key, value)| write_member(root, kind, op, key, value)),
        (op, None, Some(_)) => Err(ScimError::invalid_value(format!(
            "\"{}\" without \"path\" needs an object \"value\"",
            op.as_str()
        ))),
        (op, _, None) => Err(ScimError::invalid_value(format!(
            "\"{}\" needs a \"value\"",
            op.as_str()
        ))),
    }
}

fn path_error(key_kind: &str) -> impl Fn(crate::filter::FilterError) -> ScimError + '_ {
    move |e| ScimError::invalid_path(format!("invalid {key_kind}: {e}"))
}

fn write_member(
    root: &mut Value,
    kind: ResourceKind,
    op: PatchOp,
    key: &str,
    value: &Value,
) -> Result<(), ScimError> {
    // The server keeps `schemas` itself: writing an extension adds its URI.
    if key.eq_ignore_ascii_case("schemas") {
        return Ok(());
    }
    if let Some(uri) = extension_uri(kind, key) {
        let Value::Object(attributes) = value else {
            return Err(ScimError::invalid_value(format!(
                "the value of \"{uri}\" must be an object"
            )));
        };
        for (name, value) in attributes {
            let local = AttrPath::parse(name).map_err(path_error("attribute name"))?;
            if local.schema.is_some() {
                return Err(ScimError::invalid_path(
                    "an extension's attributes are named without a schema URI",
                ));
            }
            let path = AttrPath {
                schema: Some(uri.to_owned()),
                ..local
            };
            write(root, kind, op, &PatchPath::attribute(path), value.clone())?;
        }
        return Ok(());
    }
    let path = AttrPath::parse(key).map_err(path_error("attribute name"))?;
    write(root, kind, op, &PatchPath::attribute(path), value.clone())
}

fn is_primary(item: &Value) -> bool {
    item.get("primary") == Some(&Value::Bool(true))
}

/// RFC 7643 §2.4: "primary" is true for at most one value; the one just
/// written wins.
fn single_primary(items: &mut [Value], keep: usize) {
    if !items.get(keep).is_some_and(is_primary) {
        return;
    }
    for (i, item) in items.iter_mut().enumerate() {
        if i != keep
            && is_primary(item)
            && let Some(object) = item.as_object_mut()
        {
            object.insert("primary".into(), Value::Bool(false));
        }
    }
}

/// Two values of a multi-valued attribute are the same when equal, or
/// when both are objects with equal `value` and no differing `type`
/// (Okta adds `{"value": id, "display": ...}` for a member already there).
fn same_item(a: &Value, b: &Value) -> bool {
    if a == b {
        return true;
    }
    match (a.get("value"), b.get("value")) {
        (Some(x), Some(y)) if x == y => match (a.get("type"), b.get("type")) {
            (Some(Value::String(s)), Some(Value::String(t))) => s.eq_ignore_ascii_case(t),
            _ => true,
        },
        _ => false,
    }
}

fn write(
    root: &mut Value,
    kind: ResourceKind,
    op: PatchOp,
    path: &PatchPath,
    value: Value,
) -> Result<(), ScimError> {
    let target = resolve_target(kind, path)?;
    let value = coerce(value, target.leaf);
    if is_unassigned(&value) {
        return match op {
            PatchOp::Add => Ok(()),
            PatchOp::Replace | PatchOp::Remove => remove(root, kind, path, None),
        };
    }
    let map = container_mut(root, target.container, true)
        .ok_or_else(|| ScimError::invalid_syntax("the resource is not a JSON object"))?;
    let key = key_for(map, &path.attr.name, target.attribute);
    match (&path.filter, &path.attr.sub_attr) {
        (None, None) => write_attribute(map, key, op, &target, value),
        (None, Some(sub)) => write_sub_attribute(map, &key, sub, &target, value),
        (Some(filter), _) => write_filtered(
            map,
            key,
            op,
            filter,
            path.sub_attr.as_deref(),
            &target,
            value,
        ),
    }
}

/// `add`/`replace` of a whole attribute.
fn write_attribute(
    map: &mut Map<String, Value>,
    key: String,
    op: PatchOp,
    target: &Target<'_>,
    value: Value,
) -> Result<(), ScimError> {
    if check_mutation(target, map.get(&key), &value)? {
        return Ok(());
    }
    let multi = target.attribute.map_or_else(
        || value.is_array() || map.get(&key).is_some_and(Value::is_array),
        |d| d.multi_valued,
    );
    let complex = target.attribute.is_some_and(|d| d.ty == AttrType::Complex);
    if multi {
        let items = match value {
            Value::Array(items) => items,
            single => vec![single],
        };
        match op {
            // §3.5.2.1: "a new value is added"; a value already there is not
            // added twice.
            PatchOp::Add => {
                let list = map.entry(key).or_insert_with(|| Value::Array(Vec::new()));
                if !list.is_array() {
                    *list = Value::Array(Vec::new());
                }
                if let Value::Array(list) = list {
                    for item in items {
                        if !list.iter().any(|existing| same_item(existing, &item)) {
                            list.push(item);
                            let last = list.len() - 1;
                            single_primary(list, last);
                        }
                    }
                }
            }
            // §3.5.2.3: without a filter the whole set is replaced.
            PatchOp::Replace | PatchOp::Remove => {
                map.insert(key, Value::Array(items));
            }
        }
    } else if complex {
        // §3.5.2.1 and §3.5.2.3: the given sub-attributes replace or are
        // added; those not given are left unchanged.
        let Value::Object(subs) = value else {
            return Err(ScimError::invalid_value(format!(
                "\"{key}\" is complex: its value must be an object"
            )));
        };
        let entry = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        if let Value::Object(object) = entry {
            for (name, sub_value) in subs {
                let sub_key = existing_key(object, &name).unwrap_or(name);
                if sub_value.is_null() {
                    object.remove(&sub_key);
                } else {
                    object.insert(sub_key, sub_value);
                }
            }
        }
    } else {
        map.insert(key, value);
    }
    Ok(())
}

/// `add`/`replace` of `attr.sub` without a filter (`name.givenName`).
fn write_sub_attribute(
    map: &mut Map<String, Value>,
    key: &str,
    sub: &str,
    target: &Target<'_>,
    value: Value,
) -> Result<(), ScimError> {
    let sub_name = target.leaf.map_or(sub, |d| d.name);
    let multi = target.attribute.is_some_and(|d| d.multi_valued);
    let entry = map.entry(key.to_owned()).or_insert_with(|| {
        if multi {
            Value::Array(Vec::new())
        } else {
            Value::Object(Map::new())
        }
    });
    match entry {
        Value::Object(object) => {
            let sub_key = key_for(object, sub_name, None);
            if !check_mutation(target, object.get(&sub_key), &value)? {
                object.insert(sub_key, value);
            }
            Ok(())
        }
        // `emails.value` names the sub-attribute of every value.
        Value::Array(items) if !items.is_empty() => {
            for object in items.iter_mut().filter_map(Value::as_object_mut) {
                let sub_key = key_for(object, sub_name, None);
                if !check_mutation(target, object.get(&sub_key), &value)? {
                    object.insert(sub_key, value.clone());
                }
            }
            Ok(())
        }
        _ => Err(ScimError::no_target(format!(
            "\"{key}\" has no value to set \"{sub_name}\" on"
        ))),
    }
}

/// The value an `add` with a value filter creates when nothing matches:
/// the filter's `eq` terms (`emails[type eq "work"].value` creates
/// `{"type": "work", "value": ...}`), as Entra ID expects. `None` when the
/// filter is not a conjunction of `eq` terms.
fn element_from_filter(filter: &Filter, into: &mut Map<String, Value>) -> bool {
    match filter {
        Filter::Compare(
            AttrPath {
                schema: None,
                name,
                sub_attr: None,
            },
            CompareOp::Eq,
            value,
        ) if *value != CompValue::Null => {
            into.insert(name.clone(), value.to_json());
            true
        }
        Filter::And(left, right) => {
            element_from_filter(left, into) && element_from_filter(right, into)
        }
        _ => false,
    }
}

/// `add`/`replace` with a value filter (`emails[type eq "work"].value`).
fn write_filtered(
    map: &mut Map<String, Value>,
    key: String,
    op: PatchOp,
    filter: &Filter,
    sub: Option<&str>,
    target: &Target<'_>,
    value: Value,
) -> Result<(), ScimError> {
    let sub_name = sub.map(|s| target.leaf.map_or(s, |d| d.name));
    let list = map
        .entry(key.clone())
        .or_insert_with(|| Value::Array(Vec::new()));
    let Value::Array(items) = list else {
        return Err(ScimError::no_target(format!(
            "\"{key}\" is not multi-valued"
        )));
    };
    let matched: Vec<usize> = items
        .iter()
        .enumerate()
        .filter(|(_, item)| matches_element(filter, item, target.attribute))
        .map(|(i, _)| i)
        .collect();
    if matched.is_empty() {
        // §3.5.2.3: "If the target location is a multi-valued attribute for
        // which a value selection filter ("valuePath") has been supplied and
        // no record match was made, the service provider SHALL indicate
        // failure by returning HTTP status code 400 and a "scimType" error
        // code of "noTarget"." For `add` the RFC says nothing; create the value.
        let mut element = Map::new();
        if op != PatchOp::Add || !element_from_filter(filter, &mut element) {
            return Err(ScimError::no_target(format!(
                "the filter on \"{key}\" matched no value"
            )));
        }
        check_mutation(target, None, &value)?;
        match (sub_name, value) {
            (Some(sub), value) => {
                element.insert(sub.to_owned(), value);
            }
            (None, Value::Object(subs)) => element.extend(subs),
            (None, _) => {
                return Err(ScimError::invalid_value(format!(
                    "the value of \"{key}\" must be an object"
                )));
            }
        }
        items.push(Value::Object(element));
        let last = items.len() - 1;
        single_primary(items, last);
        return Ok(());
    }
    for &index in &matched {
        let Some(item) = items.get_mut(index) else {
            continue;
        };
        match (sub_name, op) {
            (Some(sub), _) => {
                let Some(object) = item.as_object_mut() else {
                    continue;
                };
                let sub_key = key_for(object, sub, None);
                if !check_mutation(target, object.get(&sub_key), &value)? {
                    object.insert(sub_key, value.clone());
                }
            }
            // §3.5.2.3: "all matching record values SHALL be replaced".
            (None, PatchOp::Replace | PatchOp::Remove) => {
                if !value.is_object() {
                    return Err(ScimError::invalid_value(format!(
                        "the value of \"{key}\" must be an object"
                    )));
                }
                if !check_mutation(target, Some(item), &value)? {
                    *item = value.clone();
                }
            }
            (None, PatchOp::Add) => {
                let (Some(object), Value::Object(subs)) = (item.as_object_mut(), &value) else {
                    return Err(ScimError::invalid_value(format!(
                        "the value of \"{key}\" must be an object"
                    )));
                };
                for (name, sub_value) in subs {
                    let sub_key = existing_key(object, name).unwrap_or_else(|| name.clone());
                    object.insert(sub_key, sub_value.clone());
                }
            }
        }
    }
    if let Some(&first) = matched.first() {
        single_primary(items, first);
    }
    Ok(())
}

/// §3.5.2.2 remove. `value`, when given for a multi-valued attribute
/// without a filter, lists the values to remove (Entra ID's
/// `{"op":"Remove","path":"members","value":[{"value":"id"}]}`).
fn remove(
    root: &mut Value,
    kind: ResourceKind,
    path: &PatchPath,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let target = resolve_target(kind, path)?;
    let name = target
        .leaf
        .or(target.attribute)
        .map_or("attribute", |d| d.name);
    if target.read_only || target.immutable {
        return Err(ScimError::mutability(format!(
            "\"{name}\" cannot be removed: it is {}",
            if target.read_only {
                "readOnly"
            } else {
                "immutable"
            }
        )));
    }
    let whole = path.filter.is_none() && path.attr.sub_attr.is_none();
    if whole && target.attribute.is_some_and(|d| d.required) && value.is_none() {
        return Err(ScimError::mutability(format!(
            "\"{name}\" is required and cannot be removed"
        )));
    }
    let Some(map) = container_mut(root, target.container, false) else {
        return Ok(());
    };
    let Some(key) = existing_key(map, &path.attr.name) else {
        return Ok(());
    };
    match (&path.filter, &path.attr.sub_attr) {
        (None, None) => match (value, map.get_mut(&key)) {
            (Some(listed), Some(Value::Array(items))) => {
                let listed = match listed {
                    Value::Array(listed) => listed.clone(),
                    single => vec![single.clone()],
                };
                items.retain(|item| !listed.iter().any(|l| same_item(item, l)));
                if items.is_empty() {
                    map.remove(&key);
                }
            }
            _ => {
                map.remove(&key);
            }
        },
        (None, Some(sub)) => match map.get_mut(&key) {
            Some(Value::Object(object)) => {
                if let Some(sub_key) = existing_key(object, sub) {
                    object.remove(&sub_key);
                }
            }
            Some(Value::Array(items)) => {
                for object in items.iter_mut().filter_map(Value::as_object_mut) {
                    if let Some(sub_key) = existing_key(object, sub) {
                        object.remove(&sub_key);
                    }
                }
            }
            _ => {}
        },
        (Some(filter), _) => {
            if let Some(Value::Array(items)) = map.get_mut(&key) {
                match &path.sub_attr {
                    // "the values matched by the filter are removed"
                    None => items.retain(|item| !matches_element(filter, item, target.attribute)),
                    Some(sub) => {
                        for item in items.iter_mut() {
                            if matches_element(filter, item, target.attribute)
                                && let Some(object) = item.as_object_mut()
                                && let Some(sub_key) = existing_key(object, sub)
                            {
                                object.remove(&sub_key);
                            }
                        }
                    }
                }
                if items.is_empty() {
                    map.remove(&key);
                }
            }
        }
    }
    Ok(())
}
