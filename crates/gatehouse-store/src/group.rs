//! [`GroupStore`] over `groups` and `group_members`.
//!
//! Group names are unique per org case-insensitively through `name_lower`.
//! A membership joins a group and a user of the same org; a user of another org
//! is reported missing, as if it did not exist. Adding a user who is a member
//! by a group rule makes the membership manual (rules no longer remove it).

use async_trait::async_trait;
use gatehouse_core::StoreError;
use gatehouse_core::clock::Millis;
use gatehouse_core::ids::{GroupId, UserId};
use gatehouse_core::model::{AuditEvent, Group, GroupQuery, Page};
use gatehouse_core::store::{GroupStore, StoreResult};

use crate::cursor;
use crate::engine::{Arg, Engine, Record, SqlBuilder, Stmt};
use crate::store::{SqlStore, col, id_col};

macro_rules! group_cols {
    () => {
        "id, org_id, name, name_lower, description, created_at, updated_at, version"
    };
}
pub(crate) use group_cols;

const LIST: &str = "groups";

pub(crate) fn group_from(row: &impl Record) -> StoreResult<Group> {
    Ok(Group {
        id: id_col(row, "id")?,
        org_id: id_col(row, "org_id")?,
        name: col(row.text("name"))?,
        description: col(row.opt_text("description"))?,
        created_at: col(row.int("created_at"))?,
        updated_at: col(row.int("updated_at"))?,
        version: col(row.int("version"))?,
    })
}

#[async_trait]
impl<DB: Engine> GroupStore for SqlStore<DB> {
    async fn create_group(&self, group: &Group, audit: &AuditEvent) -> StoreResult<()> {
        let mut w = self.write().await?;
        w.execute(
            Stmt::new(concat!(
                "INSERT INTO groups (",
                group_cols!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            ))
            .text(group.id.to_string())
            .text(group.org_id.to_string())
            .text(group.name.as_str())
            .text(group.name.to_lowercase())
            .opt_text(group.description.as_deref())
            .int(group.created_at)
            .int(group.updated_at)
            .int(group.version),
            "org",
        )
        .await?;
        w.audit(audit).await?;
        w.commit().await
    }

    async fn get_group(&self, id: GroupId) -> StoreResult<Option<Group>> {
        self.read_optional(
            Stmt::new(concat!(
                "SELECT ",
                group_cols!(),
                " FROM groups WHERE id = $1"
            ))
            .text(id.to_string()),
        )
        .await?
        .map(|row| group_from(&row))
        .transpose()
    }

    async fn list_groups(&self, query: &GroupQuery) -> StoreResult<Page<Group>> {
        let size = cursor::page_size(query.limit);
        let mut sql = SqlBuilder::new(concat!("SELECT ", group_cols!(), " FROM groups"));
        if let Some(org) = query.org_id {
            sql.and("org_id = ").arg(Arg::Text(org.to_string()));
        }
        if let Some(prefix) = query.name_prefix.as_deref().filter(|p| !p.is_empty()) {
            let prefix = prefix.to_lowercase();
            if let Some(upper) = cursor::prefix_successor(&prefix) {
                sql.and("name_lower < ").arg(Arg::Text(upper));
            }
            sql.and("name_lower >= ").arg(Arg::Text(prefix));
        }
        if let Some(after) = &query.after {
            let position = cursor::decode(LIST, true, after)?;
            sql.and("(name_lower, id) > (")
                .arg(Arg::Text(position.key.unwrap_or_default()))
                .push(", ");
            sql.arg(Arg::Text(position.id)).push(")");
        }
        sql.push(" ORDER BY name_lower, id LIMIT ")
            .arg(Arg::Int(size as i64 + 1));
        let groups = self
            .read_all(sql.build())
            .await?
            .iter()
            .map(group_from)
            .collect::<StoreResult<Vec<_>>>()?;
        let (items, next) = cursor::paginate(groups, size, |group| {
            cursor::encode(
                LIST,
                Some(&group.name.to_lowercase()),
                &group.id.to_string(),
            )
        });
        Ok(Page { items, next })
    }

