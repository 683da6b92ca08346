//! JWT signing keys as stored: one row per key, moving `next` → `active` →
//! `retired`, its private half sealed under the master key.
//!
//! A `next` key is published in JWKS before it signs anything, so relying
//! parties have fetched it by the time it becomes `active`; a `retired` key
//! stays published until `remove_after`, past the expiry of every token it
//! signed. At most one key per algorithm is `active` and at most one `next`.

use std::fmt;

pub use gatehouse_oauth::jwk::{Algorithm, Jwk};

use crate::clock::Millis;

/// Where a key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyState {
    /// Published, not yet signing; becomes `active` at the next rotation.
    Next,
    /// Signs new tokens; one per algorithm.
    Active,
    /// No longer signs; published until `remove_after` so its tokens still verify.
    Retired,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Next => "next",
            Self::Active => "active",
            Self::Retired => "retired",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Next, Self::Active, Self::Retired]
            .into_iter()
            .find(|state| state.as_str() == value)
    }
}

impl fmt::Display for KeyState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One signing key row.
#[derive(Clone, PartialEq)]
pub struct StoredKey {
    /// The RFC 7638 thumbprint of the public key.
    pub kid: String,
    pub alg: Algorithm,
    pub state: KeyState,
    /// The PKCS#8 DER private key sealed with the master key
    /// (`MasterKey::seal_to_string`, associated data [`StoredKey::seal_aad`]).
    pub sealed_private_key: String,
    /// The public JWK as published (`kty`, `use`, `alg`, `kid` and the key's members).
    pub public_jwk: Jwk,
    pub created_at: Millis,
    /// When it became `active`.
    pub activated_at: Option<Millis>,
    /// When it became `retired`.
    pub retired_at: Option<Millis>,
    /// A retired key is deleted (and leaves JWKS) once this has passed.
    pub remove_after: Option<Millis>,
}

impl StoredKey {
    /// The associated data a key's private half is sealed with: a sealed key
    /// copied to another row does not open.
    pub fn seal_aad(kid: &str) -> Vec<u8> {
        format!("signing_key:{kid}").into_bytes()
    }
}

impl fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("state", &self.state)
            .field("created_at", &self.created_at)
            .field("activated_at", &self.activated_at)
            .field("retired_at", &self.retired_at)
            .field("remove_after", &self.remove_after)
            .finish_non_exhaustive()
    }
}

/// One rotation of one algorithm's keys, applied by the store as a single
/// compare-and-set: `next_kid` must still be `next` and `active_kid` still
/// `active`, or nothing changes.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyRotation {
    pub alg: Algorithm,
    /// The `next` key, to become `active`.
    pub next_kid: String,
    /// The `active` key, to become `retired`.
    pub active_kid: String,
    /// When the rotation happens (`activated_at` of the promoted key, `retired_at` of the other).
    pub at: Millis,
    /// When the retired key may be deleted.
    pub remove_after: Millis,
    /// The new `next` key.
    pub new_next: StoredKey,
}
