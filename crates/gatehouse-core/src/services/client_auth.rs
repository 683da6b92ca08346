//! Client authentication at the token, introspection and revocation endpoints
//! (RFC 6749 §2.3, OpenID Connect Core §9): the credentials a request carried
//! ([`ClientAuthentication`], parsed by `gatehouse-oauth`) checked against the
//! registered client.
//!
//! Every refusal is the same `invalid_client`, whatever went wrong, and is
//! recorded as a `client.authentication_failed` audit event naming the reason
//! (never the secret or the assertion).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_oauth::client_auth::ClientAuthentication;
use gatehouse_oauth::error::{ErrorCode, OAuthError};
use gatehouse_oauth::jwk::{Algorithm, Jwks, KeySet};
use gatehouse_oauth::jwt::{self, DEFAULT_LEEWAY_SECS, JwtError, Validation};

use crate::error::StoreError;
use crate::model::{Client, ClientAuthMethod, Outcome};
use crate::secret::TokenHash;
use crate::services::audit::Target;
use crate::services::clients::{Clients, client_target};
use crate::services::principal::RequestContext;

/// The longest an assertion may live from now (`exp`), in seconds: RFC 7523
/// §3 lets the server bound it, and a short bound keeps the `jti` table small.
pub const MAX_ASSERTION_LIFETIME_SECS: i64 = 3600;
/// Longest accepted `jti`.
const MAX_JTI_LEN: usize = 256;
/// Longest client id written into an audit event for an unknown client.
const MAX_AUDITED_ID_LEN: usize = 128;

/// Why a client was refused; recorded in the audit event, never sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    UnknownClient,
    WrongMethod,
    WrongSecret,
    ExpiredSecret,
    NoKeys,
    BadAssertion,
    AssertionTooLong,
    MissingJti,
    ReplayedJti,
    ClientIdMismatch,
}

impl Refusal {
    fn as_str(self) -> &'static str {
        match self {
            Self::UnknownClient => "unknown_client",
            Self::WrongMethod => "wrong_method",
            Self::WrongSecret => "wrong_secret",
            Self::ExpiredSecret => "expired_secret",
            Self::NoKeys => "no_registered_keys",
            Self::BadAssertion => "invalid_assertion",
            Self::AssertionTooLong => "assertion_lifetime_too_long",
            Self::MissingJti => "missing_jti",
            Self::ReplayedJti => "replayed_jti",
            Self::ClientIdMismatch => "client_id_mismatch",
        }
    }
}

enum Failure {
    Refused {
        client_id: String,
        client: Option<Box<Client>>,
        reason: Refusal,
        detail: Option<JwtError>,
    },
    Store(StoreError),
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Store(e)
    }
}

fn refused(client_id: &str, client: Option<&Client>, reason: Refusal) -> Failure {
    Failure::Refused {
        client_id: client_id.to_owned(),
        client: client.map(|c| Box::new(c.clone())),
        reason,
        detail: None,
    }
}

/// The claims of a `private_key_jwt` assertion beyond what [`jwt::verify`] checks.
#[derive(serde::Deserialize)]
struct AssertionClaims {
    sub: Option<String>,
    exp: i64,
    jti: Option<String>,
}

