//! X.509 as far as a SAML IdP needs it: our own self-signed certificate
//! (DER written here; RFC 5280 §4.1), and the RSA public key inside a
//! service provider's certificate. SAML trusts the certificates named in
//! metadata, so no chain or validity checking happens (SAML 2.0 Metadata
//! §2.4.1.1: KeyDescriptor carries keys, not trust paths).

use crate::dsig::Signer;
use crate::error::{Result, SamlError};

/// DER OIDs, as their encoded contents.
const RSA_ENCRYPTION: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01];
const SHA256_WITH_RSA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0B];
const COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const NULL: u8 = 0x05;
const OID: u8 = 0x06;
const UTF8_STRING: u8 = 0x0C;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// An RSA public key as PKCS#1 `RSAPublicKey` DER, at least 2048 bits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsaPublicKey(Vec<u8>);

impl RsaPublicKey {
    pub fn der(&self) -> &[u8] {
        &self.0
    }

    #[cfg(test)]
    pub(crate) fn from_pkcs1_for_tests(der: Vec<u8>) -> Self {
        Self(der)
    }

    /// The key as X.509 `SubjectPublicKeyInfo` DER (RFC 5280 §4.1.2.7), as
    /// `aws-lc-rs` reads an encryption key.
    pub fn spki(&self) -> Vec<u8> {
        let algorithm = tlv(
            SEQUENCE,
            &[tlv(OID, RSA_ENCRYPTION), tlv(NULL, &[])].concat(),
        );
        let mut bits = Vec::with_capacity(self.0.len() + 1);
        bits.push(0);
        bits.extend_from_slice(&self.0);
        tlv(SEQUENCE, &[algorithm, tlv(BIT_STRING, &bits)].concat())
    }

    /// The key inside a DER certificate (RFC 5280 §4.1.2.7).
    pub fn from_certificate(certificate: &[u8]) -> Result<Self> {
        let bad = |why: &str| SamlError::Certificate(why.to_owned());
        let (cert, _) = read(certificate, SEQUENCE).map_err(|_| bad("not a DER certificate"))?;
        let (tbs, _) = read(cert, SEQUENCE).map_err(|_| bad("no tbsCertificate"))?;
        let mut rest = tbs;
        if rest.first() == Some(&0xA0) {
            rest = skip(rest)?;
        }
        // serialNumber, signature, issuer, validity, subject
        for _ in 0..5 {
            rest = skip(rest)?;
        }
        let (spki, _) = read(rest, SEQUENCE).map_err(|_| bad("no subjectPublicKeyInfo"))?;
        let (algorithm, after) = read(spki, SEQUENCE)?;
        let (oid, _) = read(algorithm, OID)?;
        if oid != RSA_ENCRYPTION {
            return Err(bad("the key is not an RSA key"));
        }
        let (bits, _) = read(after, BIT_STRING)?;
        let key = match bits.split_first() {
            Some((0, key)) => key,
            _ => return Err(bad("malformed key bits")),
        };
        let (fields, _) = read(key, SEQUENCE)?;
        let (modulus, after) = read(fields, INTEGER)?;
        read(after, INTEGER)?;
        let significant = modulus.iter().skip_while(|b| **b == 0).count();
        if significant < 256 {
            return Err(bad("RSA keys must have at least 2048 bits"));
        }
        Ok(Self(key.to_vec()))
    }
}

/// What goes into the IdP's self-signed certificate. Everything is derived
/// from the key and its stored dates, and PKCS#1 v1.5 signatures are
/// deterministic, so every node renders the same certificate bytes.
#[derive(Debug, Clone)]
pub struct CertificateParams<'a> {
    pub common_name: &'a str,
    /// Positive, at most 20 octets (RFC 5280 §4.1.2.2); the top bit is cleared here.
    pub serial: [u8; 16],
    pub not_before: i64,
    pub not_after: i64,
    /// Big-endian modulus and public exponent.
    pub modulus: &'a [u8],
    pub exponent: &'a [u8],
}

