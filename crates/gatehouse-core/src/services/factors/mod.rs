//! Second factors: enrolment, activation, listing, removal and the admin
//! reset of a user's factors, plus the checks the sign-in uses.
//!
//! A TOTP factor is enrolled `pending` with a fresh secret sealed under the
//! master key; the first correct code makes it `active`. Every accepted code
//! advances the factor's last time step in one compare-and-set, so a code is
//! accepted once, however many requests present it at the same moment.
//!
//! A knowledge question is enrolled `active` at once (its answer hashed with
//! argon2id; a new one replaces the old). A phone factor is enrolled
//! `pending` with its number sealed under the master key and a code sent
//! through the [`SmsSender`]; the code typed back activates it. Phone codes
//! are spent by one compare-and-set in the store, like TOTP steps.

pub mod phone;
pub mod question;
pub mod recovery;
pub mod totp;

use std::sync::Arc;

use serde_json::json;

use crate::crypto::MasterKey;
use crate::error::{Error, Result};
use crate::ids::{FactorId, UserId};
use crate::model::{Factor, FactorKind, FactorStatus, Outcome, PhoneChannel, User};
use crate::password::{PasswordError, StoredPassword};
use crate::secret::{Secret, TokenHash};
use crate::services::Deps;
use crate::services::audit::Target;
use crate::services::principal::{AdminPrincipal, RequestContext};
use phone::{SmsMessage, SmsPurpose, SmsSender};

/// The issuer shown in authenticator apps.
pub const TOTP_ISSUER: &str = "Gatehouse";

#[derive(Debug, Clone)]
pub struct Factors {
    deps: Deps,
    master_key: MasterKey,
    sms: Option<Arc<dyn SmsSender>>,
}

/// What an admin enrols (`POST /api/v1/users/{id}/factors`).
#[derive(Debug, Clone, Copy)]
pub struct EnrolRequest<'a> {
    /// `totp` or `question`.
    pub kind: &'a str,
    /// The question id, for `question`.
    pub question: Option<&'a str>,
    /// The answer, for `question`.
    pub answer: Option<&'a Secret>,
}

/// A phone factor just enrolled (pending until its code comes back).
#[derive(Debug, Clone)]
pub struct PhoneEnrolment {
    pub factor: Factor,
    /// The provider took the first code; `false`: "could not send".
    pub sent: bool,
}

/// A factor an admin just enrolled.
#[derive(Debug, Clone)]
pub enum Enrolled {
    /// Pending; its secret is shown this once.
    Totp(EnrolledTotp),
    /// Active at once.
    Question(Factor),
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
    pub(crate) fn new(deps: Deps, master_key: MasterKey, sms: Option<Arc<dyn SmsSender>>) -> Self {
        Self {
            deps,
            master_key,
            sms,
        }
    }

    /// Enrols a factor for a user: `totp` starts `pending`; `question`
    /// (with `question` and `answer`) is active at once, replacing any
    /// earlier question. A phone is refused: only its owner can prove it.
    pub async fn enrol(
        &self,
        principal: &AdminPrincipal,
        ctx: &RequestContext,
        user: UserId,
        request: EnrolRequest<'_>,
    ) -> Result<Enrolled> {
        let user = self.visible_user(principal, user).await?;
        match FactorKind::parse(request.kind) {
            Some(FactorKind::Totp) => self
                .enrol_totp(principal.actor(), ctx, &user)
                .await
                .map(Enrolled::Totp),
            Some(FactorKind::Question) => {
                let empty = Secret::new("");
                self.enrol_question(
                    principal.actor(),
                    ctx,
                    &user,
                    request.question.unwrap_or(""),
                    request.answer.unwrap_or(&empty),
                )
                .await
                .map(Enrolled::Question)
            }
            Some(FactorKind::Phone) => Err(Error::invalid(
                "type",
                "needs_user",
                "a phone number must be verified by its owner: the user adds it on /account/security",
            )),
            Some(FactorKind::RecoveryCode | FactorKind::Email | FactorKind::Webauthn) | None => {
                Err(Error::invalid(
                    "type",
                    "unsupported",
                    "the factor type must be \"totp\" or \"question\" (a user registers passkeys and phones on /account/security)",
                ))
            }
        }
    }

