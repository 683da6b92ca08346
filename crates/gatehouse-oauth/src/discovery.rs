//! Provider metadata: the document served at
//! `/.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §3) and
//! `/.well-known/oauth-authorization-server` (RFC 8414 §2), built from the
//! issuer URL and a description of what this deployment offers, and the
//! endpoint paths it names (INTERFACE.md).

use serde::Serialize;
use url::Url;

use crate::client_auth::AuthMethod;
use crate::jwk::Algorithm;
use crate::token_request::GrantType;

/// The endpoint paths, relative to the issuer. The router uses the same constants.
pub mod paths {
    pub const OPENID_CONFIGURATION: &str = "/.well-known/openid-configuration";
    pub const OAUTH_AUTHORIZATION_SERVER: &str = "/.well-known/oauth-authorization-server";
    pub const AUTHORIZE: &str = "/oauth2/authorize";
    pub const TOKEN: &str = "/oauth2/token";
    pub const USERINFO: &str = "/oauth2/userinfo";
    pub const JWKS: &str = "/oauth2/jwks";
    pub const REGISTER: &str = "/oauth2/register";
    pub const INTROSPECT: &str = "/oauth2/introspect";
    pub const REVOKE: &str = "/oauth2/revoke";
    pub const LOGOUT: &str = "/oauth2/logout";
    pub const DEVICE_AUTHORIZATION: &str = "/oauth2/device_authorization";
    pub const DEVICE_PAGE: &str = "/device";
    pub const PAR: &str = "/oauth2/par";
}

/// What this deployment offers beyond the fixed protocol surface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capabilities {
    pub scopes_supported: Vec<String>,
    pub claims_supported: Vec<String>,
    /// Algorithms for ID tokens and accepted for client assertions. RS256 is required.
    pub signing_algorithms: Vec<Algorithm>,
    /// Dynamic client registration (RFC 7591) at [`paths::REGISTER`].
    pub registration: bool,
    /// The device authorization grant (RFC 8628).
    pub device_authorization: bool,
    /// Pushed authorization requests (RFC 9126).
    pub pushed_authorization_requests: bool,
    /// OpenID Connect Back-Channel Logout 1.0, with `sid` in logout tokens.
    pub backchannel_logout: bool,
    /// OpenID Connect Front-Channel Logout 1.0.
    pub frontchannel_logout: bool,
    pub ui_locales_supported: Vec<String>,
    pub acr_values_supported: Vec<String>,
}

impl Default for Capabilities {
    /// The provider of issue 3: registration, device grant and back-channel
    /// logout on; PAR and front-channel logout not (yet) offered.
    fn default() -> Self {
        let strings = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect();
        Self {
            scopes_supported: strings(&[
                "openid",
                "profile",
                "email",
                "address",
                "phone",
                "offline_access",
            ]),
            claims_supported: strings(&[
                "iss",
                "sub",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "acr",
                "amr",
                "sid",
                "name",
                "given_name",
                "family_name",
                "middle_name",
                "nickname",
                "preferred_username",
                "profile",
                "picture",
                "website",
                "email",
                "email_verified",
                "gender",
                "birthdate",
                "zoneinfo",
                "locale",
                "phone_number",
                "phone_number_verified",
                "address",
                "updated_at",
            ]),
            signing_algorithms: Algorithm::ALL.to_vec(),
            registration: true,
            device_authorization: true,
            pushed_authorization_requests: false,
            backchannel_logout: true,
            frontchannel_logout: false,
            ui_locales_supported: Vec::new(),
            acr_values_supported: Vec::new(),
        }
    }
}

/// Why metadata could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DiscoveryError {
    #[error("the issuer must be an https URL (http only on loopback) without query or fragment")]
    InvalidIssuer,
    #[error("RS256 must be among the ID token signing algorithms")]
    MissingRs256,
}

/// The provider metadata document. Field order follows OpenID Connect
/// Discovery §3, then RFC 8414 §2 and the extensions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProviderMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: String,
    pub jwks_uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_endpoint: Option<String>,
    pub scopes_supported: Vec<String>,
    pub response_types_supported: Vec<&'static str>,
    pub response_modes_supported: Vec<&'static str>,
    pub grant_types_supported: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub acr_values_supported: Vec<String>,
    pub subject_types_supported: Vec<&'static str>,
    pub id_token_signing_alg_values_supported: Vec<&'static str>,
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    pub token_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    pub claims_supported: Vec<String>,
    pub claims_parameter_supported: bool,
    pub request_parameter_supported: bool,
    pub request_uri_parameter_supported: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ui_locales_supported: Vec<String>,
    pub code_challenge_methods_supported: Vec<&'static str>,
    pub introspection_endpoint: String,
    pub introspection_endpoint_auth_methods_supported: Vec<&'static str>,
    pub introspection_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    pub revocation_endpoint: String,
    pub revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    pub revocation_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    pub end_session_endpoint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_authorization_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pushed_authorization_request_endpoint: Option<String>,
    pub authorization_response_iss_parameter_supported: bool,
    pub backchannel_logout_supported: bool,
    pub backchannel_logout_session_supported: bool,
    pub frontchannel_logout_supported: bool,
    pub frontchannel_logout_session_supported: bool,
}

