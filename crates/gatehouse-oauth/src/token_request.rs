//! The token request: the form posted to the token endpoint, one variant per
//! grant type — authorization code (RFC 6749 §4.1.3, RFC 7636 §4.5), client
//! credentials (§4.4.2), refresh token (§6) and device code (RFC 8628 §3.4) —
//! with RFC 8707 resource indicators where they apply.
//!
//! Client credentials in the same form are read by
//! [`crate::client_auth::BodyCredentials`]; this module reads the grant.

use crate::error::{ErrorCode, OAuthError};
use crate::params::{Params, Repeated};
use crate::pkce::CodeVerifier;
use crate::resource;
use crate::scope::Scopes;
use crate::secret::Secret;

/// RFC 8628 §3.4: the device code grant type.
pub const DEVICE_CODE_GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A grant type this server accepts at the token endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GrantType {
    AuthorizationCode,
    ClientCredentials,
    RefreshToken,
    DeviceCode,
}

impl GrantType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::ClientCredentials => "client_credentials",
            Self::RefreshToken => "refresh_token",
            Self::DeviceCode => DEVICE_CODE_GRANT_TYPE,
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "authorization_code" => Some(Self::AuthorizationCode),
            "client_credentials" => Some(Self::ClientCredentials),
            "refresh_token" => Some(Self::RefreshToken),
            DEVICE_CODE_GRANT_TYPE => Some(Self::DeviceCode),
            _ => None,
        }
    }
}

/// A parsed token request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenRequest {
    AuthorizationCode {
        code: Secret,
        /// Must equal the authorization request's `redirect_uri` when that
        /// carried one (RFC 6749 §4.1.3; core compares).
        redirect_uri: Option<String>,
        code_verifier: Option<CodeVerifier>,
        resource: Vec<String>,
    },
    ClientCredentials {
        /// Empty when not requested: the client's default scope applies.
        scope: Scopes,
        resource: Vec<String>,
    },
    RefreshToken {
        refresh_token: Secret,
        /// Empty when not requested: the scope originally granted (RFC 6749 §6).
        scope: Scopes,
        resource: Vec<String>,
    },
    DeviceCode {
        device_code: Secret,
    },
}

impl TokenRequest {
    /// Parses the form body of a token request.
    ///
    /// RFC 6749 §3.2: empty parameters count as absent and none may repeat
    /// (`invalid_request`); §5.2: a missing required parameter is
    /// `invalid_request`, an unknown `grant_type` `unsupported_grant_type`, a
    /// malformed `scope` `invalid_scope`; RFC 8707 §2: a bad `resource` is
    /// `invalid_target`. RFC 7636 §4.1: a `code_verifier` outside the verifier
    /// syntax is refused here as `invalid_request`.
    pub fn parse(pairs: &[(String, String)]) -> Result<Self, OAuthError> {
        let params = Params::new(pairs);
        let single = |name| params.single(name).map_err(Repeated::to_oauth_error);
        let required = |name| single(name)?.ok_or_else(|| missing(name));
        let grant_type = required("grant_type")?;
        let grant_type = GrantType::parse(grant_type).ok_or_else(|| {
            OAuthError::with_description(
                ErrorCode::UnsupportedGrantType,
                "grant_type must be authorization_code, client_credentials, refresh_token or urn:ietf:params:oauth:grant-type:device_code",
            )
        })?;
        Ok(match grant_type {
            GrantType::AuthorizationCode => Self::AuthorizationCode {
                code: Secret::new(required("code")?),
                redirect_uri: single("redirect_uri")?.map(str::to_owned),
                code_verifier: single("code_verifier")?
                    .map(CodeVerifier::parse)
                    .transpose()?,
                resource: resource::parse_all(&params)?,
            },
            GrantType::ClientCredentials => Self::ClientCredentials {
                scope: Scopes::parse(single("scope")?.unwrap_or(""))?,
                resource: resource::parse_all(&params)?,
            },
            GrantType::RefreshToken => Self::RefreshToken {
                refresh_token: Secret::new(required("refresh_token")?),
                scope: Scopes::parse(single("scope")?.unwrap_or(""))?,
                resource: resource::parse_all(&params)?,
            },
            GrantType::DeviceCode => Self::DeviceCode {
                device_code: Secret::new(required("device_code")?),
            },
        })
    }

    pub fn grant_type(&self) -> GrantType {
        match self {
            Self::AuthorizationCode { .. } => GrantType::AuthorizationCode,
            Self::ClientCredentials { .. } => GrantType::ClientCredentials,
            Self::RefreshToken { .. } => GrantType::RefreshToken,
            Self::DeviceCode { .. } => GrantType::DeviceCode,
        }
    }
}

