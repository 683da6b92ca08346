//! The HTTP-Redirect and HTTP-POST bindings (SAML 2.0 Bindings §3.4, §3.5).
//!
//! Redirect: the message is DEFLATE-compressed (raw, RFC 1951), base64'd and
//! percent-encoded into `SAMLRequest`/`SAMLResponse`; a signature covers the
//! query parameters exactly as they were received, still percent-encoded
//! (§3.4.4.1), so verification works from the raw query string. POST: the
//! message is base64'd into a form field.

use std::io::Read as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use flate2::Compression;
use flate2::read::{DeflateDecoder, DeflateEncoder};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use crate::dsig::{RSA_SHA256, Signer, decode_base64, verify_rsa_sha256};
use crate::error::{Result, SamlError};
use crate::x509::RsaPublicKey;
use crate::xml::MAX_SIZE;

/// RFC 3986 unreserved characters stay; everything else is encoded.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Which message parameter: `SAMLRequest` or `SAMLResponse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Request,
    Response,
}

impl Kind {
    pub fn param(self) -> &'static str {
        match self {
            Kind::Request => "SAMLRequest",
            Kind::Response => "SAMLResponse",
        }
    }
}

/// A message received on the Redirect binding.
#[derive(Debug, Clone)]
pub struct RedirectMessage {
    pub kind: Kind,
    /// The inflated XML.
    pub xml: String,
    pub relay_state: Option<String>,
    signature: Option<QuerySignature>,
}

#[derive(Debug, Clone)]
struct QuerySignature {
    /// `SAMLRequest=…&RelayState=…&SigAlg=…` exactly as received.
    signed: String,
    sig_alg: String,
    value: Vec<u8>,
}

impl RedirectMessage {
    /// Decodes a raw query string (without `?`), keeping the raw parameter
    /// values for signature verification. Repeated parameters are refused.
    pub fn decode(raw_query: &str) -> Result<Self> {
        let mut message: Option<(Kind, &str)> = None;
        let mut relay_state: Option<&str> = None;
        let mut sig_alg: Option<&str> = None;
        let mut signature: Option<&str> = None;
        for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let slot = match name {
                "SAMLRequest" | "SAMLResponse" => {
                    if message.is_some() {
                        return Err(SamlError::Encoding("more than one SAML message".into()));
                    }
                    let kind = if name == "SAMLRequest" {
                        Kind::Request
                    } else {
                        Kind::Response
                    };
                    message = Some((kind, value));
                    continue;
                }
                "RelayState" => &mut relay_state,
                "SigAlg" => &mut sig_alg,
                "Signature" => &mut signature,
                _ => continue,
            };
            if slot.replace(value).is_some() {
                return Err(SamlError::Encoding(format!("{name} is repeated")));
            }
        }
        let (kind, raw_message) =
            message.ok_or_else(|| SamlError::Encoding("no SAMLRequest or SAMLResponse".into()))?;
        let compressed = decode_base64(&form_decode(raw_message)?)
            .map_err(|_| SamlError::Encoding("the message is not base64".into()))?;
        let xml = inflate(&compressed)?;
        let relay_state_value = relay_state.map(form_decode).transpose()?;
        let signature = match (sig_alg, signature) {
            (Some(alg), Some(value)) => {
                let mut signed = format!("{}={raw_message}", kind.param());
                if let Some(rs) = relay_state {
                    signed.push_str("&RelayState=");
                    signed.push_str(rs);
                }
                signed.push_str("&SigAlg=");
                signed.push_str(alg);
                Some(QuerySignature {
                    signed,
                    sig_alg: form_decode(alg)?,
                    value: decode_base64(&form_decode(value)?)
                        .map_err(|_| SamlError::Encoding("Signature is not base64".into()))?,
                })
            }
            (None, None) => None,
            _ => {
                return Err(SamlError::Encoding(
                    "SigAlg and Signature go together".into(),
                ));
            }
        };
        Ok(Self {
            kind,
            xml,
            relay_state: relay_state_value,
            signature,
        })
    }

    /// Whether the query carries a signature.
    pub fn is_signed(&self) -> bool {
        self.signature.is_some()
    }

    /// Verifies the query signature (RSA-SHA256 only) with one of `keys`;
    /// `Unsigned` when there is none.
    pub fn verify(&self, keys: &[RsaPublicKey]) -> Result<()> {
        let signature = self.signature.as_ref().ok_or(SamlError::Unsigned)?;
        if signature.sig_alg != RSA_SHA256 {
            return Err(SamlError::Signature("SigAlg must be RSA-SHA256".into()));
        }
        verify_rsa_sha256(keys, signature.signed.as_bytes(), &signature.value)
    }
}

