//! [`SamlStore`] over `saml_service_providers`, `saml_request_ids`,
//! `saml_pending` and `saml_session_participants`.
//!
//! Request ids are single-use through `INSERT … ON CONFLICT DO NOTHING` (the
//! insert alone decides, on both engines); pending sign-ins are spent by
//! `DELETE`, so of two concurrent answers exactly one proceeds.

use async_trait::async_trait;
use gatehouse_core::StoreError;
use gatehouse_core::clock::Millis;
use gatehouse_core::ids::{OrgId, ServiceProviderId, SessionId};
use gatehouse_core::model::{
    AuditEvent, SamlLogoutChain, SamlParticipant, SamlPending, ServiceProvider,
};
use gatehouse_core::secret::TokenHash;
use gatehouse_core::store::{SamlStore, StoreResult};

use crate::engine::{Engine, Record, Stmt};
use crate::store::{SqlStore, col, id_col, json_col, to_json};

/// Expired request ids deleted per call, at most.
const CLEANUP_BATCH: i64 = 100;

macro_rules! chain_cols {
    () => {
        "id, handle_hash, current_request_id, state, created_at, expires_at"
    };
}

macro_rules! sp_cols {
    () => {
        "id, org_id, entity_id, settings, created_at, updated_at, version"
    };
}

macro_rules! participant_cols {
    () => {
        "session_id, sp_id, session_index, name_id, name_id_format, created_at"
    };
}

fn sp_from(row: &impl Record) -> StoreResult<ServiceProvider> {
    Ok(ServiceProvider {
        id: id_col(row, "id")?,
        org_id: id_col(row, "org_id")?,
        entity_id: col(row.text("entity_id"))?,
        settings: json_col(row, "settings")?,
        created_at: col(row.int("created_at"))?,
        updated_at: col(row.int("updated_at"))?,
        version: col(row.int("version"))?,
    })
}

fn participant_from(row: &impl Record) -> StoreResult<SamlParticipant> {
    Ok(SamlParticipant {
        session_id: id_col(row, "session_id")?,
        sp_id: id_col(row, "sp_id")?,
        session_index: col(row.text("session_index"))?,
        name_id: col(row.text("name_id"))?,
        name_id_format: col(row.text("name_id_format"))?,
        created_at: col(row.int("created_at"))?,
    })
}