impl Clients {
    /// Authenticates the client of a token, introspection or revocation request.
    ///
    /// - RFC 6749 §2.3 / OIDC Core §9: the method used must be the client's
    ///   registered `token_endpoint_auth_method`; `none` only for public clients.
    /// - Shared secrets are compared as SHA-256 hashes in constant time; an
    ///   unknown client costs the same hashing and comparison as a known one,
    ///   and answers the same `invalid_client`. An expired secret is refused
    ///   (RFC 7591 §3.2.1 `client_secret_expires_at`).
    /// - RFC 7523 §3 (`private_key_jwt`): the assertion is verified against the
    ///   client's registered JWKS (RS256, ES256, EdDSA only: no `none`, no
    ///   HMAC); `iss` and `sub` are the client id; `aud` contains the token
    ///   endpoint URL or the issuer; `exp` is required, in the future and at
    ///   most an hour away; `jti` is required and accepted once.
    pub async fn authenticate(
        &self,
        auth: &ClientAuthentication,
        token_endpoint_url: &str,
        issuer: &str,
    ) -> Result<Client, OAuthError> {
        match self.check(auth, token_endpoint_url, issuer).await {
            Ok(client) => Ok(client),
            Err(Failure::Refused {
                client_id,
                client,
                reason,
                detail,
            }) => {
                self.audit_failure(auth, &client_id, client.as_deref(), reason, detail)
                    .await;
                Err(OAuthError::with_description(
                    ErrorCode::InvalidClient,
                    "client authentication failed",
                ))
            }
            Err(Failure::Store(e)) => {
                tracing::error!(cause = %e, "storage error during client authentication");
                Err(OAuthError::new(ErrorCode::ServerError))
            }
        }
    }

    async fn check(
        &self,
        auth: &ClientAuthentication,
        token_endpoint_url: &str,
        issuer: &str,
    ) -> Result<Client, Failure> {
        match auth {
            ClientAuthentication::SecretBasic {
                client_id,
                client_secret,
            }
            | ClientAuthentication::SecretPost {
                client_id,
                client_secret,
            } => {
                let used = match auth {
                    ClientAuthentication::SecretBasic { .. } => ClientAuthMethod::ClientSecretBasic,
                    _ => ClientAuthMethod::ClientSecretPost,
                };
                // Hash and compare before looking at anything else, known client or not.
                let presented = TokenHash::of(client_secret.expose());
                let client = self.deps.store.get_client(client_id).await?;
                let expected = client
                    .as_ref()
                    .and_then(|c| c.secret_hash.clone())
                    .unwrap_or_else(unknown_client_hash);
                let secret_ok = expected.matches(&presented);
                let Some(client) = client else {
                    return Err(refused(client_id, None, Refusal::UnknownClient));
                };
                if client.auth_method != used {
                    return Err(refused(client_id, Some(&client), Refusal::WrongMethod));
                }
                if !secret_ok || client.secret_hash.is_none() {
                    return Err(refused(client_id, Some(&client), Refusal::WrongSecret));
                }
                if client
                    .secret_expires_at
                    .is_some_and(|at| self.deps.clock.now_millis() >= at)
                {
                    return Err(refused(client_id, Some(&client), Refusal::ExpiredSecret));
                }
                Ok(client)
            }
            ClientAuthentication::None { client_id } => {
                match self.deps.store.get_client(client_id).await? {
                    Some(client) if client.is_public() => Ok(client),
                    Some(client) => Err(refused(client_id, Some(&client), Refusal::WrongMethod)),
                    None => Err(refused(client_id, None, Refusal::UnknownClient)),
                }
            }
            ClientAuthentication::PrivateKeyJwt {
                client_id,
                assertion,
            } => {
                self.check_assertion(
                    client_id.as_deref(),
                    assertion.expose(),
                    token_endpoint_url,
                    issuer,
                )
                .await
            }
        }
    }

