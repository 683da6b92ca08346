//! Redirect URIs: which URIs a client may register, and whether a requested
//! URI matches the registration.
//!
//! Registration accepts `https` URIs, `http` only on the loopback interface
//! (RFC 8252 §7.3 and §8.3), and private-use reverse-domain schemes of native
//! apps (RFC 8252 §7.1). Matching is a simple string comparison (RFC 6749
//! §3.1.2.3), with one exception: for an `http` loopback IP literal the port
//! may differ (RFC 8252 §7.3). A [`ValidatedRedirectUri`] can only come out of
//! [`resolve`], so code that redirects cannot be handed an unchecked URI.

use std::fmt;

use url::Url;

use crate::error::{ErrorCode, OAuthError};

/// Why a URI cannot be registered as a redirect URI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RedirectUriError {
    #[error("not an absolute URI")]
    NotAbsolute,
    #[error("contains a fragment")]
    Fragment,
    #[error("contains whitespace or control characters")]
    IllegalCharacter,
    #[error("http is allowed only for loopback redirects (127.0.0.1, [::1], localhost)")]
    InsecureHttp,
    #[error("custom schemes must be reverse domain names such as com.example.app")]
    NotReverseDomainScheme,
}

impl RedirectUriError {
    /// The registration error (RFC 7591 §3.2.2: `invalid_redirect_uri`).
    pub fn to_oauth_error(self) -> OAuthError {
        let description = match self {
            Self::NotAbsolute => "redirect URIs must be absolute",
            Self::Fragment => "redirect URIs must not contain a fragment",
            Self::IllegalCharacter => {
                "redirect URIs must not contain whitespace or control characters"
            }
            Self::InsecureHttp => "http redirect URIs are allowed only on the loopback interface",
            Self::NotReverseDomainScheme => {
                "custom redirect URI schemes must be reverse domain names"
            }
        };
        OAuthError::with_description(ErrorCode::InvalidRedirectUri, description)
    }
}

/// Checks a URI a client wants to register (as a redirect URI or a
/// post-logout redirect URI).
///
/// RFC 6749 §3.1.2: the URI MUST be absolute and MUST NOT include a fragment;
/// §3.1.2.1: TLS SHOULD be required, and here it is, except on loopback where
/// RFC 8252 §7.3 prescribes `http` (`localhost` is accepted as §8.3 describes,
/// though it is NOT RECOMMENDED). RFC 8252 §7.1: a private-use scheme MUST be
/// a reverse domain name, which also shuts out `javascript:`, `data:` and
/// `file:`.
pub fn validate_registration(uri: &str) -> Result<(), RedirectUriError> {
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(RedirectUriError::IllegalCharacter);
    }
    if uri.contains('#') {
        return Err(RedirectUriError::Fragment);
    }
    let parsed = Url::parse(uri).map_err(|_| RedirectUriError::NotAbsolute)?;
    match parsed.scheme() {
        "https" => Ok(()),
        "http" => match parsed.host_str() {
            Some("127.0.0.1" | "[::1]" | "localhost") => Ok(()),
            _ => Err(RedirectUriError::InsecureHttp),
        },
        scheme if is_reverse_domain(scheme) => Ok(()),
        _ => Err(RedirectUriError::NotReverseDomainScheme),
    }
}

/// A redirect URI that matched the client's registration.
#[derive(Clone, PartialEq, Eq)]
pub struct ValidatedRedirectUri {
    uri: String,
    explicit: bool,
}

impl ValidatedRedirectUri {
    pub fn as_str(&self) -> &str {
        &self.uri
    }

    /// Whether the authorization request carried `redirect_uri`. If it did,
    /// RFC 6749 §4.1.3 requires the token request to carry the identical value.
    pub fn was_requested(&self) -> bool {
        self.explicit
    }
}

impl fmt::Debug for ValidatedRedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ValidatedRedirectUri")
            .field(&self.uri)
            .finish()
    }
}

/// Decides where an authorization response may go.
///
/// RFC 6749 §3.1.2.3: with a `redirect_uri` in the request it must match a
/// registered URI — by simple string comparison, except that RFC 8252 §7.3
/// says the server MUST allow any port for loopback IP redirect URIs. Without
/// one, the client must have exactly one registered URI. A failure here must
/// be shown to the user, never redirected (RFC 6749 §4.1.2.1).
pub fn resolve(
    requested: Option<&str>,
    registered: &[String],
) -> Result<ValidatedRedirectUri, OAuthError> {
    match requested {
        Some(uri) => {
            if registered
                .iter()
                .any(|r| r == uri || loopback_matches(r, uri))
            {
                Ok(ValidatedRedirectUri {
                    uri: uri.to_owned(),
                    explicit: true,
                })
            } else {
                Err(OAuthError::with_description(
                    ErrorCode::InvalidRequest,
                    "redirect_uri does not match any URI registered for this client",
                ))
            }
        }
        None => match registered {
            [only] => Ok(ValidatedRedirectUri {
                uri: only.clone(),
                explicit: false,
            }),
            [] => Err(OAuthError::with_description(
                ErrorCode::InvalidRequest,
                "the client has no registered redirect URI",
            )),
            _ => Err(OAuthError::with_description(
                ErrorCode::InvalidRequest,
                "redirect_uri is required: the client has more than one registered",
            )),
        },
    }
}

