//! Sign-in links by e-mail ("magic links"), where the org's sign-on policy
//! turns them on (`magic_link: true`).
//!
//! Asking for a link returns a random browser secret the web layer puts in
//! a cookie; the link's token and that secret are stored only as SHA-256.
//! Opening the link shows a confirmation page only in the browser that
//! holds the secret (a link forwarded, intercepted, or opened on another
//! device cannot hijack the sign-in), and only the confirmation's POST
//! spends it (mail scanners that fetch links do not). A link lasts
//! [`LINK_TTL_SECS`], is spent by one compare-and-set (so of concurrent
//! clicks exactly one signs in), and a user gets at most one per
//! [`RESEND_SECS`]. The answer to a request is the same whether or not the
//! login exists.
//!
//! The link is a first factor (`amr: ["otp"]`): the sign-on policy may still
//! ask for a second one, as after a password.

use std::sync::Arc;

use serde_json::json;

use crate::error::{Error, Result};
use crate::ids::OrgId;
use crate::model::{MagicLink, Outcome, PolicyScope, User, UserStatus};
use crate::secret::{Secret, TokenHash};
use crate::services::Deps;
use crate::services::audit::Target;
use crate::services::mailer::{Mail, Mailer};
use crate::services::principal::RequestContext;

/// How long a link works.
pub const LINK_TTL_SECS: i64 = 10 * 60;
/// At most one link per user this often.
pub const RESEND_SECS: i64 = 30;

#[derive(Debug, Clone)]
pub struct MagicLinks {
    deps: Deps,
    mailer: Option<Arc<dyn Mailer>>,
    public_url: String,
}

/// A link that was spent: who signed in and where the sign-in continues.
#[derive(Debug)]
pub struct Redeemed {
    pub user: User,
    pub request: Option<String>,
    pub return_to: Option<String>,
}

impl MagicLinks {
    pub(crate) fn new(deps: Deps, mailer: Option<Arc<dyn Mailer>>, public_url: &str) -> Self {
        Self {
            deps,
            mailer,
            public_url: public_url.trim_end_matches('/').to_owned(),
        }
    }

    /// Whether the sign-in page of `org` offers links.
    pub async fn enabled(&self, org: OrgId) -> Result<bool> {
        if self.mailer.is_none() {
            return Ok(false);
        }
        Ok(self
            .deps
            .store
            .get_signon_policy(&PolicyScope::Org(org))
            .await?
            .is_some_and(|p| p.magic_link))
    }

    /// E-mails a link to the active user of `org` whose username or e-mail
    /// is `login`, if there is one with an e-mail address. Returns the
    /// browser secret for the cookie in every case (the same answer for
    /// unknown logins): the browser's existing one (`browser`, so a second
    /// request does not orphan the first link), or a new one. `Invalid`
    /// when links are off for the org.
    pub async fn send(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        login: &str,
        browser: Option<&str>,
        target: (Option<&str>, Option<&str>),
    ) -> Result<Secret> {
        let (request, return_to) = target;
        if !self.enabled(org).await? {
            return Err(Error::invalid(
                "login",
                "unavailable",
                "sign-in links are not available here",
            ));
        }
        let d = &self.deps;
        let browser = match browser.filter(|b| b.len() >= 32) {
            Some(existing) => Secret::new(existing),
            None => Secret::new(d.rng.token(32)),
        };
        let login = login.trim();
        if login.is_empty() {
            return Ok(browser);
        }
        let user = match d.store.find_user_by_username(org, login).await? {
            Some(user) => Some(user),
            None if login.contains('@') => d.store.find_user_by_email(org, login).await?,
            None => None,
        };
        let Some((user, to)) = user
            .filter(|u| u.status == UserStatus::Active)
            .and_then(|u| u.email.clone().map(|to| (u, to)))
        else {
            return Ok(browser);
        };
        let token = Secret::new(d.rng.token(32));
        let now = d.clock.now_millis();
        let link = MagicLink {
            token_hash: TokenHash::of(token.expose()),
            user_id: user.id,
            browser_hash: TokenHash::of(browser.expose()),
            request: request.map(str::to_owned),
            return_to: return_to.map(str::to_owned),
            created_at: now,
            expires_at: now + LINK_TTL_SECS * 1000,
            used_at: None,
        };
        let audit = d.audit(
            &format!("user:{}", user.id),
            ctx,
            "magic_link.sent",
            Target::new("user", user.id, Some(user.org_id)),
            json!({}),
        );
        if !d
            .store
            .put_magic_link(&link, now - RESEND_SECS * 1000, &audit)
            .await?
        {
            // One was sent moments ago: that one is still good.
            return Ok(browser);
        }
        let url = format!("{}/login/link?token={}", self.public_url, token.expose());
        let mail = Mail {
            to,
            subject: "Your sign-in link".to_owned(),
            body: format!(
                "Open this link in the browser where you asked for it to sign in:\r\n\r\n{url}\r\n\r\n\
                 It works once, for {} minutes. If you did not ask for it, ignore this message.\r\n",
                LINK_TTL_SECS / 60
            ),
        };
        if let Some(mailer) = &self.mailer {
            mailer.send(&mail).await.map_err(|e| {
                tracing::error!(error = %e, "sending a sign-in link failed");
                Error::Unavailable
            })?;
        }
        Ok(browser)
    }

