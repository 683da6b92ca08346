//! SAML 2.0 Metadata: the IdP's `<md:EntityDescriptor>` we publish, and the
//! parts of a service provider's metadata we register.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::bindings::{POST, REDIRECT};
use crate::dsig::decode_base64;
use crate::error::{Result, SamlError};
use crate::ns::{DS, MD};
use crate::tree::Element;
use crate::x509::RsaPublicKey;
use crate::{name_id_format, xml};

fn md(name: &'static str) -> Element {
    Element::new("md", MD, name)
}

/// The IdP's metadata document.
#[derive(Debug, Clone)]
pub struct IdpMetadata<'a> {
    pub entity_id: &'a str,
    /// `/saml/sso`, absolute.
    pub sso_url: &'a str,
    /// `/saml/slo`, absolute.
    pub slo_url: &'a str,
    /// Signing certificates (DER): the active one first, then the next one.
    pub certificates: &'a [Vec<u8>],
}

impl IdpMetadata<'_> {
    pub fn render(&self) -> String {
        let keys = self.certificates.iter().map(|der| {
            md("KeyDescriptor").attr("use", "signing").child(
                Element::new("ds", DS, "KeyInfo").child(
                    Element::new("ds", DS, "X509Data").child(
                        Element::new("ds", DS, "X509Certificate").text(STANDARD.encode(der)),
                    ),
                ),
            )
        });
        let endpoint = |name, binding: &str, location: &str| {
            md(name).attr("Binding", binding).attr("Location", location)
        };
        let descriptor = md("IDPSSODescriptor")
            .attr("WantAuthnRequestsSigned", "false")
            .attr("protocolSupportEnumeration", crate::ns::SAMLP)
            .children(keys)
            .child(endpoint("SingleLogoutService", REDIRECT, self.slo_url))
            .child(endpoint("SingleLogoutService", POST, self.slo_url))
            .children(name_id_format::ALL.map(|f| md("NameIDFormat").text(f)))
            .child(endpoint("SingleSignOnService", REDIRECT, self.sso_url))
            .child(endpoint("SingleSignOnService", POST, self.sso_url));
        let document = md("EntityDescriptor")
            .attr("entityID", self.entity_id)
            .child(descriptor);
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}",
            document.canonical()
        )
    }
}

/// An assertion consumer service of an SP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub binding: String,
    pub location: String,
    /// For ACS endpoints.
    pub index: Option<u16>,
    pub is_default: bool,
    /// For SLO endpoints: where responses go, if not `location`.
    pub response_location: Option<String>,
}

/// What we take from an SP's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpMetadata {
    pub entity_id: String,
    pub assertion_consumer_services: Vec<Endpoint>,
    pub single_logout_services: Vec<Endpoint>,
    /// DER certificates with `use="signing"` or no `use`.
    pub signing_certificates: Vec<Vec<u8>>,
    /// DER certificates with `use="encryption"` or no `use`.
    pub encryption_certificates: Vec<Vec<u8>>,
    pub name_id_formats: Vec<String>,
    pub authn_requests_signed: bool,
    pub want_assertions_signed: bool,
}

/// Parses `<md:EntityDescriptor>` (or an `<md:EntitiesDescriptor>` holding
/// exactly one) with an `<md:SPSSODescriptor>`.
pub fn parse_sp(text: &str) -> Result<SpMetadata> {
    let doc = xml::parse(text)?;
    let mut entity = doc.root_element();
    if xml::is(entity, MD, "EntitiesDescriptor") {
        entity = xml::single_child(entity, MD, "EntityDescriptor")?
            .ok_or_else(|| SamlError::Invalid("no EntityDescriptor".into()))?;
    }
    if !xml::is(entity, MD, "EntityDescriptor") {
        return Err(SamlError::Invalid(
            "the root is not an md:EntityDescriptor".into(),
        ));
    }
    let entity_id = xml::required(entity, "entityID")?.trim().to_owned();
    if entity_id.is_empty() || entity_id.len() > 1024 {
        return Err(SamlError::Invalid(
            "entityID must have 1 to 1024 characters".into(),
        ));
    }
    let sp = xml::single_child(entity, MD, "SPSSODescriptor")?
        .ok_or_else(|| SamlError::Invalid("no SPSSODescriptor".into()))?;
    let mut signing_certificates = Vec::new();
    let mut encryption_certificates = Vec::new();
    for key in xml::children(sp, MD, "KeyDescriptor") {
        let der = key
            .descendants()
            .find(|n| xml::is(*n, DS, "X509Certificate"))
            .map(xml::text)
            .ok_or_else(|| SamlError::Invalid("a KeyDescriptor has no X509Certificate".into()))?;
        let der = decode_base64(&der)
            .map_err(|_| SamlError::Certificate("X509Certificate is not base64".into()))?;
        RsaPublicKey::from_certificate(&der)?;
        match key.attribute("use") {
            Some("signing") => signing_certificates.push(der),
            Some("encryption") => encryption_certificates.push(der),
            None => {
                signing_certificates.push(der.clone());
                encryption_certificates.push(der);
            }
            Some(_) => return Err(SamlError::Invalid("KeyDescriptor use is unknown".into())),
        }
    }
    let endpoint = |node: roxmltree::Node<'_, '_>| -> Result<Endpoint> {
        let location = xml::required(node, "Location")?.to_owned();
        if !(location.starts_with("https://") || location.starts_with("http://")) {
            return Err(SamlError::Invalid(
                "endpoint Locations must be http(s) URLs".into(),
            ));
        }
        let index = node
            .attribute("index")
            .map(|i| {
                i.parse::<u16>()
                    .map_err(|_| SamlError::Invalid("index is not a number".into()))
            })
            .transpose()?;
        Ok(Endpoint {
            binding: xml::required(node, "Binding")?.to_owned(),
            location,
            index,
            is_default: xml::boolean(node, "isDefault", false)?,
            response_location: node.attribute("ResponseLocation").map(str::to_owned),
        })
    };
    let assertion_consumer_services = xml::children(sp, MD, "AssertionConsumerService")
        .map(endpoint)
        .collect::<Result<Vec<_>>>()?;
    if assertion_consumer_services.is_empty() {
        return Err(SamlError::Invalid("no AssertionConsumerService".into()));
    }
    let single_logout_services = xml::children(sp, MD, "SingleLogoutService")
        .map(endpoint)
        .collect::<Result<Vec<_>>>()?;
    Ok(SpMetadata {
        entity_id,
        assertion_consumer_services,
        single_logout_services,
        signing_certificates,
        encryption_certificates,
        name_id_formats: xml::children(sp, MD, "NameIDFormat")
            .map(xml::text)
            .collect(),
        authn_requests_signed: xml::boolean(sp, "AuthnRequestsSigned", false)?,
        want_assertions_signed: xml::boolean(sp, "WantAssertionsSigned", false)?,
    })
}
