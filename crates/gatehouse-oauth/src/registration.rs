//! Dynamic Client Registration metadata (RFC 7591 §2), as a client sends it to
//! the registration endpoint and (RFC 7592 §2.2) when it replaces its
//! registration: parsing, defaults and the consistency rules, answering with
//! the registration errors of RFC 7591 §3.2.2 (`invalid_redirect_uri`,
//! `invalid_client_metadata`).
//!
//! RFC 7591 §2: metadata the server does not understand MUST be ignored, so
//! unknown members are dropped; members it understands but does not support
//! (`jwks_uri`, the `implicit` and `password` grants, `token` response types)
//! are refused rather than silently registered as something else.

use serde_json::{Map, Value};
use url::Url;

use crate::client_auth::AuthMethod;
use crate::error::{ErrorCode, OAuthError};
use crate::jwk::{Jwks, KeySet};
use crate::redirect_uri::validate_registration;
use crate::scope::Scopes;

/// The `grant_types` this server supports.
pub const GRANT_TYPES: [&str; 4] = [
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "urn:ietf:params:oauth:grant-type:device_code",
];

/// The `response_types` this server supports: the code flow only.
pub const RESPONSE_TYPES: [&str; 1] = ["code"];

/// Longest `client_name` accepted.
const MAX_NAME_LEN: usize = 200;
/// Most entries in any list member (redirect URIs, contacts, …).
const MAX_LIST_LEN: usize = 100;
/// Longest URI or string accepted in a list or URI member.
const MAX_VALUE_LEN: usize = 2048;

/// Client metadata after parsing, with RFC 7591 §2 defaults applied.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientMetadata {
    pub redirect_uris: Vec<String>,
    /// Default `client_secret_basic`.
    pub token_endpoint_auth_method: AuthMethod,
    /// Default `["authorization_code"]`; each one of [`GRANT_TYPES`].
    pub grant_types: Vec<String>,
    /// Default `["code"]`.
    pub response_types: Vec<String>,
    pub client_name: Option<String>,
    pub client_uri: Option<String>,
    pub logo_uri: Option<String>,
    pub tos_uri: Option<String>,
    pub policy_uri: Option<String>,
    /// `None`: the server's default scopes.
    pub scope: Option<Scopes>,
    pub contacts: Vec<String>,
    /// The JWKS document as sent, checked to hold at least one usable signing key.
    pub jwks: Option<Value>,
    pub software_id: Option<String>,
    pub software_version: Option<String>,
    /// OpenID Connect RP-Initiated Logout 1.0 §3.1.
    pub post_logout_redirect_uris: Vec<String>,
    /// OpenID Connect Dynamic Client Registration 1.0 §2: `public` or `pairwise`.
    pub subject_type: Option<String>,
    /// OpenID Connect Back-Channel Logout 1.0 §2.2.
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: bool,
}

