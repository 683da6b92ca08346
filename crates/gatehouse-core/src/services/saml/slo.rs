//! Single Logout (SAML 2.0 Profiles §4.4), SP-initiated: an SP's
//! LogoutRequest names the session by the SessionIndex we gave it; that SSO
//! session ends (which enqueues OIDC back-channel logout for the OIDC
//! clients in it, see `Sessions::end`) and the SP gets a signed
//! LogoutResponse on its SingleLogoutService binding. The session is found by
//! SessionIndex and NameID, not by cookie: a cross-site POST carries no
//! `SameSite=Lax` cookie.

use gatehouse_saml::binding::{self, Kind};
use gatehouse_saml::logout::{self, LogoutMessage};
use gatehouse_saml::{SamlError, bindings, dsig, status};
use serde_json::json;

use super::sso::{Decoded, Inbound};
use super::{Saml, invalid};
use crate::error::{Error, Result};
use crate::services::principal::RequestContext;

/// How long a LogoutRequest ID is remembered against replay.
const REQUEST_ID_TTL_MS: i64 = 24 * 3600 * 1000;

/// How the LogoutResponse travels back to the SP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoutReply {
    /// HTTP-Redirect: the signed URL.
    Redirect(String),
    /// HTTP-POST: auto-submit `SAMLResponse` and `RelayState` to `url`.
    Post {
        url: String,
        saml_response: String,
        relay_state: Option<String>,
    },
}

/// What `/saml/slo` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoutOutcome {
    /// An SP's LogoutRequest was honoured; answer it.
    Reply(LogoutReply),
    /// An SP's LogoutResponse (to a request of ours) was taken note of.
    Acknowledged,
}

impl Saml {
    /// Handles a LogoutRequest or LogoutResponse from an SP.
    pub async fn slo(&self, ctx: &RequestContext, inbound: Inbound) -> Result<LogoutOutcome> {
        let decoded = Decoded::of(inbound, "SAMLRequest")?;
        let message = logout::parse(&decoded.xml).map_err(|e| invalid("SAMLRequest", &e))?;
        let request = match message {
            LogoutMessage::Response(response) => {
                let sp = self.sp_by_issuer(&response.issuer).await?;
                decoded.check_signature(&sp, response.signed, "SAMLResponse")?;
                return Ok(LogoutOutcome::Acknowledged);
            }
            LogoutMessage::Request(request) => request,
        };
        if decoded.kind != Kind::Request {
            return Err(Error::invalid(
                "SAMLRequest",
                "invalid_saml",
                "a LogoutRequest travels as SAMLRequest",
            ));
        }
        let sp = self.sp_by_issuer(&request.issuer).await?;
        decoded.check_signature(&sp, request.signed, "SAMLRequest")?;
        let slo = sp.settings.single_logout_service.clone().ok_or_else(|| {
            Error::invalid(
                "SAMLRequest",
                "no_slo",
                "the service provider has no single logout service",
            )
        })?;
        let d = &self.deps;
        let now = d.clock.now_millis();
        if !d
            .store
            .use_saml_request_id(sp.id, &request.id, now + REQUEST_ID_TTL_MS, now)
            .await?
        {
            self.audit_failure(
                ctx,
                &sp,
                "saml.request_replayed",
                json!({ "request_id": request.id }),
            )
            .await?;
            return Err(Error::invalid(
                "SAMLRequest",
                "replayed",
                "this request was already used",
            ));
        }
        for index in &request.session_indexes {
            let Some(participant) = d.store.find_saml_participant(sp.id, index).await? else {
                continue;
            };
            if participant.name_id != request.name_id {
                continue;
            }
            if let Some(session) = d.store.get_session(participant.session_id).await? {
                self.sessions.end(ctx, &session).await?;
            }
        }
        let destination = slo
            .response_location
            .clone()
            .unwrap_or(slo.location.clone());
        let (key, certificate) = self.signing_key().await?;
        let sign = |data: &[u8]| key.sign(data).map_err(|_| SamlError::Signing);
        let mut element = logout::response(
            &self.new_id(),
            &self.entity_id(),
            &destination,
            self.now_secs(),
            &request.id,
            status::SUCCESS,
        );
        let reply = if slo.binding == bindings::REDIRECT {
            LogoutReply::Redirect(
                binding::redirect_url(
                    &destination,
                    Kind::Response,
                    &element.canonical(),
                    decoded.relay_state.as_deref(),
                    Some(&sign),
                )
                .map_err(|e| Error::Internal(e.to_string()))?,
            )
        } else {
            dsig::sign_enveloped(&mut element, 1, &sign, &certificate)
                .map_err(|e| Error::Internal(e.to_string()))?;
            LogoutReply::Post {
                url: destination,
                saml_response: binding::post_encode(&element.canonical()),
                relay_state: decoded.relay_state.clone(),
            }
        };
        Ok(LogoutOutcome::Reply(reply))
    }

    async fn sp_by_issuer(&self, issuer: &str) -> Result<crate::model::ServiceProvider> {
        self.deps
            .store
            .find_service_provider(issuer)
            .await?
            .ok_or_else(|| {
                Error::invalid(
                    "SAMLRequest",
                    "unknown_sp",
                    "the issuer is not a registered service provider",
                )
            })
    }
}
