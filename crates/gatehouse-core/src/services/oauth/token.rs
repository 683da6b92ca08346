//! The token endpoint (RFC 6749 §3.2, §4.1.3, §4.4, §6; OpenID Connect Core
//! §3.1.3): authenticate the client, check the grant, issue tokens.
//!
//! - Authorization code: spent atomically on first use; a second use revokes
//!   the grant and every token issued from it (RFC 6749 §4.1.2). The PKCE
//!   verifier must match the challenge (RFC 7636 §4.6), and a verifier without
//!   a challenge is refused so PKCE cannot be downgraded.
//! - Refresh token: rotated on every use; presenting a spent one revokes the
//!   family (OAuth 2.0 Security BCP §4.14.2).
//! - Client credentials: confidential clients only (RFC 6749 §4.4).

use gatehouse_oauth::client_auth::{
    BasicCredentials, BodyCredentials, ClientAuthentication, parse_basic,
};
use gatehouse_oauth::discovery::paths;
use gatehouse_oauth::jwt::{self, typ};
use gatehouse_oauth::pkce;
use gatehouse_oauth::scope::{OFFLINE_ACCESS, Scopes};
use gatehouse_oauth::token_request::TokenRequest;
use gatehouse_oauth::{ErrorCode, OAuthError};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{OAuth, claims, server_error};
use crate::model::{
    Client, ClientGrant, CodeRedemption, Grant, RefreshRotation, RefreshToken, User, UserStatus,
};
use crate::secret::{Secret, TokenHash};
use crate::services::audit::Target;
use crate::services::principal::RequestContext;

/// RFC 6749 §5.1 (and OIDC Core §3.1.3.3 `id_token`).
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    #[serde(serialize_with = "expose")]
    pub access_token: Secret,
    pub token_type: &'static str,
    pub expires_in: u32,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "expose_opt")]
    pub refresh_token: Option<Secret>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub scope: String,
}

/// The token response is where secrets are meant to leave the server.
pub(super) fn expose<S: serde::Serializer>(
    secret: &Secret,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(secret.expose())
}

fn expose_opt<S: serde::Serializer>(
    secret: &Option<Secret>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match secret {
        Some(secret) => serializer.serialize_str(secret.expose()),
        None => serializer.serialize_none(),
    }
}

/// Who a token is for and what it carries, before signing.
pub(super) struct Issue<'a> {
    pub client: &'a Client,
    pub user: Option<&'a User>,
    pub grant: Option<&'a Grant>,
    pub scope: String,
    pub audience: Vec<String>,
    pub nonce: Option<String>,
}

impl OAuth {
    /// Authenticates the client of a token, introspection or revocation request
    /// from the `Authorization` header and the form body.
    pub async fn authenticate_client(
        &self,
        authorization: Option<&str>,
        pairs: &[(String, String)],
    ) -> Result<Client, OAuthError> {
        let basic: Option<BasicCredentials> = match authorization {
            Some(value) => parse_basic(value)?,
            None => None,
        };
        let body = BodyCredentials::parse(pairs)?;
        let auth = ClientAuthentication::from_request(basic, body)?;
        self.clients
            .authenticate(&auth, &self.endpoint(paths::TOKEN), &self.issuer)
            .await
    }

    /// A token request, after the client authenticated.
    pub async fn token(
        &self,
        ctx: &RequestContext,
        client: &Client,
        pairs: &[(String, String)],
    ) -> Result<TokenResponse, OAuthError> {
        match TokenRequest::parse(pairs)? {
            TokenRequest::AuthorizationCode {
                code,
                redirect_uri,
                code_verifier,
                resource,
            } => {
                self.exchange_code(ctx, client, &code, redirect_uri, code_verifier, resource)
                    .await
            }
            TokenRequest::RefreshToken {
                refresh_token,
                scope,
                resource,
            } => {
                self.refresh(ctx, client, &refresh_token, scope, resource)
                    .await
            }
            TokenRequest::ClientCredentials { scope, resource } => {
                self.client_credentials(ctx, client, scope, resource).await
            }
            TokenRequest::DeviceCode { device_code } => {
                self.device_token(ctx, client, &device_code).await
            }
        }
    }

