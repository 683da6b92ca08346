//! Web Browser SSO (SAML 2.0 Profiles §4.1): an SP's AuthnRequest, or an
//! IdP-initiated start, becomes a pending sign-in; once the browser has an
//! SSO session of the SP's org (the same session OIDC uses), the pending
//! sign-in is spent and answered with a signed Response for the ACS.
//!
//! Checks, in order: the request parses (no DTD, bounded), the issuer is a
//! registered SP, its signature verifies when present and is present when
//! the SP requires it (Redirect: over the raw query; POST: the enveloped
//! signature of the request element itself), the ACS URL (or index) is one
//! the SP registered, and the request ID was never seen before. Only then is
//! anything sent to the ACS; earlier failures are shown to the user.
//!
//! `RequestedAuthnContext` maps onto the sign-on policy: a class only a
//! second factor satisfies (REFEDS MFA, `MobileTwoFactorContract`,
//! `TimeSyncToken`, Microsoft's `multipleauthn`, per the `Comparison`) makes
//! the sign-in need one, as does the SP's own sign-on policy (like a
//! client's); a password session is then stepped up ([`SsoStep::StepUp`]),
//! the path OIDC's `acr_values=2` takes. A class nothing here satisfies, or a
//! user with no factor to step up with, gets `NoAuthnContext` at the ACS.
//! The `AuthnContextClassRef` sent says what happened: the class asked for,
//! else REFEDS MFA or `PasswordProtectedTransport`.

use gatehouse_saml::authn_context::{Comparison, Needs, RequestedAuthnContext};
use gatehouse_saml::authn_request::AuthnRequest;
use gatehouse_saml::binding::{Kind, RedirectMessage, post_decode};
use gatehouse_saml::{SamlError, authn_context, dsig, status};
use serde_json::json;

use super::{Saml, invalid, paths, sp_keys};
use crate::clock::Millis;
use crate::error::{Error, Result};
use crate::ids::OrgId;
use crate::model::{
    AcsEndpoint, PolicyScope, RequestedContext, SamlPending, ServiceProvider, SsoSession, User,
    UserStatus,
};
use crate::secret::TokenHash;
use crate::services::audit::Target;
use crate::services::principal::RequestContext;
use crate::services::sessions::acr;
use crate::services::signon_policy;

/// How long a pending sign-in waits for the user.
const PENDING_TTL_MS: Millis = 10 * 60 * 1000;
/// How long a request ID is remembered against replay.
const REQUEST_ID_TTL_MS: Millis = 24 * 3600 * 1000;
/// Clock skew allowed to the SP: `NotBefore` is this far in the past.
pub(super) const SKEW_SECS: i64 = 60;

/// A SAML message as received on a binding.
#[derive(Debug, Clone)]
pub enum Inbound {
    /// HTTP-Redirect: the raw query string, still percent-encoded.
    Redirect { raw_query: String },
    /// HTTP-POST: the base64 form field and `RelayState`.
    Post {
        kind: Kind,
        message: String,
        relay_state: Option<String>,
    },
}

/// What the browser does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SsoStep {
    /// Sign in (to `org`), then resume the pending sign-in `handle`.
    Login { handle: String, org: OrgId },
    /// The session needs a second factor (for `app`'s policy): step it up
    /// (`services::mfa::begin_step_up`), then resume `handle`; when the
    /// user has no factor, [`Saml::sso_unmet`] answers instead.
    StepUp {
        handle: String,
        org: OrgId,
        app: PolicyScope,
    },
    /// Auto-submit `SAMLResponse` (base64) and `RelayState` to the ACS.
    Post {
        acs_url: String,
        saml_response: String,
        relay_state: Option<String>,
    },
}

/// A decoded inbound message: the XML, RelayState, and how to check its signature.
pub(super) struct Decoded {
    pub kind: Kind,
    pub xml: String,
    pub relay_state: Option<String>,
    redirect: Option<RedirectMessage>,
}

impl Decoded {
    pub(super) fn of(inbound: Inbound, param: &str) -> Result<Self> {
        match inbound {
            Inbound::Redirect { raw_query } => {
                let message =
                    RedirectMessage::decode(&raw_query).map_err(|e| invalid(param, &e))?;
                Ok(Self {
                    kind: message.kind,
                    xml: message.xml.clone(),
                    relay_state: message.relay_state.clone(),
                    redirect: Some(message),
                })
            }
            Inbound::Post {
                kind,
                message,
                relay_state,
            } => Ok(Self {
                kind,
                xml: post_decode(&message).map_err(|e| invalid(param, &e))?,
                relay_state,
                redirect: None,
            }),
        }
    }

