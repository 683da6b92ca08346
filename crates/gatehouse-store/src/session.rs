//! [`SessionStore`] over `sso_sessions` and `session_clients`.
//!
//! The cookie secret is kept only as its SHA-256 (`secret_hash`, unique).
//! Revoking a session also revokes the grants issued from it, except
//! `offline_access` grants, which are meant to outlive the browser session,
//! and enqueues the session's back-channel logout notifications.

use async_trait::async_trait;
use gatehouse_core::clock::Millis;
use gatehouse_core::ids::{SessionId, UserId};
use gatehouse_core::model::{AuditEvent, LogoutDelivery, SsoSession};
use gatehouse_core::secret::TokenHash;
use gatehouse_core::store::{SessionStore, StoreResult};

use crate::engine::{Engine, Record, Stmt};
use crate::logout_delivery::insert_delivery;
use crate::store::{SqlStore, col, id_col, json_col, to_json};

macro_rules! session_cols {
    () => {
        "id, secret_hash, org_id, user_id, auth_time, amr, acr, created_at, last_seen_at, \
         expires_at, revoked_at, ip, user_agent, idle_secs, remembered_device"
    };
}

fn session_from(row: &impl Record) -> StoreResult<SsoSession> {
    Ok(SsoSession {
        id: id_col(row, "id")?,
        secret_hash: TokenHash::from_stored(col(row.text("secret_hash"))?),
        org_id: id_col(row, "org_id")?,
        user_id: id_col(row, "user_id")?,
        auth_time: col(row.int("auth_time"))?,
        amr: json_col(row, "amr")?,
        acr: col(row.opt_text("acr"))?,
        created_at: col(row.int("created_at"))?,
        last_seen_at: col(row.int("last_seen_at"))?,
        expires_at: col(row.int("expires_at"))?,
        revoked_at: col(row.opt_int("revoked_at"))?,
        ip: col(row.opt_text("ip"))?,
        user_agent: col(row.opt_text("user_agent"))?,
        idle_secs: col(row.opt_int("idle_secs"))?
            .map(|secs| u32::try_from(secs).unwrap_or(u32::MAX)),
        remembered_device: col(row.flag("remembered_device"))?,
    })
}

#[async_trait]
impl<DB: Engine> SessionStore for SqlStore<DB> {
    async fn create_session(&self, session: &SsoSession, audit: &AuditEvent) -> StoreResult<()> {
        let mut w = self.write().await?;
        w.execute(
            Stmt::new(concat!(
                "INSERT INTO sso_sessions (",
                session_cols!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
            ))
            .text(session.id.to_string())
            .text(session.secret_hash.as_str())
            .text(session.org_id.to_string())
            .text(session.user_id.to_string())
            .int(session.auth_time)
            .text(to_json(&session.amr, "amr")?)
            .opt_text(session.acr.as_deref())
            .int(session.created_at)
            .int(session.last_seen_at)
            .int(session.expires_at)
            .opt_int(session.revoked_at)
            .opt_text(session.ip.as_deref())
            .opt_text(session.user_agent.as_deref())
            .opt_int(session.idle_secs.map(i64::from))
            .flag(session.remembered_device),
            "user",
        )
        .await?;
        w.audit(audit).await?;
        w.commit().await
    }

    async fn find_session(&self, secret_hash: &TokenHash) -> StoreResult<Option<SsoSession>> {
        self.read_optional(
            Stmt::new(concat!(
                "SELECT ",
                session_cols!(),
                " FROM sso_sessions WHERE secret_hash = $1"
            ))
            .text(secret_hash.as_str()),
        )
        .await?
        .map(|row| session_from(&row))
        .transpose()
    }

    async fn get_session(&self, id: SessionId) -> StoreResult<Option<SsoSession>> {
        self.read_optional(
            Stmt::new(concat!(
                "SELECT ",
                session_cols!(),
                " FROM sso_sessions WHERE id = $1"
            ))
            .text(id.to_string()),
        )
        .await?
        .map(|row| session_from(&row))
        .transpose()
    }

    async fn touch_session(&self, id: SessionId, at: Millis) -> StoreResult<()> {
        self.execute(
            Stmt::new(
                "UPDATE sso_sessions SET last_seen_at = $2 WHERE id = $1 AND last_seen_at < $2",
            )
            .text(id.to_string())
            .int(at),
        )
        .await
        .map(drop)
    }

    async fn list_sessions(&self, user: UserId, now: Millis) -> StoreResult<Vec<SsoSession>> {
        self.read_all(
            Stmt::new(concat!(
                "SELECT ",
                session_cols!(),
                " FROM sso_sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 \
                 ORDER BY id DESC"
            ))
            .text(user.to_string())
            .int(now),
        )
        .await?
        .iter()
        .map(session_from)
        .collect()
    }

    async fn revoke_session(
        &self,
        id: SessionId,
        at: Millis,
        deliveries: &[LogoutDelivery],
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        let mut w = self.write().await?;
        let revoked = w
            .execute(
                Stmt::new(
                    "UPDATE sso_sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
                )
                .text(id.to_string())
                .int(at),
                "session",
            )
            .await?;
        if revoked == 0 {
            return Ok(false);
        }
        // Space-delimited scope: match `offline_access` as a whole word.
        w.execute(
            Stmt::new(
                "UPDATE grants SET revoked_at = $2 WHERE session_id = $1 AND revoked_at IS NULL \
                 AND (' ' || scope || ' ') NOT LIKE '% offline_access %'",
            )
            .text(id.to_string())
            .int(at),
            "session",
        )
        .await?;
        for delivery in deliveries {
            insert_delivery(&mut w, delivery).await?;
        }
        w.audit(audit).await?;
        w.commit().await?;
        Ok(true)
    }

    async fn session_clients(&self, id: SessionId) -> StoreResult<Vec<String>> {
        self.read_all(
            Stmt::new(
                "SELECT client_id FROM session_clients WHERE session_id = $1 ORDER BY first_at, client_id",
            )
            .text(id.to_string()),
        )
        .await?
        .iter()
        .map(|row| col(row.text("client_id")))
        .collect()
    }
}
