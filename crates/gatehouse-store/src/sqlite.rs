//! Opening a SQLite database: connection settings, pool and embedded migrations.
//!
//! Every connection runs in WAL mode with `synchronous = NORMAL`, foreign keys on
//! and a 5 s busy timeout. Readers never block the single writer in WAL mode;
//! writers open their transactions with `BEGIN IMMEDIATE` (see
//! [`crate::engine::Engine::BEGIN_WRITE`]) so they queue on the busy timeout
//! instead of failing with `SQLITE_BUSY` when upgrading a read lock.

use std::str::FromStr;
use std::time::Duration;

use gatehouse_core::store::StoreResult;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Pool, Sqlite};

use crate::ConnectOptions;
use crate::constraint::backend;
use crate::store::SqlStore;

/// `migrations/sqlite`, embedded at compile time.
pub(crate) static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/sqlite");

/// How long a statement waits for another connection's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

async fn pool(url: &str, options: &ConnectOptions) -> StoreResult<Pool<Sqlite>> {
    let connect = SqliteConnectOptions::from_str(url)
        .map_err(backend)?
        .create_if_missing(options.create_if_missing)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT);
    // An in-memory database lives exactly as long as its one connection.
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    let pool = if in_memory {
        SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
    } else {
        SqlitePoolOptions::new().max_connections(options.max_connections.max(1))
    };
    pool.connect_with(connect).await.map_err(backend)
}

pub(crate) async fn open(url: &str, options: &ConnectOptions) -> StoreResult<SqlStore<Sqlite>> {
    let pool = pool(url, options).await?;
    if options.migrate {
        MIGRATOR.run(&pool).await.map_err(crate::migration_error)?;
    }
    Ok(SqlStore::new(pool))
}

pub(crate) async fn migrate(url: &str) -> StoreResult<()> {
    let options = ConnectOptions {
        max_connections: 1,
        create_if_missing: true,
        migrate: false,
    };
    let pool = pool(url, &options).await?;
    let result = MIGRATOR.run(&pool).await.map_err(crate::migration_error);
    pool.close().await;
    result
}
