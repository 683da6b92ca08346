//! The SCIM User document (RFC 7643 §4.1) ⇄ our [`ScimUser`].
//!
//! Writing: the client's document is brought to the schema's spelling
//! (attribute names match case-insensitively, RFC 7643 §2.1; booleans sent
//! as `"True"`/`"False"` strings become booleans), unknown attributes are
//! dropped, and the attributes our model holds are taken out of it:
//! `userName`, `externalId`, `active` (kept as given, shown from our
//! lifecycle status), `password`, the primary e-mail, the
//! name parts, `displayName`, `nickName`, `profileUrl`, `locale`, `timezone`
//! and the custom-attribute extension. The rest is stored as the client
//! wrote it.
//!
//! Reading: the stored document with our model laid over it, so a change
//! through the admin API shows in SCIM too.

use gatehouse_scim::schema::{
    self, AttrType, AttributeDef, ENTERPRISE_USER, ENTERPRISE_USER_SCHEMA, GATEHOUSE_USER_SCHEMA,
    USER, USER_SCHEMA,
};
use gatehouse_scim::{ScimError, filter::format_instant};
use serde_json::{Map, Value, json};

use crate::model::{Group, ScimUser, StandardClaims, UserStatus};
use crate::secret::Secret;

/// SCIM name parts and single-valued attributes held as OIDC standard claims.
const NAME_CLAIMS: [(&str, &str); 3] = [
    ("givenName", "given_name"),
    ("familyName", "family_name"),
    ("middleName", "middle_name"),
];
const TOP_CLAIMS: [(&str, &str); 5] = [
    ("displayName", "name"),
    ("nickName", "nickname"),
    ("profileUrl", "profile"),
    ("locale", "locale"),
    ("timezone", "zoneinfo"),
];

/// What a written User document says, split into our model and the rest.
#[derive(Debug)]
pub(super) struct UserInput {
    pub username: String,
    pub external_id: Option<String>,
    /// `None`: not given (a create makes the user active).
    pub active: Option<bool>,
    pub password: Option<Secret>,
    pub email: Option<String>,
    pub claims: StandardClaims,
    pub attributes: Map<String, Value>,
    /// The stored document: everything else, in the schema's spelling.
    pub resource: Map<String, Value>,
}

/// Reads a User document (POST, PUT, or the result of a PATCH).
pub(super) fn parse(doc: &Value) -> Result<UserInput, ScimError> {
    let object = doc
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("a User must be a JSON object"))?;
    let mut resource = canonical_resource(object);
    for read_only in ["id", "meta", "schemas", "groups"] {
        resource.remove(read_only);
    }
    let username = match resource.remove("userName") {
        Some(Value::String(s)) if !s.trim().is_empty() => s,
        Some(Value::String(_)) | None | Some(Value::Null) => {
            return Err(ScimError::invalid_value("\"userName\" is required"));
        }
        Some(_) => return Err(ScimError::invalid_value("\"userName\" must be a string")),
    };
    let external_id = optional_string(&mut resource, "externalId")?;
    // Canonical values already turned Entra ID's "True"/"False" into booleans.
    let active = match resource.get("active") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => return Err(ScimError::invalid_value("\"active\" must be a boolean")),
    };
    let password = optional_string(&mut resource, "password")?.map(Secret::new);
    let attributes = match resource.remove(GATEHOUSE_USER_SCHEMA) {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map,
        Some(_) => {
            return Err(ScimError::invalid_value(format!(
                "\"{GATEHOUSE_USER_SCHEMA}\" must be an object"
            )));
        }
    };
    let email = primary_email(&resource)?;
    let mut claims = Map::new();
    if let Some(Value::Object(name)) = resource.get("name") {
        for (scim, claim) in NAME_CLAIMS {
            if let Some(value) = claim_text(name, scim)? {
                claims.insert(claim.into(), value.into());
            }
        }
    }
    for (scim, claim) in TOP_CLAIMS {
        if let Some(value) = claim_text(&resource, scim)? {
            claims.insert(claim.into(), value.into());
        }
    }
    let claims = serde_json::from_value::<StandardClaims>(Value::Object(claims))
        .map_err(|_| ScimError::invalid_value("a name attribute has the wrong type"))?;
    Ok(UserInput {
        username,
        external_id,
        active,
        password,
        email,
        claims,
        attributes,
        resource,
    })
}