    /// The username to show on the confirmation page of a live link opened
    /// in the browser holding `browser`. `NotFound` for an unknown, used or
    /// expired link; `Forbidden` in another browser (audited).
    pub async fn screen(
        &self,
        ctx: &RequestContext,
        token: &str,
        browser: Option<&str>,
    ) -> Result<String> {
        let link = self.check(ctx, token, browser).await?;
        self.deps
            .store
            .get_user(link.user_id)
            .await?
            .filter(|u| u.status == UserStatus::Active)
            .map(|u| u.username)
            .ok_or(Error::NotFound("link"))
    }

    async fn check(
        &self,
        ctx: &RequestContext,
        token: &str,
        browser: Option<&str>,
    ) -> Result<MagicLink> {
        let d = &self.deps;
        let link = d
            .store
            .get_magic_link(&TokenHash::of(token), d.clock.now_millis())
            .await?
            .ok_or(Error::NotFound("link"))?;
        let same_browser = browser.is_some_and(|b| TokenHash::of(b).matches(&link.browser_hash));
        if !same_browser {
            let mut audit = d.audit(
                &format!("user:{}", link.user_id),
                ctx,
                "magic_link.other_browser",
                Target::new("user", link.user_id, None),
                json!({}),
            );
            audit.outcome = Outcome::Failure;
            d.store.append_audit(&audit).await?;
            return Err(Error::Forbidden);
        }
        Ok(link)
    }

    /// Spends the link (confirmed in the browser that asked for it).
    /// `NotFound` when it is unknown, used (also by a concurrent click) or
    /// expired; `Forbidden` in another browser.
    pub async fn redeem(
        &self,
        ctx: &RequestContext,
        token: &str,
        browser: Option<&str>,
    ) -> Result<Redeemed> {
        let link = self.check(ctx, token, browser).await?;
        let d = &self.deps;
        let user = d
            .store
            .get_user(link.user_id)
            .await?
            .filter(|u| u.status == UserStatus::Active)
            .ok_or(Error::NotFound("link"))?;
        let audit = d.audit(
            &format!("user:{}", user.id),
            ctx,
            "magic_link.used",
            Target::new("user", user.id, Some(user.org_id)),
            json!({}),
        );
        if !d
            .store
            .use_magic_link(&link.token_hash, d.clock.now_millis(), &audit)
            .await?
        {
            return Err(Error::NotFound("link"));
        }
        Ok(Redeemed {
            user,
            request: link.request,
            return_to: link.return_to,
        })
    }
}