impl ProviderMetadata {
    /// Builds the document for `issuer` (used verbatim: it must equal the
    /// `iss` of every token, RFC 8414 §3.3 and Discovery §4.3).
    ///
    /// - Discovery §3 REQUIRED: `issuer`, `authorization_endpoint`,
    ///   `token_endpoint`, `jwks_uri`, `response_types_supported`,
    ///   `subject_types_supported`, `id_token_signing_alg_values_supported`
    ///   ("The algorithm RS256 MUST be included"; listed first here).
    /// - Discovery §3 / RFC 8414 §2: the issuer is an https URL with no query
    ///   or fragment; http is accepted on loopback for local runs.
    /// - Discovery §3: `request_uri_parameter_supported` defaults to true when
    ///   omitted, so it is stated as false.
    /// - RFC 8414 §2: listing `private_key_jwt` for an endpoint makes its
    ///   `*_auth_signing_alg_values_supported` mandatory (and `none` is not a
    ///   valid value there).
    /// - RFC 9207 §3: `authorization_response_iss_parameter_supported`.
    pub fn new(issuer: &str, capabilities: &Capabilities) -> Result<Self, DiscoveryError> {
        validate_issuer(issuer)?;
        if !capabilities.signing_algorithms.contains(&Algorithm::RS256) {
            return Err(DiscoveryError::MissingRs256);
        }
        let base = issuer.trim_end_matches('/');
        let url = |path: &str| format!("{base}{path}");
        // RS256 first, then the rest in a fixed order.
        let algorithms: Vec<&'static str> = Algorithm::ALL
            .into_iter()
            .filter(|a| capabilities.signing_algorithms.contains(a))
            .map(Algorithm::as_str)
            .collect();
        let mut grant_types = vec![
            GrantType::AuthorizationCode.as_str(),
            GrantType::RefreshToken.as_str(),
            GrantType::ClientCredentials.as_str(),
        ];
        if capabilities.device_authorization {
            grant_types.push(GrantType::DeviceCode.as_str());
        }
        let secret_and_jwt = [
            AuthMethod::ClientSecretBasic,
            AuthMethod::ClientSecretPost,
            AuthMethod::PrivateKeyJwt,
        ];
        let with_public = [
            AuthMethod::ClientSecretBasic,
            AuthMethod::ClientSecretPost,
            AuthMethod::PrivateKeyJwt,
            AuthMethod::None,
        ];
        let names = |methods: &[AuthMethod]| methods.iter().map(|m| m.as_str()).collect::<Vec<_>>();
        Ok(Self {
            issuer: issuer.to_owned(),
            authorization_endpoint: url(paths::AUTHORIZE),
            token_endpoint: url(paths::TOKEN),
            userinfo_endpoint: url(paths::USERINFO),
            jwks_uri: url(paths::JWKS),
            registration_endpoint: capabilities.registration.then(|| url(paths::REGISTER)),
            scopes_supported: capabilities.scopes_supported.clone(),
            response_types_supported: vec!["code"],
            response_modes_supported: vec!["query", "fragment", "form_post"],
            grant_types_supported: grant_types,
            acr_values_supported: capabilities.acr_values_supported.clone(),
            subject_types_supported: vec!["public", "pairwise"],
            id_token_signing_alg_values_supported: algorithms.clone(),
            token_endpoint_auth_methods_supported: names(&with_public),
            token_endpoint_auth_signing_alg_values_supported: algorithms.clone(),
            claims_supported: capabilities.claims_supported.clone(),
            claims_parameter_supported: true,
            request_parameter_supported: false,
            request_uri_parameter_supported: false,
            ui_locales_supported: capabilities.ui_locales_supported.clone(),
            code_challenge_methods_supported: vec!["S256"],
            introspection_endpoint: url(paths::INTROSPECT),
            introspection_endpoint_auth_methods_supported: names(&secret_and_jwt),
            introspection_endpoint_auth_signing_alg_values_supported: algorithms.clone(),
            revocation_endpoint: url(paths::REVOKE),
            revocation_endpoint_auth_methods_supported: names(&with_public),
            revocation_endpoint_auth_signing_alg_values_supported: algorithms,
            end_session_endpoint: url(paths::LOGOUT),
            device_authorization_endpoint: capabilities
                .device_authorization
                .then(|| url(paths::DEVICE_AUTHORIZATION)),
            pushed_authorization_request_endpoint: capabilities
                .pushed_authorization_requests
                .then(|| url(paths::PAR)),
            authorization_response_iss_parameter_supported: true,
            backchannel_logout_supported: capabilities.backchannel_logout,
            backchannel_logout_session_supported: capabilities.backchannel_logout,
            frontchannel_logout_supported: capabilities.frontchannel_logout,
            frontchannel_logout_session_supported: capabilities.frontchannel_logout,
        })
    }
}

