//! The SCIM error: the `scimType` keywords, the HTTP status each gets, and
//! the `urn:ietf:params:scim:api:messages:2.0:Error` body (RFC 7644 §3.12).
//!
//! A `detail` is text written in this code base (it may name an attribute
//! path or a byte position), never a value copied from the request, so a
//! password sent in a PATCH cannot come back in an error body.

use std::fmt;

use serde_json::{Value, json};

/// The schema URI of an error response (RFC 7644 §3.12).
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The `scimType` keywords of RFC 7644 §3.12, Table 9.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScimType {
    /// The filter syntax was invalid or the operator is not supported.
    InvalidFilter,
    /// The filter yields more results than the server will process.
    TooMany,
    /// One or more attribute values are already in use or reserved.
    Uniqueness,
    /// The change is incompatible with an attribute's mutability.
    Mutability,
    /// The request body is not valid or the schema is wrong.
    InvalidSyntax,
    /// The `path` attribute is invalid or malformed.
    InvalidPath,
    /// The path or filter matched no attribute value.
    NoTarget,
    /// A required value was missing or the value is not compatible.
    InvalidValue,
    /// The SCIM version is not supported.
    InvalidVers,
    /// The request cannot be completed because of sensitive information (e.g. in the URI).
    Sensitive,
}

impl ScimType {
    /// The keyword as it appears in `scimType`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidFilter => "invalidFilter",
            Self::TooMany => "tooMany",
            Self::Uniqueness => "uniqueness",
            Self::Mutability => "mutability",
            Self::InvalidSyntax => "invalidSyntax",
            Self::InvalidPath => "invalidPath",
            Self::NoTarget => "noTarget",
            Self::InvalidValue => "invalidValue",
            Self::InvalidVers => "invalidVers",
            Self::Sensitive => "sensitive",
        }
    }

    /// The HTTP status Table 9 gives the keyword: 409 for `uniqueness`,
    /// 403 for `sensitive`, 400 for the others.
    pub fn status(self) -> u16 {
        match self {
            Self::Uniqueness => 409,
            Self::Sensitive => 403,
            Self::InvalidFilter
            | Self::TooMany
            | Self::Mutability
            | Self::InvalidSyntax
            | Self::InvalidPath
            | Self::NoTarget
            | Self::InvalidValue
            | Self::InvalidVers => 400,
        }
    }
}

impl fmt::Display for ScimType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A SCIM error response: an HTTP status, an optional `scimType` and a
/// human-readable detail.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{status} {}: {detail}", scim_type.map_or("-", ScimType::as_str))]
pub struct ScimError {
    pub status: u16,
    pub scim_type: Option<ScimType>,
    pub detail: String,
}

impl ScimError {
    /// An error with a `scimType`, at the status Table 9 gives it.
    pub fn new(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self {
            status: scim_type.status(),
            scim_type: Some(scim_type),
            detail: detail.into(),
        }
    }

    /// An error with only a status (404, 409, 412, 413, 500, 501, ...).
    pub fn with_status(status: u16, detail: impl Into<String>) -> Self {
        Self {
            status,
            scim_type: None,
            detail: detail.into(),
        }
    }

    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::new(ScimType::InvalidFilter, detail)
    }

    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::new(ScimType::InvalidSyntax, detail)
    }

    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::new(ScimType::InvalidPath, detail)
    }

    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::new(ScimType::InvalidValue, detail)
    }

    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::new(ScimType::NoTarget, detail)
    }

    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::new(ScimType::Mutability, detail)
    }

    /// The RFC 7644 §3.12 body. `status` is a string, as the RFC's schema
    /// and examples have it.
    pub fn to_json(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.to_string(),
        });
        if let (Some(scim_type), Some(map)) = (self.scim_type, body.as_object_mut()) {
            map.insert("scimType".into(), scim_type.as_str().into());
        }
        if let Some(map) = body.as_object_mut() {
            map.insert("detail".into(), self.detail.clone().into());
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(error: ScimError, expected: Value) {
        assert_eq!(error.to_json(), expected, "{error}");
    }

    #[test]
    fn body_follows_rfc_7644_section_3_12() {
        check(
            ScimError::invalid_filter("expected an attribute path at byte 0"),
            json!({
                "schemas": [ERROR_SCHEMA],
                "status": "400",
                "scimType": "invalidFilter",
                "detail": "expected an attribute path at byte 0",
            }),
        );
        check(
            ScimError::new(ScimType::Uniqueness, "userName is already in use"),
            json!({
                "schemas": [ERROR_SCHEMA],
                "status": "409",
                "scimType": "uniqueness",
                "detail": "userName is already in use",
            }),
        );
        check(
            ScimError::with_status(404, "Resource 2819c223 not found"),
            json!({
                "schemas": [ERROR_SCHEMA],
                "status": "404",
                "detail": "Resource 2819c223 not found",
            }),
        );
    }

    #[test]
    fn every_keyword_and_status() {
        let all = [
            (ScimType::InvalidFilter, "invalidFilter", 400),
            (ScimType::TooMany, "tooMany", 400),
            (ScimType::Uniqueness, "uniqueness", 409),
            (ScimType::Mutability, "mutability", 400),
            (ScimType::InvalidSyntax, "invalidSyntax", 400),
            (ScimType::InvalidPath, "invalidPath", 400),
            (ScimType::NoTarget, "noTarget", 400),
            (ScimType::InvalidValue, "invalidValue", 400),
            (ScimType::InvalidVers, "invalidVers", 400),
            (ScimType::Sensitive, "sensitive", 403),
        ];
        for (scim_type, keyword, status) in all {
            assert_eq!(scim_type.as_str(), keyword);
            assert_eq!(scim_type.to_string(), keyword);
            let error = ScimError::new(scim_type, "d");
            assert_eq!(error.status, status);
            assert_eq!(error.to_json()["status"], status.to_string());
            assert_eq!(error.to_json()["scimType"], keyword);
        }
    }
}
