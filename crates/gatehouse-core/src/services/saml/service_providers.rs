//! Registering service providers: from their metadata XML or from JSON
//! settings; read, list, merge-patch and delete. Every change is audited in
//! the same transaction.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use gatehouse_saml::x509::RsaPublicKey;
use gatehouse_saml::{bindings, metadata};
use serde_json::{Value, json};

use super::Saml;
use crate::error::{Error, FieldError, Result};
use crate::ids::{OrgId, ServiceProviderId};
use crate::model::{AcsEndpoint, NameIdSource, ServiceProvider, SloEndpoint, SpSettings};
use crate::services::audit::Target;
use crate::services::principal::{AdminPrincipal, RequestContext};

/// Attribute sources an [`crate::model::AttributeMapping`] may name.
const SOURCES: [&str; 7] = [
    "id",
    "username",
    "email",
    "given_name",
    "family_name",
    "name",
    "groups",
];

/// A service provider to register.
#[derive(Debug, Clone)]
pub struct NewServiceProvider {
    pub org_id: Option<OrgId>,
    pub entity_id: String,
    pub settings: SpSettings,
}

impl NewServiceProvider {
    /// From SP metadata XML (`application/samlmetadata+xml`).
    pub fn from_metadata(xml: &str, org_id: Option<OrgId>) -> Result<Self> {
        let parsed = metadata::parse_sp(xml).map_err(|e| super::invalid("metadata", &e))?;
        // SAML 2.0 Profiles §4.1.2: responses never travel on HTTP-Redirect.
        if parsed
            .assertion_consumer_services
            .iter()
            .any(|e| e.binding == bindings::REDIRECT)
        {
            return Err(redirect_acs());
        }
        let acs = parsed
            .assertion_consumer_services
            .iter()
            .filter(|e| e.binding == bindings::POST)
            .map(|e| AcsEndpoint {
                location: e.location.clone(),
                binding: e.binding.clone(),
                index: e.index.unwrap_or(0),
                is_default: e.is_default,
            })
            .collect();
        let slo = parsed
            .single_logout_services
            .iter()
            .find(|e| e.binding == bindings::REDIRECT || e.binding == bindings::POST)
            .map(|e| SloEndpoint {
                location: e.location.clone(),
                binding: e.binding.clone(),
                response_location: e.response_location.clone(),
            });
        let name_id_format = parsed
            .name_id_formats
            .iter()
            .find(|f| gatehouse_saml::name_id_format::ALL.contains(&f.as_str()))
            .cloned()
            .unwrap_or_else(|| gatehouse_saml::name_id_format::PERSISTENT.to_owned());
        let name_id_source = if name_id_format == gatehouse_saml::name_id_format::EMAIL {
            NameIdSource::Email
        } else {
            NameIdSource::Id
        };
        let mut settings: SpSettings = serde_json::from_value(json!({
            "assertion_consumer_services": [],
        }))
        .map_err(|e| Error::Internal(e.to_string()))?;
        settings.assertion_consumer_services = acs;
        settings.single_logout_service = slo;
        settings.signing_certificates = parsed
            .signing_certificates
            .iter()
            .map(|c| STANDARD.encode(c))
            .collect();
        settings.encryption_certificates = parsed
            .encryption_certificates
            .iter()
            .map(|c| STANDARD.encode(c))
            .collect();
        settings.name_id_format = name_id_format;
        settings.name_id_source = name_id_source;
        settings.authn_requests_signed = parsed.authn_requests_signed;
        Ok(Self {
            org_id,
            entity_id: parsed.entity_id,
            settings,
        })
    }
}

