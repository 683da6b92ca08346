//! OpenID Connect Back-Channel Logout 1.0: when a session ends, every client
//! it signed in to that registered a `backchannel_logout_uri` is sent a
//! Logout Token (§2.4) by a direct POST (§2.5), retried until it answers.
//!
//! The notifications are enqueued in the transaction that revokes the session
//! ([`crate::store::SessionStore::revoke_session`]), so a logout that
//! committed is never forgotten by a crash. [`BackChannel::deliver_due`]
//! works the queue: it leases due rows, signs each token at sending time (a
//! short `exp` stays meaningful across retries), and on failure backs off
//! exponentially, giving up after [`MAX_ATTEMPTS`] with the audit event
//! `logout.delivery_failed`. Core does no HTTP: the web layer supplies the
//! [`LogoutSender`].

use std::sync::Arc;

use async_trait::async_trait;
use gatehouse_oauth::jwk::Algorithm;
use gatehouse_oauth::jwt::{self, typ};
use serde_json::{Map, Value, json};

use super::token::subject_for;
use crate::clock::Millis;
use crate::error::{Error, Result};
use crate::ids::LogoutDeliveryId;
use crate::model::{LogoutDelivery, Outcome, SsoSession};
use crate::services::Deps;
use crate::services::audit::Target;
use crate::services::clients::Clients;
use crate::services::keys::Keys;
use crate::services::principal::RequestContext;

/// §2.4: the `events` member that makes a JWT a Logout Token.
pub const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// Lifetime of a Logout Token (§2.4 `exp`; §4: short, to limit replay).
pub const LOGOUT_TOKEN_TTL_SECS: i64 = 120;
/// Attempts before a delivery is abandoned.
pub const MAX_ATTEMPTS: u32 = 8;
/// Wait after the first failure; doubled after each further one
/// (30 s, 1 min, 2 min … 32 min: about an hour in all).
pub const FIRST_RETRY_MS: Millis = 30_000;
/// How long a claim keeps other nodes off a delivery. It must outlast one
/// batch of sends (each bounded by the sender's timeout).
pub const LEASE_MS: Millis = 120_000;
/// Deliveries claimed per round.
pub const BATCH: u32 = 16;

/// Sends one Logout Token to a client (§2.5). Implemented over HTTP by the web
/// layer; `Err` carries a short reason for the log and the queue (a status
/// code or transport failure, never the token).
#[async_trait]
pub trait LogoutSender: Send + Sync {
    async fn send(&self, uri: &str, logout_token: &str) -> std::result::Result<(), String>;
}

/// Builds and delivers back-channel logout notifications.
#[derive(Clone)]
pub struct BackChannel {
    deps: Deps,
    keys: Arc<Keys>,
    clients: Clients,
    issuer: String,
    alg: Algorithm,
    pairwise_salt: String,
}

