//! The editable settings of an OAuth client as the admin API and Dynamic
//! Client Registration show them ([`ClientSettings`], with RFC 7591 member
//! names where RFC 7591 has one), and the rules every stored client obeys
//! ([`ClientSettings::validate`]).
//!
//! A merge patch is applied to this representation (RFC 7396), so what an
//! administrator reads is exactly what they can write back.

use gatehouse_oauth::client_auth::AuthMethod;
use gatehouse_oauth::jwk::{Jwks, KeySet};
use gatehouse_oauth::redirect_uri::validate_registration;
use gatehouse_oauth::registration::{ClientMetadata, is_web_uri};
use gatehouse_oauth::scope::Scopes;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, FieldError};
use crate::model::{Client, ClientAuthMethod, ClientGrant, SubjectType, TokenLifetimes};

/// Scopes a client may request when none are configured.
pub const DEFAULT_SCOPE: &str = "openid profile email offline_access";

/// Longest `client_name`.
const MAX_NAME_LEN: usize = 200;
/// Largest token lifetimes, in seconds.
const MAX_ACCESS_SECS: u32 = 24 * 3600;
const MAX_REFRESH_SECS: u32 = 10 * 365 * 24 * 3600;
/// Most entries in a list setting.
const MAX_LIST_LEN: usize = 100;

/// A client's settings: everything but its id, org, secret and timestamps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientSettings {
    /// Shown on the consent page; up to 200 bytes.
    #[serde(default)]
    pub client_name: String,
    /// `client_secret_basic` (default), `client_secret_post`, `private_key_jwt` or `none` (a public client).
    #[serde(default = "default_auth_method")]
    #[schema(value_type = String)]
    pub token_endpoint_auth_method: ClientAuthMethod,
    /// Exact-match redirect URIs: https, http on loopback, or a reverse-domain custom scheme.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Default `["authorization_code"]`.
    #[serde(default = "default_grants")]
    #[schema(value_type = Vec<String>)]
    pub grant_types: Vec<ClientGrant>,
    /// The scopes the client may request, space-separated.
    #[serde(default = "default_scope")]
    pub scope: String,
    /// Require PKCE even though the client is confidential (always required for public clients).
    #[serde(default)]
    pub require_pkce: bool,
    /// Ask the user before sharing data; default `true`.
    #[serde(default = "yes")]
    pub require_consent: bool,
    /// Seconds; default 300.
    #[serde(default = "default_access")]
    pub access_token_lifetime: u32,
    /// Seconds; default 300.
    #[serde(default = "default_id")]
    pub id_token_lifetime: u32,
    /// Seconds each refresh token lives; default 30 days.
    #[serde(default = "default_refresh")]
    pub refresh_token_lifetime: u32,
    /// Seconds a refresh-token family lives from the first sign-in; default 90 days.
    #[serde(default = "default_family")]
    pub refresh_token_family_lifetime: u32,
    /// `public` (default) or `pairwise`.
    #[serde(default = "default_subject")]
    #[schema(value_type = String)]
    pub subject_type: SubjectType,
    /// The host pairwise subjects are computed for; defaults to the redirect URIs' single host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sector_identifier: Option<String>,
    /// The client's public keys (a JWK Set), required for `private_key_jwt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<Value>,
    /// `aud` of access tokens when no resource is requested (default: the client id).
    #[serde(default)]
    pub access_token_audience: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
    #[serde(default)]
    pub backchannel_logout_session_required: bool,
    /// Custom scope name → the profile attributes it releases as claims.
    #[serde(default = "empty_object")]
    #[schema(value_type = Object)]
    pub claim_mappings: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tos_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_uri: Option<String>,
    #[serde(default)]
    pub contacts: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_version: Option<String>,
}