    async fn exchange_code(
        &self,
        ctx: &RequestContext,
        client: &Client,
        code: &gatehouse_oauth::secret::Secret,
        redirect_uri: Option<String>,
        verifier: Option<pkce::CodeVerifier>,
        resource: Vec<String>,
    ) -> Result<TokenResponse, OAuthError> {
        allow(client, ClientGrant::AuthorizationCode)?;
        let d = &self.deps;
        let now = d.clock.now_millis();
        let hash = TokenHash::of(code.expose());
        let reuse_audit = d.audit(
            &format!("client:{}", client.client_id),
            ctx,
            "oauth.code_reused",
            Target::new("client", &client.client_id, Some(client.org_id)),
            json!({ "revoked": "grant" }),
        );
        let (stored, grant) = match d
            .store
            .redeem_code(&hash, now, &reuse_audit)
            .await
            .map_err(server_error)?
        {
            CodeRedemption::Redeemed(found) => *found,
            CodeRedemption::Reused(grant) => {
                tracing::warn!(%grant, client = %client.client_id, "authorization code reused; grant revoked");
                return Err(invalid_grant("the code was already used"));
            }
            CodeRedemption::Unknown => return Err(invalid_grant("the code is invalid or expired")),
        };
        // RFC 6749 §4.1.3: the code was issued to this client, for this redirect URI.
        if grant.client_id != client.client_id {
            return Err(invalid_grant("the code was issued to another client"));
        }
        if (stored.redirect_given || redirect_uri.is_some())
            && redirect_uri.as_deref() != Some(stored.redirect_uri.as_str())
        {
            return Err(invalid_grant(
                "redirect_uri does not match the authorization request",
            ));
        }
        match (&stored.code_challenge, &verifier) {
            (Some(challenge), Some(verifier)) if pkce::verify(verifier.expose(), challenge) => {}
            (Some(_), Some(_)) => return Err(invalid_grant("code_verifier does not match")),
            (Some(_), None) => {
                return Err(OAuthError::with_description(
                    ErrorCode::InvalidRequest,
                    "code_verifier is required",
                ));
            }
            (None, Some(_)) => {
                return Err(invalid_grant(
                    "no code_challenge was sent with the authorization request",
                ));
            }
            (None, None) => {}
        }
        if !grant.is_active(now) {
            return Err(invalid_grant("the grant was revoked"));
        }
        let user = self.active_user(&grant).await?;
        let audience = self.audience(client, &grant.resources, resource)?;
        let refresh = if client.allows_grant(ClientGrant::RefreshToken) {
            Some(self.new_refresh_token(client, &grant, now).await?)
        } else {
            None
        };
        let response = self
            .respond(
                Issue {
                    client,
                    user: Some(&user),
                    grant: Some(&grant),
                    scope: grant.scope.clone(),
                    audience,
                    nonce: stored.nonce.clone(),
                },
                refresh,
            )
            .await?;
        self.audit_issue(ctx, client, Some(&grant), "authorization_code")
            .await?;
        Ok(response)
    }

