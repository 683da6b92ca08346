//! Brute-force and credential-stuffing protection for sign-in: progressive
//! delay and temporary lockout, per account, per client IP and per account and
//! IP, with separate counters per [`Proof`] (password, second factor).
//!
//! How an attempt is judged ([`Throttle::attempt`], [`Throttle::check`]):
//! - From a browser that signed in to this account before (a *known device*,
//!   proven by its device cookie, stored hashed), only that device's own
//!   counter counts. Failures an attacker drives up elsewhere — the
//!   account-wide counter, an IP — cannot lock the owner out of their own
//!   browsers (no lockout-as-DoS).
//! - From anywhere else, the account's counter, the IP's counter and the
//!   account-and-IP counter all count; the longest block wins.
//! - A blocked attempt is refused before the password is looked at (no
//!   oracle), with the seconds to wait; the answer does not depend on whether
//!   the account exists, because password counters are keyed by the login as
//!   typed (normalised), never by whether it names a user.
//!
//! Failures ([`Throttle::failed`]) are counted in the database in one
//! transaction with the failure's audit event, and a lockout's own event when
//! one begins; a success ([`Throttle::succeeded`]) resets the account-and-IP
//! and device counters (not the account-wide one: an attacker must not be able
//! to clear it by a success elsewhere) and extends an already known browser.
//!
//! A browser becomes known only when the whole sign-in completes
//! ([`Throttle::complete_sign_in`]: after the second factor or its enrolment
//! where one was asked, else after the first factor), never after the
//! password alone: a stolen password must not make the thief's browser
//! known, which would exempt it from the account-wide counter and from
//! policies that ask new devices for a second factor. Its first completed
//! sign-in is audited as `device.new`.
//!
//! The second-factor code uses the same calls with [`Proof::SecondFactor`]
//! and [`Subject::User`].

use std::net::IpAddr;
use std::sync::Arc;

use crate::clock::Millis;
use crate::error::{Error, Result};
use crate::ids::{OrgId, UserId};
use crate::model::{
    AuditEvent, CounterKey, CounterState, KnownDevice, Outcome, Proof, Scope, Subject,
    ThrottlePolicy, User,
};
use crate::secret::{Secret, TokenHash};
use crate::services::Deps;
use crate::services::audit::Target;
use crate::services::audit_log::AuditLog;
use crate::services::principal::{AdminPrincipal, RequestContext};

/// A device cookie carries this many random bytes.
const DEVICE_TOKEN_BYTES: usize = 32;

/// Sign-in protection settings.
#[derive(Debug, Clone)]
pub struct SignInSettings {
    /// The back-off schedule per scope.
    pub policy: ThrottlePolicy,
    /// How long a browser stays known after its last sign-in.
    pub device_lifetime_ms: Millis,
    /// Password checks allowed to wait for a hashing slot beyond the ones
    /// running; more are refused at once (`Error::Unavailable`). `None`: four
    /// per slot.
    pub hash_queue: Option<usize>,
}

impl Default for SignInSettings {
    fn default() -> Self {
        Self {
            policy: ThrottlePolicy::default(),
            device_lifetime_ms: 180 * 24 * 3600 * 1000,
            hash_queue: None,
        }
    }
}

/// The counters that judge one attempt, and what a success resets.
#[derive(Debug, Clone)]
pub struct Attempt {
    factor: Proof,
    counters: Vec<CounterKey>,
    reset: Vec<String>,
    /// The presented device cookie's hash, when it is known for the account.
    known_device: Option<TokenHash>,
    actor: String,
    target: Target,
}

impl Attempt {
    /// Whether the attempt comes from a browser known for the account.
    pub fn from_known_device(&self) -> bool {
        self.known_device.is_some()
    }
}

/// Whether an attempt may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Allowed,
    /// Refused unchecked; try again in this many seconds (at least 1).
    Throttled {
        retry_after_secs: u64,
    },
}

