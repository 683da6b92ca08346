//! Bulk operations (RFC 7644 §3.7): parsing a `BulkRequest` under the
//! advertised `maxOperations`/`maxPayloadSize` (§3.7.4), ordering its
//! operations so each runs after the POST whose `bulkId` it references,
//! with unresolvable and circular references reported per operation
//! (§3.7.1, §3.7.2), substituting created ids for `bulkId:` references, and
//! rendering the `BulkResponse` (§3.7.3).

use std::collections::{BTreeSet, HashMap};

use serde_json::{Map, Value, json};

use crate::error::ScimError;
use crate::patch::{member, require_schema};

pub const BULK_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
pub const BULK_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

/// The prefix of a reference to another operation's resource (§3.7.2).
const BULK_ID_PREFIX: &str = "bulkId:";

/// The limits advertised in `/ServiceProviderConfig` `bulk`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BulkLimits {
    pub max_operations: usize,
    pub max_payload_size: usize,
}

impl Default for BulkLimits {
    fn default() -> Self {
        Self {
            max_operations: 1000,
            max_payload_size: 1_048_576,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BulkMethod {
    Post,
    Put,
    Patch,
    Delete,
}

impl BulkMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }
}

/// One operation of a bulk request.
#[derive(Clone, Debug, PartialEq)]
pub struct BulkOperation {
    pub method: BulkMethod,
    /// Required for POST (§3.7: "REQUIRED when "method" is "POST"").
    pub bulk_id: Option<String>,
    /// The ETag to match (If-Match) for PUT, PATCH and DELETE.
    pub version: Option<String>,
    /// Relative to the SCIM base, e.g. `/Users` or `/Groups/{id}`.
    pub path: String,
    /// The resource (POST, PUT) or PatchOp message (PATCH).
    pub data: Option<Value>,
}

/// A parsed bulk request.
#[derive(Clone, Debug, PartialEq)]
pub struct BulkRequest {
    /// Stop after this many errors (§3.7.3); `None` runs every operation.
    pub fail_on_errors: Option<u32>,
    pub operations: Vec<BulkOperation>,
}

impl BulkRequest {
    /// Parses a request body. §3.7.4: a body over `maxPayloadSize` or with
    /// more than `maxOperations` operations is 413 (no `scimType`; the RFC's
    /// example has none).
    pub fn parse(body: &[u8], limits: &BulkLimits) -> Result<Self, ScimError> {
        if body.len() > limits.max_payload_size {
            return Err(ScimError::with_status(
                413,
                format!(
                    "The size of the bulk operation exceeds the maxPayloadSize ({}).",
                    limits.max_payload_size
                ),
            ));
        }
        let value: Value = serde_json::from_slice(body)
            .map_err(|_| ScimError::invalid_syntax("the request body is not valid JSON"))?;
        let body = value
            .as_object()
            .ok_or_else(|| ScimError::invalid_syntax("the request body must be a JSON object"))?;
        require_schema(body, BULK_REQUEST_SCHEMA)?;
        let fail_on_errors = match member(body, "failOnErrors") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_u64()
                    .filter(|n| *n >= 1)
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| {
                        ScimError::invalid_value("\"failOnErrors\" must be a positive integer")
                    })?,
            ),
        };
        let operations = member(body, "Operations")
            .and_then(Value::as_array)
            .ok_or_else(|| ScimError::invalid_syntax("\"Operations\" must be an array"))?;
        if operations.len() > limits.max_operations {
            return Err(ScimError::with_status(
                413,
                format!(
                    "The number of operations exceeds the maxOperations ({}).",
                    limits.max_operations
                ),
            ));
        }
        let operations: Vec<BulkOperation> = operations
            .iter()
            .enumerate()
            .map(|(i, op)| {
                BulkOperation::parse(op).map_err(|mut e| {
                    e.detail = format!("Operations[{i}]: {}", e.detail);
                    e
                })
            })
            .collect::<Result<_, _>>()?;
        let mut seen = BTreeSet::new();
        for op in &operations {
            if let Some(id) = &op.bulk_id
                && !seen.insert(id.as_str())
            {
                return Err(ScimError::invalid_value(
                    "two operations share one \"bulkId\"",
                ));
            }
        }
        Ok(Self {
            fail_on_errors,
            operations,
        })
    }

    /// True once `errors` errors mean the rest must not run (§3.7.3).
    pub fn should_stop(&self, errors: u32) -> bool {
        self.fail_on_errors.is_some_and(|limit| errors >= limit)
    }

    /// The order to run the operations in: request order, except that an
    /// operation waits for the POST defining each `bulkId` it references.
    /// Operations referencing an unknown `bulkId` (400 `invalidValue`) or
    /// caught in a cycle (409, §3.7.1) come back in `failed` with their error.
    pub fn plan(&self) -> BulkPlan {
        let defined: HashMap<&str, usize> = self
            .operations
            .iter()
            .enumerate()
            .filter_map(|(i, op)| op.bulk_id.as_deref().map(|id| (id, i)))
            .collect();
        let mut failed = Vec::new();
        let mut waiting: Vec<(usize, BTreeSet<usize>)> = Vec::new();
        for (index, op) in self.operations.iter().enumerate() {
            let mut needs = BTreeSet::new();
            let mut unknown = None;
            for reference in op.references() {
                match defined.get(reference.as_str()) {
                    Some(&i) => {
                        needs.insert(i);
                    }
                    None => unknown = Some(reference),
                }
            }
            match unknown {
                Some(_) => failed.push((
                    index,
                    ScimError::invalid_value("the operation references an undefined bulkId"),
                )),
                None => waiting.push((index, needs)),
            }
        }
        let mut order = Vec::new();
        let mut done = BTreeSet::new();
        let mut dropped: BTreeSet<usize> = failed.iter().map(|(i, _)| *i).collect();
        loop {
            let ready = waiting.iter().position(|(_, needs)| {
                needs
                    .iter()
                    .all(|n| done.contains(n) || dropped.contains(n))
            });
            let Some(position) = ready else { break };
            let (index, _) = waiting.remove(position);
            order.push(index);
            done.insert(index);
        }
        // Whatever is still waiting depends, directly or not, on a cycle.
        for (index, _) in waiting {
            dropped.insert(index);
            failed.push((
                index,
                ScimError::with_status(
                    409,
                    "the operation's bulkId references are circular and could not be resolved",
                ),
            ));
        }
        failed.sort_by_key(|(i, _)| *i);
        BulkPlan { order, failed }
    }
}