#[async_trait]
impl<DB: Engine> SamlStore for SqlStore<DB> {
    async fn create_service_provider(
        &self,
        sp: &ServiceProvider,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let mut w = self.write().await?;
        w.execute(
            Stmt::new(concat!(
                "INSERT INTO saml_service_providers (",
                sp_cols!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7)"
            ))
            .text(sp.id.to_string())
            .text(sp.org_id.to_string())
            .text(sp.entity_id.as_str())
            .text(to_json(&sp.settings, "settings")?)
            .int(sp.created_at)
            .int(sp.updated_at)
            .int(sp.version),
            "org",
        )
        .await?;
        w.audit(audit).await?;
        w.commit().await
    }

    async fn get_service_provider(
        &self,
        id: ServiceProviderId,
    ) -> StoreResult<Option<ServiceProvider>> {
        self.read_optional(
            Stmt::new(concat!(
                "SELECT ",
                sp_cols!(),
                " FROM saml_service_providers WHERE id = $1"
            ))
            .text(id.to_string()),
        )
        .await?
        .map(|row| sp_from(&row))
        .transpose()
    }

    async fn find_service_provider(&self, entity_id: &str) -> StoreResult<Option<ServiceProvider>> {
        self.read_optional(
            Stmt::new(concat!(
                "SELECT ",
                sp_cols!(),
                " FROM saml_service_providers WHERE entity_id = $1"
            ))
            .text(entity_id),
        )
        .await?
        .map(|row| sp_from(&row))
        .transpose()
    }

    async fn list_service_providers(
        &self,
        org: Option<OrgId>,
    ) -> StoreResult<Vec<ServiceProvider>> {
        let stmt = match org {
            Some(org) => Stmt::new(concat!(
                "SELECT ",
                sp_cols!(),
                " FROM saml_service_providers WHERE org_id = $1 ORDER BY id"
            ))
            .text(org.to_string()),
            None => Stmt::new(concat!(
                "SELECT ",
                sp_cols!(),
                " FROM saml_service_providers ORDER BY id"
            )),
        };
        self.read_all(stmt).await?.iter().map(sp_from).collect()
    }

    async fn update_service_provider(
        &self,
        sp: &ServiceProvider,
        audit: &AuditEvent,
    ) -> StoreResult<ServiceProvider> {
        let stmt = Stmt::new(concat!(
            "UPDATE saml_service_providers SET entity_id = $2, settings = $3, updated_at = $4, \
             version = version + 1 WHERE id = $1 AND version = $5 RETURNING ",
            sp_cols!()
        ))
        .text(sp.id.to_string())
        .text(sp.entity_id.as_str())
        .text(to_json(&sp.settings, "settings")?)
        .int(sp.updated_at)
        .int(sp.version);
        let mut w = self.write().await?;
        let Some(row) = w.fetch_optional(stmt, "service_provider").await? else {
            let exists = w
                .exists(
                    Stmt::new("SELECT 1 FROM saml_service_providers WHERE id = $1")
                        .text(sp.id.to_string()),
                )
                .await?;
            return Err(if exists {
                StoreError::VersionConflict
            } else {
                StoreError::Missing("service_provider")
            });
        };
        let stored = sp_from(&row)?;
        w.audit(audit).await?;
        w.commit().await?;
        Ok(stored)
    }

    async fn delete_service_provider(
        &self,
        id: ServiceProviderId,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        let mut w = self.write().await?;
        let deleted = w
            .execute(
                Stmt::new("DELETE FROM saml_service_providers WHERE id = $1").text(id.to_string()),
                "service_provider",
            )
            .await?;
        if deleted == 0 {
            return Ok(false);
        }
        // Its sign-on policy and app assignments go with it.
        w.execute(
            Stmt::new(
                "DELETE FROM signon_policies WHERE scope_kind = 'service_provider' AND scope_id = $1",
            )
            .text(id.to_string()),
            "service_provider",
        )
        .await?;
        w.execute(
            Stmt::new("DELETE FROM app_assignments WHERE app_kind = 'saml' AND app_id = $1")
                .text(id.to_string()),
            "service_provider",
        )
        .await?;
        w.audit(audit).await?;
        w.commit().await?;
        Ok(true)
    }

    async fn use_saml_request_id(
        &self,
        sp: ServiceProviderId,
        request_id: &str,
        expires_at: Millis,
        now: Millis,
    ) -> StoreResult<bool> {
        self.execute(
            Stmt::new(
                "DELETE FROM saml_request_ids WHERE (sp_id, request_id) IN \
                 (SELECT sp_id, request_id FROM saml_request_ids WHERE expires_at <= $1 LIMIT $2)",
            )
            .int(now)
            .int(CLEANUP_BATCH),
        )
        .await?;
        let inserted = self
            .execute(
                Stmt::new(
                    "INSERT INTO saml_request_ids (sp_id, request_id, expires_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (sp_id, request_id) DO NOTHING",
                )
                .text(sp.to_string())
                .text(request_id)
                .int(expires_at),
            )
            .await?;
        Ok(inserted == 1)
    }

    async fn put_saml_pending(&self, pending: &SamlPending) -> StoreResult<()> {
        self.execute(
            Stmt::new(
                "INSERT INTO saml_pending (handle_hash, sp_id, request_id, acs_url, relay_state, \
                 force_authn, is_passive, created_at, expires_at, requested_authn_context) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .text(pending.handle_hash.as_str())
            .text(pending.sp_id.to_string())
            .opt_text(pending.request_id.as_deref())
            .text(pending.acs_url.as_str())
            .opt_text(pending.relay_state.as_deref())
            .flag(pending.force_authn)
            .flag(pending.is_passive)
            .int(pending.created_at)
            .int(pending.expires_at)
            .opt_text(
                pending
                    .requested_authn_context
                    .as_ref()
                    .map(|r| to_json(r, "requested authn context"))
                    .transpose()?,
            ),
        )
        .await
        .map(drop)
    }

    async fn get_saml_pending(
        &self,
        handle_hash: &TokenHash,
        now: Millis,
    ) -> StoreResult<Option<SamlPending>> {
        let Some(row) = self
            .read_optional(
                Stmt::new(
                    "SELECT handle_hash, sp_id, request_id, acs_url, relay_state, force_authn, \
                     is_passive, created_at, expires_at, requested_authn_context FROM saml_pending \
                     WHERE handle_hash = $1 AND expires_at > $2",
                )
                .text(handle_hash.as_str())
                .int(now),
            )
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(SamlPending {
            handle_hash: TokenHash::from_stored(col(row.text("handle_hash"))?),
            sp_id: id_col(&row, "sp_id")?,
            request_id: col(row.opt_text("request_id"))?,
            acs_url: col(row.text("acs_url"))?,
            relay_state: col(row.opt_text("relay_state"))?,
            force_authn: col(row.flag("force_authn"))?,
            is_passive: col(row.flag("is_passive"))?,
            requested_authn_context: match col(row.opt_text("requested_authn_context"))? {
                Some(text) => Some(serde_json::from_str(&text).map_err(|e| {
                    StoreError::Backend(format!("requested_authn_context holds bad JSON: {e}"))
                })?),
                None => None,
            },
            created_at: col(row.int("created_at"))?,
            expires_at: col(row.int("expires_at"))?,
        }))
    }

    async fn take_saml_pending(&self, handle_hash: &TokenHash) -> StoreResult<bool> {
        Ok(self
            .execute(
                Stmt::new("DELETE FROM saml_pending WHERE handle_hash = $1")
                    .text(handle_hash.as_str()),
            )
            .await?
            > 0)
    }

    async fn join_saml_session(&self, p: &SamlParticipant) -> StoreResult<SamlParticipant> {
        self.execute(
            Stmt::new(concat!(
                "INSERT INTO saml_session_participants (",
                participant_cols!(),
                ") VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (session_id, sp_id) DO NOTHING"
            ))
            .text(p.session_id.to_string())
            .text(p.sp_id.to_string())
            .text(p.session_index.as_str())
            .text(p.name_id.as_str())
            .text(p.name_id_format.as_str())
            .int(p.created_at),
        )
        .await?;
        let row = self
            .read_optional(
                Stmt::new(concat!(
                    "SELECT ",
                    participant_cols!(),
                    " FROM saml_session_participants WHERE session_id = $1 AND sp_id = $2"
                ))
                .text(p.session_id.to_string())
                .text(p.sp_id.to_string()),
            )
            .await?
            .ok_or(StoreError::Missing("session"))?;
        participant_from(&row)
    }

    async fn find_saml_participant(
        &self,
        sp: ServiceProviderId,
        session_index: &str,
    ) -> StoreResult<Option<SamlParticipant>> {
        self.read_optional(
            Stmt::new(concat!(
                "SELECT ",
                participant_cols!(),
                " FROM saml_session_participants WHERE sp_id = $1 AND session_index = $2"
            ))
            .text(sp.to_string())
            .text(session_index),
        )
        .await?
        .map(|row| participant_from(&row))
        .transpose()
    }

    async fn saml_participants(&self, session: SessionId) -> StoreResult<Vec<SamlParticipant>> {
        self.read_all(
            Stmt::new(concat!(
                "SELECT ",
                participant_cols!(),
                " FROM saml_session_participants WHERE session_id = $1 ORDER BY created_at, sp_id"
            ))
            .text(session.to_string()),
        )
        .await?
        .iter()
        .map(participant_from)
        .collect()
    }

    async fn put_saml_logout_chain(&self, chain: &SamlLogoutChain, now: Millis) -> StoreResult<()> {
        self.execute(
            Stmt::new(
                "DELETE FROM saml_logout_chains WHERE id IN \
                 (SELECT id FROM saml_logout_chains WHERE expires_at <= $1 LIMIT $2)",
            )
            .int(now)
            .int(CLEANUP_BATCH),
        )
        .await?;
        self.execute(
            Stmt::new(
                "INSERT INTO saml_logout_chains \
                 (id, handle_hash, current_request_id, state, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .text(chain.id.as_str())
            .text(chain.handle_hash.as_str())
            .text(chain.current_request_id.as_str())
            .text(to_json(&chain.state, "logout chain")?)
            .int(chain.created_at)
            .int(chain.expires_at),
        )
        .await
        .map(drop)
    }

    async fn find_saml_logout_chain(
        &self,
        handle_hash: &TokenHash,
        now: Millis,
    ) -> StoreResult<Option<SamlLogoutChain>> {
        self.read_optional(
            Stmt::new(concat!(
                "SELECT ",
                chain_cols!(),
                " FROM saml_logout_chains WHERE handle_hash = $1 AND expires_at > $2"
            ))
            .text(handle_hash.as_str())
            .int(now),
        )
        .await?
        .as_ref()
        .map(chain_from)
        .transpose()
    }

    async fn find_saml_logout_chain_by_request(
        &self,
        request_id: &str,
        now: Millis,
    ) -> StoreResult<Option<SamlLogoutChain>> {
        if request_id.is_empty() {
            return Ok(None);
        }
        self.read_optional(
            Stmt::new(concat!(
                "SELECT ",
                chain_cols!(),
                " FROM saml_logout_chains WHERE current_request_id = $1 AND expires_at > $2"
            ))
            .text(request_id)
            .int(now),
        )
        .await?
        .as_ref()
        .map(chain_from)
        .transpose()
    }

    async fn advance_saml_logout_chain(
        &self,
        chain: &SamlLogoutChain,
        expected_request_id: &str,
    ) -> StoreResult<bool> {
        Ok(self
            .execute(
                Stmt::new(
                    "UPDATE saml_logout_chains SET handle_hash = $2, current_request_id = $3, \
                     state = $4 WHERE id = $1 AND current_request_id = $5",
                )
                .text(chain.id.as_str())
                .text(chain.handle_hash.as_str())
                .text(chain.current_request_id.as_str())
                .text(to_json(&chain.state, "logout chain")?)
                .text(expected_request_id),
            )
            .await?
            > 0)
    }

    async fn finish_saml_logout_chain(
        &self,
        id: &str,
        expected_request_id: &str,
    ) -> StoreResult<bool> {
        Ok(self
            .execute(
                Stmt::new(
                    "DELETE FROM saml_logout_chains WHERE id = $1 AND current_request_id = $2",
                )
                .text(id)
                .text(expected_request_id),
            )
            .await?
            > 0)
    }
}

fn chain_from(row: &impl Record) -> StoreResult<SamlLogoutChain> {
    Ok(SamlLogoutChain {
        id: col(row.text("id"))?,
        handle_hash: TokenHash::from_stored(col(row.text("handle_hash"))?),
        current_request_id: col(row.text("current_request_id"))?,
        state: json_col(row, "state")?,
        created_at: col(row.int("created_at"))?,
        expires_at: col(row.int("expires_at"))?,
    })
}
