//! A signed-in user's own factors (the `/account/security` page): list
//! them, add an authenticator app (TOTP), a passkey / security key, a
//! knowledge question (set or replaced) or a phone (a code sent to it must
//! come back), and remove one. Removing asks for the password again unless the session
//! signed in within [`REAUTH_SECS`]. Every change is audited with the user
//! as actor.

use serde_json::json;

use crate::error::{Error, Result};
use crate::ids::FactorId;
use crate::model::{
    Factor, FactorKind, FactorStatus, PhoneChannel, SsoSession, User, UserStatus,
    WebauthnCredential,
};
use crate::secret::Secret;
use crate::services::Deps;
use crate::services::PasswordLogin;
use crate::services::audit::Target;
use crate::services::factors::phone::SmsPurpose;
use crate::services::factors::{CodeCheck, EnrolledTotp, Factors, PhoneEnrolment};
use crate::services::passkeys::{CeremonyOptions, KeyKind, Passkeys, RegistrationAnswer};
use crate::services::principal::RequestContext;

/// A sign-in this recent may remove a factor without the password.
pub const REAUTH_SECS: i64 = 5 * 60;

#[derive(Debug, Clone)]
pub struct Account {
    deps: Deps,
    factors: Factors,
    passkeys: Passkeys,
    password_login: PasswordLogin,
}

/// What the security page shows.
#[derive(Debug, Clone)]
pub struct SecurityOverview {
    pub user: User,
    pub factors: Vec<Factor>,
    /// The credentials behind the `webauthn` factors.
    pub credentials: Vec<WebauthnCredential>,
    pub recovery_codes_left: u32,
    /// Removing a factor needs the password (the sign-in is not recent).
    pub needs_password: bool,
    /// Passkeys can be added on this deployment.
    pub passkeys_available: bool,
    /// Phones can be added (an SMS webhook is configured).
    pub phone_available: bool,
}

impl Account {
    pub(crate) fn new(
        deps: Deps,
        factors: Factors,
        passkeys: Passkeys,
        password_login: PasswordLogin,
    ) -> Self {
        Self {
            deps,
            factors,
            passkeys,
            password_login,
        }
    }

    /// The session's user and factors.
    pub async fn overview(&self, session: &SsoSession) -> Result<SecurityOverview> {
        let user = self.user(session).await?;
        let d = &self.deps;
        Ok(SecurityOverview {
            factors: d.store.list_factors(user.id).await?,
            credentials: d.store.list_webauthn_credentials(user.id).await?,
            recovery_codes_left: d.store.unused_recovery_codes(user.id).await?,
            needs_password: !self.recent(session),
            passkeys_available: self.passkeys.available(),
            phone_available: self.factors.phone_available(),
            user,
        })
    }

    /// Options for registering a passkey or a security key, bound to this
    /// session.
    pub async fn begin_passkey(
        &self,
        session: &SsoSession,
        kind: KeyKind,
    ) -> Result<CeremonyOptions> {
        let user = self.user(session).await?;
        self.passkeys
            .begin_registration(&user, &binding(session), kind)
            .await
    }

    /// Registers the passkey the browser created for the ceremony of
    /// [`Self::begin_passkey`], under `name`.
    pub async fn finish_passkey(
        &self,
        ctx: &RequestContext,
        session: &SsoSession,
        ceremony: &str,
        response: &str,
        name: &str,
    ) -> Result<Factor> {
        let user = self.user(session).await?;
        self.passkeys
            .finish_registration(
                &actor(&user),
                ctx,
                &user,
                &binding(session),
                &RegistrationAnswer {
                    ceremony,
                    response,
                    name,
                },
            )
            .await
            .map(|registered| registered.factor)
    }

    /// A new pending TOTP factor, its secret shown this once.
    pub async fn enrol_totp(
        &self,
        ctx: &RequestContext,
        session: &SsoSession,
    ) -> Result<EnrolledTotp> {
        let user = self.user(session).await?;
        self.factors.enrol_totp(&actor(&user), ctx, &user).await
    }

    /// The secret of a pending TOTP factor of the user, to show it again.
    pub async fn pending_totp(&self, session: &SsoSession, id: FactorId) -> Result<EnrolledTotp> {
        let user = self.user(session).await?;
        let factor = self.own_factor(&user, id).await?;
        if factor.kind != FactorKind::Totp || factor.status != FactorStatus::Pending {
            return Err(Error::NotFound("factor"));
        }
        self.factors.pending_secret(&factor, &user)
    }

    /// Activates a pending TOTP factor with its first code. Returns ten new
    /// recovery codes (to show once) when the user had none left.
    pub async fn activate_totp(
        &self,
        ctx: &RequestContext,
        session: &SsoSession,
        id: FactorId,
        code: &str,
    ) -> Result<Vec<Secret>> {
        let user = self.user(session).await?;
        let factor = self.own_factor(&user, id).await?;
        if factor.kind != FactorKind::Totp || factor.status != FactorStatus::Pending {
            return Err(Error::NotFound("factor"));
        }
        match self
            .factors
            .check_totp(&actor(&user), ctx, &factor, code.trim())
            .await?
        {
            CodeCheck::Accepted => {}
            CodeCheck::Refused => return Err(Error::AuthFailed),
        }
        if self.deps.store.unused_recovery_codes(user.id).await? == 0 {
            return self
                .factors
                .new_recovery_codes(&actor(&user), ctx, &user)
                .await;
        }
        Ok(Vec::new())
    }

