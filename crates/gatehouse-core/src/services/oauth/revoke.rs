//! Token revocation (RFC 7009). The client must own the token (§2.1). A
//! refresh token revokes its whole grant, and so every access token issued
//! from it; an access token is put on the deny list until it would expire.
//! Unknown, foreign and malformed tokens get the same 200 as a success (§2.2),
//! so the endpoint reveals nothing.

use gatehouse_oauth::OAuthError;
use serde_json::json;

use super::{OAuth, server_error};
use crate::model::Client;
use crate::secret::TokenHash;
use crate::services::audit::Target;
use crate::services::principal::RequestContext;

impl OAuth {
    pub async fn revoke(
        &self,
        ctx: &RequestContext,
        caller: &Client,
        token: &str,
    ) -> Result<(), OAuthError> {
        let d = &self.deps;
        let now = d.clock.now_millis();
        if !token.contains('.') {
            let found = d
                .store
                .find_refresh_token(&TokenHash::of(token))
                .await
                .map_err(server_error)?;
            if let Some((_, grant)) = found
                && grant.client_id == caller.client_id
            {
                let audit = d.audit(
                    &format!("client:{}", caller.client_id),
                    ctx,
                    "oauth.token_revoked",
                    Target::new("grant", grant.id, Some(grant.org_id)),
                    json!({ "token_type": "refresh_token" }),
                );
                d.store
                    .revoke_grant(grant.id, now, &audit)
                    .await
                    .map_err(server_error)?;
            }
            return Ok(());
        }
        // An access token: ours, this client's, not yet expired.
        let Some((_, payload)) = self.verify_ours(token).await? else {
            return Ok(());
        };
        let Ok(claims) = serde_json::from_slice::<serde_json::Value>(&payload) else {
            return Ok(());
        };
        let (Some(jti), Some(exp)) = (claims["jti"].as_str(), claims["exp"].as_i64()) else {
            return Ok(());
        };
        if claims["iss"] != self.issuer.as_str()
            || claims["client_id"] != caller.client_id.as_str()
            || exp * 1000 <= now
        {
            return Ok(());
        }
        let audit = d.audit(
            &format!("client:{}", caller.client_id),
            ctx,
            "oauth.token_revoked",
            Target::new("client", &caller.client_id, Some(caller.org_id)),
            json!({ "token_type": "access_token", "jti": jti }),
        );
        d.store
            .revoke_jti(jti, exp * 1000, &audit)
            .await
            .map_err(server_error)
    }
}
