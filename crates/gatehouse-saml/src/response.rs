//! `<samlp:Response>` carrying one `<saml:Assertion>` (SAML 2.0 Core §2, §3.2;
//! Profiles §4.1.4.2 for what Web Browser SSO requires of it).

use crate::dsig::{Signer, sign_enveloped};
use crate::error::Result;
use crate::ns::{SAML, SAMLP};
use crate::status;
use crate::time::date_time;
use crate::tree::Element;
use crate::xmlenc::{self, ContentCipher, Material, Recipient};

const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
const ATTRNAME_BASIC: &str = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic";

pub(crate) fn saml(name: &'static str) -> Element {
    Element::new("saml", SAML, name)
}

pub(crate) fn samlp(name: &'static str) -> Element {
    Element::new("samlp", SAMLP, name)
}

/// One attribute of the `<saml:AttributeStatement>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub name: String,
    pub values: Vec<String>,
}

/// The IdP's signing material: an RSA-SHA256 function and the certificate
/// (DER) published for its key.
#[derive(Clone, Copy)]
pub struct Signing<'a> {
    pub sign: Signer<'a>,
    pub certificate: &'a [u8],
}

impl std::fmt::Debug for Signing<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signing")
    }
}

/// The protocol envelope.
#[derive(Debug, Clone)]
pub struct Envelope<'a> {
    pub id: &'a str,
    pub issuer: &'a str,
    /// The ACS URL the response is posted to.
    pub destination: &'a str,
    pub in_response_to: Option<&'a str>,
    /// Unix seconds.
    pub issue_instant: i64,
}

/// The assertion's content.
#[derive(Debug, Clone)]
pub struct Assertion<'a> {
    pub id: &'a str,
    pub audience: &'a str,
    pub name_id: &'a str,
    pub name_id_format: &'a str,
    pub session_index: &'a str,
    /// When the user authenticated (unix seconds).
    pub authn_instant: i64,
    pub authn_context: &'a str,
    pub attributes: &'a [Attribute],
    /// `NotBefore` is `issue_instant - skew`.
    pub skew: i64,
    /// `NotOnOrAfter` is `issue_instant + lifetime`.
    pub lifetime: i64,
    /// When the SSO session ends, if known.
    pub session_not_on_or_after: Option<i64>,
}

/// Encrypting the assertion for the SP (`<saml:EncryptedAssertion>`).
#[derive(Debug, Clone, Copy)]
pub struct Encryption<'a> {
    pub cipher: ContentCipher,
    pub recipient: Recipient<'a>,
    /// Fresh content key and IV.
    pub material: Material<'a>,
}

/// Which parts carry a signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignParts {
    pub response: bool,
    pub assertion: bool,
}

/// A successful response, signed as `parts` says. The assertion is signed
/// first, then encrypted when `encryption` is given, so a signed response
/// covers the (signed, encrypted) assertion.
pub fn success(
    envelope: &Envelope<'_>,
    assertion: &Assertion<'_>,
    parts: SignParts,
    signing: Signing<'_>,
    encryption: Option<Encryption<'_>>,
) -> Result<String> {
    let now = envelope.issue_instant;
    let not_on_or_after = date_time(now + assertion.lifetime);
    let mut confirmation_data = saml("SubjectConfirmationData")
        .attr("NotOnOrAfter", not_on_or_after.clone())
        .attr("Recipient", envelope.destination);
    if let Some(irt) = envelope.in_response_to {
        confirmation_data = confirmation_data.attr("InResponseTo", irt);
    }
    let subject = saml("Subject")
        .child(
            saml("NameID")
                .attr("Format", assertion.name_id_format)
                .attr("SPNameQualifier", assertion.audience)
                .text(assertion.name_id),
        )
        .child(
            saml("SubjectConfirmation")
                .attr("Method", BEARER)
                .child(confirmation_data),
        );
    let conditions = saml("Conditions")
        .attr("NotBefore", date_time(now - assertion.skew))
        .attr("NotOnOrAfter", not_on_or_after)
        .child(saml("AudienceRestriction").child(saml("Audience").text(assertion.audience)));
    let authn_statement = saml("AuthnStatement")
        .attr("AuthnInstant", date_time(assertion.authn_instant))
        .attr("SessionIndex", assertion.session_index)
        .attr_opt(
            "SessionNotOnOrAfter",
            assertion.session_not_on_or_after.map(date_time),
        )
        .child(
            saml("AuthnContext").child(saml("AuthnContextClassRef").text(assertion.authn_context)),
        );
    let mut element = saml("Assertion")
        .attr("ID", assertion.id)
        .attr("IssueInstant", date_time(now))
        .attr("Version", "2.0")
        .child(saml("Issuer").text(envelope.issuer))
        .child(subject)
        .child(conditions)
        .child(authn_statement);
    if !assertion.attributes.is_empty() {
        element = element.child(saml("AttributeStatement").children(
            assertion.attributes.iter().map(|a| {
                saml("Attribute")
                    .attr("Name", a.name.clone())
                    .attr("NameFormat", ATTRNAME_BASIC)
                    .children(
                        a.values
                            .iter()
                            .map(|v| saml("AttributeValue").text(v.clone())),
                    )
            }),
        ));
    }
    if parts.assertion {
        sign_enveloped(&mut element, 1, signing.sign, signing.certificate)?;
    }
    if let Some(encryption) = encryption {
        element = xmlenc::encrypt_assertion(
            &element,
            encryption.cipher,
            encryption.recipient,
            encryption.material,
        )?;
    }
    render(
        envelope,
        status::SUCCESS,
        None,
        Some(element),
        parts.response.then_some(signing),
    )
}

/// A response without an assertion: `status` with an optional second-level code.
pub fn failure(
    envelope: &Envelope<'_>,
    status: &str,
    sub_status: Option<&str>,
    signing: Signing<'_>,
) -> Result<String> {
    render(envelope, status, sub_status, None, Some(signing))
}

fn render(
    envelope: &Envelope<'_>,
    status: &str,
    sub_status: Option<&str>,
    assertion: Option<Element>,
    signing: Option<Signing<'_>>,
) -> Result<String> {
    let mut response = samlp("Response")
        .attr("ID", envelope.id)
        .attr("Version", "2.0")
        .attr("IssueInstant", date_time(envelope.issue_instant))
        .attr("Destination", envelope.destination)
        .attr_opt("InResponseTo", envelope.in_response_to)
        .child(saml("Issuer").text(envelope.issuer))
        .child(status_element(status, sub_status));
    if let Some(assertion) = assertion {
        response = response.child(assertion);
    }
    if let Some(signing) = signing {
        sign_enveloped(&mut response, 1, signing.sign, signing.certificate)?;
    }
    Ok(response.canonical())
}

/// `<samlp:Status>` with a top-level and an optional nested status code.
pub(crate) fn status_element(status: &str, sub_status: Option<&str>) -> Element {
    let mut code = samlp("StatusCode").attr("Value", status);
    if let Some(sub) = sub_status {
        code = code.child(samlp("StatusCode").attr("Value", sub));
    }
    samlp("Status").child(code)
}
