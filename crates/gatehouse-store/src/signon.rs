//! [`SignOnStore`] over `mfa_challenges`, `trusted_devices` and
//! `signon_policies`, plus the step-up of an `sso_sessions` row.
//!
//! A challenge is completed by one conditional `UPDATE` (`completed_at IS
//! NULL`), and an e-mailed code is spent the same way, so each finishes once.

use async_trait::async_trait;
use gatehouse_core::StoreError;
use gatehouse_core::clock::Millis;
use gatehouse_core::ids::{OrgId, SessionId, UserId};
use gatehouse_core::model::{AuditEvent, FactorKind, MfaChallenge, PolicyScope, SignOnPolicy};
use gatehouse_core::secret::TokenHash;
use gatehouse_core::store::{SignOnStore, StoreResult};

use crate::engine::{Engine, Record, Stmt};
use crate::store::{SqlStore, col, id_col, json_col, opt_id_col, to_json};

macro_rules! challenge_cols {
    () => {
        "handle_hash, user_id, org_id, session_id, amr, allowed, enrol_factor_id, remember_days, \
         email_code_hash, email_expires_at, attempts, created_at, expires_at, completed_at"
    };
}

fn challenge_from(row: &impl Record) -> StoreResult<MfaChallenge> {
    let allowed: Vec<String> = json_col(row, "allowed")?;
    Ok(MfaChallenge {
        handle_hash: TokenHash::from_stored(col(row.text("handle_hash"))?),
        user_id: id_col(row, "user_id")?,
        org_id: id_col(row, "org_id")?,
        session_id: opt_id_col(row, "session_id")?,
        amr: json_col(row, "amr")?,
        allowed: allowed
            .iter()
            .map(|k| {
                FactorKind::parse(k)
                    .ok_or_else(|| StoreError::Backend(format!("unknown factor kind {k:?}")))
            })
            .collect::<StoreResult<_>>()?,
        enrol_factor_id: opt_id_col(row, "enrol_factor_id")?,
        remember_days: u32::try_from(col(row.int("remember_days"))?).unwrap_or(0),
        email_code_hash: col(row.opt_text("email_code_hash"))?.map(TokenHash::from_stored),
        email_expires_at: col(row.opt_int("email_expires_at"))?,
        attempts: u32::try_from(col(row.int("attempts"))?).unwrap_or(u32::MAX),
        created_at: col(row.int("created_at"))?,
        expires_at: col(row.int("expires_at"))?,
        completed_at: col(row.opt_int("completed_at"))?,
    })
}

#[async_trait]
impl<DB: Engine> SignOnStore for SqlStore<DB> {
    async fn put_mfa_challenge(&self, c: &MfaChallenge) -> StoreResult<()> {
        let allowed: Vec<&str> = c.allowed.iter().map(|k| k.as_str()).collect();
        self.execute(
            Stmt::new(concat!(
                "INSERT INTO mfa_challenges (",
                challenge_cols!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
            ))
            .text(c.handle_hash.as_str())
            .text(c.user_id.to_string())
            .text(c.org_id.to_string())
            .opt_text(c.session_id.map(|s| s.to_string()))
            .text(to_json(&c.amr, "amr")?)
            .text(to_json(&allowed, "allowed")?)
            .opt_text(c.enrol_factor_id.map(|f| f.to_string()))
            .int(i64::from(c.remember_days))
            .opt_text(c.email_code_hash.as_ref().map(|h| h.as_str().to_owned()))
            .opt_int(c.email_expires_at)
            .int(i64::from(c.attempts))
            .int(c.created_at)
            .int(c.expires_at)
            .opt_int(c.completed_at),
        )
        .await
        .map(drop)
    }

    async fn get_mfa_challenge(
        &self,
        handle_hash: &TokenHash,
        now: Millis,
    ) -> StoreResult<Option<MfaChallenge>> {
        self.read_optional(
            Stmt::new(concat!(
                "SELECT ",
                challenge_cols!(),
                " FROM mfa_challenges WHERE handle_hash = $1 AND expires_at > $2 \
                 AND completed_at IS NULL"
            ))
            .text(handle_hash.as_str())
            .int(now),
        )
        .await?
        .map(|row| challenge_from(&row))
        .transpose()
    }

    async fn fail_mfa_challenge(
        &self,
        handle_hash: &TokenHash,
        audit: &AuditEvent,
    ) -> StoreResult<u32> {
        let mut w = self.write().await?;
        let row = w
            .fetch_optional(
                Stmt::new(
                    "UPDATE mfa_challenges SET attempts = attempts + 1 WHERE handle_hash = $1 \
                     RETURNING attempts",
                )
                .text(handle_hash.as_str()),
                "challenge",
            )
            .await?;
        w.audit(audit).await?;
        w.commit().await?;
        Ok(match row {
            Some(row) => u32::try_from(col(row.int("attempts"))?).unwrap_or(u32::MAX),
            None => 0,
        })
    }

    async fn set_mfa_email_code(
        &self,
        handle_hash: &TokenHash,
        code_hash: &TokenHash,
        expires_at: Millis,
    ) -> StoreResult<bool> {
        Ok(self
            .execute(
                Stmt::new(
                    "UPDATE mfa_challenges SET email_code_hash = $2, email_expires_at = $3 \
                     WHERE handle_hash = $1 AND completed_at IS NULL",
                )
                .text(handle_hash.as_str())
                .text(code_hash.as_str())
                .int(expires_at),
            )
            .await?
            == 1)
    }

