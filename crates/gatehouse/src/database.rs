//! Opening the database the settings name. The engine (SQLite or PostgreSQL) is
//! chosen by `gatehouse-store` from the URL; connecting applies pending migrations.

use std::sync::Arc;

use anyhow::Context;
use gatehouse_core::store::Store;
use gatehouse_store::ConnectOptions;

use crate::keyfile;
use crate::settings::Settings;

/// Applies pending migrations and returns (creating the data directory when the
/// database is the default SQLite file in it).
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    if settings.database_in_data_dir {
        keyfile::create_data_dir(&settings.data_dir)?;
    }
    gatehouse_store::migrate(settings.database_url.expose())
        .await
        .context("cannot migrate the database")
}

/// Connects, migrating first.
pub async fn open(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    let options = ConnectOptions {
        migrate: true,
        ..ConnectOptions::default()
    };
    gatehouse_store::connect(settings.database_url.expose(), options)
        .await
        .context("cannot open the database")
}
