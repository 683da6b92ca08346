//! Resource indicators (RFC 8707): the `resource` parameter of authorization
//! and token requests, naming the protected resource a token is meant for.
//! It may repeat; each value is checked on its own.

use url::Url;

use crate::error::{ErrorCode, OAuthError};
use crate::params::Params;

/// Every `resource` of a request.
///
/// RFC 8707 §2: each value MUST be an absolute URI and MUST NOT include a
/// fragment; otherwise the error is `invalid_target`. A query component is
/// only discouraged (SHOULD NOT), so it is accepted.
pub fn parse_all(params: &Params<'_>) -> Result<Vec<String>, OAuthError> {
    params.all("resource").map(parse).collect()
}

/// One `resource` value (see [`parse_all`]).
pub fn parse(value: &str) -> Result<String, OAuthError> {
    let error = || {
        OAuthError::with_description(
            ErrorCode::InvalidTarget,
            "resource must be an absolute URI without a fragment",
        )
    };
    if value.contains('#') || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(error());
    }
    Url::parse(value).map_err(|_| error())?;
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(values: &[&str], expected: Result<&[&str], ErrorCode>) {
        let pairs: Vec<(String, String)> = values
            .iter()
            .map(|v| ("resource".to_owned(), (*v).to_owned()))
            .collect();
        let actual = parse_all(&Params::new(&pairs)).map_err(|e| e.code);
        let expected =
            expected.map(|list| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
        assert_eq!(actual, expected, "{values:?}");
    }

    #[test]
    fn resources_follow_rfc_8707_section_2() {
        check(&[], Ok(&[]));
        check(&[""], Ok(&[]));
        check(
            &["https://api.example.com/"],
            Ok(&["https://api.example.com/"]),
        );
        check(
            &["https://api.example.com", "https://b.example.com/v1?x=1"],
            Ok(&["https://api.example.com", "https://b.example.com/v1?x=1"]),
        );
        check(&["urn:example:api"], Ok(&["urn:example:api"]));
        check(
            &["https://api.example.com/#frag"],
            Err(ErrorCode::InvalidTarget),
        );
        check(&["/relative"], Err(ErrorCode::InvalidTarget));
        check(&["api.example.com"], Err(ErrorCode::InvalidTarget));
        check(
            &["https://api.example.com/ x"],
            Err(ErrorCode::InvalidTarget),
        );
        check(
            &["https://ok.example.com/", "nope"],
            Err(ErrorCode::InvalidTarget),
        );
    }
}
