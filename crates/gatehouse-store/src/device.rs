//! [`DeviceStore`] over `device_codes` (RFC 8628).
//!
//! The user's decision and the device's exchange are compare-and-set status
//! transitions (`pending → approved | denied`, `approved → consumed`), so a
//! code is approved once and its tokens are issued to exactly one poll.

use async_trait::async_trait;
use gatehouse_core::StoreError;
use gatehouse_core::clock::Millis;
use gatehouse_core::model::{AuditEvent, DeviceApproval, DeviceCode, DevicePoll, DeviceStatus};
use gatehouse_core::secret::TokenHash;
use gatehouse_core::store::{DeviceStore, StoreResult};

use crate::engine::{Engine, Record, Stmt};
use crate::store::{SqlStore, col, json_col, opt_id_col, to_json};

macro_rules! device_cols {
    () => {
        "device_code_hash, user_code, client_id, scope, resources, status, user_id, session_id, \
         auth_time, amr, acr, interval_secs, last_polled_at, created_at, expires_at"
    };
}

/// RFC 8628 §3.5: each `slow_down` adds 5 seconds to the interval.
const SLOW_DOWN_SECS: i64 = 5;

fn device_from(row: &impl Record) -> StoreResult<DeviceCode> {
    let status = col(row.text("status"))?;
    let status = DeviceStatus::parse(&status)
        .ok_or_else(|| StoreError::Backend(format!("unknown device status {status:?}")))?;
    let approval = match (
        opt_id_col(row, "user_id")?,
        opt_id_col(row, "session_id")?,
        col(row.opt_int("auth_time"))?,
    ) {
        (Some(user_id), Some(session_id), Some(auth_time)) => Some(DeviceApproval {
            user_id,
            session_id,
            auth_time,
            amr: match col(row.opt_text("amr"))? {
                Some(text) => serde_json::from_str(&text)
                    .map_err(|e| StoreError::Backend(format!("bad amr JSON: {e}")))?,
                None => Vec::new(),
            },
            acr: col(row.opt_text("acr"))?,
        }),
        _ => None,
    };
    Ok(DeviceCode {
        device_code_hash: TokenHash::from_stored(col(row.text("device_code_hash"))?),
        user_code: col(row.text("user_code"))?,
        client_id: col(row.text("client_id"))?,
        scope: col(row.text("scope"))?,
        resources: json_col(row, "resources")?,
        status,
        approval,
        interval_secs: col(row.int("interval_secs"))?,
        last_polled_at: col(row.opt_int("last_polled_at"))?,
        created_at: col(row.int("created_at"))?,
        expires_at: col(row.int("expires_at"))?,
    })
}

#[async_trait]
impl<DB: Engine> DeviceStore for SqlStore<DB> {
    async fn create_device_code(&self, code: &DeviceCode) -> StoreResult<()> {
        let approval = code.approval.as_ref();
        self.execute(
            Stmt::new(concat!(
                "INSERT INTO device_codes (",
                device_cols!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
            ))
            .text(code.device_code_hash.as_str())
            .text(code.user_code.as_str())
            .text(code.client_id.as_str())
            .text(code.scope.as_str())
            .text(to_json(&code.resources, "resources")?)
            .text(code.status.as_str())
            .opt_text(approval.map(|a| a.user_id.to_string()))
            .opt_text(approval.map(|a| a.session_id.to_string()))
            .opt_int(approval.map(|a| a.auth_time))
            .opt_text(approval.map(|a| to_json(&a.amr, "amr")).transpose()?)
            .opt_text(approval.and_then(|a| a.acr.clone()))
            .int(code.interval_secs)
            .opt_int(code.last_polled_at)
            .int(code.created_at)
            .int(code.expires_at),
        )
        .await
        .map(drop)
    }

    async fn find_device_code(
        &self,
        user_code: &str,
        now: Millis,
    ) -> StoreResult<Option<DeviceCode>> {
        self.read_optional(
            Stmt::new(concat!(
                "SELECT ",
                device_cols!(),
                " FROM device_codes WHERE user_code = $1 AND expires_at > $2"
            ))
            .text(user_code)
            .int(now),
        )
        .await?
        .map(|row| device_from(&row))
        .transpose()
    }

