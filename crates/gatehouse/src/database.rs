//! Opening the database the settings name. The engine (SQLite or PostgreSQL) is
//! chosen by `gatehouse-store` from the URL; connecting applies pending migrations.

use std::sync::Arc;

use anyhow::Context;
use gatehouse_core::store::Store;
use gatehouse_store::ConnectOptions;

use crate::settings::Settings;

/// Applies pending migrations and returns.
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
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