/// An account's throttle state, for administrators.
#[derive(Debug, Clone)]
pub struct Lockout {
    /// Until when the account refuses sign-ins from browsers not known for it
    /// (the latest account-wide block), if it does now.
    pub locked_until: Option<Millis>,
    /// Every counter of the account: account-wide, per IP, per known device.
    pub counters: Vec<CounterState>,
}

#[derive(Debug, Clone)]
pub struct Throttle {
    deps: Deps,
    settings: Arc<SignInSettings>,
    audit_log: AuditLog,
}

impl Throttle {
    pub(crate) fn new(deps: Deps, settings: SignInSettings, audit_log: AuditLog) -> Self {
        Self {
            deps,
            settings: Arc::new(settings),
            audit_log,
        }
    }

    pub fn policy(&self) -> &ThrottlePolicy {
        &self.settings.policy
    }

    /// How long a device cookie should live in the browser, in seconds.
    pub fn device_lifetime_secs(&self) -> i64 {
        self.settings.device_lifetime_ms / 1000
    }

    /// The counters for an attempt of `factor` on `subject` (the typed login
    /// for passwords, the user for second factors) by the caller of `ctx`.
    /// `user` is the account the subject names, if any; `device` the device
    /// cookie the browser sent. Costs the same store work whether or not
    /// `user` exists.
    pub async fn attempt(
        &self,
        ctx: &RequestContext,
        factor: Proof,
        subject: &Subject,
        org: OrgId,
        user: Option<UserId>,
        device: Option<&Secret>,
    ) -> Result<Attempt> {
        let now = self.deps.clock.now_millis();
        let known_device = match device {
            Some(cookie) if !cookie.is_empty() => {
                let hash = TokenHash::of(cookie.expose());
                // Asked even for an unknown account (of an id no user has), so
                // the store work does not tell the two apart.
                let asked = user.unwrap_or_else(no_user);
                let known = self.deps.store.is_known_device(&hash, asked, now).await?;
                (known && user.is_some()).then_some(hash)
            }
            _ => None,
        };
        let ip = ctx.ip.as_deref().map(ip_bucket);
        let mut counters = Vec::with_capacity(3);
        let mut reset = Vec::with_capacity(2);
        if let (Some(hash), Some(user)) = (&known_device, user) {
            let device = CounterKey::new(
                factor,
                Scope::Device,
                Some(&Subject::User(user)),
                hash.as_str(),
            );
            reset.push(device.key.clone());
            counters.push(device);
        } else {
            counters.push(CounterKey::new(factor, Scope::Account, Some(subject), ""));
        }
        if let Some(ip) = &ip {
            let account_ip = CounterKey::new(factor, Scope::AccountIp, Some(subject), ip);
            reset.push(account_ip.key.clone());
            if known_device.is_none() {
                counters.push(CounterKey::new(factor, Scope::Ip, None, ip));
                counters.push(account_ip);
            }
        }
        let (actor, target) = match user {
            Some(id) => (format!("user:{id}"), Target::new("user", id, Some(org))),
            None => ("anonymous".to_owned(), Target::new("org", org, Some(org))),
        };
        Ok(Attempt {
            factor,
            counters,
            reset,
            known_device,
            actor,
            target,
        })
    }

    /// The counters for an attempt that names no account until it succeeds
    /// (a username-less passkey sign-in): the client IP's only, so failures
    /// slow that source down and never lock anyone's account. Without a
    /// client IP there is nothing to count.
    pub fn anonymous_attempt(&self, ctx: &RequestContext, factor: Proof, org: OrgId) -> Attempt {
        let counters = ctx
            .ip
            .as_deref()
            .map(|ip| CounterKey::new(factor, Scope::Ip, None, &ip_bucket(ip)))
            .into_iter()
            .collect();
        Attempt {
            factor,
            counters,
            reset: Vec::new(),
            known_device: None,
            actor: "anonymous".to_owned(),
            target: Target::new("org", org, Some(org)),
        }
    }

