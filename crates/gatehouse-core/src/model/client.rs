//! OAuth 2.0 / OpenID Connect clients (relying parties). A client belongs to an
//! org; its users sign in against that org. Secrets are high-entropy and stored
//! only as SHA-256 hashes (compared in constant time), never as password hashes:
//! the token endpoint checks one on every request.

use serde::{Deserialize, Serialize};

use crate::clock::Millis;
use crate::ids::OrgId;
use crate::secret::TokenHash;

/// `token_endpoint_auth_method` (RFC 7591 §2). `None` makes a public client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    PrivateKeyJwt,
    None,
}

impl ClientAuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::PrivateKeyJwt => "private_key_jwt",
            Self::None => "none",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "client_secret_basic" => Some(Self::ClientSecretBasic),
            "client_secret_post" => Some(Self::ClientSecretPost),
            "private_key_jwt" => Some(Self::PrivateKeyJwt),
            "none" => Some(Self::None),
            _ => None,
        }
    }

    /// Whether the method uses a shared secret.
    pub fn uses_secret(self) -> bool {
        matches!(self, Self::ClientSecretBasic | Self::ClientSecretPost)
    }
}

/// A grant type a client may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ClientGrant {
    #[serde(rename = "authorization_code")]
    AuthorizationCode,
    #[serde(rename = "refresh_token")]
    RefreshToken,
    #[serde(rename = "client_credentials")]
    ClientCredentials,
    #[serde(rename = "urn:ietf:params:oauth:grant-type:device_code")]
    DeviceCode,
}

impl ClientGrant {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
            Self::DeviceCode => "urn:ietf:params:oauth:grant-type:device_code",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "authorization_code" => Some(Self::AuthorizationCode),
            "refresh_token" => Some(Self::RefreshToken),
            "client_credentials" => Some(Self::ClientCredentials),
            "urn:ietf:params:oauth:grant-type:device_code" => Some(Self::DeviceCode),
            _ => None,
        }
    }
}

/// `subject_type` (OIDC Core §8): the same `sub` for every client, or one per
/// sector identifier so clients cannot correlate users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectType {
    Public,
    Pairwise,
}

/// Token lifetimes in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenLifetimes {
    pub access_token_secs: u32,
    pub id_token_secs: u32,
    /// Lifetime of each refresh token; rotation issues a new one with a fresh lifetime.
    pub refresh_token_secs: u32,
    /// The whole refresh-token family ends this long after the first sign-in.
    pub refresh_family_secs: u32,
}

impl Default for TokenLifetimes {
    fn default() -> Self {
        Self {
            access_token_secs: 300,
            id_token_secs: 300,
            refresh_token_secs: 30 * 24 * 3600,
            refresh_family_secs: 90 * 24 * 3600,
        }
    }
}

/// A registered OAuth client.
#[derive(Debug, Clone, PartialEq)]
pub struct Client {
    /// The public `client_id`: a UUIDv7 in text form, or a name given at registration.
    pub client_id: String,
    pub org_id: OrgId,
    /// `client_name`, shown on the consent page.
    pub name: String,
    pub auth_method: ClientAuthMethod,
    /// SHA-256 of the secret, for the `client_secret_*` methods.
    pub secret_hash: Option<TokenHash>,
    /// `client_secret_expires_at` (RFC 7591 §3.2.1); `None` never expires.
    pub secret_expires_at: Option<Millis>,
    /// Exact-match redirect URIs (loopback ports are flexible, RFC 8252 §7.3).
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<ClientGrant>,
    /// Scopes this client may request (`openid profile email …` and custom ones).
    pub allowed_scopes: Vec<String>,
    /// PKCE even for confidential clients (always required for public ones).
    pub require_pkce: bool,
    /// Ask the user before sharing data (first-party apps set this to false).
    pub require_consent: bool,
    pub lifetimes: TokenLifetimes,
    pub subject_type: SubjectType,
    /// Host of the redirect URIs, or `sector_identifier_uri`'s host, for pairwise subjects.
    pub sector_identifier: Option<String>,
    /// Public keys for `private_key_jwt` (a JWKS document), inline.
    pub jwks: Option<serde_json::Value>,
    /// `aud` of access tokens when no `resource` is requested (default: the client id).
    pub access_token_audience: Vec<String>,
    /// OIDC back-channel logout 1.0.
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: bool,
    /// Extra claims per scope: custom scope name → profile attribute names it releases.
    pub claim_mappings: serde_json::Value,
    /// SHA-256 of the RFC 7592 registration access token, for dynamically registered clients.
    pub registration_token_hash: Option<TokenHash>,
    /// Other RFC 7591 metadata kept as given (`client_uri`, `logo_uri`, `contacts`, …).
    pub metadata: serde_json::Value,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub version: i64,
}

impl Client {
    pub fn is_public(&self) -> bool {
        self.auth_method == ClientAuthMethod::None
    }

    pub fn allows_grant(&self, grant: ClientGrant) -> bool {
        self.grant_types.contains(&grant)
    }

    /// PKCE is required for public clients and for clients that ask for it.
    pub fn pkce_required(&self) -> bool {
        self.is_public() || self.require_pkce
    }
}

/// What lists of clients filter on.
#[derive(Debug, Clone, Default)]
pub struct ClientQuery {
    pub org_id: Option<OrgId>,
    pub after: Option<String>,
    pub limit: u32,
}
