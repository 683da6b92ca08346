//! Parsing and verification of every stored-hash format we accept.
//!
//! [`Parsed::parse`] reads an encoded hash completely (not just its prefix) and
//! checks its parameters against cost ceilings, so a hash from an import file
//! cannot make a single sign-in take minutes or gigabytes. [`Parsed::verify`]
//! recomputes the hash and compares in constant time, through the hashing
//! crate's own verifier or `aws_lc_rs::constant_time`. Everything here is
//! synchronous and CPU-bound: callers run it on the blocking pool.

use std::num::NonZeroU32;

use argon2::password_hash::phc;
use aws_lc_rs::{constant_time, digest, pbkdf2};
use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{
    GeneralPurpose, GeneralPurposeConfig, STANDARD, STANDARD_NO_PAD,
};
use sha_crypt::PasswordVerifier as _;
use zeroize::Zeroizing;

use super::PasswordError;
use super::stored::Scheme;

/// Argon2 memory ceiling: 1 GiB, in KiB.
pub(super) const MAX_ARGON2_M_KIB: u32 = 1 << 20;
/// Argon2 passes ceiling.
pub(super) const MAX_ARGON2_T: u32 = 32;
/// Argon2 lanes ceiling.
pub(super) const MAX_ARGON2_P: u32 = 16;
/// bcrypt cost ceiling (2^16 rounds: seconds per verification).
const MAX_BCRYPT_COST: u32 = 16;
/// scrypt ceiling on N·r·p; N·r alone bounds memory to 128·N·r bytes = 1 GiB.
const MAX_SCRYPT_WORK: u64 = 1 << 23;
/// PBKDF2 iteration ceiling (Django 5.2 uses 1,000,000; OWASP asks 600,000).
const MAX_PBKDF2_ROUNDS: u32 = 5_000_000;
/// SHA-crypt rounds ceiling (glibc's floor is 1,000; Passlib's default 656,000).
const MAX_SHA_CRYPT_ROUNDS: u32 = 5_000_000;
/// SHA-crypt: glibc uses at most 16 salt characters.
const MAX_SHA_CRYPT_SALT: usize = 16;
/// LDAP salted digests: salt length bounds (OpenLDAP and Passlib use 4–8 bytes).
const SSHA_SALT_LEN: std::ops::RangeInclusive<usize> = 4..=64;

/// Standard base64 alphabet, padding optional (LDAP tools differ).
const STANDARD_PAD_OPTIONAL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn unsupported(reason: &'static str) -> PasswordError {
    PasswordError::UnsupportedHash(reason)
}

/// A fully parsed stored hash.
pub(super) enum Parsed {
    Argon2(Argon2Hash),
    /// Validated bcrypt string; the `bcrypt` crate parses it again to verify.
    Bcrypt(String),
    Scrypt(ScryptHash),
    Pbkdf2(Pbkdf2Hash),
    /// Validated SHA-crypt string; the `sha-crypt` crate parses it again to verify.
    ShaCrypt(String),
    Ssha(SshaHash),
}

pub(super) struct Argon2Hash {
    algorithm: argon2::Algorithm,
    version: argon2::Version,
    params: argon2::Params,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

pub(super) struct ScryptHash {
    params: scrypt::Params,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

pub(super) struct Pbkdf2Hash {
    algorithm: pbkdf2::Algorithm,
    rounds: NonZeroU32,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

pub(super) struct SshaHash {
    algorithm: &'static digest::Algorithm,
    digest: Vec<u8>,
    salt: Vec<u8>,
}

impl Parsed {
    /// Parses `encoded` in full, checking every parameter.
    pub(super) fn parse(encoded: &str) -> Result<Parsed, PasswordError> {
        match Scheme::of(encoded) {
            Scheme::Argon2id | Scheme::Argon2i | Scheme::Argon2d => parse_argon2(encoded),
            Scheme::Bcrypt => parse_bcrypt(encoded),
            Scheme::Scrypt => parse_scrypt(encoded),
            Scheme::Pbkdf2Sha256 | Scheme::Pbkdf2Sha512 => parse_pbkdf2(encoded),
            Scheme::Sha256Crypt | Scheme::Sha512Crypt => parse_sha_crypt(encoded),
            Scheme::Ssha => parse_ssha(encoded, "{SSHA}", &digest::SHA1_FOR_LEGACY_USE_ONLY),
            Scheme::Ssha256 => parse_ssha(encoded, "{SSHA256}", &digest::SHA256),
            Scheme::Ssha512 => parse_ssha(encoded, "{SSHA512}", &digest::SHA512),
            Scheme::Unknown => Err(unsupported("unrecognised hash format")),
        }
    }

