// TEMPORARY STUB — replaced by the keys branch at merge. Not committed.
use std::sync::Arc;
use gatehouse_oauth::jwk::{Algorithm, Jwks, KeySet, SigningKey};
use crate::error::{Error, Result};
#[derive(Debug, Default)]
pub struct Keys;
impl Keys {
    pub async fn signer(&self, _alg: Algorithm) -> Result<Arc<SigningKey>> { Err(Error::Internal("stub".into())) }
    pub async fn verifier(&self) -> Result<Arc<KeySet>> { Ok(Arc::new(KeySet::from_jwks(&Jwks::default()))) }
}
