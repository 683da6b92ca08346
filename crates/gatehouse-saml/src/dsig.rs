//! XML-DSig enveloped signatures, RSA-SHA256 with exclusive C14N only.
//!
//! Signing: [`sign_enveloped`] digests the canonical form of one of our
//! [`Element`]s, signs the canonical `<ds:SignedInfo>` through a caller's
//! RSA-SHA256 function (aws-lc-rs holds the key) and inserts the
//! `<ds:Signature>` into the element.
//!
//! Verifying: [`verify_enveloped`] checks the signature on the element the
//! caller is about to consume, never one found elsewhere. Signature wrapping
//! defence (the element consumed is the element the signature references):
//! the `<ds:Signature>` must be a direct child of that element, its single
//! `<ds:Reference>` must name that element's `ID`, and that `ID` must be
//! unique in the document. Only the enveloped-signature and exc-c14n
//! transforms, SHA-256 digests and RSA-SHA256 signatures are accepted; the
//! verification key comes from the SP's registered certificate, never from
//! the message's `<ds:KeyInfo>`.

use aws_lc_rs::{digest, signature};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use roxmltree::{Document, Node};

use crate::error::{Result, SamlError};
use crate::ns::DS;
use crate::tree::Element;
use crate::x509::RsaPublicKey;
use crate::xml;

pub const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
pub const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
pub const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";

/// Signs with the IdP's RSA key: PKCS#1 v1.5 with SHA-256 over the input.
pub type Signer<'a> = &'a dyn Fn(&[u8]) -> Result<Vec<u8>>;

fn ds(name: &'static str) -> Element {
    Element::new("ds", DS, name)
}

/// Signs `element` (whose `ID` attribute the reference names) and inserts the
/// `<ds:Signature>` as its child at `position` (after `<saml:Issuer>`, per
/// the SAML schema). `certificate` (DER) goes into `<ds:KeyInfo>`.
pub fn sign_enveloped(
    element: &mut Element,
    position: usize,
    sign: Signer<'_>,
    certificate: &[u8],
) -> Result<()> {
    let id = element
        .attribute("ID")
        .ok_or_else(|| SamlError::Invalid("the signed element has no ID".into()))?
        .to_owned();
    let digest = digest::digest(&digest::SHA256, element.canonical().as_bytes());
    let signed_info = ds("SignedInfo")
        .child(ds("CanonicalizationMethod").attr("Algorithm", EXC_C14N))
        .child(ds("SignatureMethod").attr("Algorithm", RSA_SHA256))
        .child(
            ds("Reference")
                .attr("URI", format!("#{id}"))
                .child(
                    ds("Transforms")
                        .child(ds("Transform").attr("Algorithm", ENVELOPED))
                        .child(ds("Transform").attr("Algorithm", EXC_C14N)),
                )
                .child(ds("DigestMethod").attr("Algorithm", SHA256))
                .child(ds("DigestValue").text(STANDARD.encode(digest.as_ref()))),
        );
    let signature_value = sign(signed_info.canonical().as_bytes())?;
    let signature =
        ds("Signature")
            .child(signed_info)
            .child(ds("SignatureValue").text(STANDARD.encode(signature_value)))
            .child(ds("KeyInfo").child(
                ds("X509Data").child(ds("X509Certificate").text(STANDARD.encode(certificate))),
            ));
    element.insert(position, signature);
    Ok(())
}

/// Whether `element` carries a `<ds:Signature>` child.
pub fn is_signed(element: Node<'_, '_>) -> bool {
    xml::child(element, DS, "Signature").is_some()
}

fn algorithm<'a>(node: Option<Node<'a, '_>>) -> Option<&'a str> {
    node.and_then(|n| n.attribute("Algorithm"))
}

