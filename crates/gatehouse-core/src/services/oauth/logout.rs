//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): end the
//! browser's session and send it back to a registered post-logout URI.
//!
//! A logout that arrives without an `id_token_hint` naming the current session
//! could be forged by any site, so the user confirms it on a page first (§2:
//! "the OP SHOULD ask the End-User whether to log out"). A
//! `post_logout_redirect_uri` is followed only when it is registered for the
//! client the hint or `client_id` names (§3); otherwise an error page.

use gatehouse_oauth::params::{Params, Repeated};
use gatehouse_oauth::redirect_uri::matches_post_logout;
use gatehouse_oauth::{ErrorCode, OAuthError};

use super::{OAuth, server_error};
use crate::model::{Client, SsoSession};
use crate::services::principal::RequestContext;

/// The parameters of a logout request (§2).
#[derive(Debug, Clone, Default)]
pub struct LogoutRequest {
    pub id_token_hint: Option<String>,
    pub client_id: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
}

impl LogoutRequest {
    pub fn parse(pairs: &[(String, String)]) -> Result<Self, OAuthError> {
        let params = Params::new(pairs);
        let single = |name| {
            params
                .single(name)
                .map(|v| v.map(str::to_owned))
                .map_err(Repeated::to_oauth_error)
        };
        Ok(Self {
            id_token_hint: single("id_token_hint")?,
            client_id: single("client_id")?,
            post_logout_redirect_uri: single("post_logout_redirect_uri")?,
            state: single("state")?,
        })
    }
}

/// What the browser sees next.
#[derive(Debug)]
pub enum LogoutStep {
    /// Ask the user to confirm; `client_name` says who asked.
    Confirm { client_name: Option<String> },
    /// Signed out: go to this URI, or show the signed-out page when `None`.
    Done { redirect: Option<String> },
}

/// What a verified `id_token_hint` says.
struct Hint {
    audience: Option<String>,
    sid: Option<String>,
}

impl OAuth {
    pub async fn logout(
        &self,
        ctx: &RequestContext,
        request: &LogoutRequest,
        session: Option<SsoSession>,
        confirmed: bool,
    ) -> Result<LogoutStep, OAuthError> {
        let hint = match &request.id_token_hint {
            Some(token) => Some(self.read_hint(token).await?),
            None => None,
        };
        let client_id = match (
            hint.as_ref().and_then(|h| h.audience.clone()),
            &request.client_id,
        ) {
            (Some(aud), Some(given)) if &aud != given => {
                return Err(OAuthError::with_description(
                    ErrorCode::InvalidRequest,
                    "client_id does not match the id_token_hint",
                ));
            }
            (Some(aud), _) => Some(aud),
            (None, given) => given.clone(),
        };
        let client = match &client_id {
            Some(id) => self.clients.find(id).await.map_err(server_error)?,
            None => None,
        };
        let redirect = self.post_logout_redirect(request, client.as_ref())?;
        let Some(session) = session else {
            return Ok(LogoutStep::Done { redirect });
        };
        let hinted = hint
            .as_ref()
            .and_then(|h| h.sid.as_deref())
            .is_some_and(|sid| sid == session.id.to_string());
        if !hinted && !confirmed {
            return Ok(LogoutStep::Confirm {
                client_name: client.map(|c| c.name),
            });
        }
        self.sessions
            .end(ctx, &session)
            .await
            .map_err(server_error)?;
        Ok(LogoutStep::Done { redirect })
    }

    /// §3: only a registered URI, with `state` appended.
    fn post_logout_redirect(
        &self,
        request: &LogoutRequest,
        client: Option<&Client>,
    ) -> Result<Option<String>, OAuthError> {
        let Some(uri) = &request.post_logout_redirect_uri else {
            return Ok(None);
        };
        let registered = client
            .map(|c| c.post_logout_redirect_uris.as_slice())
            .unwrap_or(&[]);
        if !matches_post_logout(uri, registered) {
            return Err(OAuthError::with_description(
                ErrorCode::InvalidRequest,
                "post_logout_redirect_uri is not registered for this client",
            ));
        }
        let Some(state) = &request.state else {
            return Ok(Some(uri.clone()));
        };
        let mut encoded = url::form_urlencoded::Serializer::new(String::new());
        encoded.append_pair("state", state);
        let separator = if uri.contains('?') { '&' } else { '?' };
        Ok(Some(format!("{uri}{separator}{}", encoded.finish())))
    }

    /// An ID token we issued, expired or not (§2: the hint may have expired).
    async fn read_hint(&self, token: &str) -> Result<Hint, OAuthError> {
        let invalid = || {
            OAuthError::with_description(
                ErrorCode::InvalidRequest,
                "id_token_hint is not an ID token issued here",
            )
        };
        let (header, payload) = self.verify_ours(token).await?.ok_or_else(invalid)?;
        if header
            .typ
            .as_deref()
            .is_some_and(|t| !t.eq_ignore_ascii_case("JWT"))
        {
            return Err(invalid());
        }
        let claims: serde_json::Value = serde_json::from_slice(&payload).map_err(|_| invalid())?;
        if claims["iss"] != self.issuer.as_str() {
            return Err(invalid());
        }
        let audience = match &claims["aud"] {
            serde_json::Value::String(aud) => Some(aud.clone()),
            serde_json::Value::Array(auds) => {
                auds.first().and_then(|a| a.as_str()).map(str::to_owned)
            }
            _ => None,
        };
        Ok(Hint {
            audience,
            sid: claims["sid"].as_str().map(str::to_owned),
        })
    }
}
