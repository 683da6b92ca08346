//! OAuth grants: what a user allowed a client, and the single-use secrets
//! (authorization codes, refresh tokens) that stand for it. All secrets are
//! stored as SHA-256 hashes; single-use transitions are atomic in the store.

use crate::clock::Millis;
use crate::ids::{GrantId, OrgId, SessionId, UserId};
use crate::secret::TokenHash;

/// A validated authorization request waiting for sign-in or consent, so that
/// any node can continue it. The handle in the URL is random; only its hash is kept.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingAuthorization {
    pub handle_hash: TokenHash,
    pub client_id: String,
    /// The request's parameters as the authorization endpoint validated them.
    pub request: serde_json::Value,
    pub created_at: Millis,
    pub expires_at: Millis,
}

/// One sign-in's authorization of a client: every code, refresh token and
/// access token issued from it belongs to this family, and dies with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    pub id: GrantId,
    pub client_id: String,
    pub org_id: OrgId,
    pub user_id: UserId,
    /// The SSO session it came from (`sid`); `None` for device-flow grants.
    pub session_id: Option<SessionId>,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// RFC 8707 resource indicators the grant may be used for.
    pub resources: Vec<String>,
    /// The OIDC `claims` request parameter, if any.
    pub claims: Option<serde_json::Value>,
    pub auth_time: Millis,
    pub acr: Option<String>,
    pub amr: Vec<String>,
    pub created_at: Millis,
    /// No token of the family outlives this (the refresh-family lifetime).
    pub expires_at: Millis,
    pub revoked_at: Option<Millis>,
}

impl Grant {
    pub fn is_active(&self, now: Millis) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }

    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.split(' ').filter(|s| !s.is_empty())
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().any(|s| s == scope)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuthorizationCode {
    pub code_hash: TokenHash,
    pub grant_id: GrantId,
    /// The redirect URI the code was sent to.
    pub redirect_uri: String,
    /// Whether the request named it (then the token request must repeat it, RFC 6749 §4.1.3).
    pub redirect_given: bool,
    /// PKCE S256 challenge.
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    pub created_at: Millis,
    pub expires_at: Millis,
    pub used_at: Option<Millis>,
}

/// What presenting a code did.
#[derive(Debug, Clone, PartialEq)]
pub enum CodeRedemption {
    /// First use: the code is now spent.
    Redeemed(Box<(AuthorizationCode, Grant)>),
    /// Second use: the code's grant (with every token issued from it) was revoked.
    Reused(GrantId),
    /// No such code.
    Unknown,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RefreshToken {
    pub token_hash: TokenHash,
    pub grant_id: GrantId,
    pub created_at: Millis,
    pub expires_at: Millis,
    pub used_at: Option<Millis>,
}

/// What presenting a refresh token for rotation did.
#[derive(Debug, Clone, PartialEq)]
pub enum RefreshRotation {
    /// The token was current: it is spent and its successor stored.
    Rotated(Box<Grant>),
    /// The token was already spent: reuse means theft, so the family was revoked.
    Reused(GrantId),
    /// Unknown, expired, or its grant is revoked or expired: nothing changed.
    Invalid,
}

/// Scopes a user allowed a client; asked again only for scopes beyond these.
#[derive(Debug, Clone, PartialEq)]
pub struct Consent {
    pub user_id: UserId,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub granted_at: Millis,
}

/// Where a device authorization request stands (RFC 8628 §3.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceStatus {
    /// Waiting for the user to enter the code.
    Pending,
    /// The user allowed it; the next poll gets tokens.
    Approved,
    /// The user refused.
    Denied,
    /// Tokens were issued; the device code is spent.
    Consumed,
}

impl DeviceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Consumed => "consumed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "pending" => Self::Pending,
            "approved" => Self::Approved,
            "denied" => Self::Denied,
            "consumed" => Self::Consumed,
            _ => return None,
        })
    }
}

/// Who approved a device request, and how they had signed in.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceApproval {
    pub user_id: UserId,
    pub session_id: SessionId,
    pub auth_time: Millis,
    pub amr: Vec<String>,
    pub acr: Option<String>,
}

/// A device authorization request (RFC 8628 §3.1–3.2).
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceCode {
    pub device_code_hash: TokenHash,
    /// Normalised (`BCDF-GHJK`), unique while stored.
    pub user_code: String,
    pub client_id: String,
    pub scope: String,
    pub resources: Vec<String>,
    pub status: DeviceStatus,
    pub approval: Option<DeviceApproval>,
    /// Seconds the device must wait between polls (raised by `slow_down`).
    pub interval_secs: i64,
    pub last_polled_at: Option<Millis>,
    pub created_at: Millis,
    pub expires_at: Millis,
}

/// What a device's poll found (RFC 8628 §3.5).
#[derive(Debug, Clone, PartialEq)]
pub enum DevicePoll {
    /// No such code, or it expired.
    Expired,
    /// Polled sooner than the interval allows; the interval grew by 5 s.
    SlowDown,
    Pending,
    Denied,
    /// Approved and now spent by this poll: issue the tokens.
    Approved(Box<DeviceCode>),
    /// Already exchanged.
    Consumed,
}
