//! Test keys, certificates and messages shared by the gatehouse-saml tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, KeyPair, RsaKeyPair, RsaPublicKeyComponents};
use base64::Engine as _;
use gatehouse_saml::SamlError;
use gatehouse_saml::ns::{SAML, SAMLP};
use gatehouse_saml::tree::Element;
use gatehouse_saml::x509::{self, CertificateParams, RsaPublicKey};

/// An RSA key with its self-signed certificate.
pub struct TestKey {
    pub pair: RsaKeyPair,
    pub pkcs8: Vec<u8>,
    pub certificate: Vec<u8>,
}

impl TestKey {
    pub fn generate() -> Self {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
        let pkcs8 = pair.as_der().unwrap().as_ref().to_vec();
        let components = RsaPublicKeyComponents::<Vec<u8>>::from(pair.public_key());
        let mut key = Self {
            pair,
            pkcs8,
            certificate: Vec::new(),
        };
        let params = CertificateParams {
            common_name: "test",
            serial: [7; 16],
            not_before: 946_684_800,
            not_after: 4_102_444_799,
            modulus: &components.n,
            exponent: &components.e,
        };
        key.certificate = x509::self_signed(&params, &|data| key.sign(data)).unwrap();
        key
    }

    pub fn sign(&self, data: &[u8]) -> Result<Vec<u8>, SamlError> {
        let mut out = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                data,
                &mut out,
            )
            .map_err(|_| SamlError::Signing)?;
        Ok(out)
    }

    pub fn public(&self) -> RsaPublicKey {
        RsaPublicKey::from_certificate(&self.certificate).unwrap()
    }

    pub fn certificate_pem(&self) -> String {
        x509::pem(&self.certificate)
    }

    pub fn private_pem(&self) -> String {
        let body = base64::engine::general_purpose::STANDARD.encode(&self.pkcs8);
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            lines.join("\n")
        )
    }
}

/// An AuthnRequest element (unsigned).
pub fn authn_request(id: &str, acs: &str) -> Element {
    Element::new("samlp", SAMLP, "AuthnRequest")
        .attr("ID", id)
        .attr("Version", "2.0")
        .attr("IssueInstant", "2026-11-29T05:00:00Z")
        .attr("AssertionConsumerServiceURL", acs)
        .child(Element::new("saml", SAML, "Issuer").text("https://sp.example.com"))
        .child(Element::new("samlp", SAMLP, "NameIDPolicy").attr("AllowCreate", "true"))
}

/// The same request, signed (enveloped) with `key`.
pub fn signed_authn_request(key: &TestKey, id: &str, acs: &str) -> String {
    let mut request = authn_request(id, acs);
    gatehouse_saml::dsig::sign_enveloped(&mut request, 1, &|d| key.sign(d), &key.certificate)
        .unwrap();
    request.canonical()
}
