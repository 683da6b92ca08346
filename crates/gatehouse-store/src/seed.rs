//! Many users at once, for benchmarks at a million users.
//!
//! [`clone_scim_user`] copies one SCIM-provisioned user (the template, made
//! through the SCIM service so every column and document is real) into users
//! `user-NNNNNNN` for each number of a range, in set-based SQL on the engine
//! the URL names. The copies differ where a filter can tell them apart:
//! id, userName, the primary e-mail and the `emails` array, externalId,
//! familyName and timestamps (one millisecond apart, in number order).
//!
//! Their e-mail index rows (`user_emails`, migration 0011) end up as the
//! triggers would write them: on SQLite the triggers run; on PostgreSQL,
//! where a row-by-row PL/pgSQL trigger would take minutes for a million
//! copies, the chunk runs with triggers off (`session_replication_role`,
//! which needs a superuser, as benchmarks have) and the index rows are
//! written in one set-based statement.
//!
//! Never used by the server: only benchmarks call it.

use std::ops::Range;

use gatehouse_core::StoreError;
use sqlx::Connection as _;

/// Rows per transaction.
const CHUNK: u64 = 50_000;

/// Runs `statements` in one transaction per chunk of `numbers`, after
/// `prelude` (no arguments) and each bound to (template, first number, last
/// number), then `settle` outside it.
macro_rules! run_chunks {
    ($conn:ty, $url:expr, $template:expr, $numbers:expr, $prelude:expr, $statements:expr, $settle:expr) => {{
        let backend = |e: sqlx::Error| StoreError::Backend(format!("seed: {e}"));
        let mut conn = <$conn>::connect($url).await.map_err(backend)?;
        let mut start = $numbers.start;
        while start < $numbers.end {
            let end = (start + CHUNK).min($numbers.end);
            let (first, last) = (to_i64(start)?, to_i64(end - 1)?);
            let mut tx = conn.begin().await.map_err(backend)?;
            for sql in $prelude {
                sqlx::query(sql).execute(&mut *tx).await.map_err(backend)?;
            }
            for sql in $statements {
                sqlx::query(sql)
                    .bind($template)
                    .bind(first)
                    .bind(last)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
            }
            tx.commit().await.map_err(backend)?;
            start = end;
        }
        sqlx::query($settle)
            .execute(&mut conn)
            .await
            .map_err(backend)?;
        Ok(())
    }};
}

/// Copies the user `template` (a user id) into users numbered `numbers`.
pub async fn clone_scim_user(
    url: &str,
    template: &str,
    numbers: Range<u64>,
) -> Result<(), StoreError> {
    // The settle step gives the statistics and (PostgreSQL) the visibility
    // map a database that has run for a while has: a freshly loaded table
    // misleads the planner.
    if url.starts_with("postgres") {
        let statements = [POSTGRES_USERS, POSTGRES_SCIM_USERS, POSTGRES_USER_EMAILS];
        run_chunks!(
            sqlx::PgConnection,
            url,
            template,
            numbers,
            ["SET LOCAL session_replication_role = replica"],
            statements,
            "VACUUM ANALYZE users, scim_users, user_emails"
        )
    } else {
        let statements = [SQLITE_USERS, SQLITE_SCIM_USERS];
        run_chunks!(
            sqlx::SqliteConnection,
            url,
            template,
            numbers,
            [] as [&str; 0],
            statements,
            "ANALYZE"
        )
    }
}

fn to_i64(n: u64) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::Backend("seed: number out of range".into()))
}

/// `$1` template user id, `$2..=$3` the numbers. The id is a well-formed
/// UUIDv7 whose last 48 bits are the number.
const SQLITE_USERS: &str = "\
WITH RECURSIVE n(i) AS (SELECT $2 UNION ALL SELECT i + 1 FROM n WHERE i < $3)
INSERT INTO users (id, org_id, username, username_lower, email, email_lower, email_verified,
                   claims, attributes, status, created_at, updated_at, status_changed_at,
                   last_login_at, version)
