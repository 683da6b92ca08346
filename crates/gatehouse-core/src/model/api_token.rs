//! Admin API tokens: bearer credentials for automation, stored only as hashes.

use crate::clock::Millis;
use crate::ids::{ApiTokenId, OrgId};
use crate::secret::TokenHash;

/// What an admin token may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenScope {
    /// Every organization.
    Instance,
    /// One organization only; other orgs' resources look absent (404).
    Org(OrgId),
}

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenKind {
    /// The admin API (and SCIM, as an administrator).
    #[default]
    Admin,
    /// SCIM provisioning (`/scim/v2`) of one org only; refused by the admin API.
    Scim,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Admin => "admin",
            TokenKind::Scim => "scim",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "admin" => Some(TokenKind::Admin),
            "scim" => Some(TokenKind::Scim),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiToken {
    pub id: ApiTokenId,
    pub name: String,
    pub scope: TokenScope,
    pub kind: TokenKind,
    /// SHA-256 of the token; the token itself is shown once at creation.
    pub hash: TokenHash,
    /// The first characters of the token, to recognise it in lists.
    pub prefix: String,
    pub created_at: Millis,
    pub expires_at: Option<Millis>,
    pub revoked_at: Option<Millis>,
    /// Who created it (an actor string as in audit events).
    pub created_by: String,
}

impl ApiToken {
    pub fn is_usable(&self, now: Millis) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| now < at)
    }
}
