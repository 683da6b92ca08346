//! `/Users`: create, read, replace, patch, delete and list (RFC 7644 §3.3–§3.6).

use gatehouse_scim::list::ListQuery;
use gatehouse_scim::patch::PatchRequest;
use gatehouse_scim::schema::ResourceKind;
use gatehouse_scim::{ScimError, ScimType};
use serde_json::{Map, Value, json};

use super::filter;
use super::user_doc::{self, UserInput, etag};
use super::{Scim, ScimAnswer, ScimList, ScimResult, apply_patch, if_match_admits};
use crate::error::{Error, StoreError};
use crate::ids::UserId;
use crate::model::{Organization, ScimCond, ScimListQuery, ScimUser, SortOrder, User, UserStatus};
use crate::password::StoredPassword;
use crate::services::audit::Target;
use crate::services::group_rules::rule_groups;
use crate::services::principal::{RequestContext, ScimPrincipal};
use crate::services::profile::{UserProfile, check_attributes};

/// How many times a replace without `If-Match` re-reads after losing a race.
const RETRIES: usize = 8;

fn not_found() -> ScimError {
    ScimError::with_status(404, "User not found")
}

fn uniqueness(e: StoreError) -> super::ScimFailure {
    match e {
        StoreError::Conflict(field) => {
            let attribute = match field {
                "username" => "userName",
                "email" => "emails",
                other => other,
            };
            ScimError::new(
                ScimType::Uniqueness,
                format!("a User with this {attribute} already exists"),
            )
            .into()
        }
        other => other.into(),
    }
}

fn target(user: &User) -> Target {
    Target::new("user", user.id, Some(user.org_id))
}

impl Scim {
    pub async fn create_user(
        &self,
        who: &ScimPrincipal,
        ctx: &RequestContext,
        body: &Value,
    ) -> ScimResult<ScimAnswer> {
        let input = user_doc::parse(body)?;
        let org = self.org(who).await?;
        let (profile, password) = self.checked(&org, &input).await?;
        let d = &self.deps;
        let now = d.clock.now_millis();
        let status = match input.active {
            Some(false) => UserStatus::Staged,
            Some(true) | None => UserStatus::Active,
        };
        let user = ScimUser {
            user: User {
                id: UserId::generate(d.clock.as_ref(), d.rng.as_ref()),
                org_id: org.id,
                username: profile.username,
                email: profile.email,
                email_verified: false,
                claims: profile.claims,
                attributes: profile.attributes,
                status,
                created_at: now,
                updated_at: now,
                status_changed_at: now,
                last_login_at: None,
                version: 1,
            },
            external_id: input.external_id,
            resource: input.resource,
        };
        let audit = d.audit(
            who.actor(),
            ctx,
            "scim.user.create",
            target(&user.user),
            json!({ "username": user.user.username, "external_id": user.external_id }),
        );
        let rule_groups = rule_groups(d, &user.user).await?;
        d.store
            .create_scim_user_with_rules(&user, password.as_ref(), &rule_groups, &audit)
            .await
            .map_err(uniqueness)?;
        let groups = if rule_groups.is_empty() {
            Vec::new()
        } else {
            d.store.groups_of_user(user.user.id).await?
        };
        Ok(self.answer(&user, &groups))
    }

    pub async fn get_user(&self, who: &ScimPrincipal, id: &str) -> ScimResult<ScimAnswer> {
        let user = self.visible_user(who, id).await?;
        let groups = self.deps.store.groups_of_user(user.user.id).await?;
        Ok(self.answer(&user, &groups))
    }

