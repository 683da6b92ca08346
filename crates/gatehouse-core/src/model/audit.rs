//! Audit events: an append-only record of every security-relevant change.

use crate::clock::Millis;
use crate::ids::{AuditEventId, OrgId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub id: AuditEventId,
    pub at: Millis,
    /// Who acted: `token:<id>`, `bootstrap`, `user:<id>`, `system`.
    pub actor: String,
    /// Dotted verb, e.g. `user.create`, `user.suspend`, `api_token.revoke`.
    pub action: String,
    /// Kind of the target (`user`, `group`, `org`, `api_token`).
    pub target_type: String,
    pub target_id: Option<String>,
    pub org_id: Option<OrgId>,
    pub outcome: Outcome,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    /// Extra structured detail; never a secret.
    pub details: serde_json::Value,
}

/// An audit list request (newest first).
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub org_id: Option<OrgId>,
    pub action: Option<String>,
    pub target_id: Option<String>,
    pub after: Option<String>,
    pub limit: u32,
}
