//! Browser single sign-on sessions: started by a successful sign-in, found by
//! the cookie secret, ended by logout or an administrator.
//!
//! The cookie holds 256 random bits; the store keeps their SHA-256 only, so a
//! database leak yields no usable cookie. A session ends at its absolute
//! lifetime or after an idle period; activity is recorded at most once a minute
//! so that page loads do not each cost a write. The org's sign-on policy may
//! shorten both for the sessions it starts (never lengthen them); an app's
//! policy may refuse an older or longer-idle session for that app alone
//! (`signon_policy::SessionLimits`).
//!
//! The sign-in paths read a session without recording activity
//! ([`Sessions::peek`]): whether it was idle too long for an app is judged
//! on its activity before that request, and only a use of the session (a
//! code issued, an assertion sent, an account page) counts as activity.
//!
//! Ending a session (logout or an administrator) enqueues its back-channel
//! logout notifications in the same transaction ([`BackChannel`]).

use crate::clock::Millis;
use crate::error::{Error, Result};
use crate::ids::{SessionId, UserId};
use crate::model::{SsoSession, User};
use crate::secret::{Secret, TokenHash};
use crate::services::Deps;
use crate::services::audit::Target;
use crate::services::oauth::BackChannel;
use crate::services::principal::{AdminPrincipal, RequestContext};
use crate::services::signon_policy;

/// Authentication context class references (`acr`) a session can carry, as
/// Keycloak numbers levels of assurance: `1` is one factor (a password, or
/// a password in a remembered browser), `2` two factors performed in this
/// sign-in (a password and a one-time code, or a passkey with user verification).
/// Discovery lists both in `acr_values_supported`; `acr_values=2` asks for a
/// step-up.
pub mod acr {
    pub const SINGLE_FACTOR: &str = "1";
    pub const MULTI_FACTOR: &str = "2";
}

/// How long sessions last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionSettings {
    /// Absolute lifetime from sign-in (Keycloak's "SSO Session Max", 10 h).
    pub max_secs: u32,
    /// Ends after this long without activity (Keycloak's "SSO Session Idle", 30 min).
    pub idle_secs: u32,
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            max_secs: 10 * 3600,
            idle_secs: 30 * 60,
        }
    }
}

/// Activity is written at most this often per session.
const TOUCH_INTERVAL_MS: Millis = 60_000;

#[derive(Debug, Clone)]
pub struct Sessions {
    deps: Deps,
    settings: SessionSettings,
    backchannel: BackChannel,
}

impl Sessions {
    pub(crate) fn new(deps: Deps, settings: SessionSettings, backchannel: BackChannel) -> Self {
        Self {
            deps,
            settings,
            backchannel,
        }
    }

    pub fn settings(&self) -> SessionSettings {
        self.settings
    }

    /// Starts a session for `user`, who just proved who they are with `amr`
    /// (`remembered_device`: a remembered browser stood in for a required
    /// second factor). Its lifetime and idle timeout are the org policy's
    /// where that sets shorter ones than the server's. Returns the session
    /// and the cookie secret (shown to the browser only).
    pub async fn start(
        &self,
        ctx: &RequestContext,
        user: &User,
        amr: Vec<String>,
        acr: Option<String>,
        remembered_device: bool,
    ) -> Result<(SsoSession, Secret)> {
        let d = &self.deps;
        let (max_secs, idle_secs) = signon_policy::session_timeouts(
            d,
            user.org_id,
            self.settings.max_secs,
            self.settings.idle_secs,
        )
        .await?;
        let now = d.clock.now_millis();
        let secret = Secret::new(d.rng.token(32));
        let session = SsoSession {
            id: SessionId::generate(d.clock.as_ref(), d.rng.as_ref()),
            secret_hash: TokenHash::of(secret.expose()),
            org_id: user.org_id,
            user_id: user.id,
            auth_time: now,
            amr,
            acr,
            created_at: now,
            last_seen_at: now,
            expires_at: now + i64::from(max_secs) * 1000,
            revoked_at: None,
            ip: ctx.ip.clone(),
            user_agent: ctx.user_agent.clone(),
            idle_secs,
            remembered_device,
        };
        let audit = d.audit(
            &format!("user:{}", user.id),
            ctx,
            "session.started",
            Target::new("session", session.id, Some(user.org_id)),
            serde_json::json!({
                "amr": session.amr,
                "acr": session.acr,
                "remembered_device": remembered_device,
                "expires_at": session.expires_at,
                "idle_secs": idle_secs,
            }),
        );
        d.store.create_session(&session, &audit).await?;
        Ok((session, secret))
    }

