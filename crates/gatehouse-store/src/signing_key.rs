//! [`SigningKeyStore`] over `signing_keys`: JWT signing keys moving
//! `next` → `active` → `retired`.
//!
//! Two partial unique indexes (`signing_keys_active_uq`, `signing_keys_next_uq`)
//! allow at most one `active` and one `next` key per algorithm; inserts use
//! `ON CONFLICT DO NOTHING` against them, so concurrent first starts agree on
//! one key. Rotation and deletion are conditional updates on the expected
//! state inside one write transaction: a second node rotating the same keys
//! matches no row and changes nothing.

use async_trait::async_trait;
use gatehouse_core::StoreError;
use gatehouse_core::clock::Millis;
use gatehouse_core::model::{Algorithm, AuditEvent, KeyRotation, KeyState, StoredKey};
use gatehouse_core::store::{SigningKeyStore, StoreResult};

use crate::engine::{Engine, Record, Stmt};
use crate::store::{SqlStore, Writer, col, json_col, to_json};

macro_rules! key_cols {
    () => {
        "kid, alg, state, private_key, public_jwk, created_at, activated_at, retired_at, remove_after"
    };
}

fn key_from(row: &impl Record) -> StoreResult<StoredKey> {
    let alg = col(row.text("alg"))?;
    let state = col(row.text("state"))?;
    Ok(StoredKey {
        kid: col(row.text("kid"))?,
        alg: Algorithm::parse(&alg)
            .ok_or_else(|| StoreError::Backend(format!("unknown signing key alg {alg:?}")))?,
        state: KeyState::parse(&state)
            .ok_or_else(|| StoreError::Backend(format!("unknown signing key state {state:?}")))?,
        sealed_private_key: col(row.text("private_key"))?,
        public_jwk: json_col(row, "public_jwk")?,
        created_at: col(row.int("created_at"))?,
        activated_at: col(row.opt_int("activated_at"))?,
        retired_at: col(row.opt_int("retired_at"))?,
        remove_after: col(row.opt_int("remove_after"))?,
    })
}

/// Inserts the key unless its kid, or a key in its state for its alg, exists; the row count.
async fn insert<DB: Engine>(w: &mut Writer<DB>, key: &StoredKey) -> StoreResult<u64> {
    w.execute(
        Stmt::new(concat!(
            "INSERT INTO signing_keys (",
            key_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING"
        ))
        .text(key.kid.as_str())
        .text(key.alg.as_str())
        .text(key.state.as_str())
        .text(key.sealed_private_key.as_str())
        .text(to_json(&key.public_jwk, "public JWK")?)
        .int(key.created_at)
        .opt_int(key.activated_at)
        .opt_int(key.retired_at)
        .opt_int(key.remove_after),
        "signing key",
    )
    .await
}

#[async_trait]
impl<DB: Engine> SigningKeyStore for SqlStore<DB> {
    async fn insert_signing_key(&self, key: &StoredKey, audit: &AuditEvent) -> StoreResult<bool> {
        let mut w = self.write().await?;
        if insert(&mut w, key).await? == 0 {
            return Ok(false);
        }
        w.audit(audit).await?;
        w.commit().await?;
        Ok(true)
    }

    async fn list_signing_keys(&self) -> StoreResult<Vec<StoredKey>> {
        self.read_all(Stmt::new(concat!(
            "SELECT ",
            key_cols!(),
            " FROM signing_keys ORDER BY alg, created_at, kid"
        )))
        .await?
        .iter()
        .map(key_from)
        .collect()
    }

    async fn rotate_signing_keys(
        &self,
        rotation: &KeyRotation,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        if rotation.new_next.state != KeyState::Next || rotation.new_next.alg != rotation.alg {
            return Err(StoreError::Backend(
                "a rotation's new key must be a next key of the rotated alg".into(),
            ));
        }
        let alg = rotation.alg.as_str();
        let mut w = self.write().await?;
        // Retire first: on PostgreSQL a concurrent rotation waits on this row
        // and then finds it no longer active.
        let retired = w
            .execute(
                Stmt::new(
                    "UPDATE signing_keys SET state = 'retired', retired_at = $3, remove_after = $4 \
                     WHERE kid = $1 AND alg = $2 AND state = 'active'",
                )
                .text(rotation.active_kid.as_str())
                .text(alg)
                .int(rotation.at)
                .int(rotation.remove_after),
                "signing key",
            )
            .await?;
        if retired != 1 {
            return Ok(false);
        }
        let promoted = w
            .execute(
                Stmt::new(
                    "UPDATE signing_keys SET state = 'active', activated_at = $3 \
                     WHERE kid = $1 AND alg = $2 AND state = 'next'",
                )
                .text(rotation.next_kid.as_str())
                .text(alg)
                .int(rotation.at),
                "signing key",
            )
            .await?;
        if promoted != 1 {
            return Ok(false);
        }
        if insert(&mut w, &rotation.new_next).await? != 1 {
            return Ok(false);
        }
        w.audit(audit).await?;
        w.commit().await?;
        Ok(true)
    }

    async fn delete_retired_signing_key(
        &self,
        kid: &str,
        now: Millis,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        let mut w = self.write().await?;
        let deleted = w
            .execute(
                Stmt::new(
                    "DELETE FROM signing_keys WHERE kid = $1 AND state = 'retired' \
                     AND remove_after IS NOT NULL AND remove_after <= $2",
                )
                .text(kid)
                .int(now),
                "signing key",
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
