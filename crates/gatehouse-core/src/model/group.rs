//! Groups and their memberships.

use crate::clock::Millis;
use crate::ids::{GroupId, OrgId};

#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub id: GroupId,
    pub org_id: OrgId,
    /// Unique per org, case-insensitively.
    pub name: String,
    pub description: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub version: i64,
}

/// A group list request.
#[derive(Debug, Clone, Default)]
pub struct GroupQuery {
    /// Restrict to one org; `None` lists every org (instance tokens only).
    pub org_id: Option<OrgId>,
    /// Case-insensitive name prefix.
    pub name_prefix: Option<String>,
    /// Opaque cursor from a previous page.
    pub after: Option<String>,
    pub limit: u32,
}

/// A group rule: the org's users whose state matches `expression` are members
/// of `group_id` (rule-managed memberships, kept apart from manual ones).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRule {
    pub id: crate::ids::GroupRuleId,
    pub org_id: OrgId,
    pub group_id: GroupId,
    /// The source text, as given (see `services::group_rules::expr`).
    pub expression: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}
