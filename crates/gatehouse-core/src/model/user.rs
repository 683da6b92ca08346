//! Users: identity, OIDC standard claims, custom attributes and lifecycle.

use crate::clock::Millis;
use crate::ids::{GroupId, OrgId, UserId};
use crate::model::SortOrder;

/// Lifecycle states (Okta-style). Transitions are [`LifecycleAction`]s.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    /// Created but not yet allowed to sign in.
    Staged,
    Active,
    /// Blocked by an administrator; keeps credentials and memberships.
    Suspended,
    /// Blocked by brute-force protection until unlocked or the lockout ends.
    LockedOut,
    /// Deactivated: cannot sign in, awaiting deletion or reactivation.
    Deprovisioned,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Staged => "staged",
            UserStatus::Active => "active",
            UserStatus::Suspended => "suspended",
            UserStatus::LockedOut => "locked_out",
            UserStatus::Deprovisioned => "deprovisioned",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "staged" => UserStatus::Staged,
            "active" => UserStatus::Active,
            "suspended" => UserStatus::Suspended,
            "locked_out" => UserStatus::LockedOut,
            "deprovisioned" => UserStatus::Deprovisioned,
            _ => return None,
        })
    }
}

/// A lifecycle transition an administrator can request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LifecycleAction {
    Activate,
    Suspend,
    Unsuspend,
    Unlock,
    Deactivate,
}

impl LifecycleAction {
    pub fn as_str(self) -> &'static str {
        match self {
            LifecycleAction::Activate => "activate",
            LifecycleAction::Suspend => "suspend",
            LifecycleAction::Unsuspend => "unsuspend",
            LifecycleAction::Unlock => "unlock",
            LifecycleAction::Deactivate => "deactivate",
        }
    }

    /// The state this action leads to from `from`, or `None` when the transition is not allowed.
    pub fn apply(self, from: UserStatus) -> Option<UserStatus> {
        use UserStatus::*;
        match (self, from) {
            (LifecycleAction::Activate, Staged | Deprovisioned) => Some(Active),
            (LifecycleAction::Suspend, Active) => Some(Suspended),
            (LifecycleAction::Unsuspend, Suspended) => Some(Active),
            (LifecycleAction::Unlock, LockedOut) => Some(Active),
            (LifecycleAction::Deactivate, Staged | Active | Suspended | LockedOut) => {
                Some(Deprovisioned)
            }
            _ => None,
        }
    }
}

/// OpenID Connect Core §5.1 standard claims other than `sub`, `email`, `preferred_username`
/// (those live on [`User`] itself). Absent claims are omitted when serialised.
#[derive(
    Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct StandardClaims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    /// `YYYY-MM-DD` or `YYYY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birthdate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zoneinfo: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub phone_number_verified: bool,
    /// OIDC §5.1.1 address claim, stored as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub address: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: UserId,
    pub org_id: OrgId,
    /// Unique per org, case-insensitively; kept as given.
    pub username: String,
    /// Unique per org, case-insensitively, when present.
    pub email: Option<String>,
    pub email_verified: bool,
    pub claims: StandardClaims,
    /// Custom attributes, validated against the org's profile schema.
    pub attributes: serde_json::Map<String, serde_json::Value>,
    pub status: UserStatus,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub status_changed_at: Millis,
    pub last_login_at: Option<Millis>,
    /// Incremented on every update; the ETag.
    pub version: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserSort {
    /// Creation order (ids are time-ordered).
    #[default]
    Created,
    Username,
}

/// A user list request.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    /// Restrict to one org; `None` lists every org (instance tokens only).
    pub org_id: Option<OrgId>,
    pub status: Option<UserStatus>,
    /// Exact e-mail, case-insensitive.
    pub email: Option<String>,
    /// Case-insensitive username prefix.
    pub username_prefix: Option<String>,
    /// Only members of this group.
    pub group_id: Option<GroupId>,
    pub sort: UserSort,
    pub order: SortOrder,
    /// Opaque cursor from a previous page (only valid with the same sort and order).
    pub after: Option<String>,
    pub limit: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_transitions_follow_the_state_machine() {
        use LifecycleAction::*;
        use UserStatus::*;
        let cases = [
            (Activate, Staged, Some(Active)),
            (Activate, Active, None),
            (Suspend, Active, Some(Suspended)),
            (Suspend, Staged, None),
            (Unsuspend, Suspended, Some(Active)),
            (Unsuspend, Active, None),
            (Unlock, LockedOut, Some(Active)),
            (Unlock, Suspended, None),
            (Deactivate, Suspended, Some(Deprovisioned)),
            (Deactivate, Deprovisioned, None),
            (Activate, Deprovisioned, Some(Active)),
        ];
        for (action, from, to) in cases {
            assert_eq!(action.apply(from), to, "{action:?} from {from:?}");
        }
    }

    #[test]
    fn status_text_round_trips() {
        for s in [
            UserStatus::Staged,
            UserStatus::Active,
            UserStatus::Suspended,
            UserStatus::LockedOut,
            UserStatus::Deprovisioned,
        ] {
            assert_eq!(UserStatus::parse(s.as_str()), Some(s));
        }
    }
}
