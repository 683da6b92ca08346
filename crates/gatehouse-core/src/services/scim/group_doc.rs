//! The SCIM Group document (RFC 7643 §4.2) ⇄ our [`ScimGroup`].
//!
//! `displayName` is the group's name, `members` its memberships (users of
//! the same org, by id). Members are answered with `value`, `$ref` and
//! `type`; `display` is optional (RFC 7643 §4.2) and left out, so a client
//! reads back exactly what it wrote.

use gatehouse_scim::schema::GROUP_SCHEMA;
use gatehouse_scim::{ScimError, filter::format_instant};
use serde_json::{Value, json};

use super::user_doc::etag;
use crate::ids::UserId;
use crate::model::ScimGroup;

/// What a written Group document says.
#[derive(Debug)]
pub(super) struct GroupInput {
    pub name: String,
    pub external_id: Option<String>,
    pub members: Vec<UserId>,
}

fn get<'v>(object: &'v serde_json::Map<String, Value>, key: &str) -> Option<&'v Value> {
    object
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

pub(super) fn parse(doc: &Value) -> Result<GroupInput, ScimError> {
    let object = doc
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("a Group must be a JSON object"))?;
    let name = match get(object, "displayName") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(Value::String(_) | Value::Null) | None => {
            return Err(ScimError::invalid_value("\"displayName\" is required"));
        }
        Some(_) => {
            return Err(ScimError::invalid_value("\"displayName\" must be a string"));
        }
    };
    let external_id = match get(object, "externalId") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(ScimError::invalid_value("\"externalId\" must be a string")),
    };
    let mut members = Vec::new();
    match get(object, "members") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for item in items {
                let value = item
                    .as_object()
                    .and_then(|m| get(m, "value"))
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        ScimError::invalid_value("each member needs a string \"value\"")
                    })?;
                let id = value.parse::<UserId>().map_err(|_| {
                    ScimError::invalid_value(format!(
                        "member \"{value}\" is not a User of this tenant"
                    ))
                })?;
                if !members.contains(&id) {
                    members.push(id);
                }
            }
        }
        Some(_) => return Err(ScimError::invalid_value("\"members\" must be an array")),
    }
    Ok(GroupInput {
        name,
        external_id,
        members,
    })
}

/// The Group document as GET answers it.
pub(super) fn render(group: &ScimGroup, base: &str) -> Value {
    let g = &group.group;
    let mut doc = json!({
        "schemas": [GROUP_SCHEMA],
        "id": g.id.to_string(),
        "displayName": g.name,
        "meta": {
            "resourceType": "Group",
            "created": format_instant(g.created_at),
            "lastModified": format_instant(g.updated_at),
            "version": etag(g.version),
            "location": format!("{base}/Groups/{}", g.id),
        },
    });
    if let Some(map) = doc.as_object_mut() {
        if let Some(id) = &group.external_id {
            map.insert("externalId".into(), id.clone().into());
        }
        if !group.members.is_empty() {
            let members: Vec<Value> = group
                .members
                .iter()
                .map(|(id, _)| {
                    json!({
                        "value": id.to_string(),
                        "$ref": format!("{base}/Users/{id}"),
                        "type": "User",
                    })
                })
                .collect();
            map.insert("members".into(), Value::Array(members));
        }
    }
    doc
}
