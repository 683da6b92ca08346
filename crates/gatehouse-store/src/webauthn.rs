//! [`WebauthnStore`] over `webauthn_credentials` and `webauthn_ceremonies`,
//! and [`MagicLinkStore`] over `magic_links`.
//!
//! A ceremony is taken by `DELETE … RETURNING`, so of concurrent finishes
//! exactly one gets its state. A credential's use is one conditional
//! `UPDATE` (`sign_count < $new`), so a counter that does not advance — a
//! cloned key, or the same assertion twice — changes nothing.

use async_trait::async_trait;
use gatehouse_core::StoreError;
use gatehouse_core::clock::Millis;
use gatehouse_core::ids::{FactorId, UserId};
use gatehouse_core::model::{
    AuditEvent, CeremonyKind, Factor, MagicLink, WebauthnCeremony, WebauthnCredential,
};
use gatehouse_core::secret::TokenHash;
use gatehouse_core::store::{MagicLinkStore, StoreResult, WebauthnStore};

use crate::engine::{Engine, Record, Stmt};
use crate::store::{SqlStore, col, id_col, opt_id_col};

macro_rules! credential_cols {
    () => {
        "factor_id, user_id, credential_id, name, credential, sign_count, backup_eligible, \
         backup_state, created_at"
    };
}

macro_rules! ceremony_cols {
    () => {
        "handle_hash, kind, user_id, binding, state, created_at, expires_at"
    };
}

fn credential_from(row: &impl Record) -> StoreResult<WebauthnCredential> {
    Ok(WebauthnCredential {
        factor_id: id_col(row, "factor_id")?,
        user_id: id_col(row, "user_id")?,
        credential_id: col(row.text("credential_id"))?,
        name: col(row.text("name"))?,
        credential: col(row.text("credential"))?,
        sign_count: col(row.int("sign_count"))?,
        backup_eligible: col(row.flag("backup_eligible"))?,
        backup_state: col(row.flag("backup_state"))?,
        created_at: col(row.int("created_at"))?,
    })
}

fn ceremony_from(row: &impl Record) -> StoreResult<WebauthnCeremony> {
    let kind = col(row.text("kind"))?;
    Ok(WebauthnCeremony {
        handle_hash: TokenHash::from_stored(col(row.text("handle_hash"))?),
        kind: CeremonyKind::parse(&kind)
            .ok_or_else(|| StoreError::Backend(format!("unknown ceremony kind {kind:?}")))?,
        user_id: opt_id_col(row, "user_id")?,
        binding: col(row.text("binding"))?,
        state: col(row.text("state"))?,
        created_at: col(row.int("created_at"))?,
        expires_at: col(row.int("expires_at"))?,
    })
}

#[async_trait]
impl<DB: Engine> WebauthnStore for SqlStore<DB> {
    async fn create_webauthn_factor(
        &self,
        factor: &Factor,
        credential: &WebauthnCredential,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let mut w = self.write().await?;
        w.execute(crate::factor::insert_factor(factor), "user")
            .await?;
        w.execute(
            Stmt::new(concat!(
                "INSERT INTO webauthn_credentials (",
                credential_cols!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            ))
            .text(credential.factor_id.to_string())
            .text(credential.user_id.to_string())
            .text(credential.credential_id.clone())
            .text(credential.name.clone())
            .text(credential.credential.clone())
            .int(credential.sign_count)
            .flag(credential.backup_eligible)
            .flag(credential.backup_state)
            .int(credential.created_at),
            "user",
        )
        .await?;
        w.audit(audit).await?;
        w.commit().await
    }

    async fn list_webauthn_credentials(
        &self,
        user: UserId,
    ) -> StoreResult<Vec<WebauthnCredential>> {
        self.read_all(
            Stmt::new(concat!(
                "SELECT ",
                credential_cols!(),
                " FROM webauthn_credentials WHERE user_id = $1 ORDER BY factor_id"
            ))
            .text(user.to_string()),
        )
        .await?
        .iter()
        .map(credential_from)
        .collect()
    }

    async fn find_webauthn_credential(
        &self,
        credential_id: &str,
    ) -> StoreResult<Option<WebauthnCredential>> {
        self.read_optional(
            Stmt::new(concat!(
                "SELECT ",
                credential_cols!(),
                " FROM webauthn_credentials WHERE credential_id = $1"
            ))
            .text(credential_id.to_owned()),
        )
        .await?
        .map(|row| credential_from(&row))
        .transpose()
    }

