//! Keys as data: signing keys (RS256, ES256, EdDSA) held as PKCS#8 DER,
//! their generation, their public JSON Web Key form (RFC 7517, RFC 7518 §6,
//! RFC 8037 §2) with RFC 7638 thumbprints as key ids, the JWKS document, and
//! [`KeySet`], a JWKS parsed once for signature verification.
//!
//! All cryptography is aws-lc-rs. The private PKCS#8 bytes are only handed
//! out for the caller to encrypt at rest; `Debug` never shows them. Key
//! generation draws on aws-lc's own CSPRNG (its API takes no RNG), which is
//! the one randomness this crate does not receive from its caller.

use std::fmt;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, ParsedPublicKey, RsaKeyPair,
    RsaPublicKeyComponents,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// A JWS algorithm this server signs and verifies with. `none` and the HMAC
/// algorithms are not representable, so they can never be allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3); the OpenID Connect default.
    RS256,
    /// ECDSA on P-256 with SHA-256 (RFC 7518 §3.4).
    ES256,
    /// Ed25519 (RFC 8037 §3.1).
    EdDSA,
}

impl Algorithm {
    pub const ALL: [Algorithm; 3] = [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::ES256 => "ES256",
            Self::EdDSA => "EdDSA",
        }
    }

    /// The `alg` value, case-sensitively (RFC 7515 §4.1.1).
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|alg| alg.as_str() == value)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a key could not be generated, loaded or used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("key generation failed")]
    Generation,
    #[error("the PKCS#8 document is not a valid {0} private key")]
    Rejected(Algorithm),
    #[error("signing failed")]
    Signing,
    #[error("the JWK lacks a member its key type requires")]
    IncompleteJwk,
}

enum Pair {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// A private signing key with its algorithm, key id and public JWK.
pub struct SigningKey {
    kid: String,
    alg: Algorithm,
    pkcs8: Zeroizing<Vec<u8>>,
    pair: Pair,
    public: Jwk,
}

impl SigningKey {
    /// Generates a new key: RSA 2048 for RS256, P-256 for ES256, Ed25519 for
    /// EdDSA. Persist [`SigningKey::private_pkcs8_der`] encrypted.
    pub fn generate(alg: Algorithm) -> Result<Self, KeyError> {
        let der: Vec<u8> = match alg {
            Algorithm::RS256 => {
                let pair =
                    RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generation)?;
                let der = pair.as_der().map_err(|_| KeyError::Generation)?;
                der.as_ref().to_vec()
            }
            Algorithm::ES256 => EcdsaKeyPair::generate_pkcs8(
                &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                &SystemRandom::new(),
            )
            .map_err(|_| KeyError::Generation)?
            .as_ref()
            .to_vec(),
            Algorithm::EdDSA => Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
                .map_err(|_| KeyError::Generation)?
                .as_ref()
                .to_vec(),
        };
        Self::from_pkcs8(alg, &Zeroizing::new(der))
    }

