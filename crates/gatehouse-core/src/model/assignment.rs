//! App assignment: which users (directly, or through a group) may use an
//! application that requires assignment. One model for every kind of
//! application, so SAML service providers and OAuth clients share it.

use serde::{Deserialize, Serialize};

use crate::clock::Millis;
use crate::ids::{GroupId, OrgId, UserId};

/// An application that can require assignment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AppRef {
    /// A SAML service provider, by id.
    Saml(crate::ids::ServiceProviderId),
    /// An OAuth client, by `client_id`.
    OAuth(String),
}

impl AppRef {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Saml(_) => "saml",
            Self::OAuth(_) => "oauth",
        }
    }

    pub fn id(&self) -> String {
        match self {
            Self::Saml(id) => id.to_string(),
            Self::OAuth(client) => client.clone(),
        }
    }
}

/// Who is assigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum AssignmentSubject {
    User(UserId),
    /// Every member of the group.
    Group(GroupId),
}

impl AssignmentSubject {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::User(_) => "user",
            Self::Group(_) => "group",
        }
    }

    pub fn id(&self) -> String {
        match self {
            Self::User(id) => id.to_string(),
            Self::Group(id) => id.to_string(),
        }
    }
}

/// One assignment of a user or group to an application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppAssignment {
    pub app: AppRef,
    pub subject: AssignmentSubject,
    pub org_id: OrgId,
    pub created_at: Millis,
}
