//! RFC 6238 time-based one-time passwords, as authenticator apps use them:
//! HMAC-SHA-1, 30-second steps, 6 digits, a window of one step either side
//! (RFC 6238 §5.2), through `totp-rs`. The secret is 160 random bits
//! (RFC 4226 §4 recommends 160). This module only computes; which step was
//! last accepted is the store's compare-and-set.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use totp_rs::{Algorithm, Builder};

use crate::clock::Rng;
use crate::secret::Secret;

/// Seconds per time step.
pub const PERIOD_SECS: i64 = 30;
/// Digits per code.
pub const DIGITS: u8 = 6;
/// Bytes of secret.
const SECRET_BYTES: usize = 20;

/// What stays unencoded in the otpauth label and parameters.
const LABEL: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'@');

/// A fresh random secret.
pub fn generate_secret(rng: &dyn Rng) -> zeroize::Zeroizing<Vec<u8>> {
    let mut secret = zeroize::Zeroizing::new(vec![0u8; SECRET_BYTES]);
    rng.fill(&mut secret);
    secret
}

/// The secret in the RFC 4648 base32 alphabet without padding, as apps take it.
pub fn base32(secret: &[u8]) -> Secret {
    Secret::new(totp_rs::Secret::from(secret.to_vec()).to_base32())
}

/// The Key URI (`otpauth://totp/Issuer:account?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30`)
/// an authenticator app reads from the QR code. Every parameter is spelled
/// out, defaults included.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> Secret {
    let issuer = utf8_percent_encode(issuer, LABEL).to_string();
    let account = utf8_percent_encode(account, LABEL).to_string();
    Secret::new(format!(
        "otpauth://totp/{issuer}:{account}?secret={}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={PERIOD_SECS}",
        base32(secret).expose()
    ))
}

/// The time step `code` belongs to at `now_secs` (within ±1 step), if it is
/// a valid code for `secret`. Spaces are ignored; anything but 6 digits fails.
pub fn matching_step(secret: &[u8], code: &str, now_secs: i64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != usize::from(DIGITS) || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let totp = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS)
        .with_skew(1)
        .with_step_duration(u64::try_from(PERIOD_SECS).ok()?)
        .with_secret(secret.to_vec())
        .build()
        .ok()?;
    let now = u64::try_from(now_secs).ok()?;
    totp.check(&code, now)
        .and_then(|step| i64::try_from(step).ok())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1 seed "12345678901234567890", truncated to 6 digits.
    #[test]
    fn rfc6238_test_vectors() {
        let seed = b"12345678901234567890";
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(matching_step(seed, code, time), Some(time / 30), "{time}");
        }
    }

    #[test]
    fn window_is_one_step_either_side() {
        let seed = b"12345678901234567890";
        // 287082 is the code of step 1 (t = 30..59).
        assert_eq!(matching_step(seed, "287082", 89), Some(1));
        assert_eq!(matching_step(seed, "287082", 0), Some(1));
        assert_eq!(matching_step(seed, "287082", 90), None);
        assert_eq!(matching_step(seed, "28708", 59), None);
        assert_eq!(matching_step(seed, "28708a", 59), None);
        assert_eq!(matching_step(seed, "287 082", 59), Some(1));
    }

    #[test]
    fn uri_spells_out_every_parameter() {
        let uri = otpauth_uri("Gatehouse", "alice smith", b"12345678901234567890");
        assert_eq!(
            uri.expose(),
            "otpauth://totp/Gatehouse:alice%20smith?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Gatehouse&algorithm=SHA1&digits=6&period=30"
        );
    }
}
