//! OAuth client administration: create (the secret shown once), read, list,
//! merge-patch update, delete and secret rotation for administrators, and the
//! same for Dynamic Client Registration (RFC 7591) and its management protocol
//! (RFC 7592), where the client holds a registration access token instead.
//! Authenticating a client at the token endpoint lives in `client_auth`.

use serde_json::Value;

use crate::error::{Error, Result, StoreError};
use crate::ids::OrgId;
use crate::model::{Client, ClientQuery, Page};
use crate::secret::{Secret, TokenHash};
use crate::services::Deps;
use crate::services::audit::Target;
use crate::services::client_settings::ClientSettings;
use crate::services::principal::{AdminPrincipal, RequestContext};
use crate::services::profile::merge_patch;

/// Random bytes in a client secret and a registration access token (256 bits).
const SECRET_BYTES: usize = 32;
/// Longest client id chosen by the caller.
const MAX_CLIENT_ID_LEN: usize = 128;
/// How many times an update without `If-Match` re-reads and retries after losing a race.
const UPDATE_RETRIES: usize = 8;

/// A create-client request.
#[derive(Debug, Clone, Default)]
pub struct NewClient {
    /// A chosen `client_id` (1–128 characters of `A-Z a-z 0-9 . _ ~ -`); default a UUIDv7.
    pub client_id: Option<String>,
    /// Default: the caller's org (the default org for instance callers).
    pub org_id: Option<OrgId>,
    pub settings: ClientSettings,
    /// Seconds until the secret expires; `None` never.
    pub secret_expires_in: Option<i64>,
}

/// A dynamically registered client with what the registration response shows once.
#[derive(Debug, Clone)]
pub struct Registration {
    pub client: Client,
    /// The client secret, for confidential clients using a shared secret.
    pub secret: Option<Secret>,
    /// The RFC 7592 registration access token.
    pub registration_token: Secret,
}

#[derive(Debug, Clone)]
pub struct Clients {
    pub(super) deps: Deps,
}

impl Clients {
    pub(crate) fn new(deps: Deps) -> Self {
        Self { deps }
    }

    /// Creates a client; the secret (for `client_secret_*` methods) is returned
    /// this once and stored only as its SHA-256.
    pub async fn create(
        &self,
        who: &AdminPrincipal,
        ctx: &RequestContext,
        new: NewClient,
    ) -> Result<(Client, Option<Secret>)> {
        let (client, secret) = self.build(who, new).await?;
        let audit = self.deps.audit(
            who.actor(),
            ctx,
            "client.created",
            client_target(&client),
            serde_json::json!({ "client_name": client.name, "auth_method": client.auth_method.as_str() }),
        );
        self.insert(&client, &audit).await?;
        Ok((client, secret))
    }

    /// Registers a client through RFC 7591: as [`Clients::create`], plus a
    /// registration access token for RFC 7592 management.
    pub async fn register(
        &self,
        who: &AdminPrincipal,
        ctx: &RequestContext,
        org_id: Option<OrgId>,
        settings: ClientSettings,
    ) -> Result<Registration> {
        let new = NewClient {
            client_id: None,
            org_id,
            settings,
            secret_expires_in: None,
        };
        let (mut client, secret) = self.build(who, new).await?;
        let registration_token = Secret::new(self.deps.rng.token(SECRET_BYTES));
        client.registration_token_hash = Some(TokenHash::of(registration_token.expose()));
        let audit = self.deps.audit(
            who.actor(),
            ctx,
            "client.created",
            client_target(&client),
            serde_json::json!({ "client_name": client.name, "auth_method": client.auth_method.as_str(), "registration": "rfc7591" }),
        );
        self.insert(&client, &audit).await?;
        Ok(Registration {
            client,
            secret,
            registration_token,
        })
    }

    pub async fn get(&self, who: &AdminPrincipal, client_id: &str) -> Result<Client> {
        match self.deps.store.get_client(client_id).await? {
            Some(client) if who.can_access(client.org_id) => Ok(client),
            _ => Err(Error::NotFound("client")),
        }
    }

    /// Looks a client up by id, for the protocol endpoints (no principal).
    pub async fn find(&self, client_id: &str) -> Result<Option<Client>> {
        Ok(self.deps.store.get_client(client_id).await?)
    }

    pub async fn list(&self, who: &AdminPrincipal, mut query: ClientQuery) -> Result<Page<Client>> {
        match (who.org_filter(), query.org_id) {
            (Some(own), Some(asked)) if own != asked => {
                return Ok(Page {
                    items: Vec::new(),
                    next: None,
                });
            }
            (Some(own), _) => query.org_id = Some(own),
            (None, _) => {}
        }
        Ok(self.deps.store.list_clients(&query).await?)
    }

