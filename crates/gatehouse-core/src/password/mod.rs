//! Passwords: hashing, verification, import of existing hashes and policy.
//!
//! New passwords are hashed with argon2id at the OWASP parameters
//! (m=19456 KiB, t=2, p=1) by [`PasswordHasher`], which runs the work on
//! tokio's blocking pool behind a semaphore so a burst of sign-ins cannot take
//! every core. Stored hashes are [`StoredPassword`]s; besides our own argon2id
//! strings they may be hashes imported from another system (bcrypt, scrypt,
//! PBKDF2, SHA-crypt, LDAP `{SSHA}`, other argon2 variants), each parsed in full
//! by [`StoredPassword::import`] and verified in constant time. A successful
//! verification of anything but current-parameter argon2id hands back a fresh
//! hash ([`Verification::Match`]`{ rehash: Some(..) }`) for the caller to store.
//!
//! [`PasswordPolicy`] decides whether a new password is acceptable: length in
//! UTF-8 bytes, Django's list of 20,000 common passwords, and the user's own
//! name or e-mail address; [`PasswordPolicy::reused`] checks the history.
//!
//! Invariants: no password reaches a log line, an error or a `Debug` string;
//! the module knows no user, store or HTTP type.

mod common_passwords;
mod format;
mod hasher;
mod history;
mod policy;
mod stored;

#[cfg(test)]
mod tests;

pub use hasher::{HashSlot, PasswordHasher, Verification};
pub use policy::{PasswordPolicy, PolicyContext, PolicyViolations, Violation};
pub use stored::{Scheme, StoredPassword};

/// Longest password, in bytes, that is hashed or verified at all. Longer input
/// is refused before any work is done: SHA-crypt's cost grows with the length
/// of the password, so unbounded input would be a denial of service.
/// [`PasswordPolicy::max_length`] is the (lower) limit users see.
pub const MAX_PASSWORD_BYTES: usize = 4096;

/// Why a password could not be hashed or verified. A wrong password is not an
/// error: it is [`Verification::Mismatch`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// The stored or imported hash is not in a format we accept, or its
    /// parameters are out of range. The reason never contains the hash itself.
    #[error("unsupported password hash: {0}")]
    UnsupportedHash(&'static str),
    /// The password is longer than [`MAX_PASSWORD_BYTES`].
    #[error("password longer than {MAX_PASSWORD_BYTES} bytes")]
    TooLong,
    /// Hashing parameters given to [`PasswordHasher::with_params`] are invalid.
    #[error("invalid password hashing parameters: {0}")]
    InvalidParams(&'static str),
    /// The hash function itself failed (should not happen with valid parameters).
    #[error("password hashing failed")]
    Hashing,
    /// The blocking task did not complete (runtime shutting down or the task panicked).
    #[error("password hashing task did not complete")]
    Unavailable,
    /// Every hashing slot is busy and the queue for them is full: refused at
    /// once rather than waiting without bound (overload shedding).
    #[error("too many password checks waiting")]
    Busy,
}
