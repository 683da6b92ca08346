//! XML Encryption 1.1 of an assertion for its SP (SAML 2.0 Core §2.3.4,
//! `<saml:EncryptedAssertion>`): the already signed `<saml:Assertion>` is
//! encrypted as an element (`Type=…#Element`) with a fresh content key, and
//! the content key is transported to the SP under RSA-OAEP
//! (`rsa-oaep-mgf1p`: MGF1 with SHA-1 and a SHA-1 digest, what SP libraries
//! expect) to the public key of the SP's encryption certificate.
//!
//! Content ciphers: AES-256-GCM (XML Encryption 1.1 §5.2.4; the default),
//! and AES-128-CBC / AES-256-CBC (§5.2.2) for SPs that predate GCM. The
//! `CipherValue` is the IV followed by the ciphertext (and, for GCM, the
//! 128-bit tag). CBC padding is PKCS#7, which satisfies §5.2's "the last
//! byte is the padding length".
//!
//! The content key and IV come from the caller (this crate reads no
//! randomness); OAEP's own randomness is aws-lc-rs's.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::cipher::{
    AES_128, AES_256, EncryptionContext, PaddedBlockEncryptingKey, UnboundCipherKey,
};
use aws_lc_rs::iv::FixedLength;
use aws_lc_rs::rsa::{OAEP_SHA1_MGF1SHA1, OaepPublicEncryptingKey, PublicEncryptingKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::error::{Result, SamlError};
use crate::ns::{DS, SAML, XENC};
use crate::tree::Element;
use crate::x509::RsaPublicKey;

/// Algorithm URIs.
pub mod algorithms {
    pub const AES256_GCM: &str = "http://www.w3.org/2009/xmlenc11#aes256-gcm";
    pub const AES128_CBC: &str = "http://www.w3.org/2001/04/xmlenc#aes128-cbc";
    pub const AES256_CBC: &str = "http://www.w3.org/2001/04/xmlenc#aes256-cbc";
    pub const RSA_OAEP_MGF1P: &str = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";
    pub const SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";
    /// `EncryptedData/@Type`: the plaintext is one element.
    pub const ELEMENT: &str = "http://www.w3.org/2001/04/xmlenc#Element";
}

/// The cipher for the assertion itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ContentCipher {
    #[default]
    Aes256Gcm,
    Aes128Cbc,
    Aes256Cbc,
}

impl ContentCipher {
    /// The algorithm URI.
    pub fn uri(self) -> &'static str {
        match self {
            Self::Aes256Gcm => algorithms::AES256_GCM,
            Self::Aes128Cbc => algorithms::AES128_CBC,
            Self::Aes256Cbc => algorithms::AES256_CBC,
        }
    }

    /// Parses an algorithm URI this IdP encrypts with.
    pub fn from_uri(uri: &str) -> Option<Self> {
        [Self::Aes256Gcm, Self::Aes128Cbc, Self::Aes256Cbc]
            .into_iter()
            .find(|c| c.uri() == uri)
    }

    /// Content key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            Self::Aes128Cbc => 16,
            Self::Aes256Gcm | Self::Aes256Cbc => 32,
        }
    }

    /// IV length in bytes: 96 bits for GCM (§5.2.4), one block for CBC.
    pub fn iv_len(self) -> usize {
        match self {
            Self::Aes256Gcm => 12,
            Self::Aes128Cbc | Self::Aes256Cbc => 16,
        }
    }
}

/// Who the assertion is encrypted for.
#[derive(Debug, Clone, Copy)]
pub struct Recipient<'a> {
    /// The RSA key of the SP's encryption certificate.
    pub key: &'a RsaPublicKey,
    /// That certificate (DER), named in the `EncryptedKey`'s `KeyInfo` so an
    /// SP with several keys knows which one to use.
    pub certificate: Option<&'a [u8]>,
}

/// Fresh random material for one encryption: a content key of
/// [`ContentCipher::key_len`] bytes and an IV of [`ContentCipher::iv_len`].
#[derive(Clone, Copy)]
pub struct Material<'a> {
    pub key: &'a [u8],
    pub iv: &'a [u8],
}

impl std::fmt::Debug for Material<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Material([redacted])")
    }
}

fn xenc(name: &'static str) -> Element {
    Element::new("xenc", XENC, name)
}

fn ds(name: &'static str) -> Element {
    Element::new("ds", DS, name)
}

fn failed(what: &str) -> SamlError {
    SamlError::Encryption(what.to_owned())
}

