//! Sign-in throttling: the failure counters, their keys, and the back-off
//! schedule ([`ThrottlePolicy`]) that turns a count into a refusal period.
//!
//! A counter is identified by a factor (password or second factor), a scope
//! (account, client IP, account and IP, or a known device of the account) and
//! the values of that scope. Keys and subjects are SHA-256 hashes of those
//! values, so the table holds neither the typed login strings (a password
//! typed into the username box) nor IP addresses in clear, and a megabyte of
//! login text costs 64 characters.

use crate::clock::Millis;
use crate::ids::{OrgId, UserId};
use crate::secret::TokenHash;

/// Which proof a counter counts failures of; each has its own counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Proof {
    Password,
    SecondFactor,
}

impl Proof {
    pub fn as_str(self) -> &'static str {
        match self {
            Proof::Password => "password",
            Proof::SecondFactor => "second_factor",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "password" => Some(Proof::Password),
            "second_factor" => Some(Proof::SecondFactor),
            _ => None,
        }
    }
}

/// What a counter is kept per.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Every attempt on one account from a browser not known for it.
    Account,
    /// Every attempt from one client IP, whatever the account.
    Ip,
    /// Attempts on one account from one client IP.
    AccountIp,
    /// Attempts on one account from one browser that signed in to it before.
    Device,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Account => "account",
            Scope::Ip => "ip",
            Scope::AccountIp => "account_ip",
            Scope::Device => "device",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "account" => Some(Scope::Account),
            "ip" => Some(Scope::Ip),
            "account_ip" => Some(Scope::AccountIp),
            "device" => Some(Scope::Device),
            _ => None,
        }
    }
}

/// Whom an account-scoped counter belongs to: the login as typed (normalised)
/// for passwords, so unknown accounts are counted exactly like known ones;
/// the user for second factors and known devices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Login { org: OrgId, login: String },
    User(UserId),
}

impl Subject {
    /// A password login: trimmed and lower-cased, as usernames and e-mails
    /// are matched (case-insensitively).
    pub fn login(org: OrgId, login: &str) -> Self {
        Subject::Login {
            org,
            login: login.trim().to_lowercase(),
        }
    }

    /// The stored (hashed) form, also what an administrator's lookup computes.
    pub fn hash(&self) -> String {
        match self {
            Subject::Login { org, login } => TokenHash::of(&format!("login\u{0}{org}\u{0}{login}")),
            Subject::User(user) => TokenHash::of(&format!("user\u{0}{user}")),
        }
        .as_str()
        .to_owned()
    }
}

/// One failure counter, named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterKey {
    /// SHA-256 of factor, scope and the scope's values: the primary key.
    pub key: String,
    pub factor: Proof,
    pub scope: Scope,
    /// SHA-256 of the account the counter belongs to (empty for [`Scope::Ip`]),
    /// so an administrator finds and clears an account's counters.
    pub subject: String,
}

impl CounterKey {
    /// The counter of `scope` for `subject` and `extra` (the IP, or the
    /// device's token hash); which of them matter depends on the scope.
    pub fn new(factor: Proof, scope: Scope, subject: Option<&Subject>, extra: &str) -> Self {
        let subject = subject.map(Subject::hash).unwrap_or_default();
        let key = TokenHash::of(&format!(
            "{}\u{0}{}\u{0}{subject}\u{0}{extra}",
            factor.as_str(),
            scope.as_str()
        ))
        .as_str()
        .to_owned();
        Self {
            key,
            factor,
            scope,
            subject,
        }
    }
}

/// A counter as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterState {
    pub key: String,
    pub factor: Proof,
    pub scope: Scope,
    /// Consecutive failures: a failure more than the policy's window after the
    /// previous one starts again at 1.
    pub failures: i64,
    pub last_failure_at: Millis,
    /// Attempts are refused until then (0: never blocked).
    pub blocked_until: Millis,
}

/// A browser that signed in to an account: its cookie's hash, remembered
/// until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownDevice {
    pub token_hash: TokenHash,
    pub user_id: UserId,
    pub last_used_at: Millis,
    pub expires_at: Millis,
}

/// The schedule of one scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Failures answered without any delay.
    pub free_failures: i64,
    /// The refusal after the first failure past the free ones; it doubles with
    /// each further failure (progressive delay).
    pub base_delay_ms: Millis,
    /// The longest progressive delay.
    pub max_delay_ms: Millis,
    /// From this many failures on, each failure locks the counter for `lockout_ms`.
    pub lockout_after: i64,
    pub lockout_ms: Millis,
}

impl Limits {
    /// Until when a counter that has just reached `failures` at `now` refuses
    /// attempts, and whether that is a lockout; `None` while failures are free.
    pub fn blocked_until(&self, failures: i64, now: Millis) -> Option<(Millis, bool)> {
        if failures >= self.lockout_after {
            return Some((now.saturating_add(self.lockout_ms), true));
        }
        let past_free = failures - self.free_failures;
        if past_free <= 0 {
            return None;
        }
        // 1, 2, 4 … times the base, capped; the shift is bounded so it cannot overflow.
        let shift = u32::try_from(past_free - 1).unwrap_or(u32::MAX).min(30);
        let delay = self
            .base_delay_ms
            .saturating_mul(1_i64 << shift)
            .min(self.max_delay_ms);
        Some((now.saturating_add(delay), false))
    }
}

