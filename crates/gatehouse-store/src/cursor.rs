//! Opaque keyset cursors and page sizes shared by every list.
//!
//! A cursor is base64url (no padding) of a small JSON object naming the list it
//! belongs to (`l`, e.g. `users:username:desc`), the last item's sort key (`k`,
//! absent when the list sorts by id alone) and its id (`i`). The next page starts
//! strictly after that `(key, id)`. A cursor that does not decode, or that was
//! issued by a different list, sort or order, is `StoreError::Missing("cursor")`:
//! the API answers it like any other reference to something that is not there.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_core::StoreError;
use gatehouse_core::store::StoreResult;

/// Page size when the caller asks for 0.
pub(crate) const DEFAULT_LIMIT: u32 = 50;
/// Largest page a caller can ask for.
pub(crate) const MAX_LIMIT: u32 = 1000;

/// The clamped page size: 0 means [`DEFAULT_LIMIT`], anything above [`MAX_LIMIT`] is cut.
pub(crate) fn page_size(limit: u32) -> usize {
    match limit {
        0 => DEFAULT_LIMIT as usize,
        n => n.min(MAX_LIMIT) as usize,
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Wire<'a> {
    l: &'a str,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    k: Option<String>,
    i: String,
}

/// Where the previous page ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Position {
    pub key: Option<String>,
    pub id: String,
}

pub(crate) fn encode(list: &str, key: Option<&str>, id: &str) -> String {
    let wire = Wire {
        l: list,
        k: key.map(str::to_owned),
        i: id.to_owned(),
    };
    // Serialising a struct of strings cannot fail.
    let json = serde_json::to_vec(&wire).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// Decodes a cursor issued for `list`; `keyed` says whether that list carries a sort key.
pub(crate) fn decode(list: &str, keyed: bool, cursor: &str) -> StoreResult<Position> {
    let bad = || StoreError::Missing("cursor");
    let json = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let wire: Wire<'_> = serde_json::from_slice(&json).map_err(|_| bad())?;
    if wire.l != list || wire.k.is_some() != keyed {
        return Err(bad());
    }
    Ok(Position {
        key: wire.k,
        id: wire.i,
    })
}

/// Splits one extra fetched row off `rows` (fetched with `size + 1`) and, when
/// there was one, returns the cursor for the page's last item.
pub(crate) fn paginate<T>(
    mut rows: Vec<T>,
    size: usize,
    cursor_of: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    if rows.len() > size {
        rows.truncate(size);
        let next = rows.last().map(cursor_of);
        (rows, next)
    } else {
        (rows, None)
    }
}

/// The smallest string greater than every string starting with `prefix`, in
/// code-point order; `None` when no such bound exists (empty prefix, or only
/// `char::MAX`). `prefix <= s < successor(prefix)` holds exactly for the strings
/// that start with `prefix`, which lets a plain b-tree index serve prefix search
/// on both engines (no `LIKE`, no collation surprises).
pub(crate) fn prefix_successor(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last {
            '\u{D7FF}' => Some('\u{E000}'),
            c => char::from_u32(u32::from(c) + 1),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_other_lists() {
        let c = encode("users:username:asc", Some("alice"), "id-1");
        assert_eq!(
            decode("users:username:asc", true, &c).ok(),
            Some(Position {
                key: Some("alice".into()),
                id: "id-1".into()
            })
        );
        assert!(matches!(
            decode("users:username:desc", true, &c),
            Err(StoreError::Missing("cursor"))
        ));
        assert!(matches!(
            decode("users:created:asc", false, &c),
            Err(StoreError::Missing("cursor"))
        ));
        assert!(matches!(
            decode("users:username:asc", true, "not base64!"),
            Err(StoreError::Missing("cursor"))
        ));
        assert!(matches!(
            decode("users:username:asc", true, "e30"),
            Err(StoreError::Missing("cursor"))
        ));
    }

    #[test]
    fn page_size_clamps() {
        assert_eq!(page_size(0), 50);
        assert_eq!(page_size(1), 1);
        assert_eq!(page_size(1000), 1000);
        assert_eq!(page_size(5000), 1000);
    }

    #[test]
    fn prefix_successor_bounds_the_prefix() {
        assert_eq!(prefix_successor(""), None);
        assert_eq!(prefix_successor("ab").as_deref(), Some("ac"));
        assert_eq!(prefix_successor("a\u{D7FF}").as_deref(), Some("a\u{E000}"));
        assert_eq!(prefix_successor("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_successor("\u{10FFFF}"), None);
        let upper = prefix_successor("ab").unwrap_or_default();
        for s in ["ab", "abc", "ab\u{10FFFF}"] {
            assert!(s >= "ab" && s < upper.as_str(), "{s}");
        }
        for s in ["aa", "ac", "b", "a"] {
            assert!(!(s >= "ab" && s < upper.as_str()), "{s}");
        }
    }
}