    /// Loads a private key from PKCS#8 DER. The key id is the RFC 7638
    /// thumbprint of the public key, so it is stable across restarts and
    /// nodes without being stored.
    ///
    /// RS256 keys must have a modulus of at least 2048 bits (RFC 7518 §3.3:
    /// "A key of size 2048 bits or larger MUST be used").
    pub fn from_pkcs8(alg: Algorithm, der: &[u8]) -> Result<Self, KeyError> {
        let rejected = |_| KeyError::Rejected(alg);
        let (pair, public) = match alg {
            Algorithm::RS256 => {
                let pair = RsaKeyPair::from_pkcs8(der).map_err(rejected)?;
                if pair.public_modulus_len() < 256 {
                    return Err(KeyError::Rejected(alg));
                }
                let components = RsaPublicKeyComponents::<Vec<u8>>::from(pair.public_key());
                let public = Jwk::rsa(&components.n, &components.e);
                (Pair::Rsa(pair), public)
            }
            Algorithm::ES256 => {
                let pair =
                    EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der)
                        .map_err(rejected)?;
                let point = pair.public_key().as_ref();
                // SEC 1 uncompressed point: 0x04 || x || y, 32 bytes each on P-256.
                let (Some(x), Some(y)) = (point.get(1..33), point.get(33..65)) else {
                    return Err(KeyError::Rejected(alg));
                };
                let public = Jwk::ec_p256(x, y);
                (Pair::Ec(pair), public)
            }
            Algorithm::EdDSA => {
                let pair = Ed25519KeyPair::from_pkcs8(der).map_err(rejected)?;
                let public = Jwk::ed25519(pair.public_key().as_ref());
                (Pair::Ed(pair), public)
            }
        };
        let kid = public.thumbprint()?;
        let public = Jwk {
            use_: Some("sig".into()),
            alg: Some(alg.as_str().into()),
            kid: Some(kid.clone()),
            ..public
        };
        Ok(Self {
            kid,
            alg,
            pkcs8: Zeroizing::new(der.to_vec()),
            pair,
            public,
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The private key as PKCS#8 DER, for the caller to encrypt and store.
    pub fn private_pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The public JWK: `kty`, `use: sig`, `alg`, `kid` and the key's members.
    pub fn public_jwk(&self) -> &Jwk {
        &self.public
    }

    /// Signs a JWS signing input, returning the signature in its JWS form
    /// (RFC 7518 §3.4: ECDSA signatures are the fixed-width R || S).
    pub fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, KeyError> {
        match &self.pair {
            Pair::Rsa(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(
                    &signature::RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    signing_input,
                    &mut signature,
                )
                .map_err(|_| KeyError::Signing)?;
                Ok(signature)
            }
            Pair::Ec(pair) => pair
                .sign(&SystemRandom::new(), signing_input)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| KeyError::Signing),
            Pair::Ed(pair) => Ok(pair.sign(signing_input).as_ref().to_vec()),
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// A JSON Web Key as published or received (RFC 7517 §4). Members this
/// server does not use are dropped when parsing; private members are never
/// rendered.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    pub kty: String,
    #[serde(rename = "use", skip_serializing_if = "Option::is_none", default)]
    pub use_: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub key_ops: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub alg: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub kid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub crv: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub x: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub y: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub n: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub e: Option<String>,
}

impl Jwk {
    /// RFC 7518 §6.3.1: `n` and `e` as Base64urlUInt (big-endian, no leading zeros).
    fn rsa(n: &[u8], e: &[u8]) -> Self {
        Self {
            kty: "RSA".into(),
            n: Some(b64(n)),
            e: Some(b64(e)),
            ..Self::default()
        }
    }

    /// RFC 7518 §6.2.1: `crv: P-256`, `x` and `y` each the full 32 bytes.
    fn ec_p256(x: &[u8], y: &[u8]) -> Self {
        Self {
            kty: "EC".into(),
            crv: Some("P-256".into()),
            x: Some(b64(x)),
            y: Some(b64(y)),
            ..Self::default()
        }
    }

    /// RFC 8037 §2: `kty: OKP`, `crv: Ed25519`, `x` the 32-byte public key.
    fn ed25519(x: &[u8]) -> Self {
        Self {
            kty: "OKP".into(),
            crv: Some("Ed25519".into()),
            x: Some(b64(x)),
            ..Self::default()
        }
    }

    /// The RFC 7638 thumbprint: base64url(SHA-256) of the required members in
    /// lexicographic order with no whitespace (§3.2) — `e, kty, n` for RSA,
    /// `crv, kty, x, y` for EC (§3.2), `crv, kty, x` for OKP (RFC 8037 §2).
    pub fn thumbprint(&self) -> Result<String, KeyError> {
        let member = |value: &Option<String>| {
            value
                .as_deref()
                .ok_or(KeyError::IncompleteJwk)
                .map(json_string)
        };
        let canonical = match self.kty.as_str() {
            "RSA" => format!(
                r#"{{"e":{},"kty":"RSA","n":{}}}"#,
                member(&self.e)?,
                member(&self.n)?
            ),
            "EC" => format!(
                r#"{{"crv":{},"kty":"EC","x":{},"y":{}}}"#,
                member(&self.crv)?,
                member(&self.x)?,
                member(&self.y)?
            ),
            "OKP" => format!(
                r#"{{"crv":{},"kty":"OKP","x":{}}}"#,
                member(&self.crv)?,
                member(&self.x)?
            ),
            _ => return Err(KeyError::IncompleteJwk),
        };
        Ok(b64(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            canonical.as_bytes(),
        )
        .as_ref()))
    }
}

/// A JWK Set document (RFC 7517 §5), as served at the `jwks_uri`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

impl Jwks {
    /// The public halves of signing keys, in the order given.
    pub fn from_signing_keys<'a>(keys: impl IntoIterator<Item = &'a SigningKey>) -> Self {
        Self {
            keys: keys.into_iter().map(|k| k.public_jwk().clone()).collect(),
        }
    }
}

/// A public key ready to verify one algorithm.
struct VerifyingKey {
    kid: Option<String>,
    alg: Algorithm,
    key: ParsedPublicKey,
}

/// A JWKS parsed once for verification.
///
/// Each usable key is bound to the one algorithm its type allows — RSA to
/// RS256, EC P-256 to ES256, OKP Ed25519 to EdDSA — so a token can never be
/// checked with a key of another type (RFC 8725 §3.1). Keys marked for
/// encryption (`use` other than `sig`, or `key_ops` without `verify`),
/// declaring another `alg`, of other types or curves (including symmetric
/// `oct` keys), RSA keys under 2048 bits, and malformed keys are left out.
pub struct KeySet {
    keys: Vec<VerifyingKey>,
}

impl KeySet {
    pub fn from_jwks(jwks: &Jwks) -> Self {
        Self {
            keys: jwks.keys.iter().filter_map(parse_verifying_key).collect(),
        }
    }

