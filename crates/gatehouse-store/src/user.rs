//! [`UserStore`] over `users`, `password_credentials` and `password_history`.
//!
//! Case-insensitive uniqueness and lookups use the `username_lower` and
//! `email_lower` columns, lower-cased here in Rust (full Unicode, the same on
//! both engines) rather than by the database's `lower()`. Username prefix search
//! is a range scan `username_lower >= prefix AND username_lower < successor`,
//! which the `(org_id, username_lower)` and `(username_lower, id)` indexes serve.

use async_trait::async_trait;
use gatehouse_core::StoreError;
use gatehouse_core::clock::Millis;
use gatehouse_core::ids::{GroupId, OrgId, UserId};
use gatehouse_core::model::{AuditEvent, Page, SortOrder, User, UserQuery, UserSort, UserStatus};
use gatehouse_core::password::StoredPassword;
use gatehouse_core::store::{StoreResult, UserStore};

use crate::cursor;
use crate::engine::{Arg, Engine, Record, SqlBuilder, Stmt};
use crate::group_rule::sync_rule_groups;
use crate::store::{SqlStore, col, id_col, json_col, to_json};

macro_rules! user_cols {
    () => {
        "id, org_id, username, username_lower, email, email_lower, email_verified, claims, attributes, status, \
         created_at, updated_at, status_changed_at, last_login_at, version"
    };
}
pub(crate) use user_cols;

pub(crate) fn user_from(row: &impl Record) -> StoreResult<User> {
    let status = col(row.text("status"))?;
    Ok(User {
        id: id_col(row, "id")?,
        org_id: id_col(row, "org_id")?,
        username: col(row.text("username"))?,
        email: col(row.opt_text("email"))?,
        email_verified: col(row.flag("email_verified"))?,
        claims: json_col(row, "claims")?,
        attributes: json_col(row, "attributes")?,
        status: UserStatus::parse(&status)
            .ok_or_else(|| StoreError::Backend(format!("unknown user status {status:?}")))?,
        created_at: col(row.int("created_at"))?,
        updated_at: col(row.int("updated_at"))?,
        status_changed_at: col(row.int("status_changed_at"))?,
        last_login_at: col(row.opt_int("last_login_at"))?,
        version: col(row.int("version"))?,
    })
}

pub(crate) fn insert_user(user: &User) -> StoreResult<Stmt> {
    Ok(Stmt::new(concat!(
        "INSERT INTO users (",
        user_cols!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
    ))
    .text(user.id.to_string())
    .text(user.org_id.to_string())
    .text(user.username.as_str())
    .text(user.username.to_lowercase())
    .opt_text(user.email.as_deref())
    .opt_text(user.email.as_deref().map(str::to_lowercase))
    .flag(user.email_verified)
    .text(to_json(&user.claims, "claims")?)
    .text(to_json(&user.attributes, "attributes")?)
    .text(user.status.as_str())
    .int(user.created_at)
    .int(user.updated_at)
    .int(user.status_changed_at)
    .opt_int(user.last_login_at)
    .int(user.version))
}

/// The compare-and-set update of every field of a user, returning the stored row.
pub(crate) fn update_user_stmt(user: &User) -> StoreResult<Stmt> {
    Ok(Stmt::new(concat!(
        "UPDATE users SET username = $2, username_lower = $3, email = $4, email_lower = $5, \
         email_verified = $6, claims = $7, attributes = $8, status = $9, updated_at = $10, \
         status_changed_at = $11, last_login_at = $12, version = version + 1 \
         WHERE id = $1 AND version = $13 RETURNING ",
        user_cols!()
    ))
    .text(user.id.to_string())
    .text(user.username.as_str())
    .text(user.username.to_lowercase())
    .opt_text(user.email.as_deref())
    .opt_text(user.email.as_deref().map(str::to_lowercase))
    .flag(user.email_verified)
    .text(to_json(&user.claims, "claims")?)
    .text(to_json(&user.attributes, "attributes")?)
    .text(user.status.as_str())
    .int(user.updated_at)
    .int(user.status_changed_at)
    .opt_int(user.last_login_at)
    .int(user.version))
}

/// The list a cursor belongs to: sort and order both matter.
fn list_name(query: &UserQuery) -> &'static str {
    match (query.sort, query.order) {
        (UserSort::Created, SortOrder::Asc) => "users:created:asc",
        (UserSort::Created, SortOrder::Desc) => "users:created:desc",
        (UserSort::Username, SortOrder::Asc) => "users:username:asc",
        (UserSort::Username, SortOrder::Desc) => "users:username:desc",
    }
}

