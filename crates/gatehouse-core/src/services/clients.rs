// TEMPORARY STUB — replaced by the clients branch at merge. Not committed.
use crate::error::Result;
use crate::model::Client;
use crate::services::Deps;
use gatehouse_oauth::OAuthError;
use gatehouse_oauth::client_auth::ClientAuthentication;
#[derive(Debug, Clone)]
pub struct Clients {
    deps: Deps,
}
impl Clients {
    pub(crate) fn new(deps: Deps) -> Self {
        Self { deps }
    }
    pub async fn find(&self, _id: &str) -> Result<Option<Client>> {
        let _ = &self.deps;
        Ok(None)
    }
    pub async fn authenticate(
        &self,
        _auth: &ClientAuthentication,
        _t: &str,
        _i: &str,
    ) -> std::result::Result<Client, OAuthError> {
        Err(OAuthError::new(gatehouse_oauth::ErrorCode::InvalidClient))
    }
}
