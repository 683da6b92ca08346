//! Recovery codes: ten single-use codes of 80 random bits each, shown once
//! when generated and stored only as SHA-256 (they are high-entropy, so a
//! fast hash suffices). Written `abcd-efgh-jkmn-pqrs` in a base32 alphabet
//! without look-alikes; accepted in any case, with or without dashes.

use crate::clock::Rng;
use crate::secret::{Secret, TokenHash};

/// How many codes one generation makes.
pub const COUNT: usize = 10;
/// Characters per code (5 bits each).
const LEN: usize = 16;
/// Crockford's base32 alphabet (no i, l, o, u), lower case.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// Fresh codes, for showing once, with their hashes, for storing.
pub fn generate(rng: &dyn Rng) -> (Vec<Secret>, Vec<TokenHash>) {
    let mut codes = Vec::with_capacity(COUNT);
    let mut hashes = Vec::with_capacity(COUNT);
    for _ in 0..COUNT {
        let mut bytes = zeroize::Zeroizing::new([0u8; LEN]);
        rng.fill(bytes.as_mut());
        let chars: String = bytes
            .iter()
            .map(|b| char::from(ALPHABET[usize::from(b & 31)]))
            .collect();
        let code = format!(
            "{}-{}-{}-{}",
            &chars[0..4],
            &chars[4..8],
            &chars[8..12],
            &chars[12..16]
        );
        hashes.push(TokenHash::of(&chars));
        codes.push(Secret::new(code));
    }
    (codes, hashes)
}

/// The hash of a presented code, if it has the shape of one.
pub fn hash_of(presented: &str) -> Option<TokenHash> {
    let normal: String = presented
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (normal.len() == LEN && normal.bytes().all(|b| ALPHABET.contains(&b)))
        .then(|| TokenHash::of(&normal))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::clock::SystemRng;

    #[test]
    fn codes_hash_alike_in_any_spelling() {
        let (codes, hashes) = generate(&SystemRng::new());
        assert_eq!(codes.len(), COUNT);
        let code = codes[0].expose();
        assert_eq!(code.len(), 19);
        assert!(hash_of(code).unwrap().matches(&hashes[0]));
        let shouted = code.replace('-', " ").to_uppercase();
        assert!(hash_of(&shouted).unwrap().matches(&hashes[0]));
        assert!(hash_of("123456").is_none());
    }
}
