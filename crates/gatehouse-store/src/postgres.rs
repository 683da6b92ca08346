//! Opening a PostgreSQL database: pool and embedded migrations.
//!
//! Migrations take PostgreSQL's advisory lock, so several nodes starting at
//! once apply them exactly once.

use std::str::FromStr;

use gatehouse_core::store::StoreResult;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Pool, Postgres};

use crate::ConnectOptions;
use crate::constraint::backend;
use crate::store::SqlStore;

/// `migrations/postgres`, embedded at compile time.
pub(crate) static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/postgres");

async fn pool(url: &str, options: &ConnectOptions) -> StoreResult<Pool<Postgres>> {
    let connect = PgConnectOptions::from_str(url).map_err(backend)?;
    PgPoolOptions::new()
        .max_connections(options.max_connections.max(1))
        .connect_with(connect)
        .await
        .map_err(backend)
}

pub(crate) async fn open(url: &str, options: &ConnectOptions) -> StoreResult<SqlStore<Postgres>> {
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
