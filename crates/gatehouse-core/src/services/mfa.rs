//! The second step of sign-in: after a correct password, the sign-on policy
//! decides whether a second factor is needed; if so the sign-in waits in the
//! database as an [`MfaChallenge`] (any node continues it), found by the hash
//! of a random handle the browser holds in a short-lived cookie. Only a
//! correct TOTP, e-mailed, texted or recovery code, a passkey, or the answer
//! to the user's knowledge question completes it; then the session starts
//! (or, for a step-up, the existing session is raised) with e.g.
//! `amr = ["pwd", "otp"]` (`sms`/`tel` for a phone code, `kba` for a
//! question) and `acr = "2"`.
//!
//! A remembered device ("remember this device for N days") stands in for a
//! required second factor, but the factor was not performed in this sign-in:
//! the session gets `acr = "1"`, no `mfa` in `amr`, and is marked
//! `remembered_device`, which meets a policy's requirement (where the policy
//! allows remembering) but not an explicit request for two factors
//! (`acr_values=2`, a SAML MFA `RequestedAuthnContext`): those step up with a
//! real factor.
//!
//! A challenge lasts [`CHALLENGE_TTL_SECS`] and allows [`MAX_ATTEMPTS`] wrong
//! codes; then the user starts again with the password. Every code is
//! single-use (compare-and-set in the store), and the challenge itself is
//! completed once. Wrong codes also count on the brute-force throttle's
//! second-factor counters (per user, IP and user+IP, apart from the password
//! counters), so someone who knows the password cannot guess on by starting
//! fresh challenges: a throttled attempt is refused before the code is looked at.

use std::sync::Arc;

use serde_json::json;

use crate::error::{Error, Result};
use crate::ids::{FactorId, SessionId};
use crate::model::{
    Factor, FactorKind, FactorStatus, MfaChallenge, Outcome, PhoneChannel, PolicyScope, Proof,
    SsoSession, Subject, User, UserStatus,
};
use crate::secret::{Secret, TokenHash};
use crate::services::Deps;
use crate::services::audit::Target;
use crate::services::factors::phone::SmsPurpose;
use crate::services::factors::{CodeCheck, EnrolledTotp, Factors, question};
use crate::services::mailer::{Mail, Mailer};
use crate::services::passkeys::{CeremonyOptions, KeyKind, Passkeys, RegistrationAnswer};
use crate::services::principal::RequestContext;
use crate::services::sessions::acr;
use crate::services::signon_policy::{self, Requirement};
use crate::services::throttle::{Admission, Throttle};

/// How long a half-finished sign-in waits for its second factor.
pub const CHALLENGE_TTL_SECS: i64 = 5 * 60;
/// Wrong codes allowed per challenge.
pub const MAX_ATTEMPTS: u32 = 5;
/// How long an e-mailed code is valid.
pub const EMAIL_CODE_TTL_SECS: i64 = 10 * 60;
/// How long after one e-mail the next may be asked for (no mail bombing).
pub const EMAIL_RESEND_SECS: i64 = 30;

/// What a correct password leads to.
#[derive(Debug)]
pub enum PasswordOutcome {
    /// Signed in with what was proved: start the session with these.
    /// `remembered_device`: a remembered browser stood in for a required
    /// second factor.
    SignedIn {
        amr: Vec<String>,
        acr: String,
        remembered_device: bool,
    },
    /// A second factor is needed; the handle goes into a short-lived cookie.
    SecondFactor(Secret),
}

/// What the second-factor page offers.
#[derive(Debug, Clone)]
pub struct ChallengeScreen {
    /// The kinds of code the user can type.
    pub kinds: Vec<FactorKind>,
    /// A TOTP factor being enrolled during this sign-in, with its secret.
    pub enrolment: Option<EnrolledTotp>,
    /// "Remember this device" days offered; 0: none.
    pub remember_days: u32,
    /// An e-mailed code can be requested.
    pub email_available: bool,
    /// A code has been e-mailed.
    pub email_sent: bool,
    /// During an enrolment, a passkey or security key may be registered
    /// instead of the app ([`Mfa::webauthn_enrol_options`]).
    pub webauthn_enrolment: bool,
    /// The user's knowledge question, when an answer counts here.
    pub question: Option<&'static str>,
    /// A code can be sent to the user's phone, by this channel.
    pub phone: Option<PhoneChannel>,
}

