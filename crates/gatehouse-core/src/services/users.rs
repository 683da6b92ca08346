//! User administration: create (with a password or an imported hash), read,
//! list, merge-patch update, lifecycle transitions, password changes, delete.

use serde_json::{Map, Value};

use crate::error::{Error, FieldError, Result, StoreError};
use crate::ids::{GroupId, OrgId, UserId};
use crate::model::{Group, LifecycleAction, Organization, Page, User, UserQuery, UserStatus};
use crate::password::{PolicyContext, StoredPassword};
use crate::secret::Secret;
use crate::services::Deps;
use crate::services::audit::Target;
use crate::services::group_rules::rule_groups;
use crate::services::principal::{AdminPrincipal, RequestContext};
use crate::services::profile::{UserProfile, check_attributes, merge_patch};

/// A create-user request.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub org_id: Option<OrgId>,
    pub profile: UserProfile,
    /// A clear-text password, checked against the org's policy and hashed with argon2id.
    pub password: Option<Secret>,
    /// An existing hash being migrated in (bcrypt, scrypt, PBKDF2, SHA-crypt, SSHA, argon2).
    pub password_hash: Option<Secret>,
    /// Defaults to `active`; `staged` users cannot sign in until activated.
    pub status: Option<UserStatus>,
}

/// How many times an update without `If-Match` re-reads and retries after losing a race.
const UPDATE_RETRIES: usize = 8;

#[derive(Debug, Clone)]
pub struct Users {
    deps: Deps,
}

impl Users {
    pub(crate) fn new(deps: Deps) -> Self {
        Self { deps }
    }

    pub async fn create(
        &self,
        who: &AdminPrincipal,
        ctx: &RequestContext,
        new: NewUser,
    ) -> Result<User> {
        let org = self.target_org(who, new.org_id).await?;
        check_attributes(org.profile_schema.as_ref(), &new.profile.attributes)?;
        let status = match new.status {
            None => UserStatus::Active,
            Some(s @ (UserStatus::Active | UserStatus::Staged)) => s,
            Some(_) => {
                return Err(Error::invalid(
                    "status",
                    "invalid_value",
                    "must be active or staged",
                ));
            }
        };
        let stored = match (new.password, new.password_hash) {
            (Some(_), Some(_)) => {
                return Err(Error::invalid(
                    "password_hash",
                    "conflict",
                    "give either password or password_hash, not both",
                ));
            }
            (Some(password), None) => Some(
                self.hash_checked(&org, &new.profile, &password, &[])
                    .await?,
            ),
            (None, Some(hash)) => Some(StoredPassword::import(hash.expose()).map_err(|_| {
                Error::invalid(
                    "password_hash",
                    "unsupported_hash",
                    "unrecognised hash format",
                )
            })?),
            (None, None) => None,
        };
        let d = &self.deps;
        let now = d.clock.now_millis();
        let user = User {
            id: UserId::generate(d.clock.as_ref(), d.rng.as_ref()),
            org_id: org.id,
            username: new.profile.username,
            email: new.profile.email,
            email_verified: new.profile.email_verified,
            claims: new.profile.claims,
            attributes: new.profile.attributes,
            status,
            created_at: now,
            updated_at: now,
            status_changed_at: now,
            last_login_at: None,
            version: 1,
        };
        let details = serde_json::json!({ "username": user.username, "password_scheme": stored.as_ref().map(|s| s.scheme().as_str()) });
        let audit = d.audit(who.actor(), ctx, "user.create", user_target(&user), details);
        let groups = rule_groups(d, &user).await?;
        d.store
            .create_user_with_rules(&user, stored.as_ref(), &groups, &audit)
            .await
            .map_err(|e| Error::duplicate("user", e))?;
        Ok(user)
    }

    pub async fn get(&self, who: &AdminPrincipal, id: UserId) -> Result<User> {
        match self.deps.store.get_user(id).await? {
            Some(user) if who.can_access(user.org_id) => Ok(user),
            _ => Err(Error::NotFound("user")),
        }
    }

    pub async fn list(&self, who: &AdminPrincipal, mut query: UserQuery) -> Result<Page<User>> {
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
        if let Some(group) = query.group_id {
            self.visible_group(who, group).await?;
        }
        Ok(self.deps.store.list_users(&query).await?)
    }

    /// Applies an RFC 7396 merge patch to the user's profile. With `if_match`, fails with
    /// `PreconditionFailed` unless that is the current version; without, retries on a lost
    /// race so that concurrent patches of different fields all land.
    pub async fn update(
        &self,
        who: &AdminPrincipal,
        ctx: &RequestContext,
        id: UserId,
        patch: &Value,
        if_match: Option<i64>,
    ) -> Result<User> {
        if !patch.is_object() {
            return Err(Error::invalid(
                "",
                "invalid_type",
                "a merge patch must be a JSON object",
            ));
        }
        for _ in 0..UPDATE_RETRIES {
            let current = self.get(who, id).await?;
            if if_match.is_some_and(|v| v != current.version) {
                return Err(Error::PreconditionFailed);
            }
            let mut doc = Value::Object(UserProfile::of(&current).to_json());
            merge_patch(&mut doc, patch);
            let profile = match doc {
                Value::Object(map) => UserProfile::from_json(map)?,
                _ => return Err(Error::invalid("", "invalid_type", "must be an object")),
            };
            let org = self.org_of(&current).await?;
            check_attributes(org.profile_schema.as_ref(), &profile.attributes)?;
            let d = &self.deps;
            let mut next = current.clone();
            next.username = profile.username;
            next.email = profile.email;
            next.email_verified = profile.email_verified;
            next.claims = profile.claims;
            next.attributes = profile.attributes;
            next.updated_at = d.clock.now_millis();
            let changed: Vec<&String> = patch
                .as_object()
                .map(|m| m.keys().collect())
                .unwrap_or_default();
            let audit = d.audit(
                who.actor(),
                ctx,
                "user.update",
                user_target(&current),
                serde_json::json!({ "fields": changed }),
            );
            let groups = rule_groups(d, &next).await?;
            match d.store.update_user_with_rules(&next, &groups, &audit).await {
                Ok(stored) => return Ok(stored),
                Err(StoreError::VersionConflict) if if_match.is_none() => continue,
                Err(e) => return Err(Error::duplicate("user", e)),
            }
        }
        Err(Error::Conflict(
            "the user is being changed concurrently; retry".into(),
        ))
    }

