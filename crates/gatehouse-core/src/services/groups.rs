//! Group administration and membership.

use serde_json::Value;

use crate::error::{Error, FieldError, Result};
use crate::ids::{GroupId, OrgId, UserId};
use crate::model::{Group, GroupQuery, Page};
use crate::services::Deps;
use crate::services::audit::Target;
use crate::services::principal::{AdminPrincipal, RequestContext};
use crate::services::profile::{merge_patch, serde_message};

#[derive(Debug, Clone, Default)]
pub struct NewGroup {
    pub org_id: Option<OrgId>,
    pub name: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Groups {
    deps: Deps,
}

impl Groups {
    pub(crate) fn new(deps: Deps) -> Self {
        Self { deps }
    }

    pub async fn create(
        &self,
        who: &AdminPrincipal,
        ctx: &RequestContext,
        new: NewGroup,
    ) -> Result<Group> {
        let org_id = who.target_org(new.org_id).ok_or(Error::NotFound("org"))?;
        let d = &self.deps;
        if d.store.get_org(org_id).await?.is_none() {
            return Err(Error::NotFound("org"));
        }
        let now = d.clock.now_millis();
        let group = validated(Group {
            id: GroupId::generate(d.clock.as_ref(), d.rng.as_ref()),
            org_id,
            name: new.name,
            description: new.description,
            created_at: now,
            updated_at: now,
            version: 1,
        })?;
        let audit = d.audit(
            who.actor(),
            ctx,
            "group.create",
            group_target(&group),
            serde_json::json!({ "name": group.name }),
        );
        d.store
            .create_group(&group, &audit)
            .await
            .map_err(|e| Error::duplicate("group", e))?;
        Ok(group)
    }

    pub async fn get(&self, who: &AdminPrincipal, id: GroupId) -> Result<Group> {
        match self.deps.store.get_group(id).await? {
            Some(g) if who.can_access(g.org_id) => Ok(g),
            _ => Err(Error::NotFound("group")),
        }
    }

    pub async fn list(&self, who: &AdminPrincipal, mut query: GroupQuery) -> Result<Page<Group>> {
        match (who.org_filter(), query.org_id) {
            (Some(own), Some(asked)) if own != asked => {
                return Ok(Page {
                    items: Vec::new(),
                    next: None,
                });
            }
            (Some(own), _) => query.org_id = Some(own),
            (None, _) => {}
        }
        Ok(self.deps.store.list_groups(&query).await?)
    }

    /// RFC 7396 merge patch over `{name, description}`.
    pub async fn update(
        &self,
        who: &AdminPrincipal,
        ctx: &RequestContext,
        id: GroupId,
        patch: &Value,
        if_match: Option<i64>,
    ) -> Result<Group> {
        if !patch.is_object() {
            return Err(Error::invalid(
                "",
                "invalid_type",
                "a merge patch must be a JSON object",
            ));
        }
        let current = self.get(who, id).await?;
        if if_match.is_some_and(|v| v != current.version) {
            return Err(Error::PreconditionFailed);
        }
        let mut doc =
            serde_json::json!({ "name": current.name, "description": current.description });
        merge_patch(&mut doc, patch);
        let edit: GroupEdit = serde_json::from_value(doc)
            .map_err(|e| Error::invalid("", "invalid_field", serde_message(&e)))?;
        let d = &self.deps;
        let next = validated(Group {
            name: edit.name,
            description: edit.description,
            updated_at: d.clock.now_millis(),
            ..current.clone()
        })?;
        let audit = d.audit(
            who.actor(),
            ctx,
            "group.update",
            group_target(&current),
            serde_json::json!({ "name": next.name }),
        );
        d.store
            .update_group(&next, &audit)
            .await
            .map_err(|e| Error::duplicate("group", e))
    }

    pub async fn delete(
        &self,
        who: &AdminPrincipal,
        ctx: &RequestContext,
        id: GroupId,
    ) -> Result<()> {
        let group = self.get(who, id).await?;
        let d = &self.deps;
        let audit = d.audit(
            who.actor(),
            ctx,
            "group.delete",
            group_target(&group),
            serde_json::json!({ "name": group.name }),
        );
        if d.store.delete_group(id, &audit).await? {
            Ok(())
        } else {
            Err(Error::NotFound("group"))
        }
    }

    /// Adds a user of the same org; `true` when newly added.
    pub async fn add_member(
        &self,
        who: &AdminPrincipal,
        ctx: &RequestContext,
        id: GroupId,
        user: UserId,
    ) -> Result<bool> {
        let group = self.get(who, id).await?;
        let d = &self.deps;
        match d.store.get_user(user).await? {
            Some(u) if u.org_id == group.org_id => {}
            Some(u) if who.can_access(u.org_id) => {
                return Err(Error::invalid(
                    "user_id",
                    "other_org",
                    "the user belongs to another org",
                ));
            }
            _ => return Err(Error::NotFound("user")),
        }
        let audit = d.audit(
            who.actor(),
            ctx,
            "group.member.add",
            group_target(&group),
            serde_json::json!({ "user_id": user }),
        );
        Ok(d.store
            .add_member(id, user, d.clock.now_millis(), &audit)
            .await?)
    }

    /// Removes a member; `NotFound("membership")` when the user was not one.
    pub async fn remove_member(
        &self,
        who: &AdminPrincipal,
        ctx: &RequestContext,
        id: GroupId,
        user: UserId,
    ) -> Result<()> {
        let group = self.get(who, id).await?;
        let d = &self.deps;
        let audit = d.audit(
            who.actor(),
            ctx,
            "group.member.remove",
            group_target(&group),
            serde_json::json!({ "user_id": user }),
        );
        if d.store.remove_member(id, user, &audit).await? {
            Ok(())
        } else {
            Err(Error::NotFound("membership"))
        }
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupEdit {
    name: String,
    #[serde(default)]
    description: Option<String>,
}

fn validated(mut group: Group) -> Result<Group> {
    group.name = group.name.trim().to_owned();
    let mut errors = Vec::new();
    if group.name.is_empty() || group.name.len() > 200 || group.name.chars().any(char::is_control) {
        errors.push(FieldError::new(
            "name",
            "invalid_length",
            "must be 1-200 bytes without control characters",
        ));
    }
    if group.description.as_ref().is_some_and(|d| d.len() > 2000) {
        errors.push(FieldError::new(
            "description",
            "too_long",
            "must be at most 2000 bytes",
        ));
    }
    if errors.is_empty() {
        Ok(group)
    } else {
        Err(Error::Invalid(errors))
    }
}

fn group_target(group: &Group) -> Target {
    Target::new("group", group.id, Some(group.org_id))
}