    async fn check_assertion(
        &self,
        claimed_id: Option<&str>,
        assertion: &str,
        token_endpoint_url: &str,
        issuer: &str,
    ) -> Result<Client, Failure> {
        // The subject names the client whose keys verify the assertion; it is
        // trusted only once the signature has been checked with those keys.
        let Some(subject) = unverified_subject(assertion) else {
            return Err(refused(
                claimed_id.unwrap_or("-"),
                None,
                Refusal::BadAssertion,
            ));
        };
        if claimed_id.is_some_and(|id| id != subject) {
            return Err(refused(&subject, None, Refusal::ClientIdMismatch));
        }
        let client_id = subject.as_str();
        let Some(client) = self.deps.store.get_client(client_id).await? else {
            return Err(refused(client_id, None, Refusal::UnknownClient));
        };
        if client.auth_method != ClientAuthMethod::PrivateKeyJwt {
            return Err(refused(client_id, Some(&client), Refusal::WrongMethod));
        }
        let keys = client
            .jwks
            .as_ref()
            .and_then(|j| serde_json::from_value::<Jwks>(j.clone()).ok())
            .map(|j| KeySet::from_jwks(&j))
            .filter(|k| !k.is_empty());
        let Some(keys) = keys else {
            return Err(refused(client_id, Some(&client), Refusal::NoKeys));
        };
        let now = self.deps.clock.now_secs();
        let validation = |audience| Validation {
            algorithms: &Algorithm::ALL,
            typ: None,
            issuer: client_id,
            audience,
            now,
            leeway: DEFAULT_LEEWAY_SECS,
        };
        let verified =
            match jwt::verify::<AssertionClaims>(assertion, &keys, &validation(token_endpoint_url))
            {
                Err(JwtError::Audience) => {
                    jwt::verify::<AssertionClaims>(assertion, &keys, &validation(issuer))
                }
                other => other,
            };
        let claims = match verified {
            Ok(v) => v.claims,
            Err(e) => {
                return Err(Failure::Refused {
                    client_id: client_id.to_owned(),
                    client: Some(Box::new(client)),
                    reason: Refusal::BadAssertion,
                    detail: Some(e),
                });
            }
        };
        if claims.sub.as_deref() != Some(client_id) {
            return Err(refused(client_id, Some(&client), Refusal::ClientIdMismatch));
        }
        if claims.exp > now.saturating_add(MAX_ASSERTION_LIFETIME_SECS) {
            return Err(refused(client_id, Some(&client), Refusal::AssertionTooLong));
        }
        let Some(jti) = claims
            .jti
            .filter(|j| !j.is_empty() && j.len() <= MAX_JTI_LEN)
        else {
            return Err(refused(client_id, Some(&client), Refusal::MissingJti));
        };
        // Kept until the assertion could no longer pass `exp` (with leeway).
        let keep_until = claims
            .exp
            .saturating_add(DEFAULT_LEEWAY_SECS)
            .saturating_mul(1000);
        let hash = TokenHash::of(&format!("{client_id}\n{jti}"));
        let first = self
            .deps
            .store
            .use_assertion_jti(&hash, keep_until, self.deps.clock.now_millis())
            .await?;
        if !first {
            return Err(refused(client_id, Some(&client), Refusal::ReplayedJti));
        }
        Ok(client)
    }

    async fn audit_failure(
        &self,
        auth: &ClientAuthentication,
        client_id: &str,
        client: Option<&Client>,
        reason: Refusal,
        detail: Option<JwtError>,
    ) {
        let target = match client {
            Some(client) => client_target(client),
            None => Target::new("client", truncate(client_id, MAX_AUDITED_ID_LEN), None),
        };
        let mut event = self.deps.audit(
            "anonymous",
            &RequestContext::default(),
            "client.authentication_failed",
            target,
            serde_json::json!({
                "method": auth.method().as_str(),
                "reason": reason.as_str(),
                "assertion_error": detail.map(|d| d.to_string()),
            }),
        );
        event.outcome = Outcome::Failure;
        if let Err(e) = self.deps.store.append_audit(&event).await {
            tracing::error!(cause = %e, "could not record a failed client authentication");
        }
    }
}

/// The hash an unknown client's secret is compared with, so the comparison
/// costs the same; no presented secret hashes to it (it is not a SHA-256 of anything known).
fn unknown_client_hash() -> TokenHash {
    TokenHash::from_stored("0".repeat(64))
}

/// The `sub` (else `iss`) of a JWT's payload, read without verifying anything.
fn unverified_subject(token: &str) -> Option<String> {
    if token.len() > jwt::MAX_TOKEN_LEN {
        return None;
    }
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims
        .get("sub")
        .or_else(|| claims.get("iss"))
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
