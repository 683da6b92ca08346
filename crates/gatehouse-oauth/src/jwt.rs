//! JSON Web Tokens in JWS compact serialisation (RFC 7519, RFC 7515 §7.1):
//! signing with a [`SigningKey`], and verification against a [`KeySet`] that
//! follows the JWT best current practices (RFC 8725): an algorithm allow-list
//! with no `none` and no HMAC, keys bound to one algorithm, explicit `typ`,
//! and `iss`, `aud`, `exp`, `nbf` checked at a time the caller passes in.
//!
//! Signing and verification call aws-lc-rs directly rather than through
//! `jsonwebtoken`: a key is parsed once and reused (jsonwebtoken re-parses the
//! PKCS#8 document on every signature), no clock is read (its validation
//! reads the system time), and there is no process-wide provider to pick.
//! `jsonwebtoken` stays as a test dependency, checking interoperability.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::jwk::{Algorithm, KeyError, KeySet, SigningKey};

/// `typ` values (RFC 7519 §5.1; RFC 9068 §2.1; OpenID Connect Back-Channel
/// Logout §2.4).
pub mod typ {
    /// ID tokens and other plain JWTs.
    pub const JWT: &str = "JWT";
    /// JWT access tokens (RFC 9068 §2.1).
    pub const ACCESS_TOKEN: &str = "at+jwt";
    /// Back-channel logout tokens.
    pub const LOGOUT_TOKEN: &str = "logout+jwt";
}

/// Tokens longer than this are refused before any decoding.
pub const MAX_TOKEN_LEN: usize = 64 * 1024;

/// The default clock-skew allowance for `exp` and `nbf`, in seconds.
pub const DEFAULT_LEEWAY_SECS: i64 = 30;

/// Why a token was refused. Callers answer all of these the same way on the
/// wire (`invalid_token`, `invalid_grant`, …); the variants are for logs and tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("not a well-formed JWS compact JWT")]
    Malformed,
    #[error("algorithm not allowed")]
    Algorithm,
    #[error("unsupported critical header parameter")]
    Critical,
    #[error("no single key matches the token's alg and kid")]
    NoKey,
    #[error("signature does not verify")]
    Signature,
    #[error("unexpected typ")]
    Type,
    #[error("unexpected issuer")]
    Issuer,
    #[error("audience does not include this recipient")]
    Audience,
    #[error("expired")]
    Expired,
    #[error("not yet valid")]
    NotYetValid,
    #[error("missing required claim {0}")]
    MissingClaim(&'static str),
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// The protected header of a verified token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub alg: Algorithm,
    pub kid: Option<String>,
    pub typ: Option<String>,
}

/// Signs `claims` as a JWT with the header `{"alg", "typ", "kid"}`.
pub fn sign<T: Serialize>(key: &SigningKey, typ: &str, claims: &T) -> Result<String, JwtError> {
    #[derive(Serialize)]
    struct SignedHeader<'a> {
        alg: Algorithm,
        typ: &'a str,
        kid: &'a str,
    }
    let header = serde_json::to_vec(&SignedHeader {
        alg: key.alg(),
        typ,
        kid: key.kid(),
    })
    .map_err(|_| JwtError::Malformed)?;
    let payload = serde_json::to_vec(claims).map_err(|_| JwtError::Malformed)?;
    let mut token = URL_SAFE_NO_PAD.encode(header);
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(payload));
    let signature = key.sign(token.as_bytes())?;
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(signature));
    Ok(token)
}