    /// Moves the user through the lifecycle; a transition not allowed from the current state is a conflict.
    pub async fn transition(
        &self,
        who: &AdminPrincipal,
        ctx: &RequestContext,
        id: UserId,
        action: LifecycleAction,
    ) -> Result<User> {
        for _ in 0..UPDATE_RETRIES {
            let current = self.get(who, id).await?;
            let Some(status) = action.apply(current.status) else {
                return Err(Error::Conflict(format!(
                    "cannot {} a user who is {}",
                    action.as_str(),
                    current.status.as_str()
                )));
            };
            let d = &self.deps;
            let mut next = current.clone();
            next.status = status;
            next.updated_at = d.clock.now_millis();
            next.status_changed_at = next.updated_at;
            let audit = d.audit(
                who.actor(),
                ctx,
                &format!("user.{}", action.as_str()),
                user_target(&current),
                serde_json::json!({ "from": current.status.as_str(), "to": status.as_str() }),
            );
            let groups = rule_groups(d, &next).await?;
            match d.store.update_user_with_rules(&next, &groups, &audit).await {
                Ok(stored) => return Ok(stored),
                Err(StoreError::VersionConflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Conflict(
            "the user is being changed concurrently; retry".into(),
        ))
    }

    pub async fn delete(
        &self,
        who: &AdminPrincipal,
        ctx: &RequestContext,
        id: UserId,
    ) -> Result<()> {
        let user = self.get(who, id).await?;
        let d = &self.deps;
        let audit = d.audit(
            who.actor(),
            ctx,
            "user.delete",
            user_target(&user),
            serde_json::json!({ "username": user.username }),
        );
        if d.store.delete_user(id, &audit).await? {
            Ok(())
        } else {
            Err(Error::NotFound("user"))
        }
    }

    /// Sets a new password chosen by an administrator, enforcing the org's policy and history.
    pub async fn set_password(
        &self,
        who: &AdminPrincipal,
        ctx: &RequestContext,
        id: UserId,
        password: &Secret,
    ) -> Result<()> {
        let user = self.get(who, id).await?;
        let org = self.org_of(&user).await?;
        let d = &self.deps;
        let history_len = org.password_policy.history;
        let mut previous = d.store.password_history(id, history_len).await?;
        if history_len > 0 {
            if let Some(current) = d.store.get_password(id).await? {
                previous.insert(0, current);
            }
            previous.truncate(history_len as usize);
        }
        let stored = self
            .hash_checked(&org, &UserProfile::of(&user), password, &previous)
            .await?;
        let audit = d.audit(
            who.actor(),
            ctx,
            "user.password.set",
            user_target(&user),
            Value::Object(Map::new()),
        );
        d.store
            .set_password(id, &stored, history_len, d.clock.now_millis(), Some(&audit))
            .await?;
        Ok(())
    }

    /// The groups a user belongs to.
    pub async fn groups(&self, who: &AdminPrincipal, id: UserId) -> Result<Vec<Group>> {
        self.get(who, id).await?;
        Ok(self.deps.store.groups_of_user(id).await?)
    }

    /// Policy check, history check and argon2id hash of a new password.
    pub(crate) async fn hash_checked(
        &self,
        org: &Organization,
        profile: &UserProfile,
        password: &Secret,
        previous: &[StoredPassword],
    ) -> Result<StoredPassword> {
        let context = PolicyContext {
            username: Some(&profile.username),
            email: profile.email.as_deref(),
        };
        if let Err(violations) = org.password_policy.check(password, &context) {
            return Err(Error::Invalid(
                violations
                    .violations()
                    .iter()
                    .map(|v| FieldError::new("password", v.code(), v.message()))
                    .collect(),
            ));
        }
        let hasher = &self.deps.hasher;
        if !previous.is_empty()
            && org
                .password_policy
                .reused(hasher, password, previous)
                .await
                .map_err(internal)?
        {
            return Err(Error::invalid(
                "password",
                "reused",
                "must differ from recently used passwords",
            ));
        }
        hasher.hash(password).await.map_err(|e| match e {
            crate::password::PasswordError::Busy => Error::Unavailable,
            other => internal(other),
        })
    }

    async fn target_org(
        &self,
        who: &AdminPrincipal,
        requested: Option<OrgId>,
    ) -> Result<Organization> {
        let id = who.target_org(requested).ok_or(Error::NotFound("org"))?;
        self.deps
            .store
            .get_org(id)
            .await?
            .ok_or(Error::NotFound("org"))
    }

    async fn org_of(&self, user: &User) -> Result<Organization> {
        self.deps
            .store
            .get_org(user.org_id)
            .await?
            .ok_or(Error::NotFound("org"))
    }

    async fn visible_group(&self, who: &AdminPrincipal, id: GroupId) -> Result<Group> {
        match self.deps.store.get_group(id).await? {
            Some(g) if who.can_access(g.org_id) => Ok(g),
            _ => Err(Error::NotFound("group")),
        }
    }
}

fn user_target(user: &User) -> Target {
    Target::new("user", user.id, Some(user.org_id))
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Internal(e.to_string())
}