fn optional_string(map: &mut Map<String, Value>, key: &str) -> Result<Option<String>, ScimError> {
    match map.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ScimError::invalid_value(format!(
            "\"{key}\" must be a string"
        ))),
    }
}

fn claim_text(map: &Map<String, Value>, key: &str) -> Result<Option<String>, ScimError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ScimError::invalid_value(format!(
            "\"{key}\" must be a string"
        ))),
    }
}

/// The `value` of the e-mail marked primary, else of the first one.
fn primary_email(resource: &Map<String, Value>) -> Result<Option<String>, ScimError> {
    let Some(emails) = resource.get("emails") else {
        return Ok(None);
    };
    let Value::Array(emails) = emails else {
        return Err(ScimError::invalid_value("\"emails\" must be an array"));
    };
    let chosen = emails
        .iter()
        .find(|e| e.get("primary") == Some(&Value::Bool(true)))
        .or_else(|| emails.first());
    match chosen.and_then(|e| e.get("value")) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ScimError::invalid_value(
            "\"emails.value\" must be a string",
        )),
    }
}

/// The document in the schema's spelling, unknown attributes left out.
fn canonical_resource(object: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in object {
        if key.eq_ignore_ascii_case(ENTERPRISE_USER_SCHEMA) {
            if let Value::Object(ext) = value {
                out.insert(
                    ENTERPRISE_USER_SCHEMA.into(),
                    Value::Object(canonical_object(ext, ENTERPRISE_USER.attributes)),
                );
            }
        } else if key.eq_ignore_ascii_case(GATEHOUSE_USER_SCHEMA) {
            out.insert(GATEHOUSE_USER_SCHEMA.into(), value.clone());
        } else if let Some(def) = schema::find(USER.attributes, key)
            .or_else(|| schema::find(schema::COMMON_ATTRIBUTES, key))
        {
            out.insert(def.name.into(), canonical_value(value, def));
        }
    }
    out
}

fn canonical_object(
    object: &Map<String, Value>,
    defs: &'static [AttributeDef],
) -> Map<String, Value> {
    object
        .iter()
        .filter_map(|(k, v)| {
            schema::find(defs, k).map(|def| (def.name.to_owned(), canonical_value(v, def)))
        })
        .collect()
}

/// Sub-attributes spelled as defined; `"True"`/`"False"` as booleans (Entra ID).
pub(super) fn canonical_value(value: &Value, def: &'static AttributeDef) -> Value {
    match (value, def.ty) {
        (Value::Array(items), _) => {
            Value::Array(items.iter().map(|i| canonical_value(i, def)).collect())
        }
        (Value::Object(map), AttrType::Complex) => {
            Value::Object(canonical_object(map, def.sub_attributes))
        }
        (Value::String(s), AttrType::Boolean) if s.eq_ignore_ascii_case("true") => {
            Value::Bool(true)
        }
        (Value::String(s), AttrType::Boolean) if s.eq_ignore_ascii_case("false") => {
            Value::Bool(false)
        }
        (other, _) => other.clone(),
    }
}

/// `W/"<version>"` (RFC 7644 §3.14).
pub(super) fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// Whether SCIM shows the user as `active` (locked out is temporary).
fn is_active(status: UserStatus) -> bool {
    matches!(status, UserStatus::Active | UserStatus::LockedOut)
}

