//! Single Logout (SAML 2.0 Profiles §4.4) across SAML and OIDC.
//!
//! SP-initiated: an SP's LogoutRequest names the session by the SessionIndex
//! we gave it; that SSO session ends (which enqueues OIDC back-channel
//! logout for the OIDC clients in it, see `Sessions::end`). The session is
//! found by SessionIndex and NameID, not by cookie: a cross-site POST
//! carries no `SameSite=Lax` cookie. The other SAML SPs of the session are
//! then logged out on the front channel (below) before the initiating SP
//! gets its signed LogoutResponse (`PartialLogout` when one did not confirm).
//!
//! IdP-initiated: signing out of Gatehouse (`/oauth2/logout`) ends the
//! session the same way and runs the same chain before the final redirect.
//!
//! The chain ([`crate::model::SamlLogoutChain`], in the database so any node
//! continues it) sends one signed LogoutRequest at a time, on each SP's SLO
//! binding, and moves on when that SP's LogoutResponse comes back to
//! `/saml/slo` (found by `InResponseTo`, advanced by compare-and-set so a
//! replayed response does nothing) or when the user follows the page's
//! "continue" link (an SP that never answers must not strand the user). It
//! is bounded: [`MAX_STEPS`] requests and [`CHAIN_TTL_MS`].

use gatehouse_saml::binding::{self, Kind};
use gatehouse_saml::logout::{self, LogoutMessage, LogoutResponse};
use gatehouse_saml::{SamlError, bindings, dsig, status};
use serde_json::json;

use super::sso::{Decoded, Inbound};
use super::{Saml, invalid};
use crate::clock::Millis;
use crate::error::{Error, Result};
use crate::ids::{ServiceProviderId, SessionId};
use crate::model::{
    LogoutChainState, LogoutFinish, LogoutTarget, SamlLogoutChain, ServiceProvider, SloEndpoint,
};
use crate::secret::TokenHash;
use crate::services::principal::RequestContext;

/// How long a LogoutRequest ID is remembered against replay.
const REQUEST_ID_TTL_MS: i64 = 24 * 3600 * 1000;
/// At most this many LogoutRequests per chain.
pub const MAX_STEPS: u32 = 32;
/// A chain not finished by then is abandoned.
pub const CHAIN_TTL_MS: Millis = 10 * 60 * 1000;

/// A SAML message for the browser to carry to an SP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoutReply {
    /// HTTP-Redirect: the signed URL (or, at the end of an IdP-initiated
    /// chain, the OIDC `post_logout_redirect_uri`).
    Redirect(String),
    /// HTTP-POST: auto-submit `field` (`SAMLResponse` or `SAMLRequest`) and
    /// `RelayState` to `url`.
    Post {
        url: String,
        field: &'static str,
        message: String,
        relay_state: Option<String>,
    },
}

/// One step of a logout chain: a LogoutRequest on its way to an SP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutStep {
    /// The SP's display name (or entity ID).
    pub app: String,
    pub request: LogoutReply,
    /// The handle of `/saml/slo/continue?chain=…`, to skip this SP.
    pub handle: String,
    /// 1-based position, and how many SPs in all.
    pub step: u32,
    pub total: u32,
}

