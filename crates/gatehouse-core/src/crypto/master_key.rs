//! [`MasterKey`]: the AES-256-GCM key under which private keys, TOTP secrets and
//! other secrets are encrypted at rest.
//!
//! Sealed format, version 1: `0x01 ‖ nonce (12 bytes) ‖ ciphertext ‖ tag (16 bytes)`.
//! The nonce is random (96 bits, from aws-lc's CSPRNG) and the version byte is
//! authenticated together with the caller's associated data, which should name
//! what the secret is and whose (for example `totp:<user id>`), so a sealed
//! value cannot be moved to another row or column and still open.

use std::fmt;

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use zeroize::Zeroizing;

use super::CryptoError;
use crate::clock::Rng;

/// The only sealed-format version so far.
const VERSION: u8 = 1;
/// AES-GCM tag length.
const TAG_LEN: usize = 16;
/// Plaintext and associated data of the value [`MasterKey::check_value`] seals.
const CHECK_PLAINTEXT: &[u8] = b"gatehouse master key check";
const CHECK_AAD: &[u8] = b"gatehouse:master-key-check";

/// A 256-bit key, zeroed on drop, never printed.
#[derive(Clone)]
pub struct MasterKey(Zeroizing<[u8; MasterKey::LEN]>);

impl MasterKey {
    /// Key length in bytes.
    pub const LEN: usize = 32;

    pub fn from_bytes(bytes: [u8; Self::LEN]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// A new random key.
    pub fn generate(rng: &dyn Rng) -> Self {
        let mut key = Zeroizing::new([0u8; Self::LEN]);
        rng.fill(key.as_mut());
        Self(key)
    }

    /// Reads a key given as 64 hex digits or as base64 (standard or URL-safe
    /// alphabet, padded or not) of exactly 32 bytes. Surrounding whitespace is
    /// ignored. The error never contains the text.
    pub fn parse(text: &str) -> Result<Self, CryptoError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(CryptoError::InvalidKey("empty"));
        }
        let mut key = Zeroizing::new([0u8; Self::LEN]);
        if text.len() == 2 * Self::LEN && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            for (byte, pair) in key.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
                *byte = (hex_value(pair[0]) << 4) | hex_value(pair[1]);
            }
            return Ok(Self(key));
        }
        let decoded = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(text).ok().map(Zeroizing::new))
            .ok_or(CryptoError::InvalidKey(
                "not 64 hex digits and not valid base64",
            ))?;
        if decoded.len() != Self::LEN {
            return Err(CryptoError::InvalidKey(
                "must be exactly 32 bytes (64 hex digits or 44 base64 characters)",
            ));
        }
        key.copy_from_slice(&decoded);
        Ok(Self(key))
    }

    /// The key as padded standard base64, for the key file.
    pub fn encode(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(self.0.as_ref()))
    }

    /// Encrypts `plaintext`, binding it to `aad`.
    ///
    /// aws-lc fails to encrypt only if the OS random generator fails or the
    /// plaintext exceeds 64 GiB; like [`crate::clock::SystemRng`], that is
    /// treated as unrecoverable and aborts the process rather than return
    /// something that is not ciphertext.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        match self.try_seal(plaintext, aad) {
            Ok(sealed) => sealed,
            Err(_) => std::process::abort(),
        }
    }

    fn try_seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let key = self.aead_key()?;
        let mut in_out = Zeroizing::new(Vec::with_capacity(plaintext.len() + TAG_LEN));
        in_out.extend_from_slice(plaintext);
        let nonce = key
            .seal_in_place_append_tag(Aad::from(header_aad(aad)), &mut *in_out)
            .map_err(|_| CryptoError::Seal)?;
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + in_out.len());
        sealed.push(VERSION);
        sealed.extend_from_slice(nonce.as_ref());
        sealed.extend_from_slice(&in_out);
        Ok(sealed)
    }

    /// Decrypts what [`Self::seal`] produced with the same `aad`. Fails if the
    /// key or `aad` differ or a single bit of `sealed` changed.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let (&version, rest) = sealed.split_first().ok_or(CryptoError::Malformed)?;
        if version != VERSION {
            return Err(CryptoError::Malformed);
        }
        if rest.len() < NONCE_LEN + TAG_LEN {
            return Err(CryptoError::Malformed);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Malformed)?;
        let mut in_out = Zeroizing::new(ciphertext.to_vec());
        let plaintext_len = self
            .aead_key()?
            .open_in_place(nonce, Aad::from(header_aad(aad)), &mut in_out)
            .map_err(|_| CryptoError::Open)?
            .len();
        in_out.truncate(plaintext_len);
        Ok(in_out)
    }

    /// [`Self::seal`], as standard base64 for a text column.
    pub fn seal_to_string(&self, plaintext: &[u8], aad: &[u8]) -> String {
        STANDARD.encode(self.seal(plaintext, aad))
    }

    /// [`Self::open`] of a [`Self::seal_to_string`] value.
    pub fn open_str(&self, sealed: &str, aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let sealed = STANDARD
            .decode(sealed)
            .map_err(|_| CryptoError::Malformed)?;
        self.open(&sealed, aad)
    }

    /// A fixed marker sealed under this key, to store beside the encrypted data
    /// so a later start can tell whether it was given the same key.
    pub fn check_value(&self) -> String {
        self.seal_to_string(CHECK_PLAINTEXT, CHECK_AAD)
    }

    /// Whether `sealed_marker` is a [`Self::check_value`] of this key.
    pub fn verifies(&self, sealed_marker: &str) -> bool {
        self.open_str(sealed_marker, CHECK_AAD)
            .is_ok_and(|plaintext| plaintext.as_slice() == CHECK_PLAINTEXT)
    }

    fn aead_key(&self) -> Result<RandomizedNonceKey, CryptoError> {
        RandomizedNonceKey::new(&AES_256_GCM, self.0.as_ref())
            .map_err(|_| CryptoError::InvalidKey("rejected by aws-lc"))
    }
}