/// A self-signed X.509 v3 certificate (DER), signed with `sign` (RSA-SHA256).
pub fn self_signed(params: &CertificateParams<'_>, sign: Signer<'_>) -> Result<Vec<u8>> {
    let algorithm = tlv(
        SEQUENCE,
        &[tlv(OID, SHA256_WITH_RSA), tlv(NULL, &[])].concat(),
    );
    let name = tlv(
        SEQUENCE,
        &tlv(
            SET,
            &tlv(
                SEQUENCE,
                &[
                    tlv(OID, COMMON_NAME),
                    tlv(UTF8_STRING, params.common_name.as_bytes()),
                ]
                .concat(),
            ),
        ),
    );
    let mut serial = params.serial;
    serial[0] = (serial[0] & 0x7F) | 0x01;
    let validity = tlv(
        SEQUENCE,
        &[time(params.not_before), time(params.not_after)].concat(),
    );
    let public_key = tlv(
        SEQUENCE,
        &[integer(params.modulus), integer(params.exponent)].concat(),
    );
    let spki = tlv(
        SEQUENCE,
        &[
            tlv(
                SEQUENCE,
                &[tlv(OID, RSA_ENCRYPTION), tlv(NULL, &[])].concat(),
            ),
            tlv(BIT_STRING, &[&[0u8][..], &public_key].concat()),
        ]
        .concat(),
    );
    let tbs = tlv(
        SEQUENCE,
        &[
            vec![0xA0, 0x03, INTEGER, 0x01, 0x02], // [0] EXPLICIT version v3
            integer(&serial),
            algorithm.clone(),
            name.clone(),
            validity,
            name,
            spki,
        ]
        .concat(),
    );
    let signature = sign(&tbs)?;
    Ok(tlv(
        SEQUENCE,
        &[
            tbs,
            algorithm,
            tlv(BIT_STRING, &[&[0u8][..], &signature].concat()),
        ]
        .concat(),
    ))
}

/// The certificate as PEM, for operators and `xmlsec1`.
pub fn pem(certificate: &[u8]) -> String {
    use base64::Engine as _;
    let body = base64::engine::general_purpose::STANDARD.encode(certificate);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or(""));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// A non-negative INTEGER from big-endian bytes.
fn integer(value: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = value.iter().copied().skip_while(|b| *b == 0).collect();
    let mut content = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_none_or(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend(trimmed);
    tlv(INTEGER, &content)
}

/// RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
fn time(unix_secs: i64) -> Vec<u8> {
    let rendered = crate::time::date_time(unix_secs); // YYYY-MM-DDThh:mm:ssZ
    let digits: String = rendered.chars().filter(char::is_ascii_digit).collect();
    let year: i64 = digits.get(..4).and_then(|y| y.parse().ok()).unwrap_or(0);
    if (1950..2050).contains(&year) {
        tlv(
            UTC_TIME,
            format!("{}Z", digits.get(2..).unwrap_or("")).as_bytes(),
        )
    } else {
        tlv(GENERALIZED_TIME, format!("{digits}Z").as_bytes())
    }
}

/// Reads one TLV with tag `tag`: its contents and what follows.
fn read(input: &[u8], tag: u8) -> Result<(&[u8], &[u8])> {
    let bad = || SamlError::Certificate("malformed DER".into());
    let (&found, rest) = input.split_first().ok_or_else(bad)?;
    if found != tag {
        return Err(bad());
    }
    let (&first, mut rest) = rest.split_first().ok_or_else(bad)?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7F);
        if count == 0 || count > 4 {
            return Err(bad());
        }
        let (bytes, after) = rest.split_at_checked(count).ok_or_else(bad)?;
        rest = after;
        bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
    };
    rest.split_at_checked(len).ok_or_else(bad)
}

/// Skips one TLV of any tag.
fn skip(input: &[u8]) -> Result<&[u8]> {
    let tag = *input
        .first()
        .ok_or_else(|| SamlError::Certificate("truncated DER".into()))?;
    read(input, tag).map(|(_, rest)| rest)
}
