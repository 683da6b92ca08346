//! Building the Response for a pending sign-in: the NameID and attribute
//! statement for the SP, the signed (and, when the SP asks, encrypted)
//! assertion, the session participation that single logout uses, and the
//! failure responses (`NoPassive`, `NoAuthnContext`, `RequestDenied`).

use gatehouse_saml::SamlError;
use gatehouse_saml::name_id_format;
use gatehouse_saml::response::{self, Attribute, Encryption, Envelope, SignParts, Signing};
use gatehouse_saml::x509::RsaPublicKey;
use gatehouse_saml::xmlenc::{ContentCipher, Material, Recipient};
use serde_json::json;
use zeroize::Zeroizing;

use super::Saml;
use super::sso::{SKEW_SECS, SsoStep};
use crate::error::{Error, Result};
use crate::model::{NameIdSource, SamlParticipant, SamlPending, ServiceProvider, SsoSession, User};
use crate::services::audit::Target;
use crate::services::principal::RequestContext;

impl Saml {
    pub(super) async fn success(
        &self,
        ctx: &RequestContext,
        sp: &ServiceProvider,
        pending: &SamlPending,
        session: &SsoSession,
        user: &User,
        authn_context: &str,
    ) -> Result<SsoStep> {
        let d = &self.deps;
        let now = d.clock.now_millis();
        let format = sp.settings.name_id_format.clone();
        let name_id = if format == name_id_format::TRANSIENT {
            format!("_{}", d.rng.token(16))
        } else {
            match sp.settings.name_id_source {
                NameIdSource::Id => user.id.to_string(),
                NameIdSource::Username => user.username.clone(),
                NameIdSource::Email => user.email.clone().unwrap_or_else(|| user.username.clone()),
            }
        };
        let participant = d
            .store
            .join_saml_session(&SamlParticipant {
                session_id: session.id,
                sp_id: sp.id,
                session_index: self.new_id(),
                name_id,
                name_id_format: format,
                created_at: now,
            })
            .await?;
        let attributes = self.attributes(sp, user).await?;
        let encrypt_to = encryption_key(sp)?;
        let cipher = ContentCipher::from_uri(&sp.settings.encryption_method).unwrap_or_default();
        let mut content_key = Zeroizing::new(vec![0u8; cipher.key_len()]);
        let mut iv = vec![0u8; cipher.iv_len()];
        if encrypt_to.is_some() {
            d.rng.fill(&mut content_key);
            d.rng.fill(&mut iv);
        }
        let encryption = encrypt_to.as_ref().map(|(der, key)| Encryption {
            cipher,
            recipient: Recipient {
                key,
                certificate: Some(der),
            },
            material: Material {
                key: &content_key,
                iv: &iv,
            },
        });
        let (key, certificate) = self.signing_key().await?;
        let sign = |data: &[u8]| key.sign(data).map_err(|_| SamlError::Signing);
        let issuer = self.entity_id();
        let response_id = self.new_id();
        let assertion_id = self.new_id();
        let xml = response::success(
            &Envelope {
                id: &response_id,
                issuer: &issuer,
                destination: &pending.acs_url,
                in_response_to: pending.request_id.as_deref(),
                issue_instant: now / 1000,
            },
            &response::Assertion {
                id: &assertion_id,
                audience: &sp.entity_id,
                name_id: &participant.name_id,
                name_id_format: &participant.name_id_format,
                session_index: &participant.session_index,
                authn_instant: session.auth_time / 1000,
                authn_context,
                attributes: &attributes,
                skew: SKEW_SECS,
                lifetime: i64::from(sp.settings.assertion_lifetime_secs),
                session_not_on_or_after: Some(session.expires_at / 1000),
            },
            SignParts {
                response: sp.settings.sign_response,
                assertion: sp.settings.sign_assertion,
            },
            Signing {
                sign: &sign,
                certificate: &certificate,
            },
            encryption,
        )
        .map_err(|e| Error::Internal(format!("building a SAML response: {e}")))?;
        let event = d.audit(
            &format!("user:{}", user.id),
            ctx,
            "saml.response_issued",
            Target::new("service_provider", sp.id, Some(sp.org_id)),
            json!({
                "session_id": session.id,
                "in_response_to": pending.request_id,
                "assertion_id": assertion_id,
                "authn_context": authn_context,
                "encrypted": encrypt_to.is_some(),
            }),
        );
        self.audit_log.record(event).await?;
        Ok(SsoStep::Post {
            acs_url: pending.acs_url.clone(),
            saml_response: gatehouse_saml::binding::post_encode(&xml),
            relay_state: pending.relay_state.clone(),
        })
    }

