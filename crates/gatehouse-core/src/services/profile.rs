//! The editable part of a user, its JSON form and its validation.
//!
//! A profile is read from and written to one flat JSON object: `username`,
//! `email`, `email_verified`, the OIDC standard claims and `attributes`. Updates
//! are JSON merge patches (RFC 7396) over that object, so there is one shape for
//! create, read and update.

use serde_json::{Map, Value};

use crate::error::{Error, FieldError};
use crate::model::{StandardClaims, User};

/// The fields of a user an administrator edits.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UserProfile {
    pub username: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub claims: StandardClaims,
    pub attributes: Map<String, Value>,
}

const MAX_USERNAME_BYTES: usize = 256;
const MAX_EMAIL_BYTES: usize = 254;

impl UserProfile {
    pub fn of(user: &User) -> Self {
        Self {
            username: user.username.clone(),
            email: user.email.clone(),
            email_verified: user.email_verified,
            claims: user.claims.clone(),
            attributes: user.attributes.clone(),
        }
    }

    /// The flat JSON object form.
    pub fn to_json(&self) -> Map<String, Value> {
        let mut out = match serde_json::to_value(&self.claims) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        out.insert("username".into(), Value::String(self.username.clone()));
        out.insert(
            "email".into(),
            self.email.clone().map_or(Value::Null, Value::String),
        );
        out.insert("email_verified".into(), Value::Bool(self.email_verified));
        out.insert("attributes".into(), Value::Object(self.attributes.clone()));
        out
    }

    /// Parses the flat JSON object form; unknown keys and wrong types are field errors.
    pub fn from_json(mut doc: Map<String, Value>) -> Result<Self, Error> {
        let mut errors = Vec::new();
        let username = match doc.remove("username") {
            Some(Value::String(s)) => s,
            Some(_) => {
                errors.push(FieldError::new(
                    "username",
                    "invalid_type",
                    "must be a string",
                ));
                String::new()
            }
            None => {
                errors.push(FieldError::new("username", "required", "is required"));
                String::new()
            }
        };
        let email = match doc.remove("email") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(_) => {
                errors.push(FieldError::new("email", "invalid_type", "must be a string"));
                None
            }
        };
        let email_verified = match doc.remove("email_verified") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => b,
            Some(_) => {
                errors.push(FieldError::new(
                    "email_verified",
                    "invalid_type",
                    "must be a boolean",
                ));
                false
            }
        };
        let attributes = match doc.remove("attributes") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m,
            Some(_) => {
                errors.push(FieldError::new(
                    "attributes",
                    "invalid_type",
                    "must be an object",
                ));
                Map::new()
            }
        };
        // Merge patches set a claim to null to remove it.
        doc.retain(|_, v| !v.is_null());
        let claims = match serde_json::from_value::<StandardClaims>(Value::Object(doc)) {
            Ok(c) => c,
            Err(e) => {
                errors.push(claim_error(&e));
                StandardClaims::default()
            }
        };
        let profile = Self {
            username,
            email,
            email_verified,
            claims,
            attributes,
        };
        if errors.is_empty() {
            errors = profile.check_formats();
        }
        if errors.is_empty() {
            Ok(profile)
        } else {
            Err(Error::Invalid(errors))
        }
    }

    /// Syntax checks that need no org: username and e-mail shape, birthdate.
    fn check_formats(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let name = self.username.as_str();
        if name.trim().is_empty() {
            errors.push(FieldError::new("username", "required", "must not be empty"));
        } else if name.len() > MAX_USERNAME_BYTES {
            errors.push(FieldError::new(
                "username",
                "too_long",
                "must be at most 256 bytes",
            ));
        } else if name.trim() != name || name.chars().any(char::is_control) {
            errors.push(FieldError::new(
                "username",
                "invalid_format",
                "must not contain control characters or surrounding spaces",
            ));
        }
        if let Some(email) = &self.email
            && !is_email(email)
        {
            errors.push(FieldError::new(
                "email",
                "invalid_email",
                "is not a valid e-mail address",
            ));
        }
        if let Some(date) = &self.claims.birthdate
            && !is_birthdate(date)
        {
            errors.push(FieldError::new(
                "birthdate",
                "invalid_format",
                "must be YYYY-MM-DD or YYYY",
            ));
        }
        errors
    }
}