/// Verifies the enveloped signature of `element` with one of `keys`.
/// `Unsigned` when it has none.
pub fn verify_enveloped(
    doc: &Document<'_>,
    element: Node<'_, '_>,
    keys: &[RsaPublicKey],
) -> Result<()> {
    let bad = |why: &str| SamlError::Signature(why.to_owned());
    let signature = xml::single_child(element, DS, "Signature")?.ok_or(SamlError::Unsigned)?;
    let id = element
        .attribute("ID")
        .ok_or_else(|| bad("the signed element has no ID"))?;
    if xml::elements_with_id(doc, id).count() != 1 {
        return Err(bad("the signed element's ID is not unique"));
    }
    let signed_info =
        xml::single_child(signature, DS, "SignedInfo")?.ok_or_else(|| bad("no SignedInfo"))?;
    if algorithm(xml::child(signed_info, DS, "CanonicalizationMethod")) != Some(EXC_C14N) {
        return Err(bad("canonicalization must be exclusive C14N"));
    }
    if algorithm(xml::child(signed_info, DS, "SignatureMethod")) != Some(RSA_SHA256) {
        return Err(bad("the signature method must be RSA-SHA256"));
    }
    let mut references = xml::children(signed_info, DS, "Reference");
    let reference = references.next().ok_or_else(|| bad("no Reference"))?;
    if references.next().is_some() {
        return Err(bad("more than one Reference"));
    }
    if reference.attribute("URI") != Some(&format!("#{id}")) {
        return Err(bad("the Reference does not name the element consumed"));
    }
    let mut inclusive: Vec<&str> = Vec::new();
    let mut enveloped = false;
    let mut canonical = false;
    if let Some(transforms) = xml::single_child(reference, DS, "Transforms")? {
        for transform in transforms.children().filter(|n| n.is_element()) {
            if !xml::is(transform, DS, "Transform") {
                return Err(bad("unexpected element in Transforms"));
            }
            match transform.attribute("Algorithm") {
                Some(ENVELOPED) if !enveloped && !canonical => enveloped = true,
                Some(EXC_C14N) if !canonical => {
                    canonical = true;
                    if let Some(list) = transform
                        .children()
                        .find(|n| n.is_element() && n.tag_name().name() == "InclusiveNamespaces")
                    {
                        inclusive = list
                            .attribute("PrefixList")
                            .unwrap_or("")
                            .split_whitespace()
                            .collect();
                    }
                }
                _ => {
                    return Err(bad(
                        "only the enveloped-signature and exc-c14n transforms are accepted",
                    ));
                }
            }
        }
    }
    if !enveloped {
        return Err(bad("the enveloped-signature transform is missing"));
    }
    if algorithm(xml::child(reference, DS, "DigestMethod")) != Some(SHA256) {
        return Err(bad("the digest method must be SHA-256"));
    }
    let digest_value = xml::child(reference, DS, "DigestValue")
        .map(xml::text)
        .ok_or_else(|| bad("no DigestValue"))?;
    let expected = decode_base64(&digest_value).map_err(|_| bad("DigestValue is not base64"))?;
    let digest = digest::digest(
        &digest::SHA256,
        crate::c14n::canonicalize(element, Some(signature.id()), &inclusive).as_bytes(),
    );
    if digest.as_ref() != expected.as_slice() {
        return Err(bad("the digest does not match"));
    }
    let signature_value = xml::single_child(signature, DS, "SignatureValue")?
        .map(xml::text)
        .ok_or_else(|| bad("no SignatureValue"))?;
    let signature_value =
        decode_base64(&signature_value).map_err(|_| bad("SignatureValue is not base64"))?;
    let signed = crate::c14n::canonicalize(signed_info, None, &[]);
    verify_rsa_sha256(keys, signed.as_bytes(), &signature_value)
}

/// Parses `text` and verifies the enveloped signature of its root element,
/// the element a protocol message is consumed from.
pub fn verify_root(text: &str, keys: &[RsaPublicKey]) -> Result<()> {
    let doc = xml::parse(text)?;
    verify_enveloped(&doc, doc.root_element(), keys)
}

/// Checks an RSA-SHA256 (PKCS#1 v1.5) signature against any of `keys`.
pub fn verify_rsa_sha256(
    keys: &[RsaPublicKey],
    message: &[u8],
    signature_value: &[u8],
) -> Result<()> {
    let verified = keys.iter().any(|key| {
        signature::UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, key.der())
            .verify(message, signature_value)
            .is_ok()
    });
    if verified {
        Ok(())
    } else {
        Err(SamlError::Signature("the signature does not verify".into()))
    }
}

/// Base64 with the line breaks and spaces XML carries.
pub(crate) fn decode_base64(text: &str) -> std::result::Result<Vec<u8>, base64::DecodeError> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD.decode(compact)
}
