//! Turns a presented bearer token into an [`AdminPrincipal`], or refuses it.

use crate::error::{Error, Result};
use crate::ids::OrgId;
use crate::model::{TokenKind, TokenScope};
use crate::secret::TokenHash;
use crate::services::Deps;
use crate::services::principal::{AdminPrincipal, ScimPrincipal};

#[derive(Debug, Clone)]
pub struct AdminAuth {
    deps: Deps,
    bootstrap: Option<TokenHash>,
}

impl AdminAuth {
    pub(crate) fn new(deps: Deps, bootstrap: Option<TokenHash>) -> Self {
        Self { deps, bootstrap }
    }

    /// Checks a bearer token: the bootstrap token (constant-time), else a stored,
    /// unrevoked, unexpired admin API token whose org still exists (a SCIM
    /// token is refused). Every failure is `AuthFailed`.
    pub async fn authenticate(&self, bearer: &str) -> Result<AdminPrincipal> {
        let presented = TokenHash::of(bearer);
        if self
            .bootstrap
            .as_ref()
            .is_some_and(|b| b.matches(&presented))
        {
            return Ok(AdminPrincipal::bootstrap());
        }
        let d = &self.deps;
        match d.store.find_api_token(&presented).await? {
            Some(token)
                if token.kind == TokenKind::Admin
                    && token.hash.matches(&presented)
                    && token.is_usable(d.clock.now_millis()) =>
            {
                Ok(AdminPrincipal::from_token(token.id, token.scope))
            }
            _ => Err(Error::AuthFailed),
        }
    }

    /// Checks a SCIM client's bearer token: a SCIM token acts on its org; an
    /// admin token (or the bootstrap token) on its org, the default org for
    /// an instance token. Every failure is `AuthFailed`.
    pub async fn authenticate_scim(&self, bearer: &str) -> Result<ScimPrincipal> {
        let presented = TokenHash::of(bearer);
        if self
            .bootstrap
            .as_ref()
            .is_some_and(|b| b.matches(&presented))
        {
            return Ok(ScimPrincipal::new("bootstrap".into(), OrgId::DEFAULT));
        }
        let d = &self.deps;
        let token = match d.store.find_api_token(&presented).await? {
            Some(token)
                if token.hash.matches(&presented) && token.is_usable(d.clock.now_millis()) =>
            {
                token
            }
            _ => return Err(Error::AuthFailed),
        };
        let org = match token.scope {
            TokenScope::Instance => OrgId::DEFAULT,
            TokenScope::Org(org) => org,
        };
        let actor = match token.kind {
            TokenKind::Admin => format!("token:{}", token.id),
            TokenKind::Scim => format!("scim_token:{}", token.id),
        };
        Ok(ScimPrincipal::new(actor, org))
    }
}