    /// Recomputes the hash of `password` and compares it in constant time.
    pub(super) fn verify(&self, password: &[u8]) -> Result<bool, PasswordError> {
        match self {
            Parsed::Argon2(hash) => hash.verify(password),
            Parsed::Bcrypt(encoded) => {
                bcrypt::verify(password, encoded).map_err(|_| unsupported("malformed bcrypt hash"))
            }
            Parsed::Scrypt(hash) => hash.verify(password),
            Parsed::Pbkdf2(hash) => Ok(hash.verify(password)),
            Parsed::ShaCrypt(encoded) => {
                match sha_crypt::ShaCrypt::default().verify_password(password, encoded.as_str()) {
                    Ok(()) => Ok(true),
                    Err(sha_crypt::password_hash::Error::PasswordInvalid) => Ok(false),
                    Err(_) => Err(unsupported("malformed SHA-crypt hash")),
                }
            }
            Parsed::Ssha(hash) => Ok(hash.verify(password)),
        }
    }

    /// Whether a successful verification should be followed by storing a new
    /// hash: anything but argon2id v1.3 with exactly the `current` parameters.
    pub(super) fn needs_rehash(&self, current: &argon2::Params) -> bool {
        match self {
            Parsed::Argon2(hash) => !hash.is_current(current),
            Parsed::Bcrypt(_)
            | Parsed::Scrypt(_)
            | Parsed::Pbkdf2(_)
            | Parsed::ShaCrypt(_)
            | Parsed::Ssha(_) => true,
        }
    }
}

/// Constant-time comparison of a recomputed hash with the stored one.
fn ct_eq(computed: &[u8], stored: &[u8]) -> bool {
    constant_time::verify_slices_are_equal(computed, stored).is_ok()
}

// ---------------------------------------------------------------- argon2

fn parse_argon2(encoded: &str) -> Result<Parsed, PasswordError> {
    let phc = phc::PasswordHash::new(encoded).map_err(|_| unsupported("malformed argon2 hash"))?;
    let algorithm = argon2::Algorithm::new(phc.algorithm.as_str())
        .map_err(|_| unsupported("unknown argon2 variant"))?;
    // The reference implementation omits `v=` for version 1.0 (0x10).
    let version = match phc.version {
        None | Some(0x10) => argon2::Version::V0x10,
        Some(0x13) => argon2::Version::V0x13,
        Some(_) => return Err(unsupported("unknown argon2 version")),
    };
    let (mut m, mut t, mut p) = (None, None, None);
    for (name, value) in phc.params.iter() {
        let slot = match name.as_str() {
            "m" => &mut m,
            "t" => &mut t,
            "p" => &mut p,
            // keyid names a secret key (pepper) we do not have; data is unused in practice.
            _ => return Err(unsupported("unsupported argon2 parameter")),
        };
        let value = value
            .decimal()
            .map_err(|_| unsupported("argon2 parameter is not a number"))?;
        if slot.replace(value).is_some() {
            return Err(unsupported("repeated argon2 parameter"));
        }
    }
    let (Some(m), Some(t), Some(p)) = (m, t, p) else {
        return Err(unsupported("argon2 hash lacks m, t or p"));
    };
    let (Some(salt), Some(hash)) = (phc.salt, phc.hash) else {
        return Err(unsupported("argon2 hash lacks salt or output"));
    };
    let params = argon2_params(m, t, p, hash.len())?;
    Ok(Parsed::Argon2(Argon2Hash {
        algorithm,
        version,
        params,
        salt: salt.as_ref().to_vec(),
        hash: hash.as_bytes().to_vec(),
    }))
}

/// Argon2 parameters within the ceilings, shared by parsing and
/// [`super::PasswordHasher::with_params`] so our own hashes always parse.
pub(super) fn argon2_params(
    m_kib: u32,
    t: u32,
    p: u32,
    output_len: usize,
) -> Result<argon2::Params, PasswordError> {
    if m_kib > MAX_ARGON2_M_KIB || t > MAX_ARGON2_T || p > MAX_ARGON2_P {
        return Err(unsupported("argon2 parameters above the accepted maximum"));
    }
    argon2::Params::new(m_kib, t, p, Some(output_len))
        .map_err(|_| unsupported("invalid argon2 parameters"))
}

impl Argon2Hash {
    fn verify(&self, password: &[u8]) -> Result<bool, PasswordError> {
        let mut out = Zeroizing::new(vec![0u8; self.hash.len()]);
        argon2::Argon2::new(self.algorithm, self.version, self.params.clone())
            .hash_password_into(password, &self.salt, &mut out)
            .map_err(|_| PasswordError::Hashing)?;
        Ok(ct_eq(&out, &self.hash))
    }

