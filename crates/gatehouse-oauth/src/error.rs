//! The OAuth error: its registered codes, the JSON body, the HTTP status each
//! code gets, and the parameters of an error redirect.
//!
//! Codes come from RFC 6749 §4.1.2.1 (authorization endpoint) and §5.2 (token
//! endpoint), RFC 6750 §3 (protected resources), OpenID Connect Core §3.1.2.6,
//! RFC 8628 §3.5 (device grant), RFC 7591 §3.2.2 (registration), RFC 8707 §2
//! (resource indicators) and RFC 7009 §2.2.1 (revocation).
//!
//! A description is a `&'static str` written in this code base, never text
//! built from request input, so it cannot carry a secret, a code or a token.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A registered OAuth error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    // RFC 6749 §4.1.2.1 and §5.2
    InvalidRequest,
    UnauthorizedClient,
    AccessDenied,
    UnsupportedResponseType,
    InvalidScope,
    ServerError,
    TemporarilyUnavailable,
    InvalidClient,
    InvalidGrant,
    UnsupportedGrantType,
    // RFC 6750 §3.1
    InvalidToken,
    InsufficientScope,
    // OpenID Connect Core §3.1.2.6
    LoginRequired,
    ConsentRequired,
    InteractionRequired,
    AccountSelectionRequired,
    InvalidRequestUri,
    InvalidRequestObject,
    RequestNotSupported,
    RequestUriNotSupported,
    RegistrationNotSupported,
    // RFC 8628 §3.5
    AuthorizationPending,
    SlowDown,
    ExpiredToken,
    // RFC 7591 §3.2.2
    InvalidRedirectUri,
    InvalidClientMetadata,
    // RFC 8707 §2
    InvalidTarget,
    // RFC 7009 §2.2.1
    UnsupportedTokenType,
}

impl ErrorCode {
    /// The registered string, as it appears in `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::InteractionRequired => "interaction_required",
            Self::AccountSelectionRequired => "account_selection_required",
            Self::InvalidRequestUri => "invalid_request_uri",
            Self::InvalidRequestObject => "invalid_request_object",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
            Self::RegistrationNotSupported => "registration_not_supported",
            Self::AuthorizationPending => "authorization_pending",
            Self::SlowDown => "slow_down",
            Self::ExpiredToken => "expired_token",
            Self::InvalidRedirectUri => "invalid_redirect_uri",
            Self::InvalidClientMetadata => "invalid_client_metadata",
            Self::InvalidTarget => "invalid_target",
            Self::UnsupportedTokenType => "unsupported_token_type",
        }
    }

    /// The HTTP status of a direct (non-redirect) error response with this code.
    ///
    /// RFC 6749 §5.2: 400, except `invalid_client`, which is 401 and must carry
    /// `WWW-Authenticate` ([`INVALID_CLIENT_CHALLENGE`]); RFC 7235 §3.1 requires
    /// the header on every 401, so send it whichever way the client authenticated.
    /// RFC 6750 §3.1: `invalid_token` is 401 and `insufficient_scope` 403, both
    /// with a Bearer challenge ([`OAuthError::bearer_challenge`]).
    /// `server_error` and `temporarily_unavailable` exist because a redirect
    /// cannot carry a 5xx (RFC 6749 §4.1.2.1); answered directly they are 500 and 503.
    pub fn status(self) -> u16 {
        match self {
            Self::InvalidClient | Self::InvalidToken => 401,
            Self::InsufficientScope => 403,
            Self::ServerError => 500,
            Self::TemporarilyUnavailable => 503,
            Self::InvalidRequest
            | Self::UnauthorizedClient
            | Self::AccessDenied
            | Self::UnsupportedResponseType
            | Self::InvalidScope
            | Self::InvalidGrant
            | Self::UnsupportedGrantType
            | Self::LoginRequired
            | Self::ConsentRequired
            | Self::InteractionRequired
            | Self::AccountSelectionRequired
            | Self::InvalidRequestUri
            | Self::InvalidRequestObject
            | Self::RequestNotSupported
            | Self::RequestUriNotSupported
            | Self::RegistrationNotSupported
            | Self::AuthorizationPending
            | Self::SlowDown
            | Self::ExpiredToken
            | Self::InvalidRedirectUri
            | Self::InvalidClientMetadata
            | Self::InvalidTarget
            | Self::UnsupportedTokenType => 400,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `WWW-Authenticate` for a 401 `invalid_client` at the token, introspection
/// and revocation endpoints (RFC 6749 §5.2; Basic with a realm, RFC 7617 §2).
pub const INVALID_CLIENT_CHALLENGE: &str = "Basic realm=\"gatehouse\"";

/// An OAuth error: a code and an optional human-readable description.
///
/// Serialises as the RFC 6749 §5.2 body `{"error": ..., "error_description": ...}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthError {
    #[serde(rename = "error")]
    pub code: ErrorCode,
    #[serde(
        rename = "error_description",
        skip_serializing_if = "Option::is_none",
        default
    )]
    description: Option<Cow<'static, str>>,
}

