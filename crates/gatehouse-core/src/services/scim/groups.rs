//! `/Groups`: create, read, replace, patch, delete and list (RFC 7644 §3.3–§3.6).
//! Members are users of the same org; anything else is `invalidValue`.

use gatehouse_scim::list::ListQuery;
use gatehouse_scim::patch::PatchRequest;
use gatehouse_scim::schema::ResourceKind;
use gatehouse_scim::{ScimError, ScimType};
use serde_json::{Value, json};

use super::filter;
use super::group_doc::{self, GroupInput};
use super::user_doc::etag;
use super::{Scim, ScimAnswer, ScimFailure, ScimList, ScimResult, apply_patch, if_match_admits};
use crate::error::{Error, StoreError};
use crate::ids::GroupId;
use crate::model::{Group, ScimCond, ScimGroup, ScimListQuery, SortOrder};
use crate::services::audit::Target;
use crate::services::principal::{RequestContext, ScimPrincipal};

const RETRIES: usize = 8;

fn not_found() -> ScimError {
    ScimError::with_status(404, "Group not found")
}

fn store_failure(e: StoreError) -> ScimFailure {
    match e {
        StoreError::Conflict(_) => ScimError::new(
            ScimType::Uniqueness,
            "a Group with this displayName already exists",
        )
        .into(),
        StoreError::Missing("user") => {
            ScimError::invalid_value("a member is not a User of this tenant").into()
        }
        other => other.into(),
    }
}

fn target(group: &Group) -> Target {
    Target::new("group", group.id, Some(group.org_id))
}

/// Members as ids (usernames are only for display and filled on read).
fn members(input: &GroupInput) -> Vec<(crate::ids::UserId, String)> {
    input
        .members
        .iter()
        .map(|id| (*id, String::new()))
        .collect()
}

impl Scim {
    pub async fn create_group(
        &self,
        who: &ScimPrincipal,
        ctx: &RequestContext,
        body: &Value,
    ) -> ScimResult<ScimAnswer> {
        let input = group_doc::parse(body)?;
        let d = &self.deps;
        let now = d.clock.now_millis();
        let group = ScimGroup {
            group: Group {
                id: GroupId::generate(d.clock.as_ref(), d.rng.as_ref()),
                org_id: who.org(),
                name: input.name.clone(),
                description: None,
                created_at: now,
                updated_at: now,
                version: 1,
            },
            external_id: input.external_id.clone(),
            members: members(&input),
        };
        let audit = d.audit(
            who.actor(),
            ctx,
            "scim.group.create",
            target(&group.group),
            json!({ "name": group.group.name, "members": group.members.len() }),
        );
        d.store
            .create_scim_group(&group, &audit)
            .await
            .map_err(store_failure)?;
        Ok(self.group_answer(&group))
    }

    pub async fn get_group(&self, who: &ScimPrincipal, id: &str) -> ScimResult<ScimAnswer> {
        Ok(self.group_answer(&self.visible_group(who, id).await?))
    }

