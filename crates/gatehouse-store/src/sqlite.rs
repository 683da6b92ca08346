//! Opening a SQLite database: connection settings, pool and embedded migrations.
//!
//! Every connection runs in WAL mode with `synchronous = NORMAL`, foreign keys on
//! and a 5 s busy timeout, and reads the database through a memory map (up to
//! [`MMAP_BYTES`]) with a [`CACHE_KIB`] page cache, so point lookups in a large
//! user table cost memory reads rather than a `pread` per B-tree page. Readers never block the single writer in WAL mode;
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
/// Largest part of the database file read through `mmap` (shared by all connections).
const MMAP_BYTES: u64 = 1 << 30;
/// Page cache per connection, in KiB (SQLite's default is 2,000 KiB).
const CACHE_KIB: u64 = 16 * 1024;

async fn pool(url: &str, options: &ConnectOptions) -> StoreResult<Pool<Sqlite>> {
    let connect = SqliteConnectOptions::from_str(url)
        .map_err(backend)?
        .create_if_missing(options.create_if_missing)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT)
        .pragma("mmap_size", MMAP_BYTES.to_string())
        .pragma("cache_size", format!("-{CACHE_KIB}"));
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
