//! The one-time setup link: on the first start of an empty database without a
//! bootstrap token, a link lets the first administrator create their account
//! and receive an instance API token.

use crate::error::{Error, Result};
use crate::ids::OrgId;
use crate::model::{ApiToken, User};
use crate::secret::{Secret, TokenHash};
use crate::services::Deps;
use crate::services::api_tokens::{ApiTokens, NewApiToken};
use crate::services::groups::{Groups, NewGroup};
use crate::services::principal::{AdminPrincipal, RequestContext};
use crate::services::profile::UserProfile;
use crate::services::users::{NewUser, Users};

const SETUP_KEY: &str = "setup_token_hash";
/// The group the first administrator is put in.
pub const ADMINISTRATORS_GROUP: &str = "administrators";

/// What completing setup produced.
#[derive(Debug)]
pub struct SetupResult {
    pub user: User,
    pub token: ApiToken,
    pub secret: Secret,
}

#[derive(Debug, Clone)]
pub struct Setup {
    deps: Deps,
    bootstrap_configured: bool,
}

impl Setup {
    pub(crate) fn new(deps: Deps, bootstrap_configured: bool) -> Self {
        Self {
            deps,
            bootstrap_configured,
        }
    }

    /// A fresh one-time setup token when the database is empty and no bootstrap token is
    /// configured; any earlier unused link stops working.
    pub async fn first_start_link(&self) -> Result<Option<Secret>> {
        let store = &self.deps.store;
        if self.bootstrap_configured || !store.is_empty().await? {
            return Ok(None);
        }
        if let Some(old) = store.get_meta(SETUP_KEY).await? {
            store.take_meta(SETUP_KEY, &old).await?;
        }
        let token = Secret::new(self.deps.rng.token(32));
        if !store
            .put_meta_if_absent(SETUP_KEY, TokenHash::of(token.expose()).as_str())
            .await?
        {
            // Another node started at the same moment and printed its own link.
            return Ok(None);
        }
        Ok(Some(token))
    }

    /// Whether `token` is the current setup token (for showing the form).
    pub async fn is_valid(&self, token: &str) -> Result<bool> {
        let stored = self.deps.store.get_meta(SETUP_KEY).await?;
        Ok(stored.is_some_and(|s| TokenHash::from_stored(s).matches(&TokenHash::of(token))))
    }

    /// Consumes the setup token (once, atomically) and creates the first administrator
    /// with an instance API token. A second use fails with `AuthFailed`.
    pub async fn complete(
        &self,
        ctx: &RequestContext,
        token: &str,
        profile: UserProfile,
        password: Secret,
    ) -> Result<SetupResult> {
        let hash = TokenHash::of(token);
        if !self.is_valid(token).await?
            || !self.deps.store.take_meta(SETUP_KEY, hash.as_str()).await?
        {
            return Err(Error::AuthFailed);
        }
        let who = AdminPrincipal::setup();
        let users = Users::new(self.deps.clone());
        let user = users
            .create(
                &who,
                ctx,
                NewUser {
                    org_id: Some(OrgId::DEFAULT),
                    profile,
                    password: Some(password),
                    ..NewUser::default()
                },
            )
            .await;
        let user = match user {
            Ok(user) => user,
            Err(e) => {
                // Give the link back so the administrator can correct the form and retry.
                self.deps
                    .store
                    .put_meta_if_absent(SETUP_KEY, hash.as_str())
                    .await?;
                return Err(e);
            }
        };
        let groups = Groups::new(self.deps.clone());
        let admins = groups
            .create(
                &who,
                ctx,
                NewGroup {
                    org_id: Some(OrgId::DEFAULT),
                    name: ADMINISTRATORS_GROUP.into(),
                    description: Some("Instance administrators".into()),
                },
            )
            .await?;
        groups.add_member(&who, ctx, admins.id, user.id).await?;
        let (token, secret) = ApiTokens::new(self.deps.clone())
            .create(
                &who,
                ctx,
                NewApiToken {
                    name: format!("setup ({})", user.username),
                    org_id: None,
                    expires_in: None,
                    kind: Default::default(),
                },
            )
            .await?;
        Ok(SetupResult {
            user,
            token,
            secret,
        })
    }
}