/// Whether a `post_logout_redirect_uri` is one the client registered.
///
/// OpenID Connect RP-Initiated Logout 1.0 §2: the value MUST have been
/// previously registered. Matching is exact string comparison; the RFC 8252
/// loopback port exception is defined for authorization redirects only.
pub fn matches_post_logout(requested: &str, registered: &[String]) -> bool {
    registered.iter().any(|r| r == requested)
}

/// RFC 8252 §7.3: `http://127.0.0.1:{port}/{path}` and `http://[::1]:{port}/{path}`
/// match when everything but the port is byte-for-byte equal.
fn loopback_matches(registered: &str, requested: &str) -> bool {
    match (split_loopback(registered), split_loopback(requested)) {
        (Some((host_a, rest_a)), Some((host_b, rest_b))) => host_a == host_b && rest_a == rest_b,
        _ => false,
    }
}

/// `http://<loopback IP literal>[:port]<rest>` → (host, rest), with the port
/// (if any) all digits. `localhost` is not an IP literal and gets no exception.
fn split_loopback(uri: &str) -> Option<(&str, &str)> {
    let after_scheme = uri.strip_prefix("http://")?;
    let authority_end = after_scheme
        .find(['/', '?', '#'])
        .unwrap_or(after_scheme.len());
    let (authority, rest) = after_scheme.split_at(authority_end);
    let host = ["127.0.0.1", "[::1]"]
        .into_iter()
        .find(|h| authority.starts_with(h))?;
    let port = &authority[host.len()..];
    let port_ok = port.is_empty()
        || port.strip_prefix(':').is_some_and(|digits| {
            !digits.is_empty() && digits.len() <= 5 && digits.bytes().all(|b| b.is_ascii_digit())
        });
    port_ok.then_some((host, rest))
}