    fn is_current(&self, current: &argon2::Params) -> bool {
        self.algorithm == argon2::Algorithm::Argon2id
            && self.version == argon2::Version::V0x13
            && self.params.m_cost() == current.m_cost()
            && self.params.t_cost() == current.t_cost()
            && self.params.p_cost() == current.p_cost()
            && output_len(&self.params) == output_len(current)
    }
}

fn output_len(params: &argon2::Params) -> usize {
    params
        .output_len()
        .unwrap_or(argon2::Params::DEFAULT_OUTPUT_LEN)
}

// ---------------------------------------------------------------- bcrypt

fn parse_bcrypt(encoded: &str) -> Result<Parsed, PasswordError> {
    // `Scheme::of` admitted only $2a$, $2b$ and $2y$ (not the broken $2x$).
    let parts: bcrypt::HashParts = encoded
        .parse()
        .map_err(|_| unsupported("malformed bcrypt hash"))?;
    if !(4..=MAX_BCRYPT_COST).contains(&parts.get_cost()) {
        return Err(unsupported("bcrypt cost out of range"));
    }
    Ok(Parsed::Bcrypt(encoded.to_owned()))
}

// ---------------------------------------------------------------- scrypt

fn parse_scrypt(encoded: &str) -> Result<Parsed, PasswordError> {
    let phc = phc::PasswordHash::new(encoded).map_err(|_| unsupported("malformed scrypt hash"))?;
    if phc.algorithm.as_str() != "scrypt" || phc.version.is_some() {
        return Err(unsupported("malformed scrypt hash"));
    }
    let (mut ln, mut r, mut p) = (None, None, None);
    for (name, value) in phc.params.iter() {
        let slot = match name.as_str() {
            "ln" => &mut ln,
            "r" => &mut r,
            "p" => &mut p,
            _ => return Err(unsupported("unsupported scrypt parameter")),
        };
        let value = value
            .decimal()
            .map_err(|_| unsupported("scrypt parameter is not a number"))?;
        if slot.replace(value).is_some() {
            return Err(unsupported("repeated scrypt parameter"));
        }
    }
    let (Some(ln), Some(r), Some(p)) = (ln, r, p) else {
        return Err(unsupported("scrypt hash lacks ln, r or p"));
    };
    let (Some(salt), Some(hash)) = (phc.salt, phc.hash) else {
        return Err(unsupported("scrypt hash lacks salt or output"));
    };
    let work = 1u64
        .checked_shl(ln)
        .and_then(|n| n.checked_mul(u64::from(r)))
        .and_then(|nr| nr.checked_mul(u64::from(p)));
    if !(1..=32).contains(&ln) || work.is_none_or(|work| work > MAX_SCRYPT_WORK) {
        return Err(unsupported("scrypt parameters out of range"));
    }
    let ln = u8::try_from(ln).map_err(|_| unsupported("scrypt parameters out of range"))?;
    let params =
        scrypt::Params::new(ln, r, p).map_err(|_| unsupported("scrypt parameters out of range"))?;
    Ok(Parsed::Scrypt(ScryptHash {
        params,
        salt: salt.as_ref().to_vec(),
        hash: hash.as_bytes().to_vec(),
    }))
}

impl ScryptHash {
    fn verify(&self, password: &[u8]) -> Result<bool, PasswordError> {
        let mut out = Zeroizing::new(vec![0u8; self.hash.len()]);
        scrypt::scrypt(password, &self.salt, &self.params, &mut out)
            .map_err(|_| PasswordError::Hashing)?;
        Ok(ct_eq(&out, &self.hash))
    }
}

// ---------------------------------------------------------------- PBKDF2

fn parse_pbkdf2(encoded: &str) -> Result<Parsed, PasswordError> {
    if let Some(rest) = encoded.strip_prefix("pbkdf2_sha256$") {
        return parse_pbkdf2_django(rest);
    }
    let fields: Vec<&str> = encoded.split('$').collect();
    let (algorithm, digest_len) = match fields.get(1) {
        Some(&"pbkdf2-sha256") => (pbkdf2::PBKDF2_HMAC_SHA256, 32),
        Some(&"pbkdf2-sha512") => (pbkdf2::PBKDF2_HMAC_SHA512, 64),
        _ => return Err(unsupported("malformed PBKDF2 hash")),
    };
    match fields.get(2) {
        Some(rounds) if is_decimal(rounds) => {
            parse_pbkdf2_passlib(algorithm, digest_len, &fields[2..])
        }
        _ => parse_pbkdf2_phc(encoded, algorithm),
    }
}

/// `$pbkdf2-sha256$i=600000,l=32$<salt>$<hash>` (PHC, as written by RustCrypto).
fn parse_pbkdf2_phc(encoded: &str, algorithm: pbkdf2::Algorithm) -> Result<Parsed, PasswordError> {
    let phc = phc::PasswordHash::new(encoded).map_err(|_| unsupported("malformed PBKDF2 hash"))?;
    if phc.version.is_some() {
        return Err(unsupported("malformed PBKDF2 hash"));
    }
    let (Some(salt), Some(hash)) = (phc.salt, phc.hash) else {
        return Err(unsupported("PBKDF2 hash lacks salt or output"));
    };
    let (mut rounds, mut length) = (None, None);
    for (name, value) in phc.params.iter() {
        let slot = match name.as_str() {
            "i" => &mut rounds,
            "l" => &mut length,
            _ => return Err(unsupported("unsupported PBKDF2 parameter")),
        };
        let value = value
            .decimal()
            .map_err(|_| unsupported("PBKDF2 parameter is not a number"))?;
        if slot.replace(value).is_some() {
            return Err(unsupported("repeated PBKDF2 parameter"));
        }
    }
    let Some(rounds) = rounds else {
        return Err(unsupported("PBKDF2 hash lacks i"));
    };
    if length.is_some_and(|l| usize::try_from(l).ok() != Some(hash.len())) {
        return Err(unsupported("PBKDF2 output length does not match l"));
    }
    pbkdf2_hash(
        algorithm,
        rounds,
        salt.as_ref().to_vec(),
        hash.as_bytes().to_vec(),
    )
}

/// Passlib: `$pbkdf2-sha256$<rounds>$<ab64 salt>$<ab64 hash>`, where "ab64" is
/// unpadded base64 with `.` for `+`.
fn parse_pbkdf2_passlib(
    algorithm: pbkdf2::Algorithm,
    digest_len: usize,
    fields: &[&str],
) -> Result<Parsed, PasswordError> {
    let [rounds, salt, hash] = fields else {
        return Err(unsupported("malformed PBKDF2 hash"));
    };
    let ab64 = |text: &str| STANDARD_NO_PAD.decode(text.replace('.', "+"));
    let salt = ab64(salt).map_err(|_| unsupported("malformed PBKDF2 salt"))?;
    let hash = ab64(hash).map_err(|_| unsupported("malformed PBKDF2 hash"))?;
    if salt.is_empty() || hash.len() != digest_len {
        return Err(unsupported("malformed PBKDF2 hash"));
    }
    pbkdf2_hash(algorithm, parse_decimal(rounds)?, salt, hash)
}

/// Django: `pbkdf2_sha256$<rounds>$<salt text>$<padded base64 hash>`; the salt
/// is used as the literal text.
fn parse_pbkdf2_django(rest: &str) -> Result<Parsed, PasswordError> {
    let fields: Vec<&str> = rest.split('$').collect();
    let [rounds, salt, hash] = fields.as_slice() else {
        return Err(unsupported("malformed Django PBKDF2 hash"));
    };
    if salt.is_empty() || salt.len() > 128 || !salt.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(unsupported("malformed Django PBKDF2 salt"));
    }
    let hash = STANDARD
        .decode(hash)
        .map_err(|_| unsupported("malformed Django PBKDF2 hash"))?;
    if hash.len() != 32 {
        return Err(unsupported("malformed Django PBKDF2 hash"));
    }
    pbkdf2_hash(
        pbkdf2::PBKDF2_HMAC_SHA256,
        parse_decimal(rounds)?,
        salt.as_bytes().to_vec(),
        hash,
    )
}

fn pbkdf2_hash(
    algorithm: pbkdf2::Algorithm,
    rounds: u32,
    salt: Vec<u8>,
    hash: Vec<u8>,
) -> Result<Parsed, PasswordError> {
    let rounds = NonZeroU32::new(rounds)
        .filter(|r| r.get() <= MAX_PBKDF2_ROUNDS)
        .ok_or(unsupported("PBKDF2 rounds out of range"))?;
    if hash.len() < 10 || hash.len() > 64 {
        return Err(unsupported("PBKDF2 output length out of range"));
    }
    Ok(Parsed::Pbkdf2(Pbkdf2Hash {
        algorithm,
        rounds,
        salt,
        hash,
    }))
}

impl Pbkdf2Hash {
    fn verify(&self, password: &[u8]) -> bool {
        // Recomputes and compares in constant time.
        pbkdf2::verify(
            self.algorithm,
            self.rounds,
            &self.salt,
            password,
            &self.hash,
        )
        .is_ok()
    }
}

fn is_decimal(text: &str) -> bool {
    !text.is_empty() && text.len() <= 10 && text.bytes().all(|b| b.is_ascii_digit())
}

fn parse_decimal(text: &str) -> Result<u32, PasswordError> {
    if !is_decimal(text) {
        return Err(unsupported("malformed number"));
    }
    text.parse().map_err(|_| unsupported("malformed number"))
}

// ---------------------------------------------------------------- SHA-crypt

/// `$5$[rounds=N$]<salt>$<hash>` and `$6$…` (Drepper's SHA-crypt, as in glibc).
fn parse_sha_crypt(encoded: &str) -> Result<Parsed, PasswordError> {
    let (rest, hash_len) = if let Some(rest) = encoded.strip_prefix("$5$") {
        (rest, 43)
    } else if let Some(rest) = encoded.strip_prefix("$6$") {
        (rest, 86)
    } else {
        return Err(unsupported("malformed SHA-crypt hash"));
    };
    let fields: Vec<&str> = rest.split('$').collect();
    let (salt, hash) = match fields.as_slice() {
        [salt, hash] => (*salt, *hash),
        [rounds, salt, hash] => {
            let rounds = rounds
                .strip_prefix("rounds=")
                .ok_or(unsupported("malformed SHA-crypt rounds"))
                .and_then(parse_decimal)?;
            // glibc clamps requested rounds to at least 1,000 and writes the clamped value.
            if !(1_000..=MAX_SHA_CRYPT_ROUNDS).contains(&rounds) {
                return Err(unsupported("SHA-crypt rounds out of range"));
            }
            (*salt, *hash)
        }
        _ => return Err(unsupported("malformed SHA-crypt hash")),
    };
    if salt.is_empty()
        || salt.len() > MAX_SHA_CRYPT_SALT
        || !salt.bytes().all(|b| b.is_ascii_graphic())
        || salt.starts_with("rounds=")
    {
        return Err(unsupported("malformed SHA-crypt salt"));
    }
    if hash.len() != hash_len || !hash.bytes().all(is_crypt_base64) {
        return Err(unsupported("malformed SHA-crypt hash"));
    }
    Ok(Parsed::ShaCrypt(encoded.to_owned()))
}

/// The crypt(3) base64 alphabet: `./0-9A-Za-z`.
fn is_crypt_base64(b: u8) -> bool {
    b == b'.' || b == b'/' || b.is_ascii_alphanumeric()
}

// ---------------------------------------------------------------- LDAP {SSHA}

/// `{SSHA}base64(SHA-1(password ‖ salt) ‖ salt)`, likewise `{SSHA256}`, `{SSHA512}`.
fn parse_ssha(
    encoded: &str,
    prefix: &str,
    algorithm: &'static digest::Algorithm,
) -> Result<Parsed, PasswordError> {
    let body = encoded
        .get(prefix.len()..)
        .ok_or(unsupported("malformed LDAP salted hash"))?;
    let decoded = STANDARD_PAD_OPTIONAL
        .decode(body)
        .map_err(|_| unsupported("malformed LDAP salted hash"))?;
    let digest_len = algorithm.output_len();
    let salt_len = decoded.len().saturating_sub(digest_len);
    if decoded.len() < digest_len || !SSHA_SALT_LEN.contains(&salt_len) {
        return Err(unsupported("malformed LDAP salted hash"));
    }
    let (digest, salt) = decoded.split_at(digest_len);
    Ok(Parsed::Ssha(SshaHash {
        algorithm,
        digest: digest.to_vec(),
        salt: salt.to_vec(),
    }))
}

impl SshaHash {
    fn verify(&self, password: &[u8]) -> bool {
        let mut context = digest::Context::new(self.algorithm);
        context.update(password);
        context.update(&self.salt);
        ct_eq(context.finish().as_ref(), &self.digest)
    }
}
