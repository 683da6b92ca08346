//! Throwaway PostgreSQL databases for tests and benchmarks.
//!
//! [`ScratchDatabase::create`] makes `<prefix>_<pid>_<n>_<random>` on the server a
//! URL names and [`Drop`] removes it again (`DROP DATABASE … WITH (FORCE)`,
//! best-effort, also when a test failed). It lives here because only this crate
//! may name the database driver; the testkit, the conformance suite and the
//! benchmarks all use it.

use std::sync::atomic::{AtomicU64, Ordering};

use gatehouse_core::StoreError;
use sqlx::Connection as _;

/// The environment variable naming the PostgreSQL server tests may use.
pub const POSTGRES_URL_VAR: &str = "GATEHOUSE_TEST_POSTGRES_URL";

/// A database created for one test or benchmark run.
#[derive(Debug)]
pub struct ScratchDatabase {
    server_url: String,
    name: String,
    url: String,
}

impl ScratchDatabase {
    /// The server named by `GATEHOUSE_TEST_POSTGRES_URL`, or `None` when it is unset or empty.
    pub fn server_from_env() -> Option<String> {
        std::env::var(POSTGRES_URL_VAR)
            .ok()
            .filter(|url| !url.is_empty())
    }

    /// Creates a fresh database on the server `server_url` points at.
    /// `prefix` must be a lower-case SQL identifier (`gh_web`, `gh_bench`).
    pub async fn create(server_url: &str, prefix: &str) -> Result<Self, StoreError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let mut random = [0u8; 6];
        aws_lc_rs::rand::fill(&mut random)
            .map_err(|_| StoreError::Backend("no randomness".into()))?;
        let suffix: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let name = format!(
            "{prefix}_{}_{}_{suffix}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        execute(server_url, &format!("CREATE DATABASE {name}")).await?;
        let mut url = url::Url::parse(server_url)
            .map_err(|e| StoreError::Backend(format!("server URL: {e}")))?;
        url.set_path(&format!("/{name}"));
        Ok(Self {
            server_url: server_url.to_owned(),
            name,
            url: url.to_string(),
        })
    }

    /// The URL of the new database.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let server_url = self.server_url.clone();
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // Drop may run inside a runtime that cannot be blocked on: use a thread with its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(execute(&server_url, &sql)).ok()
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            tracing::warn!(database = %self.name, "could not drop scratch database");
        }
    }
}

async fn execute(server_url: &str, sql: &str) -> Result<(), StoreError> {
    let backend = |e: sqlx::Error| StoreError::Backend(format!("scratch database: {e}"));
    let mut admin = sqlx::PgConnection::connect(server_url)
        .await
        .map_err(backend)?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut admin)
        .await
        .map_err(backend)?;
    admin.close().await.map_err(backend)
}
