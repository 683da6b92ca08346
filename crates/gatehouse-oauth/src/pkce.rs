//! Proof Key for Code Exchange (RFC 7636): the `code_challenge` sent with the
//! authorization request, the `code_verifier` sent with the token request, and
//! the check that binds them. Only the `S256` method is accepted.

use aws_lc_rs::{constant_time, digest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::{ErrorCode, OAuthError};
use crate::secret::Secret;

/// A `code_challenge_method` this server accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CodeChallengeMethod {
    S256,
}

impl CodeChallengeMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::S256 => "S256",
        }
    }
}

/// A syntactically valid S256 `code_challenge`: BASE64URL(SHA-256(verifier)),
/// 43 characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CodeChallenge(String);

impl CodeChallenge {
    /// Parses the `code_challenge` and `code_challenge_method` of an
    /// authorization request.
    ///
    /// RFC 7636 §4.3: an absent method means `plain`. §4.4.1: a server that
    /// does not support the requested transformation MUST answer
    /// `invalid_request`; this one supports `S256` only (§4.2 makes it
    /// mandatory to implement, and `plain` protects nothing once the request
    /// is observed). §4.2: the S256 challenge is the unpadded base64url of a
    /// 32-byte digest, so anything else cannot match any verifier.
    pub fn parse(challenge: &str, method: Option<&str>) -> Result<Self, OAuthError> {
        match method {
            Some("S256") => {}
            Some("plain") | None => {
                return Err(OAuthError::with_description(
                    ErrorCode::InvalidRequest,
                    "code_challenge_method must be S256; plain is not supported",
                ));
            }
            Some(_) => {
                return Err(OAuthError::with_description(
                    ErrorCode::InvalidRequest,
                    "unsupported code_challenge_method; use S256",
                ));
            }
        }
        if decode_digest(challenge).is_none() {
            return Err(OAuthError::with_description(
                ErrorCode::InvalidRequest,
                "code_challenge must be the base64url SHA-256 digest of the code_verifier (43 characters)",
            ));
        }
        Ok(Self(challenge.to_owned()))
    }

