//! Second factors: enrolment, activation, listing, removal and the admin
//! reset of a user's factors, plus the checks the sign-in uses.
//!
//! A TOTP factor is enrolled `pending` with a fresh secret sealed under the
//! master key; the first correct code makes it `active`. Every accepted code
//! advances the factor's last time step in one compare-and-set, so a code is
//! accepted once, however many requests present it at the same moment.

pub mod recovery;
pub mod totp;

use serde_json::json;

use crate::crypto::MasterKey;
use crate::error::{Error, Result};
use crate::ids::{FactorId, UserId};
use crate::model::{Factor, FactorKind, FactorStatus, Outcome, User};
use crate::secret::Secret;
use crate::services::Deps;
use crate::services::audit::Target;
use crate::services::principal::{AdminPrincipal, RequestContext};

/// The issuer shown in authenticator apps.
pub const TOTP_ISSUER: &str = "Gatehouse";

#[derive(Debug, Clone)]
pub struct Factors {
    deps: Deps,
    master_key: MasterKey,
}

/// A TOTP factor just enrolled, with its secret (shown this once).
#[derive(Debug, Clone)]
pub struct EnrolledTotp {
    pub factor: Factor,
    /// The Key URI for the QR code.
    pub otpauth_uri: Secret,
    /// The secret in base32, for typing into an app.
    pub secret: Secret,
}

/// How a code presented for a factor fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CodeCheck {
    Accepted,
    /// Wrong, expired, or already used.
    Refused,
}

impl Factors {
    pub(crate) fn new(deps: Deps, master_key: MasterKey) -> Self {
        Self { deps, master_key }
    }

    /// Enrols a factor of `kind` (`totp`) for a user; it starts `pending`.
    pub async fn enrol(
        &self,
        principal: &AdminPrincipal,
        ctx: &RequestContext,
        user: UserId,
        kind: &str,
    ) -> Result<EnrolledTotp> {
        let user = self.visible_user(principal, user).await?;
        match FactorKind::parse(kind) {
            Some(FactorKind::Totp) => self.enrol_totp(principal.actor(), ctx, &user).await,
            Some(FactorKind::RecoveryCode | FactorKind::Email | FactorKind::Webauthn) | None => {
                Err(Error::invalid(
                    "type",
                    "unsupported",
                    "the factor type must be \"totp\" (a user registers passkeys on /account/security)",
                ))
            }
        }
    }

    /// Makes a pending factor active with its first code.
    pub async fn activate(
        &self,
        principal: &AdminPrincipal,
        ctx: &RequestContext,
        user: UserId,
        id: FactorId,
        code: &str,
    ) -> Result<Factor> {
        let factor = self.visible_factor(principal, user, id).await?;
        if factor.status != FactorStatus::Pending {
            return Err(Error::Conflict("the factor is already active".into()));
        }
        match self
            .check_totp(principal.actor(), ctx, &factor, code)
            .await?
        {
            CodeCheck::Accepted => self.visible_factor(principal, user, id).await,
            CodeCheck::Refused => Err(Error::invalid(
                "code",
                "invalid_code",
                "the code is wrong, expired or already used",
            )),
        }
    }

    pub async fn list(&self, principal: &AdminPrincipal, user: UserId) -> Result<Vec<Factor>> {
        let user = self.visible_user(principal, user).await?;
        Ok(self.deps.store.list_factors(user.id).await?)
    }

    pub async fn get(
        &self,
        principal: &AdminPrincipal,
        user: UserId,
        id: FactorId,
    ) -> Result<Factor> {
        self.visible_factor(principal, user, id).await
    }

    pub async fn delete(
        &self,
        principal: &AdminPrincipal,
        ctx: &RequestContext,
        user: UserId,
        id: FactorId,
    ) -> Result<()> {
        let factor = self.visible_factor(principal, user, id).await?;
        let audit = self.deps.audit(
            principal.actor(),
            ctx,
            "factor.deleted",
            Target::new("factor", factor.id, Some(factor.org_id)),
            json!({ "user_id": factor.user_id, "type": factor.kind.as_str() }),
        );
        if !self.deps.store.delete_factor(id, &audit).await? {
            return Err(Error::NotFound("factor"));
        }
        Ok(())
    }

    /// Removes every factor, recovery code and remembered device of a user
    /// (the "lost my phone" reset); the user enrols again at the next
    /// sign-in if a policy requires a factor.
    pub async fn reset(
        &self,
        principal: &AdminPrincipal,
        ctx: &RequestContext,
        user: UserId,
    ) -> Result<()> {
        let user = self.visible_user(principal, user).await?;
        let audit = self.deps.audit(
            principal.actor(),
            ctx,
            "factors.reset",
            Target::new("user", user.id, Some(user.org_id)),
            json!({}),
        );
        self.deps.store.reset_factors(user.id, &audit).await?;
        Ok(())
    }

    /// Replaces a user's recovery codes with ten new ones, returned this once.
    pub async fn generate_recovery_codes(
        &self,
        principal: &AdminPrincipal,
        ctx: &RequestContext,
        user: UserId,
    ) -> Result<Vec<Secret>> {
        let user = self.visible_user(principal, user).await?;
        self.new_recovery_codes(principal.actor(), ctx, &user).await
    }

    /// How many unused recovery codes a user has.
    pub async fn recovery_codes_left(
        &self,
        principal: &AdminPrincipal,
        user: UserId,
    ) -> Result<u32> {
        let user = self.visible_user(principal, user).await?;
        Ok(self.deps.store.unused_recovery_codes(user.id).await?)
    }

