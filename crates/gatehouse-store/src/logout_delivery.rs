//! [`LogoutDeliveryStore`] over `logout_deliveries`, and the insert that
//! [`SessionStore::revoke_session`](gatehouse_core::store::SessionStore)
//! runs in its transaction.
//!
//! A claim is one `UPDATE … RETURNING` on both engines: it moves the due rows'
//! `next_attempt_at` to the end of the lease. The outer
//! `next_attempt_at <= $1` matters on PostgreSQL: a second node whose
//! sub-select saw the same rows waits for the first node's row locks, then
//! re-checks that condition against the updated rows and skips them, so no
//! row is claimed twice. SQLite serialises writers (`BEGIN IMMEDIATE`).

use async_trait::async_trait;
use gatehouse_core::clock::Millis;
use gatehouse_core::ids::LogoutDeliveryId;
use gatehouse_core::model::{AuditEvent, LogoutDelivery};
use gatehouse_core::store::{LogoutDeliveryStore, StoreResult};

use crate::engine::{Engine, Record, Stmt};
use crate::store::{SqlStore, Writer, col, id_col};

macro_rules! delivery_cols {
    () => {
        "id, client_id, uri, claims, attempts, next_attempt_at, created_at, last_error"
    };
}

fn delivery_from(row: &impl Record) -> StoreResult<LogoutDelivery> {
    Ok(LogoutDelivery {
        id: id_col(row, "id")?,
        client_id: col(row.text("client_id"))?,
        uri: col(row.text("uri"))?,
        claims: col(row.text("claims"))?,
        attempts: u32::try_from(col(row.int("attempts"))?).unwrap_or(u32::MAX),
        next_attempt_at: col(row.int("next_attempt_at"))?,
        created_at: col(row.int("created_at"))?,
        last_error: col(row.opt_text("last_error"))?,
    })
}

/// Enqueues `delivery` inside an open transaction.
pub(crate) async fn insert_delivery<DB: Engine>(
    w: &mut Writer<DB>,
    delivery: &LogoutDelivery,
) -> StoreResult<()> {
    w.execute(
        Stmt::new(concat!(
            "INSERT INTO logout_deliveries (",
            delivery_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
        .text(delivery.id.to_string())
        .text(delivery.client_id.as_str())
        .text(delivery.uri.as_str())
        .text(delivery.claims.as_str())
        .int(i64::from(delivery.attempts))
        .int(delivery.next_attempt_at)
        .int(delivery.created_at)
        .opt_text(delivery.last_error.as_deref()),
        "client",
    )
    .await
    .map(drop)
}

#[async_trait]
impl<DB: Engine> LogoutDeliveryStore for SqlStore<DB> {
    async fn claim_logout_deliveries(
        &self,
        now: Millis,
        lease_until: Millis,
        limit: u32,
    ) -> StoreResult<Vec<LogoutDelivery>> {
        let mut w = self.write().await?;
        let rows = w
            .fetch_all(
                Stmt::new(concat!(
                    "UPDATE logout_deliveries SET next_attempt_at = $2 \
                     WHERE next_attempt_at <= $1 AND id IN (\
                     SELECT id FROM logout_deliveries WHERE next_attempt_at <= $1 \
                     ORDER BY next_attempt_at, id LIMIT $3) RETURNING ",
                    delivery_cols!()
                ))
                .int(now)
                .int(lease_until)
                .int(i64::from(limit)),
                "logout delivery",
            )
            .await?;
        w.commit().await?;
        let mut claimed = rows
            .iter()
            .map(delivery_from)
            .collect::<StoreResult<Vec<_>>>()?;
        // RETURNING has no order: hand them out oldest first.
        claimed.sort_by_key(|d| (d.created_at, d.id));
        Ok(claimed)
    }

    async fn complete_logout_delivery(&self, id: LogoutDeliveryId) -> StoreResult<bool> {
        Ok(self
            .execute(Stmt::new("DELETE FROM logout_deliveries WHERE id = $1").text(id.to_string()))
            .await?
            > 0)
    }

    async fn retry_logout_delivery(
        &self,
        id: LogoutDeliveryId,
        next_attempt_at: Millis,
        error: &str,
    ) -> StoreResult<bool> {
        Ok(self
            .execute(
                Stmt::new(
                    "UPDATE logout_deliveries SET attempts = attempts + 1, next_attempt_at = $2, \
                     last_error = $3 WHERE id = $1",
                )
                .text(id.to_string())
                .int(next_attempt_at)
                .text(error),
            )
            .await?
            > 0)
    }

    async fn abandon_logout_delivery(
        &self,
        id: LogoutDeliveryId,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        let mut w = self.write().await?;
        let deleted = w
            .execute(
                Stmt::new("DELETE FROM logout_deliveries WHERE id = $1").text(id.to_string()),
                "logout delivery",
            )
            .await?;
        if deleted == 0 {
            return Ok(false);
        }
        w.audit(audit).await?;
        w.commit().await?;
        Ok(true)
    }
}
