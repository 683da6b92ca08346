//! Organizations: tenants with their own domains, profile schema and password policy.

use crate::clock::Millis;
use crate::ids::OrgId;
use crate::password::PasswordPolicy;

#[derive(Debug, Clone, PartialEq)]
pub struct Organization {
    pub id: OrgId,
    /// URL-safe unique handle, lower case.
    pub slug: String,
    pub name: String,
    /// E-mail / login domains for home-realm discovery; unique across orgs, lower case.
    pub domains: Vec<String>,
    /// JSON Schema (draft 2020-12) that users' custom `attributes` must satisfy.
    pub profile_schema: Option<serde_json::Value>,
    pub password_policy: PasswordPolicy,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// Incremented on every update; the ETag.
    pub version: i64,
}