fn default_auth_method() -> ClientAuthMethod {
    ClientAuthMethod::ClientSecretBasic
}
fn default_grants() -> Vec<ClientGrant> {
    vec![ClientGrant::AuthorizationCode]
}
fn default_scope() -> String {
    DEFAULT_SCOPE.to_owned()
}
fn yes() -> bool {
    true
}
fn default_access() -> u32 {
    TokenLifetimes::default().access_token_secs
}
fn default_id() -> u32 {
    TokenLifetimes::default().id_token_secs
}
fn default_refresh() -> u32 {
    TokenLifetimes::default().refresh_token_secs
}
fn default_family() -> u32 {
    TokenLifetimes::default().refresh_family_secs
}
fn default_subject() -> SubjectType {
    SubjectType::Public
}
fn empty_object() -> Value {
    Value::Object(Map::new())
}

impl Default for ClientSettings {
    fn default() -> Self {
        Self {
            client_name: String::new(),
            token_endpoint_auth_method: default_auth_method(),
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            grant_types: default_grants(),
            scope: default_scope(),
            require_pkce: false,
            require_consent: true,
            access_token_lifetime: default_access(),
            id_token_lifetime: default_id(),
            refresh_token_lifetime: default_refresh(),
            refresh_token_family_lifetime: default_family(),
            subject_type: default_subject(),
            sector_identifier: None,
            jwks: None,
            access_token_audience: Vec::new(),
            backchannel_logout_uri: None,
            backchannel_logout_session_required: false,
            claim_mappings: empty_object(),
            client_uri: None,
            logo_uri: None,
            tos_uri: None,
            policy_uri: None,
            contacts: Vec::new(),
            software_id: None,
            software_version: None,
        }
    }
}

impl ClientSettings {
    /// The settings of a stored client.
    pub fn of(client: &Client) -> Self {
        let meta = |key: &str| {
            client
                .metadata
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        Self {
            client_name: client.name.clone(),
            token_endpoint_auth_method: client.auth_method,
            redirect_uris: client.redirect_uris.clone(),
            post_logout_redirect_uris: client.post_logout_redirect_uris.clone(),
            grant_types: client.grant_types.clone(),
            scope: client.allowed_scopes.join(" "),
            require_pkce: client.require_pkce,
            require_consent: client.require_consent,
            access_token_lifetime: client.lifetimes.access_token_secs,
            id_token_lifetime: client.lifetimes.id_token_secs,
            refresh_token_lifetime: client.lifetimes.refresh_token_secs,
            refresh_token_family_lifetime: client.lifetimes.refresh_family_secs,
            subject_type: client.subject_type,
            sector_identifier: client.sector_identifier.clone(),
            jwks: client.jwks.clone(),
            access_token_audience: client.access_token_audience.clone(),
            backchannel_logout_uri: client.backchannel_logout_uri.clone(),
            backchannel_logout_session_required: client.backchannel_logout_session_required,
            claim_mappings: client.claim_mappings.clone(),
            client_uri: meta("client_uri"),
            logo_uri: meta("logo_uri"),
            tos_uri: meta("tos_uri"),
            policy_uri: meta("policy_uri"),
            contacts: client
                .metadata
                .get("contacts")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            software_id: meta("software_id"),
            software_version: meta("software_version"),
        }
    }

    /// The settings a Dynamic Client Registration request asks for; members
    /// RFC 7591 does not define keep their defaults.
    pub fn from_registration(metadata: &ClientMetadata) -> Self {
        let ClientMetadata {
            redirect_uris,
            token_endpoint_auth_method,
            grant_types,
            response_types: _,
            client_name,
            client_uri,
            logo_uri,
            tos_uri,
            policy_uri,
            scope,
            contacts,
            jwks,
            software_id,
            software_version,
            post_logout_redirect_uris,
            subject_type,
            backchannel_logout_uri,
            backchannel_logout_session_required,
        } = metadata.clone();
        Self {
            client_name: client_name.unwrap_or_default(),
            token_endpoint_auth_method: match token_endpoint_auth_method {
                AuthMethod::ClientSecretBasic => ClientAuthMethod::ClientSecretBasic,
                AuthMethod::ClientSecretPost => ClientAuthMethod::ClientSecretPost,
                AuthMethod::PrivateKeyJwt => ClientAuthMethod::PrivateKeyJwt,
                AuthMethod::None => ClientAuthMethod::None,
            },
            redirect_uris,
            post_logout_redirect_uris,
            // Parsing admitted only the grants `ClientGrant` knows.
            grant_types: grant_types
                .iter()
                .filter_map(|g| ClientGrant::parse(g))
                .collect(),
            scope: scope.map_or_else(default_scope, |s| s.to_string()),
            subject_type: match subject_type.as_deref() {
                Some("pairwise") => SubjectType::Pairwise,
                _ => SubjectType::Public,
            },
            jwks,
            backchannel_logout_uri,
            backchannel_logout_session_required,
            client_uri,
            logo_uri,
            tos_uri,
            policy_uri,
            contacts,
            software_id,
            software_version,
            ..Self::default()
        }
    }

    /// The representation merge patches apply to.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|_| empty_object())
    }

