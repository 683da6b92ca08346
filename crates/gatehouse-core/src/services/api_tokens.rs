//! Admin API tokens: created (shown once), listed, revoked.

use crate::error::{Error, Result};
use crate::ids::{ApiTokenId, OrgId};
use crate::model::{ApiToken, TokenKind, TokenScope};
use crate::secret::{Secret, TokenHash};
use crate::services::Deps;
use crate::services::audit::Target;
use crate::services::principal::{AdminPrincipal, RequestContext};

/// Every token starts with this, so secret scanners can recognise leaked ones.
pub const TOKEN_PREFIX: &str = "gha_";
/// Random bytes in a token (256 bits).
const TOKEN_BYTES: usize = 32;
/// Characters of the token kept in clear to recognise it in lists.
const SHOWN_PREFIX_LEN: usize = 12;

#[derive(Debug, Clone, Default)]
pub struct NewApiToken {
    pub name: String,
    /// `Some(org)` for an org-scoped token; `None` for an instance token (instance principals only).
    pub org_id: Option<OrgId>,
    /// Lifetime in seconds; `None` never expires.
    pub expires_in: Option<i64>,
    /// `Scim` tokens serve `/scim/v2` of one org only (the caller's or `org_id`).
    pub kind: TokenKind,
}

#[derive(Debug, Clone)]
pub struct ApiTokens {
    deps: Deps,
}

impl ApiTokens {
    pub(crate) fn new(deps: Deps) -> Self {
        Self { deps }
    }

    /// Creates a token and returns it with its secret, which is never stored or shown again.
    pub async fn create(
        &self,
        who: &AdminPrincipal,
        ctx: &RequestContext,
        new: NewApiToken,
    ) -> Result<(ApiToken, Secret)> {
        let scope = match (who.scope(), new.org_id) {
            (TokenScope::Instance, None) => TokenScope::Instance,
            (TokenScope::Instance, Some(org)) => TokenScope::Org(org),
            (TokenScope::Org(own), Some(org)) if org == own => TokenScope::Org(own),
            (TokenScope::Org(_), Some(_)) => return Err(Error::NotFound("org")),
            (TokenScope::Org(own), None) => TokenScope::Org(own),
        };
        // A SCIM client provisions one org: the default one unless named.
        let scope = match (new.kind, scope) {
            (TokenKind::Scim, TokenScope::Instance) => TokenScope::Org(crate::ids::OrgId::DEFAULT),
            (_, scope) => scope,
        };
        let name = new.name.trim().to_owned();
        if name.is_empty() || name.len() > 200 {
            return Err(Error::invalid(
                "name",
                "invalid_length",
                "must be 1-200 bytes",
            ));
        }
        if new.expires_in.is_some_and(|s| s <= 0) {
            return Err(Error::invalid(
                "expires_in",
                "invalid_value",
                "must be a positive number of seconds",
            ));
        }
        let d = &self.deps;
        if let TokenScope::Org(org) = scope
            && d.store.get_org(org).await?.is_none()
        {
            return Err(Error::NotFound("org"));
        }
        let secret = Secret::new(format!("{TOKEN_PREFIX}{}", d.rng.token(TOKEN_BYTES)));
        let now = d.clock.now_millis();
        let token = ApiToken {
            id: ApiTokenId::generate(d.clock.as_ref(), d.rng.as_ref()),
            name,
            scope,
            kind: new.kind,
            hash: TokenHash::of(secret.expose()),
            prefix: secret.expose().chars().take(SHOWN_PREFIX_LEN).collect(),
            created_at: now,
            expires_at: new
                .expires_in
                .map(|s| now.saturating_add(s.saturating_mul(1000))),
            revoked_at: None,
            created_by: who.actor().to_owned(),
        };
        let audit = d.audit(
            who.actor(),
            ctx,
            "api_token.create",
            token_target(&token),
            serde_json::json!({ "name": token.name, "kind": token.kind.as_str() }),
        );
        d.store.create_api_token(&token, &audit).await?;
        Ok((token, secret))
    }

    pub async fn list(&self, who: &AdminPrincipal) -> Result<Vec<ApiToken>> {
        let scope = who.org_filter().map(TokenScope::Org);
        Ok(self.deps.store.list_api_tokens(scope).await?)
    }

    pub async fn get(&self, who: &AdminPrincipal, id: ApiTokenId) -> Result<ApiToken> {
        match self.deps.store.get_api_token(id).await? {
            Some(t) if visible(who, &t) => Ok(t),
            _ => Err(Error::NotFound("api_token")),
        }
    }

    /// Revokes a token; revoking one twice is a conflict.
    pub async fn revoke(
        &self,
        who: &AdminPrincipal,
        ctx: &RequestContext,
        id: ApiTokenId,
    ) -> Result<ApiToken> {
        let token = self.get(who, id).await?;
        let d = &self.deps;
        let now = d.clock.now_millis();
        let audit = d.audit(
            who.actor(),
            ctx,
            "api_token.revoke",
            token_target(&token),
            serde_json::json!({ "name": token.name }),
        );
        if !d.store.revoke_api_token(id, now, &audit).await? {
            return Err(Error::Conflict("the token is already revoked".into()));
        }
        Ok(ApiToken {
            revoked_at: Some(now),
            ..token
        })
    }
}

fn visible(who: &AdminPrincipal, token: &ApiToken) -> bool {
    match token.scope {
        TokenScope::Instance => who.scope() == TokenScope::Instance,
        TokenScope::Org(org) => who.can_access(org),
    }
}

fn token_target(token: &ApiToken) -> Target {
    let org = match token.scope {
        TokenScope::Instance => None,
        TokenScope::Org(org) => Some(org),
    };
    Target::new("api_token", token.id, org)
}