impl ClientMetadata {
    /// Parses a registration request body.
    ///
    /// - RFC 7591 §2: `token_endpoint_auth_method` defaults to
    ///   `client_secret_basic`, `grant_types` to `authorization_code` and
    ///   `response_types` to `code`.
    /// - RFC 7591 §2.1: `code` in `response_types` goes with
    ///   `authorization_code` in `grant_types`, and the other way round.
    /// - RFC 7591 §2: redirect-based flows need `redirect_uris`; each one is
    ///   checked by [`validate_registration`] (`invalid_redirect_uri`).
    /// - RFC 7591 §2: `jwks` and `jwks_uri` MUST NOT both be present; only
    ///   `jwks` is supported, and `private_key_jwt` needs it.
    /// - A public client (`none`) cannot use `client_credentials` (RFC 6749 §4.4).
    pub fn parse(body: &Value) -> Result<Self, OAuthError> {
        let doc = body
            .as_object()
            .ok_or_else(|| invalid("the registration request must be a JSON object"))?;
        let redirect_uris = string_list(
            doc,
            "redirect_uris",
            "redirect_uris must be an array of strings",
        )?;
        for uri in &redirect_uris {
            validate_registration(uri).map_err(|e| e.to_oauth_error())?;
        }
        let post_logout_redirect_uris = string_list(
            doc,
            "post_logout_redirect_uris",
            "post_logout_redirect_uris must be an array of strings",
        )?;
        for uri in &post_logout_redirect_uris {
            validate_registration(uri).map_err(|e| e.to_oauth_error())?;
        }
        let token_endpoint_auth_method = match string(
            doc,
            "token_endpoint_auth_method",
            "token_endpoint_auth_method must be a string",
        )? {
            None => AuthMethod::ClientSecretBasic,
            Some(value) => AuthMethod::parse(&value).ok_or_else(|| {
                invalid("token_endpoint_auth_method must be client_secret_basic, client_secret_post, private_key_jwt or none")
            })?,
        };
        let mut grant_types = string_list(
            doc,
            "grant_types",
            "grant_types must be an array of strings",
        )?;
        if !doc.contains_key("grant_types") {
            grant_types = vec!["authorization_code".to_owned()];
        }
        if grant_types.is_empty() {
            return Err(invalid("grant_types must not be empty"));
        }
        if grant_types
            .iter()
            .any(|g| !GRANT_TYPES.contains(&g.as_str()))
        {
            return Err(invalid(
                "unsupported grant type: use authorization_code, refresh_token, client_credentials or the device_code grant",
            ));
        }
        dedup(&mut grant_types);
        let mut response_types = string_list(
            doc,
            "response_types",
            "response_types must be an array of strings",
        )?;
        if !doc.contains_key("response_types") {
            response_types = if grant_types.iter().any(|g| g == "authorization_code") {
                vec!["code".to_owned()]
            } else {
                Vec::new()
            };
        }
        if response_types
            .iter()
            .any(|r| !RESPONSE_TYPES.contains(&r.as_str()))
        {
            return Err(invalid("unsupported response type: only code is supported"));
        }
        dedup(&mut response_types);
        let has_code_grant = grant_types.iter().any(|g| g == "authorization_code");
        if has_code_grant != response_types.iter().any(|r| r == "code") {
            return Err(invalid(
                "response_types code and grant_types authorization_code go together (RFC 7591 section 2.1)",
            ));
        }
        if grant_types.iter().any(|g| g == "refresh_token")
            && !grant_types
                .iter()
                .any(|g| g == "authorization_code" || g == GRANT_TYPES[3])
        {
            return Err(invalid(
                "refresh_token needs a grant that issues refresh tokens (authorization_code or device_code)",
            ));
        }
        if has_code_grant && redirect_uris.is_empty() {
            return Err(OAuthError::with_description(
                ErrorCode::InvalidRedirectUri,
                "redirect_uris is required for the authorization_code grant",
            ));
        }
        if token_endpoint_auth_method == AuthMethod::None
            && grant_types.iter().any(|g| g == "client_credentials")
        {
            return Err(invalid(
                "a public client (token_endpoint_auth_method none) cannot use client_credentials",
            ));
        }
        if doc.contains_key("jwks_uri") {
            return Err(invalid(
                "jwks_uri is not supported; register the keys inline as jwks",
            ));
        }
        let jwks = match doc.get("jwks") {
            None | Some(Value::Null) => None,
            Some(value) => {
                let parsed: Jwks = serde_json::from_value(value.clone())
                    .map_err(|_| invalid("jwks must be a JWK Set document"))?;
                if KeySet::from_jwks(&parsed).is_empty() {
                    return Err(invalid(
                        "jwks holds no usable signing key (RSA of 2048 bits or more, EC P-256 or Ed25519)",
                    ));
                }
                Some(value.clone())
            }
        };
        if token_endpoint_auth_method == AuthMethod::PrivateKeyJwt && jwks.is_none() {
            return Err(invalid(
                "private_key_jwt needs the client's public keys in jwks",
            ));
        }
        let scope = match string(doc, "scope", "scope must be a string")? {
            None => None,
            Some(value) => Some(
                Scopes::parse(&value)
                    .map_err(|_| invalid("scope must be space-separated scope tokens"))?,
            ),
        };
        let client_name = string(doc, "client_name", "client_name must be a string")?;
        if client_name.as_ref().is_some_and(|n| n.len() > MAX_NAME_LEN) {
            return Err(invalid("client_name is longer than 200 bytes"));
        }
        let subject_type = string(doc, "subject_type", "subject_type must be a string")?;
        if subject_type
            .as_deref()
            .is_some_and(|s| s != "public" && s != "pairwise")
        {
            return Err(invalid("subject_type must be public or pairwise"));
        }
        let backchannel_logout_uri = web_uri(
            doc,
            "backchannel_logout_uri",
            "backchannel_logout_uri must be an absolute https URI without a fragment",
        )?;
        let backchannel_logout_session_required =
            match doc.get("backchannel_logout_session_required") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => {
                    return Err(invalid(
                        "backchannel_logout_session_required must be a boolean",
                    ));
                }
            };
        Ok(Self {
            redirect_uris,
            token_endpoint_auth_method,
            grant_types,
            response_types,
            client_name,
            client_uri: web_uri(
                doc,
                "client_uri",
                "client_uri must be an absolute http(s) URI",
            )?,
            logo_uri: web_uri(doc, "logo_uri", "logo_uri must be an absolute http(s) URI")?,
            tos_uri: web_uri(doc, "tos_uri", "tos_uri must be an absolute http(s) URI")?,
            policy_uri: web_uri(
                doc,
                "policy_uri",
                "policy_uri must be an absolute http(s) URI",
            )?,
            scope,
            contacts: string_list(doc, "contacts", "contacts must be an array of strings")?,
            jwks,
            software_id: string(doc, "software_id", "software_id must be a string")?,
            software_version: string(doc, "software_version", "software_version must be a string")?,
            post_logout_redirect_uris,
            subject_type,
            backchannel_logout_uri,
            backchannel_logout_session_required,
        })
    }
}