fn list_stmt(query: &UserQuery, size: usize) -> StoreResult<Stmt> {
    let list = list_name(query);
    let mut sql = SqlBuilder::new(concat!("SELECT ", user_cols!(), " FROM users"));
    if let Some(org) = query.org_id {
        sql.and("org_id = ").arg(Arg::Text(org.to_string()));
    }
    if let Some(status) = query.status {
        sql.and("status = ")
            .arg(Arg::Text(status.as_str().to_owned()));
    }
    if let Some(email) = &query.email {
        sql.and("email_lower = ")
            .arg(Arg::Text(email.to_lowercase()));
    }
    if let Some(prefix) = query.username_prefix.as_deref().filter(|p| !p.is_empty()) {
        let prefix = prefix.to_lowercase();
        if let Some(upper) = cursor::prefix_successor(&prefix) {
            sql.and("username_lower < ").arg(Arg::Text(upper));
        }
        sql.and("username_lower >= ").arg(Arg::Text(prefix));
    }
    if let Some(group) = query.group_id {
        sql.and("EXISTS (SELECT 1 FROM group_members WHERE group_members.group_id = ")
            .arg(Arg::Text(group.to_string()))
            .push(" AND group_members.user_id = users.id)");
    }
    let keyed = query.sort == UserSort::Username;
    if let Some(after) = &query.after {
        let position = cursor::decode(list, keyed, after)?;
        let cmp = match query.order {
            SortOrder::Asc => " > ",
            SortOrder::Desc => " < ",
        };
        match position.key {
            Some(key) => {
                sql.and("(username_lower, id)")
                    .push(cmp)
                    .push("(")
                    .arg(Arg::Text(key))
                    .push(", ");
                sql.arg(Arg::Text(position.id)).push(")");
            }
            None => {
                sql.and("id").push(cmp).arg(Arg::Text(position.id));
            }
        }
    }
    sql.push(match (query.sort, query.order) {
        (UserSort::Created, SortOrder::Asc) => " ORDER BY id ASC",
        (UserSort::Created, SortOrder::Desc) => " ORDER BY id DESC",
        (UserSort::Username, SortOrder::Asc) => " ORDER BY username_lower ASC, id ASC",
        (UserSort::Username, SortOrder::Desc) => " ORDER BY username_lower DESC, id DESC",
    });
    sql.push(" LIMIT ").arg(Arg::Int(size as i64 + 1));
    Ok(sql.build())
}

#[async_trait]
impl<DB: Engine> UserStore for SqlStore<DB> {
    async fn create_user(
        &self,
        user: &User,
        password: Option<&StoredPassword>,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.create_user_in(user, password, None, audit).await
    }

    async fn get_user(&self, id: UserId) -> StoreResult<Option<User>> {
        self.read_optional(
            Stmt::new(concat!(
                "SELECT ",
                user_cols!(),
                " FROM users WHERE id = $1"
            ))
            .text(id.to_string()),
        )
        .await?
        .map(|row| user_from(&row))
        .transpose()
    }

    async fn find_user_by_email(&self, org: OrgId, email: &str) -> StoreResult<Option<User>> {
        self.read_optional(
            Stmt::new(concat!(
                "SELECT ",
                user_cols!(),
                " FROM users WHERE org_id = $1 AND email_lower = $2"
            ))
            .text(org.to_string())
            .text(email.to_lowercase()),
        )
        .await?
        .map(|row| user_from(&row))
        .transpose()
    }

    async fn find_user_by_username(&self, org: OrgId, username: &str) -> StoreResult<Option<User>> {
        self.read_optional(
            Stmt::new(concat!(
                "SELECT ",
                user_cols!(),
                " FROM users WHERE org_id = $1 AND username_lower = $2"
            ))
            .text(org.to_string())
            .text(username.to_lowercase()),
        )
        .await?
        .map(|row| user_from(&row))
        .transpose()
    }

    async fn list_users(&self, query: &UserQuery) -> StoreResult<Page<User>> {
        let size = cursor::page_size(query.limit);
        let list = list_name(query);
        let keyed = query.sort == UserSort::Username;
        let users = self
            .read_all(list_stmt(query, size)?)
            .await?
            .iter()
            .map(user_from)
            .collect::<StoreResult<Vec<_>>>()?;
        let (items, next) = cursor::paginate(users, size, |user| {
            let key = keyed.then(|| user.username.to_lowercase());
            cursor::encode(list, key.as_deref(), &user.id.to_string())
        });
        Ok(Page { items, next })
    }

    async fn update_user(&self, user: &User, audit: &AuditEvent) -> StoreResult<User> {
        self.update_user_in(user, None, audit).await
    }