    /// Checks the signature as `sp` requires: verified when present (with
    /// the SP's registered certificates), present when the SP requires it.
    pub(super) fn check_signature(
        &self,
        sp: &ServiceProvider,
        xml_signed: bool,
        param: &str,
    ) -> Result<()> {
        let keys = sp_keys(sp);
        let signed = match &self.redirect {
            Some(message) => message.is_signed(),
            None => xml_signed,
        };
        if !signed {
            return if sp.settings.authn_requests_signed {
                Err(invalid(param, &SamlError::Unsigned))
            } else {
                Ok(())
            };
        }
        if keys.is_empty() {
            return Err(invalid(
                param,
                &SamlError::Signature("the service provider has no signing certificate".into()),
            ));
        }
        match &self.redirect {
            Some(message) => message.verify(&keys),
            None => dsig::verify_root(&self.xml, &keys),
        }
        .map_err(|e| invalid(param, &e))
    }
}

impl Saml {
    /// An SP's AuthnRequest: validated and stored as a pending sign-in.
    /// Returns the handle to resume it with.
    pub async fn sso_request(&self, ctx: &RequestContext, inbound: Inbound) -> Result<String> {
        let decoded = Decoded::of(inbound, "SAMLRequest")?;
        if decoded.kind != Kind::Request {
            return Err(Error::invalid(
                "SAMLRequest",
                "invalid_saml",
                "expected a SAMLRequest",
            ));
        }
        let request = AuthnRequest::parse(&decoded.xml).map_err(|e| invalid("SAMLRequest", &e))?;
        let d = &self.deps;
        let sp = d
            .store
            .find_service_provider(&request.issuer)
            .await?
            .ok_or_else(|| {
                Error::invalid(
                    "SAMLRequest",
                    "unknown_sp",
                    "the issuer is not a registered service provider",
                )
            })?;
        decoded.check_signature(&sp, request.signed, "SAMLRequest")?;
        if request
            .destination
            .as_ref()
            .is_some_and(|d| *d != self.url(paths::SSO))
        {
            return Err(Error::invalid(
                "SAMLRequest",
                "invalid_saml",
                "Destination is not this endpoint",
            ));
        }
        if request
            .protocol_binding
            .as_deref()
            .is_some_and(|b| b != gatehouse_saml::bindings::POST)
        {
            return Err(Error::invalid(
                "SAMLRequest",
                "invalid_saml",
                "only the HTTP-POST binding is offered for responses",
            ));
        }
        let acs = choose_acs(&sp, &request)?;
        let now = d.clock.now_millis();
        // SAML 2.0 Core §3.2.1: ID values are unique; a replayed request is refused.
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
        let requested = request.requested_authn_context.map(|r| RequestedContext {
            comparison: r.comparison.as_str().to_owned(),
            classes: r.classes,
        });
        self.pend(
            &sp,
            Some(request.id),
            acs.location.clone(),
            decoded.relay_state,
            (request.force_authn, request.is_passive),
            requested,
        )
        .await
    }

    /// IdP-initiated SSO to the SP `entity_id`: an unsolicited response.
    pub async fn sso_idp_initiated(
        &self,
        entity_id: &str,
        relay_state: Option<String>,
    ) -> Result<String> {
        let sp = self
            .deps
            .store
            .find_service_provider(entity_id)
            .await?
            .filter(|sp| sp.settings.idp_initiated)
            .ok_or(Error::NotFound("service provider"))?;
        let acs = default_acs(&sp)
            .ok_or(Error::NotFound("service provider"))?
            .location
            .clone();
        let relay_state = relay_state.or_else(|| sp.settings.default_relay_state.clone());
        self.pend(&sp, None, acs, relay_state, (false, false), None)
            .await
    }

    async fn pend(
        &self,
        sp: &ServiceProvider,
        request_id: Option<String>,
        acs_url: String,
        relay_state: Option<String>,
        (force_authn, is_passive): (bool, bool),
        requested_authn_context: Option<RequestedContext>,
    ) -> Result<String> {
        if relay_state.as_ref().is_some_and(|r| r.len() > 1024) {
            return Err(Error::invalid(
                "RelayState",
                "too_long",
                "must be at most 1024 bytes",
            ));
        }
        let d = &self.deps;
        let now = d.clock.now_millis();
        let handle = d.rng.token(32);
        d.store
            .put_saml_pending(&SamlPending {
                handle_hash: TokenHash::of(&handle),
                sp_id: sp.id,
                request_id,
                acs_url,
                relay_state,
                force_authn,
                is_passive,
                requested_authn_context,
                created_at: now,
                expires_at: now + PENDING_TTL_MS,
            })
            .await?;
        Ok(handle)
    }