    /// Reads settings from a JSON document. Field errors name the member and
    /// never echo the value (it may be a misplaced secret).
    pub fn from_json(doc: Value) -> Result<Self, Error> {
        serde_path_to_error::deserialize(doc).map_err(|e| {
            let path: Vec<String> = e
                .path()
                .iter()
                .map(|segment| match segment {
                    serde_path_to_error::Segment::Seq { index } => index.to_string(),
                    serde_path_to_error::Segment::Map { key } => key.clone(),
                    serde_path_to_error::Segment::Enum { variant } => variant.clone(),
                    serde_path_to_error::Segment::Unknown => "?".to_owned(),
                })
                .collect();
            let message = e.inner().to_string();
            let field = |name: Option<&str>| {
                let mut parts = path.clone();
                if let Some(name) = name.filter(|n| parts.last().map(String::as_str) != Some(*n)) {
                    parts.push(name.to_owned());
                }
                parts.join("/")
            };
            let error = if let Some(rest) = message.strip_prefix("unknown field `") {
                let name = rest.split('`').next();
                FieldError::new(field(name), "unknown_field", "unknown field")
            } else if let Some(rest) = message.strip_prefix("missing field `") {
                FieldError::new(field(rest.split('`').next()), "required", "is required")
            } else if message.starts_with("invalid type") {
                FieldError::new(field(None), "invalid_type", "has the wrong type")
            } else {
                FieldError::new(field(None), "invalid_value", "has an invalid value")
            };
            Error::Invalid(vec![error])
        })
    }