/// The authenticated data: the version byte, then the caller's context.
fn header_aad(aad: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + aad.len());
    out.push(VERSION);
    out.extend_from_slice(aad);
    out
}

/// Value of an ASCII hex digit (callers have checked it is one).
fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        b'A'..=b'F' => digit - b'A' + 10,
        _ => 0,
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::clock::SystemRng;

    fn key(byte: u8) -> MasterKey {
        MasterKey::from_bytes([byte; 32])
    }

    #[test]
    fn master_key_round_trips() {
        let key = MasterKey::generate(&SystemRng::new());
        for plaintext in [&b""[..], b"x", &[0xA5; 1000]] {
            let sealed = key.seal(plaintext, b"totp:user-1");
            assert_eq!(sealed.len(), 1 + 12 + plaintext.len() + 16);
            assert_eq!(sealed[0], 1);
            assert_eq!(
                key.open(&sealed, b"totp:user-1").unwrap().as_slice(),
                plaintext
            );
            let text = key.seal_to_string(plaintext, b"");
            assert_eq!(key.open_str(&text, b"").unwrap().as_slice(), plaintext);
        }
    }

    #[test]
    fn master_key_nonces_are_random() {
        let key = key(7);
        let a = key.seal(b"same", b"aad");
        let b = key.seal(b"same", b"aad");
        assert_ne!(a[1..13], b[1..13]);
        assert_ne!(a, b);
    }

    #[test]
    fn master_key_wrong_key_fails() {
        let sealed = key(1).seal(b"secret", b"aad");
        assert_eq!(key(2).open(&sealed, b"aad").unwrap_err(), CryptoError::Open);
    }

    #[test]
    fn master_key_tampered_ciphertext_fails() {
        let key = key(1);
        let sealed = key.seal(b"secret", b"aad");
        for i in 0..sealed.len() {
            let mut tampered = sealed.clone();
            tampered[i] ^= 0x01;
            assert!(
                key.open(&tampered, b"aad").is_err(),
                "bit flip at byte {i} went unnoticed"
            );
        }
        assert_eq!(
            key.open(&sealed[..sealed.len() - 1], b"aad").unwrap_err(),
            CryptoError::Open
        );
        assert_eq!(
            key.open(&sealed[..28], b"aad").unwrap_err(),
            CryptoError::Malformed
        );
        assert_eq!(key.open(&[], b"aad").unwrap_err(), CryptoError::Malformed);
        assert_eq!(
            key.open_str("not base64!", b"aad").unwrap_err(),
            CryptoError::Malformed
        );
    }

    #[test]
    fn master_key_wrong_aad_fails() {
        let key = key(1);
        let sealed = key.seal(b"secret", b"totp:user-1");
        assert_eq!(
            key.open(&sealed, b"totp:user-2").unwrap_err(),
            CryptoError::Open
        );
        assert_eq!(key.open(&sealed, b"").unwrap_err(), CryptoError::Open);
    }

    #[test]
    fn master_key_parses_hex_and_base64() {
        let bytes: [u8; 32] =
            std::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(0xf0));
        let expected = MasterKey::from_bytes(bytes);
        let probe = expected.seal(b"probe", b"");
        let hex = crate::secret::hex(&bytes);
        let inputs = [
            hex.clone(),
            hex.to_uppercase(),
            STANDARD.encode(bytes),
            STANDARD_NO_PAD.encode(bytes),
            URL_SAFE.encode(bytes),
            URL_SAFE_NO_PAD.encode(bytes),
            format!("  {}\n", STANDARD.encode(bytes)),
            expected.encode().to_string(),
        ];
        for input in inputs {
            let parsed = MasterKey::parse(&input).unwrap_or_else(|e| unreachable!("{input}: {e}"));
            assert_eq!(
                parsed.open(&probe, b"").unwrap().as_slice(),
                b"probe",
                "{input}"
            );
        }
    }

    #[test]
    fn master_key_parse_rejects_wrong_lengths_and_garbage() {
        let inputs = [
            String::new(),
            "   ".to_owned(),
            "00".repeat(31),
            "00".repeat(33),
            format!("{}g", "0".repeat(63)),
            STANDARD.encode([0u8; 31]),
            STANDARD.encode([0u8; 33]),
            STANDARD.encode([0u8; 16]),
            "not a key at all".to_owned(),
        ];
        for input in inputs {
            assert!(
                matches!(MasterKey::parse(&input), Err(CryptoError::InvalidKey(_))),
                "{input:?} accepted"
            );
        }
        let error = MasterKey::parse(&"ab".repeat(31)).unwrap_err().to_string();
        assert!(!error.contains("abab"), "{error}");
    }

    #[test]
    fn master_key_check_value_identifies_the_key() {
        let marker = key(1).check_value();
        assert!(key(1).verifies(&marker));
        assert!(!key(2).verifies(&marker));
        assert!(!key(1).verifies(""));
        assert!(!key(1).verifies(&key(1).seal_to_string(b"gatehouse master key check", b"other")));
    }

    #[test]
    fn master_key_debug_is_redacted() {
        assert_eq!(format!("{:?}", key(0x42)), "MasterKey([redacted])");
    }
}
