//! The OpenID Provider's decisions: what an authorization request leads to
//! (sign-in, consent, a code or an error), what a token request earns, whether
//! a token is active, and what ends at logout.
//!
//! Wire formats come from `gatehouse-oauth` (parsing, errors, JWTs); this
//! module adds the state — clients, sessions, grants, keys — and the policy.
//! Every answer here is a protocol value (`OAuthError` or a typed result)
//! ready for the web layer to render; a storage failure becomes `server_error`
//! after being logged.
//!
//! Tokens: ID tokens and access tokens are JWTs (RFC 9068 for access tokens,
//! `typ: at+jwt`); a user's access token carries `jti = "<grant id>.<random>"`
//! so revoking the grant (logout, code or refresh-token reuse) deactivates it
//! at introspection and userinfo. Refresh tokens are opaque and stored hashed.
//!
//! Logout: RP-initiated (`logout`) ends the browser's session; back-channel
//! logout (`backchannel`) tells the session's clients, server to server.

mod access;
mod authorize;
mod backchannel;
mod claims;
mod device;
mod introspect;
mod logout;
mod revoke;
mod token;
mod userinfo;

use std::sync::Arc;

use gatehouse_oauth::jwk::Algorithm;
use gatehouse_oauth::jwt::{self, Header, JwtError};
use gatehouse_oauth::{ErrorCode, OAuthError};

pub use access::AccessToken;
pub use authorize::{AuthorizeStep, ConsentScreen, LoginScreen};
pub use backchannel::{
    BackChannel, LOGOUT_EVENT, LOGOUT_TOKEN_TTL_SECS, LogoutSender, MAX_ATTEMPTS,
};
pub use device::{DeviceAuthorization, DeviceScreen, normalise_user_code};
pub use introspect::Introspection;
pub use logout::{LogoutRequest, LogoutStep};
pub use token::TokenResponse;

use crate::error::Error;
use crate::services::Deps;
use crate::services::audit_log::AuditLog;
use crate::services::clients::Clients;
use crate::services::keys::Keys;
use crate::services::sessions::Sessions;

/// Provider settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthSettings {
    /// How long an authorization code may wait for the token request (RFC 6749 §4.1.2: short).
    pub code_ttl_secs: u32,
    /// How long an authorization request may wait for sign-in and consent.
    pub pending_ttl_secs: u32,
    /// The algorithm of ID tokens (RS256 unless a deployment chooses otherwise).
    pub id_token_alg: Algorithm,
    /// The algorithm of JWT access tokens.
    pub access_token_alg: Algorithm,
}

impl Default for OAuthSettings {
    fn default() -> Self {
        Self {
            code_ttl_secs: 60,
            pending_ttl_secs: 15 * 60,
            id_token_alg: Algorithm::RS256,
            access_token_alg: Algorithm::RS256,
        }
    }
}

/// The other services the provider works with.
#[derive(Debug)]
pub(crate) struct OAuthParts {
    pub audit_log: AuditLog,
    pub keys: Arc<Keys>,
    pub clients: Clients,
    pub sessions: Sessions,
}

#[derive(Debug, Clone)]
pub struct OAuth {
    deps: Deps,
    audit_log: AuditLog,
    keys: Arc<Keys>,
    clients: Clients,
    sessions: Sessions,
    issuer: String,
    settings: OAuthSettings,
    /// Instance secret mixed into pairwise subject identifiers.
    pairwise_salt: String,
}

impl OAuth {
    pub(crate) fn new(
        deps: Deps,
        parts: OAuthParts,
        issuer: String,
        settings: OAuthSettings,
        pairwise_salt: String,
    ) -> Self {
        let OAuthParts {
            audit_log,
            keys,
            clients,
            sessions,
        } = parts;
        Self {
            deps,
            audit_log,
            keys,
            clients,
            sessions,
            issuer,
            settings,
            pairwise_salt,
        }
    }

    /// The issuer identifier (the public URL), as it appears in `iss`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn settings(&self) -> &OAuthSettings {
        &self.settings
    }

    /// Deletes expired sessions, pending requests, codes, device codes, refresh
    /// tokens, grants and deny-list entries; run periodically by the server.
    pub async fn purge_expired(&self) -> crate::error::Result<u64> {
        Ok(self
            .deps
            .store
            .purge_expired(self.deps.clock.now_millis())
            .await?)
    }

    /// The header and payload of a token signed by this server's keys, or
    /// `None`. A `kid` unknown here may be another node's fresh key: the keys
    /// are reloaded (rate-limited) and the check repeated once.
    async fn verify_ours(&self, token: &str) -> Result<Option<(Header, Vec<u8>)>, OAuthError> {
        let keys = self.keys.verifier().await.map_err(server_error)?;
        match jwt::verify_signature(token, &keys, &Algorithm::ALL) {
            Ok(found) => Ok(Some(found)),
            Err(JwtError::NoKey) => {
                let Some(kid) = unverified_kid(token) else {
                    return Ok(None);
                };
                let keys = self
                    .keys
                    .verifier_for_kid(&kid)
                    .await
                    .map_err(server_error)?;
                Ok(jwt::verify_signature(token, &keys, &Algorithm::ALL).ok())
            }
            Err(_) => Ok(None),
        }
    }

    fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }
}

/// The `kid` a token's header claims, before any verification (only used to
/// pick keys to reload; the signature check decides).
fn unverified_kid(token: &str) -> Option<String> {
    use base64::Engine;
    let header = token.split('.').next()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    value["kid"].as_str().map(str::to_owned)
}

/// A failure of the store or the keys, told to the client only as `server_error`.
fn server_error(error: impl Into<Error>) -> OAuthError {
    let error: Error = error.into();
    tracing::error!(error = %error, "OAuth request failed inside");
    OAuthError::new(ErrorCode::ServerError)
}