    async fn delete_user(&self, id: UserId, audit: &AuditEvent) -> StoreResult<bool> {
        let mut w = self.write().await?;
        if w.execute(
            Stmt::new("DELETE FROM users WHERE id = $1").text(id.to_string()),
            "user",
        )
        .await?
            == 0
        {
            return Ok(false);
        }
        w.execute(
            Stmt::new(
                "DELETE FROM app_assignments WHERE subject_kind = 'user' AND subject_id = $1",
            )
            .text(id.to_string()),
            "user",
        )
        .await?;
        w.audit(audit).await?;
        w.commit().await?;
        Ok(true)
    }

    async fn get_password(&self, id: UserId) -> StoreResult<Option<StoredPassword>> {
        self.read_optional(
            Stmt::new("SELECT hash FROM password_credentials WHERE user_id = $1")
                .text(id.to_string()),
        )
        .await?
        .map(|row| col(row.text("hash")).map(StoredPassword::from_stored))
        .transpose()
    }

    async fn set_password(
        &self,
        id: UserId,
        password: &StoredPassword,
        keep_history: u32,
        at: Millis,
        audit: Option<&AuditEvent>,
    ) -> StoreResult<()> {
        let mut w = self.write().await?;
        if keep_history > 0 {
            w.execute(
                Stmt::new(
                    "INSERT INTO password_history (user_id, hash, created_at) \
                     SELECT user_id, hash, $2 FROM password_credentials WHERE user_id = $1",
                )
                .text(id.to_string())
                .int(at),
                "user",
            )
            .await?;
        }
        w.execute(
            Stmt::new(
                "INSERT INTO password_credentials (user_id, hash, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at",
            )
            .text(id.to_string())
            .text(password.as_str())
            .int(at),
            "user",
        )
        .await?;
        w.execute(
            Stmt::new(
                "DELETE FROM password_history WHERE user_id = $1 AND id NOT IN \
                 (SELECT id FROM password_history WHERE user_id = $1 ORDER BY id DESC LIMIT $2)",
            )
            .text(id.to_string())
            .int(i64::from(keep_history)),
            "user",
        )
        .await?;
        if let Some(audit) = audit {
            w.audit(audit).await?;
        }
        w.commit().await
    }

    async fn rehash_password(
        &self,
        id: UserId,
        current: &StoredPassword,
        upgraded: &StoredPassword,
        at: Millis,
    ) -> StoreResult<bool> {
        let changed = self
            .execute(
                Stmt::new(
                    "UPDATE password_credentials SET hash = $3, updated_at = $4 \
                     WHERE user_id = $1 AND hash = $2",
                )
                .text(id.to_string())
                .text(current.as_str())
                .text(upgraded.as_str())
                .int(at),
            )
            .await?;
        Ok(changed == 1)
    }

    async fn password_history(&self, id: UserId, limit: u32) -> StoreResult<Vec<StoredPassword>> {
        self.read_all(
            Stmt::new(
                "SELECT hash FROM password_history WHERE user_id = $1 ORDER BY id DESC LIMIT $2",
            )
            .text(id.to_string())
            .int(i64::from(limit)),
        )
        .await?
        .iter()
        .map(|row| col(row.text("hash")).map(StoredPassword::from_stored))
        .collect()
    }
}

impl<DB: Engine> SqlStore<DB> {
    /// [`UserStore::create_user`], setting the rule-managed memberships when given.
    pub(crate) async fn create_user_in(
        &self,
        user: &User,
        password: Option<&StoredPassword>,
        rule_groups: Option<&[GroupId]>,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let mut w = self.write().await?;
        w.execute(insert_user(user)?, "org").await?;
        if let Some(password) = password {
            w.execute(
                Stmt::new("INSERT INTO password_credentials (user_id, hash, updated_at) VALUES ($1, $2, $3)")
                    .text(user.id.to_string())
                    .text(password.as_str())
                    .int(user.created_at),
                "user",
            )
            .await?;
        }
        if let Some(groups) = rule_groups {
            sync_rule_groups(&mut w, user.id, groups, user.created_at).await?;
        }
        w.audit(audit).await?;
        w.commit().await
    }

    /// [`UserStore::update_user`], setting the rule-managed memberships when given.
    pub(crate) async fn update_user_in(
        &self,
        user: &User,
        rule_groups: Option<&[GroupId]>,
        audit: &AuditEvent,
    ) -> StoreResult<User> {
        let mut w = self.write().await?;
        let row = w.fetch_optional(update_user_stmt(user)?, "user").await?;
        let Some(row) = row else {
            let exists = w
                .exists(Stmt::new("SELECT 1 FROM users WHERE id = $1").text(user.id.to_string()))
                .await?;
            return Err(if exists {
                StoreError::VersionConflict
            } else {
                StoreError::Missing("user")
            });
        };
        let stored = user_from(&row)?;
        if let Some(groups) = rule_groups {
            sync_rule_groups(&mut w, user.id, groups, user.updated_at).await?;
        }
        w.audit(audit).await?;
        w.commit().await?;
        Ok(stored)
    }
}
