//! [`PasswordPolicy`]: what a new password must satisfy, and the
//! machine-readable [`Violation`]s reported when it does not.
//!
//! Lengths are counted in UTF-8 bytes (the stored limit is on bytes; no
//! Unicode normalisation). Messages never repeat the password.

use std::fmt;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::common_passwords;
use crate::secret::Secret;

/// Shortest name or e-mail local part matched as a whole against the password.
const MIN_WHOLE_FRAGMENT: usize = 3;
/// Shortest word of a name (split at punctuation) matched against the password.
const MIN_WORD_FRAGMENT: usize = 4;

/// Rules for new passwords. Deserialises with defaults for missing fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordPolicy {
    /// Minimum length in UTF-8 bytes (default 8).
    pub min_length: usize,
    /// Maximum length in UTF-8 bytes (default 256).
    pub max_length: usize,
    /// Reject passwords on the common-password list (default true).
    pub reject_common: bool,
    /// How many previous passwords may not be reused (default 0: no check);
    /// see [`PasswordPolicy::reused`].
    pub history: u32,
    /// Reject passwords containing the username or e-mail address (default true).
    pub reject_user_info: bool,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: 8,
            max_length: 256,
            reject_common: true,
            history: 0,
            reject_user_info: true,
        }
    }
}

/// What is known about the account the password is for.
#[derive(Debug, Clone, Copy, Default)]
pub struct PolicyContext<'a> {
    pub username: Option<&'a str>,
    pub email: Option<&'a str>,
}

/// One rule a password broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Violation {
    TooShort { min: usize },
    TooLong { max: usize },
    Common,
    ContainsUserInfo,
}

impl Violation {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Violation::TooShort { .. } => "too_short",
            Violation::TooLong { .. } => "too_long",
            Violation::Common => "common",
            Violation::ContainsUserInfo => "contains_user_info",
        }
    }

    /// Human-readable explanation; never contains the password.
    pub fn message(&self) -> String {
        match self {
            // Fewer bytes than `min` means fewer characters too, so "characters" is true here.
            Violation::TooShort { min } => {
                format!("Password must be at least {min} characters long.")
            }
            Violation::TooLong { max } => format!(
                "Password must be at most {max} bytes long (characters outside ASCII count as 2 to 4 bytes)."
            ),
            Violation::Common => "This password is too common.".to_owned(),
            Violation::ContainsUserInfo => {
                "Password must not contain your username or e-mail address.".to_owned()
            }
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Serialised as `{"code": "...", "message": "..."}`.
impl Serialize for Violation {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut out = serializer.serialize_struct("Violation", 2)?;
        out.serialize_field("code", self.code())?;
        out.serialize_field("message", &self.message())?;
        out.end()
    }
}

/// Every rule a password broke, in a fixed order (length, common, user info).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(transparent)]
pub struct PolicyViolations(Vec<Violation>);

impl PolicyViolations {
    pub fn violations(&self) -> &[Violation] {
        &self.0
    }

    pub fn codes(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0.iter().map(Violation::code)
    }
}

impl fmt::Display for PolicyViolations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("password rejected by policy: ")?;
        for (i, violation) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(violation.code())?;
        }
        Ok(())
    }
}

impl PasswordPolicy {
    /// Checks a new password against every rule and reports all it breaks.
    /// An over-long password is reported as `too_long` alone: it is rejected
    /// anyway and is not worth scanning further.
    pub fn check(
        &self,
        password: &Secret,
        context: &PolicyContext<'_>,
    ) -> Result<(), PolicyViolations> {
        let length = password.len();
        if length > self.max_length {
            return Err(PolicyViolations(vec![Violation::TooLong {
                max: self.max_length,
            }]));
        }
        let mut found = Vec::new();
        if length < self.min_length {
            found.push(Violation::TooShort {
                min: self.min_length,
            });
        }
        if self.reject_common && common_passwords::is_common(password.expose()) {
            found.push(Violation::Common);
        }
        if self.reject_user_info && contains_user_info(password.expose(), context) {
            found.push(Violation::ContainsUserInfo);
        }
        if found.is_empty() {
            Ok(())
        } else {
            Err(PolicyViolations(found))
        }
    }
}

