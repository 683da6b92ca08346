//! [`ClientStore`] over `oauth_clients` and `client_assertion_jtis`.
//!
//! A client row carries its secret and registration access token only as
//! SHA-256 hashes. Lists of strings, token lifetimes, the JWKS, claim mappings
//! and extra RFC 7591 metadata are JSON text. Assertion `jti`s are kept until
//! the assertion expires; inserting one that is already there changes nothing,
//! which is what makes an assertion single-use on every node.

use async_trait::async_trait;
use gatehouse_core::StoreError;
use gatehouse_core::clock::Millis;
use gatehouse_core::model::{
    AuditEvent, Client, ClientAuthMethod, ClientGrant, ClientQuery, Page, SubjectType,
};
use gatehouse_core::secret::TokenHash;
use gatehouse_core::store::{ClientStore, StoreResult};

use crate::cursor;
use crate::engine::{Arg, Engine, Record, SqlBuilder, Stmt};
use crate::store::{SqlStore, col, id_col, json_col, to_json};

macro_rules! client_cols {
    () => {
        "client_id, org_id, name, auth_method, secret_hash, secret_expires_at, redirect_uris, \
         post_logout_redirect_uris, grant_types, allowed_scopes, require_pkce, require_consent, \
         lifetimes, subject_type, sector_identifier, jwks, access_token_audience, \
         backchannel_logout_uri, backchannel_logout_session_required, claim_mappings, \
         registration_token_hash, metadata, created_at, updated_at, version"
    };
}

const LIST: &str = "clients";

/// How many expired `jti` rows one call clears at most, so no caller pays for a backlog.
const JTI_CLEANUP_BATCH: i64 = 100;

fn subject_type_str(subject: SubjectType) -> &'static str {
    match subject {
        SubjectType::Public => "public",
        SubjectType::Pairwise => "pairwise",
    }
}

fn bad(column: &str) -> StoreError {
    StoreError::Backend(format!("column {column} holds an unknown value"))
}

fn client_from(row: &impl Record) -> StoreResult<Client> {
    let auth_method = ClientAuthMethod::parse(&col(row.text("auth_method"))?)
        .ok_or_else(|| bad("auth_method"))?;
    let subject_type = match col(row.text("subject_type"))?.as_str() {
        "public" => SubjectType::Public,
        "pairwise" => SubjectType::Pairwise,
        _ => return Err(bad("subject_type")),
    };
    let grant_names: Vec<String> = json_col(row, "grant_types")?;
    let grant_types = grant_names
        .iter()
        .map(|g| ClientGrant::parse(g).ok_or_else(|| bad("grant_types")))
        .collect::<StoreResult<Vec<_>>>()?;
    let jwks = match col(row.opt_text("jwks"))? {
        None => None,
        Some(text) => Some(
            serde_json::from_str(&text)
                .map_err(|e| StoreError::Backend(format!("column jwks holds bad JSON: {e}")))?,
        ),
    };
    Ok(Client {
        client_id: col(row.text("client_id"))?,
        org_id: id_col(row, "org_id")?,
        name: col(row.text("name"))?,
        auth_method,
        secret_hash: col(row.opt_text("secret_hash"))?.map(TokenHash::from_stored),
        secret_expires_at: col(row.opt_int("secret_expires_at"))?,
        redirect_uris: json_col(row, "redirect_uris")?,
        post_logout_redirect_uris: json_col(row, "post_logout_redirect_uris")?,
        grant_types,
        allowed_scopes: json_col(row, "allowed_scopes")?,
        require_pkce: col(row.flag("require_pkce"))?,
        require_consent: col(row.flag("require_consent"))?,
        lifetimes: json_col(row, "lifetimes")?,
        subject_type,
        sector_identifier: col(row.opt_text("sector_identifier"))?,
        jwks,
        access_token_audience: json_col(row, "access_token_audience")?,
        backchannel_logout_uri: col(row.opt_text("backchannel_logout_uri"))?,
        backchannel_logout_session_required: col(row.flag("backchannel_logout_session_required"))?,
        claim_mappings: json_col(row, "claim_mappings")?,
        registration_token_hash: col(row.opt_text("registration_token_hash"))?
            .map(TokenHash::from_stored),
        metadata: json_col(row, "metadata")?,
        created_at: col(row.int("created_at"))?,
        updated_at: col(row.int("updated_at"))?,
        version: col(row.int("version"))?,
    })
}

/// Binds every column after `client_id`, `org_id` in [`client_cols!`] order up to
/// `metadata` (`$3`..`$22`).
fn bind_settings(stmt: Stmt, client: &Client) -> StoreResult<Stmt> {
    let grants: Vec<&str> = client.grant_types.iter().map(|g| g.as_str()).collect();
    let jwks = client
        .jwks
        .as_ref()
        .map(|j| to_json(j, "jwks"))
        .transpose()?;
    Ok(stmt
        .text(client.name.as_str())
        .text(client.auth_method.as_str())
        .opt_text(client.secret_hash.as_ref().map(|h| h.as_str().to_owned()))
        .opt_int(client.secret_expires_at)
        .text(to_json(&client.redirect_uris, "redirect_uris")?)
        .text(to_json(
            &client.post_logout_redirect_uris,
            "post_logout_redirect_uris",
        )?)
        .text(to_json(&grants, "grant_types")?)
        .text(to_json(&client.allowed_scopes, "allowed_scopes")?)
        .flag(client.require_pkce)
        .flag(client.require_consent)
        .text(to_json(&client.lifetimes, "lifetimes")?)
        .text(subject_type_str(client.subject_type))
        .opt_text(client.sector_identifier.as_deref())
        .opt_text(jwks)
        .text(to_json(
            &client.access_token_audience,
            "access_token_audience",
        )?)
        .opt_text(client.backchannel_logout_uri.as_deref())
        .flag(client.backchannel_logout_session_required)
        .text(to_json(&client.claim_mappings, "claim_mappings")?)
        .opt_text(
            client
                .registration_token_hash
                .as_ref()
                .map(|h| h.as_str().to_owned()),
        )
        .text(to_json(&client.metadata, "metadata")?))
}