    /// Phone factors can be enrolled and used (an SMS webhook is configured).
    pub fn phone_available(&self) -> bool {
        self.sms.is_some()
    }

    /// Sets the user's knowledge question (replacing any earlier one): the
    /// normalised answer must keep [`question::MIN_ANSWER_CHARS`] characters;
    /// only its argon2id hash is stored.
    pub(crate) async fn enrol_question(
        &self,
        actor: &str,
        ctx: &RequestContext,
        user: &User,
        question_id: &str,
        answer: &Secret,
    ) -> Result<Factor> {
        let d = &self.deps;
        let Some(q) = question::find(question_id) else {
            return Err(Error::invalid(
                "question",
                "unknown_question",
                "pick one of the listed questions (GET /api/v1/factors/questions)",
            ));
        };
        if answer.expose().chars().count() > question::MAX_ANSWER_CHARS {
            return Err(Error::invalid(
                "answer",
                "too_long",
                format!("at most {} characters", question::MAX_ANSWER_CHARS),
            ));
        }
        let normalised = Secret::new(question::normalise(answer.expose()));
        if normalised.expose().chars().count() < question::MIN_ANSWER_CHARS {
            return Err(Error::invalid(
                "answer",
                "too_short",
                format!(
                    "the answer needs at least {} letters or digits",
                    question::MIN_ANSWER_CHARS
                ),
            ));
        }
        let hash = d.hasher.hash(&normalised).await.map_err(hasher_error)?;
        let id = FactorId::generate(d.clock.as_ref(), d.rng.as_ref());
        let now = d.clock.now_millis();
        let factor = Factor {
            id,
            user_id: user.id,
            org_id: user.org_id,
            kind: FactorKind::Question,
            status: FactorStatus::Active,
            sealed_secret: None,
            last_step: None,
            created_at: now,
            activated_at: Some(now),
            last_used_at: None,
            detail: Some(q.id.to_owned()),
            hint: None,
            answer_hash: Some(hash.into_string()),
        };
        let audit = d.audit(
            actor,
            ctx,
            "factor.enrolled",
            Target::new("factor", id, Some(user.org_id)),
            json!({ "user_id": user.id, "type": "question", "question": q.id }),
        );
        d.store
            .replace_question(&factor, &audit)
            .await
            .map_err(|e| match e {
                crate::StoreError::Missing(_) => Error::NotFound("user"),
                other => other.into(),
            })?;
        Ok(factor)
    }

    /// Checks an answer to the user's active question with the hasher
    /// (constant time); audits the outcome.
    pub(crate) async fn check_question(
        &self,
        actor: &str,
        ctx: &RequestContext,
        factor: &Factor,
        answer: &str,
    ) -> Result<CodeCheck> {
        let d = &self.deps;
        let target = || Target::new("factor", factor.id, Some(factor.org_id));
        let details = json!({ "user_id": factor.user_id, "type": "question" });
        let stored = factor
            .answer_hash
            .clone()
            .ok_or_else(|| Error::Internal("a question factor without an answer".into()))?;
        let normalised = Secret::new(question::normalise(answer));
        let matched = !normalised.is_empty()
            && normalised.expose().chars().count() <= question::MAX_ANSWER_CHARS
            && d.hasher
                .verify(&normalised, &StoredPassword::from_stored(stored))
                .await
                .map_err(hasher_error)?
                .is_match();
        if matched {
            let audit = d.audit(actor, ctx, "factor.used", target(), details.clone());
            if d.store
                .touch_factor(factor.id, d.clock.now_millis(), &audit)
                .await?
            {
                return Ok(CodeCheck::Accepted);
            }
        }
        let mut audit = d.audit(actor, ctx, "factor.used", target(), details);
        audit.outcome = Outcome::Failure;
        d.store.append_audit(&audit).await?;
        Ok(CodeCheck::Refused)
    }