/// Verifies the JWS layer only: the header, the algorithm, the key and the
/// signature, returning the header and the raw payload.
///
/// RFC 7515 §5.2: three base64url parts without padding (steps 1-3), a JSON
/// object header (step 3-4) whose `crit` names nothing we understand, so a
/// `crit` header is refused (§4.1.11); the `alg` must be in `algorithms`
/// (RFC 8725 §3.1; `none` and HS* cannot even be named), and the key is the
/// one [`KeySet`] binds to that `alg` and `kid` — an RS256 or HS256 token
/// never meets an EC key, nor an HMAC secret made of an RSA public key.
pub fn verify_signature(
    token: &str,
    keys: &KeySet,
    algorithms: &[Algorithm],
) -> Result<(Header, Vec<u8>), JwtError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(JwtError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let decode = |part: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| JwtError::Malformed)
    };
    let header: serde_json::Value =
        serde_json::from_slice(&decode(header_b64)?).map_err(|_| JwtError::Malformed)?;
    let header = header.as_object().ok_or(JwtError::Malformed)?;
    if header.contains_key("crit") {
        return Err(JwtError::Critical);
    }
    let alg = header
        .get("alg")
        .and_then(|a| a.as_str())
        .and_then(Algorithm::parse)
        .ok_or(JwtError::Algorithm)?;
    if !algorithms.contains(&alg) {
        return Err(JwtError::Algorithm);
    }
    let optional_string = |name: &str| match header.get(name) {
        None => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(JwtError::Malformed),
    };
    let kid = optional_string("kid")?;
    let typ = optional_string("typ")?;
    let key = keys.select(alg, kid.as_deref()).ok_or(JwtError::NoKey)?;
    let signature = decode(signature_b64)?;
    let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
    key.verify_sig(signing_input.as_bytes(), &signature)
        .map_err(|_| JwtError::Signature)?;
    Ok((Header { alg, kid, typ }, decode(payload_b64)?))
}

/// What a token must satisfy besides its signature.
#[derive(Clone, Debug)]
pub struct Validation<'a> {
    /// The allowed `alg` values.
    pub algorithms: &'a [Algorithm],
    /// The required `typ`, or `None` for a plain JWT (`typ` absent or `JWT`).
    pub typ: Option<&'a str>,
    /// The exact `iss`.
    pub issuer: &'a str,
    /// A value `aud` must contain.
    pub audience: &'a str,
    /// Unix seconds, from the caller's clock.
    pub now: i64,
    /// Seconds of clock skew tolerated on `exp` and `nbf`.
    pub leeway: i64,
}

impl<'a> Validation<'a> {
    /// Every supported algorithm, a plain `JWT` type and the default leeway.
    pub fn new(issuer: &'a str, audience: &'a str, now: i64) -> Self {
        Self {
            algorithms: &Algorithm::ALL,
            typ: None,
            issuer,
            audience,
            now,
            leeway: DEFAULT_LEEWAY_SECS,
        }
    }

    pub fn with_typ(self, typ: &'a str) -> Self {
        Self {
            typ: Some(typ),
            ..self
        }
    }
}

/// A token whose signature and claims passed.
#[derive(Clone, Debug, PartialEq)]
pub struct Verified<T> {
    pub header: Header,
    pub claims: T,
}