/// What `/saml/slo` (or the chain) leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoutOutcome {
    /// The final answer: a LogoutResponse to the initiating SP, or a redirect.
    Reply(LogoutReply),
    /// Signed out; show the signed-out page.
    Acknowledged,
    /// Log out of the next SP first.
    Step(LogoutStep),
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
                return self.chain_answered(ctx, &sp, &response).await;
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
        if sp.settings.single_logout_service.is_none() {
            return Err(Error::invalid(
                "SAMLRequest",
                "no_slo",
                "the service provider has no single logout service",
            ));
        }
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
        let mut ended = None;
        for index in &request.session_indexes {
            let Some(participant) = d.store.find_saml_participant(sp.id, index).await? else {
                continue;
            };
            if participant.name_id != request.name_id {
                continue;
            }
            if let Some(session) = d.store.get_session(participant.session_id).await? {
                self.sessions.end(ctx, &session).await?;
                ended.get_or_insert(session.id);
            }
        }
        let finish = LogoutFinish::Saml {
            sp_id: sp.id,
            in_response_to: request.id.clone(),
            relay_state: decoded.relay_state.clone(),
        };
        if let Some(session) = ended
            && let Some(step) = self.start_chain(session, Some(sp.id), finish).await?
        {
            return Ok(LogoutOutcome::Step(step));
        }
        Ok(LogoutOutcome::Reply(
            self.logout_response(&sp, &request.id, decoded.relay_state, false)
                .await?,
        ))
    }

    /// Front-channel logout of the SAML SPs of an ended `session` (but
    /// `except`, which asked for it), ending in `finish`: the first step, or
    /// `None` when no SP of the session has a single logout service.
    pub async fn start_chain(
        &self,
        session: SessionId,
        except: Option<ServiceProviderId>,
        finish: LogoutFinish,
    ) -> Result<Option<LogoutStep>> {
        let d = &self.deps;
        let mut remaining = Vec::new();
        for participant in d.store.saml_participants(session).await? {
            if Some(participant.sp_id) == except {
                continue;
            }
            let has_slo = d
                .store
                .get_service_provider(participant.sp_id)
                .await?
                .is_some_and(|sp| sp.settings.single_logout_service.is_some());
            if has_slo {
                remaining.push(LogoutTarget {
                    sp_id: participant.sp_id,
                    name_id: participant.name_id,
                    name_id_format: participant.name_id_format,
                    session_index: participant.session_index,
                });
            }
        }
        if remaining.is_empty() {
            return Ok(None);
        }
        // Sent in the order the SPs joined: pop from the end.
        remaining.reverse();
        let now = d.clock.now_millis();
        let chain = SamlLogoutChain {
            id: self.new_id(),
            handle_hash: TokenHash::of(&d.rng.token(32)),
            current_request_id: String::new(),
            state: LogoutChainState {
                session_id: session,
                remaining,
                current: None,
                finish,
                steps: 0,
                partial: false,
            },
            created_at: now,
            expires_at: now + CHAIN_TTL_MS,
        };
        d.store.put_saml_logout_chain(&chain, now).await?;
        match self.advance(chain).await? {
            LogoutOutcome::Step(step) => Ok(Some(step)),
            // Every SP vanished meanwhile: nothing to show.
            LogoutOutcome::Reply(_) | LogoutOutcome::Acknowledged => Ok(None),
        }
    }

    /// `/saml/slo/continue?chain=…`: skips the SP that did not answer.
    pub async fn continue_chain(&self, handle: &str) -> Result<LogoutOutcome> {
        let d = &self.deps;
        let mut chain = d
            .store
            .find_saml_logout_chain(&TokenHash::of(handle), d.clock.now_millis())
            .await?
            .ok_or(Error::NotFound("logout"))?;
        chain.state.partial = true;
        self.advance(chain).await
    }

    /// An SP's LogoutResponse: continues the chain that awaited it, if any.
    async fn chain_answered(
        &self,
        ctx: &RequestContext,
        sp: &ServiceProvider,
        response: &LogoutResponse,
    ) -> Result<LogoutOutcome> {
        let d = &self.deps;
        let Some(request_id) = response.in_response_to.as_deref() else {
            return Ok(LogoutOutcome::Acknowledged);
        };
        let chain = d
            .store
            .find_saml_logout_chain_by_request(request_id, d.clock.now_millis())
            .await?
            .filter(|c| c.state.current.as_ref().is_some_and(|t| t.sp_id == sp.id));
        let Some(mut chain) = chain else {
            return Ok(LogoutOutcome::Acknowledged);
        };
        if response.status != status::SUCCESS {
            chain.state.partial = true;
            self.audit_failure(
                ctx,
                sp,
                "saml.logout_failed",
                json!({ "in_response_to": request_id, "status": response.status }),
            )
            .await?;
        }
        self.advance(chain).await
    }

    /// Sends the next LogoutRequest, or finishes the chain.
    async fn advance(&self, mut chain: SamlLogoutChain) -> Result<LogoutOutcome> {
        let d = &self.deps;
        let expected = chain.current_request_id.clone();
        let total =
            chain.state.steps + u32::try_from(chain.state.remaining.len()).unwrap_or(u32::MAX);
        chain.state.current = None;
        while chain.state.steps < MAX_STEPS {
            let Some(target) = chain.state.remaining.pop() else {
                break;
            };
            let sp = d.store.get_service_provider(target.sp_id).await?;
            let Some((sp, slo)) =
                sp.and_then(|sp| sp.settings.single_logout_service.clone().map(|s| (sp, s)))
            else {
                chain.state.partial = true;
                continue;
            };
            let request_id = self.new_id();
            let handle = d.rng.token(32);
            let request = self.logout_request(&sp, &target, &slo, &request_id).await?;
            chain.state.steps += 1;
            let step = chain.state.steps;
            chain.state.current = Some(target);
            chain.handle_hash = TokenHash::of(&handle);
            chain.current_request_id = request_id;
            if !d.store.advance_saml_logout_chain(&chain, &expected).await? {
                return Err(Error::NotFound("logout"));
            }
            return Ok(LogoutOutcome::Step(LogoutStep {
                app: sp.settings.name.clone().unwrap_or(sp.entity_id),
                request,
                handle,
                step,
                total: total.max(step),
            }));
        }
        if !chain.state.remaining.is_empty() {
            chain.state.partial = true;
        }
        if !d
            .store
            .finish_saml_logout_chain(&chain.id, &expected)
            .await?
        {
            return Err(Error::NotFound("logout"));
        }
        match chain.state.finish {
            LogoutFinish::Saml {
                sp_id,
                in_response_to,
                relay_state,
            } => {
                let sp = d
                    .store
                    .get_service_provider(sp_id)
                    .await?
                    .ok_or(Error::NotFound("service provider"))?;
                Ok(LogoutOutcome::Reply(
                    self.logout_response(&sp, &in_response_to, relay_state, chain.state.partial)
                        .await?,
                ))
            }
            LogoutFinish::Redirect { url } => Ok(LogoutOutcome::Reply(LogoutReply::Redirect(url))),
            LogoutFinish::Page => Ok(LogoutOutcome::Acknowledged),
        }
    }

    /// Our signed LogoutRequest to an SP (SAML 2.0 Core §3.7.1).
    async fn logout_request(
        &self,
        sp: &ServiceProvider,
        target: &LogoutTarget,
        slo: &SloEndpoint,
        request_id: &str,
    ) -> Result<LogoutReply> {
        let element = logout::request(
            request_id,
            &self.entity_id(),
            &slo.location,
            self.now_secs(),
            logout::NameId {
                value: &target.name_id,
                format: &target.name_id_format,
                sp_name_qualifier: &sp.entity_id,
            },
            &target.session_index,
        );
        self.send(element, &slo.location, &slo.binding, Kind::Request, None)
            .await
    }

    /// Our signed LogoutResponse to an SP's LogoutRequest.
    async fn logout_response(
        &self,
        sp: &ServiceProvider,
        in_response_to: &str,
        relay_state: Option<String>,
        partial: bool,
    ) -> Result<LogoutReply> {
        let slo = sp.settings.single_logout_service.clone().ok_or_else(|| {
            Error::invalid(
                "SAMLRequest",
                "no_slo",
                "the service provider has no single logout service",
            )
        })?;
        let destination = slo
            .response_location
            .clone()
            .unwrap_or(slo.location.clone());
        let element = logout::response(
            &self.new_id(),
            &self.entity_id(),
            &destination,
            self.now_secs(),
            in_response_to,
            (status::SUCCESS, partial.then_some(status::PARTIAL_LOGOUT)),
        );
        self.send(
            element,
            &destination,
            &slo.binding,
            Kind::Response,
            relay_state,
        )
        .await
    }

    /// Signs `element` for `binding`: on the query (Redirect) or enveloped (POST).
    async fn send(
        &self,
        mut element: gatehouse_saml::tree::Element,
        destination: &str,
        binding: &str,
        kind: Kind,
        relay_state: Option<String>,
    ) -> Result<LogoutReply> {
        let (key, certificate) = self.signing_key().await?;
        let sign = |data: &[u8]| key.sign(data).map_err(|_| SamlError::Signing);
        if binding == bindings::REDIRECT {
            return Ok(LogoutReply::Redirect(
                binding::redirect_url(
                    destination,
                    kind,
                    &element.canonical(),
                    relay_state.as_deref(),
                    Some(&sign),
                )
                .map_err(|e| Error::Internal(e.to_string()))?,
            ));
        }
        dsig::sign_enveloped(&mut element, 1, &sign, &certificate)
            .map_err(|e| Error::Internal(e.to_string()))?;
        Ok(LogoutReply::Post {
            url: destination.to_owned(),
            field: kind.param(),
            message: binding::post_encode(&element.canonical()),
            relay_state,
        })
    }

    async fn sp_by_issuer(&self, issuer: &str) -> Result<ServiceProvider> {
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