fn invalid(description: &'static str) -> OAuthError {
    OAuthError::with_description(ErrorCode::InvalidClientMetadata, description)
}

fn string(
    doc: &Map<String, Value>,
    name: &str,
    wrong: &'static str,
) -> Result<Option<String>, OAuthError> {
    match doc.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.len() <= MAX_VALUE_LEN => Ok(Some(s.clone())),
        Some(_) => Err(invalid(wrong)),
    }
}

fn string_list(
    doc: &Map<String, Value>,
    name: &str,
    wrong: &'static str,
) -> Result<Vec<String>, OAuthError> {
    match doc.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) if items.len() <= MAX_LIST_LEN => items
            .iter()
            .map(|item| match item {
                Value::String(s) if !s.is_empty() && s.len() <= MAX_VALUE_LEN => Ok(s.clone()),
                _ => Err(invalid(wrong)),
            })
            .collect(),
        Some(_) => Err(invalid(wrong)),
    }
}

/// An optional absolute `https` URI (`http` only on loopback) without a fragment.
fn web_uri(
    doc: &Map<String, Value>,
    name: &str,
    wrong: &'static str,
) -> Result<Option<String>, OAuthError> {
    let Some(value) = string(doc, name, wrong)? else {
        return Ok(None);
    };
    if is_web_uri(&value) {
        Ok(Some(value))
    } else {
        Err(invalid(wrong))
    }
}

/// Whether `value` is an absolute `https` URI, or `http` on loopback, without a fragment.
pub fn is_web_uri(value: &str) -> bool {
    if validate_registration(value).is_err() {
        return false;
    }
    Url::parse(value).is_ok_and(|u| matches!(u.scheme(), "https" | "http"))
}