/// Discovery §3 `issuer` / RFC 8414 §2: an https URL without query or
/// fragment (http allowed on 127.0.0.1, [::1] and localhost).
fn validate_issuer(issuer: &str) -> Result<(), DiscoveryError> {
    let url = Url::parse(issuer).map_err(|_| DiscoveryError::InvalidIssuer)?;
    let secure = match url.scheme() {
        "https" => true,
        "http" => matches!(url.host_str(), Some("127.0.0.1" | "[::1]" | "localhost")),
        _ => false,
    };
    if !secure
        || issuer.contains(['?', '#'])
        || url.cannot_be_a_base()
        || !url.username().is_empty()
    {
        return Err(DiscoveryError::InvalidIssuer);
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn check(
        issuer: &str,
        capabilities: Capabilities,
        expected: Result<serde_json::Value, DiscoveryError>,
    ) {
        let actual =
            ProviderMetadata::new(issuer, &capabilities).map(|m| serde_json::to_value(m).unwrap());
        assert_eq!(actual, expected, "{issuer}");
    }

    /// The document for https://id.example.com, compared with a file written
    /// by hand against the specifications.
    #[test]
    fn document_matches_the_reviewed_snapshot() {
        let expected: serde_json::Value =
            serde_json::from_str(include_str!("../tests/snapshots/discovery.json")).unwrap();
        check(
            "https://id.example.com",
            Capabilities::default(),
            Ok(expected),
        );
    }

    #[test]
    fn capabilities_and_issuers() {
        let base = serde_json::to_value(
            ProviderMetadata::new("https://id.example.com", &Capabilities::default()).unwrap(),
        )
        .unwrap();
        let edit = |f: &dyn Fn(&mut serde_json::Map<String, serde_json::Value>)| {
            let mut doc = base.clone();
            f(doc.as_object_mut().unwrap());
            doc
        };
        // Optional endpoints follow the capabilities.
        check(
            "https://id.example.com",
            Capabilities {
                registration: false,
                device_authorization: false,
                pushed_authorization_requests: true,
                frontchannel_logout: true,
                ..Capabilities::default()
            },
            Ok(edit(&|doc| {
                doc.remove("registration_endpoint");
                doc.remove("device_authorization_endpoint");
                doc.insert(
                    "pushed_authorization_request_endpoint".into(),
                    "https://id.example.com/oauth2/par".into(),
                );
                doc.insert(
                    "grant_types_supported".into(),
                    serde_json::json!([
                        "authorization_code",
                        "refresh_token",
                        "client_credentials"
                    ]),
                );
                doc.insert("frontchannel_logout_supported".into(), true.into());
                doc.insert("frontchannel_logout_session_supported".into(), true.into());
            })),
        );
        // RS256 is mandatory and always first.
        let algs = |a: &[Algorithm]| Capabilities {
            signing_algorithms: a.to_vec(),
            ..Capabilities::default()
        };
        check(
            "https://id.example.com",
            algs(&[Algorithm::ES256]),
            Err(DiscoveryError::MissingRs256),
        );
        let rs_only = ProviderMetadata::new(
            "https://id.example.com",
            &algs(&[Algorithm::EdDSA, Algorithm::RS256]),
        )
        .unwrap();
        assert_eq!(
            rs_only.id_token_signing_alg_values_supported,
            ["RS256", "EdDSA"]
        );
        // Issuers with a path keep it, and endpoints hang below it.
        let tenant =
            ProviderMetadata::new("https://id.example.com/t/acme", &Capabilities::default())
                .unwrap();
        assert_eq!(tenant.issuer, "https://id.example.com/t/acme");
        assert_eq!(
            tenant.token_endpoint,
            "https://id.example.com/t/acme/oauth2/token"
        );
        let local =
            ProviderMetadata::new("http://127.0.0.1:8080", &Capabilities::default()).unwrap();
        assert_eq!(local.jwks_uri, "http://127.0.0.1:8080/oauth2/jwks");
        for bad in [
            "http://id.example.com",
            "https://id.example.com?x=1",
            "https://id.example.com#f",
            "id.example.com",
            "https://u@id.example.com",
            "mailto:a@b.c",
        ] {
            check(
                bad,
                Capabilities::default(),
                Err(DiscoveryError::InvalidIssuer),
            );
        }
    }
}