SELECT printf('00000000-0000-7000-8000-%012x', n.i), t.org_id,
       printf('user-%07d', n.i), printf('user-%07d', n.i),
       printf('user-%07d@example.com', n.i), printf('user-%07d@example.com', n.i), t.email_verified,
       json_set(t.claims, '$.family_name', printf('User %d', n.i)), t.attributes, t.status,
       t.created_at + n.i, t.updated_at + n.i, t.status_changed_at + n.i, NULL, t.version
FROM n, users AS t WHERE t.id = $1";

const SQLITE_SCIM_USERS: &str = "\
WITH RECURSIVE n(i) AS (SELECT $2 UNION ALL SELECT i + 1 FROM n WHERE i < $3)
INSERT INTO scim_users (user_id, external_id, resource)
SELECT printf('00000000-0000-7000-8000-%012x', n.i), printf('ext-%d', n.i),
       json_set(t.resource,
                '$.emails[0].value', printf('user-%07d@example.com', n.i),
                '$.name.familyName', printf('User %d', n.i))
FROM n, scim_users AS t WHERE t.user_id = $1";

const POSTGRES_USERS: &str = "\
INSERT INTO users (id, org_id, username, username_lower, email, email_lower, email_verified,
                   claims, attributes, status, created_at, updated_at, status_changed_at,
                   last_login_at, version)
SELECT '00000000-0000-7000-8000-' || lpad(to_hex(n.i), 12, '0'), t.org_id,
       'user-' || lpad(n.i::text, 7, '0'), 'user-' || lpad(n.i::text, 7, '0'),
       'user-' || lpad(n.i::text, 7, '0') || '@example.com',
       'user-' || lpad(n.i::text, 7, '0') || '@example.com', t.email_verified,
       jsonb_set(t.claims::jsonb, '{family_name}', to_jsonb('User ' || n.i))::text,
       t.attributes, t.status,
       t.created_at + n.i, t.updated_at + n.i, t.status_changed_at + n.i, NULL, t.version
FROM generate_series($2::bigint, $3::bigint) AS n(i), users AS t WHERE t.id = $1";

const POSTGRES_SCIM_USERS: &str = "\
INSERT INTO scim_users (user_id, external_id, resource)
SELECT '00000000-0000-7000-8000-' || lpad(to_hex(n.i), 12, '0'), 'ext-' || n.i,
       jsonb_set(jsonb_set(t.resource::jsonb, '{emails,0,value}',
                           to_jsonb('user-' || lpad(n.i::text, 7, '0') || '@example.com')),
                 '{name,familyName}', to_jsonb('User ' || n.i))::text
FROM generate_series($2::bigint, $3::bigint) AS n(i), scim_users AS t WHERE t.user_id = $1";

/// What the triggers of migration 0011 would have written for the copies.
/// It binds the same three arguments as the other statements; `$1` (the
/// template) is only compared with `''` so that every parameter is used.
const POSTGRES_USER_EMAILS: &str = "\
INSERT INTO user_emails (user_id, value_lower)
SELECT users.id, users.email_lower FROM users, generate_series($2::bigint, $3::bigint) AS n(i)
WHERE users.id = '00000000-0000-7000-8000-' || lpad(to_hex(n.i), 12, '0')
  AND users.email_lower IS NOT NULL AND users.email_lower <> '' AND $1 <> ''
UNION
SELECT scim_users.user_id, lower(el ->> 'value')
FROM generate_series($2::bigint, $3::bigint) AS n(i)
JOIN scim_users ON scim_users.user_id = '00000000-0000-7000-8000-' || lpad(to_hex(n.i), 12, '0'),
jsonb_array_elements(CASE WHEN jsonb_typeof(scim_users.resource::jsonb -> 'emails') = 'array'
                          THEN scim_users.resource::jsonb -> 'emails' ELSE '[]'::jsonb END) AS el
WHERE jsonb_typeof(el -> 'value') = 'string' AND el ->> 'value' <> ''";