impl Saml {
    /// Registers a service provider (`service_provider.created`).
    pub async fn create(
        &self,
        who: &AdminPrincipal,
        ctx: &RequestContext,
        new: NewServiceProvider,
    ) -> Result<ServiceProvider> {
        let org = who.target_org(new.org_id).ok_or(Error::NotFound("org"))?;
        validate(&new.entity_id, &new.settings)?;
        let d = &self.deps;
        if d.store.get_org(org).await?.is_none() {
            return Err(Error::NotFound("org"));
        }
        let now = d.clock.now_millis();
        let sp = ServiceProvider {
            id: ServiceProviderId::generate(d.clock.as_ref(), d.rng.as_ref()),
            org_id: org,
            entity_id: new.entity_id,
            settings: new.settings,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let audit = d.audit(
            who.actor(),
            ctx,
            "service_provider.created",
            target(&sp),
            json!({ "entity_id": sp.entity_id }),
        );
        d.store
            .create_service_provider(&sp, &audit)
            .await
            .map_err(|e| Error::duplicate("service provider", e))?;
        Ok(sp)
    }

    pub async fn get(
        &self,
        who: &AdminPrincipal,
        id: ServiceProviderId,
    ) -> Result<ServiceProvider> {
        self.deps
            .store
            .get_service_provider(id)
            .await?
            .filter(|sp| who.can_access(sp.org_id))
            .ok_or(Error::NotFound("service provider"))
    }

    pub async fn list(&self, who: &AdminPrincipal) -> Result<Vec<ServiceProvider>> {
        Ok(self
            .deps
            .store
            .list_service_providers(who.org_filter())
            .await?)
    }

    /// Applies a JSON merge patch (RFC 7396) to `entity_id` and the settings.
    /// `if_match`: the version the change is based on (412 when stale).
    pub async fn update(
        &self,
        who: &AdminPrincipal,
        ctx: &RequestContext,
        id: ServiceProviderId,
        patch: Value,
        if_match: Option<i64>,
    ) -> Result<ServiceProvider> {
        let current = self.get(who, id).await?;
        if if_match.is_some_and(|v| v != current.version) {
            return Err(Error::PreconditionFailed);
        }
        let mut document =
            serde_json::to_value(&current.settings).map_err(|e| Error::Internal(e.to_string()))?;
        if let Value::Object(map) = &mut document {
            map.insert("entity_id".into(), Value::String(current.entity_id.clone()));
        }
        merge(&mut document, &patch);
        let (entity_id, settings) = split(document)?;
        validate(&entity_id, &settings)?;
        let d = &self.deps;
        let updated = ServiceProvider {
            entity_id,
            settings,
            updated_at: d.clock.now_millis(),
            ..current
        };
        let audit = d.audit(
            who.actor(),
            ctx,
            "service_provider.updated",
            target(&updated),
            json!({ "entity_id": updated.entity_id }),
        );
        d.store
            .update_service_provider(&updated, &audit)
            .await
            .map_err(|e| Error::duplicate("service provider", e))
    }

    pub async fn delete(
        &self,
        who: &AdminPrincipal,
        ctx: &RequestContext,
        id: ServiceProviderId,
    ) -> Result<()> {
        let sp = self.get(who, id).await?;
        let audit = self.deps.audit(
            who.actor(),
            ctx,
            "service_provider.deleted",
            target(&sp),
            json!({ "entity_id": sp.entity_id }),
        );
        if !self.deps.store.delete_service_provider(id, &audit).await? {
            return Err(Error::NotFound("service provider"));
        }
        Ok(())
    }
}

/// Splits a JSON body into the entity ID and the settings (unknown members refused).
pub fn split(mut body: Value) -> Result<(String, SpSettings)> {
    let entity_id = match body.as_object_mut().and_then(|m| m.remove("entity_id")) {
        Some(Value::String(s)) => s,
        Some(_) => {
            return Err(Error::invalid(
                "entity_id",
                "invalid_type",
                "must be a string",
            ));
        }
        None => return Err(Error::invalid("entity_id", "required", "is required")),
    };
    let settings = serde_json::from_value(body)
        .map_err(|e| Error::invalid("settings", "invalid_value", e.to_string()))?;
    Ok((entity_id, settings))
}

fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

fn validate(entity_id: &str, s: &SpSettings) -> Result<()> {
    let mut errors = Vec::new();
    let mut bad =
        |field: &str, message: &str| errors.push(FieldError::new(field, "invalid_value", message));
    if entity_id.trim().is_empty() || entity_id.len() > 1024 {
        bad("entity_id", "must have 1 to 1024 characters");
    }
    if s.assertion_consumer_services.is_empty() {
        bad("assertion_consumer_services", "at least one is required");
    }
    let http = |u: &str| u.starts_with("https://") || u.starts_with("http://");
    for acs in &s.assertion_consumer_services {
        if !http(&acs.location) {
            bad(
                "assertion_consumer_services",
                "locations must be http(s) URLs",
            );
        }
        if acs.binding == bindings::REDIRECT {
            return Err(redirect_acs());
        }
        if acs.binding != bindings::POST {
            bad(
                "assertion_consumer_services",
                "only the HTTP-POST binding is supported",
            );
        }
    }
    if s.encrypt_assertions && s.encryption_certificates.is_empty() {
        bad("encrypt_assertions", "needs an encryption certificate");
    }
    if gatehouse_saml::xmlenc::ContentCipher::from_uri(&s.encryption_method).is_none() {
        bad(
            "encryption_method",
            "must be http://www.w3.org/2009/xmlenc11#aes256-gcm, http://www.w3.org/2001/04/xmlenc#aes128-cbc or http://www.w3.org/2001/04/xmlenc#aes256-cbc",
        );
    }
    if let Some(slo) = &s.single_logout_service {
        if !http(&slo.location) || slo.response_location.as_deref().is_some_and(|r| !http(r)) {
            bad("single_logout_service", "locations must be http(s) URLs");
        }
        if slo.binding != bindings::POST && slo.binding != bindings::REDIRECT {
            bad(
                "single_logout_service",
                "the binding must be HTTP-Redirect or HTTP-POST",
            );
        }
    }
    for cert in s
        .signing_certificates
        .iter()
        .chain(&s.encryption_certificates)
    {
        let ok = STANDARD
            .decode(cert)
            .ok()
            .is_some_and(|der| RsaPublicKey::from_certificate(&der).is_ok());
        if !ok {
            bad(
                "signing_certificates",
                "each must be a base64 DER X.509 certificate with an RSA key of 2048 bits or more",
            );
        }
    }
    if s.authn_requests_signed && s.signing_certificates.is_empty() {
        bad("authn_requests_signed", "needs a signing certificate");
    }
    if !gatehouse_saml::name_id_format::ALL.contains(&s.name_id_format.as_str()) {
        bad("name_id_format", "is not a supported NameID format");
    }
    if !(1..=3600).contains(&s.assertion_lifetime_secs) {
        bad("assertion_lifetime_secs", "must be between 1 and 3600");
    }
    for mapping in &s.attributes {
        let known =
            SOURCES.contains(&mapping.source.as_str()) || mapping.source.starts_with("attributes.");
        if mapping.name.is_empty() || !known {
            bad("attributes", "each needs a name and a known source");
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(errors))
    }
}

/// The code of the refusal of an HTTP-Redirect ACS, which the admin API
/// answers with 400 (the request asks for something the profile forbids).
pub const REDIRECT_ACS: &str = "redirect_binding_forbidden";

/// SAML 2.0 Profiles §4.1.2: the Web Browser SSO profile forbids
/// HTTP-Redirect for `<samlp:Response>` (an assertion does not fit a URL).
fn redirect_acs() -> Error {
    Error::invalid(
        "assertion_consumer_services",
        REDIRECT_ACS,
        "an assertion consumer service cannot use the HTTP-Redirect binding: the Web Browser SSO profile (SAML 2.0 Profiles §4.1.2) sends responses only by HTTP-POST",
    )
}

fn target(sp: &ServiceProvider) -> Target {
    Target::new("service_provider", sp.id, Some(sp.org_id))
}
