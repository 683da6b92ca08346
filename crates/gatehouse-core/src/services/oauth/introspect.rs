//! Token introspection (RFC 7662): is this token active, and what does it say.
//! Only authenticated confidential clients may ask (§2.1); an inactive,
//! unknown or malformed token is `{"active": false}` and nothing more (§2.2).

use gatehouse_oauth::{ErrorCode, OAuthError};
use serde::Serialize;

use super::{OAuth, server_error};
use crate::model::Client;
use crate::secret::TokenHash;

/// RFC 7662 §2.2.
#[derive(Debug, Default, Serialize)]
pub struct Introspection {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

impl OAuth {
    /// Introspects an access token (a JWT of ours) or a refresh token (opaque).
    pub async fn introspect(
        &self,
        caller: &Client,
        token: &str,
    ) -> Result<Introspection, OAuthError> {
        if caller.is_public() {
            return Err(OAuthError::with_description(
                ErrorCode::InvalidClient,
                "public clients may not introspect tokens",
            ));
        }
        if token.contains('.') {
            if let Some(access) = self.active_access_token(token).await? {
                let username = match access.grant_id() {
                    Some(_) => self.username_of(&access.sub, &access.client_id).await?,
                    None => None,
                };
                return Ok(Introspection {
                    active: true,
                    scope: access.scope.clone(),
                    client_id: Some(access.client_id.clone()),
                    username,
                    token_type: Some("Bearer"),
                    exp: Some(access.exp),
                    iat: Some(access.iat),
                    sub: Some(access.sub.clone()),
                    aud: Some(access.aud.clone()),
                    iss: Some(self.issuer.clone()),
                    jti: Some(access.jti.clone()),
                    sid: access.sid.clone(),
                });
            }
            return Ok(Introspection::default());
        }
        let now = self.deps.clock.now_millis();
        let found = self
            .deps
            .store
            .find_refresh_token(&TokenHash::of(token))
            .await
            .map_err(server_error)?;
        let Some((refresh, grant)) = found else {
            return Ok(Introspection::default());
        };
        if refresh.used_at.is_some() || now >= refresh.expires_at || !grant.is_active(now) {
            return Ok(Introspection::default());
        }
        let user = self
            .deps
            .store
            .get_user(grant.user_id)
            .await
            .map_err(server_error)?;
        let client = self
            .clients
            .find(&grant.client_id)
            .await
            .map_err(server_error)?;
        let (Some(user), Some(client)) = (user, client) else {
            return Ok(Introspection::default());
        };
        Ok(Introspection {
            active: true,
            scope: Some(grant.scope.clone()),
            client_id: Some(grant.client_id.clone()),
            username: Some(user.username.clone()),
            token_type: Some("refresh_token"),
            exp: Some(refresh.expires_at / 1000),
            iat: Some(refresh.created_at / 1000),
            sub: Some(self.subject(&client, &user)),
            aud: None,
            iss: Some(self.issuer.clone()),
            jti: None,
            sid: grant.session_id.map(|s| s.to_string()),
        })
    }

    /// The username behind a public `sub` (pairwise subjects are not reversed).
    async fn username_of(&self, sub: &str, _client_id: &str) -> Result<Option<String>, OAuthError> {
        let Ok(id) = sub.parse() else {
            return Ok(None);
        };
        Ok(self
            .deps
            .store
            .get_user(id)
            .await
            .map_err(server_error)?
            .map(|u| u.username))
    }
}