impl std::fmt::Debug for BackChannel {
    /// Without the pairwise salt.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackChannel")
            .field("issuer", &self.issuer)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl BackChannel {
    pub(crate) fn new(
        deps: Deps,
        keys: Arc<Keys>,
        issuer: String,
        alg: Algorithm,
        pairwise_salt: String,
    ) -> Self {
        let clients = Clients::new(deps.clone());
        Self {
            deps,
            keys,
            clients,
            issuer,
            alg,
            pairwise_salt,
        }
    }

    /// The notifications to enqueue when `session` ends: one per client the
    /// session signed in to that registered a `backchannel_logout_uri`.
    pub(crate) async fn deliveries_for(&self, session: &SsoSession) -> Result<Vec<LogoutDelivery>> {
        let d = &self.deps;
        let now = d.clock.now_millis();
        let mut deliveries = Vec::new();
        for client_id in d.store.session_clients(session.id).await? {
            let Some(client) = self.clients.find(&client_id).await? else {
                continue;
            };
            let Some(uri) = client.backchannel_logout_uri.clone() else {
                continue;
            };
            // §2.4: `sub` as this client knows it (pairwise or public), and
            // `sid` always — it is required when the client set
            // `backchannel_logout_session_required` and harmless otherwise.
            let claims = json!({
                "iss": self.issuer,
                "aud": client.client_id,
                "sub": subject_for(&client, session.user_id, &self.pairwise_salt),
                "sid": session.id.to_string(),
                "events": { LOGOUT_EVENT: {} },
            });
            deliveries.push(LogoutDelivery {
                id: LogoutDeliveryId::generate(d.clock.as_ref(), d.rng.as_ref()),
                client_id: client.client_id,
                uri,
                claims: claims.to_string(),
                attempts: 0,
                next_attempt_at: now,
                created_at: now,
                last_error: None,
            });
        }
        Ok(deliveries)
    }

    /// Claims the deliveries due now and sends them one by one; returns how
    /// many the clients accepted. Run periodically by the server (and
    /// explicitly by tests).
    pub async fn deliver_due(&self, sender: &dyn LogoutSender) -> Result<usize> {
        let d = &self.deps;
        let now = d.clock.now_millis();
        let claimed = d
            .store
            .claim_logout_deliveries(now, now + LEASE_MS, BATCH)
            .await?;
        let mut delivered = 0;
        for delivery in claimed {
            let outcome = match self.sign(&delivery).await {
                Ok(token) => match token {
                    Some(token) => sender.send(&delivery.uri, &token).await,
                    None => Err("the stored claims are not a JSON object".to_owned()),
                },
                Err(e) => {
                    // A key problem is ours, not the client's: leave the lease
                    // to run out and try again then, without counting it.
                    tracing::error!(error = %e, "signing a logout token failed");
                    continue;
                }
            };
            match outcome {
                Ok(()) => {
                    d.store.complete_logout_delivery(delivery.id).await?;
                    delivered += 1;
                }
                Err(reason) => self.failed(&delivery, &reason).await?,
            }
        }
        Ok(delivered)
    }

    /// §2.4: the stored claims plus `iat`, `exp` and a fresh `jti`, signed with
    /// the ID-token key, `typ: logout+jwt` (§4.1, explicit typing). `None` when
    /// the stored claims are unreadable.
    async fn sign(&self, delivery: &LogoutDelivery) -> Result<Option<String>> {
        let Ok(Value::Object(mut claims)) = serde_json::from_str::<Value>(&delivery.claims) else {
            return Ok(None);
        };
        let now = self.deps.clock.now_secs();
        add_times(&mut claims, now, self.deps.rng.token(16));
        let key = self.keys.signer(self.alg).await?;
        jwt::sign(&key, typ::LOGOUT_TOKEN, &claims)
            .map(Some)
            .map_err(|e| Error::Internal(format!("signing a logout token: {e}")))
    }

    /// Backs off, or gives up after [`MAX_ATTEMPTS`] with an audit event.
    async fn failed(&self, delivery: &LogoutDelivery, reason: &str) -> Result<()> {
        let d = &self.deps;
        let attempts = delivery.attempts + 1;
        tracing::warn!(
            client_id = %delivery.client_id,
            attempts,
            reason,
            "back-channel logout delivery failed"
        );
        if attempts >= MAX_ATTEMPTS {
            let mut audit = d.audit(
                "system",
                &RequestContext::default(),
                "logout.delivery_failed",
                Target::new("client", &delivery.client_id, None),
                json!({
                    "uri": delivery.uri,
                    "attempts": attempts,
                    "last_error": reason,
                    "sid": serde_json::from_str::<Value>(&delivery.claims)
                        .ok()
                        .and_then(|c| c.get("sid").cloned()),
                }),
            );
            audit.outcome = Outcome::Failure;
            d.store.abandon_logout_delivery(delivery.id, &audit).await?;
            return Ok(());
        }
        let next = d.clock.now_millis() + retry_delay(delivery.attempts);
        d.store
            .retry_logout_delivery(delivery.id, next, reason)
            .await?;
        Ok(())
    }
}

/// The wait after failed attempt number `previous + 1`: 30 s, doubling.
fn retry_delay(previous: u32) -> Millis {
    FIRST_RETRY_MS.saturating_mul(1_i64 << previous.min(20))
}

fn add_times(claims: &mut Map<String, Value>, now: i64, jti: String) {
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(now + LOGOUT_TOKEN_TTL_SECS));
    claims.insert("jti".into(), json!(jti));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially() {
        let delays: Vec<Millis> = (0..MAX_ATTEMPTS - 1).map(retry_delay).collect();
        assert_eq!(
            delays,
            [
                30_000, 60_000, 120_000, 240_000, 480_000, 960_000, 1_920_000
            ]
        );
    }

    #[test]
    fn signing_adds_short_lived_times_and_a_jti() {
        let mut claims = Map::new();
        add_times(&mut claims, 1_000, "abc".into());
        assert_eq!(claims["iat"], 1_000);
        assert_eq!(claims["exp"], 1_000 + LOGOUT_TOKEN_TTL_SECS);
        assert_eq!(claims["jti"], "abc");
    }
}
