//! Request parameters as the OAuth endpoints receive them: a list of decoded
//! `(name, value)` pairs from a query string or a form body.
//!
//! RFC 6749 §3.1 and §3.2 fix three rules for both endpoints: a parameter sent
//! without a value is treated as omitted, unrecognised parameters are ignored,
//! and parameters must not be included more than once. [`Params`] applies the
//! first and third; the second follows from asking only for names we know.

use crate::error::{ErrorCode, OAuthError};

/// The decoded parameters of one request.
#[derive(Clone, Copy, Debug)]
pub struct Params<'a> {
    pairs: &'a [(String, String)],
}

/// A parameter that appeared more than once (its name, for the description).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Repeated(pub &'static str);

impl Repeated {
    /// RFC 6749 §3.1: `invalid_request`, naming the parameter.
    pub fn to_oauth_error(self) -> OAuthError {
        OAuthError::about_parameter(ErrorCode::InvalidRequest, "repeated parameter: ", self.0)
    }
}

impl<'a> Params<'a> {
    pub fn new(pairs: &'a [(String, String)]) -> Self {
        Self { pairs }
    }

    /// The value of a single-valued parameter.
    ///
    /// RFC 6749 §3.1: an empty value counts as absent, and a parameter with
    /// two non-empty occurrences is an error.
    pub fn single(&self, name: &'static str) -> Result<Option<&'a str>, Repeated> {
        let mut values = self.all(name);
        let first = values.next();
        match values.next() {
            Some(_) => Err(Repeated(name)),
            None => Ok(first),
        }
    }

    /// Every non-empty value of a parameter that may repeat (RFC 8707 `resource`).
    pub fn all(&self, name: &'static str) -> impl Iterator<Item = &'a str> + use<'a> {
        self.pairs
            .iter()
            .filter(move |(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// Whether the parameter is present with a non-empty value.
    pub fn has(&self, name: &'static str) -> bool {
        self.all(name).next().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(pairs: &[(&str, &str)], name: &'static str, expected: Result<Option<&str>, Repeated>) {
        let owned: Vec<(String, String)> = pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        let params = Params::new(&owned);
        assert_eq!(params.single(name), expected, "{pairs:?} / {name}");
        assert_eq!(
            params.has(name),
            matches!(expected, Ok(Some(_)) | Err(_)),
            "{pairs:?} / {name}"
        );
    }

    #[test]
    fn single_values_follow_rfc_6749_section_3_1() {
        check(&[], "state", Ok(None));
        check(&[("state", "abc")], "state", Ok(Some("abc")));
        check(&[("state", "")], "state", Ok(None));
        check(&[("state", ""), ("state", "abc")], "state", Ok(Some("abc")));
        check(
            &[("state", "a"), ("state", "b")],
            "state",
            Err(Repeated("state")),
        );
        check(
            &[("state", "a"), ("state", "a")],
            "state",
            Err(Repeated("state")),
        );
        check(&[("State", "a"), ("state", "b")], "state", Ok(Some("b")));
        check(&[("unknown", "x"), ("unknown", "y")], "state", Ok(None));
    }
}
