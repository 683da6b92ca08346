//! Secret request values — authorization codes, refresh tokens, device codes,
//! client secrets, assertions, PKCE verifiers — wrapped so that `Debug` prints
//! `[redacted]` and the memory is zeroed on drop.
//!
//! This is the protocol crate's own wrapper (it depends on no other Gatehouse
//! crate); the web layer hands [`Secret::expose`] to core, which hashes it.

use std::fmt;

use zeroize::Zeroizing;

/// A secret string received in a request. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(Zeroizing::new(value.into()))
    }

    /// The secret text, for hashing or comparison only.
    pub fn expose(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected_debug: &str) {
        let secret = Secret::new(input);
        assert_eq!(format!("{secret:?}"), expected_debug);
        assert_eq!(secret.expose(), input);
    }

    #[test]
    fn debug_never_shows_the_value() {
        for input in ["", "hunter2", "SplxlOBeZQQYbYS6WxSbIA"] {
            check(input, "[redacted]");
        }
    }
}