    async fn refresh(
        &self,
        ctx: &RequestContext,
        client: &Client,
        presented: &gatehouse_oauth::secret::Secret,
        scope: Scopes,
        resource: Vec<String>,
    ) -> Result<TokenResponse, OAuthError> {
        allow(client, ClientGrant::RefreshToken)?;
        let d = &self.deps;
        let now = d.clock.now_millis();
        let hash = TokenHash::of(presented.expose());
        // The token must be this client's before it may be spent.
        let Some((_, grant)) = d
            .store
            .find_refresh_token(&hash)
            .await
            .map_err(server_error)?
        else {
            return Err(invalid_grant("the refresh token is invalid"));
        };
        if grant.client_id != client.client_id {
            return Err(invalid_grant(
                "the refresh token was issued to another client",
            ));
        }
        let requested: Scopes = if scope.is_empty() {
            Scopes::parse(&grant.scope)?
        } else {
            scope
        };
        if !requested.iter().all(|s| grant.has_scope(s)) {
            return Err(OAuthError::with_description(
                ErrorCode::InvalidScope,
                "a refresh may only narrow the granted scope",
            ));
        }
        let secret = Secret::new(d.rng.token(32));
        let successor = RefreshToken {
            token_hash: TokenHash::of(secret.expose()),
            grant_id: grant.id,
            created_at: now,
            expires_at: (now + i64::from(client.lifetimes.refresh_token_secs) * 1000)
                .min(grant.expires_at),
            used_at: None,
        };
        let reuse_audit = d.audit(
            &format!("client:{}", client.client_id),
            ctx,
            "oauth.refresh_token_reused",
            Target::new("grant", grant.id, Some(grant.org_id)),
            json!({ "client_id": client.client_id, "revoked": "grant" }),
        );
        let grant = match d
            .store
            .rotate_refresh_token(&hash, &successor, now, &reuse_audit)
            .await
            .map_err(server_error)?
        {
            RefreshRotation::Rotated(grant) => *grant,
            RefreshRotation::Reused(id) => {
                tracing::warn!(grant = %id, client = %client.client_id, "refresh token reused; grant revoked");
                return Err(invalid_grant("the refresh token was already used"));
            }
            RefreshRotation::Invalid => return Err(invalid_grant("the refresh token is invalid")),
        };
        let user = self.active_user(&grant).await?;
        let audience = self.audience(client, &grant.resources, resource)?;
        let response = self
            .respond(
                Issue {
                    client,
                    user: Some(&user),
                    grant: Some(&grant),
                    scope: requested.to_string(),
                    audience,
                    nonce: None,
                },
                Some(secret),
            )
            .await?;
        self.audit_issue(ctx, client, Some(&grant), "refresh_token")
            .await?;
        Ok(response)
    }

    async fn client_credentials(
        &self,
        ctx: &RequestContext,
        client: &Client,
        scope: Scopes,
        resource: Vec<String>,
    ) -> Result<TokenResponse, OAuthError> {
        allow(client, ClientGrant::ClientCredentials)?;
        if client.is_public() {
            return Err(OAuthError::with_description(
                ErrorCode::UnauthorizedClient,
                "public clients may not use client credentials",
            ));
        }
        // OIDC scopes name a user; a client acting for itself has none.
        if scope.is_openid() || scope.contains(OFFLINE_ACCESS) {
            return Err(OAuthError::with_description(
                ErrorCode::InvalidScope,
                "openid and offline_access need a user",
            ));
        }
        if scope
            .iter()
            .any(|s| !client.allowed_scopes.iter().any(|a| a == s))
        {
            return Err(OAuthError::with_description(
                ErrorCode::InvalidScope,
                "the client may not request this scope",
            ));
        }
        let audience = self.audience(client, &[], resource)?;
        let response = self
            .respond(
                Issue {
                    client,
                    user: None,
                    grant: None,
                    scope: scope.to_string(),
                    audience,
                    nonce: None,
                },
                None,
            )
            .await?;
        self.audit_issue(ctx, client, None, "client_credentials")
            .await?;
        Ok(response)
    }

    /// The grant's user, if still allowed to use it.
    async fn active_user(&self, grant: &Grant) -> Result<User, OAuthError> {
        self.deps
            .store
            .get_user(grant.user_id)
            .await
            .map_err(server_error)?
            .filter(|u| u.status == UserStatus::Active)
            .ok_or_else(|| invalid_grant("the user may no longer sign in"))
    }

    /// RFC 8707 §2.2: requested resources must be among those granted; the
    /// access token's `aud` is them, else the client's configured audience, else
    /// the client itself.
    pub(super) fn audience(
        &self,
        client: &Client,
        granted: &[String],
        requested: Vec<String>,
    ) -> Result<Vec<String>, OAuthError> {
        if !requested.is_empty() {
            if !granted.is_empty() && requested.iter().any(|r| !granted.contains(r)) {
                return Err(OAuthError::with_description(
                    ErrorCode::InvalidTarget,
                    "the resource was not part of the authorization",
                ));
            }
            return Ok(requested);
        }
        if !granted.is_empty() {
            return Ok(granted.to_vec());
        }
        if !client.access_token_audience.is_empty() {
            return Ok(client.access_token_audience.clone());
        }
        Ok(vec![client.client_id.clone()])
    }

