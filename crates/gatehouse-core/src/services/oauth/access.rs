//! Checking an access token this server issued, for userinfo and
//! introspection: signature with our keys (no `none`, no HMAC, the key bound
//! to its algorithm), `typ: at+jwt` (RFC 9068 §4), `iss`, `exp`; then the
//! deny list and the grant, so a revoked token is refused before it expires.

use gatehouse_oauth::jwt::typ;
use serde::Deserialize;

use super::{OAuth, server_error};
use crate::ids::GrantId;
use crate::model::{Grant, User, UserStatus};
use gatehouse_oauth::OAuthError;

/// The claims of an active access token.
#[derive(Debug, Clone, Deserialize)]
pub struct AccessToken {
    pub sub: String,
    pub client_id: String,
    #[serde(default)]
    pub scope: Option<String>,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub aud: serde_json::Value,
    #[serde(default)]
    pub sid: Option<String>,
}

impl AccessToken {
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope
            .as_deref()
            .unwrap_or("")
            .split(' ')
            .filter(|s| !s.is_empty())
    }

    /// The grant a user's token belongs to (`jti = "<grant>.<random>"`).
    pub fn grant_id(&self) -> Option<GrantId> {
        self.jti.split_once('.').and_then(|(id, _)| id.parse().ok())
    }
}

/// What an active user token stands for.
#[derive(Debug, Clone)]
pub(super) struct UserToken {
    pub token: AccessToken,
    pub grant: Grant,
    pub user: User,
}

impl OAuth {
    /// The token's claims if it is one of ours and still active; `None` for
    /// anything else (malformed, forged, expired, revoked).
    pub async fn active_access_token(
        &self,
        token: &str,
    ) -> Result<Option<AccessToken>, OAuthError> {
        Ok(self.check(token).await?.map(|(token, _)| token))
    }

    /// The token's claims and, for a user's token, its active grant.
    async fn check(&self, token: &str) -> Result<Option<(AccessToken, Option<Grant>)>, OAuthError> {
        let now = self.deps.clock.now_secs();
        let Some((header, payload)) = self.verify_ours(token).await? else {
            return Ok(None);
        };
        let typ_ok = header.typ.as_deref().is_some_and(|t| {
            t.eq_ignore_ascii_case(typ::ACCESS_TOKEN)
                || t.eq_ignore_ascii_case("application/at+jwt")
        });
        if !typ_ok {
            return Ok(None);
        }
        let Ok(claims) = serde_json::from_slice::<serde_json::Value>(&payload) else {
            return Ok(None);
        };
        if claims["iss"] != self.issuer.as_str() {
            return Ok(None);
        }
        let Ok(token) = serde_json::from_value::<AccessToken>(claims) else {
            return Ok(None);
        };
        if now >= token.exp {
            return Ok(None);
        }
        let revoked = self
            .deps
            .store
            .is_jti_revoked(&token.jti)
            .await
            .map_err(server_error)?;
        if revoked {
            return Ok(None);
        }
        let grant = match token.grant_id() {
            None => None,
            Some(id) => {
                let grant = self.deps.store.get_grant(id).await.map_err(server_error)?;
                match grant.filter(|g| g.is_active(self.deps.clock.now_millis())) {
                    Some(grant) => Some(grant),
                    None => return Ok(None),
                }
            }
        };
        Ok(Some((token, grant)))
    }

    /// An active token issued to a user who may still sign in, with its grant.
    pub(super) async fn user_token(&self, token: &str) -> Result<Option<UserToken>, OAuthError> {
        let Some((token, Some(grant))) = self.check(token).await? else {
            return Ok(None);
        };
        let user = self
            .deps
            .store
            .get_user(grant.user_id)
            .await
            .map_err(server_error)?
            .filter(|u| u.status == UserStatus::Active);
        Ok(user.map(|user| UserToken { token, grant, user }))
    }
}