    async fn record_webauthn_use(
        &self,
        factor: FactorId,
        sign_count: i64,
        backup_state: bool,
        credential: &str,
        at: Millis,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        let mut w = self.write().await?;
        let changed = w
            .execute(
                Stmt::new(
                    "UPDATE webauthn_credentials SET sign_count = $2, backup_state = $3, \
                     credential = $4 WHERE factor_id = $1 \
                     AND (sign_count < $2 OR (sign_count = 0 AND $2 = 0))",
                )
                .text(factor.to_string())
                .int(sign_count)
                .flag(backup_state)
                .text(credential.to_owned()),
                "factor",
            )
            .await?;
        if changed == 0 {
            return Ok(false);
        }
        w.execute(
            Stmt::new("UPDATE factors SET last_used_at = $2 WHERE id = $1")
                .text(factor.to_string())
                .int(at),
            "factor",
        )
        .await?;
        w.audit(audit).await?;
        w.commit().await?;
        Ok(true)
    }

    async fn put_webauthn_ceremony(&self, ceremony: &WebauthnCeremony) -> StoreResult<()> {
        self.execute(
            Stmt::new(concat!(
                "INSERT INTO webauthn_ceremonies (",
                ceremony_cols!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7)"
            ))
            .text(ceremony.handle_hash.as_str())
            .text(ceremony.kind.as_str())
            .opt_text(ceremony.user_id.map(|u| u.to_string()))
            .text(ceremony.binding.clone())
            .text(ceremony.state.clone())
            .int(ceremony.created_at)
            .int(ceremony.expires_at),
        )
        .await
        .map(drop)
    }

    async fn take_webauthn_ceremony(
        &self,
        handle_hash: &TokenHash,
        now: Millis,
    ) -> StoreResult<Option<WebauthnCeremony>> {
        let mut w = self.write().await?;
        let row = w
            .fetch_optional(
                Stmt::new(concat!(
                    "DELETE FROM webauthn_ceremonies WHERE handle_hash = $1 RETURNING ",
                    ceremony_cols!()
                ))
                .text(handle_hash.as_str()),
                "ceremony",
            )
            .await?;
        w.commit().await?;
        match row {
            Some(row) => {
                let ceremony = ceremony_from(&row)?;
                Ok((ceremony.expires_at > now).then_some(ceremony))
            }
            None => Ok(None),
        }
    }
}

macro_rules! link_cols {
    () => {
        "token_hash, user_id, browser_hash, request, return_to, created_at, expires_at, used_at"
    };
}

fn link_from(row: &impl Record) -> StoreResult<MagicLink> {
    Ok(MagicLink {
        token_hash: TokenHash::from_stored(col(row.text("token_hash"))?),
        user_id: id_col(row, "user_id")?,
        browser_hash: TokenHash::from_stored(col(row.text("browser_hash"))?),
        request: col(row.opt_text("request"))?,
        return_to: col(row.opt_text("return_to"))?,
        created_at: col(row.int("created_at"))?,
        expires_at: col(row.int("expires_at"))?,
        used_at: col(row.opt_int("used_at"))?,
    })
}

#[async_trait]
impl<DB: Engine> MagicLinkStore for SqlStore<DB> {
    async fn put_magic_link(
        &self,
        link: &MagicLink,
        not_since: Millis,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        let mut w = self.write().await?;
        // The resend limit is one statement (best effort: two requests at the
        // same moment on PostgreSQL may both pass; each link is still single-use).
        let inserted = w
            .execute(
                Stmt::new(concat!(
                    "INSERT INTO magic_links (",
                    link_cols!(),
                    ") SELECT $1, $2, $3, $4, $5, $6, $7, NULL WHERE NOT EXISTS \
                     (SELECT 1 FROM magic_links WHERE user_id = $2 AND created_at > $8)"
                ))
                .text(link.token_hash.as_str())
                .text(link.user_id.to_string())
                .text(link.browser_hash.as_str())
                .opt_text(link.request.clone())
                .opt_text(link.return_to.clone())
                .int(link.created_at)
                .int(link.expires_at)
                .int(not_since),
                "user",
            )
            .await?;
        if inserted == 0 {
            return Ok(false);
        }
        w.audit(audit).await?;
        w.commit().await?;
        Ok(true)
    }

    async fn get_magic_link(
        &self,
        token_hash: &TokenHash,
        now: Millis,
    ) -> StoreResult<Option<MagicLink>> {
        self.read_optional(
            Stmt::new(concat!(
                "SELECT ",
                link_cols!(),
                " FROM magic_links WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2"
            ))
            .text(token_hash.as_str())
            .int(now),
        )
        .await?
        .map(|row| link_from(&row))
        .transpose()
    }

    async fn use_magic_link(
        &self,
        token_hash: &TokenHash,
        now: Millis,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        let mut w = self.write().await?;
        let used = w
            .execute(
                Stmt::new(
                    "UPDATE magic_links SET used_at = $2 WHERE token_hash = $1 \
                     AND used_at IS NULL AND expires_at > $2",
                )
                .text(token_hash.as_str())
                .int(now),
                "link",
            )
            .await?;
        if used == 0 {
            return Ok(false);
        }
        w.audit(audit).await?;
        w.commit().await?;
        Ok(true)
    }
}
