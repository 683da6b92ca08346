//! The seam between the shared SQL and a sqlx driver.
//!
//! Every query in this crate is one SQL text with `$1..$N` placeholders (SQLite
//! reads `$N` as "argument N" just as PostgreSQL does) plus a list of [`Arg`]s,
//! wrapped in a [`Stmt`]. The business logic in the trait implementations is
//! written once, generic over [`Engine`]; an engine only knows how to run a
//! `Stmt` on its connection and how to read a column out of its row type
//! ([`Record`]). Both engines get that from the same `engine!` expansion, so
//! the only per-engine facts are the type names and the statement that opens a
//! write transaction.
//!
//! This module does not know the schema; it only moves values.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;

use sqlx::{AssertSqlSafe, Database, Row as _};

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A bound argument. The Rust type decides the SQL type, so every column is
/// bound with the type it is declared with on both engines (TEXT, BIGINT, BOOLEAN).
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Text(String),
    OptText(Option<String>),
    Int(i64),
    OptInt(Option<i64>),
    Bool(bool),
}

/// One SQL statement and its arguments, in placeholder order.
#[derive(Debug)]
pub(crate) struct Stmt {
    sql: Cow<'static, str>,
    args: Vec<Arg>,
}

impl Stmt {
    /// A statement whose text is a literal; its `$N` placeholders are bound in call order.
    pub(crate) fn new(sql: &'static str) -> Self {
        Self {
            sql: Cow::Borrowed(sql),
            args: Vec::new(),
        }
    }

    pub(crate) fn text(mut self, value: impl Into<String>) -> Self {
        self.args.push(Arg::Text(value.into()));
        self
    }

    pub(crate) fn opt_text(mut self, value: Option<impl Into<String>>) -> Self {
        self.args.push(Arg::OptText(value.map(Into::into)));
        self
    }

    pub(crate) fn int(mut self, value: i64) -> Self {
        self.args.push(Arg::Int(value));
        self
    }

    pub(crate) fn opt_int(mut self, value: Option<i64>) -> Self {
        self.args.push(Arg::OptInt(value));
        self
    }

    pub(crate) fn flag(mut self, value: bool) -> Self {
        self.args.push(Arg::Bool(value));
        self
    }
}

/// Builds a statement whose shape depends on the request (optional filters,
/// sort order). Only literal fragments go into the text; every value goes
/// through [`SqlBuilder::arg`], which writes the next `$N` placeholder.
#[derive(Debug, Default)]
pub(crate) struct SqlBuilder {
    sql: String,
    args: Vec<Arg>,
    has_where: bool,
}

impl SqlBuilder {
    pub(crate) fn new(sql: &'static str) -> Self {
        Self {
            sql: sql.to_owned(),
            args: Vec::new(),
            has_where: false,
        }
    }

    /// Starts the next `WHERE` condition (` WHERE ` first, ` AND ` after).
    pub(crate) fn and(&mut self, fragment: &'static str) -> &mut Self {
        self.sql
            .push_str(if self.has_where { " AND " } else { " WHERE " });
        self.has_where = true;
        self.push(fragment)
    }

    /// Appends a literal SQL fragment.
    pub(crate) fn push(&mut self, fragment: &'static str) -> &mut Self {
        self.sql.push_str(fragment);
        self
    }

    /// Appends a placeholder bound to `arg`.
    pub(crate) fn arg(&mut self, arg: Arg) -> &mut Self {
        self.args.push(arg);
        // Writing to a String cannot fail.
        let _ = write!(self.sql, "${}", self.args.len());
        self
    }

    pub(crate) fn build(self) -> Stmt {
        Stmt {
            sql: Cow::Owned(self.sql),
            args: self.args,
        }
    }
}

/// Reads typed columns out of a driver row by name.
pub(crate) trait Record: Send + 'static {
    fn text(&self, column: &str) -> Result<String, sqlx::Error>;
    fn opt_text(&self, column: &str) -> Result<Option<String>, sqlx::Error>;
    fn int(&self, column: &str) -> Result<i64, sqlx::Error>;
    fn opt_int(&self, column: &str) -> Result<Option<i64>, sqlx::Error>;
    fn flag(&self, column: &str) -> Result<bool, sqlx::Error>;
}