/// Verifies a JWT: [`verify_signature`], then the claims.
///
/// - `typ` (RFC 8725 §3.11, RFC 9068 §4): when one is required it must be
///   present and equal, compared case-insensitively with an optional
///   `application/` prefix (RFC 7515 §4.1.9); otherwise it must be absent or
///   `JWT`, so an access or logout token is never taken for an ID token.
/// - `iss` must equal the issuer exactly (RFC 7519 §4.1.1, RFC 8725 §3.8).
/// - `aud` (a string or an array) must contain the audience (RFC 7519 §4.1.3:
///   a recipient not identified in a present `aud` MUST reject; here `aud`
///   is also required).
/// - `exp` is required and the token MUST NOT be accepted on or after it
///   (RFC 7519 §4.1.4), nor before `nbf` (§4.1.5), with `leeway` either way.
pub fn verify<T: DeserializeOwned>(
    token: &str,
    keys: &KeySet,
    validation: &Validation<'_>,
) -> Result<Verified<T>, JwtError> {
    let (header, payload) = verify_signature(token, keys, validation.algorithms)?;
    check_typ(header.typ.as_deref(), validation.typ)?;
    let claims: serde_json::Value =
        serde_json::from_slice(&payload).map_err(|_| JwtError::Malformed)?;
    let object = claims.as_object().ok_or(JwtError::Malformed)?;

    match object.get("iss") {
        Some(serde_json::Value::String(iss)) if iss == validation.issuer => {}
        Some(_) => return Err(JwtError::Issuer),
        None => return Err(JwtError::MissingClaim("iss")),
    }
    let audience_ok = match object.get("aud") {
        Some(serde_json::Value::String(aud)) => aud == validation.audience,
        Some(serde_json::Value::Array(auds)) => {
            auds.iter().any(|a| a.as_str() == Some(validation.audience))
        }
        Some(_) => return Err(JwtError::Malformed),
        None => return Err(JwtError::MissingClaim("aud")),
    };
    if !audience_ok {
        return Err(JwtError::Audience);
    }
    let exp = numeric_date(object.get("exp"))?.ok_or(JwtError::MissingClaim("exp"))?;
    if validation.now >= exp.saturating_add(validation.leeway) {
        return Err(JwtError::Expired);
    }
    if let Some(nbf) = numeric_date(object.get("nbf"))?
        && validation.now.saturating_add(validation.leeway) < nbf
    {
        return Err(JwtError::NotYetValid);
    }
    let claims = serde_json::from_value(claims).map_err(|_| JwtError::Malformed)?;
    Ok(Verified { header, claims })
}

/// The `at_hash` / `c_hash` of an access token or code for an ID token
/// signed with `alg`.
///
/// OpenID Connect Core §3.1.3.6 (`at_hash`) and §3.3.2.11 (`c_hash`): the
/// base64url of the left-most half of the hash of the value's ASCII octets,
/// with the hash of the ID token's `alg` — SHA-256 for RS256 and ES256.
/// EdDSA names no hash; for Ed25519 the OpenID Connect working group settled
/// on SHA-512, the hash inside Ed25519 (openid/connect issue 1125), which is
/// what the `openidconnect` crate checks.
pub fn token_hash(alg: Algorithm, value: &str) -> String {
    use aws_lc_rs::digest;
    let digest = match alg {
        Algorithm::RS256 | Algorithm::ES256 => digest::digest(&digest::SHA256, value.as_bytes()),
        Algorithm::EdDSA => digest::digest(&digest::SHA512, value.as_bytes()),
    };
    let bytes = digest.as_ref();
    URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() / 2])
}

fn check_typ(actual: Option<&str>, required: Option<&str>) -> Result<(), JwtError> {
    let normalize = |t: &str| {
        let lower = t.to_ascii_lowercase();
        match lower.strip_prefix("application/") {
            Some(rest) => rest.to_owned(),
            None => lower,
        }
    };
    let ok = match (actual, required) {
        (Some(actual), Some(required)) => normalize(actual) == normalize(required),
        (None, Some(_)) => false,
        (Some(actual), None) => normalize(actual) == "jwt",
        (None, None) => true,
    };
    if ok { Ok(()) } else { Err(JwtError::Type) }
}

