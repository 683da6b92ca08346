//! The authorization endpoint's decision (RFC 6749 §4.1, OpenID Connect Core
//! §3.1.2): given a request and the browser's session, answer with the sign-in
//! page, the consent page, a code, or an error.
//!
//! Errors about `client_id` or `redirect_uri` are returned as `Err` for an
//! error page and never redirected (RFC 6749 §4.1.2.1); every later error goes
//! back to the validated redirect URI with `state` and `iss`.
//!
//! A request that needs the user is stored as a [`PendingAuthorization`] under
//! a random handle (only its hash is kept) and re-parsed from its original
//! parameters when sign-in or consent completes, on whichever node.

use gatehouse_oauth::authorize::{AuthorizationRequest, ClientAndRedirect, Redirect, parse_rest};
use gatehouse_oauth::{ErrorCode, OAuthError};
use serde_json::json;

use super::{OAuth, server_error};
use crate::ids::GrantId;
use crate::model::{
    AuthorizationCode, Client, ClientGrant, Consent, FactorStatus, Grant, PendingAuthorization,
    PolicyScope, SsoSession, User, UserStatus,
};
use crate::secret::{Secret, TokenHash};
use crate::services::audit::Target;
use crate::services::principal::RequestContext;
use crate::services::sessions::acr;
use crate::services::signon_policy;

/// What the browser is shown next.
#[derive(Debug)]
pub enum AuthorizeStep {
    /// Back to the client: a code, or an error for its redirect URI.
    Redirect(Redirect),
    /// The sign-in page for a pending request.
    Login(LoginScreen),
    /// The consent page for a pending request.
    Consent(ConsentScreen),
}

#[derive(Debug, Clone)]
pub struct LoginScreen {
    /// The pending request's handle, carried by the form.
    pub handle: Secret,
    pub client_name: String,
    pub login_hint: Option<String>,
    pub ui_locales: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct ConsentScreen {
    pub handle: Secret,
    pub client_name: String,
    pub scopes: Vec<String>,
    /// Who is signed in (username), so they can tell it is them.
    pub username: String,
}

/// A request the endpoint is working on, with its handle once stored.
struct Working {
    client: Client,
    request: AuthorizationRequest,
    pairs: Vec<(String, String)>,
    pending: Option<(Secret, PendingAuthorization)>,
}

impl OAuth {
    /// A fresh request to the authorization endpoint (GET query or POST form).
    pub async fn authorize(
        &self,
        ctx: &RequestContext,
        pairs: Vec<(String, String)>,
        session: Option<SsoSession>,
    ) -> Result<AuthorizeStep, OAuthError> {
        let first = ClientAndRedirect::parse(&pairs)?;
        let client = self.authorizing_client(&first.client_id).await?;
        let redirect = first.resolve(&client.redirect_uris)?;
        let request = match parse_rest(&pairs, first, redirect) {
            Ok(request) => request,
            Err(error) => return Ok(AuthorizeStep::Redirect(error.to_redirect(&self.issuer))),
        };
        if let Err(error) = self.check_policy(&client, &request) {
            return Ok(self.refuse(&request, error));
        }
        let working = Working {
            client,
            request,
            pairs,
            pending: None,
        };
        self.evaluate(ctx, working, session, false).await
    }

    /// The sign-in page for a pending request (`/login?request=…`).
    pub async fn login_screen(&self, handle: &str) -> Result<LoginScreen, OAuthError> {
        let working = self.load(handle).await?;
        Ok(login_screen(&working, handle))
    }

    /// The org whose users may sign in for a pending request.
    pub async fn pending_org(&self, handle: &str) -> Result<crate::ids::OrgId, OAuthError> {
        Ok(self.load(handle).await?.client.org_id)
    }

    /// The client (and its org) of a pending request, for sign-on policies.
    pub async fn pending_client(
        &self,
        handle: &str,
    ) -> Result<(crate::ids::OrgId, String), OAuthError> {
        let working = self.load(handle).await?;
        Ok((working.client.org_id, working.client.client_id))
    }

    /// Continues a pending request after sign-in.
    pub async fn resume(
        &self,
        ctx: &RequestContext,
        handle: &str,
        session: Option<SsoSession>,
    ) -> Result<AuthorizeStep, OAuthError> {
        let working = self.load(handle).await?;
        self.evaluate(ctx, working, session, false).await
    }