    /// Whether `attempt` may go ahead now. A refusal is audited
    /// (`user.sign_in.throttled`).
    pub async fn check(&self, ctx: &RequestContext, attempt: &Attempt) -> Result<Admission> {
        let d = &self.deps;
        let now = d.clock.now_millis();
        let keys: Vec<String> = attempt.counters.iter().map(|c| c.key.clone()).collect();
        let states = d.store.sign_in_counters(&keys).await?;
        let Some(blocking) = states
            .iter()
            .filter(|s| s.blocked_until > now)
            .max_by_key(|s| s.blocked_until)
        else {
            return Ok(Admission::Allowed);
        };
        let wait_ms = blocking.blocked_until - now;
        let retry_after_secs = u64::try_from(wait_ms).unwrap_or(0).div_ceil(1000).max(1);
        let mut event = d.audit(
            &attempt.actor,
            ctx,
            "user.sign_in.throttled",
            attempt.target.clone(),
            serde_json::json!({
                "factor": attempt.factor.as_str(),
                "scope": blocking.scope.as_str(),
                "failures": blocking.failures,
                "retry_after": retry_after_secs,
                "known_device": attempt.from_known_device(),
            }),
        );
        event.outcome = Outcome::Failure;
        // Refusals change nothing stored: group-committed, so a flood of them
        // costs the database one transaction per batch, not per attempt.
        self.audit_log.record(event).await?;
        Ok(Admission::Throttled { retry_after_secs })
    }

    /// Counts a failed attempt, writing `failure` (the refusal's audit event)
    /// with the counts, and a `user.sign_in.locked` event when a lockout begins.
    pub async fn failed(
        &self,
        ctx: &RequestContext,
        attempt: &Attempt,
        failure: &AuditEvent,
    ) -> Result<()> {
        let d = &self.deps;
        let mut lockout = d.audit(
            &attempt.actor,
            ctx,
            "user.sign_in.locked",
            attempt.target.clone(),
            serde_json::json!({ "factor": attempt.factor.as_str() }),
        );
        lockout.outcome = Outcome::Failure;
        d.store
            .count_sign_in_failure(
                &attempt.counters,
                &self.settings.policy,
                d.clock.now_millis(),
                failure,
                &lockout,
            )
            .await?;
        Ok(())
    }

    /// Records a successful attempt by `user`: resets its account-and-IP and
    /// device counters, extends the browser's known-device record when it
    /// is already known for this user (a browser not yet known becomes known
    /// only at [`Self::complete_sign_in`]), writes `success`. Returns whether
    /// the browser is a known device of the user.
    pub async fn succeeded(
        &self,
        attempt: &Attempt,
        user: UserId,
        success: &AuditEvent,
    ) -> Result<bool> {
        let d = &self.deps;
        let now = d.clock.now_millis();
        let known = attempt.known_device.as_ref().map(|hash| KnownDevice {
            token_hash: hash.clone(),
            user_id: user,
            last_used_at: now,
            expires_at: now.saturating_add(self.settings.device_lifetime_ms),
        });
        d.store
            .record_sign_in(&attempt.reset, known.as_ref(), success)
            .await?;
        Ok(known.is_some())
    }

    /// Whether the browser whose device cookie is `cookie` is a known device
    /// of `user` (a record for this user, not expired).
    pub async fn knows(&self, user: UserId, cookie: Option<&str>) -> Result<bool> {
        match cookie {
            Some(cookie) if !cookie.is_empty() => Ok(self
                .deps
                .store
                .is_known_device(&TokenHash::of(cookie), user, self.deps.clock.now_millis())
                .await?),
            _ => Ok(false),
        }
    }