fn missing(parameter: &'static str) -> OAuthError {
    OAuthError::about_parameter(ErrorCode::InvalidRequest, "missing parameter: ", parameter)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    fn check(form: &[(&str, &str)], expected: Result<TokenRequest, (ErrorCode, &str)>) {
        let pairs: Vec<(String, String)> = form
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        let actual = TokenRequest::parse(&pairs);
        match (&actual, &expected) {
            (Err(a), Err((code, description))) => {
                assert_eq!(a.code, *code, "{form:?}");
                assert_eq!(a.description(), Some(*description), "{form:?}");
            }
            _ => assert_eq!(
                actual.map_err(|e| e.code),
                expected.map_err(|(c, _)| c),
                "{form:?}"
            ),
        }
    }

    fn scopes(s: &str) -> Scopes {
        Scopes::parse(s).unwrap()
    }

    #[test]
    fn authorization_code_grant() {
        // The RFC 6749 §4.1.3 example body.
        check(
            &[
                ("grant_type", "authorization_code"),
                ("code", "SplxlOBeZQQYbYS6WxSbIA"),
                ("redirect_uri", "https://client.example.com/cb"),
            ],
            Ok(TokenRequest::AuthorizationCode {
                code: Secret::new("SplxlOBeZQQYbYS6WxSbIA"),
                redirect_uri: Some("https://client.example.com/cb".into()),
                code_verifier: None,
                resource: vec![],
            }),
        );
        check(
            &[
                ("grant_type", "authorization_code"),
                ("code", "c"),
                ("code_verifier", VERIFIER),
                ("resource", "https://api.example.com/"),
                ("client_id", "ignored-here"),
            ],
            Ok(TokenRequest::AuthorizationCode {
                code: Secret::new("c"),
                redirect_uri: None,
                code_verifier: Some(CodeVerifier::parse(VERIFIER).unwrap()),
                resource: vec!["https://api.example.com/".into()],
            }),
        );
        check(
            &[("grant_type", "authorization_code")],
            Err((ErrorCode::InvalidRequest, "missing parameter: code")),
        );
        check(
            &[("grant_type", "authorization_code"), ("code", "")],
            Err((ErrorCode::InvalidRequest, "missing parameter: code")),
        );
        check(
            &[
                ("grant_type", "authorization_code"),
                ("code", "a"),
                ("code", "b"),
            ],
            Err((ErrorCode::InvalidRequest, "repeated parameter: code")),
        );
        check(
            &[
                ("grant_type", "authorization_code"),
                ("code", "a"),
                ("code_verifier", "short"),
            ],
            Err((
                ErrorCode::InvalidRequest,
                "code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~]",
            )),
        );
        check(
            &[
                ("grant_type", "authorization_code"),
                ("code", "a"),
                ("resource", "nope"),
            ],
            Err((
                ErrorCode::InvalidTarget,
                "resource must be an absolute URI without a fragment",
            )),
        );
    }

    #[test]
    fn other_grants() {
        check(
            &[("grant_type", "client_credentials")],
            Ok(TokenRequest::ClientCredentials {
                scope: Scopes::default(),
                resource: vec![],
            }),
        );
        check(
            &[
                ("grant_type", "client_credentials"),
                ("scope", "read write"),
                ("resource", "https://a.example/"),
                ("resource", "https://b.example/"),
            ],
            Ok(TokenRequest::ClientCredentials {
                scope: scopes("read write"),
                resource: vec!["https://a.example/".into(), "https://b.example/".into()],
            }),
        );
        check(
            &[
                ("grant_type", "client_credentials"),
                ("scope", "bad\"scope"),
            ],
            Err((
                ErrorCode::InvalidScope,
                "scope must be single-space-separated tokens of printable ASCII without quotes or backslashes",
            )),
        );
        check(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", "tGzv3JOkF0XG5Qx2TlKWIA"),
            ],
            Ok(TokenRequest::RefreshToken {
                refresh_token: Secret::new("tGzv3JOkF0XG5Qx2TlKWIA"),
                scope: Scopes::default(),
                resource: vec![],
            }),
        );
        check(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", "t"),
                ("scope", "openid"),
            ],
            Ok(TokenRequest::RefreshToken {
                refresh_token: Secret::new("t"),
                scope: scopes("openid"),
                resource: vec![],
            }),
        );
        check(
            &[("grant_type", "refresh_token")],
            Err((
                ErrorCode::InvalidRequest,
                "missing parameter: refresh_token",
            )),
        );
        check(
            &[
                ("grant_type", DEVICE_CODE_GRANT_TYPE),
                ("device_code", "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS"),
                ("client_id", "1406020730"),
            ],
            Ok(TokenRequest::DeviceCode {
                device_code: Secret::new("GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS"),
            }),
        );
        check(
            &[("grant_type", DEVICE_CODE_GRANT_TYPE)],
            Err((ErrorCode::InvalidRequest, "missing parameter: device_code")),
        );
    }

    #[test]
    fn grant_type_errors() {
        check(
            &[],
            Err((ErrorCode::InvalidRequest, "missing parameter: grant_type")),
        );
        check(
            &[("code", "x")],
            Err((ErrorCode::InvalidRequest, "missing parameter: grant_type")),
        );
        check(
            &[
                ("grant_type", "client_credentials"),
                ("grant_type", "client_credentials"),
            ],
            Err((ErrorCode::InvalidRequest, "repeated parameter: grant_type")),
        );
        for unsupported in [
            "password",
            "implicit",
            "Authorization_Code",
            "urn:ietf:params:oauth:grant-type:jwt-bearer",
        ] {
            let result = TokenRequest::parse(&[("grant_type".into(), unsupported.into())]);
            assert_eq!(
                result.map_err(|e| e.code),
                Err(ErrorCode::UnsupportedGrantType),
                "{unsupported}"
            );
        }
        for grant in [
            GrantType::AuthorizationCode,
            GrantType::ClientCredentials,
            GrantType::RefreshToken,
            GrantType::DeviceCode,
        ] {
            assert_eq!(GrantType::parse(grant.as_str()), Some(grant));
        }
    }
}
