//! Gatehouse storage: the SQLite and PostgreSQL implementations of
//! [`gatehouse_core::store::Store`].
//!
//! [`connect`] is the only place that looks at which engine a URL names
//! (`sqlite:` or `postgres:`/`postgresql:`); it returns an `Arc<dyn Store>` and
//! nothing after it knows or asks which engine is behind it. [`migrate`] applies
//! the embedded migrations (`migrations/{sqlite,postgres}/`, numbered alike) for
//! the `gatehouse migrate` command; [`connect`] does the same on start-up unless
//! told not to.
//!
//! How the code is shared: every trait method is written once, in
//! `SqlStore<DB>` generic over a small `Engine` trait, with one SQL text using
//! `$1..$N` placeholders that both engines accept. The engine only runs a
//! statement and reads columns (see `engine`); per-engine code is limited to
//! opening the pool (`sqlite`, `postgres`) and the DDL.
//!
//! Module map: `engine` (statements, argument binding, the driver seam),
//! `store` (the generic store and its write transactions), `constraint`
//! (driver errors to `StoreError`), `cursor` (keyset cursors), then one module
//! per storage trait: `org`, `user`, `group`, `api_token`, `client`, `audit`,
//! `meta`, `signing_key`, `session`, `grant`, `device`, `logout_delivery`,
//! `factor` and `signon` (multifactor authentication), `sign_in_throttle`,
//! `scim` (with the SCIM filter → SQL translation; JSON access is the one
//! per-engine spelling, the `Dialect` in `engine`).

use std::sync::Arc;

use gatehouse_core::StoreError;
use gatehouse_core::store::Store;

mod api_token;
mod assignment;
mod audit;
mod client;
mod constraint;
mod cursor;
mod device;
mod engine;
mod factor;
mod grant;
mod group;
mod group_rule;
mod logout_delivery;
mod meta;
mod org;
mod postgres;
mod saml;
mod scim;
mod session;
mod sign_in_throttle;
mod signing_key;
mod signon;
mod sqlite;
mod store;
mod user;
mod webauthn;

pub mod scratch;
pub mod seed;

/// How [`connect`] opens the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    /// Largest number of pooled connections (at least 1; an in-memory SQLite database always uses 1).
    pub max_connections: u32,
    /// SQLite only: create the database file when it does not exist.
    pub create_if_missing: bool,
    /// Apply pending migrations before returning.
    pub migrate: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            create_if_missing: true,
            migrate: true,
        }
    }
}

/// The database engines Gatehouse runs on; private so that no caller can branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Sqlite,
    Postgres,
}

impl Scheme {
    /// The engine a database URL names by its scheme.
    fn of_url(url: &str) -> Result<Self, StoreError> {
        let scheme = url
            .split_once(':')
            .map(|(scheme, _)| scheme.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("sqlite") => Ok(Scheme::Sqlite),
            Some("postgres" | "postgresql") => Ok(Scheme::Postgres),
            // Name the scheme only: the rest of a URL may carry a password.
            Some(other) => Err(StoreError::Backend(format!(
                "unsupported database URL scheme {other:?}: expected sqlite:, postgres: or postgresql:"
            ))),
            None => Err(StoreError::Backend(
                "database URL has no scheme: expected sqlite:, postgres: or postgresql:".to_owned(),
            )),
        }
    }
}

/// Opens the database `url` names and returns the store over it; the engine is
/// chosen here, once, from the URL scheme. With `options.migrate` pending
/// migrations are applied first.
pub async fn connect(url: &str, options: ConnectOptions) -> Result<Arc<dyn Store>, StoreError> {
    let store: Arc<dyn Store> = match Scheme::of_url(url)? {
        Scheme::Sqlite => Arc::new(sqlite::open(url, &options).await?),
        Scheme::Postgres => Arc::new(postgres::open(url, &options).await?),
    };
    tracing::debug!(migrated = options.migrate, "store connected");
    Ok(store)
}

/// Applies pending migrations to the database `url` names and closes it
/// (`gatehouse migrate`). A SQLite file is created when missing.
pub async fn migrate(url: &str) -> Result<(), StoreError> {
    match Scheme::of_url(url)? {
        Scheme::Sqlite => sqlite::migrate(url).await,
        Scheme::Postgres => postgres::migrate(url).await,
    }
}

fn migration_error(error: sqlx::migrate::MigrateError) -> StoreError {
    StoreError::Backend(format!("migration failed: {error}"))
}
