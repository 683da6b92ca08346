//! [`SignInThrottleStore`] over `sign_in_counters` and `sign_in_devices`.
//!
//! A failure is one `INSERT … ON CONFLICT DO UPDATE … RETURNING` per counter,
//! so concurrent failures on one counter are each counted (the row lock, or
//! SQLite's single writer, orders them); the block the policy sets is then
//! raised, never lowered, in the same transaction as the audit events.

use async_trait::async_trait;
use gatehouse_core::StoreError;
use gatehouse_core::clock::Millis;
use gatehouse_core::ids::UserId;
use gatehouse_core::model::{
    AuditEvent, CounterKey, CounterState, KnownDevice, Proof, Scope, ThrottlePolicy,
};
use gatehouse_core::secret::TokenHash;
use gatehouse_core::store::{SignInThrottleStore, StoreResult};

use crate::engine::{Arg, Engine, Record, SqlBuilder, Stmt};
use crate::store::{SqlStore, col};

const COUNTER_COLS: &str = "SELECT key, factor, scope, failures, last_failure_at, blocked_until \
                            FROM sign_in_counters WHERE ";

fn counter_from(row: &impl Record) -> StoreResult<CounterState> {
    let factor = col(row.text("factor"))?;
    let scope = col(row.text("scope"))?;
    Ok(CounterState {
        key: col(row.text("key"))?,
        factor: Proof::parse(&factor)
            .ok_or_else(|| StoreError::Backend(format!("unknown factor {factor:?}")))?,
        scope: Scope::parse(&scope)
            .ok_or_else(|| StoreError::Backend(format!("unknown scope {scope:?}")))?,
        failures: col(row.int("failures"))?,
        last_failure_at: col(row.int("last_failure_at"))?,
        blocked_until: col(row.int("blocked_until"))?,
    })
}

/// `<prefix><column> IN ($n, …)` over `values` (not empty).
fn select_in(column: &'static str, values: &[String]) -> Stmt {
    let mut sql = SqlBuilder::new(COUNTER_COLS);
    sql.push(column).push(" IN (");
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.arg(Arg::Text(value.clone()));
    }
    sql.push(") ORDER BY key");
    sql.build()
}