/// The User document as GET answers it.
pub(super) fn render(user: &ScimUser, groups: &[Group], base: &str) -> Value {
    let u = &user.user;
    let mut doc = user.resource.clone();
    let mut schemas = vec![Value::from(USER_SCHEMA)];
    if doc.contains_key(ENTERPRISE_USER_SCHEMA) {
        schemas.push(ENTERPRISE_USER_SCHEMA.into());
    }
    doc.insert("id".into(), u.id.to_string().into());
    match &user.external_id {
        Some(id) => doc.insert("externalId".into(), id.clone().into()),
        None => doc.remove("externalId"),
    };
    doc.insert("userName".into(), u.username.clone().into());
    // `active` shows once a client set it, or whenever the user cannot sign
    // in; a client that removed it (and never deactivated) reads no value.
    if doc.contains_key("active") || !is_active(u.status) {
        doc.insert("active".into(), is_active(u.status).into());
    }
    let claims = match serde_json::to_value(&u.claims) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let mut name = match doc.remove("name") {
        Some(Value::Object(name)) => name,
        _ => Map::new(),
    };
    for (scim, claim) in NAME_CLAIMS {
        overlay(&mut name, scim, claims.get(claim));
    }
    if !name.is_empty() {
        doc.insert("name".into(), Value::Object(name));
    }
    for (scim, claim) in TOP_CLAIMS {
        overlay(&mut doc, scim, claims.get(claim));
    }
    overlay_email(&mut doc, u.email.as_deref());
    if !u.attributes.is_empty() {
        schemas.push(GATEHOUSE_USER_SCHEMA.into());
        doc.insert(
            GATEHOUSE_USER_SCHEMA.into(),
            Value::Object(u.attributes.clone()),
        );
    }
    if !groups.is_empty() {
        let groups: Vec<Value> = groups
            .iter()
            .map(|g| {
                json!({
                    "value": g.id.to_string(),
                    "$ref": format!("{base}/Groups/{}", g.id),
                    "display": g.name,
                    "type": "direct",
                })
            })
            .collect();
        doc.insert("groups".into(), Value::Array(groups));
    }
    doc.insert("schemas".into(), Value::Array(schemas));
    doc.insert(
        "meta".into(),
        json!({
            "resourceType": "User",
            "created": format_instant(u.created_at),
            "lastModified": format_instant(u.updated_at),
            "version": etag(u.version),
            "location": format!("{base}/Users/{}", u.id),
        }),
    );
    Value::Object(doc)
}

fn overlay(map: &mut Map<String, Value>, key: &str, value: Option<&Value>) {
    match value {
        Some(v) => {
            map.insert(key.into(), v.clone());
        }
        None => {
            map.remove(key);
        }
    }
}

/// The primary (else first) e-mail shows our e-mail; without one it goes.
fn overlay_email(doc: &mut Map<String, Value>, email: Option<&str>) {
    let emails = match doc.get_mut("emails") {
        Some(Value::Array(emails)) => emails,
        _ => {
            if let Some(email) = email {
                doc.insert(
                    "emails".into(),
                    json!([{ "value": email, "primary": true }]),
                );
            }
            return;
        }
    };
    let index = emails
        .iter()
        .position(|e| e.get("primary") == Some(&Value::Bool(true)))
        .or(if emails.is_empty() { None } else { Some(0) });
    match (index, email) {
        (Some(i), Some(email)) => {
            if let Some(Value::Object(entry)) = emails.get_mut(i) {
                let same = entry
                    .get("value")
                    .and_then(Value::as_str)
                    .is_some_and(|v| v.eq_ignore_ascii_case(email));
                if !same {
                    entry.insert("value".into(), email.into());
                }
            }
        }
        (Some(i), None) => {
            emails.remove(i);
            if emails.is_empty() {
                doc.remove("emails");
            }
        }
        (None, Some(email)) => emails.push(json!({ "value": email, "primary": true })),
        (None, None) => {}
    }
}