    /// Checks every rule a stored client obeys, reporting all failures at once.
    ///
    /// - RFC 6749 §3.1.2 / RFC 8252: redirect URIs via [`validate_registration`];
    ///   the code grant needs at least one.
    /// - RFC 6749 §4.4: a public client cannot use `client_credentials`.
    /// - `refresh_token` goes with a grant that issues refresh tokens.
    /// - RFC 7523 §3 / OIDC Core §9: `private_key_jwt` needs registered keys.
    /// - RFC 6749 §3.3: scope syntax.
    pub fn validate(&self) -> Result<(), Error> {
        let mut errors = Vec::new();
        let mut fail = |field: &str, code: &str, message: &str| {
            errors.push(FieldError::new(field, code, message));
        };
        if self.client_name.len() > MAX_NAME_LEN {
            fail("client_name", "too_long", "must be at most 200 bytes");
        }
        for (name, list) in [
            ("redirect_uris", &self.redirect_uris),
            ("post_logout_redirect_uris", &self.post_logout_redirect_uris),
        ] {
            if list.len() > MAX_LIST_LEN {
                fail(name, "too_many", "must have at most 100 entries");
            }
            for (i, uri) in list.iter().enumerate() {
                if let Err(e) = validate_registration(uri) {
                    fail(
                        &format!("{name}/{i}"),
                        "invalid_redirect_uri",
                        &e.to_string(),
                    );
                }
            }
        }
        let grants = &self.grant_types;
        if grants.is_empty() {
            fail("grant_types", "required", "must name at least one grant");
        }
        let has = |g: ClientGrant| grants.contains(&g);
        if has(ClientGrant::AuthorizationCode) && self.redirect_uris.is_empty() {
            fail(
                "redirect_uris",
                "required",
                "the authorization_code grant needs at least one redirect URI",
            );
        }
        if has(ClientGrant::RefreshToken)
            && !has(ClientGrant::AuthorizationCode)
            && !has(ClientGrant::DeviceCode)
        {
            fail(
                "grant_types",
                "inconsistent",
                "refresh_token needs authorization_code or device_code",
            );
        }
        let method = self.token_endpoint_auth_method;
        if method == ClientAuthMethod::None && has(ClientGrant::ClientCredentials) {
            fail(
                "grant_types",
                "not_allowed",
                "a public client (token_endpoint_auth_method none) cannot use client_credentials",
            );
        }
        match &self.jwks {
            Some(jwks) => match serde_json::from_value::<Jwks>(jwks.clone()) {
                Ok(parsed) if !KeySet::from_jwks(&parsed).is_empty() => {}
                Ok(_) => fail(
                    "jwks",
                    "no_usable_key",
                    "holds no usable signing key (RSA of 2048 bits or more, EC P-256 or Ed25519)",
                ),
                Err(_) => fail("jwks", "invalid_value", "must be a JWK Set document"),
            },
            None if method == ClientAuthMethod::PrivateKeyJwt => {
                fail(
                    "jwks",
                    "required",
                    "private_key_jwt needs the client's public keys",
                );
            }
            None => {}
        }
        if Scopes::parse(&self.scope).is_err() {
            fail(
                "scope",
                "invalid_scope",
                "must be scope tokens separated by single spaces",
            );
        }
        for (name, secs, max) in [
            (
                "access_token_lifetime",
                self.access_token_lifetime,
                MAX_ACCESS_SECS,
            ),
            ("id_token_lifetime", self.id_token_lifetime, MAX_ACCESS_SECS),
            (
                "refresh_token_lifetime",
                self.refresh_token_lifetime,
                MAX_REFRESH_SECS,
            ),
            (
                "refresh_token_family_lifetime",
                self.refresh_token_family_lifetime,
                MAX_REFRESH_SECS,
            ),
        ] {
            if secs == 0 || secs > max {
                fail(
                    name,
                    "out_of_range",
                    "must be a positive number of seconds within the limit",
                );
            }
        }
        if self.subject_type == SubjectType::Pairwise
            && self.sector_identifier.is_none()
            && redirect_host(&self.redirect_uris).is_none()
        {
            fail(
                "sector_identifier",
                "required",
                "pairwise subjects need a sector identifier when the redirect URIs do not share one host",
            );
        }
        if self
            .sector_identifier
            .as_deref()
            .is_some_and(|s| s.is_empty() || s.len() > 253)
        {
            fail("sector_identifier", "invalid_value", "must be a host name");
        }
        if self
            .access_token_audience
            .iter()
            .any(|a| a.is_empty() || a.len() > 2048)
        {
            fail(
                "access_token_audience",
                "invalid_value",
                "entries must be non-empty strings",
            );
        }
        for (name, value) in [
            ("backchannel_logout_uri", &self.backchannel_logout_uri),
            ("client_uri", &self.client_uri),
            ("logo_uri", &self.logo_uri),
            ("tos_uri", &self.tos_uri),
            ("policy_uri", &self.policy_uri),
        ] {
            if value.as_deref().is_some_and(|v| !is_web_uri(v)) {
                fail(
                    name,
                    "invalid_uri",
                    "must be an absolute https URI (http only on loopback) without a fragment",
                );
            }
        }
        if self.contacts.len() > MAX_LIST_LEN || self.contacts.iter().any(String::is_empty) {
            fail(
                "contacts",
                "invalid_value",
                "must be at most 100 non-empty strings",
            );
        }
        let mappings_ok = self.claim_mappings.as_object().is_some_and(|m| {
            m.values()
                .all(|v| v.as_array().is_some_and(|a| a.iter().all(Value::is_string)))
        });
        if !mappings_ok {
            fail(
                "claim_mappings",
                "invalid_value",
                "must map scope names to arrays of attribute names",
            );
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Invalid(errors))
        }
    }

    /// Writes these (validated) settings into `client`. A public client always
    /// requires PKCE; a method without a shared secret drops the stored one.
    pub fn apply(self, client: &mut Client) {
        let public = self.token_endpoint_auth_method == ClientAuthMethod::None;
        if !self.token_endpoint_auth_method.uses_secret() {
            client.secret_hash = None;
            client.secret_expires_at = None;
        }
        let mut metadata = Map::new();
        for (key, value) in [
            ("client_uri", self.client_uri),
            ("logo_uri", self.logo_uri),
            ("tos_uri", self.tos_uri),
            ("policy_uri", self.policy_uri),
            ("software_id", self.software_id),
            ("software_version", self.software_version),
        ] {
            if let Some(value) = value {
                metadata.insert(key.to_owned(), Value::String(value));
            }
        }
        if !self.contacts.is_empty() {
            metadata.insert(
                "contacts".to_owned(),
                Value::Array(self.contacts.into_iter().map(Value::String).collect()),
            );
        }
        client.sector_identifier = match (self.subject_type, self.sector_identifier) {
            (_, Some(sector)) => Some(sector),
            (SubjectType::Pairwise, None) => redirect_host(&self.redirect_uris),
            (SubjectType::Public, None) => None,
        };
        client.name = self.client_name;
        client.auth_method = self.token_endpoint_auth_method;
        client.redirect_uris = self.redirect_uris;
        client.post_logout_redirect_uris = self.post_logout_redirect_uris;
        let mut grants = self.grant_types;
        grants.sort();
        grants.dedup();
        client.grant_types = grants;
        client.allowed_scopes = Scopes::parse(&self.scope)
            .map(|s| s.iter().map(str::to_owned).collect())
            .unwrap_or_default();
        client.require_pkce = self.require_pkce || public;
        client.require_consent = self.require_consent;
        client.lifetimes = TokenLifetimes {
            access_token_secs: self.access_token_lifetime,
            id_token_secs: self.id_token_lifetime,
            refresh_token_secs: self.refresh_token_lifetime,
            refresh_family_secs: self.refresh_token_family_lifetime,
        };
        client.subject_type = self.subject_type;
        client.jwks = self.jwks;
        client.access_token_audience = self.access_token_audience;
        client.backchannel_logout_uri = self.backchannel_logout_uri;
        client.backchannel_logout_session_required = self.backchannel_logout_session_required;
        client.claim_mappings = self.claim_mappings;
        client.metadata = Value::Object(metadata);
    }
}

