//! [`ScimStore`] over `users` + `scim_users` and `groups` + `scim_groups` +
//! `group_members`.
//!
//! Lists are one `SELECT … LIMIT … OFFSET …` and one `COUNT(*)` with the same
//! condition, written by [`filter`] from the core's engine-neutral
//! [`ScimCond`](gatehouse_core::model::ScimCond): SCIM pages by offset
//! (`startIndex`, RFC 7644 §3.4.2.4), and the total is part of every answer.

mod filter;

use async_trait::async_trait;
use gatehouse_core::StoreError;
use gatehouse_core::ids::{GroupId, OrgId, UserId};
use gatehouse_core::model::{
    AuditEvent, ScimGroup, ScimListQuery, ScimPage, ScimSortKey, ScimUser, SortOrder,
};
use gatehouse_core::password::StoredPassword;
use gatehouse_core::store::{ScimStore, StoreResult};
use serde_json::{Map, Value};

use crate::engine::{Arg, Dialect, Engine, Record, SqlBuilder, Stmt};
use crate::group::{group_cols, group_from};
use crate::group_rule::sync_rule_groups;
use crate::store::{SqlStore, Writer, col, id_col};
use crate::user::{insert_user, update_user_stmt, user_cols, user_from};
use filter::Table;

macro_rules! scim_user_select {
    () => {
        concat!(
            "SELECT ",
            user_cols!(),
            ", scim_users.external_id AS scim_external_id, scim_users.resource AS scim_resource \
             FROM users LEFT JOIN scim_users ON scim_users.user_id = users.id"
        )
    };
}

fn scim_user_from(row: &impl Record) -> StoreResult<ScimUser> {
    let resource = match col(row.opt_text("scim_resource"))? {
        Some(text) => match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(map)) => map,
            _ => return Err(StoreError::Backend("unreadable scim_users.resource".into())),
        },
        None => Map::new(),
    };
    Ok(ScimUser {
        user: user_from(row)?,
        external_id: col(row.opt_text("scim_external_id"))?,
        resource,
    })
}

fn upsert_scim_user(user: &ScimUser) -> Stmt {
    Stmt::new(
        "INSERT INTO scim_users (user_id, external_id, resource) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id) DO UPDATE SET external_id = excluded.external_id, resource = excluded.resource",
    )
    .text(user.user.id.to_string())
    .opt_text(user.external_id.as_deref())
    .text(Value::Object(user.resource.clone()).to_string())
}

fn upsert_scim_group(group: &ScimGroup) -> Stmt {
    Stmt::new(
        "INSERT INTO scim_groups (group_id, external_id) VALUES ($1, $2) \
         ON CONFLICT (group_id) DO UPDATE SET external_id = excluded.external_id",
    )
    .text(group.group.id.to_string())
    .opt_text(group.external_id.as_deref())
}

fn set_password_stmt(id: UserId, password: &StoredPassword, at: i64) -> Stmt {
    Stmt::new(
        "INSERT INTO password_credentials (user_id, hash, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at",
    )
    .text(id.to_string())
    .text(password.as_str())
    .int(at)
}

/// `WHERE org = … AND (condition)`, shared by the page and the count.
fn where_clause<DB: Engine>(sql: &mut SqlBuilder, table: Table, org: OrgId, query: &ScimListQuery) {
    sql.and(match table {
        Table::Users => "users.org_id = ",
        Table::Groups => "groups.org_id = ",
    })
    .arg(Arg::Text(org.to_string()));
    sql.and("");
    filter::write::<DB>(sql, table, &query.filter);
}