    pub(super) async fn new_refresh_token(
        &self,
        client: &Client,
        grant: &Grant,
        now: i64,
    ) -> Result<Secret, OAuthError> {
        let secret = Secret::new(self.deps.rng.token(32));
        let token = RefreshToken {
            token_hash: TokenHash::of(secret.expose()),
            grant_id: grant.id,
            created_at: now,
            expires_at: (now + i64::from(client.lifetimes.refresh_token_secs) * 1000)
                .min(grant.expires_at),
            used_at: None,
        };
        self.deps
            .store
            .add_refresh_token(&token)
            .await
            .map_err(server_error)?;
        Ok(secret)
    }

    /// Signs the access token (RFC 9068) and, for `openid`, the ID token.
    pub(super) async fn respond(
        &self,
        issue: Issue<'_>,
        refresh_token: Option<Secret>,
    ) -> Result<TokenResponse, OAuthError> {
        let d = &self.deps;
        let now = d.clock.now_secs();
        let client = issue.client;
        let access_ttl = client.lifetimes.access_token_secs;
        let jti = match issue.grant {
            Some(grant) => format!("{}.{}", grant.id, d.rng.token(12)),
            None => d.rng.token(16),
        };
        let subject = match issue.user {
            Some(user) => self.subject(client, user),
            None => client.client_id.clone(),
        };
        let mut access = Map::new();
        access.insert("iss".into(), json!(self.issuer));
        access.insert("sub".into(), json!(subject));
        access.insert("aud".into(), audience_claim(&issue.audience));
        access.insert("exp".into(), json!(now + i64::from(access_ttl)));
        access.insert("iat".into(), json!(now));
        access.insert("jti".into(), json!(jti));
        access.insert("client_id".into(), json!(client.client_id));
        if !issue.scope.is_empty() {
            access.insert("scope".into(), json!(issue.scope));
        }
        if let Some(grant) = issue.grant {
            access.insert("auth_time".into(), json!(grant.auth_time / 1000));
            if let Some(acr) = &grant.acr {
                access.insert("acr".into(), json!(acr));
            }
            access.insert("amr".into(), json!(grant.amr));
            if let Some(sid) = grant.session_id {
                access.insert("sid".into(), json!(sid.to_string()));
            }
        }
        let access_key = self
            .keys
            .signer(self.settings.access_token_alg)
            .await
            .map_err(server_error)?;
        let access_token = jwt::sign(&access_key, typ::ACCESS_TOKEN, &access).map_err(|e| {
            tracing::error!(error = %e, "signing an access token failed");
            OAuthError::new(ErrorCode::ServerError)
        })?;

        let scopes: Vec<&str> = issue.scope.split(' ').filter(|s| !s.is_empty()).collect();
        let id_token = match (issue.user, issue.grant) {
            (Some(user), Some(grant)) if scopes.contains(&"openid") => Some(
                self.id_token(
                    client,
                    user,
                    grant,
                    &scopes,
                    issue.nonce.as_deref(),
                    &access_token,
                )
                .await?,
            ),
            _ => None,
        };
        Ok(TokenResponse {
            access_token: Secret::new(access_token),
            token_type: "Bearer",
            expires_in: access_ttl,
            refresh_token,
            id_token,
            scope: issue.scope,
        })
    }

