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
pub(crate) trait Engine: Database + Dialect {
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

/// The few places where the two engines spell SQL differently: reading JSON
/// text columns, for SCIM filters (`scim::filter`). Every function writes one
/// expression into `sql`; `doc` is a literal column name and `path` a list
/// of object keys (validated attribute names), always bound as an argument.
pub(crate) trait Dialect {
    /// `instr` / `strpos`: position of the second text in the first, 1-based, 0 when absent.
    const POSITION: &'static str;
    /// Appended to a text expression so that `<` and `ORDER BY` compare code points.
    const CODE_POINT_ORDER: &'static str;

    /// The text at `path` when it is a JSON string, else NULL.
    fn string_at(sql: &mut SqlBuilder, doc: &'static str, path: &[String]);
    /// True when the value at `path` is the JSON boolean `value`.
    fn bool_at(sql: &mut SqlBuilder, doc: &'static str, path: &[String], value: bool);
    /// True when the value at `path` is present and not empty (RFC 7644 `pr`).
    fn present_at(sql: &mut SqlBuilder, doc: &'static str, path: &[String]);
    /// `FROM <the object elements of the array at path> AS el WHERE <object>`;
    /// the element is then the document [`ELEMENT`].
    fn elements_at(sql: &mut SqlBuilder, doc: &'static str, path: &[String]);
    /// Writes a condition that keeps the `user_emails` rows whose
    /// `value_lower` contains `needle`, answered from the engine's trigram
    /// index, and says whether it wrote one (too short a needle: no).
    fn email_trigram_filter(sql: &mut SqlBuilder, needle: &str) -> bool;
}

/// The current array element inside [`Dialect::elements_at`].
pub(crate) const ELEMENT: &str = "el.value";

impl Dialect for sqlx::Sqlite {
    const POSITION: &'static str = "instr";
    const CODE_POINT_ORDER: &'static str = "";

    fn string_at(sql: &mut SqlBuilder, doc: &'static str, path: &[String]) {
        sql.push("(CASE WHEN json_type(").push(doc).push(", ");
        sql.arg(Arg::Text(sqlite_path(path)))
            .push(") = 'text' THEN json_extract(");
        sql.push(doc).push(", ").arg(Arg::Text(sqlite_path(path)));
        sql.push(") END)");
    }

    fn bool_at(sql: &mut SqlBuilder, doc: &'static str, path: &[String], value: bool) {
        sql.push("(json_type(").push(doc).push(", ");
        sql.arg(Arg::Text(sqlite_path(path)));
        sql.push(if value { ") = 'true')" } else { ") = 'false')" });
    }

    fn present_at(sql: &mut SqlBuilder, doc: &'static str, path: &[String]) {
        let kind = |sql: &mut SqlBuilder| {
            sql.push("json_type(").push(doc).push(", ");
            sql.arg(Arg::Text(sqlite_path(path))).push(")");
        };
        let value = |sql: &mut SqlBuilder| {
            sql.push("json_extract(").push(doc).push(", ");
            sql.arg(Arg::Text(sqlite_path(path))).push(")");
        };
        sql.push("(");
        kind(sql);
        sql.push(" IN ('true', 'false', 'integer', 'real') OR (");
        kind(sql);
        sql.push(" = 'text' AND ");
        value(sql);
        sql.push(" <> '') OR (");
        kind(sql);
        sql.push(" = 'array' AND json_array_length(")
            .push(doc)
            .push(", ");
        sql.arg(Arg::Text(sqlite_path(path))).push(") > 0) OR (");
        kind(sql);
        sql.push(" = 'object' AND ");
        value(sql);
        sql.push(" <> '{}'))");
    }

    fn elements_at(sql: &mut SqlBuilder, doc: &'static str, path: &[String]) {
        sql.push(" FROM json_each(CASE WHEN json_type(")
            .push(doc)
            .push(", ");
        sql.arg(Arg::Text(sqlite_path(path)))
            .push(") = 'array' THEN json_extract(");
        sql.push(doc).push(", ").arg(Arg::Text(sqlite_path(path)));
        sql.push(") ELSE '[]' END) AS el WHERE el.type = 'object'");
    }

    /// `user_emails.rowid IN (<the FTS5 trigram rows holding needle>)`, for
    /// a needle of three characters or more. The needle is one FTS5 string:
    /// quoted, with quotes doubled, so nothing in it is query syntax.
    fn email_trigram_filter(sql: &mut SqlBuilder, needle: &str) -> bool {
        if needle.chars().count() < 3 {
            return false;
        }
        let phrase = format!("\"{}\"", needle.replace('"', "\"\""));
        sql.push(
            "user_emails.rowid IN (SELECT rowid FROM user_emails_fts WHERE user_emails_fts MATCH ",
        )
        .arg(Arg::Text(phrase))
        .push(")");
        true
    }
}

/// `$."a"."b"`: keys are attribute names (letters, digits, `$`, `-`, `_`).
fn sqlite_path(path: &[String]) -> String {
    let mut out = String::from("$");
    for key in path {
        let _ = write!(out, ".\"{key}\"");
    }
    out
}

impl Dialect for sqlx::Postgres {
    const POSITION: &'static str = "strpos";
    const CODE_POINT_ORDER: &'static str = " COLLATE \"C\"";

    fn string_at(sql: &mut SqlBuilder, doc: &'static str, path: &[String]) {
        sql.push("(CASE WHEN jsonb_typeof(");
        pg_value(sql, doc, path);
        sql.push(") = 'string' THEN (")
            .push(doc)
            .push(")::jsonb #>> ");
        sql.arg(Arg::Text(pg_path(path))).push("::text[] END)");
    }

    fn bool_at(sql: &mut SqlBuilder, doc: &'static str, path: &[String], value: bool) {
        sql.push("((");
        pg_value(sql, doc, path);
        sql.push(if value {
            ") = 'true'::jsonb)"
        } else {
            ") = 'false'::jsonb)"
        });
    }

    fn present_at(sql: &mut SqlBuilder, doc: &'static str, path: &[String]) {
        sql.push("(jsonb_typeof(");
        pg_value(sql, doc, path);
        sql.push(") IN ('boolean', 'number') OR (");
        pg_value(sql, doc, path);
        sql.push(") NOT IN ('\"\"'::jsonb, '[]'::jsonb, '{}'::jsonb, 'null'::jsonb, 'true'::jsonb, 'false'::jsonb))");
    }

    fn elements_at(sql: &mut SqlBuilder, doc: &'static str, path: &[String]) {
        sql.push(" FROM jsonb_array_elements(CASE WHEN jsonb_typeof(");
        pg_value(sql, doc, path);
        sql.push(") = 'array' THEN ");
        pg_value(sql, doc, path);
        sql.push(" ELSE '[]'::jsonb END) AS el(value) WHERE jsonb_typeof(el.value) = 'object'");
    }

    /// `LIKE '%…%'`, which the pg_trgm GIN index serves (migration 0011).
    fn email_trigram_filter(sql: &mut SqlBuilder, needle: &str) -> bool {
        let mut pattern = String::from("%");
        for c in needle.chars() {
            if matches!(c, '\\' | '%' | '_') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('%');
        sql.push("user_emails.value_lower LIKE ")
            .arg(Arg::Text(pattern))
            .push(" ESCAPE '\\'");
        true
    }
}

/// `(doc)::jsonb #> $n::text[]`
fn pg_value(sql: &mut SqlBuilder, doc: &'static str, path: &[String]) {
    sql.push("(").push(doc).push(")::jsonb #> ");
    sql.arg(Arg::Text(pg_path(path))).push("::text[]");
}

/// `{"a","b"}`: a text array literal; keys are attribute names.
fn pg_path(path: &[String]) -> String {
    let keys: Vec<String> = path.iter().map(|k| format!("\"{k}\"")).collect();
    format!("{{{}}}", keys.join(","))
}