    /// The consent page for a pending request, if the session may see it.
    pub async fn consent_screen(
        &self,
        handle: &str,
        session: &SsoSession,
    ) -> Result<ConsentScreen, OAuthError> {
        let working = self.load(handle).await?;
        let user = self
            .session_user(session)
            .await?
            .ok_or_else(not_signed_in)?;
        Ok(consent_screen(&working, handle, &user))
    }

    /// The user's answer on the consent page.
    pub async fn decide_consent(
        &self,
        ctx: &RequestContext,
        handle: &str,
        session: Option<SsoSession>,
        allow: bool,
    ) -> Result<AuthorizeStep, OAuthError> {
        let working = self.load(handle).await?;
        if !allow {
            let Some(session) = &session else {
                return Err(not_signed_in());
            };
            let audit = self.deps.audit(
                &format!("user:{}", session.user_id),
                ctx,
                "consent.denied",
                Target::new(
                    "client",
                    &working.client.client_id,
                    Some(working.client.org_id),
                ),
                json!({}),
            );
            self.deps
                .store
                .append_audit(&audit)
                .await
                .map_err(server_error)?;
            self.take(&working).await?;
            return Ok(self.refuse(
                &working.request,
                OAuthError::with_description(
                    ErrorCode::AccessDenied,
                    "the user denied the request",
                ),
            ));
        }
        self.evaluate(ctx, working, session, true).await
    }

    /// The client a request names, or an error page (never a redirect).
    async fn authorizing_client(&self, client_id: &str) -> Result<Client, OAuthError> {
        self.clients
            .find(client_id)
            .await
            .map_err(server_error)?
            .ok_or_else(|| {
                OAuthError::with_description(ErrorCode::InvalidClient, "unknown client_id")
            })
    }

    /// Reads a pending request back and parses its parameters again.
    async fn load(&self, handle: &str) -> Result<Working, OAuthError> {
        let expired = || {
            OAuthError::with_description(
                ErrorCode::InvalidRequest,
                "this sign-in request has expired or was already completed; start again from the application",
            )
        };
        let now = self.deps.clock.now_millis();
        let pending = self
            .deps
            .store
            .get_pending_authorization(&TokenHash::of(handle), now)
            .await
            .map_err(server_error)?
            .ok_or_else(expired)?;
        let pairs: Vec<(String, String)> =
            serde_json::from_value(pending.request["params"].clone()).map_err(|_| expired())?;
        let client = self.authorizing_client(&pending.client_id).await?;
        let first = ClientAndRedirect::parse(&pairs)?;
        let redirect = first.resolve(&client.redirect_uris)?;
        let request = parse_rest(&pairs, first, redirect).map_err(|_| expired())?;
        self.check_policy(&client, &request)
            .map_err(|_| expired())?;
        Ok(Working {
            client,
            request,
            pairs,
            pending: Some((Secret::new(handle), pending)),
        })
    }

    /// What the client may ask for. OIDC Core §3.1.2.2, RFC 7636 §4.4.1, RFC 6749 §3.3.
    fn check_policy(
        &self,
        client: &Client,
        request: &AuthorizationRequest,
    ) -> Result<(), OAuthError> {
        if !client.allows_grant(ClientGrant::AuthorizationCode) {
            return Err(OAuthError::with_description(
                ErrorCode::UnauthorizedClient,
                "this client may not use the authorization code grant",
            ));
        }
        if client.pkce_required() && request.code_challenge.is_none() {
            return Err(OAuthError::with_description(
                ErrorCode::InvalidRequest,
                "this client must send a PKCE code_challenge (S256)",
            ));
        }
        if let Some(scope) = request
            .scope
            .iter()
            .find(|s| !client.allowed_scopes.iter().any(|a| a == s))
        {
            tracing::debug!(scope, client = %client.client_id, "scope not allowed for client");
            return Err(OAuthError::with_description(
                ErrorCode::InvalidScope,
                "the client may not request this scope",
            ));
        }
        Ok(())
    }

    fn refuse(&self, request: &AuthorizationRequest, error: OAuthError) -> AuthorizeStep {
        AuthorizeStep::Redirect(request.error(error).to_redirect(&self.issuer))
    }