    /// OIDC Core §2 and §3.1.3.6: the ID token with `at_hash`, `sid`, `azp`.
    async fn id_token(
        &self,
        client: &Client,
        user: &User,
        grant: &Grant,
        scopes: &[&str],
        nonce: Option<&str>,
        access_token: &str,
    ) -> Result<String, OAuthError> {
        let now = self.deps.clock.now_secs();
        let alg = self.settings.id_token_alg;
        let mut claims = claims::select(
            user,
            client,
            scopes.iter(),
            grant.claims.as_ref(),
            "id_token",
        );
        claims.insert("iss".into(), json!(self.issuer));
        claims.insert("sub".into(), json!(self.subject(client, user)));
        claims.insert("aud".into(), json!(client.client_id));
        claims.insert("azp".into(), json!(client.client_id));
        claims.insert(
            "exp".into(),
            json!(now + i64::from(client.lifetimes.id_token_secs)),
        );
        claims.insert("iat".into(), json!(now));
        claims.insert("auth_time".into(), json!(grant.auth_time / 1000));
        if let Some(nonce) = nonce {
            claims.insert("nonce".into(), json!(nonce));
        }
        if let Some(acr) = &grant.acr {
            claims.insert("acr".into(), json!(acr));
        }
        claims.insert("amr".into(), json!(grant.amr));
        if let Some(sid) = grant.session_id {
            claims.insert("sid".into(), json!(sid.to_string()));
        }
        claims.insert("at_hash".into(), json!(jwt::token_hash(alg, access_token)));
        let key = self.keys.signer(alg).await.map_err(server_error)?;
        jwt::sign(&key, typ::JWT, &claims).map_err(|e| {
            tracing::error!(error = %e, "signing an ID token failed");
            OAuthError::new(ErrorCode::ServerError)
        })
    }

    /// Records the issue (group-committed: a stateless token stores nothing
    /// else). The response waits for the commit, so no token leaves unaudited.
    async fn audit_issue(
        &self,
        ctx: &RequestContext,
        client: &Client,
        grant: Option<&Grant>,
        grant_type: &str,
    ) -> Result<(), OAuthError> {
        let target = match grant {
            Some(grant) => Target::new("grant", grant.id, Some(grant.org_id)),
            None => Target::new("client", &client.client_id, Some(client.org_id)),
        };
        let event = self.deps.audit(
            &format!("client:{}", client.client_id),
            ctx,
            "oauth.token_issued",
            target,
            json!({ "grant_type": grant_type, "user_id": grant.map(|g| g.user_id) }),
        );
        self.audit_log.record(event).await.map_err(server_error)
    }

    /// The `sub` a client sees for a user: the user id, or for pairwise
    /// clients a per-sector pseudonym (OIDC Core §8.1).
    pub(crate) fn subject(&self, client: &Client, user: &User) -> String {
        subject_for(client, user.id, &self.pairwise_salt)
    }
}

/// [`OAuth::subject`] for a user id, with the instance's pairwise salt
/// (shared with the back-channel logout tokens, which must name the same `sub`).
pub(crate) fn subject_for(client: &Client, user: crate::ids::UserId, salt: &str) -> String {
    match client.subject_type {
        crate::model::SubjectType::Public => user.to_string(),
        crate::model::SubjectType::Pairwise => {
            let sector = client
                .sector_identifier
                .clone()
                .or_else(|| client.redirect_uris.first().and_then(|u| url_host(u)))
                .unwrap_or_else(|| client.client_id.clone());
            let input = format!("{sector}\n{user}\n{salt}");
            TokenHash::of(&input).as_str().to_owned()
        }
    }
}

/// A single audience as a string, several as an array (RFC 7519 §4.1.3).
fn audience_claim(audience: &[String]) -> Value {
    match audience {
        [one] => json!(one),
        many => json!(many),
    }
}

fn url_host(uri: &str) -> Option<String> {
    let rest = uri.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    Some(host.split(':').next().unwrap_or(host).to_ascii_lowercase())
}

pub(super) fn allow(client: &Client, grant: ClientGrant) -> Result<(), OAuthError> {
    if client.allows_grant(grant) {
        Ok(())
    } else {
        Err(OAuthError::with_description(
            ErrorCode::UnauthorizedClient,
            "this client may not use this grant type",
        ))
    }
}

pub(super) fn invalid_grant(description: &'static str) -> OAuthError {
    OAuthError::with_description(ErrorCode::InvalidGrant, description)
}