    /// PUT (§3.5.1): the document replaces every attribute it can.
    pub async fn replace_user(
        &self,
        who: &ScimPrincipal,
        ctx: &RequestContext,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> ScimResult<ScimAnswer> {
        self.write_user(who, ctx, id, if_match, "scim.user.replace", |_| {
            Ok(user_doc::parse(body)?)
        })
        .await
    }

    /// PATCH (§3.5.2): the operations applied to the current document, all or nothing.
    pub async fn patch_user(
        &self,
        who: &ScimPrincipal,
        ctx: &RequestContext,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> ScimResult<ScimAnswer> {
        let request = PatchRequest::parse(body)?;
        self.write_user(who, ctx, id, if_match, "scim.user.patch", |current| {
            let mut doc = current.clone();
            apply_patch(&mut doc, &request.operations)?;
            Ok(user_doc::parse(&doc)?)
        })
        .await
    }

    /// Reads, checks `If-Match`, derives the new state with `change` (from
    /// the current rendered document) and stores it; a lost race without
    /// `If-Match` starts over.
    async fn write_user(
        &self,
        who: &ScimPrincipal,
        ctx: &RequestContext,
        id: &str,
        if_match: Option<&str>,
        action: &str,
        change: impl Fn(&Value) -> ScimResult<UserInput>,
    ) -> ScimResult<ScimAnswer> {
        for _ in 0..RETRIES {
            let current = self.visible_user(who, id).await?;
            let groups = self.deps.store.groups_of_user(current.user.id).await?;
            if !if_match_admits(if_match, &etag(current.user.version)) {
                return Err(Error::PreconditionFailed.into());
            }
            let doc = user_doc::render(&current, &groups, &self.base);
            let input = change(&doc)?;
            let org = self.org(who).await?;
            let (profile, password) = self.checked(&org, &input).await?;
            let d = &self.deps;
            let now = d.clock.now_millis();
            let mut next = current.user.clone();
            if !profile
                .email
                .as_deref()
                .zip(next.email.as_deref())
                .is_some_and(|(a, b)| a.eq_ignore_ascii_case(b))
            {
                next.email_verified = false;
            }
            next.username = profile.username;
            next.email = profile.email;
            next.claims = profile.claims;
            next.attributes = profile.attributes;
            next.updated_at = now;
            let status = lifecycle(current.user.status, withdrawn(&current, input.active));
            if status != current.user.status {
                next.status = status;
                next.status_changed_at = now;
            }
            let user = ScimUser {
                user: next,
                external_id: input.external_id,
                resource: input.resource,
            };
            let audit = d.audit(
                who.actor(),
                ctx,
                action,
                target(&current.user),
                json!({
                    "username": user.user.username,
                    "status": { "from": current.user.status.as_str(), "to": status.as_str() },
                    "password_set": password.is_some(),
                }),
            );
            let rule_groups = rule_groups(d, &user.user).await?;
            match d
                .store
                .replace_scim_user_with_rules(&user, password.as_ref(), &rule_groups, &audit)
                .await
            {
                Ok(stored) => {
                    let groups = d.store.groups_of_user(stored.user.id).await?;
                    return Ok(self.answer(&stored, &groups));
                }
                Err(StoreError::VersionConflict) if if_match.is_none() => continue,
                Err(StoreError::VersionConflict) => {
                    return Err(Error::PreconditionFailed.into());
                }
                Err(e) => return Err(uniqueness(e)),
            }
        }
        Err(ScimError::with_status(409, "the User is being changed concurrently; retry").into())
    }

    pub async fn delete_user(
        &self,
        who: &ScimPrincipal,
        ctx: &RequestContext,
        id: &str,
        if_match: Option<&str>,
    ) -> ScimResult<()> {
        let user = self.visible_user(who, id).await?;
        if !if_match_admits(if_match, &etag(user.user.version)) {
            return Err(Error::PreconditionFailed.into());
        }
        let d = &self.deps;
        let audit = d.audit(
            who.actor(),
            ctx,
            "scim.user.delete",
            target(&user.user),
            json!({ "username": user.user.username }),
        );
        if d.store.delete_user(user.user.id, &audit).await? {
            Ok(())
        } else {
            Err(not_found().into())
        }
    }

    /// GET `/Users` and `/Users/.search` (§3.4.2, §3.4.3).
    pub async fn list_users(&self, who: &ScimPrincipal, query: &ListQuery) -> ScimResult<ScimList> {
        let org = self.org(who).await?;
        let custom = self.custom_names(&org);
        let cond = match &query.filter {
            Some(f) => filter::translate(ResourceKind::User, f, &custom)?,
            None => ScimCond::True,
        };
        let sort = query
            .sort_by
            .as_ref()
            .and_then(|p| filter::sort_key(ResourceKind::User, p, &custom));
        let page = self
            .deps
            .store
            .list_scim_users(
                org.id,
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
            )
            .await?;
        let ids: Vec<UserId> = page.items.iter().map(|u| u.user.id).collect();
        let mut memberships = self.deps.store.groups_of_users(&ids).await?;
        Ok(ScimList {
            total: page.total,
            start_index: query.start_index,
            resources: page
                .items
                .iter()
                .map(|u| {
                    let groups: Vec<_> = memberships
                        .extract_if(.., |(member, _)| *member == u.user.id)
                        .map(|(_, group)| group)
                        .collect();
                    user_doc::render(u, &groups, &self.base)
                })
                .collect(),
        })
    }

    async fn visible_user(&self, who: &ScimPrincipal, id: &str) -> ScimResult<ScimUser> {
        let id: UserId = id.parse().map_err(|_| not_found())?;
        match self.deps.store.get_scim_user(id).await? {
            Some(user) if user.user.org_id == who.org() => Ok(user),
            _ => Err(not_found().into()),
        }
    }

    /// The profile rules of the admin API (username and e-mail shape, the
    /// org's custom-attribute schema, its password policy).
    async fn checked(
        &self,
        org: &Organization,
        input: &UserInput,
    ) -> ScimResult<(UserProfile, Option<StoredPassword>)> {
        let mut flat = match serde_json::to_value(&input.claims) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        flat.insert("username".into(), input.username.clone().into());
        flat.insert(
            "email".into(),
            input.email.clone().map_or(Value::Null, Value::String),
        );
        flat.insert("attributes".into(), Value::Object(input.attributes.clone()));
        let profile = UserProfile::from_json(flat)?;
        check_attributes(org.profile_schema.as_ref(), &profile.attributes)?;
        let password = match &input.password {
            Some(secret) => Some(self.users.hash_checked(org, &profile, secret, &[]).await?),
            None => None,
        };
        Ok((profile, password))
    }

    fn answer(&self, user: &ScimUser, groups: &[crate::model::Group]) -> ScimAnswer {
        ScimAnswer {
            resource: user_doc::render(user, groups, &self.base),
            etag: etag(user.user.version),
            location: format!("{}/Users/{}", self.base, user.user.id),
        }
    }
}

/// `active` as the write gives it, except that a client which staged or
/// deactivated the user (it sent `active: false`) and now leaves `active` out (a PATCH
/// `remove`, or a PUT without it) withdraws its own deactivation: the
/// attribute is unassigned (RFC 7644 §3.5.2.2), and a user without it is
/// active, as at creation. It never undoes a state the client did not set (an
/// admin's suspension, or a deprovisioning through the admin API).
fn withdrawn(current: &ScimUser, active: Option<bool>) -> Option<bool> {
    match active {
        None if matches!(
            current.user.status,
            UserStatus::Staged | UserStatus::Deprovisioned
        ) && current.resource.get("active") == Some(&Value::Bool(false)) =>
        {
            Some(true)
        }
        given => given,
    }
}

/// RFC 7643 §4.1.1 `active` onto our lifecycle: `false` deprovisions (Okta's
/// and Entra ID's way to deactivate), `true` activates a staged, suspended
/// or deprovisioned user; absent changes nothing.
fn lifecycle(current: UserStatus, active: Option<bool>) -> UserStatus {
    match (active, current) {
        (None, s) => s,
        (Some(true), UserStatus::Staged | UserStatus::Suspended | UserStatus::Deprovisioned) => {
            UserStatus::Active
        }
        (Some(true), s @ (UserStatus::Active | UserStatus::LockedOut)) => s,
        (Some(false), UserStatus::Active | UserStatus::LockedOut | UserStatus::Suspended) => {
            UserStatus::Deprovisioned
        }
        (Some(false), s @ (UserStatus::Staged | UserStatus::Deprovisioned)) => s,
    }
}