fn order_and_page<DB: Engine>(sql: &mut SqlBuilder, table: Table, query: &ScimListQuery) {
    let desc = query.order == SortOrder::Desc;
    sql.push(" ORDER BY ");
    match &query.sort {
        Some(ScimSortKey::Column(c)) => {
            sql.push(filter::column(table, *c));
            sql.push(<DB as Dialect>::CODE_POINT_ORDER);
            sql.push(if desc {
                " DESC NULLS LAST, "
            } else {
                " ASC NULLS LAST, "
            });
        }
        Some(ScimSortKey::Json(d, path)) => {
            sql.push("lower(");
            DB::string_at(sql, filter::doc(*d), path);
            sql.push(")").push(<DB as Dialect>::CODE_POINT_ORDER);
            sql.push(if desc {
                " DESC NULLS LAST, "
            } else {
                " ASC NULLS LAST, "
            });
        }
        None => {}
    }
    sql.push(match table {
        Table::Users => "users.id",
        Table::Groups => "groups.id",
    });
    sql.push(if desc { " DESC" } else { " ASC" });
    sql.push(" LIMIT ").arg(Arg::Int(i64::from(query.count)));
    sql.push(" OFFSET ")
        .arg(Arg::Int(i64::try_from(query.offset).unwrap_or(i64::MAX)));
}

impl<DB: Engine> SqlStore<DB> {
    async fn count(&self, sql: SqlBuilder) -> StoreResult<u64> {
        let row = self.read_optional(sql.build()).await?;
        let n = match row {
            Some(row) => col(row.int("n"))?,
            None => 0,
        };
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn members(&self, group: GroupId) -> StoreResult<Vec<(UserId, String)>> {
        self.read_all(
            Stmt::new(
                "SELECT users.id, users.username FROM group_members \
                 JOIN users ON users.id = group_members.user_id \
                 WHERE group_members.group_id = $1 ORDER BY users.username_lower, users.id",
            )
            .text(group.to_string()),
        )
        .await?
        .iter()
        .map(|row| Ok((id_col(row, "id")?, col(row.text("username"))?)))
        .collect()
    }
}

/// Makes the group's members exactly `members` (each a user of `org`).
async fn set_members<DB: Engine>(
    w: &mut Writer<DB>,
    group: &ScimGroup,
    at: i64,
) -> StoreResult<()> {
    let id = group.group.id.to_string();
    let mut delete = SqlBuilder::new("DELETE FROM group_members");
    delete.and("group_id = ").arg(Arg::Text(id.clone()));
    if !group.members.is_empty() {
        delete.and("user_id NOT IN (");
        for (i, (user, _)) in group.members.iter().enumerate() {
            if i > 0 {
                delete.push(", ");
            }
            delete.arg(Arg::Text(user.to_string()));
        }
        delete.push(")");
    }
    w.execute(delete.build(), "group").await?;
    for (user, _) in &group.members {
        let added = w
            .execute(
                Stmt::new(
                    "INSERT INTO group_members (group_id, user_id, created_at) \
                     SELECT $1, users.id, $3 FROM users WHERE users.id = $2 AND users.org_id = $4 \
                     ON CONFLICT (group_id, user_id) DO NOTHING",
                )
                .text(id.clone())
                .text(user.to_string())
                .int(at)
                .text(group.group.org_id.to_string()),
                "group",
            )
            .await?;
        if added == 0 {
            let member =
                Stmt::new("SELECT 1 FROM group_members WHERE group_id = $1 AND user_id = $2")
                    .text(id.clone())
                    .text(user.to_string());
            if !w.exists(member).await? {
                return Err(StoreError::Missing("user"));
            }
        }
    }
    Ok(())
}

#[async_trait]
impl<DB: Engine> ScimStore for SqlStore<DB> {
    async fn create_scim_user(
        &self,
        user: &ScimUser,
        password: Option<&StoredPassword>,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.create_scim_user_in(user, password, None, audit).await
    }

    async fn get_scim_user(&self, id: UserId) -> StoreResult<Option<ScimUser>> {
        self.read_optional(
            Stmt::new(concat!(scim_user_select!(), " WHERE users.id = $1")).text(id.to_string()),
        )
        .await?
        .map(|row| scim_user_from(&row))
        .transpose()
    }