    pub(super) async fn failure(
        &self,
        pending: &SamlPending,
        top: &str,
        second: Option<&str>,
    ) -> Result<SsoStep> {
        let (key, certificate) = self.signing_key().await?;
        let sign = |data: &[u8]| key.sign(data).map_err(|_| SamlError::Signing);
        let issuer = self.entity_id();
        let id = self.new_id();
        let xml = response::failure(
            &Envelope {
                id: &id,
                issuer: &issuer,
                destination: &pending.acs_url,
                in_response_to: pending.request_id.as_deref(),
                issue_instant: self.now_secs(),
            },
            top,
            second,
            Signing {
                sign: &sign,
                certificate: &certificate,
            },
        )
        .map_err(|e| Error::Internal(format!("building a SAML response: {e}")))?;
        Ok(SsoStep::Post {
            acs_url: pending.acs_url.clone(),
            saml_response: gatehouse_saml::binding::post_encode(&xml),
            relay_state: pending.relay_state.clone(),
        })
    }

    /// The SP's attribute statement for `user`.
    async fn attributes(&self, sp: &ServiceProvider, user: &User) -> Result<Vec<Attribute>> {
        let mut out = Vec::with_capacity(sp.settings.attributes.len());
        let mut groups = None;
        for mapping in &sp.settings.attributes {
            let values: Vec<String> = match mapping.source.as_str() {
                "id" => vec![user.id.to_string()],
                "username" => vec![user.username.clone()],
                "email" => user.email.iter().cloned().collect(),
                "given_name" => user.claims.given_name.iter().cloned().collect(),
                "family_name" => user.claims.family_name.iter().cloned().collect(),
                "name" => user.claims.name.iter().cloned().collect(),
                "groups" => {
                    if groups.is_none() {
                        groups = Some(self.deps.store.groups_of_user(user.id).await?);
                    }
                    let prefix = mapping.group_prefix.as_deref().unwrap_or("");
                    groups
                        .iter()
                        .flatten()
                        .filter(|g| g.name.starts_with(prefix))
                        .map(|g| g.name.clone())
                        .collect()
                }
                other => other
                    .strip_prefix("attributes.")
                    .and_then(|key| user.attributes.get(key))
                    .map(|v| match v {
                        serde_json::Value::String(s) => vec![s.clone()],
                        serde_json::Value::Array(items) => items
                            .iter()
                            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                            .collect(),
                        other => vec![other.to_string()],
                    })
                    .unwrap_or_default(),
            };
            if !values.is_empty() {
                out.push(Attribute {
                    name: mapping.name.clone(),
                    values,
                });
            }
        }
        Ok(out)
    }
}

/// The SP's encryption certificate (DER) and its key, when it wants
/// encrypted assertions (validated at registration: the first certificate).
fn encryption_key(sp: &ServiceProvider) -> Result<Option<(Vec<u8>, RsaPublicKey)>> {
    if !sp.settings.encrypt_assertions {
        return Ok(None);
    }
    use base64::Engine as _;
    let der = sp
        .settings
        .encryption_certificates
        .first()
        .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .ok_or_else(|| Error::Internal("the SP's encryption certificate is unreadable".into()))?;
    let key = RsaPublicKey::from_certificate(&der)
        .map_err(|e| Error::Internal(format!("the SP's encryption certificate: {e}")))?;
    Ok(Some((der, key)))
}
