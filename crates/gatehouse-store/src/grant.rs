//! [`GrantStore`] over `pending_authorizations`, `grants`, `authorization_codes`,
//! `refresh_tokens`, `revoked_tokens` and `consents`.
//!
//! Single use is enforced by the database, not by reading first: a code or a
//! refresh token is spent by `UPDATE … WHERE used_at IS NULL`, so of two
//! concurrent presentations exactly one changes a row. The loser finds the row
//! spent and revokes the grant in the same transaction (reuse detection, RFC
//! 6749 §4.1.2 and §10.4, OAuth 2.0 Security BCP §4.14).

use async_trait::async_trait;
use gatehouse_core::clock::Millis;
use gatehouse_core::ids::{GrantId, UserId};
use gatehouse_core::model::{
    AuditEvent, AuthorizationCode, CodeRedemption, Consent, Grant, PendingAuthorization,
    RefreshRotation, RefreshToken,
};
use gatehouse_core::secret::TokenHash;
use gatehouse_core::store::{GrantStore, StoreResult};

use crate::engine::{Engine, Record, Stmt};
use crate::store::{SqlStore, Writer, col, id_col, json_col, opt_id_col, to_json};

macro_rules! grant_cols {
    () => {
        "id, client_id, org_id, user_id, session_id, scope, resources, claims, auth_time, acr, \
         amr, created_at, expires_at, revoked_at"
    };
}

macro_rules! code_cols {
    () => {
        "code_hash, grant_id, redirect_uri, redirect_given, code_challenge, nonce, created_at, \
         expires_at, used_at"
    };
}

macro_rules! refresh_cols {
    () => {
        "token_hash, grant_id, created_at, expires_at, used_at"
    };
}

fn grant_from(row: &impl Record) -> StoreResult<Grant> {
    let claims: Option<String> = col(row.opt_text("claims"))?;
    Ok(Grant {
        id: id_col(row, "id")?,
        client_id: col(row.text("client_id"))?,
        org_id: id_col(row, "org_id")?,
        user_id: id_col(row, "user_id")?,
        session_id: opt_id_col(row, "session_id")?,
        scope: col(row.text("scope"))?,
        resources: json_col(row, "resources")?,
        claims: claims
            .map(|text| serde_json::from_str(&text))
            .transpose()
            .map_err(|e| gatehouse_core::StoreError::Backend(format!("bad claims JSON: {e}")))?,
        auth_time: col(row.int("auth_time"))?,
        acr: col(row.opt_text("acr"))?,
        amr: json_col(row, "amr")?,
        created_at: col(row.int("created_at"))?,
        expires_at: col(row.int("expires_at"))?,
        revoked_at: col(row.opt_int("revoked_at"))?,
    })
}

fn code_from(row: &impl Record) -> StoreResult<AuthorizationCode> {
    Ok(AuthorizationCode {
        code_hash: TokenHash::from_stored(col(row.text("code_hash"))?),
        grant_id: id_col(row, "grant_id")?,
        redirect_uri: col(row.text("redirect_uri"))?,
        redirect_given: col(row.flag("redirect_given"))?,
        code_challenge: col(row.opt_text("code_challenge"))?,
        nonce: col(row.opt_text("nonce"))?,
        created_at: col(row.int("created_at"))?,
        expires_at: col(row.int("expires_at"))?,
        used_at: col(row.opt_int("used_at"))?,
    })
}

fn refresh_from(row: &impl Record) -> StoreResult<RefreshToken> {
    Ok(RefreshToken {
        token_hash: TokenHash::from_stored(col(row.text("token_hash"))?),
        grant_id: id_col(row, "grant_id")?,
        created_at: col(row.int("created_at"))?,
        expires_at: col(row.int("expires_at"))?,
        used_at: col(row.opt_int("used_at"))?,
    })
}

fn select_grant(id: GrantId) -> Stmt {
    Stmt::new(concat!(
        "SELECT ",
        grant_cols!(),
        " FROM grants WHERE id = $1"
    ))
    .text(id.to_string())
}