#[async_trait]
impl<DB: Engine> ClientStore for SqlStore<DB> {
    async fn create_client(&self, client: &Client, audit: &AuditEvent) -> StoreResult<()> {
        let stmt = Stmt::new(concat!(
            "INSERT INTO oauth_clients (",
            client_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
             $17, $18, $19, $20, $21, $22, $23, $24, $25)"
        ))
        .text(client.client_id.as_str())
        .text(client.org_id.to_string());
        let stmt = bind_settings(stmt, client)?
            .int(client.created_at)
            .int(client.updated_at)
            .int(client.version);
        let mut w = self.write().await?;
        w.execute(stmt, "org").await?;
        w.audit(audit).await?;
        w.commit().await
    }

    async fn get_client(&self, client_id: &str) -> StoreResult<Option<Client>> {
        self.read_optional(
            Stmt::new(concat!(
                "SELECT ",
                client_cols!(),
                " FROM oauth_clients WHERE client_id = $1"
            ))
            .text(client_id),
        )
        .await?
        .map(|row| client_from(&row))
        .transpose()
    }

    async fn list_clients(&self, query: &ClientQuery) -> StoreResult<Page<Client>> {
        let size = cursor::page_size(query.limit);
        let mut sql = SqlBuilder::new(concat!("SELECT ", client_cols!(), " FROM oauth_clients"));
        if let Some(org) = query.org_id {
            sql.and("org_id = ").arg(Arg::Text(org.to_string()));
        }
        if let Some(after) = &query.after {
            let position = cursor::decode(LIST, false, after)?;
            sql.and("client_id > ").arg(Arg::Text(position.id));
        }
        sql.push(" ORDER BY client_id LIMIT ")
            .arg(Arg::Int(size as i64 + 1));
        let clients = self
            .read_all(sql.build())
            .await?
            .iter()
            .map(client_from)
            .collect::<StoreResult<Vec<_>>>()?;
        let (items, next) = cursor::paginate(clients, size, |client| {
            cursor::encode(LIST, None, &client.client_id)
        });
        Ok(Page { items, next })
    }

    async fn update_client(&self, client: &Client, audit: &AuditEvent) -> StoreResult<Client> {
        let stmt = Stmt::new(concat!(
            "UPDATE oauth_clients SET name = $3, auth_method = $4, secret_hash = $5, \
             secret_expires_at = $6, redirect_uris = $7, post_logout_redirect_uris = $8, \
             grant_types = $9, allowed_scopes = $10, require_pkce = $11, require_consent = $12, \
             lifetimes = $13, subject_type = $14, sector_identifier = $15, jwks = $16, \
             access_token_audience = $17, backchannel_logout_uri = $18, \
             backchannel_logout_session_required = $19, claim_mappings = $20, \
             registration_token_hash = $21, metadata = $22, updated_at = $23, \
             version = version + 1 WHERE client_id = $1 AND org_id = $2 AND version = $24 RETURNING ",
            client_cols!()
        ))
        .text(client.client_id.as_str())
        .text(client.org_id.to_string());
        let stmt = bind_settings(stmt, client)?
            .int(client.updated_at)
            .int(client.version);
        let mut w = self.write().await?;
        let Some(row) = w.fetch_optional(stmt, "client").await? else {
            let exists = w
                .exists(
                    Stmt::new("SELECT 1 FROM oauth_clients WHERE client_id = $1")
                        .text(client.client_id.as_str()),
                )
                .await?;
            return Err(if exists {
                StoreError::VersionConflict
            } else {
                StoreError::Missing("client")
            });
        };
        let stored = client_from(&row)?;
        w.audit(audit).await?;
        w.commit().await?;
        Ok(stored)
    }

    async fn delete_client(&self, client_id: &str, audit: &AuditEvent) -> StoreResult<bool> {
        let mut w = self.write().await?;
        if w.execute(
            Stmt::new("DELETE FROM oauth_clients WHERE client_id = $1").text(client_id),
            "client",
        )
        .await?
            == 0
        {
            return Ok(false);
        }
        // Its sign-on policy goes with it (a later client of the same id starts clean).
        w.execute(
            Stmt::new("DELETE FROM signon_policies WHERE scope_kind = 'client' AND scope_id = $1")
                .text(client_id),
            "client",
        )
        .await?;
        w.audit(audit).await?;
        w.commit().await?;
        Ok(true)
    }

    async fn use_assertion_jti(
        &self,
        hash: &TokenHash,
        expires_at: Millis,
        now: Millis,
    ) -> StoreResult<bool> {
        // Two single statements, no transaction: the insert alone decides, and
        // ON CONFLICT DO NOTHING makes a concurrent second insert a no-op on both engines.
        self.execute(
            Stmt::new(
                "DELETE FROM client_assertion_jtis WHERE jti_hash IN \
                 (SELECT jti_hash FROM client_assertion_jtis WHERE expires_at <= $1 LIMIT $2)",
            )
            .int(now)
            .int(JTI_CLEANUP_BATCH),
        )
        .await?;
        let inserted = self
            .execute(
                Stmt::new(
                    "INSERT INTO client_assertion_jtis (jti_hash, expires_at) VALUES ($1, $2) \
                     ON CONFLICT (jti_hash) DO NOTHING",
                )
                .text(hash.as_str())
                .int(expires_at),
            )
            .await?;
        Ok(inserted == 1)
    }
}
