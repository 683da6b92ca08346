//! Password verification for sign-in.
//!
//! The answer and the work are the same whether or not the account exists: an
//! unknown login, a user without a password, a wrong password and a user who may
//! not sign in all cost one full argon2id verification and all fail with
//! `Error::AuthFailed`. A correct password stored under an imported or outdated
//! scheme is upgraded to argon2id at the current parameters, unless the password
//! changed in the meantime.
//!
//! Every attempt first passes [`Throttle`] (brute-force protection): a blocked
//! attempt is answered [`SignIn::Throttled`] without the password being looked
//! at, and every failure is counted with its audit event.

use crate::error::{Error, Result};
use crate::ids::OrgId;
use crate::model::{Outcome, Proof, Subject, User, UserStatus};
use crate::password::{PasswordError, Verification};
use crate::secret::Secret;
use crate::services::Deps;
use crate::services::audit::Target;
use crate::services::principal::RequestContext;
use crate::services::throttle::{Admission, Attempt, Throttle};

#[derive(Debug, Clone)]
pub struct PasswordLogin {
    deps: Deps,
    throttle: Throttle,
}

/// What a sign-in attempt came to (a wrong password is `Err(Error::AuthFailed)`).
#[derive(Debug)]
pub enum SignIn {
    /// The password is right and the user active. `known_device`: the
    /// browser's device cookie marks it as known for the user. A browser
    /// becomes known only when the whole sign-in completes
    /// ([`crate::services::Throttle::complete_sign_in`]), not here.
    Verified { user: Box<User>, known_device: bool },
    /// Refused without checking the password: too many recent failures. The
    /// same for every login, whether or not it names an account.
    Throttled { retry_after_secs: u64 },
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
    pub(crate) fn new(deps: Deps, throttle: Throttle) -> Self {
        Self { deps, throttle }
    }

    /// Checks `password` for the user of `org` whose username (or, failing that,
    /// e-mail) is `login`, case-insensitively. Only active users pass; a
    /// throttled attempt fails like a wrong password. Browsers use [`Self::sign_in`].
    pub async fn verify(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        login: &str,
        password: &Secret,
    ) -> Result<User> {
        match self.sign_in(ctx, org, login, password, None).await? {
            SignIn::Verified { user, .. } => Ok(*user),
            SignIn::Throttled { .. } => Err(Error::AuthFailed),
        }
    }

    /// A browser's sign-in: [`Self::verify`] behind the brute-force throttle.
    /// `device` is the browser's device cookie, if it sent one. When too many
    /// sign-ins wait for the password hasher, `Error::Unavailable`.
    pub async fn sign_in(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        login: &str,
        password: &Secret,
        device: Option<&Secret>,
    ) -> Result<SignIn> {
        let d = &self.deps;
        let user = match d.store.find_user_by_username(org, login).await? {
            Some(user) => Some(user),
            None if login.contains('@') => d.store.find_user_by_email(org, login).await?,
            None => None,
        };
        let subject = Subject::login(org, login);
        let attempt = self
            .throttle
            .attempt(
                ctx,
                Proof::Password,
                &subject,
                org,
                user.as_ref().map(|u| u.id),
                device,
            )
            .await?;
        if let Admission::Throttled { retry_after_secs } =
            self.throttle.check(ctx, &attempt).await?
        {
            return Ok(SignIn::Throttled { retry_after_secs });
        }
        let Some(user) = user else {
            dummy_verify(d, password).await?;
            return self
                .refuse(ctx, &attempt, org, None, Refusal::UnknownLogin)
                .await;
        };
        let Some(stored) = d.store.get_password(user.id).await? else {
            dummy_verify(d, password).await?;
            return self
                .refuse(ctx, &attempt, org, Some(&user), Refusal::NoPassword)
                .await;
        };
        let rehash = match d.hasher.verify(password, &stored).await {
            Ok(Verification::Match { rehash }) => rehash,
            Ok(Verification::Mismatch) => {
                return self
                    .refuse(ctx, &attempt, org, Some(&user), Refusal::WrongPassword)
                    .await;
            }
            Err(PasswordError::Busy) => return Err(Error::Unavailable),
            // A stored hash we cannot parse is a data problem, not the user's: log, refuse.
            Err(e) => {
                tracing::error!(user = %user.id, error = %e, "stored password hash cannot be verified");
                return self
                    .refuse(ctx, &attempt, org, Some(&user), Refusal::WrongPassword)
                    .await;
            }
        };
        if user.status != UserStatus::Active {
            return self
                .refuse(
                    ctx,
                    &attempt,
                    org,
                    Some(&user),
                    Refusal::NotActive(user.status),
                )
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
        let known_device = self.throttle.succeeded(&attempt, user.id, &audit).await?;
        Ok(SignIn::Verified {
            user: Box::new(user),
            known_device,
        })
    }

    async fn refuse(
        &self,
        ctx: &RequestContext,
        attempt: &Attempt,
        org: OrgId,
        user: Option<&User>,
        why: Refusal,
    ) -> Result<SignIn> {
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
        self.throttle.failed(ctx, attempt, &audit).await?;
        Err(Error::AuthFailed)
    }
}

/// The full cost of a verification for a login that has no password to check;
/// a full hasher queue is refused like any other sign-in.
async fn dummy_verify(d: &Deps, password: &Secret) -> Result<()> {
    match d.hasher.dummy_verify(password).await {
        Err(PasswordError::Busy) => Err(Error::Unavailable),
        _ => Ok(()),
    }
}
