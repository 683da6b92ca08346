//! The device authorization grant (RFC 8628): a device without a browser asks
//! for a code pair, shows the user code, and polls the token endpoint while
//! the user approves on `/device` from another device.
//!
//! User codes are 8 characters of a 20-letter alphabet without vowels (§6.1:
//! no words, easy to type; 20^8 ≈ 2.6·10^10, and a code lives 10 minutes),
//! shown as `BCDF-GHJK` and accepted in any case with or without separators.

use gatehouse_oauth::params::{Params, Repeated};
use gatehouse_oauth::scope::Scopes;
use gatehouse_oauth::{ErrorCode, OAuthError, resource};
use serde::Serialize;
use serde_json::json;

use super::token::{Issue, TokenResponse};
use super::{OAuth, server_error};
use crate::ids::{GrantId, OrgId};
use crate::model::{
    Client, ClientGrant, DeviceApproval, DeviceCode, DevicePoll, DeviceStatus, Grant, SsoSession,
    UserStatus,
};
use crate::secret::{Secret, TokenHash};
use crate::services::audit::Target;
use crate::services::principal::RequestContext;

/// §6.1: consonants only, so no word can be spelled.
const ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
const CODE_TTL_SECS: i64 = 600;
const POLL_INTERVAL_SECS: i64 = 5;

/// RFC 8628 §3.2.
#[derive(Debug, Serialize)]
pub struct DeviceAuthorization {
    #[serde(serialize_with = "super::token::expose")]
    pub device_code: Secret,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: i64,
    pub interval: i64,
}

/// What the `/device` page shows for a user code.
#[derive(Debug, Clone)]
pub struct DeviceScreen {
    pub user_code: String,
    pub client_name: String,
    pub scopes: Vec<String>,
    /// The org whose users may approve it.
    pub org_id: OrgId,
}

/// `BCDF-GHJK` from whatever the user typed, or `None` if it cannot be a code.
pub fn normalise_user_code(typed: &str) -> Option<String> {
    let letters: String = typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if letters.len() != 8 || !letters.bytes().all(|b| ALPHABET.contains(&b)) {
        return None;
    }
    Some(format!("{}-{}", &letters[..4], &letters[4..]))
}

impl OAuth {
    /// `POST /oauth2/device_authorization` for an authenticated client (§3.1).
    pub async fn device_authorization(
        &self,
        client: &Client,
        pairs: &[(String, String)],
    ) -> Result<DeviceAuthorization, OAuthError> {
        if !client.allows_grant(ClientGrant::DeviceCode) {
            return Err(OAuthError::with_description(
                ErrorCode::UnauthorizedClient,
                "this client may not use the device authorization grant",
            ));
        }
        let params = Params::new(pairs);
        let scope = Scopes::parse(
            params
                .single("scope")
                .map_err(Repeated::to_oauth_error)?
                .unwrap_or(""),
        )?;
        if scope
            .iter()
            .any(|s| !client.allowed_scopes.iter().any(|a| a == s))
        {
            return Err(OAuthError::with_description(
                ErrorCode::InvalidScope,
                "the client may not request this scope",
            ));
        }
        let resources = resource::parse_all(&params)?;
        let d = &self.deps;
        let now = d.clock.now_millis();
        let device_code = Secret::new(d.rng.token(32));
        let user_code = self.new_user_code();
        let code = DeviceCode {
            device_code_hash: TokenHash::of(device_code.expose()),
            user_code: user_code.clone(),
            client_id: client.client_id.clone(),
            scope: scope.to_string(),
            resources,
            status: DeviceStatus::Pending,
            approval: None,
            interval_secs: POLL_INTERVAL_SECS,
            last_polled_at: None,
            created_at: now,
            expires_at: now + CODE_TTL_SECS * 1000,
        };
        d.store
            .create_device_code(&code)
            .await
            .map_err(server_error)?;
        let page = self.endpoint(gatehouse_oauth::discovery::paths::DEVICE_PAGE);
        Ok(DeviceAuthorization {
            device_code,
            verification_uri_complete: format!("{page}?user_code={user_code}"),
            verification_uri: page,
            user_code,
            expires_in: CODE_TTL_SECS,
            interval: POLL_INTERVAL_SECS,
        })
    }

    fn new_user_code(&self) -> String {
        let mut bytes = [0u8; 8];
        self.deps.rng.fill(&mut bytes);
        let letters: String = bytes
            .iter()
            .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
            .collect();
        format!("{}-{}", &letters[..4], &letters[4..])
    }

    /// The pending request a typed user code names, if any.
    pub async fn device_screen(&self, typed: &str) -> Result<Option<DeviceScreen>, OAuthError> {
        let Some(user_code) = normalise_user_code(typed) else {
            return Ok(None);
        };
        let now = self.deps.clock.now_millis();
        let Some(code) = self
            .deps
            .store
            .find_device_code(&user_code, now)
            .await
            .map_err(server_error)?
            .filter(|c| c.status == DeviceStatus::Pending)
        else {
            return Ok(None);
        };
        let Some(client) = self
            .clients
            .find(&code.client_id)
            .await
            .map_err(server_error)?
        else {
            return Ok(None);
        };
        Ok(Some(DeviceScreen {
            user_code,
            client_name: client.name,
            scopes: code
                .scope
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            org_id: client.org_id,
        }))
    }

