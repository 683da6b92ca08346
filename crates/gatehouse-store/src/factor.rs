//! [`FactorStore`] over `factors` and `recovery_codes`.
//!
//! A TOTP code and a recovery code are each accepted by one conditional
//! `UPDATE` (`last_step < $step`, `used_at IS NULL`), so of concurrent
//! submissions exactly one changes a row; the success's audit event is
//! written in the same transaction, and only when the row changed.

use async_trait::async_trait;
use gatehouse_core::StoreError;
use gatehouse_core::clock::Millis;
use gatehouse_core::ids::{FactorId, UserId};
use gatehouse_core::model::{AuditEvent, Factor, FactorKind, FactorStatus};
use gatehouse_core::secret::TokenHash;
use gatehouse_core::store::{FactorStore, StoreResult};

use crate::engine::{Engine, Record, Stmt};
use crate::store::{SqlStore, col, id_col};

macro_rules! factor_cols {
    () => {
        "id, user_id, org_id, kind, status, sealed_secret, last_step, created_at, activated_at, \
         last_used_at, detail, hint, answer_hash"
    };
}

/// The statement that stores a new factor row.
pub(crate) fn insert_factor(factor: &Factor) -> Stmt {
    Stmt::new(concat!(
        "INSERT INTO factors (",
        factor_cols!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    ))
    .text(factor.id.to_string())
    .text(factor.user_id.to_string())
    .text(factor.org_id.to_string())
    .text(factor.kind.as_str())
    .text(factor.status.as_str())
    .opt_text(factor.sealed_secret.as_deref())
    .opt_int(factor.last_step)
    .int(factor.created_at)
    .opt_int(factor.activated_at)
    .opt_int(factor.last_used_at)
    .opt_text(factor.detail.as_deref())
    .opt_text(factor.hint.as_deref())
    .opt_text(factor.answer_hash.as_deref())
}

fn factor_from(row: &impl Record) -> StoreResult<Factor> {
    let kind = col(row.text("kind"))?;
    let status = col(row.text("status"))?;
    Ok(Factor {
        id: id_col(row, "id")?,
        user_id: id_col(row, "user_id")?,
        org_id: id_col(row, "org_id")?,
        kind: FactorKind::parse(&kind)
            .ok_or_else(|| StoreError::Backend(format!("unknown factor kind {kind:?}")))?,
        status: FactorStatus::parse(&status)
            .ok_or_else(|| StoreError::Backend(format!("unknown factor status {status:?}")))?,
        sealed_secret: col(row.opt_text("sealed_secret"))?,
        last_step: col(row.opt_int("last_step"))?,
        created_at: col(row.int("created_at"))?,
        activated_at: col(row.opt_int("activated_at"))?,
        last_used_at: col(row.opt_int("last_used_at"))?,
        detail: col(row.opt_text("detail"))?,
        hint: col(row.opt_text("hint"))?,
        answer_hash: col(row.opt_text("answer_hash"))?,
    })
}

#[async_trait]
impl<DB: Engine> FactorStore for SqlStore<DB> {
    async fn create_factor(&self, factor: &Factor, audit: &AuditEvent) -> StoreResult<()> {
        let mut w = self.write().await?;
        w.execute(insert_factor(factor), "user").await?;
        w.audit(audit).await?;
        w.commit().await
    }

    async fn get_factor(&self, id: FactorId) -> StoreResult<Option<Factor>> {
        self.read_optional(
            Stmt::new(concat!(
                "SELECT ",
                factor_cols!(),
                " FROM factors WHERE id = $1"
            ))
            .text(id.to_string()),
        )
        .await?
        .map(|row| factor_from(&row))
        .transpose()
    }

    async fn list_factors(&self, user: UserId) -> StoreResult<Vec<Factor>> {
        self.read_all(
            Stmt::new(concat!(
                "SELECT ",
                factor_cols!(),
                " FROM factors WHERE user_id = $1 ORDER BY id"
            ))
            .text(user.to_string()),
        )
        .await?
        .iter()
        .map(factor_from)
        .collect()
    }

    async fn delete_factor(&self, id: FactorId, audit: &AuditEvent) -> StoreResult<bool> {
        let mut w = self.write().await?;
        let deleted = w
            .execute(
                Stmt::new("DELETE FROM factors WHERE id = $1").text(id.to_string()),
                "factor",
            )
            .await?;
        if deleted == 0 {
            return Ok(false);
        }
        w.audit(audit).await?;
        w.commit().await?;
        Ok(true)
    }

    async fn reset_factors(&self, user: UserId, audit: &AuditEvent) -> StoreResult<u64> {
        let mut w = self.write().await?;
        let factors = w
            .execute(
                Stmt::new("DELETE FROM factors WHERE user_id = $1").text(user.to_string()),
                "user",
            )
            .await?;
        let codes = w
            .execute(
                Stmt::new("DELETE FROM recovery_codes WHERE user_id = $1").text(user.to_string()),
                "user",
            )
            .await?;
        w.execute(
            Stmt::new("DELETE FROM trusted_devices WHERE user_id = $1").text(user.to_string()),
            "user",
        )
        .await?;
        w.audit(audit).await?;
        w.commit().await?;
        Ok(factors + codes)
    }

    async fn accept_totp_step(
        &self,
        id: FactorId,
        step: i64,
        at: Millis,
        activate: bool,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        let mut w = self.write().await?;
        let stmt = if activate {
            Stmt::new(
                "UPDATE factors SET last_step = $2, last_used_at = $3, status = 'active', \
                 activated_at = $3 WHERE id = $1 AND status = 'pending' \
                 AND (last_step IS NULL OR last_step < $2)",
            )
        } else {
            Stmt::new(
                "UPDATE factors SET last_step = $2, last_used_at = $3 WHERE id = $1 \
                 AND status = 'active' AND (last_step IS NULL OR last_step < $2)",
            )
        };
        let changed = w
            .execute(stmt.text(id.to_string()).int(step).int(at), "factor")
            .await?;
        if changed == 0 {
            return Ok(false);
        }
        w.audit(audit).await?;
        w.commit().await?;
        Ok(true)
    }

