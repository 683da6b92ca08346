//! Pending back-channel logout notifications (OpenID Connect Back-Channel
//! Logout 1.0): one row per client to tell that a session ended, kept until
//! the client answers 200 or the retries run out.

use crate::clock::Millis;
use crate::ids::LogoutDeliveryId;

/// One logout notification waiting to be POSTed to a client.
///
/// `claims` is the logout token's claim set without `iat`, `exp` and `jti`
/// (JSON text): the token is signed when it is sent, so a retry an hour later
/// still carries a fresh, short-lived token, and the database holds nothing
/// an attacker could replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutDelivery {
    pub id: LogoutDeliveryId,
    pub client_id: String,
    /// The client's `backchannel_logout_uri` when the session ended.
    pub uri: String,
    pub claims: String,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Due at this time; a claim pushes it forward by the lease.
    pub next_attempt_at: Millis,
    pub created_at: Millis,
    /// Why the last attempt failed (status code or transport error; never a token).
    pub last_error: Option<String>,
}
