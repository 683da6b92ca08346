//! Scopes: the RFC 6749 §3.3 `scope` syntax and [`Scopes`], a set of scope
//! tokens kept sorted and without duplicates, so two requests for the same
//! scopes in a different order compare (and store, and remember consent) equal.

use std::collections::BTreeSet;
use std::fmt;

use crate::error::{ErrorCode, OAuthError};

/// The scope that turns an OAuth request into an OpenID Connect one
/// (OpenID Connect Core §3.1.2.1).
pub const OPENID: &str = "openid";

/// The scope that asks for a refresh token (OpenID Connect Core §11).
pub const OFFLINE_ACCESS: &str = "offline_access";

/// A set of scope tokens.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Scopes(BTreeSet<String>);

impl Scopes {
    /// Parses a `scope` parameter value.
    ///
    /// RFC 6749 §3.3: `scope = scope-token *( SP scope-token )` and
    /// `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )` — tokens separated by
    /// single spaces, no leading or trailing space, no `"` or `\`. A repeated
    /// token is kept once. An empty string is the empty set (RFC 6749 §3.1
    /// treats an empty parameter as absent).
    pub fn parse(value: &str) -> Result<Self, OAuthError> {
        if value.is_empty() {
            return Ok(Self::default());
        }
        let mut set = BTreeSet::new();
        for token in value.split(' ') {
            if token.is_empty() || !token.bytes().all(is_scope_char) {
                return Err(OAuthError::with_description(
                    ErrorCode::InvalidScope,
                    "scope must be single-space-separated tokens of printable ASCII without quotes or backslashes",
                ));
            }
            set.insert(token.to_owned());
        }
        Ok(Self(set))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn contains(&self, token: &str) -> bool {
        self.0.contains(token)
    }

    /// Whether every token of `self` is in `other` (a refresh may narrow the
    /// granted scope, never widen it: RFC 6749 §6).
    pub fn is_subset(&self, other: &Scopes) -> bool {
        self.0.is_subset(&other.0)
    }

    /// The tokens in sorted order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// The tokens present in both sets.
    pub fn intersection(&self, other: &Scopes) -> Scopes {
        Scopes(self.0.intersection(&other.0).cloned().collect())
    }

    /// Whether this is an OpenID Connect request (it asks for `openid`).
    pub fn is_openid(&self) -> bool {
        self.contains(OPENID)
    }
}

impl fmt::Display for Scopes {
    /// The `scope` parameter form: tokens joined by single spaces.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, token) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(token)?;
        }
        Ok(())
    }
}

impl FromIterator<String> for Scopes {
    /// Collects tokens that are already known to be valid (e.g. from storage or
    /// configuration); use [`Scopes::parse`] for request input.
    fn from_iter<I: IntoIterator<Item = String>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl serde::Serialize for Scopes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Scopes {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        Scopes::parse(&value).map_err(serde::de::Error::custom)
    }
}

/// RFC 6749 §3.3: NQCHAR = %x21 / %x23-5B / %x5D-7E.
fn is_scope_char(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x5b | 0x5d..=0x7e)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Ok(display form)` or the error code.
    fn check(input: &str, expected: Result<&str, ErrorCode>) {
        let parsed = Scopes::parse(input);
        assert_eq!(
            parsed.as_ref().map(ToString::to_string).map_err(|e| e.code),
            expected.map(str::to_owned),
            "{input:?}"
        );
        if let Ok(scopes) = parsed {
            // Display is a fixed point of parse.
            assert_eq!(
                Scopes::parse(&scopes.to_string()).ok(),
                Some(scopes.clone())
            );
            let json = serde_json::to_string(&scopes).unwrap_or_default();
            assert_eq!(serde_json::from_str::<Scopes>(&json).ok(), Some(scopes));
        }
    }

    #[test]
    fn parse_follows_rfc_6749_section_3_3() {
        check("", Ok(""));
        check("openid", Ok("openid"));
        check("profile openid email", Ok("email openid profile"));
        check("openid openid", Ok("openid"));
        check(
            "read:orders https://api.example.com/x!#$%&'()*+,-./:;<=>?@[]^_`{|}~",
            Ok("https://api.example.com/x!#$%&'()*+,-./:;<=>?@[]^_`{|}~ read:orders"),
        );
        check(" openid", Err(ErrorCode::InvalidScope));
        check("openid ", Err(ErrorCode::InvalidScope));
        check("openid  email", Err(ErrorCode::InvalidScope));
        check("openid\temail", Err(ErrorCode::InvalidScope));
        check("say\"hi\"", Err(ErrorCode::InvalidScope));
        check("back\\slash", Err(ErrorCode::InvalidScope));
        check("café", Err(ErrorCode::InvalidScope));
        check("a\u{7f}", Err(ErrorCode::InvalidScope));
    }

    #[test]
    fn set_operations() {
        let scopes = |s: &str| Scopes::parse(s).unwrap_or_default();
        let granted = scopes("openid profile email offline_access");
        assert!(scopes("openid email").is_subset(&granted));
        assert!(!scopes("openid address").is_subset(&granted));
        assert!(scopes("").is_subset(&granted));
        assert!(granted.contains(OFFLINE_ACCESS) && granted.is_openid());
        assert!(!scopes("profile").is_openid());
        assert_eq!(
            granted.intersection(&scopes("email address")),
            scopes("email")
        );
        assert_eq!(granted.len(), 4);
        assert_eq!(
            granted.iter().collect::<Vec<_>>(),
            ["email", "offline_access", "openid", "profile"]
        );
    }
}