    /// The user who must sign in again when the pending sign-in `handle`,
    /// continued with `session`, finds it too old or idle for the sign-on
    /// policies (the org's and the SP's): the re-authentication is of that
    /// user, and another account must not take the request over.
    pub async fn reauthentication_for(
        &self,
        handle: &str,
        session: &SsoSession,
    ) -> Result<Option<User>> {
        let d = &self.deps;
        let now = d.clock.now_millis();
        let Some(pending) = d
            .store
            .get_saml_pending(&TokenHash::of(handle), now)
            .await?
        else {
            return Ok(None);
        };
        let Some(sp) = d.store.get_service_provider(pending.sp_id).await? else {
            return Ok(None);
        };
        if session.org_id != sp.org_id
            || !signon_policy::session_limits(
                d,
                sp.org_id,
                Some(&PolicyScope::ServiceProvider(sp.id)),
            )
            .await?
            .needs_sign_in(session, now)
        {
            return Ok(None);
        }
        Ok(d.store
            .get_user(session.user_id)
            .await?
            .filter(|u| u.status == UserStatus::Active))
    }

    /// Continues a pending sign-in with the browser's SSO session, if any.
    pub async fn sso_resume(
        &self,
        ctx: &RequestContext,
        handle: &str,
        session: Option<SsoSession>,
    ) -> Result<SsoStep> {
        let d = &self.deps;
        let hash = TokenHash::of(handle);
        let pending = d
            .store
            .get_saml_pending(&hash, d.clock.now_millis())
            .await?
            .ok_or(Error::NotFound("request"))?;
        let sp = d
            .store
            .get_service_provider(pending.sp_id)
            .await?
            .ok_or(Error::NotFound("request"))?;
        // SAML 2.0 Core §3.4.1: ForceAuthn wants a sign-in after the request.
        // A session too old or idle for the sign-on policies (the org's and
        // this SP's re-authentication interval, session lifetime, idle
        // timeout) is treated the same way: sign in again.
        let limits =
            signon_policy::session_limits(d, sp.org_id, Some(&PolicyScope::ServiceProvider(sp.id)))
                .await?;
        let now = d.clock.now_millis();
        let session = session.filter(|s| {
            s.org_id == sp.org_id
                && (!pending.force_authn || s.auth_time >= pending.created_at)
                && !limits.needs_sign_in(s, now)
        });
        let Some(session) = session else {
            if pending.is_passive {
                // §3.4.1: IsPassive forbids interaction; answer NoPassive.
                if !d.store.take_saml_pending(&hash).await? {
                    return Err(Error::NotFound("request"));
                }
                return self
                    .failure(&pending, status::RESPONDER, Some(status::NO_PASSIVE))
                    .await;
            }
            return Ok(SsoStep::Login {
                handle: handle.to_owned(),
                org: sp.org_id,
            });
        };
        let user = d
            .store
            .get_user(session.user_id)
            .await?
            .filter(|u| u.status == UserStatus::Active);
        let Some(user) = user else {
            return self
                .answer_failure(&hash, &pending, Some(status::REQUEST_DENIED))
                .await;
        };
        if !self.may_use(&sp, &user).await? {
            self.audit_failure(
                ctx,
                &sp,
                "saml.not_assigned",
                json!({ "user_id": user.id, "in_response_to": pending.request_id }),
            )
            .await?;
            if pending.request_id.is_none() {
                // IdP-initiated: no SP is waiting; the user gets a page.
                if !d.store.take_saml_pending(&hash).await? {
                    return Err(Error::NotFound("request"));
                }
                return Err(Error::Forbidden);
            }
            return self
                .answer_failure(&hash, &pending, Some(status::REQUEST_DENIED))
                .await;
        }
        let requested = pending.requested_authn_context.as_ref().map(wire_context);
        if requested.as_ref().map(RequestedAuthnContext::needs) == Some(Needs::Impossible) {
            return self
                .answer_failure(&hash, &pending, Some(status::NO_AUTHN_CONTEXT))
                .await;
        }
        let multi_factor = session.acr.as_deref() == Some(acr::MULTI_FACTOR);
        if !multi_factor {
            let app = PolicyScope::ServiceProvider(sp.id);
            let asked =
                requested.as_ref().map(RequestedAuthnContext::needs) == Some(Needs::MultiFactor);
            // The session's browser completed a sign-in: a known device. A
            // remembered device meets the policy where it allows remembering,
            // never an explicit request for multifactor.
            let requirement =
                signon_policy::requirement(d, &user, Some(&app), ctx.ip.as_deref(), true).await?;
            let policy = requirement.required
                && !(session.remembered_device && requirement.remember_days > 0);
            if asked || policy {
                if pending.is_passive {
                    // §3.4.1: a second factor is interaction, which IsPassive forbids.
                    return self
                        .answer_failure(&hash, &pending, Some(status::NO_PASSIVE))
                        .await;
                }
                return Ok(SsoStep::StepUp {
                    handle: handle.to_owned(),
                    org: sp.org_id,
                    app,
                });
            }
        }
        let class = match &requested {
            Some(requested) => requested.satisfied_by(multi_factor).map(str::to_owned),
            None if multi_factor => Some(authn_context::REFEDS_MFA.to_owned()),
            None if session.amr.iter().any(|m| m == "pwd") => {
                Some(authn_context::PASSWORD_PROTECTED.to_owned())
            }
            None => Some(authn_context::UNSPECIFIED.to_owned()),
        };
        let Some(class) = class else {
            return self
                .answer_failure(&hash, &pending, Some(status::NO_AUTHN_CONTEXT))
                .await;
        };
        if !d.store.take_saml_pending(&hash).await? {
            return Err(Error::NotFound("request"));
        }
        // Using the session for an SP is its activity (the sign-in paths
        // read it without recording any).
        let mut session = session;
        crate::services::sessions::touch(d, &mut session).await?;
        self.success(ctx, &sp, &pending, &session, &user, &class)
            .await
    }

