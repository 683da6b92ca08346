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
    /// Base64 DER certificates for encrypted assertions; the first one is used.
    #[serde(default)]
    pub encryption_certificates: Vec<String>,
    /// Send `<saml:EncryptedAssertion>`: the signed assertion encrypted to
    /// the first encryption certificate (RSA-OAEP key transport).
    #[serde(default)]
    pub encrypt_assertions: bool,
    /// The content cipher: `http://www.w3.org/2009/xmlenc11#aes256-gcm`
    /// (default), or `http://www.w3.org/2001/04/xmlenc#aes128-cbc` /
    /// `…#aes256-cbc` for SPs without GCM.
    #[serde(default = "aes256_gcm")]
    pub encryption_method: String,
    /// Only users assigned to the SP, directly or through a group, may
    /// sign in to it (`/api/v1/saml/service-providers/{id}/assignments`).
    #[serde(default)]
    pub assignment_required: bool,
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

fn aes256_gcm() -> String {
    "http://www.w3.org/2009/xmlenc11#aes256-gcm".to_owned()
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
    /// The AuthnRequest's `RequestedAuthnContext`, if any.
    pub requested_authn_context: Option<RequestedContext>,
    pub created_at: Millis,
    pub expires_at: Millis,
}

/// A `RequestedAuthnContext` as stored with a pending sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestedContext {
    /// `exact`, `minimum`, `better` or `maximum`.
    pub comparison: String,
    /// `AuthnContextClassRef`s, in the SP's order of preference.
    pub classes: Vec<String>,
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

/// A front-channel single logout in progress (SAML 2.0 Profiles §4.4.3.2):
/// LogoutRequests to the SPs of an ended session, one at a time, then the
/// finish. Any node continues it: on the LogoutResponse (found by
/// `current_request_id`) or the page's "continue" link (by handle).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamlLogoutChain {
    /// A stable id (the row).
    pub id: String,
    /// SHA-256 of the "continue" handle; a fresh one at every step.
    pub handle_hash: TokenHash,
    /// The `ID` of the LogoutRequest outstanding; empty before the first.
    pub current_request_id: String,
    pub state: LogoutChainState,
    pub created_at: Millis,
    pub expires_at: Millis,
}

/// Where a logout chain is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogoutChainState {
    pub session_id: SessionId,
    /// SPs still to be sent a LogoutRequest.
    pub remaining: Vec<LogoutTarget>,
    /// The SP whose LogoutResponse is awaited.
    pub current: Option<LogoutTarget>,
    pub finish: LogoutFinish,
    /// LogoutRequests sent so far (bounded).
    pub steps: u32,
    /// Some SP did not confirm (skipped, failed status, or gone).
    pub partial: bool,
}

/// One SP of the session, as its LogoutRequest names the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogoutTarget {
    pub sp_id: ServiceProviderId,
    pub name_id: String,
    pub name_id_format: String,
    pub session_index: String,
}

/// How a logout chain ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LogoutFinish {
    /// A LogoutResponse to the SP whose LogoutRequest started it.
    Saml {
        sp_id: ServiceProviderId,
        in_response_to: String,
        relay_state: Option<String>,
    },
    /// A redirect (OIDC `post_logout_redirect_uri`).
    Redirect { url: String },
    /// The signed-out page.
    Page,
}