/// The result of [`BulkRequest::plan`]: indexes into `operations`.
#[derive(Clone, Debug, PartialEq)]
pub struct BulkPlan {
    pub order: Vec<usize>,
    pub failed: Vec<(usize, ScimError)>,
}

/// Calls `f` on every string in `value`.
fn for_each_string(value: &Value, f: &mut impl FnMut(&str)) {
    match value {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter().for_each(|i| for_each_string(i, f)),
        Value::Object(map) => map.values().for_each(|v| for_each_string(v, f)),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

impl BulkOperation {
    fn parse(op: &Value) -> Result<Self, ScimError> {
        let op = op
            .as_object()
            .ok_or_else(|| ScimError::invalid_syntax("an operation must be a JSON object"))?;
        let text = |name: &str| -> Result<Option<String>, ScimError> {
            match member(op, name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(ScimError::invalid_syntax(format!(
                    "\"{name}\" must be a string"
                ))),
            }
        };
        let method = match text("method")?.as_deref() {
            Some(m) if m.eq_ignore_ascii_case("POST") => BulkMethod::Post,
            Some(m) if m.eq_ignore_ascii_case("PUT") => BulkMethod::Put,
            Some(m) if m.eq_ignore_ascii_case("PATCH") => BulkMethod::Patch,
            Some(m) if m.eq_ignore_ascii_case("DELETE") => BulkMethod::Delete,
            Some(_) => {
                return Err(ScimError::invalid_syntax(
                    "\"method\" must be POST, PUT, PATCH or DELETE",
                ));
            }
            None => return Err(ScimError::invalid_syntax("\"method\" is missing")),
        };
        let bulk_id = text("bulkId")?;
        let path = text("path")?.ok_or_else(|| ScimError::invalid_syntax("\"path\" is missing"))?;
        if !path.starts_with('/') {
            return Err(ScimError::invalid_syntax("\"path\" must start with '/'"));
        }
        let data = member(op, "data").filter(|d| !d.is_null()).cloned();
        match method {
            BulkMethod::Post if bulk_id.as_deref().is_none_or(str::is_empty) => Err(
                ScimError::invalid_syntax("a POST operation needs a \"bulkId\""),
            ),
            BulkMethod::Post | BulkMethod::Put | BulkMethod::Patch if data.is_none() => {
                Err(ScimError::invalid_syntax(format!(
                    "a {} operation needs \"data\"",
                    method.as_str()
                )))
            }
            _ => Ok(Self {
                method,
                bulk_id,
                version: text("version")?,
                path,
                data,
            }),
        }
    }

    /// The `bulkId`s this operation references, in its path and data.
    pub fn references(&self) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        let mut note = |s: &str| {
            if let Some(id) = s.strip_prefix(BULK_ID_PREFIX) {
                found.insert(id.to_owned());
            }
        };
        self.path.split('/').for_each(&mut note);
        if let Some(data) = &self.data {
            for_each_string(data, &mut note);
        }
        found
    }

    /// The path and data with every `bulkId:x` replaced by the id the
    /// operation defining `x` created. A reference whose operation did not
    /// create a resource is 409 (§3.7.1).
    pub fn resolve(
        &self,
        created: &HashMap<String, String>,
    ) -> Result<(String, Option<Value>), ScimError> {
        let lookup = |s: &str| -> Result<Option<String>, ScimError> {
            match s.strip_prefix(BULK_ID_PREFIX) {
                None => Ok(None),
                Some(id) => created.get(id).cloned().map(Some).ok_or_else(|| {
                    ScimError::with_status(
                        409,
                        "a referenced bulkId did not create a resource and cannot be resolved",
                    )
                }),
            }
        };
        let path = self
            .path
            .split('/')
            .map(|segment| Ok(lookup(segment)?.unwrap_or_else(|| segment.to_owned())))
            .collect::<Result<Vec<_>, ScimError>>()?
            .join("/");
        let data = self
            .data
            .as_ref()
            .map(|d| substitute(d, &lookup))
            .transpose()?;
        Ok((path, data))
    }
}

fn substitute(
    value: &Value,
    lookup: &impl Fn(&str) -> Result<Option<String>, ScimError>,
) -> Result<Value, ScimError> {
    Ok(match value {
        Value::String(s) => Value::String(lookup(s)?.unwrap_or_else(|| s.clone())),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|i| substitute(i, lookup))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), substitute(v, lookup)?)))
                .collect::<Result<Map<_, _>, ScimError>>()?,
        ),
        other => other.clone(),
    })
}

