//! Authentication context classes (SAML 2.0 Authentication Context) and the
//! `<samlp:RequestedAuthnContext>` comparison (SAML 2.0 Core §3.3.2.2.1).
//!
//! The IdP knows two strengths of sign-in: a password (level 1) and a
//! password with a second factor (level 2). Every class it understands maps
//! onto one of them; `unspecified` is level 0 (anything satisfies it).
//! Classes it does not know cannot be satisfied.

/// `urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport`.
pub const PASSWORD_PROTECTED: &str =
    "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport";
/// `…:Password` (a password, transport not stated).
pub const PASSWORD: &str = "urn:oasis:names:tc:SAML:2.0:ac:classes:Password";
pub const UNSPECIFIED: &str = "urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified";
/// REFEDS MFA profile: what a multi-factor sign-in reports by default.
pub const REFEDS_MFA: &str = "https://refeds.org/profile/mfa";
pub const MOBILE_TWO_FACTOR_CONTRACT: &str =
    "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract";
pub const TIME_SYNC_TOKEN: &str = "urn:oasis:names:tc:SAML:2.0:ac:classes:TimeSyncToken";
/// Microsoft Entra ID / AD FS's multi-factor claim.
pub const MS_MULTIPLE_AUTHN: &str = "http://schemas.microsoft.com/claims/multipleauthn";

/// The classes a multi-factor sign-in satisfies.
pub const MULTI_FACTOR: [&str; 4] = [
    REFEDS_MFA,
    MOBILE_TWO_FACTOR_CONTRACT,
    TIME_SYNC_TOKEN,
    MS_MULTIPLE_AUTHN,
];

/// The strength of a class this IdP understands; `None` for the others.
fn level(class: &str) -> Option<u8> {
    match class {
        UNSPECIFIED => Some(0),
        PASSWORD | PASSWORD_PROTECTED => Some(1),
        c if MULTI_FACTOR.contains(&c) => Some(2),
        _ => None,
    }
}

/// `Comparison` (SAML 2.0 Core §3.3.2.2.1); `exact` when absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Comparison {
    #[default]
    Exact,
    Minimum,
    Better,
    Maximum,
}

impl Comparison {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "exact" => Some(Self::Exact),
            "minimum" => Some(Self::Minimum),
            "better" => Some(Self::Better),
            "maximum" => Some(Self::Maximum),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Exact => "exact",
            Self::Minimum => "minimum",
            Self::Better => "better",
            Self::Maximum => "maximum",
        }
    }
}

/// What a `RequestedAuthnContext` asks of the sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// A password sign-in satisfies it.
    Password,
    /// Only a sign-in with a second factor satisfies it.
    MultiFactor,
    /// Nothing this IdP does satisfies it: answer `NoAuthnContext`.
    Impossible,
}

/// `<samlp:RequestedAuthnContext>` with its `AuthnContextClassRef`s, in the
/// SP's order of preference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestedAuthnContext {
    pub comparison: Comparison,
    pub classes: Vec<String>,
}

impl RequestedAuthnContext {
    /// What the request needs: the weakest sign-in that satisfies it.
    pub fn needs(&self) -> Needs {
        if self.class_for(false).is_some() {
            Needs::Password
        } else if self.class_for(true).is_some() {
            Needs::MultiFactor
        } else {
            Needs::Impossible
        }
    }

    /// The class to report for a sign-in with (`multi_factor`) or without a
    /// second factor, or `None` when it does not satisfy the request. A
    /// multi-factor sign-in also proved a password, so it can report a
    /// password class where only that satisfies (`exact`, `maximum`).
    pub fn satisfied_by(&self, multi_factor: bool) -> Option<&str> {
        if multi_factor {
            self.class_for(true).or_else(|| self.class_for(false))
        } else {
            self.class_for(false)
        }
    }

    /// §3.3.2.2.1: the class a sign-in of exactly this strength reports.
    fn class_for(&self, multi_factor: bool) -> Option<&str> {
        let achieved = if multi_factor { 2 } else { 1 };
        let known = || {
            self.classes
                .iter()
                .filter_map(|c| level(c).map(|l| (c.as_str(), l)))
        };
        // What a sign-in of this strength is called when the SP did not name it.
        let own = || {
            if multi_factor {
                known()
                    .find(|(_, l)| *l == 2)
                    .map_or(REFEDS_MFA, |(c, _)| c)
            } else {
                PASSWORD_PROTECTED
            }
        };
        match self.comparison {
            // "Exactly match at least one": the first (preferred) class the sign-in is.
            Comparison::Exact => known()
                .find(|(_, l)| *l == achieved || *l == 0)
                .map(|(c, _)| c),
            // "At least as strong as at least one".
            Comparison::Minimum => known().any(|(_, l)| l <= achieved).then(own),
            // "Stronger than at least one".
            Comparison::Better => known().any(|(_, l)| l < achieved).then(own),
            // "No stronger than any one": at most as strong as the strongest named.
            Comparison::Maximum => known().any(|(_, l)| l >= achieved).then(own),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn request(comparison: Comparison, classes: &[&str]) -> RequestedAuthnContext {
        RequestedAuthnContext {
            comparison,
            classes: classes.iter().map(|c| (*c).to_owned()).collect(),
        }
    }

    #[test]
    fn comparisons_map_onto_password_and_multi_factor() {
        use Comparison::*;
        let cases: &[(Comparison, &[&str], Needs)] = &[
            (Exact, &[PASSWORD_PROTECTED], Needs::Password),
            (Exact, &[REFEDS_MFA], Needs::MultiFactor),
            (
                Exact,
                &[MS_MULTIPLE_AUTHN, PASSWORD_PROTECTED],
                Needs::Password,
            ),
            (
                Exact,
                &["urn:oasis:names:tc:SAML:2.0:ac:classes:X509"],
                Needs::Impossible,
            ),
            (Minimum, &[PASSWORD_PROTECTED], Needs::Password),
            (Minimum, &[TIME_SYNC_TOKEN], Needs::MultiFactor),
            (Better, &[PASSWORD_PROTECTED], Needs::MultiFactor),
            (Better, &[REFEDS_MFA], Needs::Impossible),
            (Better, &[UNSPECIFIED], Needs::Password),
            (Maximum, &[PASSWORD_PROTECTED], Needs::Password),
            (Maximum, &[MOBILE_TWO_FACTOR_CONTRACT], Needs::Password),
            (Maximum, &["urn:x"], Needs::Impossible),
        ];
        for (comparison, classes, needs) in cases {
            assert_eq!(
                request(*comparison, classes).needs(),
                *needs,
                "{comparison:?} {classes:?}"
            );
        }
    }

    #[test]
    fn reported_class_is_the_one_asked_for_or_refeds() {
        let r = request(Comparison::Exact, &[MS_MULTIPLE_AUTHN]);
        assert_eq!(r.satisfied_by(true), Some(MS_MULTIPLE_AUTHN));
        assert_eq!(r.satisfied_by(false), None);
        let r = request(Comparison::Better, &[PASSWORD_PROTECTED]);
        assert_eq!(r.satisfied_by(true), Some(REFEDS_MFA));
        let r = request(Comparison::Minimum, &[PASSWORD_PROTECTED]);
        assert_eq!(r.satisfied_by(false), Some(PASSWORD_PROTECTED));
        let r = request(Comparison::Maximum, &[PASSWORD_PROTECTED]);
        assert_eq!(r.satisfied_by(true), Some(PASSWORD_PROTECTED));
    }
}