/// A URL that carries `xml` on the Redirect binding to `location`, signed
/// with `sign` (RSA-SHA256) when given.
pub fn redirect_url(
    location: &str,
    kind: Kind,
    xml: &str,
    relay_state: Option<&str>,
    sign: Option<Signer<'_>>,
) -> Result<String> {
    let mut compressed = Vec::new();
    DeflateEncoder::new(xml.as_bytes(), Compression::default())
        .read_to_end(&mut compressed)
        .map_err(|_| SamlError::Encoding("DEFLATE failed".into()))?;
    let mut query = format!(
        "{}={}",
        kind.param(),
        utf8_percent_encode(&STANDARD.encode(compressed), QUERY)
    );
    if let Some(rs) = relay_state {
        query.push_str("&RelayState=");
        query.push_str(&utf8_percent_encode(rs, QUERY).to_string());
    }
    if let Some(sign) = sign {
        query.push_str("&SigAlg=");
        query.push_str(&utf8_percent_encode(RSA_SHA256, QUERY).to_string());
        let signature = sign(query.as_bytes())?;
        query.push_str("&Signature=");
        query.push_str(&utf8_percent_encode(&STANDARD.encode(signature), QUERY).to_string());
    }
    let separator = if location.contains('?') { '&' } else { '?' };
    Ok(format!("{location}{separator}{query}"))
}

/// The POST binding's form field value: the XML, base64'd.
pub fn post_encode(xml: &str) -> String {
    STANDARD.encode(xml.as_bytes())
}

/// Decodes a POST binding form field (base64, line breaks allowed) to XML.
pub fn post_decode(value: &str) -> Result<String> {
    if value.len() > MAX_SIZE * 4 / 3 + 1024 {
        return Err(SamlError::Encoding("the message is too large".into()));
    }
    let bytes = decode_base64(value)
        .map_err(|_| SamlError::Encoding("the message is not base64".into()))?;
    String::from_utf8(bytes).map_err(|_| SamlError::Encoding("the message is not UTF-8".into()))
}

/// `application/x-www-form-urlencoded` value decoding (`+` is a space).
fn form_decode(value: &str) -> Result<String> {
    percent_decode_str(&value.replace('+', " "))
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| SamlError::Encoding("a parameter is not UTF-8".into()))
}

/// Inflates at most [`MAX_SIZE`] bytes, so a DEFLATE bomb stops early.
fn inflate(compressed: &[u8]) -> Result<String> {
    let mut xml = String::new();
    let limit = u64::try_from(MAX_SIZE).unwrap_or(u64::MAX) + 1;
    DeflateDecoder::new(compressed)
        .take(limit)
        .read_to_string(&mut xml)
        .map_err(|_| SamlError::Encoding("the message is not DEFLATE-compressed UTF-8".into()))?;
    if xml.len() > MAX_SIZE {
        return Err(SamlError::Encoding("the message is too large".into()));
    }
    Ok(xml)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn redirect_round_trip_keeps_relay_state() {
        let url = redirect_url(
            "https://sp/slo",
            Kind::Request,
            "<a>é</a>",
            Some("x y&z"),
            None,
        )
        .unwrap();
        let query = url.split_once('?').unwrap().1;
        let message = RedirectMessage::decode(query).unwrap();
        assert_eq!(message.xml, "<a>é</a>");
        assert_eq!(message.relay_state.as_deref(), Some("x y&z"));
        assert!(!message.is_signed());
        assert_eq!(message.verify(&[]).err(), Some(SamlError::Unsigned));
    }

    #[test]
    fn repeated_or_garbled_parameters_refused() {
        assert!(RedirectMessage::decode("SAMLRequest=a&SAMLRequest=b").is_err());
        assert!(RedirectMessage::decode("SAMLRequest=%%%").is_err());
        assert!(RedirectMessage::decode("SAMLRequest=aGVsbG8=").is_err()); // not DEFLATE
        assert!(RedirectMessage::decode("RelayState=x").is_err());
    }
}
