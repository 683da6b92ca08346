//! [`StoredPassword`], the encoded password hash as kept in the database, and
//! [`Scheme`], the family it belongs to.

use std::fmt;

use super::PasswordError;
use super::format::Parsed;

/// Longest encoded hash accepted by [`StoredPassword::import`]; every supported
/// format is far shorter.
const MAX_ENCODED_LEN: usize = 512;

/// The hashing scheme of a stored password, recognised from its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `$argon2id$`: what [`super::PasswordHasher`] produces.
    Argon2id,
    /// `$argon2i$`
    Argon2i,
    /// `$argon2d$`
    Argon2d,
    /// `$2a$`, `$2b$`, `$2y$`
    Bcrypt,
    /// `$scrypt$` (PHC, as also written by Passlib)
    Scrypt,
    /// `$pbkdf2-sha256$` (PHC or Passlib) or Django's `pbkdf2_sha256$`
    Pbkdf2Sha256,
    /// `$pbkdf2-sha512$` (PHC or Passlib)
    Pbkdf2Sha512,
    /// `$5$`
    Sha256Crypt,
    /// `$6$`
    Sha512Crypt,
    /// LDAP `{SSHA}`: SHA-1 of password and salt
    Ssha,
    /// LDAP `{SSHA256}`
    Ssha256,
    /// LDAP `{SSHA512}`
    Ssha512,
    /// Nothing we recognise.
    Unknown,
}

impl Scheme {
    /// Recognises the scheme from the prefix alone; [`StoredPassword::import`]
    /// does the full parse.
    pub fn of(encoded: &str) -> Scheme {
        const PREFIXES: &[(&str, Scheme)] = &[
            ("$argon2id$", Scheme::Argon2id),
            ("$argon2i$", Scheme::Argon2i),
            ("$argon2d$", Scheme::Argon2d),
            ("$2a$", Scheme::Bcrypt),
            ("$2b$", Scheme::Bcrypt),
            ("$2y$", Scheme::Bcrypt),
            ("$scrypt$", Scheme::Scrypt),
            ("$pbkdf2-sha256$", Scheme::Pbkdf2Sha256),
            ("pbkdf2_sha256$", Scheme::Pbkdf2Sha256),
            ("$pbkdf2-sha512$", Scheme::Pbkdf2Sha512),
            ("$5$", Scheme::Sha256Crypt),
            ("$6$", Scheme::Sha512Crypt),
            ("{SSHA}", Scheme::Ssha),
            ("{SSHA256}", Scheme::Ssha256),
            ("{SSHA512}", Scheme::Ssha512),
        ];
        PREFIXES
            .iter()
            .find(|(prefix, _)| {
                // LDAP scheme names are case-insensitive (RFC 3112 §3); the others are not.
                if prefix.starts_with('{') {
                    encoded
                        .get(..prefix.len())
                        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
                } else {
                    encoded.starts_with(prefix)
                }
            })
            .map_or(Scheme::Unknown, |(_, scheme)| *scheme)
    }

    /// Short lower-case name, for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Argon2id => "argon2id",
            Scheme::Argon2i => "argon2i",
            Scheme::Argon2d => "argon2d",
            Scheme::Bcrypt => "bcrypt",
            Scheme::Scrypt => "scrypt",
            Scheme::Pbkdf2Sha256 => "pbkdf2-sha256",
            Scheme::Pbkdf2Sha512 => "pbkdf2-sha512",
            Scheme::Sha256Crypt => "sha256-crypt",
            Scheme::Sha512Crypt => "sha512-crypt",
            Scheme::Ssha => "ssha",
            Scheme::Ssha256 => "ssha256",
            Scheme::Ssha512 => "ssha512",
            Scheme::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An encoded password hash (PHC string, modular crypt or LDAP form), as stored.
///
/// `Debug` prints only the scheme: a hash is not the password, but there is no
/// reason to hand it to an offline cracker through a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredPassword(String);

impl StoredPassword {
    /// Wraps a hash read back from storage. No validation: hashes reach storage
    /// only through [`super::PasswordHasher::hash`] or [`StoredPassword::import`],
    /// and a malformed one fails at verification with
    /// [`PasswordError::UnsupportedHash`].
    pub fn from_stored(encoded: String) -> Self {
        Self(encoded)
    }

    /// Accepts a hash produced by another system, after parsing it in full and
    /// checking its parameters are within the bounds we are willing to compute
    /// (so an imported hash cannot make a sign-in cost minutes or gigabytes).
    ///
    /// Accepted: bcrypt `$2a$`/`$2b$`/`$2y$` (cost 4–16); scrypt `$scrypt$`
    /// PHC strings (at most 1 GiB); PBKDF2
    /// `$pbkdf2-sha256$`/`$pbkdf2-sha512$` PHC strings, Passlib's
    /// `$pbkdf2-sha256$<rounds>$…` and Django's `pbkdf2_sha256$…`;
    /// SHA-crypt `$5$`/`$6$` with or without `rounds=`; LDAP
    /// `{SSHA}`/`{SSHA256}`/`{SSHA512}`; argon2i/argon2d/argon2id PHC strings
    /// without a secret key (`keyid`) or associated data.
    pub fn import(encoded: &str) -> Result<Self, PasswordError> {
        if encoded.len() > MAX_ENCODED_LEN {
            return Err(PasswordError::UnsupportedHash("hash too long"));
        }
        Parsed::parse(encoded)?;
        Ok(Self(encoded.to_owned()))
    }

    /// The scheme, from the prefix.
    pub fn scheme(&self) -> Scheme {
        Scheme::of(&self.0)
    }

    /// The encoded hash, for writing to storage.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for StoredPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoredPassword({})", self.scheme())
    }
}