    /// The signed-in user's answer on `/device`. `false` when the code is no
    /// longer pending (expired, already answered, or of another org).
    pub async fn decide_device(
        &self,
        ctx: &RequestContext,
        typed: &str,
        session: &SsoSession,
        allow: bool,
    ) -> Result<bool, OAuthError> {
        let Some(screen) = self.device_screen(typed).await? else {
            return Ok(false);
        };
        if screen.org_id != session.org_id {
            return Ok(false);
        }
        let approval = DeviceApproval {
            user_id: session.user_id,
            session_id: session.id,
            auth_time: session.auth_time,
            amr: session.amr.clone(),
            acr: session.acr.clone(),
        };
        let audit = self.deps.audit(
            &format!("user:{}", session.user_id),
            ctx,
            if allow {
                "device.approved"
            } else {
                "device.denied"
            },
            Target::new("device_code", &screen.user_code, Some(screen.org_id)),
            json!({ "scopes": screen.scopes }),
        );
        self.deps
            .store
            .decide_device_code(
                &screen.user_code,
                allow.then_some(&approval),
                self.deps.clock.now_millis(),
                &audit,
            )
            .await
            .map_err(server_error)
    }

    /// The token request of the device grant (§3.4–3.5).
    pub(super) async fn device_token(
        &self,
        ctx: &RequestContext,
        client: &Client,
        device_code: &gatehouse_oauth::secret::Secret,
    ) -> Result<TokenResponse, OAuthError> {
        super::token::allow(client, ClientGrant::DeviceCode)?;
        let d = &self.deps;
        let now = d.clock.now_millis();
        let poll = d
            .store
            .poll_device_code(&TokenHash::of(device_code.expose()), now)
            .await
            .map_err(server_error)?;
        let code = match poll {
            DevicePoll::Approved(code) if code.client_id == client.client_id => *code,
            DevicePoll::Approved(_) | DevicePoll::Consumed => {
                return Err(super::token::invalid_grant("the device code is not valid"));
            }
            DevicePoll::Expired => {
                return Err(OAuthError::with_description(
                    ErrorCode::ExpiredToken,
                    "the device code expired; start again",
                ));
            }
            DevicePoll::SlowDown => return Err(OAuthError::new(ErrorCode::SlowDown)),
            DevicePoll::Pending => return Err(OAuthError::new(ErrorCode::AuthorizationPending)),
            DevicePoll::Denied => {
                return Err(OAuthError::with_description(
                    ErrorCode::AccessDenied,
                    "the user denied the request",
                ));
            }
        };
        let Some(approval) = code.approval else {
            return Err(super::token::invalid_grant("the device code is not valid"));
        };
        let user = d
            .store
            .get_user(approval.user_id)
            .await
            .map_err(server_error)?
            .filter(|u| u.status == UserStatus::Active && u.org_id == client.org_id)
            .ok_or_else(|| super::token::invalid_grant("the user may no longer sign in"))?;
        let grant = Grant {
            id: GrantId::generate(d.clock.as_ref(), d.rng.as_ref()),
            client_id: client.client_id.clone(),
            org_id: client.org_id,
            user_id: user.id,
            session_id: None,
            scope: code.scope.clone(),
            resources: code.resources.clone(),
            claims: None,
            auth_time: approval.auth_time,
            acr: approval.acr.clone(),
            amr: approval.amr.clone(),
            created_at: now,
            expires_at: now + i64::from(client.lifetimes.refresh_family_secs) * 1000,
            revoked_at: None,
        };
        let audit = d.audit(
            &format!("client:{}", client.client_id),
            ctx,
            "oauth.token_issued",
            Target::new("grant", grant.id, Some(grant.org_id)),
            json!({ "grant_type": "device_code", "user_id": user.id }),
        );
        d.store
            .create_grant(&grant, &audit)
            .await
            .map_err(server_error)?;
        let audience = self.audience(client, &grant.resources, Vec::new())?;
        let refresh = if client.allows_grant(ClientGrant::RefreshToken) {
            Some(self.new_refresh_token(client, &grant, now).await?)
        } else {
            None
        };
        self.respond(
            Issue {
                client,
                user: Some(&user),
                grant: Some(&grant),
                scope: grant.scope.clone(),
                audience,
                nonce: None,
            },
            refresh,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_are_normalised_and_checked() {
        assert_eq!(
            normalise_user_code("bcdf-ghjk").as_deref(),
            Some("BCDF-GHJK")
        );
        assert_eq!(
            normalise_user_code(" BCDF GHJK ").as_deref(),
            Some("BCDF-GHJK")
        );
        assert_eq!(
            normalise_user_code("BCDFGHJK").as_deref(),
            Some("BCDF-GHJK")
        );
        assert_eq!(
            normalise_user_code("ABCD-EFGH"),
            None,
            "vowels are not in the alphabet"
        );
        assert_eq!(normalise_user_code("BCDF-GHJ"), None);
        assert_eq!(normalise_user_code(""), None);
    }
}
