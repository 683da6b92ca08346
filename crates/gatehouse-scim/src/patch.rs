//! PATCH requests (RFC 7644 §3.5.2): parsing the `PatchOp` message and
//! applying its operations to a resource held as JSON ([`apply`], in
//! `patch/apply.rs`, §3.5.2.1–§3.5.2.3; what a path names and whether it
//! may change is `patch/target.rs`).
//!
//! Parsing accepts what real provisioning clients send:
//!
//! - Microsoft Entra ID capitalises the operation (`"Add"`, `"Replace"`,
//!   `"Remove"`), sends booleans as the strings `"True"`/`"False"`, a
//!   `replace` without `path` whose value holds dotted (`"name.givenName"`)
//!   or URN-qualified keys, a `remove` of `members` with the members to
//!   remove as `value`, and the enterprise `manager` as a bare id string.
//! - Okta deactivates with `{"op":"replace","value":{"active":false}}`.
//!
//! String booleans and bare manager ids are coerced when applied, where the
//! schema says what type the target attribute has.

mod apply;
mod target;

use serde_json::Value;

pub use apply::apply;

use crate::error::ScimError;
use crate::path::PatchPath;

/// The schema URI of a PATCH request body (RFC 7644 §3.5.2).
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// Most operations accepted in one request.
pub const MAX_OPERATIONS: usize = 1000;

/// `op` (RFC 7644 §3.5.2), matched in any case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PatchOp {
    Add,
    Replace,
    Remove,
}

impl PatchOp {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Add => "add",
            Self::Replace => "replace",
            Self::Remove => "remove",
        }
    }
}

/// One operation of a PATCH request.
#[derive(Clone, Debug, PartialEq)]
pub struct PatchOperation {
    pub op: PatchOp,
    pub path: Option<PatchPath>,
    /// Required for `add` and `replace` (it may be `null`, which unassigns,
    /// RFC 7643 §2.5); optional for `remove`.
    pub value: Option<Value>,
}

/// A parsed `PatchOp` request.
#[derive(Clone, Debug, PartialEq)]
pub struct PatchRequest {
    pub operations: Vec<PatchOperation>,
}

/// A member of a JSON object, by name in any case.
pub(crate) fn member<'v>(
    object: &'v serde_json::Map<String, Value>,
    name: &str,
) -> Option<&'v Value> {
    object
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// RFC 7644 §3.5.2 / §3.7: `schemas` must contain `schema`.
pub(crate) fn require_schema(
    body: &serde_json::Map<String, Value>,
    schema: &str,
) -> Result<(), ScimError> {
    let listed = member(body, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| {
            s.iter()
                .filter_map(Value::as_str)
                .any(|s| s.eq_ignore_ascii_case(schema))
        });
    if listed {
        Ok(())
    } else {
        Err(ScimError::invalid_syntax(format!(
            "\"schemas\" must contain \"{schema}\""
        )))
    }
}

impl PatchRequest {
    /// Parses a request body (RFC 7644 §3.5.2).
    pub fn parse(body: &Value) -> Result<Self, ScimError> {
        let body = body
            .as_object()
            .ok_or_else(|| ScimError::invalid_syntax("the request body must be a JSON object"))?;
        require_schema(body, PATCH_OP_SCHEMA)?;
        let operations = member(body, "Operations")
            .and_then(Value::as_array)
            .ok_or_else(|| ScimError::invalid_syntax("\"Operations\" must be an array"))?;
        if operations.is_empty() {
            return Err(ScimError::invalid_syntax(
                "\"Operations\" must hold at least one operation",
            ));
        }
        if operations.len() > MAX_OPERATIONS {
            return Err(ScimError::invalid_syntax(format!(
                "at most {MAX_OPERATIONS} operations are accepted in one request"
            )));
        }
        let operations = operations
            .iter()
            .enumerate()
            .map(|(i, op)| PatchOperation::parse(op).map_err(|e| at_operation(e, i)))
            .collect::<Result<_, _>>()?;
        Ok(Self { operations })
    }

    /// Parses raw bytes; malformed JSON is `invalidSyntax`.
    pub fn from_slice(body: &[u8]) -> Result<Self, ScimError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|_| ScimError::invalid_syntax("the request body is not valid JSON"))?;
        Self::parse(&value)
    }
}

fn at_operation(mut error: ScimError, index: usize) -> ScimError {
    error.detail = format!("Operations[{index}]: {}", error.detail);
    error
}

impl PatchOperation {
    fn parse(op: &Value) -> Result<Self, ScimError> {
        let op = op
            .as_object()
            .ok_or_else(|| ScimError::invalid_syntax("an operation must be a JSON object"))?;
        let kind = match member(op, "op").and_then(Value::as_str) {
            Some(s) if s.eq_ignore_ascii_case("add") => PatchOp::Add,
            Some(s) if s.eq_ignore_ascii_case("replace") => PatchOp::Replace,
            Some(s) if s.eq_ignore_ascii_case("remove") => PatchOp::Remove,
            Some(_) => {
                return Err(ScimError::invalid_syntax(
                    "\"op\" must be \"add\", \"replace\" or \"remove\"",
                ));
            }
            None => return Err(ScimError::invalid_syntax("\"op\" is missing")),
        };
        let path = match member(op, "path") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => Some(PatchPath::parse_scim(s)?),
            Some(_) => return Err(ScimError::invalid_path("\"path\" must be a string")),
        };
        let value = member(op, "value").cloned();
        match (kind, &path, &value) {
            // RFC 7644 §3.5.2.1, §3.5.2.3: add and replace carry a value.
            (PatchOp::Add | PatchOp::Replace, _, None) => Err(ScimError::invalid_value(format!(
                "\"{}\" needs a \"value\"",
                kind.as_str()
            ))),
            // Without a path the value is a set of attributes.
            (PatchOp::Add | PatchOp::Replace, None, Some(v)) if !v.is_object() => {
                Err(ScimError::invalid_value(format!(
                    "\"{}\" without \"path\" needs an object \"value\"",
                    kind.as_str()
                )))
            }
            // RFC 7644 §3.5.2.2: "If "path" is unspecified, the operation
            // fails with HTTP status code 400 and a "scimType" error code of "noTarget"."
            (PatchOp::Remove, None, _) => Err(ScimError::no_target("\"remove\" needs a \"path\"")),
            _ => Ok(Self {
                op: kind,
                path,
                value,
            }),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