/// The outcome of one operation, as the `BulkResponse` reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct BulkOperationResult {
    pub method: BulkMethod,
    pub bulk_id: Option<String>,
    pub version: Option<String>,
    pub location: Option<String>,
    pub status: u16,
    /// The error body for a failure (§3.7.3: "response" carries the SCIM error).
    pub response: Option<Value>,
}

impl BulkOperationResult {
    /// A failed operation: its error as the `response`.
    pub fn failed(op: &BulkOperation, error: &ScimError) -> Self {
        Self {
            method: op.method,
            bulk_id: op.bulk_id.clone(),
            version: None,
            location: None,
            status: error.status,
            response: Some(error.to_json()),
        }
    }

    fn to_json(&self) -> Value {
        let mut map = Map::new();
        map.insert("method".into(), self.method.as_str().into());
        if let Some(id) = &self.bulk_id {
            map.insert("bulkId".into(), id.clone().into());
        }
        if let Some(version) = &self.version {
            map.insert("version".into(), version.clone().into());
        }
        if let Some(location) = &self.location {
            map.insert("location".into(), location.clone().into());
        }
        map.insert("status".into(), self.status.to_string().into());
        if let Some(response) = &self.response {
            map.insert("response".into(), response.clone());
        }
        Value::Object(map)
    }
}

/// The `BulkResponse` message (§3.7.3); statuses are strings, as in the RFC.
pub fn bulk_response(results: &[BulkOperationResult]) -> Value {
    json!({
        "schemas": [BULK_RESPONSE_SCHEMA],
        "Operations": results.iter().map(BulkOperationResult::to_json).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
