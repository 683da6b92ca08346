//! Browser single sign-on sessions. The cookie carries a random secret; the
//! store keeps only its SHA-256. The session id is public: it is the OIDC `sid`.

use crate::clock::Millis;
use crate::ids::{OrgId, SessionId, UserId};
use crate::secret::TokenHash;

#[derive(Debug, Clone, PartialEq)]
pub struct SsoSession {
    pub id: SessionId,
    pub secret_hash: TokenHash,
    pub org_id: OrgId,
    pub user_id: UserId,
    /// When the user last proved who they are (OIDC `auth_time`).
    pub auth_time: Millis,
    /// Authentication methods (RFC 8176 `amr` values: `pwd`, `otp`, `hwk`, `mfa`, …).
    pub amr: Vec<String>,
    pub acr: Option<String>,
    pub created_at: Millis,
    pub last_seen_at: Millis,
    /// Absolute end of the session.
    pub expires_at: Millis,
    pub revoked_at: Option<Millis>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// This session's idle timeout, set from the org's sign-on policy when
    /// it started; `None`: the server's.
    pub idle_secs: Option<u32>,
    /// The sign-in skipped a required second factor because the browser is
    /// a remembered device: `acr` stays `1` and `amr` has no `mfa`, but the
    /// policy's second-factor requirement counts as met (where the policy
    /// allows remembering devices).
    pub remembered_device: bool,
}

impl SsoSession {
    /// Usable at `now`: not revoked, not past its end and not idle for
    /// longer than its own idle timeout, or `idle_ms` (the server's) when it
    /// has none.
    pub fn is_active(&self, now: Millis, idle_ms: Millis) -> bool {
        let idle_ms = self
            .idle_secs
            .map_or(idle_ms, |secs| i64::from(secs) * 1000);
        self.revoked_at.is_none()
            && now < self.expires_at
            && now.saturating_sub(self.last_seen_at) < idle_ms
    }
}
