//! The SAML 2.0 identity provider: service providers ([`service_providers`]),
//! app assignment ([`assignments`]), Web Browser SSO ([`sso`], its
//! Responses built in `response`) and Single Logout ([`slo`]). The wire formats
//! are `gatehouse-saml`'s; this module decides.
//!
//! Signing uses the active RS256 key of [`Keys`], so SAML keys rotate with
//! the JWT keys. The certificate published for a key is self-signed and
//! derived only from the key (fixed validity, serial from the `kid`), and
//! PKCS#1 v1.5 signatures are deterministic, so every node renders the same
//! certificate without storing it.

pub mod assignments;
mod response;
pub mod service_providers;
pub mod slo;
pub mod sso;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_oauth::jwk::SigningKey;
use gatehouse_saml::SamlError;
use gatehouse_saml::metadata::IdpMetadata;
use gatehouse_saml::x509::{self, CertificateParams, RsaPublicKey};

use crate::error::{Error, Result};
use crate::model::{Algorithm, ServiceProvider};
use crate::services::audit_log::AuditLog;
use crate::services::{Deps, Keys, Sessions};

pub use service_providers::NewServiceProvider;
pub use slo::{LogoutOutcome, LogoutReply, LogoutStep};
pub use sso::{Inbound, SsoStep};

/// Paths of the SAML endpoints (INTERFACE.md).
pub mod paths {
    pub const METADATA: &str = "/saml/metadata";
    pub const SSO: &str = "/saml/sso";
    pub const SSO_RESUME: &str = "/saml/sso/resume";
    pub const SLO: &str = "/saml/slo";
    pub const SLO_CONTINUE: &str = "/saml/slo/continue";
}

/// Certificate validity: 2000-01-01 to 2099-12-31 (trust comes from metadata, not dates).
const CERT_NOT_BEFORE: i64 = 946_684_800;
const CERT_NOT_AFTER: i64 = 4_102_444_799;

/// The SAML identity provider service.
#[derive(Clone)]
pub struct Saml {
    deps: Deps,
    keys: Arc<Keys>,
    sessions: Sessions,
    audit_log: AuditLog,
    public_url: String,
    /// Certificates by key id.
    certificates: Arc<Mutex<HashMap<String, Arc<Vec<u8>>>>>,
}

impl std::fmt::Debug for Saml {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Saml")
            .field("entity_id", &self.entity_id())
            .finish_non_exhaustive()
    }
}

impl Saml {
    pub(crate) fn new(
        deps: Deps,
        keys: Arc<Keys>,
        sessions: Sessions,
        audit_log: AuditLog,
        public_url: String,
    ) -> Self {
        Self {
            deps,
            keys,
            sessions,
            audit_log,
            public_url: public_url.trim_end_matches('/').to_owned(),
            certificates: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The IdP's entity ID: the metadata URL.
    pub fn entity_id(&self) -> String {
        self.url(paths::METADATA)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.public_url)
    }

    /// The IdP metadata document: the active key's certificate, then the
    /// `next` key's, so SPs that refresh metadata trust it before a
    /// rotation, then the recently retired keys' (still in JWKS), so a
    /// response signed just before a rotation still verifies.
    pub async fn metadata(&self) -> Result<String> {
        let (_, active) = self.signing_key().await?;
        let mut certificates = vec![active.as_ref().clone()];
        if let Some(next) = self.keys.next_key(Algorithm::RS256).await? {
            certificates.push(self.certificate(&next)?.as_ref().clone());
        }
        for retired in self.keys.retired_keys(Algorithm::RS256).await? {
            certificates.push(self.certificate(&retired)?.as_ref().clone());
        }
        let entity_id = self.entity_id();
        Ok(IdpMetadata {
            entity_id: &entity_id,
            sso_url: &self.url(paths::SSO),
            slo_url: &self.url(paths::SLO),
            certificates: &certificates,
        }
        .render())
    }

    /// The active RS256 key and its certificate (DER).
    pub async fn signing_key(&self) -> Result<(Arc<SigningKey>, Arc<Vec<u8>>)> {
        let key = self.keys.signer(Algorithm::RS256).await?;
        let certificate = self.certificate(&key)?;
        Ok((key, certificate))
    }

    /// A key's certificate, built once per key id.
    fn certificate(&self, key: &SigningKey) -> Result<Arc<Vec<u8>>> {
        let cached = self
            .certificates
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key.kid())
            .cloned();
        if let Some(certificate) = cached {
            return Ok(certificate);
        }
        let certificate = Arc::new(certificate_for(key)?);
        self.certificates
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.kid().to_owned(), certificate.clone());
        Ok(certificate)
    }

    /// A fresh XML ID (an NCName: `_` and 128 random bits).
    fn new_id(&self) -> String {
        let mut bytes = [0u8; 16];
        self.deps.rng.fill(&mut bytes);
        format!("_{}", hex(&bytes))
    }

    fn now_secs(&self) -> i64 {
        self.deps.clock.now_millis() / 1000
    }
}

/// An RS256 key's self-signed certificate.
fn certificate_for(key: &SigningKey) -> Result<Vec<u8>> {
    let jwk = key.public_jwk();
    let decode = |v: &Option<String>| {
        v.as_deref()
            .and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())
            .ok_or_else(|| Error::Internal("the RS256 key has no n or e".into()))
    };
    let (modulus, exponent) = (decode(&jwk.n)?, decode(&jwk.e)?);
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key.kid().as_bytes());
    let mut serial = [0u8; 16];
    serial.copy_from_slice(digest.as_ref().get(..16).unwrap_or(&[0u8; 16]));
    let params = CertificateParams {
        common_name: "Gatehouse SAML IdP",
        serial,
        not_before: CERT_NOT_BEFORE,
        not_after: CERT_NOT_AFTER,
        modulus: &modulus,
        exponent: &exponent,
    };
    x509::self_signed(&params, &|data| {
        key.sign(data).map_err(|_| SamlError::Signing)
    })
    .map_err(|e| Error::Internal(format!("building the SAML certificate: {e}")))
}

/// The keys that verify an SP's signed requests.
fn sp_keys(sp: &ServiceProvider) -> Vec<RsaPublicKey> {
    sp.settings
        .signing_certificates
        .iter()
        .filter_map(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .filter_map(|der| RsaPublicKey::from_certificate(&der).ok())
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A SAML wire error as the core's `Invalid`, naming the parameter.
fn invalid(param: &str, error: &SamlError) -> Error {
    Error::invalid(param, "invalid_saml", error.to_string())
}