/// The one host all redirect URIs share, if they do.
fn redirect_host(uris: &[String]) -> Option<String> {
    let mut hosts = uris.iter().filter_map(|u| url_host(u)).collect::<Vec<_>>();
    hosts.dedup();
    match hosts.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    }
}

fn url_host(uri: &str) -> Option<String> {
    let rest = uri.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = host.split(':').next()?;
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Parses and validates `doc`; `None` expects success, `Some` the failing `field:code`s.
    fn check(doc: Value, expected: Option<&[&str]>) {
        let result = ClientSettings::from_json(doc.clone()).and_then(|s| s.validate());
        match (result, expected) {
            (Ok(()), None) => {}
            (Err(Error::Invalid(errors)), Some(expected)) => {
                let got: Vec<String> = errors
                    .iter()
                    .map(|e| format!("{}:{}", e.field, e.code))
                    .collect();
                assert_eq!(got, expected, "{doc}");
            }
            (other, expected) => panic!("{doc}: got {other:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn validation_rules() {
        let cb = json!(["https://app.example/cb"]);
        check(json!({"redirect_uris": cb}), None);
        check(json!({}), Some(&["redirect_uris:required"]));
        check(
            json!({"redirect_uris": ["http://evil.example/cb", "https://ok.example/cb"]}),
            Some(&["redirect_uris/0:invalid_redirect_uri"]),
        );
        check(
            json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"}),
            Some(&["grant_types:not_allowed"]),
        );
        check(json!({"grant_types": ["client_credentials"]}), None);
        check(
            json!({"grant_types": ["refresh_token", "client_credentials"]}),
            Some(&["grant_types:inconsistent"]),
        );
        check(json!({"grant_types": []}), Some(&["grant_types:required"]));
        check(
            json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "private_key_jwt"}),
            Some(&["jwks:required"]),
        );
        check(
            json!({"grant_types": ["client_credentials"], "jwks": {"keys": [{"kty": "oct", "k": "AAAA"}]}}),
            Some(&["jwks:no_usable_key"]),
        );
        check(
            json!({"redirect_uris": cb, "scope": "openid \"x\""}),
            Some(&["scope:invalid_scope"]),
        );
        check(
            json!({"redirect_uris": cb, "access_token_lifetime": 0}),
            Some(&["access_token_lifetime:out_of_range"]),
        );
        check(
            json!({"redirect_uris": ["https://a.example/cb", "https://b.example/cb"], "subject_type": "pairwise"}),
            Some(&["sector_identifier:required"]),
        );
        check(
            json!({"redirect_uris": ["https://a.example/cb"], "subject_type": "pairwise"}),
            None,
        );
        check(
            json!({"redirect_uris": cb, "claim_mappings": {"orders": "department"}}),
            Some(&["claim_mappings:invalid_value"]),
        );
        check(
            json!({"redirect_uris": cb, "logo_uri": "javascript:alert(1)"}),
            Some(&["logo_uri:invalid_uri"]),
        );
        check(
            json!({"redirect_uris": cb, "bogus": 1}),
            Some(&["bogus:unknown_field"]),
        );
        check(
            json!({"redirect_uris": cb, "grant_types": ["password"]}),
            Some(&["grant_types/0:invalid_value"]),
        );
        check(
            json!({"redirect_uris": cb, "require_pkce": "hunter2"}),
            Some(&["require_pkce:invalid_type"]),
        );
    }

    #[test]
    fn round_trip_through_a_client_and_public_clients_require_pkce() {
        let settings = ClientSettings::from_json(json!({
            "client_name": "Shop",
            "token_endpoint_auth_method": "none",
            "redirect_uris": ["com.example.shop:/cb"],
            "grant_types": ["refresh_token", "authorization_code"],
            "scope": "profile openid",
            "contacts": ["ops@example.com"],
            "client_uri": "https://shop.example",
        }))
        .unwrap();
        settings.validate().unwrap();
        let mut client = crate::model::Client {
            client_id: "c".into(),
            org_id: crate::ids::OrgId::DEFAULT,
            name: String::new(),
            auth_method: ClientAuthMethod::ClientSecretBasic,
            secret_hash: Some(crate::secret::TokenHash::of("s")),
            secret_expires_at: None,
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            grant_types: Vec::new(),
            allowed_scopes: Vec::new(),
            require_pkce: false,
            require_consent: true,
            lifetimes: TokenLifetimes::default(),
            subject_type: SubjectType::Public,
            sector_identifier: None,
            jwks: None,
            access_token_audience: Vec::new(),
            backchannel_logout_uri: None,
            backchannel_logout_session_required: false,
            claim_mappings: json!({}),
            registration_token_hash: None,
            metadata: json!({}),
            created_at: 0,
            updated_at: 0,
            version: 1,
        };
        settings.clone().apply(&mut client);
        assert!(
            client.secret_hash.is_none(),
            "a public client keeps no secret"
        );
        assert!(client.require_pkce);
        assert_eq!(
            client.grant_types,
            vec![ClientGrant::AuthorizationCode, ClientGrant::RefreshToken]
        );
        assert_eq!(client.allowed_scopes, vec!["openid", "profile"]);
        let back = ClientSettings::of(&client);
        assert_eq!(back.client_uri.as_deref(), Some("https://shop.example"));
        assert_eq!(back.contacts, vec!["ops@example.com"]);
        assert_eq!(back.scope, "openid profile");
        assert!(back.require_pkce);
    }
}