impl OAuthError {
    pub fn new(code: ErrorCode) -> Self {
        Self {
            code,
            description: None,
        }
    }

    /// An error with a fixed description.
    ///
    /// RFC 6749 §5.2: `error_description` is limited to %x20-21 / %x23-5B /
    /// %x5D-7E; any other character is replaced by `?`, so a careless
    /// description cannot break the JSON body or a `WWW-Authenticate` header.
    pub fn with_description(code: ErrorCode, description: &'static str) -> Self {
        let description = if description.chars().all(is_description_char) {
            Cow::Borrowed(description)
        } else {
            Cow::Owned(
                description
                    .chars()
                    .map(|c| if is_description_char(c) { c } else { '?' })
                    .collect(),
            )
        };
        Self {
            code,
            description: Some(description),
        }
    }

    /// An error whose description names a parameter, e.g. `"repeated parameter: state"`.
    /// Both parts are fixed strings of this code base, never request input.
    pub fn about_parameter(code: ErrorCode, what: &'static str, parameter: &'static str) -> Self {
        let mut error = Self::with_description(code, what);
        let parameter = Self::with_description(code, parameter);
        if let (Some(what), Some(parameter)) = (error.description.take(), parameter.description) {
            error.description = Some(Cow::Owned(format!("{what}{parameter}")));
        }
        error
    }

    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The JSON body of a direct error response (RFC 6749 §5.2).
    pub fn to_json(&self) -> serde_json::Value {
        let mut body = serde_json::Map::new();
        body.insert("error".into(), self.code.as_str().into());
        if let Some(description) = self.description() {
            body.insert("error_description".into(), description.into());
        }
        serde_json::Value::Object(body)
    }

    /// The parameters of an error sent to the client's redirect URI, in order:
    /// `error`, `error_description`, `state` (RFC 6749 §4.1.2.1: REQUIRED if the
    /// request carried one, with its exact value) and `iss` (RFC 9207 §2: the
    /// issuer identifier, on error responses too).
    ///
    /// Only call this with a redirect URI that was checked against the client's
    /// registration; [`crate::authorize`] makes that a type.
    pub fn redirect_params(
        &self,
        state: Option<&str>,
        issuer: &str,
    ) -> Vec<(&'static str, String)> {
        let mut params = vec![("error", self.code.as_str().to_owned())];
        if let Some(description) = self.description() {
            params.push(("error_description", description.to_owned()));
        }
        if let Some(state) = state {
            params.push(("state", state.to_owned()));
        }
        params.push(("iss", issuer.to_owned()));
        params
    }

    /// `WWW-Authenticate` for an error at a protected resource (RFC 6750 §3):
    /// `Bearer error="...", error_description="..."`.
    pub fn bearer_challenge(&self) -> String {
        match self.description() {
            Some(description) => format!(
                "Bearer error=\"{}\", error_description=\"{}\"",
                self.code.as_str(),
                description
            ),
            None => format!("Bearer error=\"{}\"", self.code.as_str()),
        }
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.description() {
            Some(description) => write!(f, "{}: {}", self.code, description),
            None => write!(f, "{}", self.code),
        }
    }
}

impl std::error::Error for OAuthError {}

impl From<ErrorCode> for OAuthError {
    fn from(code: ErrorCode) -> Self {
        Self::new(code)
    }
}

/// `WWW-Authenticate` for a protected-resource request that carried no token
/// at all: RFC 6750 §3.1 says such a response SHOULD NOT include an error code.
pub const BEARER_CHALLENGE: &str = "Bearer";

