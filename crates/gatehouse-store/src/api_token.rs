//! [`ApiTokenStore`] over `api_tokens`: admin tokens, stored only as SHA-256 hashes.
//!
//! A NULL `org_id` is an instance-scope token. Revocation sets `revoked_at` once
//! and never clears it.

use async_trait::async_trait;
use gatehouse_core::StoreError;
use gatehouse_core::clock::Millis;
use gatehouse_core::ids::{ApiTokenId, OrgId};
use gatehouse_core::model::{ApiToken, AuditEvent, TokenKind, TokenScope};
use gatehouse_core::secret::TokenHash;
use gatehouse_core::store::{ApiTokenStore, StoreResult};

use crate::engine::{Engine, Record, Stmt};
use crate::store::{SqlStore, col, id_col, opt_id_col};

macro_rules! token_cols {
    () => {
        "id, org_id, name, hash, prefix, created_at, expires_at, revoked_at, created_by, kind"
    };
}

fn token_from(row: &impl Record) -> StoreResult<ApiToken> {
    let org: Option<OrgId> = opt_id_col(row, "org_id")?;
    Ok(ApiToken {
        id: id_col(row, "id")?,
        name: col(row.text("name"))?,
        scope: org.map_or(TokenScope::Instance, TokenScope::Org),
        kind: TokenKind::parse(&col(row.text("kind"))?)
            .ok_or_else(|| StoreError::Backend("unknown api token kind".into()))?,
        hash: TokenHash::from_stored(col(row.text("hash"))?),
        prefix: col(row.text("prefix"))?,
        created_at: col(row.int("created_at"))?,
        expires_at: col(row.opt_int("expires_at"))?,
        revoked_at: col(row.opt_int("revoked_at"))?,
        created_by: col(row.text("created_by"))?,
    })
}

fn scope_org(scope: TokenScope) -> Option<String> {
    match scope {
        TokenScope::Instance => None,
        TokenScope::Org(org) => Some(org.to_string()),
    }
}

#[async_trait]
impl<DB: Engine> ApiTokenStore for SqlStore<DB> {
    async fn create_api_token(&self, token: &ApiToken, audit: &AuditEvent) -> StoreResult<()> {
        let mut w = self.write().await?;
        w.execute(
            Stmt::new(concat!(
                "INSERT INTO api_tokens (",
                token_cols!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            ))
            .text(token.id.to_string())
            .opt_text(scope_org(token.scope))
            .text(token.name.as_str())
            .text(token.hash.as_str())
            .text(token.prefix.as_str())
            .int(token.created_at)
            .opt_int(token.expires_at)
            .opt_int(token.revoked_at)
            .text(token.created_by.as_str())
            .text(token.kind.as_str()),
            "org",
        )
        .await?;
        w.audit(audit).await?;
        w.commit().await
    }

    async fn find_api_token(&self, hash: &TokenHash) -> StoreResult<Option<ApiToken>> {
        self.read_optional(
            Stmt::new(concat!(
                "SELECT ",
                token_cols!(),
                " FROM api_tokens WHERE hash = $1"
            ))
            .text(hash.as_str()),
        )
        .await?
        .map(|row| token_from(&row))
        .transpose()
    }

    async fn get_api_token(&self, id: ApiTokenId) -> StoreResult<Option<ApiToken>> {
        self.read_optional(
            Stmt::new(concat!(
                "SELECT ",
                token_cols!(),
                " FROM api_tokens WHERE id = $1"
            ))
            .text(id.to_string()),
        )
        .await?
        .map(|row| token_from(&row))
        .transpose()
    }

    async fn list_api_tokens(&self, scope: Option<TokenScope>) -> StoreResult<Vec<ApiToken>> {
        let stmt = match scope {
            None => Stmt::new(concat!(
                "SELECT ",
                token_cols!(),
                " FROM api_tokens ORDER BY created_at DESC, id DESC"
            )),
            Some(TokenScope::Instance) => Stmt::new(concat!(
                "SELECT ",
                token_cols!(),
                " FROM api_tokens WHERE org_id IS NULL ORDER BY created_at DESC, id DESC"
            )),
            Some(TokenScope::Org(org)) => Stmt::new(concat!(
                "SELECT ",
                token_cols!(),
                " FROM api_tokens WHERE org_id = $1 ORDER BY created_at DESC, id DESC"
            ))
            .text(org.to_string()),
        };
        self.read_all(stmt).await?.iter().map(token_from).collect()
    }

    async fn revoke_api_token(
        &self,
        id: ApiTokenId,
        at: Millis,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        let mut w = self.write().await?;
        let revoked = w
            .execute(
                Stmt::new(
                    "UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
                )
                .text(id.to_string())
                .int(at),
                "api token",
            )
            .await?;
        if revoked == 0 {
            return Ok(false);
        }
        w.audit(audit).await?;
        w.commit().await?;
        Ok(true)
    }
}