/// Applies an RFC 7396 JSON merge patch to `target`.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(patch_map) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            if let Value::Object(target_map) = target {
                for (key, value) in patch_map {
                    if value.is_null() {
                        target_map.remove(key);
                    } else {
                        merge_patch(target_map.entry(key.clone()).or_insert(Value::Null), value);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// Names the offending field of a standard-claims error: serde says
/// "unknown field `x`, expected …" or "invalid type: …" without a path.
fn claim_error(e: &serde_json::Error) -> FieldError {
    let message = serde_message(e);
    match message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split_once('`'))
    {
        Some((field, _)) => FieldError::new(field, "unknown_field", "is not a known field"),
        None => FieldError::new("", "invalid_field", message),
    }
}

/// A serde error message without input echo beyond the field name.
pub(crate) fn serde_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    // serde_json appends " at line L column C"; that is noise for a JSON value.
    match text.find(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// An addr-spec with a dotted domain (RFC 5321 length limit); `user@localhost` is refused.
fn is_email(email: &str) -> bool {
    email.len() <= MAX_EMAIL_BYTES
        && email_address::EmailAddress::is_valid(email)
        && email
            .rsplit_once('@')
            .is_some_and(|(_, domain)| domain.contains('.'))
}

fn is_birthdate(text: &str) -> bool {
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    match text.split('-').collect::<Vec<_>>().as_slice() {
        [y] => digits(y, 4),
        [y, m, d] => {
            digits(y, 4)
                && digits(m, 2)
                && digits(d, 2)
                && (1..=12).contains(&m.parse::<u8>().unwrap_or(0))
                && (1..=31).contains(&d.parse::<u8>().unwrap_or(0))
        }
        _ => false,
    }
}

/// Validates custom attributes against an org's profile schema (JSON Schema).
pub fn check_attributes(
    schema: Option<&Value>,
    attributes: &Map<String, Value>,
) -> Result<(), Error> {
    let Some(schema) = schema else { return Ok(()) };
    let validator = jsonschema::validator_for(schema)
        .map_err(|e| Error::Internal(format!("stored profile schema does not compile: {e}")))?;
    let instance = Value::Object(attributes.clone());
    let errors: Vec<FieldError> = validator
        .iter_errors(&instance)
        .map(|e| {
            let path = e.instance_path().to_string();
            FieldError::new(format!("attributes{path}"), "schema", e.to_string())
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(errors))
    }
}

/// Checks that a profile schema is a valid JSON Schema before it is stored.
pub fn check_schema(schema: &Value) -> Result<(), Error> {
    if !schema.is_object() {
        return Err(Error::invalid(
            "profile_schema",
            "invalid_schema",
            "must be a JSON Schema object",
        ));
    }
    jsonschema::validator_for(schema)
        .map(|_| ())
        .map_err(|e| Error::invalid("profile_schema", "invalid_schema", e.to_string()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<UserProfile, Error> {
        match v {
            Value::Object(m) => UserProfile::from_json(m),
            _ => unreachable!(),
        }
    }

    fn codes(r: Result<UserProfile, Error>) -> Vec<String> {
        match r {
            Err(Error::Invalid(errs)) => errs
                .into_iter()
                .map(|e| format!("{}:{}", e.field, e.code))
                .collect(),
            other => vec![format!("{other:?}")],
        }
    }

    #[test]
    fn profile_round_trips_through_json() {
        let p = parse(
            json!({"username": "ada", "email": "ada@example.com", "given_name": "Ada",
            "attributes": {"department": "R&D"}}),
        )
        .unwrap();
        assert_eq!(p.claims.given_name.as_deref(), Some("Ada"));
        assert_eq!(parse(Value::Object(p.to_json())).unwrap(), p);
    }

    #[test]
    fn profile_rejects_bad_input_with_field_errors() {
        assert_eq!(codes(parse(json!({}))), ["username:required"]);
        assert_eq!(
            codes(parse(json!({"username": 5}))),
            ["username:invalid_type"]
        );
        assert_eq!(
            codes(parse(json!({"username": "a", "email": "not-an-email"}))),
            ["email:invalid_email"]
        );
        assert_eq!(
            codes(parse(json!({"username": "a", "shoe_size": 44}))),
            ["shoe_size:unknown_field"]
        );
        assert_eq!(
            codes(parse(json!({"username": " a"}))),
            ["username:invalid_format"]
        );
        assert_eq!(
            codes(parse(json!({"username": "a", "birthdate": "1990-13-01"}))),
            ["birthdate:invalid_format"]
        );
    }

    #[test]
    fn merge_patch_follows_rfc7396_appendix_a() {
        let cases = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (
                json!({"a": "b"}),
                json!({"b": "c"}),
                json!({"a": "b", "b": "c"}),
            ),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (
                json!({"a": {"b": "c"}}),
                json!({"a": {"b": "d", "c": null}}),
                json!({"a": {"b": "d"}}),
            ),
            (json!({"a": [1]}), json!({"a": [2]}), json!({"a": [2]})),
            (json!(["a"]), json!({"a": "b"}), json!({"a": "b"})),
        ];
        for (mut target, patch, expected) in cases {
            merge_patch(&mut target, &patch);
            assert_eq!(target, expected);
        }
    }

    #[test]
    fn attributes_are_checked_against_the_org_schema() {
        let schema = json!({"type": "object", "properties": {"department": {"type": "string"}},
            "additionalProperties": false});
        check_schema(&schema).unwrap();
        let ok = json!({"department": "Nursing"});
        assert!(check_attributes(Some(&schema), ok.as_object().unwrap()).is_ok());
        let bad = json!({"department": 7});
        assert!(matches!(
            check_attributes(Some(&schema), bad.as_object().unwrap()),
            Err(Error::Invalid(_))
        ));
        let extra = json!({"shoe": 7});
        assert!(check_attributes(Some(&schema), extra.as_object().unwrap()).is_err());
        assert!(check_schema(&json!({"type": 12})).is_err());
    }
}
