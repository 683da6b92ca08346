//! The UserInfo endpoint (OpenID Connect Core §5.3): the claims an access
//! token's scopes release. The token must be active, issued for a user, and
//! carry `openid` (RFC 6750 §3.1: `insufficient_scope` otherwise).

use gatehouse_oauth::{ErrorCode, OAuthError};
use serde_json::{Map, Value, json};

use super::{OAuth, claims, server_error};

impl OAuth {
    pub async fn userinfo(&self, token: &str) -> Result<Map<String, Value>, OAuthError> {
        let Some(found) = self.user_token(token).await? else {
            return Err(OAuthError::with_description(
                ErrorCode::InvalidToken,
                "the access token is invalid, expired or revoked",
            ));
        };
        if !found.token.scopes().any(|s| s == "openid") {
            return Err(OAuthError::with_description(
                ErrorCode::InsufficientScope,
                "the access token lacks the openid scope",
            ));
        }
        let client = self
            .clients
            .find(&found.token.client_id)
            .await
            .map_err(server_error)?
            .ok_or_else(|| OAuthError::new(ErrorCode::InvalidToken))?;
        let mut out = claims::select(
            &found.user,
            &client,
            found.token.scopes(),
            found.grant.claims.as_ref(),
            "userinfo",
        );
        // OIDC Core §5.3.2: `sub` always, and the same as in the ID token.
        out.insert("sub".into(), json!(self.subject(&client, &found.user)));
        Ok(out)
    }
}