    /// Applies an RFC 7396 merge patch to the client's settings
    /// ([`ClientSettings`]). With `if_match`, fails with `PreconditionFailed`
    /// unless that is the current version; without, retries a lost race so
    /// concurrent patches of different fields all land.
    pub async fn update(
        &self,
        who: &AdminPrincipal,
        ctx: &RequestContext,
        client_id: &str,
        patch: &Value,
        if_match: Option<i64>,
    ) -> Result<Client> {
        if !patch.is_object() {
            return Err(Error::invalid(
                "",
                "invalid_type",
                "a merge patch must be a JSON object",
            ));
        }
        let changed: Vec<String> = patch
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        for _ in 0..UPDATE_RETRIES {
            let current = self.get(who, client_id).await?;
            if if_match.is_some_and(|v| v != current.version) {
                return Err(Error::PreconditionFailed);
            }
            let mut doc = ClientSettings::of(&current).to_json();
            merge_patch(&mut doc, patch);
            let settings = ClientSettings::from_json(doc)?;
            settings.validate()?;
            let mut next = current.clone();
            settings.apply(&mut next);
            next.updated_at = self.deps.clock.now_millis();
            let audit = self.deps.audit(
                who.actor(),
                ctx,
                "client.updated",
                client_target(&current),
                serde_json::json!({ "fields": changed }),
            );
            match self.deps.store.update_client(&next, &audit).await {
                Ok(stored) => return Ok(stored),
                Err(StoreError::VersionConflict) if if_match.is_none() => continue,
                Err(StoreError::Missing(_)) => return Err(Error::NotFound("client")),
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Conflict(
            "the client is being changed concurrently; retry".into(),
        ))
    }

    pub async fn delete(
        &self,
        who: &AdminPrincipal,
        ctx: &RequestContext,
        client_id: &str,
    ) -> Result<()> {
        let client = self.get(who, client_id).await?;
        let audit = self.deps.audit(
            who.actor(),
            ctx,
            "client.deleted",
            client_target(&client),
            serde_json::json!({ "client_name": client.name }),
        );
        if self.deps.store.delete_client(client_id, &audit).await? {
            Ok(())
        } else {
            Err(Error::NotFound("client"))
        }
    }

    /// Replaces the client's secret with a new one, returned this once; the old
    /// one stops working at once. Only for `client_secret_*` clients.
    pub async fn rotate_secret(
        &self,
        who: &AdminPrincipal,
        ctx: &RequestContext,
        client_id: &str,
        expires_in: Option<i64>,
    ) -> Result<(Client, Secret)> {
        check_expires_in(expires_in)?;
        for _ in 0..UPDATE_RETRIES {
            let current = self.get(who, client_id).await?;
            if !current.auth_method.uses_secret() {
                return Err(Error::Conflict(format!(
                    "a client using {} has no secret",
                    current.auth_method.as_str()
                )));
            }
            let d = &self.deps;
            let secret = Secret::new(d.rng.token(SECRET_BYTES));
            let now = d.clock.now_millis();
            let mut next = current.clone();
            next.secret_hash = Some(TokenHash::of(secret.expose()));
            next.secret_expires_at = expiry(now, expires_in);
            next.updated_at = now;
            let audit = d.audit(
                who.actor(),
                ctx,
                "client.secret_rotated",
                client_target(&current),
                serde_json::json!({ "expires_at": next.secret_expires_at }),
            );
            match d.store.update_client(&next, &audit).await {
                Ok(stored) => return Ok((stored, secret)),
                Err(StoreError::VersionConflict) => continue,
                Err(StoreError::Missing(_)) => return Err(Error::NotFound("client")),
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Conflict(
            "the client is being changed concurrently; retry".into(),
        ))
    }

    /// RFC 7592 §2: the client a registration access token manages.
    /// `AuthFailed` for an unknown client, a client registered without one,
    /// and a wrong token alike, after the same hashing work.
    pub async fn registered(&self, client_id: &str, token: &Secret) -> Result<Client> {
        let presented = TokenHash::of(token.expose());
        let client = self.deps.store.get_client(client_id).await?;
        let expected = client
            .as_ref()
            .and_then(|c| c.registration_token_hash.clone())
            .unwrap_or_else(|| TokenHash::of(""));
        match client {
            Some(client) if expected.matches(&presented) && !token.is_empty() => Ok(client),
            _ => Err(Error::AuthFailed),
        }
    }

    /// RFC 7592 §2.2: replaces every setting of a registered client (omitted
    /// members take their defaults). The secret and the token stay.
    pub async fn replace_registration(
        &self,
        ctx: &RequestContext,
        client_id: &str,
        token: &Secret,
        settings: ClientSettings,
    ) -> Result<Client> {
        settings.validate()?;
        let current = self.registered(client_id, token).await?;
        if settings.token_endpoint_auth_method != current.auth_method {
            return Err(Error::invalid(
                "token_endpoint_auth_method",
                "immutable",
                "cannot change through registration management; register a new client",
            ));
        }
        let mut next = current.clone();
        settings.apply(&mut next);
        next.updated_at = self.deps.clock.now_millis();
        let audit = self.deps.audit(
            &registration_actor(client_id),
            ctx,
            "client.updated",
            client_target(&current),
            serde_json::json!({ "registration": "rfc7592" }),
        );
        match self.deps.store.update_client(&next, &audit).await {
            Ok(stored) => Ok(stored),
            Err(StoreError::VersionConflict) => Err(Error::Conflict(
                "the client changed meanwhile; retry".into(),
            )),
            Err(StoreError::Missing(_)) => Err(Error::AuthFailed),
            Err(e) => Err(e.into()),
        }
    }

    /// RFC 7592 §2.3: the client deregisters itself.
    pub async fn delete_registration(
        &self,
        ctx: &RequestContext,
        client_id: &str,
        token: &Secret,
    ) -> Result<()> {
        let client = self.registered(client_id, token).await?;
        let audit = self.deps.audit(
            &registration_actor(client_id),
            ctx,
            "client.deleted",
            client_target(&client),
            serde_json::json!({ "registration": "rfc7592" }),
        );
        if self.deps.store.delete_client(client_id, &audit).await? {
            Ok(())
        } else {
            Err(Error::AuthFailed)
        }
    }

    /// Validates a create request and builds the client and its secret.
    async fn build(
        &self,
        who: &AdminPrincipal,
        new: NewClient,
    ) -> Result<(Client, Option<Secret>)> {
        let org = who.target_org(new.org_id).ok_or(Error::NotFound("org"))?;
        new.settings.validate()?;
        check_expires_in(new.secret_expires_in)?;
        if let Some(id) = &new.client_id {
            check_client_id(id)?;
        }
        let d = &self.deps;
        if d.store.get_org(org).await?.is_none() {
            return Err(Error::NotFound("org"));
        }
        let now = d.clock.now_millis();
        let client_id = match new.client_id {
            Some(id) => id,
            None => uuid_v7(d),
        };
        let secret = new
            .settings
            .token_endpoint_auth_method
            .uses_secret()
            .then(|| Secret::new(d.rng.token(SECRET_BYTES)));
        let mut client = Client {
            client_id,
            org_id: org,
            name: String::new(),
            auth_method: new.settings.token_endpoint_auth_method,
            secret_hash: secret.as_ref().map(|s| TokenHash::of(s.expose())),
            secret_expires_at: secret
                .as_ref()
                .and_then(|_| expiry(now, new.secret_expires_in)),
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            grant_types: Vec::new(),
            allowed_scopes: Vec::new(),
            require_pkce: false,
            require_consent: true,
            lifetimes: Default::default(),
            subject_type: crate::model::SubjectType::Public,
            sector_identifier: None,
            jwks: None,
            access_token_audience: Vec::new(),
            backchannel_logout_uri: None,
            backchannel_logout_session_required: false,
            claim_mappings: Value::Object(Default::default()),
            registration_token_hash: None,
            metadata: Value::Object(Default::default()),
            created_at: now,
            updated_at: now,
            version: 1,
        };
        new.settings.apply(&mut client);
        if client.secret_hash.is_none() {
            client.secret_expires_at = None;
        }
        Ok((client, secret))
    }

    async fn insert(&self, client: &Client, audit: &crate::model::AuditEvent) -> Result<()> {
        self.deps
            .store
            .create_client(client, audit)
            .await
            .map_err(|e| match e {
                StoreError::Missing(_) => Error::NotFound("org"),
                other => Error::duplicate("client", other),
            })
    }
}

pub(super) fn client_target(client: &Client) -> Target {
    Target::new("client", &client.client_id, Some(client.org_id))
}

fn registration_actor(client_id: &str) -> String {
    format!("client:{client_id}")
}

/// A chosen client id: 1–128 characters of RFC 3986 `unreserved`, so it sits in
/// URL paths and Basic credentials unescaped.
fn check_client_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= MAX_CLIENT_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "client_id",
            "invalid_value",
            "must be 1-128 characters of A-Z a-z 0-9 . _ ~ -",
        ))
    }
}

fn check_expires_in(expires_in: Option<i64>) -> Result<()> {
    if expires_in.is_some_and(|s| s <= 0) {
        return Err(Error::invalid(
            "client_secret_expires_in",
            "invalid_value",
            "must be a positive number of seconds",
        ));
    }
    Ok(())
}

fn expiry(now: i64, expires_in: Option<i64>) -> Option<i64> {
    expires_in.map(|s| now.saturating_add(s.saturating_mul(1000)))
}

/// A UUIDv7 from the injected clock and RNG, in text form.
fn uuid_v7(d: &Deps) -> String {
    let mut random = [0u8; 10];
    d.rng.fill(&mut random);
    let millis = u64::try_from(d.clock.now_millis()).unwrap_or_default();
    uuid::Builder::from_unix_timestamp_millis(millis, &random)
        .into_uuid()
        .to_string()
}