/// RFC 6749 §5.2: the characters allowed in `error_description`.
fn is_description_char(c: char) -> bool {
    matches!(c, '\x20'..='\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What one error renders to on each surface.
    struct Rendered {
        status: u16,
        body: serde_json::Value,
        redirect: Vec<(&'static str, String)>,
        bearer: String,
    }

    fn check(error: OAuthError, state: Option<&str>, expected: Rendered) {
        assert_eq!(error.code.status(), expected.status, "{error}");
        assert_eq!(error.to_json(), expected.body, "{error}");
        assert_eq!(
            serde_json::to_value(&error).ok(),
            Some(expected.body.clone()),
            "{error}"
        );
        let parsed: Result<OAuthError, _> = serde_json::from_value(expected.body.clone());
        assert_eq!(parsed.ok(), Some(error.clone()), "round trip of {error}");
        assert_eq!(
            error.redirect_params(state, "https://id.example.com"),
            expected.redirect
        );
        assert_eq!(error.bearer_challenge(), expected.bearer);
    }

    fn owned(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
        pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
    }

    #[test]
    fn errors_render_on_every_surface() {
        let iss = "https://id.example.com";
        check(
            OAuthError::new(ErrorCode::InvalidGrant),
            None,
            Rendered {
                status: 400,
                body: serde_json::json!({"error": "invalid_grant"}),
                redirect: owned(&[("error", "invalid_grant"), ("iss", iss)]),
                bearer: "Bearer error=\"invalid_grant\"".into(),
            },
        );
        check(
            OAuthError::with_description(ErrorCode::InvalidClient, "client authentication failed"),
            None,
            Rendered {
                status: 401,
                body: serde_json::json!({"error": "invalid_client", "error_description": "client authentication failed"}),
                redirect: owned(&[
                    ("error", "invalid_client"),
                    ("error_description", "client authentication failed"),
                    ("iss", iss),
                ]),
                bearer: "Bearer error=\"invalid_client\", error_description=\"client authentication failed\""
                    .into(),
            },
        );
        check(
            OAuthError::with_description(ErrorCode::AccessDenied, "the user said \"no\""),
            Some("xyz"),
            Rendered {
                status: 400,
                body: serde_json::json!({"error": "access_denied", "error_description": "the user said ?no?"}),
                redirect: owned(&[
                    ("error", "access_denied"),
                    ("error_description", "the user said ?no?"),
                    ("state", "xyz"),
                    ("iss", iss),
                ]),
                bearer: "Bearer error=\"access_denied\", error_description=\"the user said ?no?\""
                    .into(),
            },
        );
        check(
            OAuthError::new(ErrorCode::InsufficientScope),
            None,
            Rendered {
                status: 403,
                body: serde_json::json!({"error": "insufficient_scope"}),
                redirect: owned(&[("error", "insufficient_scope"), ("iss", iss)]),
                bearer: "Bearer error=\"insufficient_scope\"".into(),
            },
        );
        check(
            OAuthError::new(ErrorCode::TemporarilyUnavailable),
            Some("s"),
            Rendered {
                status: 503,
                body: serde_json::json!({"error": "temporarily_unavailable"}),
                redirect: owned(&[
                    ("error", "temporarily_unavailable"),
                    ("state", "s"),
                    ("iss", iss),
                ]),
                bearer: "Bearer error=\"temporarily_unavailable\"".into(),
            },
        );
    }

    #[test]
    fn every_code_has_its_registered_name_and_status() {
        let table = [
            (ErrorCode::InvalidRequest, "invalid_request", 400),
            (ErrorCode::UnauthorizedClient, "unauthorized_client", 400),
            (ErrorCode::AccessDenied, "access_denied", 400),
            (
                ErrorCode::UnsupportedResponseType,
                "unsupported_response_type",
                400,
            ),
            (ErrorCode::InvalidScope, "invalid_scope", 400),
            (ErrorCode::ServerError, "server_error", 500),
            (
                ErrorCode::TemporarilyUnavailable,
                "temporarily_unavailable",
                503,
            ),
            (ErrorCode::InvalidClient, "invalid_client", 401),
            (ErrorCode::InvalidGrant, "invalid_grant", 400),
            (
                ErrorCode::UnsupportedGrantType,
                "unsupported_grant_type",
                400,
            ),
            (ErrorCode::InvalidToken, "invalid_token", 401),
            (ErrorCode::InsufficientScope, "insufficient_scope", 403),
            (ErrorCode::LoginRequired, "login_required", 400),
            (ErrorCode::ConsentRequired, "consent_required", 400),
            (ErrorCode::InteractionRequired, "interaction_required", 400),
            (
                ErrorCode::AccountSelectionRequired,
                "account_selection_required",
                400,
            ),
            (ErrorCode::InvalidRequestUri, "invalid_request_uri", 400),
            (
                ErrorCode::InvalidRequestObject,
                "invalid_request_object",
                400,
            ),
            (ErrorCode::RequestNotSupported, "request_not_supported", 400),
            (
                ErrorCode::RequestUriNotSupported,
                "request_uri_not_supported",
                400,
            ),
            (
                ErrorCode::RegistrationNotSupported,
                "registration_not_supported",
                400,
            ),
            (
                ErrorCode::AuthorizationPending,
                "authorization_pending",
                400,
            ),
            (ErrorCode::SlowDown, "slow_down", 400),
            (ErrorCode::ExpiredToken, "expired_token", 400),
            (ErrorCode::InvalidRedirectUri, "invalid_redirect_uri", 400),
            (
                ErrorCode::InvalidClientMetadata,
                "invalid_client_metadata",
                400,
            ),
            (ErrorCode::InvalidTarget, "invalid_target", 400),
            (
                ErrorCode::UnsupportedTokenType,
                "unsupported_token_type",
                400,
            ),
        ];
        for (code, name, status) in table {
            let iss = "https://id.example.com";
            check(
                OAuthError::new(code),
                None,
                Rendered {
                    status,
                    body: serde_json::json!({ "error": name }),
                    redirect: owned(&[("error", name), ("iss", iss)]),
                    bearer: format!("Bearer error=\"{name}\""),
                },
            );
        }
    }
}