    pub(crate) async fn new_recovery_codes(
        &self,
        actor: &str,
        ctx: &RequestContext,
        user: &User,
    ) -> Result<Vec<Secret>> {
        let (codes, hashes) = recovery::generate(self.deps.rng.as_ref());
        let audit = self.deps.audit(
            actor,
            ctx,
            "recovery_codes.generated",
            Target::new("user", user.id, Some(user.org_id)),
            json!({ "count": codes.len() }),
        );
        self.deps
            .store
            .replace_recovery_codes(user.id, &hashes, self.deps.clock.now_millis(), &audit)
            .await?;
        Ok(codes)
    }

    /// A new pending TOTP factor for `user`.
    pub(crate) async fn enrol_totp(
        &self,
        actor: &str,
        ctx: &RequestContext,
        user: &User,
    ) -> Result<EnrolledTotp> {
        let d = &self.deps;
        let id = FactorId::generate(d.clock.as_ref(), d.rng.as_ref());
        let secret = totp::generate_secret(d.rng.as_ref());
        let factor = Factor {
            id,
            user_id: user.id,
            org_id: user.org_id,
            kind: FactorKind::Totp,
            status: FactorStatus::Pending,
            sealed_secret: Some(
                self.master_key
                    .seal_to_string(&secret, &Factor::seal_aad(id)),
            ),
            last_step: None,
            created_at: d.clock.now_millis(),
            activated_at: None,
            last_used_at: None,
        };
        let audit = d.audit(
            actor,
            ctx,
            "factor.enrolled",
            Target::new("factor", id, Some(user.org_id)),
            json!({ "user_id": user.id, "type": "totp" }),
        );
        d.store
            .create_factor(&factor, &audit)
            .await
            .map_err(|e| match e {
                crate::StoreError::Missing(_) => Error::NotFound("user"),
                other => other.into(),
            })?;
        Ok(EnrolledTotp {
            otpauth_uri: totp::otpauth_uri(TOTP_ISSUER, &user.username, &secret),
            secret: totp::base32(&secret),
            factor,
        })
    }

    /// The Key URI and secret of a pending factor, to show it again on the
    /// enrolment page (the factor is not usable until a code proves it).
    pub(crate) fn pending_secret(&self, factor: &Factor, user: &User) -> Result<EnrolledTotp> {
        let secret = self.open_secret(factor)?;
        Ok(EnrolledTotp {
            otpauth_uri: totp::otpauth_uri(TOTP_ISSUER, &user.username, &secret),
            secret: totp::base32(&secret),
            factor: factor.clone(),
        })
    }

    /// Checks a TOTP code for `factor` at the clock's time and, when it is
    /// right and newer than the last accepted one, records its step (and
    /// activates a pending factor) atomically. Audits the outcome.
    pub(crate) async fn check_totp(
        &self,
        actor: &str,
        ctx: &RequestContext,
        factor: &Factor,
        code: &str,
    ) -> Result<CodeCheck> {
        let d = &self.deps;
        let secret = self.open_secret(factor)?;
        let now = d.clock.now_millis();
        let activate = factor.status == FactorStatus::Pending;
        let action = if activate {
            "factor.activated"
        } else {
            "factor.used"
        };
        let target = || Target::new("factor", factor.id, Some(factor.org_id));
        let details = json!({ "user_id": factor.user_id, "type": "totp" });
        if let Some(step) = totp::matching_step(&secret, code, now.div_euclid(1000)) {
            let audit = d.audit(actor, ctx, action, target(), details.clone());
            if d.store
                .accept_totp_step(factor.id, step, now, activate, &audit)
                .await?
            {
                return Ok(CodeCheck::Accepted);
            }
        }
        let mut audit = d.audit(actor, ctx, action, target(), details);
        audit.outcome = Outcome::Failure;
        d.store.append_audit(&audit).await?;
        Ok(CodeCheck::Refused)
    }

    /// Spends a recovery code of `user`; audits the outcome.
    pub(crate) async fn check_recovery_code(
        &self,
        ctx: &RequestContext,
        user: &User,
        code: &str,
    ) -> Result<CodeCheck> {
        let d = &self.deps;
        let actor = format!("user:{}", user.id);
        let target = || Target::new("user", user.id, Some(user.org_id));
        if let Some(hash) = recovery::hash_of(code) {
            let audit = d.audit(&actor, ctx, "recovery_code.used", target(), json!({}));
            if d.store
                .use_recovery_code(user.id, &hash, d.clock.now_millis(), &audit)
                .await?
            {
                return Ok(CodeCheck::Accepted);
            }
        }
        let mut audit = d.audit(&actor, ctx, "recovery_code.used", target(), json!({}));
        audit.outcome = Outcome::Failure;
        d.store.append_audit(&audit).await?;
        Ok(CodeCheck::Refused)
    }

    fn open_secret(&self, factor: &Factor) -> Result<zeroize::Zeroizing<Vec<u8>>> {
        let sealed = factor
            .sealed_secret
            .as_deref()
            .ok_or_else(|| Error::Internal("a TOTP factor without a secret".into()))?;
        self.master_key
            .open_str(sealed, &Factor::seal_aad(factor.id))
            .map_err(|e| Error::Internal(format!("cannot open a TOTP secret: {e}")))
    }

    async fn visible_user(&self, principal: &AdminPrincipal, id: UserId) -> Result<User> {
        self.deps
            .store
            .get_user(id)
            .await?
            .filter(|u| principal.can_access(u.org_id))
            .ok_or(Error::NotFound("user"))
    }

    async fn visible_factor(
        &self,
        principal: &AdminPrincipal,
        user: UserId,
        id: FactorId,
    ) -> Result<Factor> {
        let user = self.visible_user(principal, user).await?;
        self.deps
            .store
            .get_factor(id)
            .await?
            .filter(|f| f.user_id == user.id)
            .ok_or(Error::NotFound("factor"))
    }
}
