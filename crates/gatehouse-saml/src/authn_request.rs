//! `<samlp:AuthnRequest>` (SAML 2.0 Core §3.4.1), parsed into what the IdP
//! decides on. Signatures are checked by the caller once it knows the SP:
//! [`crate::binding::RedirectMessage::verify`] or [`crate::dsig::verify_root`].

use crate::authn_context::{Comparison, RequestedAuthnContext};
use crate::dsig;
use crate::error::{Result, SamlError};
use crate::ns::{SAML, SAMLP};
use crate::xml;

/// An authentication request, as far as the IdP uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthnRequest {
    pub id: String,
    pub issuer: String,
    pub destination: Option<String>,
    pub assertion_consumer_service_url: Option<String>,
    pub assertion_consumer_service_index: Option<u16>,
    pub protocol_binding: Option<String>,
    pub force_authn: bool,
    pub is_passive: bool,
    pub name_id_format: Option<String>,
    /// `RequestedAuthnContext`, if the SP sent one.
    pub requested_authn_context: Option<RequestedAuthnContext>,
    /// Whether the XML carries an enveloped signature (POST binding).
    pub signed: bool,
}

impl AuthnRequest {
    /// Parses the XML (no signature check).
    pub fn parse(text: &str) -> Result<Self> {
        let doc = xml::parse(text)?;
        let root = doc.root_element();
        if !xml::is(root, SAMLP, "AuthnRequest") {
            return Err(SamlError::Invalid("not a samlp:AuthnRequest".into()));
        }
        if xml::required(root, "Version")? != "2.0" {
            return Err(SamlError::Invalid("Version must be 2.0".into()));
        }
        let signed = dsig::is_signed(root);
        let id = xml::required(root, "ID")?.to_owned();
        if id.is_empty() || id.len() > 256 {
            return Err(SamlError::Invalid(
                "ID must have 1 to 256 characters".into(),
            ));
        }
        let issuer = xml::single_child(root, SAML, "Issuer")?
            .map(xml::text)
            .filter(|i| !i.is_empty())
            .ok_or_else(|| SamlError::Invalid("no Issuer".into()))?;
        let requested_authn_context = xml::child(root, SAMLP, "RequestedAuthnContext")
            .map(|rac| {
                let comparison = match rac.attribute("Comparison") {
                    None => Comparison::Exact,
                    Some(c) => Comparison::parse(c).ok_or_else(|| {
                        SamlError::Invalid("RequestedAuthnContext has a bad Comparison".into())
                    })?,
                };
                let classes: Vec<String> = xml::children(rac, SAML, "AuthnContextClassRef")
                    .map(xml::text)
                    .collect();
                Ok::<_, SamlError>(RequestedAuthnContext {
                    comparison,
                    classes,
                })
            })
            .transpose()?;
        Ok(Self {
            id,
            issuer,
            destination: root.attribute("Destination").map(str::to_owned),
            assertion_consumer_service_url: root
                .attribute("AssertionConsumerServiceURL")
                .map(str::to_owned),
            assertion_consumer_service_index: root
                .attribute("AssertionConsumerServiceIndex")
                .map(|i| {
                    i.parse()
                        .map_err(|_| SamlError::Invalid("bad AssertionConsumerServiceIndex".into()))
                })
                .transpose()?,
            protocol_binding: root.attribute("ProtocolBinding").map(str::to_owned),
            force_authn: xml::boolean(root, "ForceAuthn", false)?,
            is_passive: xml::boolean(root, "IsPassive", false)?,
            name_id_format: xml::child(root, SAMLP, "NameIDPolicy")
                .and_then(|p| p.attribute("Format"))
                .map(str::to_owned),
            requested_authn_context,
            signed,
        })
    }
}
