//! Encryption of secrets at rest (private keys, TOTP secrets) under the
//! [`MasterKey`]: AES-256-GCM through aws-lc-rs, random 96-bit nonces.
//!
//! The key comes from `GATEHOUSE_MASTER_KEY`/`_FILE` or a 0600 file in the data
//! directory (loading it is the binary's job); [`MasterKey::check_value`] lets
//! start-up refuse a key that does not match the database. This module knows
//! no storage and no configuration.

mod master_key;

pub use master_key::MasterKey;

/// Why a key could not be read or a value could not be sealed or opened.
/// No variant carries key material or plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The master key text is not 32 bytes in hex or base64.
    #[error("invalid master key: {0}")]
    InvalidKey(&'static str),
    /// The sealed value is not in the sealed format (bad base64, too short,
    /// unknown version).
    #[error("malformed sealed value")]
    Malformed,
    /// Authentication failed: wrong key, wrong associated data, or the value
    /// was altered.
    #[error("cannot decrypt: wrong key, wrong context or corrupted data")]
    Open,
    /// Encryption failed inside aws-lc.
    #[error("encryption failed")]
    Seal,
}
