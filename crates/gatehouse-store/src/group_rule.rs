//! [`GroupRuleStore`] over `group_rules` and the `rule_managed` flag of
//! `group_members`.
//!
//! A user's rule-managed memberships are replaced by diffing: the ones no rule
//! grants any more are deleted, the new ones inserted unless the user is
//! already a (manual) member. Manual rows are never deleted here.

use std::collections::BTreeSet;

use async_trait::async_trait;
use gatehouse_core::clock::Millis;
use gatehouse_core::ids::{GroupId, GroupRuleId, OrgId, UserId};
use gatehouse_core::model::{AuditEvent, GroupRule, ScimUser, User};
use gatehouse_core::password::StoredPassword;
use gatehouse_core::store::{GroupRuleStore, StoreResult};

use crate::engine::{Arg, Engine, Record, SqlBuilder, Stmt};
use crate::store::{SqlStore, Writer, col, id_col};

macro_rules! rule_cols {
    () => {
        "id, org_id, group_id, expression, created_at, updated_at"
    };
}

fn rule_from(row: &impl Record) -> StoreResult<GroupRule> {
    Ok(GroupRule {
        id: id_col(row, "id")?,
        org_id: id_col(row, "org_id")?,
        group_id: id_col(row, "group_id")?,
        expression: col(row.text("expression"))?,
        created_at: col(row.int("created_at"))?,
        updated_at: col(row.int("updated_at"))?,
    })
}

/// Makes `user`'s rule-managed memberships exactly `groups` within `w`.
pub(crate) async fn sync_rule_groups<DB: Engine>(
    w: &mut Writer<DB>,
    user: UserId,
    groups: &[GroupId],
    at: Millis,
) -> StoreResult<()> {
    let current = w
        .fetch_all(
            Stmt::new(
                "SELECT group_id FROM group_members WHERE user_id = $1 AND rule_managed = $2",
            )
            .text(user.to_string())
            .flag(true),
            "user",
        )
        .await?
        .iter()
        .map(|row| id_col::<GroupId>(row, "group_id"))
        .collect::<StoreResult<BTreeSet<_>>>()?;
    let wanted: BTreeSet<GroupId> = groups.iter().copied().collect();
    for gone in current.difference(&wanted) {
        w.execute(
            Stmt::new(
                "DELETE FROM group_members WHERE group_id = $1 AND user_id = $2 AND rule_managed = $3",
            )
            .text(gone.to_string())
            .text(user.to_string())
            .flag(true),
            "group",
        )
        .await?;
    }
    for new in wanted.difference(&current) {
        w.execute(
            Stmt::new(
                "INSERT INTO group_members (group_id, user_id, created_at, rule_managed) \
                 SELECT groups.id, users.id, $3, $4 FROM groups, users \
                 WHERE groups.id = $1 AND users.id = $2 AND users.org_id = groups.org_id \
                 ON CONFLICT (group_id, user_id) DO NOTHING",
            )
            .text(new.to_string())
            .text(user.to_string())
            .int(at)
            .flag(true),
            "group",
        )
        .await?;
    }
    Ok(())
}

#[async_trait]
impl<DB: Engine> GroupRuleStore for SqlStore<DB> {
    async fn create_group_rule(&self, rule: &GroupRule, audit: &AuditEvent) -> StoreResult<()> {
        let mut w = self.write().await?;
        w.execute(
            Stmt::new(
                "INSERT INTO group_rules (id, org_id, group_id, expression, created_at, updated_at) \
                 SELECT $1, groups.org_id, groups.id, $3, $4, $5 FROM groups \
                 WHERE groups.id = $2 AND groups.org_id = $6",
            )
            .text(rule.id.to_string())
            .text(rule.group_id.to_string())
            .text(rule.expression.as_str())
            .int(rule.created_at)
            .int(rule.updated_at)
            .text(rule.org_id.to_string()),
            "group",
        )
        .await
        .and_then(|n| {
            if n == 1 {
                Ok(())
            } else {
                Err(gatehouse_core::StoreError::Missing("group"))
            }
        })?;
        w.audit(audit).await?;
        w.commit().await
    }

    async fn get_group_rule(&self, id: GroupRuleId) -> StoreResult<Option<GroupRule>> {
        self.read_optional(
            Stmt::new(concat!(
                "SELECT ",
                rule_cols!(),
                " FROM group_rules WHERE id = $1"
            ))
            .text(id.to_string()),
        )
        .await?
        .map(|row| rule_from(&row))
        .transpose()
    }

    async fn list_group_rules(
        &self,
        org: OrgId,
        group: Option<GroupId>,
    ) -> StoreResult<Vec<GroupRule>> {
        let mut sql = SqlBuilder::new(concat!("SELECT ", rule_cols!(), " FROM group_rules"));
        sql.and("org_id = ").arg(Arg::Text(org.to_string()));
        if let Some(group) = group {
            sql.and("group_id = ").arg(Arg::Text(group.to_string()));
        }
        sql.push(" ORDER BY id");
        self.read_all(sql.build())
            .await?
            .iter()
            .map(rule_from)
            .collect()
    }

    async fn delete_group_rule(&self, id: GroupRuleId, audit: &AuditEvent) -> StoreResult<bool> {
        let mut w = self.write().await?;
        if w.execute(
            Stmt::new("DELETE FROM group_rules WHERE id = $1").text(id.to_string()),
            "group rule",
        )
        .await?
            == 0
        {
            return Ok(false);
        }
        w.audit(audit).await?;
        w.commit().await?;
        Ok(true)
    }

    async fn sync_rule_memberships(
        &self,
        users: &[(UserId, Vec<GroupId>)],
        at: Millis,
    ) -> StoreResult<()> {
        let mut w = self.write().await?;
        for (user, groups) in users {
            sync_rule_groups(&mut w, *user, groups, at).await?;
        }
        w.commit().await
    }

    async fn create_user_with_rules(
        &self,
        user: &User,
        password: Option<&StoredPassword>,
        rule_groups: &[GroupId],
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.create_user_in(user, password, Some(rule_groups), audit)
            .await
    }

    async fn update_user_with_rules(
        &self,
        user: &User,
        rule_groups: &[GroupId],
        audit: &AuditEvent,
    ) -> StoreResult<User> {
        self.update_user_in(user, Some(rule_groups), audit).await
    }

    async fn create_scim_user_with_rules(
        &self,
        user: &ScimUser,
        password: Option<&StoredPassword>,
        rule_groups: &[GroupId],
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.create_scim_user_in(user, password, Some(rule_groups), audit)
            .await
    }

    async fn replace_scim_user_with_rules(
        &self,
        user: &ScimUser,
        password: Option<&StoredPassword>,
        rule_groups: &[GroupId],
        audit: &AuditEvent,
    ) -> StoreResult<ScimUser> {
        self.replace_scim_user_in(user, password, Some(rule_groups), audit)
            .await
    }
}
