//! SAML 2.0 service providers, their pending sign-ins and their
//! participation in SSO sessions (for single logout).

use serde::{Deserialize, Serialize};

use crate::clock::Millis;
use crate::ids::{OrgId, ServiceProviderId, SessionId};
use crate::secret::TokenHash;

/// A registered service provider. Its users sign in against its org.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceProvider {
    pub id: ServiceProviderId,
    pub org_id: OrgId,
    /// The SP's `entityID`, unique in the instance: it is the audience.
    pub entity_id: String,
    pub settings: SpSettings,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub version: i64,
}

/// An assertion consumer service (where responses are posted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcsEndpoint {
    pub location: String,
    /// Only the HTTP-POST binding is served.
    #[serde(default = "post_binding")]
    pub binding: String,
    #[serde(default)]
    pub index: u16,
    #[serde(default)]
    pub is_default: bool,
}

/// The SP's single logout service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SloEndpoint {
    pub location: String,
    /// HTTP-Redirect or HTTP-POST.
    #[serde(default = "redirect_binding")]
    pub binding: String,
    /// Where logout responses go, when not `location`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_location: Option<String>,
}

fn post_binding() -> String {
    "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST".to_owned()
}

fn redirect_binding() -> String {
    "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect".to_owned()
}

/// Which user field the NameID carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NameIdSource {
    /// The user id (stable, opaque): right for `persistent`.
    Id,
    Username,
    Email,
}

/// One SAML attribute and where its values come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttributeMapping {
    /// The attribute `Name` sent.
    pub name: String,
    /// `id`, `username`, `email`, `given_name`, `family_name`, `name`,
    /// `groups`, or `attributes.<key>` (a custom attribute).
    pub source: String,
    /// For `groups`: only groups whose name starts with this prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_prefix: Option<String>,
}

/// Everything configurable about a service provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpSettings {
    /// A display name for the sign-in page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub assertion_consumer_services: Vec<AcsEndpoint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub single_logout_service: Option<SloEndpoint>,
    /// Base64 DER certificates that verify the SP's requests.
    #[serde(default)]
    pub signing_certificates: Vec<String>,
    /// Base64 DER certificates for encrypted assertions (kept; encryption is not offered yet).
    #[serde(default)]
    pub encryption_certificates: Vec<String>,
    /// The NameID format sent (default persistent).
    #[serde(default = "persistent")]
    pub name_id_format: String,
    #[serde(default = "id_source")]
    pub name_id_source: NameIdSource,
    #[serde(default)]
    pub attributes: Vec<AttributeMapping>,
    /// Refuse AuthnRequests and LogoutRequests that are not signed.
    #[serde(default)]
    pub authn_requests_signed: bool,
    #[serde(default = "yes")]
    pub sign_response: bool,
    #[serde(default = "yes")]
    pub sign_assertion: bool,
    /// Seconds an assertion is valid (1–3600; default 300).
    #[serde(default = "lifetime")]
    pub assertion_lifetime_secs: u32,
    /// Whether `/saml/sso?sp=<entityID>` may start an unsolicited response.
    #[serde(default = "yes")]
    pub idp_initiated: bool,
    /// RelayState of IdP-initiated responses, when none is asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_relay_state: Option<String>,
}

fn persistent() -> String {
    "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent".to_owned()
}
fn id_source() -> NameIdSource {
    NameIdSource::Id
}
fn yes() -> bool {
    true
}
fn lifetime() -> u32 {
    300
}

/// A validated AuthnRequest (or IdP-initiated start) waiting for sign-in,
/// found by a random handle whose hash is stored; spent when answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamlPending {
    pub handle_hash: TokenHash,
    pub sp_id: ServiceProviderId,
    /// `InResponseTo`; `None` for IdP-initiated.
    pub request_id: Option<String>,
    pub acs_url: String,
    pub relay_state: Option<String>,
    pub force_authn: bool,
    pub is_passive: bool,
    pub created_at: Millis,
    pub expires_at: Millis,
}

/// An SP a session signed in to, with the SessionIndex and NameID sent,
/// which its LogoutRequest names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamlParticipant {
    pub session_id: SessionId,
    pub sp_id: ServiceProviderId,
    pub session_index: String,
    pub name_id: String,
    pub name_id_format: String,
    pub created_at: Millis,
}