    async fn decide_device_code(
        &self,
        user_code: &str,
        approval: Option<&DeviceApproval>,
        now: Millis,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        let mut w = self.write().await?;
        let status = match approval {
            Some(_) => DeviceStatus::Approved,
            None => DeviceStatus::Denied,
        };
        let changed = w
            .execute(
                Stmt::new(
                    "UPDATE device_codes SET status = $3, user_id = $4, session_id = $5, \
                     auth_time = $6, amr = $7, acr = $8 \
                     WHERE user_code = $1 AND status = 'pending' AND expires_at > $2",
                )
                .text(user_code)
                .int(now)
                .text(status.as_str())
                .opt_text(approval.map(|a| a.user_id.to_string()))
                .opt_text(approval.map(|a| a.session_id.to_string()))
                .opt_int(approval.map(|a| a.auth_time))
                .opt_text(approval.map(|a| to_json(&a.amr, "amr")).transpose()?)
                .opt_text(approval.and_then(|a| a.acr.clone())),
                "device code",
            )
            .await?;
        if changed == 0 {
            return Ok(false);
        }
        w.audit(audit).await?;
        w.commit().await?;
        Ok(true)
    }

    async fn poll_device_code(
        &self,
        device_code_hash: &TokenHash,
        now: Millis,
    ) -> StoreResult<DevicePoll> {
        let mut w = self.write().await?;
        let Some(row) = w
            .fetch_optional(
                Stmt::new(concat!(
                    "SELECT ",
                    device_cols!(),
                    " FROM device_codes WHERE device_code_hash = $1"
                ))
                .text(device_code_hash.as_str()),
                "device code",
            )
            .await?
        else {
            return Ok(DevicePoll::Expired);
        };
        let code = device_from(&row)?;
        if now >= code.expires_at {
            return Ok(DevicePoll::Expired);
        }
        // Too soon after the last answered poll: the interval grows by 5 s
        // (§3.5) and the poll is not counted, so a client that missed a
        // `slow_down` catches up once it waits the grown interval.
        if code
            .last_polled_at
            .is_some_and(|last| now - last < code.interval_secs * 1000)
        {
            w.execute(
                Stmt::new(
                    "UPDATE device_codes SET interval_secs = interval_secs + $2 \
                     WHERE device_code_hash = $1",
                )
                .text(device_code_hash.as_str())
                .int(SLOW_DOWN_SECS),
                "device code",
            )
            .await?;
            w.commit().await?;
            return Ok(DevicePoll::SlowDown);
        }
        // Compare-and-set on the previous poll time, so of two racing polls
        // only one is answered.
        let polled = w
            .execute(
                Stmt::new(
                    "UPDATE device_codes SET last_polled_at = $2 \
                     WHERE device_code_hash = $1 AND status = $3 \
                     AND COALESCE(last_polled_at, -1) = COALESCE($4, -1)",
                )
                .text(device_code_hash.as_str())
                .int(now)
                .text(code.status.as_str())
                .opt_int(code.last_polled_at),
                "device code",
            )
            .await?;
        if polled == 0 {
            w.commit().await?;
            return Ok(DevicePoll::SlowDown);
        }
        let answer = match code.status {
            DeviceStatus::Pending => DevicePoll::Pending,
            DeviceStatus::Denied => DevicePoll::Denied,
            DeviceStatus::Consumed => DevicePoll::Consumed,
            DeviceStatus::Approved => {
                w.execute(
                    Stmt::new(
                        "UPDATE device_codes SET status = 'consumed' \
                         WHERE device_code_hash = $1 AND status = 'approved'",
                    )
                    .text(device_code_hash.as_str()),
                    "device code",
                )
                .await?;
                DevicePoll::Approved(Box::new(code))
            }
        };
        w.commit().await?;
        Ok(answer)
    }
}