    /// The heart of the endpoint: sign-in needed? consent needed? else a code.
    async fn evaluate(
        &self,
        ctx: &RequestContext,
        mut working: Working,
        session: Option<SsoSession>,
        consent_given: bool,
    ) -> Result<AuthorizeStep, OAuthError> {
        let now = self.deps.clock.now_millis();
        let prompt = working.request.prompt;
        let user = match &session {
            Some(session) => self.session_user(session).await?,
            None => None,
        };
        let signed_in = match (&session, &user) {
            (Some(session), Some(user)) => {
                // Past redirect validation, errors go back to the client.
                match self
                    .session_satisfies(ctx, &working, session, user, now)
                    .await
                {
                    Ok(fit) => fit == SessionFit::Satisfies,
                    Err(error) => return Ok(self.refuse(&working.request, error)),
                }
            }
            _ => false,
        };
        let (Some(session), Some(user), true) = (session, user, signed_in) else {
            if prompt.none {
                return Ok(self.refuse(
                    &working.request,
                    OAuthError::with_description(ErrorCode::LoginRequired, "the user must sign in"),
                ));
            }
            let handle = self.ensure_pending(&mut working, now).await?;
            return Ok(AuthorizeStep::Login(login_screen(
                &working,
                handle.expose(),
            )));
        };

        let requested: Vec<String> = working.request.scope.iter().map(str::to_owned).collect();
        if working.client.require_consent && !consent_given {
            let remembered = self
                .deps
                .store
                .get_consent(user.id, &working.client.client_id)
                .await
                .map_err(server_error)?;
            let covered =
                remembered.is_some_and(|c| requested.iter().all(|s| c.scopes.contains(s)));
            if prompt.consent || !covered {
                if prompt.none {
                    return Ok(self.refuse(
                        &working.request,
                        OAuthError::with_description(
                            ErrorCode::ConsentRequired,
                            "the user must consent",
                        ),
                    ));
                }
                let handle = self.ensure_pending(&mut working, now).await?;
                return Ok(AuthorizeStep::Consent(consent_screen(
                    &working,
                    handle.expose(),
                    &user,
                )));
            }
        }
        if consent_given {
            let consent = Consent {
                user_id: user.id,
                client_id: working.client.client_id.clone(),
                scopes: requested.clone(),
                granted_at: now,
            };
            let audit = self.deps.audit(
                &format!("user:{}", user.id),
                ctx,
                "consent.granted",
                Target::new(
                    "client",
                    &working.client.client_id,
                    Some(working.client.org_id),
                ),
                json!({ "scopes": requested }),
            );
            self.deps
                .store
                .put_consent(&consent, &audit)
                .await
                .map_err(server_error)?;
        }
        self.take(&working).await?;
        self.issue_code(ctx, &working, &session, &user, now).await
    }

    /// Whether a pending request, continued with `session`, needs the
    /// session raised by a second factor (step-up) rather than a new
    /// sign-in; the client id when it does.
    pub async fn step_up_for(
        &self,
        ctx: &RequestContext,
        handle: &str,
        session: &SsoSession,
    ) -> Result<Option<String>, OAuthError> {
        let working = self.load(handle).await?;
        let Some(user) = self.session_user(session).await? else {
            return Ok(None);
        };
        let now = self.deps.clock.now_millis();
        Ok(
            match self
                .session_satisfies(ctx, &working, session, &user, now)
                .await?
            {
                SessionFit::StepUp => Some(working.client.client_id),
                SessionFit::Satisfies | SessionFit::SignIn | SessionFit::Reauthenticate => None,
            },
        )
    }

    /// The user who must sign in again when a pending request, continued
    /// with `session`, finds it too old or idle for the sign-on policies
    /// (`reauthenticate_after_minutes`, an app's shorter session lifetime or
    /// idle timeout): the re-authentication is of that user, and another
    /// account must not take the request over.
    pub async fn reauthentication_for(
        &self,
        ctx: &RequestContext,
        handle: &str,
        session: &SsoSession,
    ) -> Result<Option<User>, OAuthError> {
        let working = self.load(handle).await?;
        let Some(user) = self.session_user(session).await? else {
            return Ok(None);
        };
        let now = self.deps.clock.now_millis();
        let fit = self
            .session_satisfies(ctx, &working, session, &user, now)
            .await?;
        Ok((fit == SessionFit::Reauthenticate).then_some(user))
    }

