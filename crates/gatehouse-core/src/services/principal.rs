//! Who is calling: the proven admin principal and the request's audit context.
//!
//! An [`AdminPrincipal`] can only be made by [`super::AdminAuth`] (from a bearer
//! token) or by the local CLI, so a service method that takes one cannot be
//! reached by an unauthenticated caller.

use crate::ids::{ApiTokenId, OrgId};
use crate::model::TokenScope;

/// An authenticated administrator (an API token, the bootstrap token, or the local CLI).
#[derive(Debug, Clone)]
pub struct AdminPrincipal {
    actor: String,
    scope: TokenScope,
    token_id: Option<ApiTokenId>,
}

impl AdminPrincipal {
    pub(crate) fn from_token(id: ApiTokenId, scope: TokenScope) -> Self {
        Self {
            actor: format!("token:{id}"),
            scope,
            token_id: Some(id),
        }
    }

    pub(crate) fn bootstrap() -> Self {
        Self {
            actor: "bootstrap".into(),
            scope: TokenScope::Instance,
            token_id: None,
        }
    }

    /// The operator at the machine running `gatehouse admin …`: whoever can open the
    /// database and master key already holds every right.
    pub fn cli() -> Self {
        Self {
            actor: "cli".into(),
            scope: TokenScope::Instance,
            token_id: None,
        }
    }

    /// The first administrator created through the one-time setup link.
    pub(crate) fn setup() -> Self {
        Self {
            actor: "setup".into(),
            scope: TokenScope::Instance,
            token_id: None,
        }
    }

    pub fn actor(&self) -> &str {
        &self.actor
    }

    pub fn scope(&self) -> TokenScope {
        self.scope
    }

    pub fn token_id(&self) -> Option<ApiTokenId> {
        self.token_id
    }

    /// Whether this principal may see resources of `org`.
    pub fn can_access(&self, org: OrgId) -> bool {
        match self.scope {
            TokenScope::Instance => true,
            TokenScope::Org(own) => own == org,
        }
    }

    /// The org filter for lists: `None` (all) for instance principals.
    pub fn org_filter(&self) -> Option<OrgId> {
        match self.scope {
            TokenScope::Instance => None,
            TokenScope::Org(own) => Some(own),
        }
    }

    /// Resolves the org a create request targets: the requested one if allowed,
    /// else the principal's own org, else the default org.
    pub fn target_org(&self, requested: Option<OrgId>) -> Option<OrgId> {
        match (self.scope, requested) {
            (TokenScope::Instance, Some(org)) => Some(org),
            (TokenScope::Instance, None) => Some(OrgId::DEFAULT),
            (TokenScope::Org(own), Some(org)) if org == own => Some(own),
            (TokenScope::Org(_), Some(_)) => None,
            (TokenScope::Org(own), None) => Some(own),
        }
    }
}

/// A SCIM client (RFC 7644 §2): a SCIM token of one org, or an admin token
/// acting on its org (an instance token on the default org). Made only by
/// [`super::AdminAuth::authenticate_scim`].
#[derive(Debug, Clone)]
pub struct ScimPrincipal {
    actor: String,
    org: OrgId,
}

impl ScimPrincipal {
    pub(crate) fn new(actor: String, org: OrgId) -> Self {
        Self { actor, org }
    }

    /// `scim_token:<id>`, `token:<id>` or `bootstrap`, as audit events record it.
    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// The only org whose users and groups this client sees.
    pub fn org(&self) -> OrgId {
        self.org
    }
}

/// Facts about the HTTP request (or CLI invocation) that audit events record.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}
