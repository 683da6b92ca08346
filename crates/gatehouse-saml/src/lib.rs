//! Gatehouse's SAML 2.0 wire formats: the identity provider's half.
//!
//! Like `gatehouse-oauth`, this is the parse and render half of a protocol:
//! it does no I/O, reads no clock (instants are passed in as unix seconds)
//! and knows no HTTP types. The decisions (which service provider, which
//! user, replay checks) live in `gatehouse-core::services::saml`.
//!
//! XML-DSig is our own narrow implementation (see ARCHITECTURE.md): what we
//! sign we emit directly in exclusive canonical form ([`tree`]), so the bytes
//! we digest are the bytes we send; what we verify we parse with `roxmltree`
//! (no DTD support) under size and depth limits ([`xml`]) and canonicalise
//! with [`c14n`].
//!
//! | module | owns |
//! | --- | --- |
//! | [`xml`] | parsing untrusted XML: size, depth and DTD limits, names and prefixes |
//! | [`tree`] | the XML we emit, serialised in exclusive canonical form |
//! | [`c14n`] | Exclusive XML Canonicalization 1.0 of a parsed subtree |
//! | [`dsig`] | enveloped RSA-SHA256 signatures: signing ours, verifying theirs (by reference) |
//! | [`x509`] | the IdP's self-signed certificate, and the RSA key inside an SP's certificate |
//! | [`binding`] | HTTP-Redirect (DEFLATE, query signatures) and HTTP-POST encodings |
//! | [`metadata`] | our IdP metadata, and parsing an SP's metadata |
//! | [`authn_context`] | `RequestedAuthnContext`: comparing requested classes with what a sign-in proved |
//! | [`authn_request`] | parsing `<samlp:AuthnRequest>` |
//! | [`response`] | building the signed `<samlp:Response>` and its `<saml:Assertion>` |
//! | [`logout`] | `<samlp:LogoutRequest>` and `<samlp:LogoutResponse>`, both ways |
//! | [`xmlenc`] | XML Encryption 1.1 of an assertion for an SP: AES-GCM or AES-CBC content, RSA-OAEP key transport |
//! | [`time`] | `xs:dateTime` rendering of unix seconds |

pub mod authn_context;
pub mod authn_request;
pub mod binding;
pub mod c14n;
pub mod dsig;
pub mod error;
pub mod logout;
pub mod metadata;
pub mod response;
pub mod time;
pub mod tree;
pub mod x509;
pub mod xml;
pub mod xmlenc;

pub use error::SamlError;

/// XML namespaces used on the wire.
pub mod ns {
    pub const SAML: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
    pub const SAMLP: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
    pub const MD: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
    pub const DS: &str = "http://www.w3.org/2000/09/xmldsig#";
    pub const XENC: &str = "http://www.w3.org/2001/04/xmlenc#";
}

/// SAML binding URIs (SAML 2.0 Bindings §3.4, §3.5).
pub mod bindings {
    pub const REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
    pub const POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
}

/// NameID formats (SAML 2.0 Core §8.3).
pub mod name_id_format {
    pub const UNSPECIFIED: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";
    pub const EMAIL: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
    pub const PERSISTENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
    pub const TRANSIENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";
    /// Every format the IdP offers.
    pub const ALL: [&str; 4] = [PERSISTENT, EMAIL, TRANSIENT, UNSPECIFIED];
}

/// Top-level status codes (SAML 2.0 Core §3.2.2.2).
pub mod status {
    pub const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
    pub const REQUESTER: &str = "urn:oasis:names:tc:SAML:2.0:status:Requester";
    pub const RESPONDER: &str = "urn:oasis:names:tc:SAML:2.0:status:Responder";
    /// Second-level codes.
    pub const NO_PASSIVE: &str = "urn:oasis:names:tc:SAML:2.0:status:NoPassive";
    pub const REQUEST_DENIED: &str = "urn:oasis:names:tc:SAML:2.0:status:RequestDenied";
    pub const PARTIAL_LOGOUT: &str = "urn:oasis:names:tc:SAML:2.0:status:PartialLogout";
    pub const NO_AUTHN_CONTEXT: &str = "urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext";
}