    async fn update_group(&self, group: &Group, audit: &AuditEvent) -> StoreResult<Group> {
        let mut w = self.write().await?;
        let row = w
            .fetch_optional(
                Stmt::new(concat!(
                    "UPDATE groups SET name = $2, name_lower = $3, description = $4, updated_at = $5, \
                     version = version + 1 WHERE id = $1 AND version = $6 RETURNING ",
                    group_cols!()
                ))
                .text(group.id.to_string())
                .text(group.name.as_str())
                .text(group.name.to_lowercase())
                .opt_text(group.description.as_deref())
                .int(group.updated_at)
                .int(group.version),
                "group",
            )
            .await?;
        let Some(row) = row else {
            let exists = w
                .exists(Stmt::new("SELECT 1 FROM groups WHERE id = $1").text(group.id.to_string()))
                .await?;
            return Err(if exists {
                StoreError::VersionConflict
            } else {
                StoreError::Missing("group")
            });
        };
        let stored = group_from(&row)?;
        w.audit(audit).await?;
        w.commit().await?;
        Ok(stored)
    }

    async fn delete_group(&self, id: GroupId, audit: &AuditEvent) -> StoreResult<bool> {
        let mut w = self.write().await?;
        if w.execute(
            Stmt::new("DELETE FROM groups WHERE id = $1").text(id.to_string()),
            "group",
        )
        .await?
            == 0
        {
            return Ok(false);
        }
        w.execute(
            Stmt::new(
                "DELETE FROM app_assignments WHERE subject_kind = 'group' AND subject_id = $1",
            )
            .text(id.to_string()),
            "group",
        )
        .await?;
        w.audit(audit).await?;
        w.commit().await?;
        Ok(true)
    }

    async fn add_member(
        &self,
        group: GroupId,
        user: UserId,
        at: Millis,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        let mut w = self.write().await?;
        let added = w
            .execute(
                Stmt::new(
                    "INSERT INTO group_members (group_id, user_id, created_at, rule_managed) \
                     SELECT groups.id, users.id, $3, $4 FROM groups, users \
                     WHERE groups.id = $1 AND users.id = $2 AND users.org_id = groups.org_id \
                     ON CONFLICT (group_id, user_id) DO UPDATE SET rule_managed = $4 \
                     WHERE group_members.rule_managed = $5",
                )
                .text(group.to_string())
                .text(user.to_string())
                .int(at)
                .flag(false)
                .flag(true),
                "group",
            )
            .await?;
        if added == 0 {
            let member =
                Stmt::new("SELECT 1 FROM group_members WHERE group_id = $1 AND user_id = $2")
                    .text(group.to_string())
                    .text(user.to_string());
            if w.exists(member).await? {
                return Ok(false);
            }
            let group_exists = w
                .exists(Stmt::new("SELECT 1 FROM groups WHERE id = $1").text(group.to_string()))
                .await?;
            return Err(StoreError::Missing(if group_exists {
                "user"
            } else {
                "group"
            }));
        }
        w.audit(audit).await?;
        w.commit().await?;
        Ok(true)
    }

    async fn remove_member(
        &self,
        group: GroupId,
        user: UserId,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        let mut w = self.write().await?;
        let removed = w
            .execute(
                Stmt::new("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
                    .text(group.to_string())
                    .text(user.to_string()),
                "group",
            )
            .await?;
        if removed == 0 {
            return Ok(false);
        }
        w.audit(audit).await?;
        w.commit().await?;
        Ok(true)
    }

    async fn groups_of_user(&self, user: UserId) -> StoreResult<Vec<Group>> {
        self.read_all(
            Stmt::new(concat!(
                "SELECT ",
                group_cols!(),
                " FROM groups WHERE id IN (SELECT group_id FROM group_members WHERE user_id = $1) \
                 ORDER BY name_lower, id"
            ))
            .text(user.to_string()),
        )
        .await?
        .iter()
        .map(group_from)
        .collect()
    }

    async fn groups_of_users(&self, users: &[UserId]) -> StoreResult<Vec<(UserId, Group)>> {
        let Some((first, rest)) = users.split_first() else {
            return Ok(Vec::new());
        };
        let mut sql = SqlBuilder::new(
            "SELECT m.user_id AS member_id, g.* FROM group_members m \
             JOIN groups g ON g.id = m.group_id WHERE m.user_id IN (",
        );
        sql.arg(Arg::Text(first.to_string()));
        for user in rest {
            sql.push(", ").arg(Arg::Text(user.to_string()));
        }
        sql.push(") ORDER BY m.user_id, g.name_lower, g.id");
        self.read_all(sql.build())
            .await?
            .iter()
            .map(|row| Ok((id_col(row, "member_id")?, group_from(row)?)))
            .collect()
    }
}
