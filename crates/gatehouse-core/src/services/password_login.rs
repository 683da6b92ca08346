//! Password verification for sign-in.
//!
//! The answer and the work are the same whether or not the account exists: an
//! unknown login, a user without a password, a wrong password and a user who may
//! not sign in all cost one full argon2id verification and all fail with
//! `Error::AuthFailed`. A correct password stored under an imported or outdated
//! scheme is upgraded to argon2id at the current parameters, unless the password
//! changed in the meantime.

use crate::error::{Error, Result};
use crate::ids::OrgId;
use crate::model::{Outcome, User, UserStatus};
use crate::password::Verification;
use crate::secret::Secret;
use crate::services::Deps;
use crate::services::audit::Target;
use crate::services::principal::RequestContext;

#[derive(Debug, Clone)]
pub struct PasswordLogin {
    deps: Deps,
}

/// Why a verification failed; recorded in the audit event, never told to the caller.
#[derive(Debug, Clone, Copy)]
enum Refusal {
    UnknownLogin,
    NoPassword,
    WrongPassword,
    NotActive(UserStatus),
}

impl PasswordLogin {
    pub(crate) fn new(deps: Deps) -> Self {
        Self { deps }
    }

    /// Checks `password` for the user of `org` whose username (or, failing that,
    /// e-mail) is `login`, case-insensitively. Only active users pass.
    pub async fn verify(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        login: &str,
        password: &Secret,
    ) -> Result<User> {
        let d = &self.deps;
        let user = match d.store.find_user_by_username(org, login).await? {
            Some(user) => Some(user),
            None if login.contains('@') => d.store.find_user_by_email(org, login).await?,
            None => None,
        };
        let Some(user) = user else {
            d.hasher.dummy_verify(password).await;
            return self.refuse(ctx, org, None, Refusal::UnknownLogin).await;
        };
        let Some(stored) = d.store.get_password(user.id).await? else {
            d.hasher.dummy_verify(password).await;
            return self
                .refuse(ctx, org, Some(&user), Refusal::NoPassword)
                .await;
        };
        let rehash = match d.hasher.verify(password, &stored).await {
            Ok(Verification::Match { rehash }) => rehash,
            Ok(Verification::Mismatch) => {
                return self
                    .refuse(ctx, org, Some(&user), Refusal::WrongPassword)
                    .await;
            }
            // A stored hash we cannot parse is a data problem, not the user's: log, refuse.
            Err(e) => {
                tracing::error!(user = %user.id, error = %e, "stored password hash cannot be verified");
                return self
                    .refuse(ctx, org, Some(&user), Refusal::WrongPassword)
                    .await;
            }
        };
        if user.status != UserStatus::Active {
            return self
                .refuse(ctx, org, Some(&user), Refusal::NotActive(user.status))
                .await;
        }
        if let Some(upgraded) = rehash {
            let from = stored.scheme().as_str();
            if d.store
                .rehash_password(user.id, &stored, &upgraded, d.clock.now_millis())
                .await?
            {
                tracing::info!(user = %user.id, from, "password hash upgraded to argon2id");
            }
        }
        let audit = d.audit(
            &format!("user:{}", user.id),
            ctx,
            "user.password.verify",
            Target::new("user", user.id, Some(org)),
            serde_json::json!({}),
        );
        d.store.append_audit(&audit).await?;
        Ok(user)
    }

    async fn refuse(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        user: Option<&User>,
        why: Refusal,
    ) -> Result<User> {
        let d = &self.deps;
        let reason = match why {
            Refusal::UnknownLogin => "unknown_login".to_owned(),
            Refusal::NoPassword => "no_password".to_owned(),
            Refusal::WrongPassword => "wrong_password".to_owned(),
            Refusal::NotActive(status) => format!("status_{}", status.as_str()),
        };
        let (actor, target) = match user {
            Some(u) => (
                format!("user:{}", u.id),
                Target::new("user", u.id, Some(org)),
            ),
            None => ("anonymous".to_owned(), Target::new("org", org, Some(org))),
        };
        let mut audit = d.audit(
            &actor,
            ctx,
            "user.password.verify",
            target,
            serde_json::json!({ "reason": reason }),
        );
        audit.outcome = Outcome::Failure;
        d.store.append_audit(&audit).await?;
        Err(Error::AuthFailed)
    }
}
