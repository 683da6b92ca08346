//! What a PATCH path names in a resource, checked against the schema
//! tables (RFC 7643 §7): its container (core attributes or an extension
//! object), its definition, whether it may change (`mutability`), and the
//! coercion of Entra ID's string booleans and bare ids into the schema's
//! types. Also the case-insensitive key lookups (RFC 7643 §2.1) the
//! applier uses.

use serde_json::{Map, Value};

use crate::error::ScimError;
use crate::path::PatchPath;
use crate::schema::{
    self, AttrType, AttributeDef, Container, GATEHOUSE_USER_SCHEMA, Mutability, ResourceKind,
};

/// The extension schemas a resource of `kind` may carry.
pub(super) fn extension_uri(kind: ResourceKind, key: &str) -> Option<&'static str> {
    let custom: &[&'static str] = match kind {
        ResourceKind::User => &[GATEHOUSE_USER_SCHEMA],
        ResourceKind::Group => &[],
    };
    kind.extensions()
        .iter()
        .map(|e| e.id)
        .chain(custom.iter().copied())
        .find(|uri| uri.eq_ignore_ascii_case(key))
}

/// What a path names, checked against the schema.
#[derive(Debug)]
pub(super) struct Target<'p> {
    pub(super) container: Container<'p>,
    /// The (top-level) attribute, when the schema defines it.
    pub(super) attribute: Option<&'static AttributeDef>,
    /// The attribute or sub-attribute whose value the operation writes.
    pub(super) leaf: Option<&'static AttributeDef>,
    pub(super) read_only: bool,
    pub(super) immutable: bool,
}

pub(super) fn resolve_target<'p>(
    kind: ResourceKind,
    path: &'p PatchPath,
) -> Result<Target<'p>, ScimError> {
    let unknown = || {
        ScimError::invalid_path(format!(
            "\"{}\" is not an attribute of the resource's schemas",
            path.attr
        ))
    };
    let resolved = schema::resolve(kind, &path.attr);
    let custom = match resolved.container {
        Container::Core => false,
        Container::Extension(uri) => {
            let known = extension_uri(kind, uri).ok_or_else(unknown)?;
            known == GATEHOUSE_USER_SCHEMA
        }
    };
    let attribute = match resolved.attribute {
        Some(def) => Some(def),
        None if custom => None,
        None => return Err(unknown()),
    };
    let leaf = match (attribute, &path.attr.sub_attr, &path.filter, &path.sub_attr) {
        (None, ..) => None,
        (Some(_), Some(_), _, _) => Some(resolved.sub_attribute.ok_or_else(unknown)?),
        (Some(def), None, Some(_), sub) => {
            if !def.multi_valued {
                return Err(ScimError::invalid_path(format!(
                    "\"{}\" is not multi-valued: it takes no value filter",
                    path.attr
                )));
            }
            match sub {
                Some(sub) => Some(def.sub(sub).ok_or_else(unknown)?),
                None => Some(def),
            }
        }
        (Some(def), None, None, _) => Some(def),
    };
    let read_only = [attribute, leaf]
        .into_iter()
        .flatten()
        .any(|d| d.mutability == Mutability::ReadOnly);
    let immutable = leaf.is_some_and(|d| d.mutability == Mutability::Immutable);
    Ok(Target {
        container: resolved.container,
        attribute,
        leaf,
        read_only,
        immutable,
    })
}

/// RFC 7643 §7 mutability: `Ok(true)` when the write changes nothing and
/// can be skipped (a client echoing `id`), an error when it is not allowed.
pub(super) fn check_mutation(
    target: &Target<'_>,
    current: Option<&Value>,
    new: &Value,
) -> Result<bool, ScimError> {
    let name = target
        .leaf
        .or(target.attribute)
        .map_or("attribute", |d| d.name);
    if target.read_only {
        return if current == Some(new) {
            Ok(true)
        } else {
            Err(ScimError::mutability(format!("\"{name}\" is readOnly")))
        };
    }
    if target.immutable && current.is_some_and(|c| !c.is_null() && c != new) {
        return Err(ScimError::mutability(format!(
            "\"{name}\" is immutable and already has a value"
        )));
    }
    Ok(false)
}

/// Coerces what Entra ID sends into the schema's types: `"True"`/`"False"`
/// for booleans, and a bare string for a complex attribute with a `value`
/// sub-attribute (`manager`).
pub(super) fn coerce(value: Value, def: Option<&'static AttributeDef>) -> Value {
    let Some(def) = def else { return value };
    match value {
        Value::Array(items) if def.multi_valued => {
            Value::Array(items.into_iter().map(|i| coerce_one(i, def)).collect())
        }
        other => coerce_one(other, def),
    }
}

pub(super) fn coerce_one(value: Value, def: &'static AttributeDef) -> Value {
    match (def.ty, value) {
        (AttrType::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("true") => {
            Value::Bool(true)
        }
        (AttrType::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("false") => {
            Value::Bool(false)
        }
        (AttrType::Complex, Value::Object(map)) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let sub = def.sub(&k);
                    (k, coerce(v, sub))
                })
                .collect(),
        ),
        (AttrType::Complex, Value::String(s))
            if !def.multi_valued && def.sub("value").is_some() =>
        {
            let mut map = Map::new();
            map.insert("value".into(), Value::String(s));
            Value::Object(map)
        }
        (_, other) => other,
    }
}

/// RFC 7643 §2.5: null and an empty array mean "unassigned".
pub(super) fn is_unassigned(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// The key under which `name` is stored, ignoring case, if present.
pub(super) fn existing_key(map: &Map<String, Value>, name: &str) -> Option<String> {
    map.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

/// The key to write `name` under: the stored spelling, else the schema's.
pub(super) fn key_for(map: &Map<String, Value>, name: &str, def: Option<&AttributeDef>) -> String {
    existing_key(map, name).unwrap_or_else(|| def.map_or(name, |d| d.name).to_owned())
}

pub(super) fn container_mut<'r>(
    root: &'r mut Value,
    container: Container<'_>,
    create: bool,
) -> Option<&'r mut Map<String, Value>> {
    let object = root.as_object_mut()?;
    match container {
        Container::Core => Some(object),
        Container::Extension(uri) => {
            let key = match existing_key(object, uri) {
                Some(key) => key,
                None if create => {
                    // RFC 7643 §3: `schemas` lists the extensions the resource carries.
                    let listed = object
                        .entry("schemas")
                        .or_insert_with(|| Value::Array(Vec::new()));
                    if let Value::Array(schemas) = listed
                        && !schemas
                            .iter()
                            .any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(uri)))
                    {
                        schemas.push(uri.into());
                    }
                    object.insert(uri.to_owned(), Value::Object(Map::new()));
                    uri.to_owned()
                }
                None => return None,
            };
            object.get_mut(&key)?.as_object_mut()
        }
    }
}