    /// A new pending phone factor for `number` (E.164), its code sent over
    /// `channel`. `Invalid` for a bad number or without an SMS webhook.
    /// When the provider did not take the message the factor stays pending
    /// with `sent: false`; [`Self::send_phone_code`] tries again.
    pub(crate) async fn enrol_phone(
        &self,
        actor: &str,
        ctx: &RequestContext,
        user: &User,
        number: &str,
        channel: PhoneChannel,
    ) -> Result<PhoneEnrolment> {
        let d = &self.deps;
        if self.sms.is_none() {
            return Err(Error::invalid(
                "phone",
                "unavailable",
                "codes by text message or call are not configured on this server (sms_webhook_url)",
            ));
        }
        let Some(number) = phone::parse_e164(number) else {
            return Err(Error::invalid(
                "phone",
                "invalid_phone",
                "enter the number in international form: + then the country code and number",
            ));
        };
        // One phone enrolment at a time, a new one at most every 30 s: each
        // sends a text, so a session must not become an SMS cannon.
        let now = d.clock.now_millis();
        let pending: Vec<Factor> = d
            .store
            .list_factors(user.id)
            .await?
            .into_iter()
            .filter(|f| f.kind == FactorKind::Phone && f.status == FactorStatus::Pending)
            .collect();
        if pending
            .iter()
            .any(|f| f.created_at + phone::RESEND_SECS * 1000 > now)
        {
            return Err(Error::Conflict("a code was sent moments ago".into()));
        }
        for old in pending {
            let audit = d.audit(
                actor,
                ctx,
                "factor.deleted",
                Target::new("factor", old.id, Some(old.org_id)),
                json!({ "user_id": user.id, "type": "phone", "replaced": true }),
            );
            d.store.delete_factor(old.id, &audit).await?;
        }
        let id = FactorId::generate(d.clock.as_ref(), d.rng.as_ref());
        let factor = Factor {
            id,
            user_id: user.id,
            org_id: user.org_id,
            kind: FactorKind::Phone,
            status: FactorStatus::Pending,
            sealed_secret: Some(
                self.master_key
                    .seal_to_string(number.as_bytes(), &Factor::seal_aad(id)),
            ),
            last_step: None,
            created_at: now,
            activated_at: None,
            last_used_at: None,
            detail: Some(channel.as_str().to_owned()),
            hint: Some(phone::mask(&number)),
            answer_hash: None,
        };
        let audit = d.audit(
            actor,
            ctx,
            "factor.enrolled",
            Target::new("factor", id, Some(user.org_id)),
            json!({ "user_id": user.id, "type": "phone", "channel": channel.as_str() }),
        );
        d.store
            .create_factor(&factor, &audit)
            .await
            .map_err(|e| match e {
                crate::StoreError::Missing(_) => Error::NotFound("user"),
                other => other.into(),
            })?;
        let sent = match self
            .send_phone_code(actor, ctx, &factor, SmsPurpose::Enrol)
            .await
        {
            Ok(()) => true,
            Err(Error::Unavailable) => false,
            Err(other) => return Err(other),
        };
        Ok(PhoneEnrolment { factor, sent })
    }

