//! [`SqlStore`]: the one implementation of the storage traits, generic over the
//! [`Engine`] it runs on, with the transaction plumbing every method shares.
//!
//! Writes go through a [`Writer`]: one transaction (on SQLite `BEGIN IMMEDIATE`)
//! that carries the change and its audit event and commits both or neither; a
//! `Writer` dropped without `commit` rolls back. Reads run on a pooled connection
//! outside any transaction.

use std::fmt;

use gatehouse_core::StoreError;
use gatehouse_core::model::AuditEvent;
use gatehouse_core::store::StoreResult;
use sqlx::{Pool, Transaction};

use crate::constraint::{backend, store_error};
use crate::engine::{Engine, Record, Stmt};

/// The storage traits over one sqlx pool.
pub(crate) struct SqlStore<DB: Engine> {
    pool: Pool<DB>,
}

impl<DB: Engine> fmt::Debug for SqlStore<DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlStore")
            .field("engine", &DB::NAME)
            .finish_non_exhaustive()
    }
}

impl<DB: Engine> SqlStore<DB> {
    pub(crate) fn new(pool: Pool<DB>) -> Self {
        Self { pool }
    }

    /// Opens a write transaction.
    pub(crate) async fn write(&self) -> StoreResult<Writer<DB>> {
        let tx = self
            .pool
            .begin_with(DB::BEGIN_WRITE)
            .await
            .map_err(backend)?;
        Ok(Writer { tx })
    }

    pub(crate) async fn read_optional(&self, stmt: Stmt) -> StoreResult<Option<DB::Rec>> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        DB::fetch_optional(&mut conn, stmt).await.map_err(backend)
    }

    pub(crate) async fn read_all(&self, stmt: Stmt) -> StoreResult<Vec<DB::Rec>> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        DB::fetch_all(&mut conn, stmt).await.map_err(backend)
    }

    /// Runs a statement outside a transaction (single-statement writes that need no audit).
    pub(crate) async fn execute(&self, stmt: Stmt) -> StoreResult<u64> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        DB::execute(&mut conn, stmt)
            .await
            .map_err(|e| store_error(e, "reference"))
    }
}

/// An open write transaction.
pub(crate) struct Writer<DB: Engine> {
    tx: Transaction<'static, DB>,
}

impl<DB: Engine> Writer<DB> {
    /// Runs a statement; a dangling foreign key is reported as `Missing(missing)`.
    pub(crate) async fn execute(&mut self, stmt: Stmt, missing: &'static str) -> StoreResult<u64> {
        DB::execute(&mut self.tx, stmt)
            .await
            .map_err(|e| store_error(e, missing))
    }

    pub(crate) async fn fetch_optional(
        &mut self,
        stmt: Stmt,
        missing: &'static str,
    ) -> StoreResult<Option<DB::Rec>> {
        DB::fetch_optional(&mut self.tx, stmt)
            .await
            .map_err(|e| store_error(e, missing))
    }

    pub(crate) async fn fetch_all(
        &mut self,
        stmt: Stmt,
        missing: &'static str,
    ) -> StoreResult<Vec<DB::Rec>> {
        DB::fetch_all(&mut self.tx, stmt)
            .await
            .map_err(|e| store_error(e, missing))
    }

    /// Whether a row matching `stmt` (a `SELECT 1 ... WHERE ...`) exists.
    pub(crate) async fn exists(&mut self, stmt: Stmt) -> StoreResult<bool> {
        Ok(DB::fetch_optional(&mut self.tx, stmt)
            .await
            .map_err(backend)?
            .is_some())
    }

    /// Records `event` in this transaction.
    pub(crate) async fn audit(&mut self, event: &AuditEvent) -> StoreResult<()> {
        self.execute(insert_audit(event), "audit reference")
            .await
            .map(drop)
    }

    pub(crate) async fn commit(self) -> StoreResult<()> {
        self.tx.commit().await.map_err(backend)
    }
}

pub(crate) fn insert_audit(event: &AuditEvent) -> Stmt {
    Stmt::new(
        "INSERT INTO audit_events (id, at, actor, action, target_type, target_id, org_id, outcome, ip, \
         user_agent, request_id, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .text(event.id.to_string())
    .int(event.at)
    .text(event.actor.as_str())
    .text(event.action.as_str())
    .text(event.target_type.as_str())
    .opt_text(event.target_id.as_deref())
    .opt_text(event.org_id.map(|id| id.to_string()))
    .text(event.outcome.as_str())
    .opt_text(event.ip.as_deref())
    .opt_text(event.user_agent.as_deref())
    .opt_text(event.request_id.as_deref())
    .text(event.details.to_string())
}

/// Reads a column, reporting a decoding failure as a backend error.
pub(crate) fn col<T>(result: Result<T, sqlx::Error>) -> StoreResult<T> {
    result.map_err(backend)
}

/// Parses a stored id column.
pub(crate) fn id_col<T: std::str::FromStr>(row: &impl Record, column: &str) -> StoreResult<T> {
    let text = col(row.text(column))?;
    text.parse()
        .map_err(|_| StoreError::Backend(format!("column {column} holds a malformed id")))
}

pub(crate) fn opt_id_col<T: std::str::FromStr>(
    row: &impl Record,
    column: &str,
) -> StoreResult<Option<T>> {
    match col(row.opt_text(column))? {
        None => Ok(None),
        Some(text) => text
            .parse()
            .map(Some)
            .map_err(|_| StoreError::Backend(format!("column {column} holds a malformed id"))),
    }
}

/// Parses a stored JSON column.
pub(crate) fn json_col<T: serde::de::DeserializeOwned>(
    row: &impl Record,
    column: &str,
) -> StoreResult<T> {
    let text = col(row.text(column))?;
    serde_json::from_str(&text)
        .map_err(|e| StoreError::Backend(format!("column {column} holds bad JSON: {e}")))
}

/// Serialises a value into a JSON column.
pub(crate) fn to_json(value: &impl serde::Serialize, what: &str) -> StoreResult<String> {
    serde_json::to_string(value)
        .map_err(|e| StoreError::Backend(format!("cannot encode {what}: {e}")))
}