    pub async fn replace_group(
        &self,
        who: &ScimPrincipal,
        ctx: &RequestContext,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> ScimResult<ScimAnswer> {
        self.write_group(who, ctx, id, if_match, "scim.group.replace", |_| {
            Ok(group_doc::parse(body)?)
        })
        .await
    }

    pub async fn patch_group(
        &self,
        who: &ScimPrincipal,
        ctx: &RequestContext,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> ScimResult<ScimAnswer> {
        let request = PatchRequest::parse(body)?;
        self.write_group(who, ctx, id, if_match, "scim.group.patch", |current| {
            let mut doc = current.clone();
            apply_patch(&mut doc, &request.operations)?;
            Ok(group_doc::parse(&doc)?)
        })
        .await
    }

    async fn write_group(
        &self,
        who: &ScimPrincipal,
        ctx: &RequestContext,
        id: &str,
        if_match: Option<&str>,
        action: &str,
        change: impl Fn(&Value) -> ScimResult<GroupInput>,
    ) -> ScimResult<ScimAnswer> {
        for _ in 0..RETRIES {
            let current = self.visible_group(who, id).await?;
            if !if_match_admits(if_match, &etag(current.group.version)) {
                return Err(Error::PreconditionFailed.into());
            }
            let doc = group_doc::render(&current, &self.base);
            let input = change(&doc)?;
            let d = &self.deps;
            let mut next = current.group.clone();
            next.name = input.name.clone();
            next.updated_at = d.clock.now_millis();
            let group = ScimGroup {
                group: next,
                external_id: input.external_id.clone(),
                members: members(&input),
            };
            let added = group
                .members
                .iter()
                .filter(|(m, _)| !current.members.iter().any(|(c, _)| c == m))
                .count();
            let removed = current
                .members
                .iter()
                .filter(|(c, _)| !group.members.iter().any(|(m, _)| m == c))
                .count();
            let audit = d.audit(
                who.actor(),
                ctx,
                action,
                target(&current.group),
                json!({ "name": group.group.name, "members_added": added, "members_removed": removed }),
            );
            match d.store.replace_scim_group(&group, &audit).await {
                Ok(stored) => return Ok(self.group_answer(&stored)),
                Err(StoreError::VersionConflict) if if_match.is_none() => continue,
                Err(StoreError::VersionConflict) => return Err(Error::PreconditionFailed.into()),
                Err(e) => return Err(store_failure(e)),
            }
        }
        Err(ScimError::with_status(409, "the Group is being changed concurrently; retry").into())
    }

    pub async fn delete_group(
        &self,
        who: &ScimPrincipal,
        ctx: &RequestContext,
        id: &str,
        if_match: Option<&str>,
    ) -> ScimResult<()> {
        let group = self.visible_group(who, id).await?;
        if !if_match_admits(if_match, &etag(group.group.version)) {
            return Err(Error::PreconditionFailed.into());
        }
        let d = &self.deps;
        let audit = d.audit(
            who.actor(),
            ctx,
            "scim.group.delete",
            target(&group.group),
            json!({ "name": group.group.name }),
        );
        if d.store.delete_group(group.group.id, &audit).await? {
            Ok(())
        } else {
            Err(not_found().into())
        }
    }

    /// GET `/Groups` and `/Groups/.search`. Members are loaded only when the
    /// answer includes them (`excludedAttributes=members` is common).
    pub async fn list_groups(
        &self,
        who: &ScimPrincipal,
        query: &ListQuery,
    ) -> ScimResult<ScimList> {
        let custom: Vec<String> = Vec::new();
        let cond = match &query.filter {
            Some(f) => filter::translate(ResourceKind::Group, f, &custom)?,
            None => ScimCond::True,
        };
        let sort = query
            .sort_by
            .as_ref()
            .and_then(|p| filter::sort_key(ResourceKind::Group, p, &custom));
        let wanted = |p: &gatehouse_scim::AttrPath| {
            p.is("members", None) || p.name.eq_ignore_ascii_case("members")
        };
        let with_members = !query
            .excluded_attributes
            .iter()
            .any(|p| p.is("members", None))
            && (query.attributes.is_empty() || query.attributes.iter().any(wanted));
        let page = self
            .deps
            .store
            .list_scim_groups(
                who.org(),
                &ScimListQuery {
                    filter: cond,
                    sort,
                    order: match query.sort_order {
                        gatehouse_scim::list::SortOrder::Ascending => SortOrder::Asc,
                        gatehouse_scim::list::SortOrder::Descending => SortOrder::Desc,
                    },
                    offset: query.offset(),
                    count: self.page_count(query),
                },
                with_members,
            )
            .await?;
        Ok(ScimList {
            total: page.total,
            start_index: query.start_index,
            resources: page
                .items
                .iter()
                .map(|g| group_doc::render(g, &self.base))
                .collect(),
        })
    }

    async fn visible_group(&self, who: &ScimPrincipal, id: &str) -> ScimResult<ScimGroup> {
        let id: GroupId = id.parse().map_err(|_| not_found())?;
        match self.deps.store.get_scim_group(id).await? {
            Some(group) if group.group.org_id == who.org() => Ok(group),
            _ => Err(not_found().into()),
        }
    }

    fn group_answer(&self, group: &ScimGroup) -> ScimAnswer {
        ScimAnswer {
            resource: group_doc::render(group, &self.base),
            etag: etag(group.group.version),
            location: format!("{}/Groups/{}", self.base, group.group.id),
        }
    }
}