/// A sqlx driver the shared SQL runs on.
pub(crate) trait Engine: Database {
    /// Opens a write transaction. SQLite takes the write lock up front
    /// (`BEGIN IMMEDIATE`) so two writers never deadlock upgrading a read lock;
    /// the busy timeout then queues them.
    const BEGIN_WRITE: &'static str;

    /// This driver's row type.
    type Rec: Record;

    fn execute<'c>(
        conn: &'c mut Self::Connection,
        stmt: Stmt,
    ) -> BoxFuture<'c, Result<u64, sqlx::Error>>;

    fn fetch_optional<'c>(
        conn: &'c mut Self::Connection,
        stmt: Stmt,
    ) -> BoxFuture<'c, Result<Option<Self::Rec>, sqlx::Error>>;

    fn fetch_all<'c>(
        conn: &'c mut Self::Connection,
        stmt: Stmt,
    ) -> BoxFuture<'c, Result<Vec<Self::Rec>, sqlx::Error>>;
}

/// Turns a [`Stmt`] into a sqlx query for a concrete driver.
fn to_query<DB>(stmt: Stmt) -> sqlx::query::Query<'static, DB, <DB as Database>::Arguments>
where
    DB: Database,
    String: for<'e> sqlx::Encode<'e, DB> + sqlx::Type<DB>,
    Option<String>: for<'e> sqlx::Encode<'e, DB> + sqlx::Type<DB>,
    i64: for<'e> sqlx::Encode<'e, DB> + sqlx::Type<DB>,
    Option<i64>: for<'e> sqlx::Encode<'e, DB> + sqlx::Type<DB>,
    bool: for<'e> sqlx::Encode<'e, DB> + sqlx::Type<DB>,
{
    let mut query = match stmt.sql {
        Cow::Borrowed(sql) => sqlx::query(sql),
        // Built by `SqlBuilder` from literal fragments and `$N` placeholders only.
        Cow::Owned(sql) => sqlx::query(AssertSqlSafe(sql)),
    };
    for arg in stmt.args {
        query = match arg {
            Arg::Text(v) => query.bind(v),
            Arg::OptText(v) => query.bind(v),
            Arg::Int(v) => query.bind(v),
            Arg::OptInt(v) => query.bind(v),
            Arg::Bool(v) => query.bind(v),
        };
    }
    query
}

/// Implements [`Record`] and [`Engine`] for one driver. The two expansions are
/// the same text; only the type names and the write-transaction statement differ.
macro_rules! engine {
    ($db:ty, $row:ty, begin_write = $begin:literal) => {
        impl Record for $row {
            fn text(&self, column: &str) -> Result<String, sqlx::Error> {
                self.try_get(column)
            }
            fn opt_text(&self, column: &str) -> Result<Option<String>, sqlx::Error> {
                self.try_get(column)
            }
            fn int(&self, column: &str) -> Result<i64, sqlx::Error> {
                self.try_get(column)
            }
            fn opt_int(&self, column: &str) -> Result<Option<i64>, sqlx::Error> {
                self.try_get(column)
            }
            fn flag(&self, column: &str) -> Result<bool, sqlx::Error> {
                self.try_get(column)
            }
        }

        impl Engine for $db {
            const BEGIN_WRITE: &'static str = $begin;
            type Rec = $row;

            fn execute<'c>(
                conn: &'c mut <$db as Database>::Connection,
                stmt: Stmt,
            ) -> BoxFuture<'c, Result<u64, sqlx::Error>> {
                Box::pin(
                    async move { Ok(to_query::<$db>(stmt).execute(conn).await?.rows_affected()) },
                )
            }

            fn fetch_optional<'c>(
                conn: &'c mut <$db as Database>::Connection,
                stmt: Stmt,
            ) -> BoxFuture<'c, Result<Option<$row>, sqlx::Error>> {
                Box::pin(async move { to_query::<$db>(stmt).fetch_optional(conn).await })
            }

            fn fetch_all<'c>(
                conn: &'c mut <$db as Database>::Connection,
                stmt: Stmt,
            ) -> BoxFuture<'c, Result<Vec<$row>, sqlx::Error>> {
                Box::pin(async move { to_query::<$db>(stmt).fetch_all(conn).await })
            }
        }
    };
}

engine!(
    sqlx::Sqlite,
    sqlx::sqlite::SqliteRow,
    begin_write = "BEGIN IMMEDIATE"
);
engine!(sqlx::Postgres, sqlx::postgres::PgRow, begin_write = "BEGIN");
