//! [`MetaStore`] over `meta`: instance-wide key/value facts, plus the
//! first-start and readiness probes.

use async_trait::async_trait;
use gatehouse_core::store::{MetaStore, StoreResult};

use crate::engine::{Engine, Record, Stmt};
use crate::store::{SqlStore, col};

#[async_trait]
impl<DB: Engine> MetaStore for SqlStore<DB> {
    async fn get_meta(&self, key: &str) -> StoreResult<Option<String>> {
        self.read_optional(Stmt::new("SELECT value FROM meta WHERE key = $1").text(key))
            .await?
            .map(|row| col(row.text("value")))
            .transpose()
    }

    async fn put_meta_if_absent(&self, key: &str, value: &str) -> StoreResult<bool> {
        let inserted = self
            .execute(
                Stmt::new(
                    "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
                )
                .text(key)
                .text(value),
            )
            .await?;
        Ok(inserted == 1)
    }

    async fn take_meta(&self, key: &str, value: &str) -> StoreResult<bool> {
        let removed = self
            .execute(
                Stmt::new("DELETE FROM meta WHERE key = $1 AND value = $2")
                    .text(key)
                    .text(value),
            )
            .await?;
        Ok(removed == 1)
    }

    async fn is_empty(&self) -> StoreResult<bool> {
        let any = self
            .read_optional(Stmt::new(
                "SELECT 1 AS found WHERE EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM api_tokens)",
            ))
            .await?;
        Ok(any.is_none())
    }

    async fn ping(&self) -> StoreResult<()> {
        self.execute(Stmt::new("SELECT 1")).await.map(drop)
    }
}