/// What a submitted code leads to.
#[derive(Debug)]
pub enum SecondStep {
    Verified(Box<Verified>),
    /// Refused unchecked by the brute-force throttle; try again in this many seconds.
    Throttled {
        retry_after_secs: u64,
    },
}

/// A completed second step.
#[derive(Debug)]
pub struct Verified {
    pub user: User,
    pub amr: Vec<String>,
    pub acr: String,
    /// The raised session of a step-up; `None`: start a new one.
    pub session: Option<SsoSession>,
    /// A remembered-device token and its lifetime in days, for a cookie.
    pub device: Option<(Secret, u32)>,
    /// Recovery codes made after an enrolment, to show once.
    pub recovery_codes: Vec<Secret>,
}

/// A username-less sign-in with a passkey.
#[derive(Debug)]
pub struct PasskeySignIn {
    pub user: User,
    pub amr: Vec<String>,
    pub acr: String,
}

/// What a username-less passkey sign-in came to.
#[derive(Debug)]
pub enum PasskeyAttempt {
    SignedIn(Box<PasskeySignIn>),
    /// Not accepted (unknown, replayed or foreign ceremony, bad signature,
    /// no user verification); counted on the client IP's counter.
    Refused,
    /// Refused unchecked: too many recent failures from this client IP.
    Throttled {
        retry_after_secs: u64,
    },
}

#[derive(Debug, Clone)]
pub struct Mfa {
    deps: Deps,
    factors: Factors,
    throttle: Throttle,
    mailer: Option<Arc<dyn Mailer>>,
    passkeys: Passkeys,
}