    /// The challenge for a verifier (the client side of S256; useful to tests
    /// and to anyone storing a challenge computed here).
    pub fn from_verifier(verifier: &str) -> Self {
        Self(URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes())))
    }

    pub fn method(&self) -> CodeChallengeMethod {
        CodeChallengeMethod::S256
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A syntactically valid `code_verifier`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeVerifier(Secret);

impl CodeVerifier {
    /// RFC 7636 §4.1: `code-verifier = 43*128unreserved`, where unreserved is
    /// `ALPHA / DIGIT / "-" / "." / "_" / "~"`.
    pub fn parse(value: &str) -> Result<Self, OAuthError> {
        if is_valid_verifier(value) {
            Ok(Self(Secret::new(value)))
        } else {
            Err(OAuthError::with_description(
                ErrorCode::InvalidRequest,
                "code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~]",
            ))
        }
    }

    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// Whether this verifier matches the challenge stored with the code.
    pub fn matches(&self, challenge: &CodeChallenge) -> bool {
        verify(self.expose(), challenge.as_str())
    }
}

/// Whether `verifier` is the S256 pre-image of `challenge`.
///
/// RFC 7636 §4.6: the server computes BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))
/// and compares it with the stored `code_challenge`; a mismatch is
/// `invalid_grant`. The digests are compared in constant time. A verifier that
/// breaks the §4.1 syntax, or a challenge that is not a 32-byte digest, never
/// verifies.
pub fn verify(verifier: &str, challenge: &str) -> bool {
    let Some(expected) = decode_digest(challenge) else {
        return false;
    };
    if !is_valid_verifier(verifier) {
        return false;
    }
    let actual = digest::digest(&digest::SHA256, verifier.as_bytes());
    constant_time::verify_slices_are_equal(actual.as_ref(), &expected).is_ok()
}

/// RFC 7636 §4.1 syntax.
fn is_valid_verifier(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// The 32 bytes behind an unpadded base64url S256 challenge. The decoder
/// rejects padding and non-canonical trailing bits, so exactly one string
/// stands for each digest.
fn decode_digest(challenge: &str) -> Option<Vec<u8>> {
    if challenge.len() != 43 {
        return None;
    }
    URL_SAFE_NO_PAD
        .decode(challenge)
        .ok()
        .filter(|bytes| bytes.len() == 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    enum Input<'a> {
        /// `code_challenge`, `code_challenge_method` of an authorization request.
        Challenge(&'a str, Option<&'a str>),
        /// `code_verifier` of a token request.
        Verifier(&'a str),
        /// verifier, challenge.
        Verify(&'a str, &'a str),
    }

    /// `Ok(true/false)` for a parse that succeeds / a verification result, or the error code.
    fn check(input: Input<'_>, expected: Result<bool, ErrorCode>) {
        let actual = match input {
            Input::Challenge(challenge, method) => CodeChallenge::parse(challenge, method)
                .map(|c| c.as_str() == challenge)
                .map_err(|e| e.code),
            Input::Verifier(verifier) => CodeVerifier::parse(verifier)
                .map(|v| v.expose() == verifier)
                .map_err(|e| e.code),
            Input::Verify(verifier, challenge) => Ok(verify(verifier, challenge)),
        };
        assert_eq!(actual, expected);
    }

    #[test]
    fn rfc_7636_appendix_b() {
        assert_eq!(CodeChallenge::from_verifier(VERIFIER).as_str(), CHALLENGE);
        let verifier = CodeVerifier::parse(VERIFIER).ok();
        let challenge = CodeChallenge::parse(CHALLENGE, Some("S256")).ok();
        assert!(matches!((verifier, challenge), (Some(v), Some(c)) if v.matches(&c)));
    }

    #[test]
    fn challenges_verifiers_and_verification() {
        let long = "a".repeat(128);
        let too_long = "a".repeat(129);
        let cases = [
            (Input::Challenge(CHALLENGE, Some("S256")), Ok(true)),
            (
                Input::Challenge(CHALLENGE, Some("plain")),
                Err(ErrorCode::InvalidRequest),
            ),
            (
                Input::Challenge(CHALLENGE, None),
                Err(ErrorCode::InvalidRequest),
            ),
            (
                Input::Challenge(CHALLENGE, Some("s256")),
                Err(ErrorCode::InvalidRequest),
            ),
            (Input::Challenge(VERIFIER, Some("S256")), Ok(true)), // any 32-byte digest is syntactically fine
            (
                Input::Challenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM=", Some("S256")),
                Err(ErrorCode::InvalidRequest),
            ),
            (
                Input::Challenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN", Some("S256")),
                Err(ErrorCode::InvalidRequest),
            ),
            (
                Input::Challenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM", Some("S256")),
                Err(ErrorCode::InvalidRequest),
            ),
            (
                Input::Challenge("short", Some("S256")),
                Err(ErrorCode::InvalidRequest),
            ),
            (Input::Verifier(VERIFIER), Ok(true)),
            (Input::Verifier(&long), Ok(true)),
            (
                Input::Verifier("a.b-c_d~e0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
                Ok(true),
            ),
            (Input::Verifier(&too_long), Err(ErrorCode::InvalidRequest)),
            (
                Input::Verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjX"),
                Err(ErrorCode::InvalidRequest),
            ),
            (
                Input::Verifier("dBjftJeZ4CVP+mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
                Err(ErrorCode::InvalidRequest),
            ),
            (
                Input::Verifier("dBjftJeZ4CVP mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
                Err(ErrorCode::InvalidRequest),
            ),
            (Input::Verify(VERIFIER, CHALLENGE), Ok(true)),
            (
                Input::Verify("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK", CHALLENGE),
                Ok(false),
            ),
            (Input::Verify(CHALLENGE, CHALLENGE), Ok(false)),
            // plain: the verifier equal to the challenge never passes.
            (Input::Verify(VERIFIER, VERIFIER), Ok(false)),
            (
                Input::Verify("short", &CodeChallenge::from_verifier("short").0),
                Ok(false),
            ),
            (Input::Verify(VERIFIER, ""), Ok(false)),
        ];
        for (input, expected) in cases {
            check(input, expected);
        }
    }
}