#[async_trait]
impl<DB: Engine> SignInThrottleStore for SqlStore<DB> {
    async fn sign_in_counters(&self, keys: &[String]) -> StoreResult<Vec<CounterState>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        self.read_all(select_in("key", keys))
            .await?
            .iter()
            .map(counter_from)
            .collect()
    }

    async fn count_sign_in_failure(
        &self,
        counters: &[CounterKey],
        policy: &ThrottlePolicy,
        now: Millis,
        audit: &AuditEvent,
        lockout: &AuditEvent,
    ) -> StoreResult<Vec<CounterState>> {
        let mut w = self.write().await?;
        let restart_before = now - policy.window_ms;
        let idle_until = now + policy.window_ms;
        let mut states = Vec::with_capacity(counters.len());
        let mut locked = Vec::new();
        // Rows are locked in key order, so two transactions never wait on each other in a cycle.
        let mut ordered: Vec<&CounterKey> = counters.iter().collect();
        ordered.sort_by(|a, b| a.key.cmp(&b.key));
        for counter in ordered {
            let row = w
                .fetch_optional(
                    Stmt::new(
                        "INSERT INTO sign_in_counters (key, factor, scope, subject, failures, \
                         last_failure_at, blocked_until, expires_at) \
                         VALUES ($1, $2, $3, $4, 1, $5, 0, $6) \
                         ON CONFLICT (key) DO UPDATE SET \
                         failures = CASE WHEN sign_in_counters.last_failure_at < $7 THEN 1 \
                                    ELSE sign_in_counters.failures + 1 END, \
                         last_failure_at = $5, \
                         expires_at = CASE WHEN sign_in_counters.expires_at > $6 \
                                      THEN sign_in_counters.expires_at ELSE $6 END \
                         RETURNING failures, blocked_until",
                    )
                    .text(counter.key.as_str())
                    .text(counter.factor.as_str())
                    .text(counter.scope.as_str())
                    .text(counter.subject.as_str())
                    .int(now)
                    .int(idle_until)
                    .int(restart_before),
                    "sign-in counter",
                )
                .await?
                .ok_or_else(|| StoreError::Backend("upsert returned no row".into()))?;
            let failures = col(row.int("failures"))?;
            let mut blocked_until = col(row.int("blocked_until"))?;
            if let Some((until, is_lockout)) =
                policy.limits(counter.scope).blocked_until(failures, now)
                && until > blocked_until
            {
                w.execute(
                    Stmt::new(
                        "UPDATE sign_in_counters SET blocked_until = $2, \
                         expires_at = CASE WHEN expires_at > $2 THEN expires_at ELSE $2 END \
                         WHERE key = $1",
                    )
                    .text(counter.key.as_str())
                    .int(until),
                    "sign-in counter",
                )
                .await?;
                blocked_until = until;
                // Only the failure that reaches the threshold starts a lockout;
                // later ones extend it.
                if is_lockout && failures == policy.limits(counter.scope).lockout_after {
                    locked.push(serde_json::json!({
                        "factor": counter.factor.as_str(),
                        "scope": counter.scope.as_str(),
                        "failures": failures,
                        "until": until,
                    }));
                }
            }
            states.push(CounterState {
                key: counter.key.clone(),
                factor: counter.factor,
                scope: counter.scope,
                failures,
                last_failure_at: now,
                blocked_until,
            });
        }
        states.sort_by_key(|s: &CounterState| {
            counters
                .iter()
                .position(|c| c.key == s.key)
                .unwrap_or(usize::MAX)
        });
        w.audit(audit).await?;
        if !locked.is_empty() {
            let mut lockout = lockout.clone();
            lockout.details["locked"] = serde_json::Value::Array(locked);
            w.audit(&lockout).await?;
        }
        w.commit().await?;
        Ok(states)
    }

    async fn record_sign_in(
        &self,
        reset: &[String],
        device: Option<&KnownDevice>,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let mut w = self.write().await?;
        for key in reset {
            w.execute(
                Stmt::new("DELETE FROM sign_in_counters WHERE key = $1").text(key.as_str()),
                "sign-in counter",
            )
            .await?;
        }
        if let Some(device) = device {
            w.execute(
                Stmt::new(
                    "INSERT INTO sign_in_devices (token_hash, user_id, created_at, last_used_at, \
                     expires_at) VALUES ($1, $2, $3, $3, $4) \
                     ON CONFLICT (token_hash, user_id) DO UPDATE SET \
                     last_used_at = $3, expires_at = $4",
                )
                .text(device.token_hash.as_str())
                .text(device.user_id.to_string())
                .int(device.last_used_at)
                .int(device.expires_at),
                "user",
            )
            .await?;
        }
        w.audit(audit).await?;
        w.commit().await
    }

    async fn is_known_device(
        &self,
        token_hash: &TokenHash,
        user: UserId,
        now: Millis,
    ) -> StoreResult<bool> {
        Ok(self
            .read_optional(
                Stmt::new(
                    "SELECT 1 AS known FROM sign_in_devices \
                     WHERE token_hash = $1 AND user_id = $2 AND expires_at > $3",
                )
                .text(token_hash.as_str())
                .text(user.to_string())
                .int(now),
            )
            .await?
            .is_some())
    }

    async fn sign_in_counters_of(&self, subjects: &[String]) -> StoreResult<Vec<CounterState>> {
        if subjects.is_empty() {
            return Ok(Vec::new());
        }
        self.read_all(select_in("subject", subjects))
            .await?
            .iter()
            .map(counter_from)
            .collect()
    }

    async fn clear_sign_in_counters(
        &self,
        subjects: &[String],
        audit: &AuditEvent,
    ) -> StoreResult<u64> {
        let mut w = self.write().await?;
        let mut removed = 0;
        for subject in subjects {
            removed += w
                .execute(
                    Stmt::new("DELETE FROM sign_in_counters WHERE subject = $1")
                        .text(subject.as_str()),
                    "sign-in counter",
                )
                .await?;
        }
        if removed == 0 {
            return Ok(0);
        }
        w.audit(audit).await?;
        w.commit().await?;
        Ok(removed)
    }

    async fn purge_sign_in_throttle(&self, now: Millis) -> StoreResult<u64> {
        let mut w = self.write().await?;
        let counters = w
            .execute(
                Stmt::new("DELETE FROM sign_in_counters WHERE expires_at <= $1").int(now),
                "sign-in counter",
            )
            .await?;
        let devices = w
            .execute(
                Stmt::new("DELETE FROM sign_in_devices WHERE expires_at <= $1").int(now),
                "sign-in device",
            )
            .await?;
        w.commit().await?;
        Ok(counters + devices)
    }
}