    /// Whether the session's sign-in is good enough for this request: the
    /// client's org, `prompt=login` (signed in after the request arrived),
    /// `max_age`, `login_hint` and `id_token_hint` (OIDC Core §3.1.2.1), and
    /// the second factor that `acr_values=2` or a sign-on policy asks for.
    /// A session short only of a second factor (or, with one, of a recent
    /// enough `auth_time`) can be stepped up instead of signing in again,
    /// when its user has a factor.
    async fn session_satisfies(
        &self,
        ctx: &RequestContext,
        working: &Working,
        session: &SsoSession,
        user: &User,
        now: i64,
    ) -> Result<SessionFit, OAuthError> {
        let request = &working.request;
        if session.org_id != working.client.org_id {
            return Ok(SessionFit::SignIn);
        }
        if (request.prompt.login || request.prompt.select_account)
            && working
                .pending
                .as_ref()
                .is_none_or(|(_, p)| session.auth_time < p.created_at)
        {
            return Ok(SessionFit::SignIn);
        }
        let mut too_old = false;
        if let Some(max_age) = request.max_age {
            let age_ms = now.saturating_sub(session.auth_time);
            too_old = age_ms
                > i64::try_from(max_age)
                    .unwrap_or(i64::MAX)
                    .saturating_mul(1000);
        }
        if let Some(hint) = &request.login_hint {
            let matches = hint.eq_ignore_ascii_case(&user.username)
                || user
                    .email
                    .as_deref()
                    .is_some_and(|e| hint.eq_ignore_ascii_case(e));
            if !matches {
                return Ok(SessionFit::SignIn);
            }
        }
        if let Some(hint) = &request.id_token_hint {
            // An expired ID token is still a fine hint (OIDC Core §3.1.2.1).
            let subject = self
                .verify_ours(hint.expose())
                .await?
                .and_then(|(_, payload)| serde_json::from_slice::<serde_json::Value>(&payload).ok())
                .filter(|claims| claims["iss"] == self.issuer.as_str())
                .and_then(|claims| claims["sub"].as_str().map(str::to_owned));
            match subject {
                Some(sub) if sub == self.subject(&working.client, user) => {}
                Some(_) => return Ok(SessionFit::SignIn),
                None => {
                    return Err(OAuthError::with_description(
                        ErrorCode::InvalidRequest,
                        "id_token_hint is not an ID token issued here",
                    ));
                }
            }
        }
        let app = PolicyScope::Client(working.client.client_id.clone());
        // The sign-on policies' re-authentication interval, session lifetime
        // and idle timeout (the org's and this client's, the smallest wins):
        // a session past one signs in again with its first factor, as if
        // `max_age` were that interval, whatever factors the user has.
        if signon_policy::session_limits(&self.deps, user.org_id, Some(&app))
            .await
            .map_err(server_error)?
            .needs_sign_in(session, now)
        {
            return Ok(SessionFit::Reauthenticate);
        }
        let multifactor = session.acr.as_deref() == Some(acr::MULTI_FACTOR);
        let asks_multifactor = request.acr_values.iter().any(|v| v == acr::MULTI_FACTOR);
        let policy_requires = if multifactor {
            false
        } else {
            // The session's browser completed a sign-in: a known device.
            let requirement =
                signon_policy::requirement(&self.deps, user, Some(&app), ctx.ip.as_deref(), true)
                    .await
                    .map_err(server_error)?;
            // A remembered device meets a policy's requirement where the
            // policy allows remembering, never an explicit `acr_values=2`.
            requirement.required && !(session.remembered_device && requirement.remember_days > 0)
        };
        if !too_old && (multifactor || (!asks_multifactor && !policy_requires)) {
            return Ok(SessionFit::Satisfies);
        }
        let has_factor = self
            .deps
            .store
            .list_factors(user.id)
            .await
            .map_err(server_error)?
            .iter()
            .any(|f| f.status == FactorStatus::Active)
            || self
                .deps
                .store
                .unused_recovery_codes(user.id)
                .await
                .map_err(server_error)?
                > 0;
        Ok(match (too_old, has_factor, policy_requires) {
            (_, true, _) => SessionFit::StepUp,
            // `acr_values` is a voluntary claim (OIDC Core §3.1.2.1): a user
            // with no factor keeps the password-only session.
            (false, false, false) => SessionFit::Satisfies,
            // A policy that requires a factor is met by signing in (and enrolling).
            _ => SessionFit::SignIn,
        })
    }

    /// The session's user, if they may still sign in.
    async fn session_user(&self, session: &SsoSession) -> Result<Option<User>, OAuthError> {
        Ok(self
            .deps
            .store
            .get_user(session.user_id)
            .await
            .map_err(server_error)?
            .filter(|u| u.status == UserStatus::Active))
    }