    async fn replace_scim_user(
        &self,
        user: &ScimUser,
        password: Option<&StoredPassword>,
        audit: &AuditEvent,
    ) -> StoreResult<ScimUser> {
        self.replace_scim_user_in(user, password, None, audit).await
    }

    async fn list_scim_users(
        &self,
        org: OrgId,
        query: &ScimListQuery,
    ) -> StoreResult<ScimPage<ScimUser>> {
        let mut count = SqlBuilder::new(
            "SELECT COUNT(*) AS n FROM users LEFT JOIN scim_users ON scim_users.user_id = users.id",
        );
        where_clause::<DB>(&mut count, Table::Users, org, query);
        let total = self.count(count).await?;
        if query.count == 0 {
            return Ok(ScimPage {
                total,
                items: Vec::new(),
            });
        }
        let mut page = SqlBuilder::new(scim_user_select!());
        where_clause::<DB>(&mut page, Table::Users, org, query);
        order_and_page::<DB>(&mut page, Table::Users, query);
        let items = self
            .read_all(page.build())
            .await?
            .iter()
            .map(scim_user_from)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(ScimPage { total, items })
    }

    async fn create_scim_group(&self, group: &ScimGroup, audit: &AuditEvent) -> StoreResult<()> {
        let g = &group.group;
        let mut w = self.write().await?;
        w.execute(
            Stmt::new(concat!(
                "INSERT INTO groups (",
                group_cols!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            ))
            .text(g.id.to_string())
            .text(g.org_id.to_string())
            .text(g.name.as_str())
            .text(g.name.to_lowercase())
            .opt_text(g.description.as_deref())
            .int(g.created_at)
            .int(g.updated_at)
            .int(g.version),
            "org",
        )
        .await?;
        w.execute(upsert_scim_group(group), "group").await?;
        set_members(&mut w, group, g.created_at).await?;
        w.audit(audit).await?;
        w.commit().await
    }

    async fn get_scim_group(&self, id: GroupId) -> StoreResult<Option<ScimGroup>> {
        let row = self
            .read_optional(
                Stmt::new(concat!(
                    "SELECT ",
                    group_cols!(),
                    ", scim_groups.external_id AS scim_external_id FROM groups \
                     LEFT JOIN scim_groups ON scim_groups.group_id = groups.id WHERE groups.id = $1"
                ))
                .text(id.to_string()),
            )
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some(ScimGroup {
            group: group_from(&row)?,
            external_id: col(row.opt_text("scim_external_id"))?,
            members: self.members(id).await?,
        }))
    }

    async fn replace_scim_group(
        &self,
        group: &ScimGroup,
        audit: &AuditEvent,
    ) -> StoreResult<ScimGroup> {
        let g = &group.group;
        let mut w = self.write().await?;
        let row = w
            .fetch_optional(
                Stmt::new(concat!(
                    "UPDATE groups SET name = $2, name_lower = $3, description = $4, updated_at = $5, \
                     version = version + 1 WHERE id = $1 AND version = $6 RETURNING ",
                    group_cols!()
                ))
                .text(g.id.to_string())
                .text(g.name.as_str())
                .text(g.name.to_lowercase())
                .opt_text(g.description.as_deref())
                .int(g.updated_at)
                .int(g.version),
                "group",
            )
            .await?;
        let Some(row) = row else {
            let exists = w
                .exists(Stmt::new("SELECT 1 FROM groups WHERE id = $1").text(g.id.to_string()))
                .await?;
            return Err(if exists {
                StoreError::VersionConflict
            } else {
                StoreError::Missing("group")
            });
        };
        let stored = group_from(&row)?;
        w.execute(upsert_scim_group(group), "group").await?;
        set_members(&mut w, group, g.updated_at).await?;
        w.audit(audit).await?;
        w.commit().await?;
        Ok(ScimGroup {
            group: stored,
            external_id: group.external_id.clone(),
            members: group.members.clone(),
        })
    }