    /// Sends a fresh code to a phone factor (replacing any earlier one).
    /// `Conflict` within [`phone::RESEND_SECS`] of the previous one;
    /// `Unavailable` when the provider failed (audited as a failure).
    pub(crate) async fn send_phone_code(
        &self,
        actor: &str,
        ctx: &RequestContext,
        factor: &Factor,
        purpose: SmsPurpose,
    ) -> Result<()> {
        let d = &self.deps;
        let Some(sms) = &self.sms else {
            return Err(Error::invalid(
                "phone",
                "unavailable",
                "codes by text message or call are not configured on this server",
            ));
        };
        let channel = factor
            .detail
            .as_deref()
            .and_then(PhoneChannel::parse)
            .unwrap_or(PhoneChannel::Sms);
        let number = self.open_secret(factor)?;
        let number = String::from_utf8(number.to_vec())
            .map_err(|_| Error::Internal("a sealed phone number is not text".into()))?;
        let code = crate::services::mfa::numeric_code(d.rng.as_ref());
        let now = d.clock.now_millis();
        if !d
            .store
            .set_factor_code(
                factor.id,
                &TokenHash::of(code.expose()),
                now,
                now + phone::CODE_TTL_SECS * 1000,
                phone::RESEND_SECS * 1000,
            )
            .await?
        {
            return Err(Error::Conflict("a code was sent moments ago".into()));
        }
        let message = SmsMessage {
            to: Secret::new(number),
            channel,
            message: Secret::new(phone::message_text(code.expose(), purpose)),
            code,
            purpose,
            org_id: factor.org_id,
        };
        let sent = sms.send(&message).await;
        let mut audit = d.audit(
            actor,
            ctx,
            "phone.code_sent",
            Target::new("factor", factor.id, Some(factor.org_id)),
            json!({
                "user_id": factor.user_id,
                "channel": channel.as_str(),
                "purpose": purpose.as_str(),
            }),
        );
        if let Err(error) = &sent {
            tracing::warn!(%error, "the SMS webhook did not take a code");
            audit.outcome = Outcome::Failure;
        }
        d.store.append_audit(&audit).await?;
        sent.map_err(|_| Error::Unavailable)
    }

    /// Spends a code sent to a phone factor (activating a pending one).
    /// Does not count a refusal: the caller does, with
    /// [`Self::phone_code_refused`], once no other factor took the code.
    pub(crate) async fn use_phone_code(
        &self,
        actor: &str,
        ctx: &RequestContext,
        factor: &Factor,
        code: &str,
    ) -> Result<CodeCheck> {
        let d = &self.deps;
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(CodeCheck::Refused);
        }
        let activate = factor.status == FactorStatus::Pending;
        let audit = d.audit(
            actor,
            ctx,
            if activate {
                "factor.activated"
            } else {
                "factor.used"
            },
            Target::new("factor", factor.id, Some(factor.org_id)),
            json!({ "user_id": factor.user_id, "type": "phone" }),
        );
        Ok(
            if d.store
                .use_factor_code(
                    factor.id,
                    &TokenHash::of(&code),
                    d.clock.now_millis(),
                    activate,
                    &audit,
                )
                .await?
            {
                CodeCheck::Accepted
            } else {
                CodeCheck::Refused
            },
        )
    }

    /// Counts a wrong code against a phone factor's current code; audited.
    pub(crate) async fn phone_code_refused(
        &self,
        actor: &str,
        ctx: &RequestContext,
        factor: &Factor,
    ) -> Result<()> {
        let d = &self.deps;
        d.store.fail_factor_code(factor.id).await?;
        let mut audit = d.audit(
            actor,
            ctx,
            if factor.status == FactorStatus::Pending {
                "factor.activated"
            } else {
                "factor.used"
            },
            Target::new("factor", factor.id, Some(factor.org_id)),
            json!({ "user_id": factor.user_id, "type": "phone" }),
        );
        audit.outcome = Outcome::Failure;
        d.store.append_audit(&audit).await?;
        Ok(())
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
            detail: None,
            hint: None,
            answer_hash: None,
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
            .ok_or_else(|| Error::Internal("a factor without a sealed secret".into()))?;
        self.master_key
            .open_str(sealed, &Factor::seal_aad(factor.id))
            .map_err(|e| Error::Internal(format!("cannot open a factor's secret: {e}")))
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

fn hasher_error(e: PasswordError) -> Error {
    match e {
        PasswordError::Busy => Error::Unavailable,
        other => Error::Internal(format!("hashing an answer: {other}")),
    }
}