fn dedup(values: &mut Vec<String>) {
    let mut seen = std::collections::BTreeSet::new();
    values.retain(|v| seen.insert(v.clone()));
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ed25519_jwks() -> Value {
        let key = crate::jwk::SigningKey::generate(crate::jwk::Algorithm::EdDSA).unwrap();
        serde_json::to_value(Jwks::from_signing_keys([&key])).unwrap()
    }

    /// Parses `body` and expects `Ok` (`None`) or the error code (`Some`).
    fn check(body: Value, expected: Option<ErrorCode>) {
        let result = ClientMetadata::parse(&body);
        match (result, expected) {
            (Ok(_), None) => {}
            (Err(e), Some(code)) => assert_eq!(e.code, code, "{body}: {e}"),
            (other, expected) => panic!("{body}: got {other:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn defaults_follow_rfc_7591() {
        let parsed =
            ClientMetadata::parse(&json!({"redirect_uris": ["https://app.example/cb"]})).unwrap();
        assert_eq!(
            parsed.token_endpoint_auth_method,
            AuthMethod::ClientSecretBasic
        );
        assert_eq!(parsed.grant_types, vec!["authorization_code"]);
        assert_eq!(parsed.response_types, vec!["code"]);
        assert_eq!(parsed.scope, None);
        // Unknown metadata is ignored (RFC 7591 §2).
        check(
            json!({"redirect_uris": ["https://a.example/cb"], "frobnicate": 1}),
            None,
        );
        // Without the code grant, no response types are implied.
        let machine =
            ClientMetadata::parse(&json!({"grant_types": ["client_credentials"]})).unwrap();
        assert!(machine.response_types.is_empty());
    }

    #[test]
    fn metadata_rules() {
        let redirect = || json!(["https://app.example/cb"]);
        let cases = [
            (json!([]), Some(ErrorCode::InvalidClientMetadata)),
            (json!({}), Some(ErrorCode::InvalidRedirectUri)),
            (
                json!({"redirect_uris": ["http://evil.example/cb"]}),
                Some(ErrorCode::InvalidRedirectUri),
            ),
            (
                json!({"redirect_uris": ["https://a.example/cb#x"]}),
                Some(ErrorCode::InvalidRedirectUri),
            ),
            (
                json!({"redirect_uris": "https://a.example/cb"}),
                Some(ErrorCode::InvalidClientMetadata),
            ),
            (
                json!({"redirect_uris": redirect(), "response_types": ["token"]}),
                Some(ErrorCode::InvalidClientMetadata),
            ),
            (
                json!({"redirect_uris": redirect(), "grant_types": ["implicit"]}),
                Some(ErrorCode::InvalidClientMetadata),
            ),
            (
                json!({"redirect_uris": redirect(), "grant_types": ["password"]}),
                Some(ErrorCode::InvalidClientMetadata),
            ),
            (
                json!({"redirect_uris": redirect(), "grant_types": []}),
                Some(ErrorCode::InvalidClientMetadata),
            ),
            (
                json!({"grant_types": ["client_credentials"], "response_types": ["code"]}),
                Some(ErrorCode::InvalidClientMetadata),
            ),
            (
                json!({"redirect_uris": redirect(), "grant_types": ["authorization_code"], "response_types": []}),
                Some(ErrorCode::InvalidClientMetadata),
            ),
            (
                json!({"grant_types": ["refresh_token", "client_credentials"]}),
                Some(ErrorCode::InvalidClientMetadata),
            ),
            (
                json!({"redirect_uris": redirect(), "grant_types": ["authorization_code", "refresh_token"]}),
                None,
            ),
            (
                json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"}),
                Some(ErrorCode::InvalidClientMetadata),
            ),
            (
                json!({"redirect_uris": redirect(), "token_endpoint_auth_method": "none"}),
                None,
            ),
            (
                json!({"redirect_uris": redirect(), "token_endpoint_auth_method": "client_secret_jwt"}),
                Some(ErrorCode::InvalidClientMetadata),
            ),
            (
                json!({"redirect_uris": redirect(), "token_endpoint_auth_method": "private_key_jwt"}),
                Some(ErrorCode::InvalidClientMetadata),
            ),
            (
                json!({"redirect_uris": redirect(), "token_endpoint_auth_method": "private_key_jwt", "jwks": ed25519_jwks()}),
                None,
            ),
            (
                json!({"redirect_uris": redirect(), "jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}),
                Some(ErrorCode::InvalidClientMetadata),
            ),
            (
                json!({"redirect_uris": redirect(), "jwks_uri": "https://app.example/jwks"}),
                Some(ErrorCode::InvalidClientMetadata),
            ),
            (
                json!({"redirect_uris": redirect(), "scope": "openid  profile"}),
                Some(ErrorCode::InvalidClientMetadata),
            ),
            (
                json!({"redirect_uris": redirect(), "scope": "openid profile"}),
                None,
            ),
            (
                json!({"redirect_uris": redirect(), "client_uri": "javascript:alert(1)"}),
                Some(ErrorCode::InvalidClientMetadata),
            ),
            (
                json!({"redirect_uris": redirect(), "subject_type": "secret"}),
                Some(ErrorCode::InvalidClientMetadata),
            ),
            (
                json!({"redirect_uris": redirect(), "backchannel_logout_uri": "com.example.app:/logout"}),
                Some(ErrorCode::InvalidClientMetadata),
            ),
            (
                json!({"redirect_uris": redirect(), "post_logout_redirect_uris": ["http://evil.example/"]}),
                Some(ErrorCode::InvalidRedirectUri),
            ),
            (
                json!({"redirect_uris": redirect(), "client_name": "x".repeat(201)}),
                Some(ErrorCode::InvalidClientMetadata),
            ),
            (
                json!({"redirect_uris": ["com.example.app:/cb", "http://127.0.0.1/cb"]}),
                None,
            ),
        ];
        for (body, expected) in cases {
            check(body, expected);
        }
    }
}