/// `<saml:EncryptedAssertion>` holding `assertion` (already signed, if it is
/// to be) encrypted for `recipient`.
pub fn encrypt_assertion(
    assertion: &Element,
    cipher: ContentCipher,
    recipient: Recipient<'_>,
    material: Material<'_>,
) -> Result<Element> {
    let encrypted = encrypt_element(assertion, cipher, recipient, material)?;
    Ok(Element::new("saml", SAML, "EncryptedAssertion").child(encrypted))
}

/// `<xenc:EncryptedData Type="…#Element">` for `element`, whose exclusive
/// canonical form is the plaintext (so an enveloped signature inside it
/// verifies after decryption).
pub fn encrypt_element(
    element: &Element,
    cipher: ContentCipher,
    recipient: Recipient<'_>,
    material: Material<'_>,
) -> Result<Element> {
    if material.key.len() != cipher.key_len() || material.iv.len() != cipher.iv_len() {
        return Err(failed("wrong content key or IV length"));
    }
    let plaintext = element.canonical().into_bytes();
    let cipher_value = encrypt_content(cipher, material, plaintext)?;
    let transported = transport_key(recipient.key, material.key)?;

    let mut key_info = None;
    if let Some(certificate) = recipient.certificate {
        key_info =
            Some(ds("KeyInfo").child(
                ds("X509Data").child(ds("X509Certificate").text(STANDARD.encode(certificate))),
            ));
    }
    let mut encrypted_key = xenc("EncryptedKey").child(
        xenc("EncryptionMethod")
            .attr("Algorithm", algorithms::RSA_OAEP_MGF1P)
            .child(ds("DigestMethod").attr("Algorithm", algorithms::SHA1)),
    );
    if let Some(key_info) = key_info {
        encrypted_key = encrypted_key.child(key_info);
    }
    let encrypted_key = encrypted_key
        .child(xenc("CipherData").child(xenc("CipherValue").text(STANDARD.encode(transported))));
    Ok(xenc("EncryptedData")
        .attr("Type", algorithms::ELEMENT)
        .child(xenc("EncryptionMethod").attr("Algorithm", cipher.uri()))
        .child(ds("KeyInfo").child(encrypted_key))
        .child(xenc("CipherData").child(xenc("CipherValue").text(STANDARD.encode(cipher_value)))))
}

/// IV ‖ ciphertext (‖ tag for GCM).
fn encrypt_content(
    cipher: ContentCipher,
    material: Material<'_>,
    mut data: Vec<u8>,
) -> Result<Vec<u8>> {
    let mut out = material.iv.to_vec();
    match cipher {
        ContentCipher::Aes256Gcm => {
            let key = UnboundKey::new(&AES_256_GCM, material.key)
                .map(LessSafeKey::new)
                .map_err(|_| failed("bad AES-256-GCM key"))?;
            let nonce =
                Nonce::try_assume_unique_for_key(material.iv).map_err(|_| failed("bad GCM IV"))?;
            key.seal_in_place_append_tag(nonce, Aad::empty(), &mut data)
                .map_err(|_| failed("AES-GCM"))?;
        }
        ContentCipher::Aes128Cbc | ContentCipher::Aes256Cbc => {
            let algorithm = if cipher == ContentCipher::Aes128Cbc {
                &AES_128
            } else {
                &AES_256
            };
            let key = UnboundCipherKey::new(algorithm, material.key)
                .and_then(PaddedBlockEncryptingKey::cbc_pkcs7)
                .map_err(|_| failed("bad AES-CBC key"))?;
            let iv: [u8; 16] = material.iv.try_into().map_err(|_| failed("bad CBC IV"))?;
            key.less_safe_encrypt(&mut data, EncryptionContext::Iv128(FixedLength::from(iv)))
                .map_err(|_| failed("AES-CBC"))?;
        }
    }
    out.extend_from_slice(&data);
    Ok(out)
}

