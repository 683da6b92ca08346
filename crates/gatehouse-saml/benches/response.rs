//! SAML benchmark: signed SSO responses per second on one core. Signing is
//! the limit (one RSA-2048 signature per signed element), so beside the full
//! Response (Response and Assertion signed: two signatures) it measures an
//! assertion-only response, an encrypted one (Response and Assertion signed,
//! the Assertion then encrypted: AES-256-GCM content, RSA-OAEP key
//! transport to a 2048-bit SP key) and the raw RSA-SHA256 rate of aws-lc-rs.
//!
//! `cargo bench -p gatehouse-saml --bench response` (a few seconds per row).
//! Output is a Markdown table for BENCHMARKS.md.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, KeyPair, RsaKeyPair, RsaPublicKeyComponents};
use gatehouse_saml::SamlError;
use gatehouse_saml::response::{self, Attribute, Encryption, Envelope, SignParts, Signing};
use gatehouse_saml::x509::{self, CertificateParams, RsaPublicKey};
use gatehouse_saml::xmlenc::{ContentCipher, Material, Recipient};
use gatehouse_saml::{authn_context, name_id_format};

const RUN: Duration = Duration::from_secs(4);

fn rate(mut work: impl FnMut(u64)) -> f64 {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < RUN {
        work(n);
        n += 1;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let pair = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
    let rng = SystemRandom::new();
    let sign = |data: &[u8]| -> Result<Vec<u8>, SamlError> {
        let mut out = vec![0; pair.public_modulus_len()];
        pair.sign(&signature::RSA_PKCS1_SHA256, &rng, data, &mut out)
            .map_err(|_| SamlError::Signing)?;
        Ok(out)
    };
    let components = RsaPublicKeyComponents::<Vec<u8>>::from(pair.public_key());
    let certificate = x509::self_signed(
        &CertificateParams {
            common_name: "bench",
            serial: [1; 16],
            not_before: 946_684_800,
            not_after: 4_102_444_799,
            modulus: &components.n,
            exponent: &components.e,
        },
        &sign,
    )
    .unwrap();
    let attributes = [
        Attribute {
            name: "email".into(),
            values: vec!["ada@example.com".into()],
        },
        Attribute {
            name: "groups".into(),
            values: vec!["app-users".into(), "app-admins".into()],
        },
    ];
    // The SP's encryption key: its certificate's RSA key.
    let sp_key = RsaPublicKey::from_certificate(&certificate).unwrap();
    let content_key = [5u8; 32];
    let iv = [6u8; 12];
    let build = |n: u64, parts: SignParts, encrypt: bool| {
        let encryption = encrypt.then_some(Encryption {
            cipher: ContentCipher::Aes256Gcm,
            recipient: Recipient {
                key: &sp_key,
                certificate: None,
            },
            material: Material {
                key: &content_key,
                iv: &iv,
            },
        });
        let id = format!("_r{n}");
        let assertion_id = format!("_a{n}");
        response::success(
            &Envelope {
                id: &id,
                issuer: "https://idp.example.com/saml/metadata",
                destination: "https://sp.example.com/acs",
                in_response_to: Some("_req"),
                issue_instant: 1_795_931_259,
            },
            &response::Assertion {
                id: &assertion_id,
                audience: "https://sp.example.com",
                name_id: "0190c0de-0000-7000-8000-000000000001",
                name_id_format: name_id_format::PERSISTENT,
                session_index: "_sess",
                authn_instant: 1_795_931_200,
                authn_context: authn_context::PASSWORD_PROTECTED,
                attributes: &attributes,
                skew: 60,
                lifetime: 300,
                session_not_on_or_after: None,
            },
            parts,
            Signing {
                sign: &sign,
                certificate: &certificate,
            },
            encryption,
        )
        .unwrap()
    };
    let both = rate(|n| {
        build(
            n,
            SignParts {
                response: true,
                assertion: true,
            },
            false,
        );
    });
    let assertion_only = rate(|n| {
        build(
            n,
            SignParts {
                response: false,
                assertion: true,
            },
            false,
        );
    });
    let encrypted = rate(|n| {
        build(
            n,
            SignParts {
                response: true,
                assertion: true,
            },
            true,
        );
    });
    let raw = rate(|n| {
        sign(&n.to_be_bytes()).unwrap();
    });
    println!("| what (one core, RSA-2048) | per second |");
    println!("| --- | ---: |");
    println!("| SSO response, Response and Assertion signed | {both:.0} |");
    println!("| SSO response, Assertion signed | {assertion_only:.0} |");
    println!(
        "| SSO response, both signed, Assertion encrypted (AES-256-GCM, RSA-OAEP) | {encrypted:.0} |"
    );
    println!("| raw RSA-SHA256 signature (aws-lc-rs) | {raw:.0} |");
}