/// RFC 7519 §2 NumericDate: seconds since the epoch, possibly fractional
/// (truncated here).
fn numeric_date(value: Option<&serde_json::Value>) -> Result<Option<i64>, JwtError> {
    match value {
        None => Ok(None),
        Some(serde_json::Value::Number(n)) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Ok(Some(i)),
            #[allow(clippy::cast_possible_truncation)]
            (None, Some(f)) if f.is_finite() => Ok(Some(f as i64)),
            _ => Err(JwtError::Malformed),
        },
        Some(_) => Err(JwtError::Malformed),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::jwk::Jwks;
    use crate::jwk::tests::{A2_X, A3_X, A3_Y, a3_pkcs8, rfc8037_pkcs8};
    use serde_json::json;

    const ISS: &str = "https://id.example.com";
    const AUD: &str = "client-1";
    const NOW: i64 = 1_700_000_000;

    fn claims() -> serde_json::Value {
        json!({"iss": ISS, "aud": AUD, "sub": "u1", "iat": NOW, "exp": NOW + 300})
    }

    /// What a token is checked against: the keys and the validation.
    struct Against<'a> {
        keys: &'a KeySet,
        validation: Validation<'a>,
    }

    fn check(token: &str, against: &Against<'_>, expected: Result<(), JwtError>) {
        let actual =
            verify::<serde_json::Value>(token, against.keys, &against.validation).map(|_| ());
        assert_eq!(actual, expected, "{token}");
    }

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// A token with an arbitrary header and claims, signed by `key` over
    /// exactly those bytes (to forge what a careless issuer might send).
    fn forge(key: &SigningKey, header: &serde_json::Value, claims: &serde_json::Value) -> String {
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let signature = key.sign(input.as_bytes()).unwrap();
        format!("{input}.{}", b64(&signature))
    }

    fn hs256(secret: &[u8], header: &serde_json::Value, claims: &serde_json::Value) -> String {
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let tag = aws_lc_rs::hmac::sign(
            &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret),
            input.as_bytes(),
        );
        format!("{input}.{}", b64(tag.as_ref()))
    }

    #[test]
    fn round_trip_and_rejections_for_every_algorithm() {
        for alg in Algorithm::ALL {
            let key = SigningKey::generate(alg).unwrap();
            let other = SigningKey::generate(alg).unwrap();
            let keys = KeySet::from_jwks(&Jwks::from_signing_keys([&key]));
            let against = Against {
                keys: &keys,
                validation: Validation::new(ISS, AUD, NOW),
            };
            let header = |typ: &str| json!({"alg": alg.as_str(), "typ": typ, "kid": key.kid()});
            let with = |extra: serde_json::Value| {
                let mut c = claims();
                for (k, v) in extra.as_object().unwrap() {
                    if v.is_null() {
                        c.as_object_mut().unwrap().remove(k);
                    } else {
                        c[k] = v.clone();
                    }
                }
                c
            };

            let token = sign(&key, typ::JWT, &claims()).unwrap();
            check(&token, &against, Ok(()));
            let verified = verify::<serde_json::Value>(&token, &keys, &against.validation).unwrap();
            assert_eq!(
                verified.header,
                Header {
                    alg,
                    kid: Some(key.kid().into()),
                    typ: Some("JWT".into())
                }
            );
            assert_eq!(verified.claims, claims());

            // Tampering with any part.
            let parts: Vec<&str> = token.split('.').collect();
            let tampered_payload = b64(with(json!({"sub": "admin"})).to_string().as_bytes());
            check(
                &format!("{}.{}.{}", parts[0], tampered_payload, parts[2]),
                &against,
                Err(JwtError::Signature),
            );
            let mut bad_sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
            bad_sig[0] ^= 1;
            check(
                &format!("{}.{}.{}", parts[0], parts[1], b64(&bad_sig)),
                &against,
                Err(JwtError::Signature),
            );
            check(
                &format!("{}.{}", parts[0], parts[1]),
                &against,
                Err(JwtError::Malformed),
            );
            check(&format!("{token}."), &against, Err(JwtError::Malformed));
            check(
                &format!("{}.{}.{}=", parts[0], parts[1], parts[2]),
                &against,
                Err(JwtError::Malformed),
            );

            // Signed by a key not in the set (same kid claimed, or its own).
            check(
                &forge(&other, &header("JWT"), &claims()),
                &against,
                Err(JwtError::Signature),
            );
            check(
                &sign(&other, typ::JWT, &claims()).unwrap(),
                &against,
                Err(JwtError::NoKey),
            );

            // alg: none, with and without a signature part.
            let none = json!({"alg": "none", "typ": "JWT"});
            let unsigned = format!(
                "{}.{}.",
                b64(none.to_string().as_bytes()),
                b64(claims().to_string().as_bytes())
            );
            check(&unsigned, &against, Err(JwtError::Algorithm));
            check(
                &format!("{unsigned}{}", parts[2]),
                &against,
                Err(JwtError::Algorithm),
            );

            // Explicit typing.
            check(
                &token,
                &Against {
                    keys: &keys,
                    validation: Validation::new(ISS, AUD, NOW).with_typ(typ::ACCESS_TOKEN),
                },
                Err(JwtError::Type),
            );
            let at = sign(&key, typ::ACCESS_TOKEN, &claims()).unwrap();
            check(&at, &against, Err(JwtError::Type));
            check(
                &at,
                &Against {
                    keys: &keys,
                    validation: Validation::new(ISS, AUD, NOW).with_typ(typ::ACCESS_TOKEN),
                },
                Ok(()),
            );
            check(
                &forge(&key, &header("application/AT+JWT"), &claims()),
                &Against {
                    keys: &keys,
                    validation: Validation::new(ISS, AUD, NOW).with_typ("at+jwt"),
                },
                Ok(()),
            );
            check(
                &sign(&key, typ::LOGOUT_TOKEN, &claims()).unwrap(),
                &against,
                Err(JwtError::Type),
            );
            check(
                &forge(
                    &key,
                    &json!({"alg": alg.as_str(), "kid": key.kid()}),
                    &claims(),
                ),
                &against,
                Ok(()),
            );
            check(
                &forge(
                    &key,
                    &json!({"alg": alg.as_str(), "kid": key.kid()}),
                    &claims(),
                ),
                &Against {
                    keys: &keys,
                    validation: Validation::new(ISS, AUD, NOW).with_typ("at+jwt"),
                },
                Err(JwtError::Type),
            );

            // Claims.
            check(
                &sign(
                    &key,
                    typ::JWT,
                    &with(json!({"iss": "https://evil.example"})),
                )
                .unwrap(),
                &against,
                Err(JwtError::Issuer),
            );
            check(
                &sign(
                    &key,
                    typ::JWT,
                    &with(json!({"iss": "https://id.example.com/"})),
                )
                .unwrap(),
                &against,
                Err(JwtError::Issuer),
            );
            check(
                &sign(&key, typ::JWT, &with(json!({"iss": null}))).unwrap(),
                &against,
                Err(JwtError::MissingClaim("iss")),
            );
            check(
                &sign(&key, typ::JWT, &with(json!({"aud": "client-2"}))).unwrap(),
                &against,
                Err(JwtError::Audience),
            );
            check(
                &sign(&key, typ::JWT, &with(json!({"aud": ["client-2", AUD]}))).unwrap(),
                &against,
                Ok(()),
            );
            check(
                &sign(&key, typ::JWT, &with(json!({"aud": ["client-2"]}))).unwrap(),
                &against,
                Err(JwtError::Audience),
            );
            check(
                &sign(&key, typ::JWT, &with(json!({"aud": null}))).unwrap(),
                &against,
                Err(JwtError::MissingClaim("aud")),
            );
            check(
                &sign(&key, typ::JWT, &with(json!({"exp": null}))).unwrap(),
                &against,
                Err(JwtError::MissingClaim("exp")),
            );
            check(
                &sign(&key, typ::JWT, &with(json!({"exp": "tomorrow"}))).unwrap(),
                &against,
                Err(JwtError::Malformed),
            );
            check(
                &sign(&key, typ::JWT, &with(json!({"exp": NOW - 31}))).unwrap(),
                &against,
                Err(JwtError::Expired),
            );
            check(
                &sign(&key, typ::JWT, &with(json!({"exp": NOW - 30}))).unwrap(),
                &against,
                Err(JwtError::Expired),
            );
            check(
                &sign(&key, typ::JWT, &with(json!({"exp": NOW - 29}))).unwrap(),
                &against,
                Ok(()),
            );
            check(
                &sign(&key, typ::JWT, &with(json!({"exp": NOW as f64 + 0.5}))).unwrap(),
                &against,
                Ok(()),
            );
            check(
                &sign(&key, typ::JWT, &with(json!({"nbf": NOW + 31}))).unwrap(),
                &against,
                Err(JwtError::NotYetValid),
            );
            check(
                &sign(&key, typ::JWT, &with(json!({"nbf": NOW + 30}))).unwrap(),
                &against,
                Ok(()),
            );
            check(
                &sign(&key, typ::JWT, &json!("not an object")).unwrap(),
                &against,
                Err(JwtError::Malformed),
            );

            // Headers: crit, non-string kid, disallowed algorithm.
            check(
                &forge(
                    &key,
                    &json!({"alg": alg.as_str(), "kid": key.kid(), "crit": ["exp"], "exp": 1}),
                    &claims(),
                ),
                &against,
                Err(JwtError::Critical),
            );
            check(
                &forge(&key, &json!({"alg": alg.as_str(), "kid": 7}), &claims()),
                &against,
                Err(JwtError::Malformed),
            );
            let others: Vec<Algorithm> = Algorithm::ALL.into_iter().filter(|a| *a != alg).collect();
            check(
                &token,
                &Against {
                    keys: &keys,
                    validation: Validation {
                        algorithms: &others,
                        ..Validation::new(ISS, AUD, NOW)
                    },
                },
                Err(JwtError::Algorithm),
            );
        }
    }

    /// Regression: key confusion. A token "signed" with HS256 using a public
    /// key's bytes as the HMAC secret (the classic RS256 → HS256 downgrade),
    /// or claiming another algorithm's `alg` over a key of a different type,
    /// must never verify.
    #[test]
    fn algorithm_and_key_type_confusion_is_refused() {
        let rsa = SigningKey::generate(Algorithm::RS256).unwrap();
        let ec = SigningKey::from_pkcs8(Algorithm::ES256, &a3_pkcs8()).unwrap();
        let keys = KeySet::from_jwks(&Jwks::from_signing_keys([&rsa, &ec]));
        let against = Against {
            keys: &keys,
            validation: Validation::new(ISS, AUD, NOW),
        };
        let jwk_json = serde_json::to_string(rsa.public_jwk()).unwrap();
        for secret in [
            jwk_json.as_bytes(),
            rsa.public_jwk().n.as_deref().unwrap().as_bytes(),
        ] {
            let forged = hs256(
                secret,
                &json!({"alg": "HS256", "typ": "JWT", "kid": rsa.kid()}),
                &claims(),
            );
            check(&forged, &against, Err(JwtError::Algorithm));
        }
        // An ES256 signature presented as RS256 under the EC key's kid.
        let swapped = forge(&ec, &json!({"alg": "RS256", "kid": ec.kid()}), &claims());
        check(&swapped, &against, Err(JwtError::NoKey));
        // And an RSA signature presented as ES256 under the RSA kid.
        let swapped = forge(&rsa, &json!({"alg": "ES256", "kid": rsa.kid()}), &claims());
        check(&swapped, &against, Err(JwtError::NoKey));
        // An oct key in the JWKS is never usable.
        let with_oct: Jwks = serde_json::from_value(
            json!({"keys": [{"kty": "oct", "kid": "k", "k": b64(b"secret")}]}),
        )
        .unwrap();
        let oct_keys = KeySet::from_jwks(&with_oct);
        let forged = hs256(b"secret", &json!({"alg": "HS256", "kid": "k"}), &claims());
        check(
            &forged,
            &Against {
                keys: &oct_keys,
                validation: Validation::new(ISS, AUD, NOW),
            },
            Err(JwtError::Algorithm),
        );
    }

    #[test]
    fn tokens_without_kid_need_exactly_one_candidate_key() {
        let a = SigningKey::generate(Algorithm::EdDSA).unwrap();
        let b = SigningKey::generate(Algorithm::EdDSA).unwrap();
        let no_kid = forge(&a, &json!({"alg": "EdDSA"}), &claims());
        let one = KeySet::from_jwks(&Jwks::from_signing_keys([&a]));
        check(
            &no_kid,
            &Against {
                keys: &one,
                validation: Validation::new(ISS, AUD, NOW),
            },
            Ok(()),
        );
        let two = KeySet::from_jwks(&Jwks::from_signing_keys([&a, &b]));
        check(
            &no_kid,
            &Against {
                keys: &two,
                validation: Validation::new(ISS, AUD, NOW),
            },
            Err(JwtError::NoKey),
        );
        check(
            &sign(&a, typ::JWT, &claims()).unwrap(),
            &Against {
                keys: &two,
                validation: Validation::new(ISS, AUD, NOW),
            },
            Ok(()),
        );
    }

    /// Tokens made by other implementations: the RFC 7515 A.3 (ES256), RFC
    /// 7515 A.2 (RS256) and RFC 8037 A.4 (EdDSA) examples, byte for byte.
    #[test]
    fn rfc_test_vectors_verify() {
        // RFC 7515 A.2 and A.3 share the payload {"iss":"joe","exp":1300819380,"http://example.com/is_root":true}.
        const PAYLOAD: &str = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
        const A3: &str = "eyJhbGciOiJFUzI1NiJ9";
        const A3_SIG: &str = "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
        const A2: &str = "eyJhbGciOiJSUzI1NiJ9";
        const A2_N: &str = "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";
        const A2_SIG: &str = "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
        const A4: &str = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

        let jwks: Jwks = serde_json::from_value(json!({"keys": [
            {"kty": "EC", "crv": "P-256", "x": A3_X, "y": A3_Y},
            {"kty": "RSA", "n": A2_N, "e": "AQAB"},
            {"kty": "OKP", "crv": "Ed25519", "x": A2_X},
        ]}))
        .unwrap();
        let keys = KeySet::from_jwks(&jwks);
        assert_eq!(keys.len(), 3);

        let expected_claims =
            json!({"iss": "joe", "exp": 1_300_819_380, "http://example.com/is_root": true});
        for token in [
            format!("{A3}.{PAYLOAD}.{A3_SIG}"),
            format!("{A2}.{PAYLOAD}.{A2_SIG}"),
        ] {
            let (header, payload) = verify_signature(&token, &keys, &Algorithm::ALL).unwrap();
            assert_eq!(header.kid, None);
            assert_eq!(
                serde_json::from_slice::<serde_json::Value>(&payload).unwrap(),
                expected_claims
            );
            // The RFC examples carry no aud: a JWT verification refuses them, as it should.
            let validation = Validation::new("joe", AUD, 1_300_819_000);
            check(
                &token,
                &Against {
                    keys: &keys,
                    validation,
                },
                Err(JwtError::MissingClaim("aud")),
            );
        }
        let (header, payload) = verify_signature(A4, &keys, &[Algorithm::EdDSA]).unwrap();
        assert_eq!(header.alg, Algorithm::EdDSA);
        assert_eq!(payload, b"Example of Ed25519 signing");
        assert_eq!(
            verify_signature(A4, &keys, &[Algorithm::ES256]),
            Err(JwtError::Algorithm)
        );

        // Ed25519 is deterministic: our signer reproduces RFC 8037 A.4 exactly.
        let ed = SigningKey::from_pkcs8(Algorithm::EdDSA, &rfc8037_pkcs8()).unwrap();
        let (input, signature) = A4.rsplit_once('.').unwrap();
        assert_eq!(b64(&ed.sign(input.as_bytes()).unwrap()), signature);
    }

    /// OpenID Connect Core A.4 and A.6: `at_hash` and `c_hash` of the example values.
    #[test]
    fn token_hashes_match_the_openid_connect_examples() {
        let access_token = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y";
        let code = "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk";
        assert_eq!(
            token_hash(Algorithm::RS256, access_token),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
        assert_eq!(
            token_hash(Algorithm::ES256, access_token),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
        assert_eq!(token_hash(Algorithm::RS256, code), "LDktKdoQak3Pk0cnXxCltA");
        // SHA-512, left 32 bytes.
        assert_eq!(
            token_hash(Algorithm::EdDSA, access_token),
            "q7nS86GgvvFaZkzALLWqJYaJIKw2wCDAVfCAsm5CrBM"
        );
    }

    /// Interoperability with jsonwebtoken (aws-lc-rs backend): our tokens
    /// verify there through our published JWK, and its tokens verify here.
    #[test]
    fn jsonwebtoken_interoperates() {
        use jsonwebtoken as jt;
        for (alg, jt_alg) in [
            (Algorithm::RS256, jt::Algorithm::RS256),
            (Algorithm::ES256, jt::Algorithm::ES256),
            (Algorithm::EdDSA, jt::Algorithm::EdDSA),
        ] {
            let key = SigningKey::generate(alg).unwrap();
            let jwk: jt::jwk::Jwk =
                serde_json::from_value(serde_json::to_value(key.public_jwk()).unwrap()).unwrap();
            let decoding = jt::DecodingKey::from_jwk(&jwk).unwrap();
            let mut validation = jt::Validation::new(jt_alg);
            validation.set_audience(&[AUD]);
            validation.set_issuer(&[ISS]);
            validation.validate_exp = false;
            let ours = sign(&key, typ::JWT, &claims()).unwrap();
            let decoded = jt::decode::<serde_json::Value>(&ours, &decoding, &validation).unwrap();
            assert_eq!(decoded.header.kid.as_deref(), Some(key.kid()));
            assert_eq!(decoded.claims, claims());

            let encoding = match alg {
                Algorithm::RS256 => jt::EncodingKey::from_rsa_der(&rsa_private_key_from_pkcs8(
                    key.private_pkcs8_der(),
                )),
                Algorithm::ES256 => jt::EncodingKey::from_ec_der(key.private_pkcs8_der()),
                Algorithm::EdDSA => jt::EncodingKey::from_ed_der(key.private_pkcs8_der()),
            };
            let mut header = jt::Header::new(jt_alg);
            header.kid = Some(key.kid().to_owned());
            let theirs = jt::encode(&header, &claims(), &encoding).unwrap();
            let keys = KeySet::from_jwks(&Jwks::from_signing_keys([&key]));
            check(
                &theirs,
                &Against {
                    keys: &keys,
                    validation: Validation::new(ISS, AUD, NOW),
                },
                Ok(()),
            );
        }
    }

    /// jsonwebtoken takes RSA private keys as PKCS#1 `RSAPrivateKey`; a PKCS#8
    /// document wraps exactly that in its final OCTET STRING.
    fn rsa_private_key_from_pkcs8(pkcs8: &[u8]) -> Vec<u8> {
        // SEQUENCE { INTEGER 0, SEQUENCE { rsaEncryption, NULL }, OCTET STRING { RSAPrivateKey } }
        let marker = [0x05, 0x00, 0x04];
        let at = pkcs8.windows(3).position(|w| w == marker).unwrap() + 3;
        let (len, header) = match pkcs8[at] {
            0x82 => (
                (usize::from(pkcs8[at + 1]) << 8) | usize::from(pkcs8[at + 2]),
                3,
            ),
            0x81 => (usize::from(pkcs8[at + 1]), 2),
            n => (usize::from(n), 1),
        };
        pkcs8[at + header..at + header + len].to_vec()
    }
}