    /// Sets the user's knowledge question and answer, replacing any earlier
    /// one. `Invalid` for an unknown question or a too short answer.
    pub async fn set_question(
        &self,
        ctx: &RequestContext,
        session: &SsoSession,
        question: &str,
        answer: &Secret,
    ) -> Result<Factor> {
        let user = self.user(session).await?;
        self.factors
            .enrol_question(&actor(&user), ctx, &user, question, answer)
            .await
    }

    /// A new pending phone factor; a code goes to it at once (`sent` says
    /// whether the provider took it).
    pub async fn enrol_phone(
        &self,
        ctx: &RequestContext,
        session: &SsoSession,
        number: &str,
        channel: PhoneChannel,
    ) -> Result<PhoneEnrolment> {
        let user = self.user(session).await?;
        self.factors
            .enrol_phone(&actor(&user), ctx, &user, number, channel)
            .await
    }

    /// A pending phone factor of the user (to show its verification form).
    pub async fn pending_phone(&self, session: &SsoSession, id: FactorId) -> Result<Factor> {
        let user = self.user(session).await?;
        let factor = self.own_factor(&user, id).await?;
        if factor.kind != FactorKind::Phone || factor.status != FactorStatus::Pending {
            return Err(Error::NotFound("factor"));
        }
        Ok(factor)
    }

    /// Sends a new code to a pending phone factor. `Conflict` within 30
    /// seconds of the last one; `Unavailable` when the provider failed.
    pub async fn resend_phone(
        &self,
        ctx: &RequestContext,
        session: &SsoSession,
        id: FactorId,
    ) -> Result<()> {
        let factor = self.pending_phone(session, id).await?;
        let user = self.user(session).await?;
        self.factors
            .send_phone_code(&actor(&user), ctx, &factor, SmsPurpose::Enrol)
            .await
    }

    /// Activates a pending phone factor with the code sent to it. Returns
    /// ten new recovery codes (to show once) when the user had none left.
    /// `AuthFailed` for a wrong, expired or used code.
    pub async fn activate_phone(
        &self,
        ctx: &RequestContext,
        session: &SsoSession,
        id: FactorId,
        code: &str,
    ) -> Result<Vec<Secret>> {
        let factor = self.pending_phone(session, id).await?;
        let user = self.user(session).await?;
        match self
            .factors
            .use_phone_code(&actor(&user), ctx, &factor, code)
            .await?
        {
            CodeCheck::Accepted => {}
            CodeCheck::Refused => {
                self.factors
                    .phone_code_refused(&actor(&user), ctx, &factor)
                    .await?;
                return Err(Error::AuthFailed);
            }
        }
        if self.deps.store.unused_recovery_codes(user.id).await? == 0 {
            return self
                .factors
                .new_recovery_codes(&actor(&user), ctx, &user)
                .await;
        }
        Ok(Vec::new())
    }

    /// Removes one of the user's factors. Without a recent sign-in the
    /// password must be given and right (`AuthFailed` otherwise; the
    /// attempt counts on the password throttle like a sign-in).
    pub async fn remove_factor(
        &self,
        ctx: &RequestContext,
        session: &SsoSession,
        id: FactorId,
        password: &Secret,
    ) -> Result<()> {
        let user = self.user(session).await?;
        let factor = self.own_factor(&user, id).await?;
        if !self.recent(session) {
            if password.is_empty() {
                return Err(Error::AuthFailed);
            }
            let verified = self
                .password_login
                .verify(ctx, user.org_id, &user.username, password)
                .await?;
            if verified.id != user.id {
                return Err(Error::AuthFailed);
            }
        }
        let audit = self.deps.audit(
            &actor(&user),
            ctx,
            "factor.deleted",
            Target::new("factor", factor.id, Some(factor.org_id)),
            json!({ "user_id": user.id, "type": factor.kind.as_str(), "self_service": true }),
        );
        if !self.deps.store.delete_factor(id, &audit).await? {
            return Err(Error::NotFound("factor"));
        }
        Ok(())
    }

    fn recent(&self, session: &SsoSession) -> bool {
        self.deps.clock.now_millis() - session.auth_time <= REAUTH_SECS * 1000
    }

    async fn user(&self, session: &SsoSession) -> Result<User> {
        self.deps
            .store
            .get_user(session.user_id)
            .await?
            .filter(|u| u.status == UserStatus::Active)
            .ok_or(Error::Forbidden)
    }

    async fn own_factor(&self, user: &User, id: FactorId) -> Result<Factor> {
        self.deps
            .store
            .get_factor(id)
            .await?
            .filter(|f| f.user_id == user.id)
            .ok_or(Error::NotFound("factor"))
    }
}

fn actor(user: &User) -> String {
    format!("user:{}", user.id)
}

fn binding(session: &SsoSession) -> String {
    format!("session:{}", session.id)
}