fn insert_grant(grant: &Grant) -> StoreResult<Stmt> {
    Ok(Stmt::new(concat!(
        "INSERT INTO grants (",
        grant_cols!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    ))
    .text(grant.id.to_string())
    .text(grant.client_id.as_str())
    .text(grant.org_id.to_string())
    .text(grant.user_id.to_string())
    .opt_text(grant.session_id.map(|id| id.to_string()))
    .text(grant.scope.as_str())
    .text(to_json(&grant.resources, "resources")?)
    .opt_text(grant.claims.as_ref().map(|c| c.to_string()))
    .int(grant.auth_time)
    .opt_text(grant.acr.as_deref())
    .text(to_json(&grant.amr, "amr")?)
    .int(grant.created_at)
    .int(grant.expires_at)
    .opt_int(grant.revoked_at))
}

fn insert_refresh(token: &RefreshToken) -> Stmt {
    Stmt::new(concat!(
        "INSERT INTO refresh_tokens (",
        refresh_cols!(),
        ") VALUES ($1, $2, $3, $4, $5)"
    ))
    .text(token.token_hash.as_str())
    .text(token.grant_id.to_string())
    .int(token.created_at)
    .int(token.expires_at)
    .opt_int(token.used_at)
}

/// Revokes a grant inside `w`; whether it was active before.
async fn revoke_in<DB: Engine>(w: &mut Writer<DB>, id: GrantId, at: Millis) -> StoreResult<bool> {
    Ok(w.execute(
        Stmt::new("UPDATE grants SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .text(id.to_string())
            .int(at),
        "grant",
    )
    .await?
        > 0)
}

#[async_trait]
impl<DB: Engine> GrantStore for SqlStore<DB> {
    async fn put_pending_authorization(&self, pending: &PendingAuthorization) -> StoreResult<()> {
        self.execute(
            Stmt::new(
                "INSERT INTO pending_authorizations (handle_hash, client_id, request, created_at, \
                 expires_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .text(pending.handle_hash.as_str())
            .text(pending.client_id.as_str())
            .text(pending.request.to_string())
            .int(pending.created_at)
            .int(pending.expires_at),
        )
        .await
        .map(drop)
    }

    async fn get_pending_authorization(
        &self,
        handle_hash: &TokenHash,
        now: Millis,
    ) -> StoreResult<Option<PendingAuthorization>> {
        let Some(row) = self
            .read_optional(
                Stmt::new(
                    "SELECT handle_hash, client_id, request, created_at, expires_at \
                     FROM pending_authorizations WHERE handle_hash = $1 AND expires_at > $2",
                )
                .text(handle_hash.as_str())
                .int(now),
            )
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(PendingAuthorization {
            handle_hash: TokenHash::from_stored(col(row.text("handle_hash"))?),
            client_id: col(row.text("client_id"))?,
            request: json_col(&row, "request")?,
            created_at: col(row.int("created_at"))?,
            expires_at: col(row.int("expires_at"))?,
        }))
    }

    async fn take_pending_authorization(&self, handle_hash: &TokenHash) -> StoreResult<bool> {
        Ok(self
            .execute(
                Stmt::new("DELETE FROM pending_authorizations WHERE handle_hash = $1")
                    .text(handle_hash.as_str()),
            )
            .await?
            > 0)
    }

    async fn create_code_grant(
        &self,
        grant: &Grant,
        code: &AuthorizationCode,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let mut w = self.write().await?;
        w.execute(insert_grant(grant)?, "user").await?;
        w.execute(
            Stmt::new(concat!(
                "INSERT INTO authorization_codes (",
                code_cols!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            ))
            .text(code.code_hash.as_str())
            .text(code.grant_id.to_string())
            .text(code.redirect_uri.as_str())
            .flag(code.redirect_given)
            .opt_text(code.code_challenge.as_deref())
            .opt_text(code.nonce.as_deref())
            .int(code.created_at)
            .int(code.expires_at)
            .opt_int(code.used_at),
            "grant",
        )
        .await?;
        if let Some(session) = grant.session_id {
            w.execute(
                Stmt::new(
                    "INSERT INTO session_clients (session_id, client_id, first_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (session_id, client_id) DO NOTHING",
                )
                .text(session.to_string())
                .text(grant.client_id.as_str())
                .int(grant.created_at),
                "session",
            )
            .await?;
        }
        w.audit(audit).await?;
        w.commit().await
    }

    async fn redeem_code(
        &self,
        code_hash: &TokenHash,
        now: Millis,
        reuse_audit: &AuditEvent,
    ) -> StoreResult<CodeRedemption> {
        let mut w = self.write().await?;
        let spent = w
            .execute(
                Stmt::new(
                    "UPDATE authorization_codes SET used_at = $2 \
                     WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $2",
                )
                .text(code_hash.as_str())
                .int(now),
                "code",
            )
            .await?;
        let Some(row) = w
            .fetch_optional(
                Stmt::new(concat!(
                    "SELECT ",
                    code_cols!(),
                    " FROM authorization_codes WHERE code_hash = $1"
                ))
                .text(code_hash.as_str()),
                "code",
            )
            .await?
        else {
            return Ok(CodeRedemption::Unknown);
        };
        let code = code_from(&row)?;
        if spent == 0 {
            if code.used_at.is_none() {
                // Expired, never used: nothing to revoke.
                return Ok(CodeRedemption::Unknown);
            }
            if revoke_in(&mut w, code.grant_id, now).await? {
                w.audit(reuse_audit).await?;
            }
            w.commit().await?;
            return Ok(CodeRedemption::Reused(code.grant_id));
        }
        let Some(grant_row) = w
            .fetch_optional(select_grant(code.grant_id), "grant")
            .await?
        else {
            return Ok(CodeRedemption::Unknown);
        };
        let grant = grant_from(&grant_row)?;
        w.commit().await?;
        Ok(CodeRedemption::Redeemed(Box::new((code, grant))))
    }

    async fn create_grant(&self, grant: &Grant, audit: &AuditEvent) -> StoreResult<()> {
        let mut w = self.write().await?;
        w.execute(insert_grant(grant)?, "user").await?;
        w.audit(audit).await?;
        w.commit().await
    }

    async fn get_grant(&self, id: GrantId) -> StoreResult<Option<Grant>> {
        self.read_optional(select_grant(id))
            .await?
            .map(|row| grant_from(&row))
            .transpose()
    }

    async fn add_refresh_token(&self, token: &RefreshToken) -> StoreResult<()> {
        let mut w = self.write().await?;
        w.execute(insert_refresh(token), "grant").await?;
        w.commit().await
    }

    async fn find_refresh_token(
        &self,
        token_hash: &TokenHash,
    ) -> StoreResult<Option<(RefreshToken, Grant)>> {
        let Some(row) = self
            .read_optional(
                Stmt::new(concat!(
                    "SELECT ",
                    refresh_cols!(),
                    " FROM refresh_tokens WHERE token_hash = $1"
                ))
                .text(token_hash.as_str()),
            )
            .await?
        else {
            return Ok(None);
        };
        let token = refresh_from(&row)?;
        let Some(grant) = self.get_grant(token.grant_id).await? else {
            return Ok(None);
        };
        Ok(Some((token, grant)))
    }

    async fn rotate_refresh_token(
        &self,
        presented: &TokenHash,
        successor: &RefreshToken,
        now: Millis,
        reuse_audit: &AuditEvent,
    ) -> StoreResult<RefreshRotation> {
        let mut w = self.write().await?;
        let spent = w
            .execute(
                Stmt::new(
                    "UPDATE refresh_tokens SET used_at = $2 \
                     WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
                )
                .text(presented.as_str())
                .int(now),
                "refresh token",
            )
            .await?;
        let Some(row) = w
            .fetch_optional(
                Stmt::new(concat!(
                    "SELECT ",
                    refresh_cols!(),
                    " FROM refresh_tokens WHERE token_hash = $1"
                ))
                .text(presented.as_str()),
                "refresh token",
            )
            .await?
        else {
            return Ok(RefreshRotation::Invalid);
        };
        let token = refresh_from(&row)?;
        if spent == 0 {
            if token.used_at.is_none() {
                return Ok(RefreshRotation::Invalid);
            }
            if revoke_in(&mut w, token.grant_id, now).await? {
                w.audit(reuse_audit).await?;
            }
            w.commit().await?;
            return Ok(RefreshRotation::Reused(token.grant_id));
        }
        let Some(grant_row) = w
            .fetch_optional(select_grant(token.grant_id), "grant")
            .await?
        else {
            return Ok(RefreshRotation::Invalid);
        };
        let grant = grant_from(&grant_row)?;
        if !grant.is_active(now) || successor.grant_id != grant.id {
            // Dropping the writer rolls the spend back: a dead grant changes nothing.
            return Ok(RefreshRotation::Invalid);
        }
        w.execute(insert_refresh(successor), "grant").await?;
        w.commit().await?;
        Ok(RefreshRotation::Rotated(Box::new(grant)))
    }

    async fn revoke_grant(&self, id: GrantId, at: Millis, audit: &AuditEvent) -> StoreResult<bool> {
        let mut w = self.write().await?;
        if !revoke_in(&mut w, id, at).await? {
            return Ok(false);
        }
        w.audit(audit).await?;
        w.commit().await?;
        Ok(true)
    }

    async fn revoke_jti(
        &self,
        jti: &str,
        expires_at: Millis,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let mut w = self.write().await?;
        let added = w
            .execute(
                Stmt::new(
                    "INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, $2) \
                     ON CONFLICT (jti) DO NOTHING",
                )
                .text(jti)
                .int(expires_at),
                "token",
            )
            .await?;
        if added > 0 {
            w.audit(audit).await?;
        }
        w.commit().await
    }

    async fn is_jti_revoked(&self, jti: &str) -> StoreResult<bool> {
        Ok(self
            .read_optional(
                Stmt::new("SELECT 1 AS one FROM revoked_tokens WHERE jti = $1").text(jti),
            )
            .await?
            .is_some())
    }

    async fn get_consent(&self, user: UserId, client_id: &str) -> StoreResult<Option<Consent>> {
        let Some(row) = self
            .read_optional(
                Stmt::new(
                    "SELECT user_id, client_id, scopes, granted_at FROM consents \
                     WHERE user_id = $1 AND client_id = $2",
                )
                .text(user.to_string())
                .text(client_id),
            )
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(Consent {
            user_id: id_col(&row, "user_id")?,
            client_id: col(row.text("client_id"))?,
            scopes: json_col(&row, "scopes")?,
            granted_at: col(row.int("granted_at"))?,
        }))
    }

    async fn put_consent(&self, consent: &Consent, audit: &AuditEvent) -> StoreResult<()> {
        let mut w = self.write().await?;
        w.execute(
            Stmt::new(
                "INSERT INTO consents (user_id, client_id, scopes, granted_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, \
                 granted_at = excluded.granted_at",
            )
            .text(consent.user_id.to_string())
            .text(consent.client_id.as_str())
            .text(to_json(&consent.scopes, "scopes")?)
            .int(consent.granted_at),
            "user",
        )
        .await?;
        w.audit(audit).await?;
        w.commit().await
    }

    async fn purge_expired(&self, now: Millis) -> StoreResult<u64> {
        let mut w = self.write().await?;
        let mut removed = 0;
        for sql in [
            "DELETE FROM pending_authorizations WHERE expires_at <= $1",
            "DELETE FROM device_codes WHERE expires_at <= $1",
            "DELETE FROM revoked_tokens WHERE expires_at <= $1",
            "DELETE FROM authorization_codes WHERE expires_at <= $1",
            "DELETE FROM refresh_tokens WHERE expires_at <= $1",
            "DELETE FROM grants WHERE expires_at <= $1",
            "DELETE FROM sso_sessions WHERE expires_at <= $1",
        ] {
            removed += w.execute(Stmt::new(sql).int(now), "expired").await?;
        }
        w.commit().await?;
        Ok(removed)
    }
}