    /// Stores the request for sign-in or consent unless it already is stored.
    async fn ensure_pending(&self, working: &mut Working, now: i64) -> Result<Secret, OAuthError> {
        if let Some((handle, _)) = &working.pending {
            return Ok(handle.clone());
        }
        let handle = Secret::new(self.deps.rng.token(32));
        let pending = PendingAuthorization {
            handle_hash: TokenHash::of(handle.expose()),
            client_id: working.client.client_id.clone(),
            request: json!({ "params": working.pairs }),
            created_at: now,
            expires_at: now + i64::from(self.settings.pending_ttl_secs) * 1000,
        };
        self.deps
            .store
            .put_pending_authorization(&pending)
            .await
            .map_err(server_error)?;
        working.pending = Some((handle.clone(), pending));
        Ok(handle)
    }

    /// Consumes the pending request so its handle cannot be used twice.
    async fn take(&self, working: &Working) -> Result<(), OAuthError> {
        if let Some((_, pending)) = &working.pending
            && !self
                .deps
                .store
                .take_pending_authorization(&pending.handle_hash)
                .await
                .map_err(server_error)?
        {
            return Err(OAuthError::with_description(
                ErrorCode::InvalidRequest,
                "this sign-in request was already completed",
            ));
        }
        Ok(())
    }

    /// RFC 6749 §4.1.2: a short-lived, single-use code bound to the client,
    /// the redirect URI and the PKCE challenge.
    async fn issue_code(
        &self,
        ctx: &RequestContext,
        working: &Working,
        session: &SsoSession,
        user: &User,
        now: i64,
    ) -> Result<AuthorizeStep, OAuthError> {
        let d = &self.deps;
        let client = &working.client;
        let request = &working.request;
        let code = d.rng.token(32);
        let grant = Grant {
            id: GrantId::generate(d.clock.as_ref(), d.rng.as_ref()),
            client_id: client.client_id.clone(),
            org_id: client.org_id,
            user_id: user.id,
            session_id: Some(session.id),
            scope: request.scope.to_string(),
            resources: request.resource.clone(),
            claims: request.claims.clone(),
            auth_time: session.auth_time,
            acr: session.acr.clone(),
            amr: session.amr.clone(),
            created_at: now,
            expires_at: now + i64::from(client.lifetimes.refresh_family_secs) * 1000,
            revoked_at: None,
        };
        let stored = AuthorizationCode {
            code_hash: TokenHash::of(&code),
            grant_id: grant.id,
            redirect_uri: request.redirect_uri.as_str().to_owned(),
            redirect_given: request.redirect_uri.was_requested(),
            code_challenge: request
                .code_challenge
                .as_ref()
                .map(|c| c.as_str().to_owned()),
            nonce: request.nonce.clone(),
            created_at: now,
            expires_at: now + i64::from(self.settings.code_ttl_secs) * 1000,
            used_at: None,
        };
        let audit = d.audit(
            &format!("user:{}", user.id),
            ctx,
            "oauth.code_issued",
            Target::new("client", &client.client_id, Some(client.org_id)),
            json!({ "grant_id": grant.id, "scope": grant.scope, "session_id": session.id }),
        );
        d.store
            .create_code_grant(&grant, &stored, &audit)
            .await
            .map_err(server_error)?;
        // Using the session for an app is its activity (the sign-in paths
        // read it without recording any).
        crate::services::sessions::touch(&self.deps, &mut session.clone())
            .await
            .map_err(server_error)?;
        Ok(AuthorizeStep::Redirect(
            request.code_response(&code, &self.issuer),
        ))
    }
}

/// How a session fits a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SessionFit {
    Satisfies,
    /// Good but for a second factor (or a fresh authentication a second factor gives).
    StepUp,
    /// Sign in again.
    SignIn,
    /// The same user signs in again: the sign-on policies find the session
    /// too old or idle for this client.
    Reauthenticate,
}

fn login_screen(working: &Working, handle: &str) -> LoginScreen {
    LoginScreen {
        handle: Secret::new(handle),
        client_name: working.client.name.clone(),
        login_hint: working.request.login_hint.clone(),
        ui_locales: working.request.ui_locales.clone(),
    }
}

fn consent_screen(working: &Working, handle: &str, user: &User) -> ConsentScreen {
    ConsentScreen {
        handle: Secret::new(handle),
        client_name: working.client.name.clone(),
        scopes: working.request.scope.iter().map(str::to_owned).collect(),
        username: user.username.clone(),
    }
}

fn not_signed_in() -> OAuthError {
    OAuthError::with_description(ErrorCode::AccessDenied, "sign in first")
}