/// Whether the password contains, ignoring case, the username, the e-mail
/// local part, or any word of four or more letters from either.
fn contains_user_info(password: &str, context: &PolicyContext<'_>) -> bool {
    let password = Zeroizing::new(password.to_lowercase());
    let local_part = context
        .email
        .map(|email| email.rsplit_once('@').map_or(email, |(local, _)| local));
    [context.username, local_part]
        .into_iter()
        .flatten()
        .map(str::to_lowercase)
        .any(|value| {
            let whole = value.trim();
            (whole.chars().count() >= MIN_WHOLE_FRAGMENT && password.contains(whole))
                || whole
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|word| word.chars().count() >= MIN_WORD_FRAGMENT)
                    .any(|word| password.contains(word))
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn codes(
        policy: &PasswordPolicy,
        password: &str,
        context: &PolicyContext<'_>,
    ) -> Vec<&'static str> {
        match policy.check(&Secret::new(password), context) {
            Ok(()) => Vec::new(),
            Err(violations) => violations.codes().collect(),
        }
    }

    #[test]
    fn policy_defaults_match_the_issue() {
        let policy = PasswordPolicy::default();
        assert_eq!(
            (
                policy.min_length,
                policy.max_length,
                policy.reject_common,
                policy.history,
                policy.reject_user_info
            ),
            (8, 256, true, 0, true)
        );
        let parsed: PasswordPolicy = serde_json::from_str(r#"{"min_length": 12}"#).unwrap();
        assert_eq!(
            parsed,
            PasswordPolicy {
                min_length: 12,
                ..PasswordPolicy::default()
            }
        );
    }

    #[test]
    fn policy_check_table() {
        let policy = PasswordPolicy::default();
        let alice = PolicyContext {
            username: Some("alice"),
            email: Some("Alice.Liddell@wonderland.example"),
        };
        let none = PolicyContext::default();
        let table: &[(&str, &PolicyContext<'_>, &[&str])] = &[
            ("kV9#qTz!w2Lm@8Rb", &none, &[]),
            ("short", &none, &["too_short"]),
            // 4 characters but 12 bytes: long enough, as length is counted in bytes.
            ("日本語語", &none, &[]),
            ("password", &none, &["common"]),
            ("123456789", &none, &["common"]),
            ("qwertyuiop", &none, &["common"]),
            ("QwertyUiop", &none, &["common"]),
            ("abc", &none, &["too_short", "common"]),
            ("xx-alice-1234-yy", &alice, &["contains_user_info"]),
            ("xxALICE1234yy", &alice, &["contains_user_info"]),
            ("liddell-zq-8841", &alice, &["contains_user_info"]),
            ("zq8841wonderland", &alice, &[]),
            ("kV9#qTz!w2Lm@8Rb", &alice, &[]),
        ];
        for (password, context, expected) in table {
            assert_eq!(
                &codes(&policy, password, context),
                expected,
                "password {password:?}"
            );
        }
    }

    #[test]
    fn policy_length_limits_are_bytes() {
        let policy = PasswordPolicy::default();
        let none = PolicyContext::default();
        assert!(codes(&policy, &"x7".repeat(128), &none).is_empty());
        assert_eq!(
            codes(&policy, &"x7".repeat(128).replace('x', "é"), &none),
            ["too_long"]
        );
        assert_eq!(codes(&policy, &"a".repeat(257), &none), ["too_long"]);
    }

    #[test]
    fn policy_switches_turn_checks_off() {
        let lenient = PasswordPolicy {
            reject_common: false,
            reject_user_info: false,
            ..PasswordPolicy::default()
        };
        let bob = PolicyContext {
            username: Some("bobby"),
            email: None,
        };
        assert!(codes(&lenient, "password", &bob).is_empty());
        assert!(codes(&lenient, "bobby-1234", &bob).is_empty());
    }

    #[test]
    fn policy_random_16_char_password_passes() {
        use crate::clock::{Rng as _, SystemRng};
        let password = SystemRng::new().token(12); // 12 bytes → 16 base64url characters
        assert_eq!(password.len(), 16);
        assert!(
            codes(
                &PasswordPolicy::default(),
                &password,
                &PolicyContext::default()
            )
            .is_empty()
        );
    }

    #[test]
    fn policy_violations_never_echo_the_password() {
        let password = "hunter2";
        let context = PolicyContext {
            username: Some("hunter"),
            email: None,
        };
        let violations = PasswordPolicy::default()
            .check(&Secret::new(password), &context)
            .unwrap_err();
        let rendered = format!(
            "{violations} {violations:?} {}",
            serde_json::to_string(&violations).unwrap()
        );
        assert!(!rendered.contains(password), "{rendered}");
        assert_eq!(
            serde_json::to_value(&violations).unwrap()[0]["code"],
            "too_short"
        );
    }
}