    /// The active session a cookie secret stands for, recording the activity.
    pub async fn current(&self, cookie: &str) -> Result<Option<SsoSession>> {
        let Some(mut session) = self.peek(cookie).await? else {
            return Ok(None);
        };
        self.touch(&mut session).await?;
        Ok(Some(session))
    }

    /// The active session a cookie secret stands for, without recording
    /// activity (the sign-in paths: an app's idle limit is judged on the
    /// activity before the request).
    pub async fn peek(&self, cookie: &str) -> Result<Option<SsoSession>> {
        let d = &self.deps;
        let now = d.clock.now_millis();
        Ok(d.store
            .find_session(&TokenHash::of(cookie))
            .await?
            .filter(|s| s.is_active(now, self.idle_ms())))
    }

    /// Records activity on the session (at most once a minute).
    pub async fn touch(&self, session: &mut SsoSession) -> Result<()> {
        touch(&self.deps, session).await
    }

    /// The session by id if it is still active (for `sid` checks).
    pub async fn active_by_id(&self, id: SessionId) -> Result<Option<SsoSession>> {
        let now = self.deps.clock.now_millis();
        Ok(self
            .deps
            .store
            .get_session(id)
            .await?
            .filter(|s| s.is_active(now, self.idle_ms())))
    }

    /// Ends a session (logout) and enqueues its back-channel logout
    /// notifications. `false` when it had already ended.
    pub async fn end(&self, ctx: &RequestContext, session: &SsoSession) -> Result<bool> {
        let d = &self.deps;
        let deliveries = self.backchannel.deliveries_for(session).await?;
        let audit = d.audit(
            &format!("user:{}", session.user_id),
            ctx,
            "session.ended",
            Target::new("session", session.id, Some(session.org_id)),
            serde_json::json!({}),
        );
        Ok(d.store
            .revoke_session(session.id, d.clock.now_millis(), &deliveries, &audit)
            .await?)
    }

    /// Clients the session signed in to.
    pub async fn clients_of(&self, id: SessionId) -> Result<Vec<String>> {
        Ok(self.deps.store.session_clients(id).await?)
    }

    /// A user's active sessions, for the admin API.
    pub async fn list_for_user(
        &self,
        principal: &AdminPrincipal,
        user: UserId,
    ) -> Result<Vec<SsoSession>> {
        let d = &self.deps;
        let found = d.store.get_user(user).await?;
        if !found.is_some_and(|u| principal.can_access(u.org_id)) {
            return Err(Error::NotFound("user"));
        }
        let now = d.clock.now_millis();
        let idle = self.idle_ms();
        Ok(d.store
            .list_sessions(user, now)
            .await?
            .into_iter()
            .filter(|s| s.is_active(now, idle))
            .collect())
    }

    /// Revokes a session by id, for the admin API, and enqueues its
    /// back-channel logout notifications.
    pub async fn revoke(
        &self,
        principal: &AdminPrincipal,
        ctx: &RequestContext,
        id: SessionId,
    ) -> Result<()> {
        let d = &self.deps;
        let session = d
            .store
            .get_session(id)
            .await?
            .filter(|s| principal.can_access(s.org_id))
            .ok_or(Error::NotFound("session"))?;
        let deliveries = self.backchannel.deliveries_for(&session).await?;
        let audit = d.audit(
            principal.actor(),
            ctx,
            "session.revoked",
            Target::new("session", session.id, Some(session.org_id)),
            serde_json::json!({ "user_id": session.user_id }),
        );
        if !d
            .store
            .revoke_session(id, d.clock.now_millis(), &deliveries, &audit)
            .await?
        {
            return Err(Error::NotFound("session"));
        }
        Ok(())
    }

    fn idle_ms(&self) -> Millis {
        i64::from(self.settings.idle_secs) * 1000
    }
}

/// Records activity on `session` at most once a [`TOUCH_INTERVAL_MS`].
pub(crate) async fn touch(deps: &Deps, session: &mut SsoSession) -> Result<()> {
    let now = deps.clock.now_millis();
    if now - session.last_seen_at >= TOUCH_INTERVAL_MS {
        deps.store.touch_session(session.id, now).await?;
        session.last_seen_at = now;
    }
    Ok(())
}
