//! Turns a presented bearer token into an [`AdminPrincipal`], or refuses it.

use crate::error::{Error, Result};
use crate::secret::TokenHash;
use crate::services::Deps;
use crate::services::principal::AdminPrincipal;

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
    /// unrevoked, unexpired API token whose org still exists. Every failure is `AuthFailed`.
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
                if token.hash.matches(&presented) && token.is_usable(d.clock.now_millis()) =>
            {
                Ok(AdminPrincipal::from_token(token.id, token.scope))
            }
            _ => Err(Error::AuthFailed),
        }
    }
}