    /// A pending sign-in that needed a second factor the user cannot give
    /// (none enrolled): `NoAuthnContext` to the ACS (SAML 2.0 Core §3.2.2.2).
    pub async fn sso_unmet(&self, handle: &str) -> Result<SsoStep> {
        let d = &self.deps;
        let hash = TokenHash::of(handle);
        let pending = d
            .store
            .get_saml_pending(&hash, d.clock.now_millis())
            .await?
            .ok_or(Error::NotFound("request"))?;
        self.answer_failure(&hash, &pending, Some(status::NO_AUTHN_CONTEXT))
            .await
    }

    /// Spends the pending sign-in and answers it with a Responder failure.
    async fn answer_failure(
        &self,
        hash: &TokenHash,
        pending: &SamlPending,
        second: Option<&str>,
    ) -> Result<SsoStep> {
        if !self.deps.store.take_saml_pending(hash).await? {
            return Err(Error::NotFound("request"));
        }
        self.failure(pending, status::RESPONDER, second).await
    }

    /// An audit event for a refused request (no stored change).
    pub(super) async fn audit_failure(
        &self,
        ctx: &RequestContext,
        sp: &ServiceProvider,
        action: &str,
        details: serde_json::Value,
    ) -> Result<()> {
        let event = self.deps.audit(
            &format!("service_provider:{}", sp.id),
            ctx,
            action,
            Target::new("service_provider", sp.id, Some(sp.org_id)),
            details,
        );
        self.audit_log.record(event).await
    }
}

/// SAML 2.0 Core §3.4.1 and Profiles §4.1.4.1: the ACS named by URL must be
/// registered exactly; by index, it must exist; else the default one.
fn choose_acs<'a>(sp: &'a ServiceProvider, request: &AuthnRequest) -> Result<&'a AcsEndpoint> {
    let services = &sp.settings.assertion_consumer_services;
    let found = match (
        &request.assertion_consumer_service_url,
        request.assertion_consumer_service_index,
    ) {
        (Some(url), _) => services.iter().find(|a| a.location == *url),
        (None, Some(index)) => services.iter().find(|a| a.index == index),
        (None, None) => default_acs(sp),
    };
    found.ok_or_else(|| {
        Error::invalid(
            "SAMLRequest",
            "unknown_acs",
            "the assertion consumer service is not registered for this service provider",
        )
    })
}

fn default_acs(sp: &ServiceProvider) -> Option<&AcsEndpoint> {
    let services = &sp.settings.assertion_consumer_services;
    services
        .iter()
        .find(|a| a.is_default)
        .or_else(|| services.first())
}

/// The stored `RequestedAuthnContext` as the wire crate compares it.
fn wire_context(stored: &RequestedContext) -> RequestedAuthnContext {
    RequestedAuthnContext {
        comparison: Comparison::parse(&stored.comparison).unwrap_or_default(),
        classes: stored.classes.clone(),
    }
}