    async fn list_scim_groups(
        &self,
        org: OrgId,
        query: &ScimListQuery,
        with_members: bool,
    ) -> StoreResult<ScimPage<ScimGroup>> {
        let mut count = SqlBuilder::new(
            "SELECT COUNT(*) AS n FROM groups LEFT JOIN scim_groups ON scim_groups.group_id = groups.id",
        );
        where_clause::<DB>(&mut count, Table::Groups, org, query);
        let total = self.count(count).await?;
        if query.count == 0 {
            return Ok(ScimPage {
                total,
                items: Vec::new(),
            });
        }
        let mut page = SqlBuilder::new(concat!(
            "SELECT ",
            group_cols!(),
            ", scim_groups.external_id AS scim_external_id FROM groups \
             LEFT JOIN scim_groups ON scim_groups.group_id = groups.id"
        ));
        where_clause::<DB>(&mut page, Table::Groups, org, query);
        order_and_page::<DB>(&mut page, Table::Groups, query);
        let rows = self
            .read_all(page.build())
            .await?
            .iter()
            .map(|row| Ok((group_from(row)?, col(row.opt_text("scim_external_id"))?)))
            .collect::<StoreResult<Vec<_>>>()?;
        let mut items = Vec::with_capacity(rows.len());
        for (group, external_id) in rows {
            let members = if with_members {
                self.members(group.id).await?
            } else {
                Vec::new()
            };
            items.push(ScimGroup {
                group,
                external_id,
                members,
            });
        }
        Ok(ScimPage { items, total })
    }
}

impl<DB: Engine> SqlStore<DB> {
    /// [`ScimStore::create_scim_user`], setting the rule-managed memberships when given.
    pub(crate) async fn create_scim_user_in(
        &self,
        user: &ScimUser,
        password: Option<&StoredPassword>,
        rule_groups: Option<&[GroupId]>,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let mut w = self.write().await?;
        w.execute(insert_user(&user.user)?, "org").await?;
        w.execute(upsert_scim_user(user), "user").await?;
        if let Some(password) = password {
            w.execute(
                set_password_stmt(user.user.id, password, user.user.created_at),
                "user",
            )
            .await?;
        }
        if let Some(groups) = rule_groups {
            sync_rule_groups(&mut w, user.user.id, groups, user.user.created_at).await?;
        }
        w.audit(audit).await?;
        w.commit().await
    }

    /// [`ScimStore::replace_scim_user`], setting the rule-managed memberships when given.
    pub(crate) async fn replace_scim_user_in(
        &self,
        user: &ScimUser,
        password: Option<&StoredPassword>,
        rule_groups: Option<&[GroupId]>,
        audit: &AuditEvent,
    ) -> StoreResult<ScimUser> {
        let mut w = self.write().await?;
        let row = w
            .fetch_optional(update_user_stmt(&user.user)?, "user")
            .await?;
        let Some(row) = row else {
            let exists = w
                .exists(
                    Stmt::new("SELECT 1 FROM users WHERE id = $1").text(user.user.id.to_string()),
                )
                .await?;
            return Err(if exists {
                StoreError::VersionConflict
            } else {
                StoreError::Missing("user")
            });
        };
        let stored = user_from(&row)?;
        w.execute(upsert_scim_user(user), "user").await?;
        if let Some(password) = password {
            w.execute(
                set_password_stmt(user.user.id, password, stored.updated_at),
                "user",
            )
            .await?;
        }
        if let Some(groups) = rule_groups {
            sync_rule_groups(&mut w, user.user.id, groups, stored.updated_at).await?;
        }
        w.audit(audit).await?;
        w.commit().await?;
        Ok(ScimUser {
            user: stored,
            external_id: user.external_id.clone(),
            resource: user.resource.clone(),
        })
    }
}