/// What the browser presented on the second-factor page.
#[derive(Debug, Clone, Copy)]
enum Presented<'a> {
    /// A TOTP, e-mailed or recovery code.
    Code(&'a str),
    /// A WebAuthn assertion (JSON) for the ceremony behind `ceremony`.
    Webauthn {
        ceremony: &'a str,
        response: &'a str,
    },
    /// A WebAuthn registration (JSON) during an enrolment at sign-in.
    Register {
        ceremony: &'a str,
        response: &'a str,
    },
    /// The answer to the user's knowledge question.
    Answer(&'a str),
}

impl Mfa {
    pub(crate) fn new(
        deps: Deps,
        factors: Factors,
        throttle: Throttle,
        mailer: Option<Arc<dyn Mailer>>,
        passkeys: Passkeys,
    ) -> Self {
        Self {
            deps,
            factors,
            throttle,
            mailer,
            passkeys,
        }
    }

    /// Decides what follows a correct password of `user` for `app` (if
    /// the sign-in is for one), given the browser's remembered-device token
    /// and whether it is a known device of the account (the brute-force
    /// throttle's; see `SecondFactorRule::NewDevice`). `Forbidden` when a
    /// second factor is required, the user has none and the policy does
    /// not let them enrol one here.
    pub async fn after_password(
        &self,
        ctx: &RequestContext,
        user: &User,
        app: Option<&PolicyScope>,
        device: Option<&str>,
        known_device: bool,
    ) -> Result<PasswordOutcome> {
        self.after_first_factor(ctx, user, app, device, known_device, &["pwd"])
            .await
    }

    /// As [`Self::after_password`] for a first factor proving `first`
    /// (RFC 8176 `amr` values; a magic link is `["otp"]`).
    pub async fn after_first_factor(
        &self,
        ctx: &RequestContext,
        user: &User,
        app: Option<&PolicyScope>,
        device: Option<&str>,
        known_device: bool,
        first: &[&str],
    ) -> Result<PasswordOutcome> {
        let d = &self.deps;
        let req = signon_policy::requirement(d, user, app, ctx.ip.as_deref(), known_device).await?;
        let first: Vec<String> = first.iter().map(|m| (*m).to_owned()).collect();
        let password_only = || PasswordOutcome::SignedIn {
            amr: first.clone(),
            acr: acr::SINGLE_FACTOR.to_owned(),
            remembered_device: false,
        };
        if !req.required {
            return Ok(password_only());
        }
        let now = d.clock.now_millis();
        if req.remember_days > 0
            && let Some(device) = device
            && d.store
                .is_device_trusted(&TokenHash::of(device), user.id, now)
                .await?
        {
            // The remembered browser stands in for the second factor, which
            // was not performed now: one factor's acr and amr, marked.
            return Ok(PasswordOutcome::SignedIn {
                amr: first.clone(),
                acr: acr::SINGLE_FACTOR.to_owned(),
                remembered_device: true,
            });
        }
        if !self.usable_kinds(user, &req.allowed).await?.is_empty() {
            let handle = self.open_challenge(user, None, &req, None, &first).await?;
            return Ok(PasswordOutcome::SecondFactor(handle));
        }
        if let Some(factor) = self.enrolment(ctx, user, &req).await? {
            let handle = self
                .open_challenge(user, None, &req, Some(factor), &first)
                .await?;
            return Ok(PasswordOutcome::SecondFactor(handle));
        }
        let mut audit = d.audit(
            &format!("user:{}", user.id),
            ctx,
            "mfa.required",
            Target::new("user", user.id, Some(user.org_id)),
            json!({ "reason": "no_factor" }),
        );
        audit.outcome = Outcome::Failure;
        d.store.append_audit(&audit).await?;
        Err(Error::Forbidden)
    }

    /// Finishes a username-less sign-in in `org` with a discoverable
    /// credential (ceremony of `Passkeys::begin_discoverable`). A passkey
    /// with user verification is two factors in one (possession and PIN or
    /// biometric): `amr = ["hwk" or "swk", "user", "mfa"]`, `acr = "2"`.
    /// `Refused` (counted on the client IP's counter) or `Throttled` when
    /// not accepted; `Forbidden` when a policy that requires a second
    /// factor for `app` does not allow `webauthn`. `known_device` is the
    /// browser's known-device cookie (the user is known only afterwards).
    pub async fn passkey_sign_in(
        &self,
        ctx: &RequestContext,
        org: crate::ids::OrgId,
        app: Option<&PolicyScope>,
        known_device: Option<&str>,
        ceremony: &str,
        response: &str,
    ) -> Result<PasskeyAttempt> {
        let d = &self.deps;
        let attempt = self
            .throttle
            .anonymous_attempt(ctx, Proof::SecondFactor, org);
        if let Admission::Throttled { retry_after_secs } =
            self.throttle.check(ctx, &attempt).await?
        {
            return Ok(PasskeyAttempt::Throttled { retry_after_secs });
        }
        let accepted = self
            .passkeys
            .finish_discoverable(ctx, org, ceremony, response)
            .await?
            .filter(|(_, used)| used.user_verified);
        let Some((user, used)) = accepted else {
            let mut failure = d.audit(
                "anonymous",
                ctx,
                "user.passkey.verify",
                Target::new("org", org, Some(org)),
                json!({}),
            );
            failure.outcome = Outcome::Failure;
            self.throttle.failed(ctx, &attempt, &failure).await?;
            return Ok(PasskeyAttempt::Refused);
        };
        let known_device = self.throttle.knows(user.id, known_device).await?;
        let req =
            signon_policy::requirement(d, &user, app, ctx.ip.as_deref(), known_device).await?;
        if req.required && !req.allowed.contains(&FactorKind::Webauthn) {
            let mut audit = d.audit(
                &format!("user:{}", user.id),
                ctx,
                "mfa.required",
                Target::new("user", user.id, Some(user.org_id)),
                json!({ "reason": "webauthn_not_allowed" }),
            );
            audit.outcome = Outcome::Failure;
            d.store.append_audit(&audit).await?;
            return Err(Error::Forbidden);
        }
        let mut amr = used.amr;
        amr.push("mfa".to_owned());
        Ok(PasskeyAttempt::SignedIn(Box::new(PasskeySignIn {
            user,
            amr,
            acr: acr::MULTI_FACTOR.to_owned(),
        })))
    }

    /// Starts a step-up of an existing session (OIDC `acr_values`, `max_age`
    /// a client policy, or a SAML SP's `RequestedAuthnContext` or policy):
    /// `None` when the user has no usable factor.
    pub async fn begin_step_up(
        &self,
        ctx: &RequestContext,
        session: &SsoSession,
        app: Option<&PolicyScope>,
    ) -> Result<Option<Secret>> {
        let d = &self.deps;
        let Some(user) = d
            .store
            .get_user(session.user_id)
            .await?
            .filter(|u| u.status == UserStatus::Active)
        else {
            return Ok(None);
        };
        // The session's browser completed a sign-in: it is a known device.
        let req = signon_policy::requirement(d, &user, app, ctx.ip.as_deref(), true).await?;
        // A user with no usable factor enrols one here when the policy lets
        // them, as at sign-in.
        let enrol = if self.usable_kinds(&user, &req.allowed).await?.is_empty() {
            match self.enrolment(ctx, &user, &req).await? {
                Some(factor) => Some(factor),
                None => return Ok(None),
            }
        } else {
            None
        };
        Ok(Some(
            self.open_challenge(&user, Some(session.id), &req, enrol, &["pwd".to_owned()])
                .await?,
        ))
    }

    /// The pending TOTP factor a user without a usable factor enrols in the
    /// second step (reused across attempts), when the policy lets them enrol
    /// at sign-in; `None` when it does not.
    async fn enrolment(
        &self,
        ctx: &RequestContext,
        user: &User,
        req: &Requirement,
    ) -> Result<Option<FactorId>> {
        if !(req.enrol && req.allowed.contains(&FactorKind::Totp)) {
            return Ok(None);
        }
        let existing = self
            .deps
            .store
            .list_factors(user.id)
            .await?
            .into_iter()
            .rfind(|f| f.kind == FactorKind::Totp && f.status == FactorStatus::Pending);
        let factor = match existing {
            Some(factor) => factor,
            None => {
                self.factors
                    .enrol_totp(&format!("user:{}", user.id), ctx, user)
                    .await?
                    .factor
            }
        };
        Ok(Some(factor.id))
    }

    /// What the second-factor page shows for a challenge.
    pub async fn screen(&self, handle: &str) -> Result<ChallengeScreen> {
        let (challenge, user) = self.load(handle).await?;
        let enrolment = match challenge.enrol_factor_id {
            Some(id) => {
                let factor = self
                    .deps
                    .store
                    .get_factor(id)
                    .await?
                    .filter(|f| f.user_id == user.id && f.status == FactorStatus::Pending)
                    .ok_or(Error::NotFound("challenge"))?;
                Some(self.factors.pending_secret(&factor, &user)?)
            }
            None => None,
        };
        let kinds = if enrolment.is_some() {
            vec![FactorKind::Totp]
        } else {
            self.usable_kinds(&user, &challenge.allowed).await?
        };
        let question = if enrolment.is_none() && kinds.contains(&FactorKind::Question) {
            self.active(&user, FactorKind::Question)
                .await?
                .and_then(|f| f.detail.as_deref().and_then(question::find))
                .map(|q| q.text)
        } else {
            None
        };
        let phone = if enrolment.is_none() && kinds.contains(&FactorKind::Phone) {
            self.active(&user, FactorKind::Phone)
                .await?
                .map(|f| phone_channel(&f))
        } else {
            None
        };
        Ok(ChallengeScreen {
            question,
            phone,
            webauthn_enrolment: enrolment.is_some()
                && challenge.allowed.contains(&FactorKind::Webauthn)
                && self.passkeys.available(),
            email_available: enrolment.is_none() && kinds.contains(&FactorKind::Email),
            email_sent: challenge.email_code_hash.is_some(),
            kinds,
            enrolment,
            remember_days: challenge.remember_days,
        })
    }

    /// E-mails a fresh one-time code for the challenge (replacing any earlier
    /// one). `Conflict` within [`EMAIL_RESEND_SECS`] of the previous one.
    pub async fn send_email_code(&self, ctx: &RequestContext, handle: &str) -> Result<()> {
        let d = &self.deps;
        let (challenge, user) = self.load(handle).await?;
        let (Some(mailer), Some(to), true) = (
            &self.mailer,
            user.email.as_deref(),
            challenge.allowed.contains(&FactorKind::Email),
        ) else {
            return Err(Error::invalid(
                "otp",
                "unavailable",
                "e-mailed codes are not available",
            ));
        };
        let now = d.clock.now_millis();
        if let Some(expires_at) = challenge.email_expires_at
            && expires_at - EMAIL_CODE_TTL_SECS * 1000 + EMAIL_RESEND_SECS * 1000 > now
        {
            return Err(Error::Conflict("a code was sent moments ago".into()));
        }
        let code = numeric_code(d.rng.as_ref());
        let expires_at = now + EMAIL_CODE_TTL_SECS * 1000;
        if !d
            .store
            .set_mfa_email_code(
                &challenge.handle_hash,
                &TokenHash::of(code.expose()),
                expires_at,
            )
            .await?
        {
            return Err(Error::NotFound("challenge"));
        }
        let mail = Mail {
            to: to.to_owned(),
            subject: "Your sign-in code".to_owned(),
            body: format!(
                "Your sign-in code is {}\r\n\r\nIt expires in {} minutes. If you did not try to sign in, change your password.\r\n",
                code.expose(),
                EMAIL_CODE_TTL_SECS / 60
            ),
        };
        let audit = d.audit(
            &format!("user:{}", user.id),
            ctx,
            "mfa.email_code_sent",
            Target::new("user", user.id, Some(user.org_id)),
            json!({}),
        );
        d.store.append_audit(&audit).await?;
        mailer.send(&mail).await.map_err(|e| {
            tracing::error!(error = %e, "sending a sign-in code failed");
            Error::Unavailable
        })
    }

    /// Sends a code to the user's phone (the newest active phone factor)
    /// for the challenge. `Invalid` when phone codes do not count here;
    /// `Conflict` within 30 seconds of the previous code; `Unavailable`
    /// when the provider did not take it.
    pub async fn send_phone_code(&self, ctx: &RequestContext, handle: &str) -> Result<()> {
        let (challenge, user) = self.load(handle).await?;
        let factor = if challenge.enrol_factor_id.is_none()
            && challenge.allowed.contains(&FactorKind::Phone)
            && self.factors.phone_available()
        {
            self.active(&user, FactorKind::Phone).await?
        } else {
            None
        };
        let Some(factor) = factor else {
            return Err(Error::invalid(
                "otp",
                "unavailable",
                "codes by text message or call are not available",
            ));
        };
        self.factors
            .send_phone_code(
                &format!("user:{}", user.id),
                ctx,
                &factor,
                SmsPurpose::SignIn,
            )
            .await
    }

    /// As [`Self::verify`] with the answer to the user's knowledge question.
    /// A wrong answer counts like a wrong code.
    pub async fn verify_answer(
        &self,
        ctx: &RequestContext,
        handle: &str,
        answer: &str,
        remember: bool,
    ) -> Result<SecondStep> {
        self.second_step(ctx, handle, Presented::Answer(answer), remember)
            .await
    }

    /// Checks a code typed on the second-factor page. `AuthFailed` for a
    /// wrong, expired or reused code (the page is shown again);
    /// `NotFound("challenge")` when the challenge expired, was completed or
    /// ran out of attempts (start again).
    pub async fn verify(
        &self,
        ctx: &RequestContext,
        handle: &str,
        code: &str,
        remember: bool,
    ) -> Result<SecondStep> {
        self.second_step(ctx, handle, Presented::Code(code), remember)
            .await
    }

    /// Options for a WebAuthn assertion on the second-factor page, when the
    /// user has a credential and the policy allows `webauthn`; the ceremony
    /// is bound to this challenge.
    pub async fn webauthn_options(&self, handle: &str) -> Result<Option<CeremonyOptions>> {
        let (challenge, user) = self.load(handle).await?;
        if challenge.enrol_factor_id.is_some() || !challenge.allowed.contains(&FactorKind::Webauthn)
        {
            return Ok(None);
        }
        self.passkeys
            .begin_authentication(&user, &ceremony_binding(&challenge))
            .await
    }

    /// As [`Self::verify`] with a WebAuthn assertion (JSON) for the ceremony
    /// of [`Self::webauthn_options`]. A failed assertion counts like a wrong
    /// code, on the challenge and on the throttle's second-factor counters.
    pub async fn verify_webauthn(
        &self,
        ctx: &RequestContext,
        handle: &str,
        ceremony: &str,
        response: &str,
        remember: bool,
    ) -> Result<SecondStep> {
        self.second_step(
            ctx,
            handle,
            Presented::Webauthn { ceremony, response },
            remember,
        )
        .await
    }

    /// Options for registering a passkey or security key instead of the
    /// app during an enrolment at sign-in; bound to this challenge.
    pub async fn webauthn_enrol_options(&self, handle: &str) -> Result<Option<CeremonyOptions>> {
        let (challenge, user) = self.load(handle).await?;
        if challenge.enrol_factor_id.is_none()
            || !challenge.allowed.contains(&FactorKind::Webauthn)
            || !self.passkeys.available()
        {
            return Ok(None);
        }
        self.passkeys
            .begin_registration(&user, &ceremony_binding(&challenge), KeyKind::Passkey)
            .await
            .map(Some)
    }

    /// Completes an enrolment at sign-in with a newly registered passkey or
    /// security key (ceremony of [`Self::webauthn_enrol_options`]). A
    /// refused registration counts like a wrong code.
    pub async fn enrol_webauthn(
        &self,
        ctx: &RequestContext,
        handle: &str,
        ceremony: &str,
        response: &str,
        remember: bool,
    ) -> Result<SecondStep> {
        self.second_step(
            ctx,
            handle,
            Presented::Register { ceremony, response },
            remember,
        )
        .await
    }

    async fn second_step(
        &self,
        ctx: &RequestContext,
        handle: &str,
        presented: Presented<'_>,
        remember: bool,
    ) -> Result<SecondStep> {
        let d = &self.deps;
        let (challenge, user) = self.load(handle).await?;
        if challenge.attempts >= MAX_ATTEMPTS {
            return Err(Error::NotFound("challenge"));
        }
        let attempt = self
            .throttle
            .attempt(
                ctx,
                Proof::SecondFactor,
                &Subject::User(user.id),
                user.org_id,
                Some(user.id),
                None,
            )
            .await?;
        if let Admission::Throttled { retry_after_secs } =
            self.throttle.check(ctx, &attempt).await?
        {
            return Ok(SecondStep::Throttled { retry_after_secs });
        }
        let actor = format!("user:{}", user.id);
        let mut enrolled = false;
        let mut proved = vec!["otp".to_owned()];
        let accepted = match (presented, challenge.enrol_factor_id) {
            (Presented::Webauthn { ceremony, response }, None)
                if challenge.allowed.contains(&FactorKind::Webauthn) =>
            {
                match self
                    .passkeys
                    .finish_authentication(
                        ctx,
                        &user,
                        &ceremony_binding(&challenge),
                        ceremony,
                        response,
                    )
                    .await?
                {
                    Some(used) => {
                        proved = used.amr;
                        true
                    }
                    None => false,
                }
            }
            (Presented::Webauthn { .. }, _) => false,
            (Presented::Register { ceremony, response }, Some(_))
                if challenge.allowed.contains(&FactorKind::Webauthn) =>
            {
                let answer = RegistrationAnswer {
                    ceremony,
                    response,
                    name: "Passkey",
                };
                match self
                    .passkeys
                    .finish_registration(&actor, ctx, &user, &ceremony_binding(&challenge), &answer)
                    .await
                {
                    Ok(registered) => {
                        proved = registered.amr;
                        enrolled = true;
                        true
                    }
                    Err(Error::Invalid(_)) => false,
                    Err(error) => return Err(error),
                }
            }
            (Presented::Register { .. }, _) => false,
            (Presented::Answer(answer), None)
                if challenge.allowed.contains(&FactorKind::Question) =>
            {
                let accepted = match self.active(&user, FactorKind::Question).await? {
                    Some(factor) => {
                        self.factors
                            .check_question(&actor, ctx, &factor, answer)
                            .await?
                            == CodeCheck::Accepted
                    }
                    None => false,
                };
                if accepted {
                    proved = vec![FactorKind::Question.amr().to_owned()];
                }
                accepted
            }
            (Presented::Answer(_), _) => false,
            (Presented::Code(code), Some(id)) => {
                let code = code.trim();
                let factor = d
                    .store
                    .get_factor(id)
                    .await?
                    .filter(|f| f.user_id == user.id && f.status == FactorStatus::Pending)
                    .ok_or(Error::NotFound("challenge"))?;
                enrolled = self.factors.check_totp(&actor, ctx, &factor, code).await?
                    == CodeCheck::Accepted;
                enrolled
            }
            (Presented::Code(code), None) => {
                match self.check_code(ctx, &challenge, &user, code.trim()).await? {
                    Some(method) => {
                        proved = vec![method.to_owned()];
                        true
                    }
                    None => false,
                }
            }
        };
        let now = d.clock.now_millis();
        if !accepted {
            let mut audit = d.audit(
                &actor,
                ctx,
                "mfa.challenge_failed",
                Target::new("user", user.id, Some(user.org_id)),
                json!({}),
            );
            audit.outcome = Outcome::Failure;
            let attempts = d
                .store
                .fail_mfa_challenge(&challenge.handle_hash, &audit)
                .await?;
            let mut counted = d.audit(
                &actor,
                ctx,
                "user.second_factor.verify",
                Target::new("user", user.id, Some(user.org_id)),
                json!({}),
            );
            counted.outcome = Outcome::Failure;
            self.throttle.failed(ctx, &attempt, &counted).await?;
            if attempts >= MAX_ATTEMPTS {
                return Err(Error::NotFound("challenge"));
            }
            return Err(Error::AuthFailed);
        }
        if !d
            .store
            .complete_mfa_challenge(&challenge.handle_hash, now)
            .await?
        {
            return Err(Error::NotFound("challenge"));
        }
        let mut amr = challenge.amr.clone();
        for method in proved {
            if !amr.contains(&method) {
                amr.push(method);
            }
        }
        let session = match challenge.session_id {
            Some(id) => {
                let audit = d.audit(
                    &actor,
                    ctx,
                    "session.stepped_up",
                    Target::new("session", id, Some(user.org_id)),
                    json!({ "amr": amr, "acr": acr::MULTI_FACTOR }),
                );
                if !d
                    .store
                    .elevate_session(id, &amr, acr::MULTI_FACTOR, now, &audit)
                    .await?
                {
                    return Err(Error::NotFound("challenge"));
                }
                Some(
                    d.store
                        .get_session(id)
                        .await?
                        .ok_or(Error::NotFound("challenge"))?,
                )
            }
            None => None,
        };
        let device = if remember && challenge.remember_days > 0 {
            let token = Secret::new(d.rng.token(32));
            let days = challenge.remember_days;
            let audit = d.audit(
                &actor,
                ctx,
                "device.remembered",
                Target::new("user", user.id, Some(user.org_id)),
                json!({ "days": days }),
            );
            d.store
                .trust_device(
                    &TokenHash::of(token.expose()),
                    user.id,
                    now,
                    now + i64::from(days) * 86_400_000,
                    &audit,
                )
                .await?;
            Some((token, days))
        } else {
            None
        };
        let recovery_codes = if enrolled {
            self.factors.new_recovery_codes(&actor, ctx, &user).await?
        } else {
            Vec::new()
        };
        Ok(SecondStep::Verified(Box::new(Verified {
            user,
            amr,
            acr: acr::MULTI_FACTOR.to_owned(),
            session,
            device,
            recovery_codes,
        })))
    }

    /// Tries `code` as the kind its shape says: six digits are an e-mailed
    /// code (when one was sent), a code sent to the phone, or a TOTP code;
    /// anything else a recovery code. The RFC 8176 method it proved, if any.
    async fn check_code(
        &self,
        ctx: &RequestContext,
        challenge: &MfaChallenge,
        user: &User,
        code: &str,
    ) -> Result<Option<&'static str>> {
        let d = &self.deps;
        let allowed = |k| challenge.allowed.contains(&k);
        let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit()) {
            if allowed(FactorKind::Email)
                && challenge.email_code_hash.is_some()
                && d.store
                    .use_mfa_email_code(
                        &challenge.handle_hash,
                        &TokenHash::of(&digits),
                        d.clock.now_millis(),
                    )
                    .await?
            {
                let audit = d.audit(
                    &format!("user:{}", user.id),
                    ctx,
                    "mfa.email_code_used",
                    Target::new("user", user.id, Some(user.org_id)),
                    json!({}),
                );
                d.store.append_audit(&audit).await?;
                return Ok(Some(FactorKind::Email.amr()));
            }
            let actor = format!("user:{}", user.id);
            let phone = if allowed(FactorKind::Phone) && self.factors.phone_available() {
                self.active(user, FactorKind::Phone).await?
            } else {
                None
            };
            if let Some(factor) = &phone
                && self
                    .factors
                    .use_phone_code(&actor, ctx, factor, &digits)
                    .await?
                    == CodeCheck::Accepted
            {
                return Ok(Some(phone_channel(factor).amr()));
            }
            if allowed(FactorKind::Totp) {
                for factor in d.store.list_factors(user.id).await? {
                    if factor.kind == FactorKind::Totp
                        && factor.status == FactorStatus::Active
                        && self
                            .factors
                            .check_totp(&actor, ctx, &factor, &digits)
                            .await?
                            == CodeCheck::Accepted
                    {
                        return Ok(Some(FactorKind::Totp.amr()));
                    }
                }
            }
            // No factor took it: a wrong try against the phone's code.
            if let Some(factor) = &phone {
                self.factors.phone_code_refused(&actor, ctx, factor).await?;
            }
            return Ok(None);
        }
        Ok((allowed(FactorKind::RecoveryCode)
            && self.factors.check_recovery_code(ctx, user, code).await? == CodeCheck::Accepted)
            .then_some(FactorKind::RecoveryCode.amr()))
    }

    /// The user's newest active factor of `kind`.
    async fn active(&self, user: &User, kind: FactorKind) -> Result<Option<Factor>> {
        Ok(self
            .deps
            .store
            .list_factors(user.id)
            .await?
            .into_iter()
            .rfind(|f| f.kind == kind && f.status == FactorStatus::Active))
    }

    /// The kinds of code `user` can present among `allowed`.
    async fn usable_kinds(&self, user: &User, allowed: &[FactorKind]) -> Result<Vec<FactorKind>> {
        let d = &self.deps;
        let mut kinds = Vec::new();
        for kind in allowed {
            let usable = match kind {
                FactorKind::Totp => d
                    .store
                    .list_factors(user.id)
                    .await?
                    .iter()
                    .any(|f| f.kind == FactorKind::Totp && f.status == FactorStatus::Active),
                FactorKind::RecoveryCode => d.store.unused_recovery_codes(user.id).await? > 0,
                FactorKind::Email => self.mailer.is_some() && user.email.is_some(),
                FactorKind::Webauthn => {
                    self.passkeys.available() && !self.passkeys.credentials(user).await?.is_empty()
                }
                FactorKind::Question => self.active(user, FactorKind::Question).await?.is_some(),
                FactorKind::Phone => {
                    self.factors.phone_available()
                        && self.active(user, FactorKind::Phone).await?.is_some()
                }
            };
            if usable {
                kinds.push(*kind);
            }
        }
        Ok(kinds)
    }

    async fn open_challenge(
        &self,
        user: &User,
        session: Option<SessionId>,
        req: &Requirement,
        enrol: Option<FactorId>,
        first: &[String],
    ) -> Result<Secret> {
        let d = &self.deps;
        let now = d.clock.now_millis();
        let handle = Secret::new(d.rng.token(32));
        let amr = match session {
            Some(id) => d
                .store
                .get_session(id)
                .await?
                .map(|s| s.amr)
                .unwrap_or_else(|| first.to_vec()),
            None => first.to_vec(),
        };
        d.store
            .put_mfa_challenge(&MfaChallenge {
                handle_hash: TokenHash::of(handle.expose()),
                user_id: user.id,
                org_id: user.org_id,
                session_id: session,
                amr,
                allowed: req.allowed.clone(),
                enrol_factor_id: enrol,
                remember_days: req.remember_days,
                email_code_hash: None,
                email_expires_at: None,
                attempts: 0,
                created_at: now,
                expires_at: now + CHALLENGE_TTL_SECS * 1000,
                completed_at: None,
            })
            .await?;
        Ok(handle)
    }

    /// The live challenge behind a handle and its (still active) user.
    async fn load(&self, handle: &str) -> Result<(MfaChallenge, User)> {
        let d = &self.deps;
        let challenge = d
            .store
            .get_mfa_challenge(&TokenHash::of(handle), d.clock.now_millis())
            .await?
            .ok_or(Error::NotFound("challenge"))?;
        let user = d
            .store
            .get_user(challenge.user_id)
            .await?
            .filter(|u| u.status == UserStatus::Active)
            .ok_or(Error::NotFound("challenge"))?;
        Ok((challenge, user))
    }

    /// Deletes expired challenges and remembered devices.
    pub async fn purge_expired(&self) -> Result<u64> {
        Ok(self
            .deps
            .store
            .purge_expired_sign_ons(self.deps.clock.now_millis())
            .await?)
    }
}

/// How a phone factor's codes go out (text unless it says voice).
fn phone_channel(factor: &Factor) -> PhoneChannel {
    factor
        .detail
        .as_deref()
        .and_then(PhoneChannel::parse)
        .unwrap_or(PhoneChannel::Sms)
}

/// What a WebAuthn ceremony of the second-factor page is bound to.
fn ceremony_binding(challenge: &MfaChallenge) -> String {
    format!("mfa:{}", challenge.handle_hash.as_str())
}

/// Six random decimal digits (rejection sampling, so every code is equally likely).
pub(crate) fn numeric_code(rng: &dyn crate::clock::Rng) -> Secret {
    loop {
        let mut bytes = [0u8; 4];
        rng.fill(&mut bytes);
        let n = u32::from_le_bytes(bytes);
        // 4_294_000_000 is the largest multiple of 10^6 below 2^32.
        if n < 4_294_000_000 {
            return Secret::new(format!("{:06}", n % 1_000_000));
        }
    }
}