/// RSA-OAEP (MGF1-SHA1, SHA-1 digest, no label) of the content key.
fn transport_key(recipient: &RsaPublicKey, content_key: &[u8]) -> Result<Vec<u8>> {
    let public = PublicEncryptingKey::from_der(&recipient.spki())
        .map_err(|_| failed("the SP's encryption key is not usable"))?;
    let oaep = OaepPublicEncryptingKey::new(public).map_err(|_| failed("RSA-OAEP key"))?;
    let mut out = vec![0u8; oaep.ciphertext_size()];
    let written = oaep
        .encrypt(&OAEP_SHA1_MGF1SHA1, content_key, &mut out, None)
        .map_err(|_| failed("RSA-OAEP"))?
        .len();
    out.truncate(written);
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
    use aws_lc_rs::cipher::{
        AES_128, DecryptionContext, PaddedBlockDecryptingKey, UnboundCipherKey,
    };
    use aws_lc_rs::iv::FixedLength;
    use aws_lc_rs::rsa::{
        KeySize, OAEP_SHA1_MGF1SHA1, OaepPrivateDecryptingKey, PrivateDecryptingKey,
    };

    use super::*;
    use crate::xml;

    fn find<'a>(doc: &'a roxmltree::Document<'a>, name: &str) -> String {
        doc.descendants()
            .filter(|n| n.tag_name().name() == name)
            .map(xml::text)
            .collect::<Vec<_>>()
            .join("|")
    }

    /// Our output decrypts with aws-lc-rs's own OAEP and AES back to the
    /// canonical assertion, for each cipher.
    #[test]
    fn round_trip_each_cipher() {
        let private = PrivateDecryptingKey::generate(KeySize::Rsa2048).unwrap();
        let public_der = {
            use aws_lc_rs::encoding::AsDer as _;
            let public = private.public_key();
            let spki: aws_lc_rs::encoding::PublicKeyX509Der<'_> = public.as_der().unwrap();
            spki.as_ref().to_vec()
        };
        // The PKCS#1 key of a 2048-bit key with e = 65537 is the last 270
        // bytes of its SPKI; `spki()` must rebuild the same bytes.
        let pkcs1 = public_der[public_der.len() - 270..].to_vec();
        let key = RsaPublicKey::from_pkcs1_for_tests(pkcs1);
        assert_eq!(key.spki(), public_der);
        let oaep = OaepPrivateDecryptingKey::new(private).unwrap();
        let assertion = Element::new("saml", SAML, "Assertion")
            .attr("ID", "_a")
            .text("secret & <content>");
        for cipher in [
            ContentCipher::Aes256Gcm,
            ContentCipher::Aes128Cbc,
            ContentCipher::Aes256Cbc,
        ] {
            let content_key = vec![7u8; cipher.key_len()];
            let iv = vec![9u8; cipher.iv_len()];
            let element = encrypt_assertion(
                &assertion,
                cipher,
                Recipient {
                    key: &key,
                    certificate: None,
                },
                Material {
                    key: &content_key,
                    iv: &iv,
                },
            )
            .unwrap();
            let text = element.canonical();
            let doc = xml::parse(&text).unwrap();
            let values = find(&doc, "CipherValue");
            let (wrapped, content) = values.split_once('|').unwrap();
            let wrapped = STANDARD.decode(wrapped).unwrap();
            let mut unwrapped = vec![0u8; oaep.min_output_size()];
            let unwrapped = oaep
                .decrypt(&OAEP_SHA1_MGF1SHA1, &wrapped, &mut unwrapped, None)
                .unwrap();
            assert_eq!(unwrapped, content_key.as_slice());
            let content = STANDARD.decode(content).unwrap();
            let (got_iv, body) = content.split_at(cipher.iv_len());
            assert_eq!(got_iv, iv.as_slice());
            let mut body = body.to_vec();
            let plaintext: Vec<u8> = match cipher {
                ContentCipher::Aes256Gcm => {
                    let k = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &content_key).unwrap());
                    let n = Nonce::try_assume_unique_for_key(got_iv).unwrap();
                    k.open_in_place(n, Aad::empty(), &mut body)
                        .unwrap()
                        .to_vec()
                }
                _ => {
                    let algorithm = if cipher == ContentCipher::Aes128Cbc {
                        &AES_128
                    } else {
                        &aws_lc_rs::cipher::AES_256
                    };
                    let k = PaddedBlockDecryptingKey::cbc_pkcs7(
                        UnboundCipherKey::new(algorithm, &content_key).unwrap(),
                    )
                    .unwrap();
                    let iv: [u8; 16] = got_iv.try_into().unwrap();
                    k.decrypt(&mut body, DecryptionContext::Iv128(FixedLength::from(iv)))
                        .unwrap()
                        .to_vec()
                }
            };
            assert_eq!(plaintext, assertion.canonical().as_bytes(), "{cipher:?}");
            assert!(text.contains(cipher.uri()), "{text}");
            assert!(text.contains(algorithms::RSA_OAEP_MGF1P), "{text}");
        }
    }

    #[test]
    fn wrong_material_is_refused() {
        let key = RsaPublicKey::from_pkcs1_for_tests(vec![0x30, 0x00]);
        let assertion = Element::new("saml", SAML, "Assertion");
        let err = encrypt_assertion(
            &assertion,
            ContentCipher::Aes256Gcm,
            Recipient {
                key: &key,
                certificate: None,
            },
            Material {
                key: &[0u8; 16],
                iv: &[0u8; 12],
            },
        );
        assert!(matches!(err, Err(SamlError::Encryption(_))));
    }
}