    /// How many keys can verify signatures.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key that must have signed a token with this `alg` and `kid`: the
    /// key with that `kid` (and a type matching `alg`), or — for a token
    /// without `kid` — the only key of that type. Ambiguity selects nothing.
    pub(crate) fn select(&self, alg: Algorithm, kid: Option<&str>) -> Option<&ParsedPublicKey> {
        let mut candidates = self
            .keys
            .iter()
            .filter(|k| k.alg == alg && (kid.is_none() || k.kid.as_deref() == kid));
        let first = candidates.next()?;
        match candidates.next() {
            Some(_) => None,
            None => Some(&first.key),
        }
    }
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.keys.iter().map(|k| (k.kid.as_deref(), k.alg)))
            .finish()
    }
}

fn parse_verifying_key(jwk: &Jwk) -> Option<VerifyingKey> {
    if jwk.use_.as_deref().is_some_and(|u| u != "sig") {
        return None;
    }
    if jwk
        .key_ops
        .as_ref()
        .is_some_and(|ops| !ops.iter().any(|op| op == "verify"))
    {
        return None;
    }
    let decode = |value: &Option<String>| {
        value
            .as_deref()
            .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
    };
    let (alg, key) = match (jwk.kty.as_str(), jwk.crv.as_deref()) {
        ("RSA", _) => {
            let components = RsaPublicKeyComponents {
                n: decode(&jwk.n)?,
                e: decode(&jwk.e)?,
            };
            // RFC 7518 §3.3: keys of 2048 bits or more.
            if components.n.len() < 256 {
                return None;
            }
            (
                Algorithm::RS256,
                components
                    .to_parsed_public_key(&signature::RSA_PKCS1_2048_8192_SHA256)
                    .ok()?,
            )
        }
        ("EC", Some("P-256")) => {
            let (x, y) = (decode(&jwk.x)?, decode(&jwk.y)?);
            // RFC 7518 §6.2.1.2-3: each coordinate is the full 32 bytes.
            if x.len() != 32 || y.len() != 32 {
                return None;
            }
            let point: Vec<u8> = [&[0x04][..], &x, &y].concat();
            (
                Algorithm::ES256,
                ParsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point).ok()?,
            )
        }
        ("OKP", Some("Ed25519")) => {
            let x = decode(&jwk.x)?;
            if x.len() != 32 {
                return None;
            }
            (
                Algorithm::EdDSA,
                ParsedPublicKey::new(&signature::ED25519, x).ok()?,
            )
        }
        _ => return None,
    };
    if jwk
        .alg
        .as_deref()
        .is_some_and(|declared| declared != alg.as_str())
    {
        return None;
    }
    Some(VerifyingKey {
        kid: jwk.kid.clone(),
        alg,
        key,
    })
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A JSON string literal (RFC 7638 §3.3 uses the JSON encoding of values).
fn json_string(value: &str) -> String {
    serde_json::Value::String(value.to_owned()).to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
pub(crate) mod tests {
    use super::*;

    /// RFC 7638 §3.1: the example RSA key and its thumbprint.
    const RFC7638_N: &str = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
    const RFC7638_THUMBPRINT: &str = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

    /// RFC 7515 Appendix A.3.1: the P-256 key of the ES256 example.
    pub(crate) const A3_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
    pub(crate) const A3_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
    pub(crate) const A3_D: &str = "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI";

    /// RFC 8037 Appendix A.1-A.2: the Ed25519 key.
    pub(crate) const A1_D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
    pub(crate) const A2_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

    fn d(v: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(v).unwrap()
    }

    /// The RFC 7515 A.3 key as PKCS#8, built by aws-lc from its d, x and y.
    pub(crate) fn a3_pkcs8() -> Vec<u8> {
        let point = [&[0x04][..], &d(A3_X), &d(A3_Y)].concat();
        let pair = EcdsaKeyPair::from_private_key_and_public_key(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &d(A3_D),
            &point,
        )
        .unwrap();
        pair.to_pkcs8v1().unwrap().as_ref().to_vec()
    }

    /// The RFC 8037 A.1 key as PKCS#8, built by aws-lc from its seed.
    pub(crate) fn rfc8037_pkcs8() -> Vec<u8> {
        let pair = Ed25519KeyPair::from_seed_and_public_key(&d(A1_D), &d(A2_X)).unwrap();
        pair.to_pkcs8().unwrap().as_ref().to_vec()
    }

    enum Input {
        /// A JWK whose thumbprint is computed.
        Thumbprint(Box<Jwk>),
        /// PKCS#8 DER loaded as a key of this algorithm; the public JWK is rendered.
        Load(Algorithm, Vec<u8>),
        /// A JWKS parsed for verification: how many keys are usable.
        KeySet(serde_json::Value),
    }

    #[derive(Debug, PartialEq)]
    enum Expected {
        Thumbprint(&'static str),
        PublicJwk(serde_json::Value),
        Usable(usize),
        Error(KeyError),
    }

    fn check(input: Input, expected: Expected) {
        let actual = match input {
            Input::Thumbprint(jwk) => jwk.thumbprint().map_or_else(Expected::Error, |t| {
                Expected::Thumbprint(if t == RFC7638_THUMBPRINT {
                    RFC7638_THUMBPRINT
                } else {
                    "other"
                })
            }),
            Input::Load(alg, der) => match SigningKey::from_pkcs8(alg, &der) {
                Ok(key) => {
                    assert_eq!(key.kid(), key.public_jwk().thumbprint().unwrap());
                    assert_eq!(key.private_pkcs8_der(), &der[..]);
                    assert!(!format!("{key:?}").contains(&format!("{:?}", &der[..8])));
                    Expected::PublicJwk(serde_json::to_value(key.public_jwk()).unwrap())
                }
                Err(e) => Expected::Error(e),
            },
            Input::KeySet(json) => {
                Expected::Usable(KeySet::from_jwks(&serde_json::from_value(json).unwrap()).len())
            }
        };
        assert_eq!(actual, expected);
    }

    #[test]
    fn rfc_7638_thumbprint() {
        let rsa = Jwk {
            kty: "RSA".into(),
            n: Some(RFC7638_N.into()),
            e: Some("AQAB".into()),
            ..Jwk::default()
        };
        check(
            Input::Thumbprint(Box::new(rsa.clone())),
            Expected::Thumbprint(RFC7638_THUMBPRINT),
        );
        // Optional members do not change it (RFC 7638 §3.2).
        let decorated = Jwk {
            alg: Some("RS256".into()),
            kid: Some("2011-04-29".into()),
            use_: Some("sig".into()),
            ..rsa.clone()
        };
        check(
            Input::Thumbprint(Box::new(decorated)),
            Expected::Thumbprint(RFC7638_THUMBPRINT),
        );
        check(
            Input::Thumbprint(Box::new(Jwk { e: None, ..rsa })),
            Expected::Error(KeyError::IncompleteJwk),
        );
        check(
            Input::Thumbprint(Box::new(Jwk {
                kty: "oct".into(),
                ..Jwk::default()
            })),
            Expected::Error(KeyError::IncompleteJwk),
        );
    }

    #[test]
    fn public_jwks_render_the_rfc_members() {
        // The RFC keys come back out with the RFC's own coordinates.
        let ec = SigningKey::from_pkcs8(Algorithm::ES256, &a3_pkcs8()).unwrap();
        check(
            Input::Load(Algorithm::ES256, a3_pkcs8()),
            Expected::PublicJwk(serde_json::json!({
                "kty": "EC", "use": "sig", "alg": "ES256", "kid": ec.kid(),
                "crv": "P-256", "x": A3_X, "y": A3_Y,
            })),
        );
        let ed = SigningKey::from_pkcs8(Algorithm::EdDSA, &rfc8037_pkcs8()).unwrap();
        check(
            Input::Load(Algorithm::EdDSA, rfc8037_pkcs8()),
            Expected::PublicJwk(serde_json::json!({
                "kty": "OKP", "use": "sig", "alg": "EdDSA", "kid": ed.kid(), "crv": "Ed25519", "x": A2_X,
            })),
        );
        // RFC 8037 A.3: the thumbprint of that Ed25519 key.
        assert_eq!(ed.kid(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
        // A key of one algorithm is not accepted as another.
        check(
            Input::Load(Algorithm::RS256, a3_pkcs8()),
            Expected::Error(KeyError::Rejected(Algorithm::RS256)),
        );
        check(
            Input::Load(Algorithm::EdDSA, a3_pkcs8()),
            Expected::Error(KeyError::Rejected(Algorithm::EdDSA)),
        );
        check(
            Input::Load(Algorithm::ES256, rfc8037_pkcs8()),
            Expected::Error(KeyError::Rejected(Algorithm::ES256)),
        );
        check(
            Input::Load(Algorithm::ES256, b"not der".to_vec()),
            Expected::Error(KeyError::Rejected(Algorithm::ES256)),
        );
    }

    #[test]
    fn generated_keys_have_valid_public_members() {
        for alg in Algorithm::ALL {
            let key = SigningKey::generate(alg).unwrap();
            let jwk = serde_json::to_value(key.public_jwk()).unwrap();
            let b64_len = |member: &str| jwk[member].as_str().map(|s| d(s).len());
            match alg {
                Algorithm::RS256 => {
                    assert_eq!(
                        (jwk["kty"].as_str(), b64_len("n"), jwk["e"].as_str()),
                        (Some("RSA"), Some(256), Some("AQAB"))
                    );
                }
                Algorithm::ES256 => {
                    assert_eq!(
                        (jwk["kty"].as_str(), jwk["crv"].as_str()),
                        (Some("EC"), Some("P-256"))
                    );
                    assert_eq!((b64_len("x"), b64_len("y")), (Some(32), Some(32)));
                }
                Algorithm::EdDSA => {
                    assert_eq!(
                        (jwk["kty"].as_str(), jwk["crv"].as_str(), b64_len("x")),
                        (Some("OKP"), Some("Ed25519"), Some(32))
                    );
                }
            }
            assert_eq!(
                (
                    jwk["use"].as_str(),
                    jwk["alg"].as_str(),
                    jwk["kid"].as_str()
                ),
                (Some("sig"), Some(alg.as_str()), Some(key.kid()))
            );
            assert!(jwk.get("d").is_none());
            // The stored DER loads back into the same key.
            let reloaded = SigningKey::from_pkcs8(alg, key.private_pkcs8_der()).unwrap();
            assert_eq!(reloaded.public_jwk(), key.public_jwk());
            check(
                Input::Load(alg, key.private_pkcs8_der().to_vec()),
                Expected::PublicJwk(jwk.clone()),
            );
            check(
                Input::KeySet(serde_json::json!({ "keys": [jwk] })),
                Expected::Usable(1),
            );
        }
    }

    #[test]
    fn key_sets_keep_only_signature_keys_of_known_types() {
        let ec = serde_json::json!({"kty": "EC", "crv": "P-256", "x": A3_X, "y": A3_Y});
        let with = |extra: serde_json::Value| {
            let mut jwk = ec.clone();
            jwk.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            serde_json::json!({ "keys": [jwk] })
        };
        check(
            Input::KeySet(with(serde_json::json!({}))),
            Expected::Usable(1),
        );
        check(
            Input::KeySet(with(
                serde_json::json!({"use": "sig", "alg": "ES256", "kid": "k"}),
            )),
            Expected::Usable(1),
        );
        check(
            Input::KeySet(with(serde_json::json!({"use": "enc"}))),
            Expected::Usable(0),
        );
        check(
            Input::KeySet(with(serde_json::json!({"key_ops": ["encrypt"]}))),
            Expected::Usable(0),
        );
        check(
            Input::KeySet(with(serde_json::json!({"key_ops": ["verify"]}))),
            Expected::Usable(1),
        );
        check(
            Input::KeySet(with(serde_json::json!({"alg": "RS256"}))),
            Expected::Usable(0),
        );
        check(
            Input::KeySet(with(serde_json::json!({"alg": "HS256"}))),
            Expected::Usable(0),
        );
        check(
            Input::KeySet(with(serde_json::json!({"crv": "P-384"}))),
            Expected::Usable(0),
        );
        check(
            Input::KeySet(with(serde_json::json!({"x": "AAAA"}))),
            Expected::Usable(0),
        );
        check(
            Input::KeySet(serde_json::json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]})),
            Expected::Usable(0),
        );
        check(
            Input::KeySet(serde_json::json!({"keys": [{"kty": "RSA", "n": "AQAB", "e": "AQAB"}]})),
            Expected::Usable(0),
        );
        check(
            Input::KeySet(
                serde_json::json!({"keys": [{"kty": "RSA", "n": RFC7638_N, "e": "AQAB"}]}),
            ),
            Expected::Usable(1),
        );
        check(
            Input::KeySet(
                serde_json::json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": A2_X}, {"kty": "OKP", "crv": "X25519", "x": A2_X}]}),
            ),
            Expected::Usable(1),
        );
        check(
            Input::KeySet(serde_json::json!({"keys": []})),
            Expected::Usable(0),
        );
    }
}