/// RFC 8252 §7.1: a scheme based on a domain name, in reverse order
/// (`com.example.app`): at least two dot-separated labels.
fn is_reverse_domain(scheme: &str) -> bool {
    let labels: Vec<&str> = scheme.split('.').collect();
    labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    enum Input<'a> {
        /// A URI offered for registration.
        Register(&'a str),
        /// A requested `redirect_uri` (or none) against registered URIs.
        Resolve(Option<&'a str>, &'a [&'a str]),
        /// A requested `post_logout_redirect_uri` against registered URIs.
        PostLogout(&'a str, &'a [&'a str]),
    }

    /// `Ok(uri redirected to)` / `Ok("")` for an accepted registration or
    /// post-logout URI; `Err(description of failure)` otherwise.
    fn check(input: Input<'_>, expected: Result<&str, &str>) {
        let owned = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let actual: Result<String, String> = match input {
            Input::Register(uri) => validate_registration(uri)
                .map(|()| String::new())
                .map_err(|e| e.to_string()),
            Input::Resolve(requested, registered) => resolve(requested, &owned(registered))
                .map(|v| v.as_str().to_owned())
                .map_err(|e| e.to_string()),
            Input::PostLogout(requested, registered) => {
                if matches_post_logout(requested, &owned(registered)) {
                    Ok(String::new())
                } else {
                    Err("no match".into())
                }
            }
        };
        let expected = expected.map(str::to_owned).map_err(str::to_owned);
        match (&actual, &expected) {
            (Ok(a), Ok(e)) => assert_eq!(a, e),
            (Err(a), Err(e)) => assert!(a.contains(e.as_str()), "{a:?} should mention {e:?}"),
            _ => assert_eq!(actual, expected),
        }
    }

    #[test]
    fn registration_rules() {
        let ok = Ok("");
        check(Input::Register("https://app.example.com/cb"), ok);
        check(Input::Register("https://app.example.com/cb?tenant=a"), ok);
        check(Input::Register("http://127.0.0.1/cb"), ok);
        check(Input::Register("http://127.0.0.1:8080/cb"), ok);
        check(Input::Register("http://[::1]:61023/oauth2redirect"), ok);
        check(Input::Register("http://localhost:3000/cb"), ok);
        check(
            Input::Register("com.example.app:/oauth2redirect/example-provider"),
            ok,
        );
        check(Input::Register("com.example.app:/cb"), ok);
        check(Input::Register("/relative/cb"), Err("absolute"));
        check(Input::Register("app.example.com/cb"), Err("absolute"));
        check(
            Input::Register("https://app.example.com/cb#frag"),
            Err("fragment"),
        );
        check(
            Input::Register("https://app.example.com/cb#"),
            Err("fragment"),
        );
        check(
            Input::Register("http://app.example.com/cb"),
            Err("loopback"),
        );
        check(Input::Register("http://127.0.0.2/cb"), Err("loopback"));
        check(
            Input::Register("http://localhost.evil.com/cb"),
            Err("loopback"),
        );
        check(
            Input::Register("javascript:alert(1)"),
            Err("reverse domain"),
        );
        check(Input::Register("data:text/html,hi"), Err("reverse domain"));
        check(Input::Register("file:///etc/passwd"), Err("reverse domain"));
        check(Input::Register("myapp:/cb"), Err("reverse domain"));
        check(
            Input::Register("https://app.example.com/c b"),
            Err("whitespace"),
        );
        check(
            Input::Register(" https://app.example.com/cb"),
            Err("whitespace"),
        );
    }

    #[test]
    fn matching_rules() {
        let web = &[
            "https://app.example.com/cb",
            "https://app.example.com/cb2?x=1",
        ][..];
        check(
            Input::Resolve(Some("https://app.example.com/cb"), web),
            Ok("https://app.example.com/cb"),
        );
        check(
            Input::Resolve(Some("https://app.example.com/cb2?x=1"), web),
            Ok("https://app.example.com/cb2?x=1"),
        );
        check(
            Input::Resolve(Some("https://app.example.com/cb/"), web),
            Err("does not match"),
        );
        check(
            Input::Resolve(Some("https://APP.example.com/cb"), web),
            Err("does not match"),
        );
        check(
            Input::Resolve(Some("https://app.example.com:443/cb"), web),
            Err("does not match"),
        );
        check(
            Input::Resolve(Some("https://app.example.com/cb?x=1"), web),
            Err("does not match"),
        );
        check(
            Input::Resolve(Some("https://app.example.com/cb2?x=1&y=2"), web),
            Err("does not match"),
        );
        check(Input::Resolve(None, web), Err("more than one"));
        check(
            Input::Resolve(None, &["https://app.example.com/cb"]),
            Ok("https://app.example.com/cb"),
        );
        check(Input::Resolve(None, &[]), Err("no registered"));
        check(
            Input::Resolve(Some("https://app.example.com/cb"), &[]),
            Err("does not match"),
        );

        // RFC 8252 §7.3: any port on a loopback IP literal; nothing else may differ.
        let native = &[
            "http://127.0.0.1/cb",
            "http://[::1]:8080/cb",
            "http://localhost:3000/cb",
        ][..];
        check(
            Input::Resolve(Some("http://127.0.0.1:51004/cb"), native),
            Ok("http://127.0.0.1:51004/cb"),
        );
        check(
            Input::Resolve(Some("http://127.0.0.1/cb"), native),
            Ok("http://127.0.0.1/cb"),
        );
        check(
            Input::Resolve(Some("http://[::1]:61023/cb"), native),
            Ok("http://[::1]:61023/cb"),
        );
        check(
            Input::Resolve(Some("http://[::1]/cb"), native),
            Ok("http://[::1]/cb"),
        );
        check(
            Input::Resolve(Some("http://127.0.0.1:51004/cb2"), native),
            Err("does not match"),
        );
        check(
            Input::Resolve(Some("http://127.0.0.1:51004/cb?x"), native),
            Err("does not match"),
        );
        check(
            Input::Resolve(Some("http://127.0.0.1:/cb"), native),
            Err("does not match"),
        );
        check(
            Input::Resolve(Some("http://127.0.0.1:80a/cb"), native),
            Err("does not match"),
        );
        check(
            Input::Resolve(Some("http://127.0.0.1.evil.com/cb"), native),
            Err("does not match"),
        );
        check(
            Input::Resolve(Some("http://127.0.0.1@evil.com/cb"), native),
            Err("does not match"),
        );
        check(
            Input::Resolve(Some("http://[::1]:1/cb"), &["http://127.0.0.1/cb"]),
            Err("does not match"),
        );
        check(
            Input::Resolve(Some("https://127.0.0.1:5/cb"), &["https://127.0.0.1/cb"]),
            Err("does not match"),
        );
        // localhost is not an IP literal: exact match only (RFC 8252 §8.3).
        check(
            Input::Resolve(Some("http://localhost:3000/cb"), native),
            Ok("http://localhost:3000/cb"),
        );
        check(
            Input::Resolve(Some("http://localhost:3001/cb"), native),
            Err("does not match"),
        );

        let logout = &["https://app.example.com/bye", "http://127.0.0.1:8080/bye"][..];
        check(
            Input::PostLogout("https://app.example.com/bye", logout),
            Ok(""),
        );
        check(
            Input::PostLogout("https://app.example.com/bye/", logout),
            Err("no match"),
        );
        check(
            Input::PostLogout("http://127.0.0.1:9090/bye", logout),
            Err("no match"),
        );
    }
}