/// How failures are turned into refusals, per scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottlePolicy {
    pub account: Limits,
    pub ip: Limits,
    pub account_ip: Limits,
    pub device: Limits,
    /// A failure this long after the previous one on the same counter starts
    /// the count again; counters idle this long are deleted.
    pub window_ms: Millis,
}

const SECOND: Millis = 1000;
const MINUTE: Millis = 60 * SECOND;

impl Default for ThrottlePolicy {
    /// Account-wide counters tolerate more (anyone can drive them up); one
    /// source on one account, or one known device, less; one IP across many
    /// accounts (credential stuffing) many more.
    fn default() -> Self {
        Self {
            account: Limits {
                free_failures: 5,
                base_delay_ms: SECOND,
                max_delay_ms: MINUTE,
                lockout_after: 20,
                lockout_ms: 15 * MINUTE,
            },
            ip: Limits {
                free_failures: 20,
                base_delay_ms: SECOND,
                max_delay_ms: MINUTE,
                lockout_after: 100,
                lockout_ms: 15 * MINUTE,
            },
            account_ip: Limits {
                free_failures: 3,
                base_delay_ms: SECOND,
                max_delay_ms: MINUTE,
                lockout_after: 10,
                lockout_ms: 15 * MINUTE,
            },
            device: Limits {
                free_failures: 3,
                base_delay_ms: SECOND,
                max_delay_ms: MINUTE,
                lockout_after: 10,
                lockout_ms: 15 * MINUTE,
            },
            window_ms: 60 * MINUTE,
        }
    }
}

impl ThrottlePolicy {
    pub fn limits(&self, scope: Scope) -> &Limits {
        match scope {
            Scope::Account => &self.account,
            Scope::Ip => &self.ip,
            Scope::AccountIp => &self.account_ip,
            Scope::Device => &self.device,
        }
    }

    /// Sets every scope's lockout threshold and duration (the two settings
    /// operators tune), keeping the progressive delays. The IP scope keeps its
    /// multiple of the account threshold.
    pub fn with_lockout(mut self, after: i64, lockout_ms: Millis) -> Self {
        let after = after.max(1);
        self.account.lockout_after = after * 2;
        self.account_ip.lockout_after = after;
        self.device.lockout_after = after;
        self.ip.lockout_after = after * 10;
        for limits in [
            &mut self.account,
            &mut self.ip,
            &mut self.account_ip,
            &mut self.device,
        ] {
            limits.lockout_ms = lockout_ms;
            limits.free_failures = limits.free_failures.min(limits.lockout_after - 1);
        }
        self.window_ms = self.window_ms.max(lockout_ms);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_doubles_past_the_free_failures_then_caps_then_locks() {
        let limits = ThrottlePolicy::default().account_ip;
        let now = 1_000_000;
        let schedule: Vec<_> = (1..=11)
            .map(|n| limits.blocked_until(n, now).map(|(t, l)| (t - now, l)))
            .collect();
        assert_eq!(
            schedule,
            vec![
                None,
                None,
                None,
                Some((1_000, false)),
                Some((2_000, false)),
                Some((4_000, false)),
                Some((8_000, false)),
                Some((16_000, false)),
                Some((32_000, false)),
                Some((15 * MINUTE, true)),
                Some((15 * MINUTE, true)),
            ]
        );
        let capped = Limits {
            lockout_after: 1000,
            ..limits
        };
        assert_eq!(capped.blocked_until(500, 0), Some((MINUTE, false)));
    }

    #[test]
    fn keys_differ_by_factor_scope_and_values_but_not_login_case() {
        let org = OrgId::DEFAULT;
        let alice = Subject::login(org, " Alice ");
        assert_eq!(alice, Subject::login(org, "alice"));
        let a = CounterKey::new(Proof::Password, Scope::Account, Some(&alice), "");
        let b = CounterKey::new(Proof::SecondFactor, Scope::Account, Some(&alice), "");
        let c = CounterKey::new(Proof::Password, Scope::AccountIp, Some(&alice), "10.0.0.1");
        let d = CounterKey::new(Proof::Password, Scope::AccountIp, Some(&alice), "10.0.0.2");
        let keys = [&a.key, &b.key, &c.key, &d.key];
        for (i, x) in keys.iter().enumerate() {
            for y in &keys[i + 1..] {
                assert_ne!(x, y);
            }
        }
        assert_eq!(a.subject, c.subject);
        assert_eq!(a.key.len(), 64);
    }

    #[test]
    fn lockout_settings_apply_to_every_scope() {
        let p = ThrottlePolicy::default().with_lockout(2, 5 * MINUTE);
        assert_eq!(p.account_ip.lockout_after, 2);
        assert_eq!(p.account_ip.free_failures, 1);
        assert_eq!(p.account.lockout_after, 4);
        assert_eq!(p.device.lockout_ms, 5 * MINUTE);
        assert_eq!(p.window_ms, 60 * MINUTE);
    }
}
