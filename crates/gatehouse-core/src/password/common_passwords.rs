//! The common-password list: Django's 20,000 most common passwords
//! (BSD-3-Clause; origin in `crates/gatehouse-core/data/README.md`), compiled
//! into the binary and decompressed once, on first use.

use std::collections::HashSet;
use std::io::Read as _;
use std::sync::OnceLock;

use flate2::read::GzDecoder;
use zeroize::Zeroizing;

/// One lower-cased password per line, gzip-compressed.
const LIST_GZ: &[u8] = include_bytes!("../../data/common-passwords.txt.gz");

fn list() -> &'static HashSet<String> {
    static LIST: OnceLock<HashSet<String>> = OnceLock::new();
    LIST.get_or_init(|| {
        let mut text = String::new();
        if let Err(error) = GzDecoder::new(LIST_GZ).read_to_string(&mut text) {
            // Unreachable with the file compiled in (a unit test decompresses
            // it); should it happen, say so loudly rather than fail sign-ups.
            tracing::error!(%error, "common password list does not decompress; check disabled");
            return HashSet::new();
        }
        text.lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(str::to_owned)
            .collect()
    })
}

/// Whether `password`, trimmed and lower-cased (as Django compares), is on the list.
pub(super) fn is_common(password: &str) -> bool {
    let normalised = Zeroizing::new(password.trim().to_lowercase());
    list().contains(normalised.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_list_decompresses_in_full() {
        // Django 5.2's list: 19,640 distinct lower-cased entries.
        assert_eq!(list().len(), 19_640);
    }

    #[test]
    fn common_list_matches_ignoring_case_and_surrounding_space() {
        assert!(is_common("PassWord"));
        assert!(is_common(" qwertyuiop "));
        assert!(!is_common("Tr0ub4dor&3-but-longer-x9"));
    }
}