    async fn replace_question(
        &self,
        factor: &Factor,
        audit: &AuditEvent,
    ) -> StoreResult<Vec<FactorId>> {
        let mut w = self.write().await?;
        let replaced = w
            .fetch_all(
                Stmt::new(
                    "DELETE FROM factors WHERE user_id = $1 AND kind = 'question' RETURNING id",
                )
                .text(factor.user_id.to_string()),
                "user",
            )
            .await?
            .iter()
            .map(|row| id_col(row, "id"))
            .collect::<StoreResult<Vec<FactorId>>>()?;
        w.execute(insert_factor(factor), "user").await?;
        w.audit(audit).await?;
        w.commit().await?;
        Ok(replaced)
    }

    async fn touch_factor(
        &self,
        id: FactorId,
        at: Millis,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        let mut w = self.write().await?;
        let changed = w
            .execute(
                Stmt::new(
                    "UPDATE factors SET last_used_at = $2 WHERE id = $1 AND status = 'active'",
                )
                .text(id.to_string())
                .int(at),
                "factor",
            )
            .await?;
        if changed == 0 {
            return Ok(false);
        }
        w.audit(audit).await?;
        w.commit().await?;
        Ok(true)
    }

    async fn set_factor_code(
        &self,
        id: FactorId,
        hash: &TokenHash,
        at: Millis,
        expires_at: Millis,
        resend_after: Millis,
    ) -> StoreResult<bool> {
        let mut w = self.write().await?;
        let changed = w
            .execute(
                Stmt::new(
                    "UPDATE factors SET code_hash = $2, code_sent_at = $3, code_expires_at = $4, \
                     code_attempts = 0 WHERE id = $1 \
                     AND (code_sent_at IS NULL OR code_sent_at + $5 <= $3)",
                )
                .text(id.to_string())
                .text(hash.as_str())
                .int(at)
                .int(expires_at)
                .int(resend_after),
                "factor",
            )
            .await?;
        if changed == 0 {
            return Ok(false);
        }
        w.commit().await?;
        Ok(true)
    }

    async fn use_factor_code(
        &self,
        id: FactorId,
        hash: &TokenHash,
        at: Millis,
        activate: bool,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        let mut w = self.write().await?;
        let stmt = if activate {
            Stmt::new(
                "UPDATE factors SET code_hash = NULL, last_used_at = $3, status = 'active', \
                 activated_at = $3 WHERE id = $1 AND status = 'pending' AND code_hash = $2 \
                 AND code_expires_at > $3 AND code_attempts < $4",
            )
        } else {
            Stmt::new(
                "UPDATE factors SET code_hash = NULL, last_used_at = $3 WHERE id = $1 \
                 AND status = 'active' AND code_hash = $2 AND code_expires_at > $3 \
                 AND code_attempts < $4",
            )
        };
        let changed = w
            .execute(
                stmt.text(id.to_string())
                    .text(hash.as_str())
                    .int(at)
                    .int(i64::from(gatehouse_core::model::MAX_CODE_ATTEMPTS)),
                "factor",
            )
            .await?;
        if changed == 0 {
            return Ok(false);
        }
        w.audit(audit).await?;
        w.commit().await?;
        Ok(true)
    }

    async fn fail_factor_code(&self, id: FactorId) -> StoreResult<u32> {
        let mut w = self.write().await?;
        let row = w
            .fetch_optional(
                Stmt::new(
                    "UPDATE factors SET code_attempts = code_attempts + 1 \
                     WHERE id = $1 AND code_hash IS NOT NULL RETURNING code_attempts",
                )
                .text(id.to_string()),
                "factor",
            )
            .await?;
        let attempts = match row {
            Some(row) => col(row.int("code_attempts"))?,
            None => 0,
        };
        w.commit().await?;
        Ok(u32::try_from(attempts).unwrap_or(u32::MAX))
    }

    async fn replace_recovery_codes(
        &self,
        user: UserId,
        hashes: &[TokenHash],
        at: Millis,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let mut w = self.write().await?;
        w.execute(
            Stmt::new("DELETE FROM recovery_codes WHERE user_id = $1").text(user.to_string()),
            "user",
        )
        .await?;
        for hash in hashes {
            w.execute(
                Stmt::new(
                    "INSERT INTO recovery_codes (user_id, code_hash, created_at, used_at) \
                     VALUES ($1, $2, $3, NULL)",
                )
                .text(user.to_string())
                .text(hash.as_str())
                .int(at),
                "user",
            )
            .await?;
        }
        w.audit(audit).await?;
        w.commit().await
    }

    async fn use_recovery_code(
        &self,
        user: UserId,
        hash: &TokenHash,
        at: Millis,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        let mut w = self.write().await?;
        let used = w
            .execute(
                Stmt::new(
                    "UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 \
                     AND used_at IS NULL",
                )
                .text(user.to_string())
                .text(hash.as_str())
                .int(at),
                "user",
            )
            .await?;
        if used == 0 {
            return Ok(false);
        }
        w.audit(audit).await?;
        w.commit().await?;
        Ok(true)
    }

    async fn unused_recovery_codes(&self, user: UserId) -> StoreResult<u32> {
        let row = self
            .read_optional(
                Stmt::new(
                    "SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
                )
                .text(user.to_string()),
            )
            .await?;
        let n = match row {
            Some(row) => col(row.int("n"))?,
            None => 0,
        };
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }
}
