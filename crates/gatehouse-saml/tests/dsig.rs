//! Our XML-DSig verifier: what it accepts, and the signature-wrapping,
//! tampering and algorithm variants it must refuse.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use gatehouse_saml::authn_request::AuthnRequest;
use gatehouse_saml::binding::{Kind, RedirectMessage, redirect_url};
use gatehouse_saml::{SamlError, dsig};
use support::{TestKey, signed_authn_request};

const ACS: &str = "https://sp.example.com/acs";

fn check_rejected(xml: &str, key: &TestKey) {
    let result = dsig::verify_root(xml, &[key.public()]);
    assert!(
        matches!(
            result,
            Err(SamlError::Signature(_) | SamlError::Unsigned | SamlError::Invalid(_))
        ),
        "accepted: {xml}\n{result:?}"
    );
}

#[test]
fn own_signature_verifies_and_parses() {
    let key = TestKey::generate();
    let xml = signed_authn_request(&key, "_req1", ACS);
    dsig::verify_root(&xml, &[key.public()]).unwrap();
    let request = AuthnRequest::parse(&xml).unwrap();
    assert!(request.signed);
    assert_eq!(request.assertion_consumer_service_url.as_deref(), Some(ACS));
}

#[test]
fn wrong_key_rejected() {
    let key = TestKey::generate();
    let other = TestKey::generate();
    let xml = signed_authn_request(&key, "_req1", ACS);
    check_rejected(&xml, &other);
}

/// Changing a signed attribute breaks the digest.
#[test]
fn tampered_acs_rejected() {
    let key = TestKey::generate();
    let xml = signed_authn_request(&key, "_req1", ACS).replace(ACS, "https://evil.example/acs");
    check_rejected(&xml, &key);
}

/// XSW: a new root whose ID differs, wrapping the signed original. The
/// signature references the inner element, not the one consumed.
#[test]
fn wrapped_original_under_new_root_rejected() {
    let key = TestKey::generate();
    let signed = signed_authn_request(&key, "_orig", ACS);
    let signature_start = signed.find("<ds:Signature").unwrap();
    let signature_end = signed.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let signature = &signed[signature_start..signature_end];
    let original = signed.replace(signature, "");
    let forged = format!(
        "<samlp:AuthnRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" ID=\"_evil\" Version=\"2.0\" \
         AssertionConsumerServiceURL=\"https://evil.example/acs\">\
         <saml:Issuer xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\">https://sp.example.com</saml:Issuer>\
         {signature}<samlp:Extensions>{original}</samlp:Extensions></samlp:AuthnRequest>"
    );
    check_rejected(&forged, &key);
}

/// XSW: the consumed root keeps the signed ID, and a second element with the
/// same ID hides elsewhere. IDs must be unique.
#[test]
fn duplicate_id_rejected() {
    let key = TestKey::generate();
    let signed = signed_authn_request(&key, "_dup", ACS);
    let forged = signed.replace(
        "</samlp:AuthnRequest>",
        "<samlp:Extensions><x ID=\"_dup\"/></samlp:Extensions></samlp:AuthnRequest>",
    );
    check_rejected(&forged, &key);
}

/// A signature that is not a child of the consumed element does not count.
#[test]
fn signature_elsewhere_is_unsigned() {
    let key = TestKey::generate();
    let signed = signed_authn_request(&key, "_s", ACS);
    let start = signed.find("<ds:Signature").unwrap();
    let end = signed.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let signature = signed[start..end].to_owned();
    let moved = signed.replace(&signature, "").replace(
        "</samlp:NameIDPolicy>",
        &format!("</samlp:NameIDPolicy><samlp:Extensions>{signature}</samlp:Extensions>"),
    );
    assert_eq!(
        dsig::verify_root(&moved, &[key.public()]),
        Err(SamlError::Unsigned)
    );
}

/// Only RSA-SHA256 and exclusive C14N are accepted.
#[test]
fn other_algorithms_rejected() {
    let key = TestKey::generate();
    let signed = signed_authn_request(&key, "_a", ACS);
    let sha1 = signed.replace(
        dsig::RSA_SHA256,
        "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
    );
    check_rejected(&sha1, &key);
    let inclusive = signed.replacen(
        dsig::EXC_C14N,
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
        1,
    );
    check_rejected(&inclusive, &key);
}

/// Comments do not change the canonical form, so a comment in the signed
/// Issuer still verifies, and the Issuer read is the whole text.
#[test]
fn comment_in_issuer_reads_whole_text() {
    let key = TestKey::generate();
    let signed = signed_authn_request(&key, "_c", ACS).replace(
        "https://sp.example.com</saml:Issuer>",
        "https://sp.example.com<!-- x --></saml:Issuer>",
    );
    dsig::verify_root(&signed, &[key.public()]).unwrap();
    assert_eq!(
        AuthnRequest::parse(&signed).unwrap().issuer,
        "https://sp.example.com"
    );
}

#[test]
fn redirect_signature_over_raw_query() {
    let key = TestKey::generate();
    let xml = support::authn_request("_r", ACS).canonical();
    let url = redirect_url(
        "https://idp/saml/sso",
        Kind::Request,
        &xml,
        Some("state 1"),
        Some(&|d| key.sign(d)),
    )
    .unwrap();
    let query = url.split_once('?').unwrap().1;
    let message = RedirectMessage::decode(query).unwrap();
    assert!(message.is_signed());
    message.verify(&[key.public()]).unwrap();
    assert_eq!(message.relay_state.as_deref(), Some("state 1"));
    // A changed RelayState breaks the signature.
    let tampered = query.replace("state%201", "state%202");
    let message = RedirectMessage::decode(&tampered).unwrap();
    assert!(matches!(
        message.verify(&[key.public()]),
        Err(SamlError::Signature(_))
    ));
    // Another key does not verify it.
    let message = RedirectMessage::decode(query).unwrap();
    assert!(message.verify(&[TestKey::generate().public()]).is_err());
}

#[test]
fn doctype_refused_before_anything_else() {
    let key = TestKey::generate();
    let signed = signed_authn_request(&key, "_d", ACS);
    let with_dtd = format!("<!DOCTYPE x [<!ENTITY e \"v\">]>{signed}");
    assert!(matches!(
        AuthnRequest::parse(&with_dtd),
        Err(SamlError::Xml(_))
    ));
    assert!(matches!(
        dsig::verify_root(&with_dtd, &[key.public()]),
        Err(SamlError::Xml(_))
    ));
}