    /// A sign-in of `user` completed in the browser that sent device cookie
    /// `presented`: the browser is (now) a known device of the user. Returns
    /// the device cookie to set: the presented one when it was already known
    /// for this user, else a new one, recorded with a `device.new` audit
    /// event (never one the browser was handed by someone else and that we
    /// did not issue for this account).
    pub async fn complete_sign_in(
        &self,
        ctx: &RequestContext,
        user: &User,
        presented: Option<&Secret>,
    ) -> Result<Secret> {
        let d = &self.deps;
        if let Some(cookie) = presented
            && self.knows(user.id, Some(cookie.expose())).await?
        {
            return Ok(cookie.clone());
        }
        let now = d.clock.now_millis();
        let cookie = Secret::new(d.rng.token(DEVICE_TOKEN_BYTES));
        let known = KnownDevice {
            token_hash: TokenHash::of(cookie.expose()),
            user_id: user.id,
            last_used_at: now,
            expires_at: now.saturating_add(self.settings.device_lifetime_ms),
        };
        let audit = d.audit(
            &format!("user:{}", user.id),
            ctx,
            "device.new",
            Target::new("user", user.id, Some(user.org_id)),
            // The event's own ip and user agent say where the browser is.
            serde_json::json!({}),
        );
        d.store.record_sign_in(&[], Some(&known), &audit).await?;
        Ok(cookie)
    }

    /// The lockout state of `user`'s account.
    pub async fn lockout(&self, who: &AdminPrincipal, user: UserId) -> Result<Lockout> {
        let subjects = self.subjects_of(who, user).await?;
        let counters = self.deps.store.sign_in_counters_of(&subjects).await?;
        let now = self.deps.clock.now_millis();
        let locked_until = counters
            .iter()
            .filter(|c| c.scope == Scope::Account && c.blocked_until > now)
            .map(|c| c.blocked_until)
            .max();
        Ok(Lockout {
            locked_until,
            counters,
        })
    }

    /// Clears every counter of `user`'s account (audited as `user.lockout.clear`).
    pub async fn clear_lockout(
        &self,
        who: &AdminPrincipal,
        ctx: &RequestContext,
        user: UserId,
    ) -> Result<()> {
        let subjects = self.subjects_of(who, user).await?;
        let org = self.deps.store.get_user(user).await?.map(|u| u.org_id);
        let audit = self.deps.audit(
            who.actor(),
            ctx,
            "user.lockout.clear",
            Target::new("user", user, org),
            serde_json::json!({}),
        );
        self.deps
            .store
            .clear_sign_in_counters(&subjects, &audit)
            .await?;
        Ok(())
    }

    /// Deletes counters and devices that no longer matter (maintenance).
    pub async fn purge(&self) -> Result<u64> {
        Ok(self
            .deps
            .store
            .purge_sign_in_throttle(self.deps.clock.now_millis())
            .await?)
    }

    /// The subjects an account's counters are kept under: its username and
    /// e-mail as logins, and the user itself.
    async fn subjects_of(&self, who: &AdminPrincipal, user: UserId) -> Result<Vec<String>> {
        let found = self.deps.store.get_user(user).await?;
        let Some(found) = found.filter(|u| who.can_access(u.org_id)) else {
            return Err(Error::NotFound("user"));
        };
        let mut subjects = vec![
            Subject::login(found.org_id, &found.username).hash(),
            Subject::User(found.id).hash(),
        ];
        if let Some(email) = &found.email {
            subjects.push(Subject::login(found.org_id, email).hash());
        }
        Ok(subjects)
    }
}

/// An id no user has, for the device lookup of an unknown account.
fn no_user() -> UserId {
    UserId(uuid::Uuid::nil())
}

/// The unit an IP counter counts: the address for IPv4, its /64 for IPv6 (one
/// subscriber usually holds a whole /64). Unparseable text counts as itself.
pub(crate) fn ip_bucket(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(IpAddr::V6(v6)) => v6
            .to_ipv4_mapped()
            .map_or_else(|| ip.to_owned(), |v4| v4.to_string()),
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => ip.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_counts_per_64_and_mapped_v4_as_v4() {
        assert_eq!(ip_bucket("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
        assert_eq!(ip_bucket("2001:db8:1:2::9"), "2001:db8:1:2::/64");
        assert_eq!(ip_bucket("::ffff:192.0.2.1"), "192.0.2.1");
        assert_eq!(ip_bucket("192.0.2.1"), "192.0.2.1");
        assert_eq!(ip_bucket("nonsense"), "nonsense");
    }
}
