//! The one error type of the SAML wire layer. Messages name what was wrong
//! with the input, never secrets or key material.

/// Why a SAML message or metadata document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SamlError {
    /// Not well-formed, too large or too deep, or it has a DTD.
    #[error("malformed XML: {0}")]
    Xml(String),
    /// Well-formed, but not the SAML message or metadata expected.
    #[error("invalid SAML message: {0}")]
    Invalid(String),
    /// A binding's encoding (base64, DEFLATE, query parameters) is wrong.
    #[error("invalid binding encoding: {0}")]
    Encoding(String),
    /// A signature is required and missing.
    #[error("the message is not signed")]
    Unsigned,
    /// A signature is present but does not verify, uses an algorithm we
    /// refuse, or does not cover the element consumed.
    #[error("signature rejected: {0}")]
    Signature(String),
    /// A certificate cannot be read or holds no RSA key we accept.
    #[error("certificate rejected: {0}")]
    Certificate(String),
    /// Our own signing key failed.
    #[error("signing failed")]
    Signing,
    /// Encrypting for the SP failed (a key aws-lc-rs refuses, bad key or IV length).
    #[error("encryption failed: {0}")]
    Encryption(String),
}

pub type Result<T> = std::result::Result<T, SamlError>;