    async fn use_mfa_email_code(
        &self,
        handle_hash: &TokenHash,
        code_hash: &TokenHash,
        now: Millis,
    ) -> StoreResult<bool> {
        Ok(self
            .execute(
                Stmt::new(
                    "UPDATE mfa_challenges SET email_code_hash = NULL WHERE handle_hash = $1 \
                     AND email_code_hash = $2 AND email_expires_at > $3 AND completed_at IS NULL",
                )
                .text(handle_hash.as_str())
                .text(code_hash.as_str())
                .int(now),
            )
            .await?
            == 1)
    }

    async fn complete_mfa_challenge(
        &self,
        handle_hash: &TokenHash,
        now: Millis,
    ) -> StoreResult<bool> {
        Ok(self
            .execute(
                Stmt::new(
                    "UPDATE mfa_challenges SET completed_at = $2 WHERE handle_hash = $1 \
                     AND completed_at IS NULL AND expires_at > $2",
                )
                .text(handle_hash.as_str())
                .int(now),
            )
            .await?
            == 1)
    }

    async fn elevate_session(
        &self,
        id: SessionId,
        amr: &[String],
        acr: &str,
        auth_time: Millis,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        let mut w = self.write().await?;
        let changed = w
            .execute(
                Stmt::new(
                    "UPDATE sso_sessions SET amr = $2, acr = $3, auth_time = $4, last_seen_at = $4 \
                     WHERE id = $1 AND revoked_at IS NULL AND expires_at > $4",
                )
                .text(id.to_string())
                .text(to_json(&amr, "amr")?)
                .text(acr)
                .int(auth_time),
                "session",
            )
            .await?;
        if changed == 0 {
            return Ok(false);
        }
        w.audit(audit).await?;
        w.commit().await?;
        Ok(true)
    }

    async fn trust_device(
        &self,
        token_hash: &TokenHash,
        user: UserId,
        created_at: Millis,
        expires_at: Millis,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let mut w = self.write().await?;
        w.execute(
            Stmt::new(
                "INSERT INTO trusted_devices (token_hash, user_id, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .text(token_hash.as_str())
            .text(user.to_string())
            .int(created_at)
            .int(expires_at),
            "user",
        )
        .await?;
        w.audit(audit).await?;
        w.commit().await
    }

    async fn is_device_trusted(
        &self,
        token_hash: &TokenHash,
        user: UserId,
        now: Millis,
    ) -> StoreResult<bool> {
        Ok(self
            .read_optional(
                Stmt::new(
                    "SELECT 1 AS one FROM trusted_devices WHERE token_hash = $1 AND user_id = $2 \
                     AND expires_at > $3",
                )
                .text(token_hash.as_str())
                .text(user.to_string())
                .int(now),
            )
            .await?
            .is_some())
    }

    async fn get_signon_policy(&self, scope: &PolicyScope) -> StoreResult<Option<SignOnPolicy>> {
        self.read_optional(
            Stmt::new("SELECT policy FROM signon_policies WHERE scope_kind = $1 AND scope_id = $2")
                .text(scope.kind())
                .text(scope.id()),
        )
        .await?
        .map(|row| json_col(&row, "policy"))
        .transpose()
    }

    async fn put_signon_policy(
        &self,
        scope: &PolicyScope,
        org: OrgId,
        policy: &SignOnPolicy,
        at: Millis,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let mut w = self.write().await?;
        w.execute(
            Stmt::new(
                "INSERT INTO signon_policies (scope_kind, scope_id, org_id, policy, updated_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (scope_kind, scope_id) \
                 DO UPDATE SET policy = excluded.policy, updated_at = excluded.updated_at",
            )
            .text(scope.kind())
            .text(scope.id())
            .text(org.to_string())
            .text(to_json(policy, "policy")?)
            .int(at),
            "org",
        )
        .await?;
        w.audit(audit).await?;
        w.commit().await
    }

    async fn delete_signon_policy(
        &self,
        scope: &PolicyScope,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        let mut w = self.write().await?;
        let deleted = w
            .execute(
                Stmt::new("DELETE FROM signon_policies WHERE scope_kind = $1 AND scope_id = $2")
                    .text(scope.kind())
                    .text(scope.id()),
                "policy",
            )
            .await?;
        if deleted == 0 {
            return Ok(false);
        }
        w.audit(audit).await?;
        w.commit().await?;
        Ok(true)
    }

    async fn purge_expired_sign_ons(&self, now: Millis) -> StoreResult<u64> {
        let mut w = self.write().await?;
        let challenges = w
            .execute(
                Stmt::new("DELETE FROM mfa_challenges WHERE expires_at <= $1").int(now),
                "challenge",
            )
            .await?;
        let devices = w
            .execute(
                Stmt::new("DELETE FROM trusted_devices WHERE expires_at <= $1").int(now),
                "device",
            )
            .await?;
        let ceremonies = w
            .execute(
                Stmt::new("DELETE FROM webauthn_ceremonies WHERE expires_at <= $1").int(now),
                "ceremony",
            )
            .await?;
        let links = w
            .execute(
                Stmt::new("DELETE FROM magic_links WHERE expires_at <= $1").int(now),
                "link",
            )
            .await?;
        w.commit().await?;
        Ok(challenges + devices + ceremonies + links)
    }
}
