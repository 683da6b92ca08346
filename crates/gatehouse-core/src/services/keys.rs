//! JWT signing keys: generated on first start, rotated by command and on a
//! period, published as JWKS, and held in memory for signing.
//!
//! Each algorithm (RS256, ES256, EdDSA) has one `active` key that signs, one
//! `next` key that is already published, and `retired` keys that stay
//! published until `remove_after` (retirement + retention, which must exceed
//! the longest lifetime of a token they signed). A rotation promotes `next`
//! to `active`, retires `active` and creates a new `next`, as one
//! compare-and-set in the store, so of several nodes rotating at once exactly
//! one succeeds.
//!
//! Signing never touches the database: [`Keys::signer`], [`Keys::jwks`] and
//! [`Keys::verifier`] read an in-memory snapshot, replaced whole by
//! [`Keys::maintain`] (every minute, from the binary), by a rotation on this
//! node, and by [`Keys::verifier_for_kid`] when it meets an unknown `kid`
//! (at most once per [`RELOAD_INTERVAL`]). Another node's rotation is thus
//! seen within a minute; since the promoted key was published a whole
//! rotation period earlier, tokens it signs verify everywhere.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use gatehouse_oauth::jwk::{Jwks, KeySet, SigningKey};
use serde_json::json;

use crate::clock::Millis;
use crate::crypto::MasterKey;
use crate::error::{Error, Result};
use crate::model::{Algorithm, KeyRotation, KeyState, StoredKey};
use crate::services::Deps;
use crate::services::audit::Target;
use crate::services::principal::{AdminPrincipal, RequestContext};

/// How long a key is active before [`Keys::maintain`] rotates it, by default.
pub const DEFAULT_KEY_ROTATION_PERIOD: Duration = Duration::from_secs(90 * 24 * 3600);
/// How long a retired key stays published, by default.
pub const DEFAULT_RETIRED_KEY_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);
/// The least time between two reloads triggered by an unknown `kid`.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(5);

/// The actor of rotations and clean-ups the node does by itself.
const SYSTEM_ACTOR: &str = "system";

/// What one rotation of one algorithm did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotatedKeys {
    pub alg: Algorithm,
    /// The former `next` key, now `active`.
    pub activated: String,
    /// The former `active` key, now `retired`.
    pub retired: String,
    /// The new `next` key.
    pub next: String,
    /// When the retired key leaves JWKS.
    pub remove_after: Millis,
}

/// What the node signs and verifies with, as of the last load.
struct Snapshot {
    signers: HashMap<Algorithm, Arc<SigningKey>>,
    jwks: Arc<Jwks>,
    verifier: Arc<KeySet>,
    kids: HashSet<String>,
}

impl Snapshot {
    fn empty() -> Self {
        let jwks = Jwks::default();
        Self {
            signers: HashMap::new(),
            verifier: Arc::new(KeySet::from_jwks(&jwks)),
            jwks: Arc::new(jwks),
            kids: HashSet::new(),
        }
    }
}

/// The signing-key service.
pub struct Keys {
    deps: Deps,
    master_key: MasterKey,
    rotation_period: Option<Millis>,
    retention: Millis,
    snapshot: RwLock<Arc<Snapshot>>,
    /// Serialises reloads; holds when the last one read the database.
    loaded_at: tokio::sync::Mutex<Option<Millis>>,
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keys")
            .field("rotation_period", &self.rotation_period)
            .field("retention", &self.retention)
            .field("jwks", &self.current().kids)
            .finish_non_exhaustive()
    }
}

fn millis(duration: Duration) -> Millis {
    Millis::try_from(duration.as_millis()).unwrap_or(Millis::MAX)
}

fn generation_failed(alg: Algorithm) -> Error {
    Error::Internal(format!("generating an {alg} signing key failed"))
}

impl Keys {
    /// `rotation_period: None` turns periodic rotation off.
    pub(crate) fn new(
        deps: Deps,
        master_key: MasterKey,
        rotation_period: Option<Duration>,
        retention: Duration,
    ) -> Self {
        Self {
            deps,
            master_key,
            rotation_period: rotation_period.map(millis),
            retention: millis(retention),
            snapshot: RwLock::new(Arc::new(Snapshot::empty())),
            loaded_at: tokio::sync::Mutex::new(None),
        }
    }

    /// On start: makes sure every algorithm has an `active` and a `next` key
    /// (several nodes starting at once agree on one of each), then loads them.
    pub async fn ensure(&self) -> Result<()> {
        let keys = self.deps.store.list_signing_keys().await?;
        self.ensure_stored(&keys).await?;
        self.reload().await
    }

    /// The active key for `alg`, from memory.
    pub async fn signer(&self, alg: Algorithm) -> Result<Arc<SigningKey>> {
        if let Some(key) = self.current().signers.get(&alg) {
            return Ok(key.clone());
        }
        // Only before the first load (or if every key was deleted behind our back).
        self.reload().await?;
        self.current()
            .signers
            .get(&alg)
            .cloned()
            .ok_or_else(|| Error::Internal(format!("no active {alg} signing key")))
    }

    /// The `next` key of `alg`, opened, so that what it will sign can be
    /// announced before the rotation (SAML metadata publishes its
    /// certificate). Reads the database: not for hot paths.
    pub async fn next_key(&self, alg: Algorithm) -> Result<Option<SigningKey>> {
        let keys = self.deps.store.list_signing_keys().await?;
        keys.iter()
            .find(|k| k.alg == alg && k.state == KeyState::Next)
            .map(|k| self.open(k))
            .transpose()
    }

    /// The `retired` keys of `alg` still published (not past
    /// `remove_after`), newest first, opened: SAML metadata keeps their
    /// certificates so responses signed just before a rotation still verify
    /// at an SP that refreshed its metadata. Reads the database.
    pub async fn retired_keys(&self, alg: Algorithm) -> Result<Vec<SigningKey>> {
        let now = self.deps.clock.now_millis();
        let mut keys: Vec<StoredKey> = self
            .deps
            .store
            .list_signing_keys()
            .await?
            .into_iter()
            .filter(|k| k.alg == alg && k.state == KeyState::Retired && !is_expired(k, now))
            .collect();
        keys.sort_by_key(|k| std::cmp::Reverse(k.created_at));
        keys.iter().map(|k| self.open(k)).collect()
    }

    /// The JWKS document: the public halves of next, active and retired (not yet removed) keys.
    pub async fn jwks(&self) -> Result<Arc<Jwks>> {
        Ok(self.current().jwks.clone())
    }

    /// A [`KeySet`] over the keys of [`Keys::jwks`], to verify tokens this server issued.
    pub async fn verifier(&self) -> Result<Arc<KeySet>> {
        Ok(self.current().verifier.clone())
    }

    /// As [`Keys::verifier`], but a `kid` this node does not know (another
    /// node may have rotated) reloads the keys first, at most once per
    /// [`RELOAD_INTERVAL`], so forged kids cannot hammer the database.
    pub async fn verifier_for_kid(&self, kid: &str) -> Result<Arc<KeySet>> {
        if self.current().kids.contains(kid) {
            return self.verifier().await;
        }
        let mut loaded_at = self.loaded_at.lock().await;
        let now = self.deps.clock.now_millis();
        let recent = loaded_at.is_some_and(|at| now.saturating_sub(at) < millis(RELOAD_INTERVAL));
        if !recent && !self.current().kids.contains(kid) {
            self.load(&mut loaded_at).await?;
        }
        drop(loaded_at);
        self.verifier().await
    }

    /// Every stored key, by algorithm, then age (for `gatehouse keys list`).
    pub async fn list(&self, _who: &AdminPrincipal) -> Result<Vec<StoredKey>> {
        Ok(self.deps.store.list_signing_keys().await?)
    }

    /// Rotates the keys of `alg`, or of every algorithm: `next` becomes
    /// `active`, `active` becomes `retired` (published for the retention
    /// period), and a new `next` is generated. Audited as `signing_key.rotated`.
    /// `Conflict` when another node rotated the same keys at the same moment.
    pub async fn rotate(
        &self,
        who: &AdminPrincipal,
        ctx: &RequestContext,
        alg: Option<Algorithm>,
    ) -> Result<Vec<RotatedKeys>> {
        let algs = alg.map_or_else(|| Algorithm::ALL.to_vec(), |alg| vec![alg]);
        let mut keys = self.deps.store.list_signing_keys().await?;
        if self.ensure_stored(&keys).await? {
            keys = self.deps.store.list_signing_keys().await?;
        }
        let mut rotated = Vec::with_capacity(algs.len());
        let mut raced = None;
        for alg in algs {
            match self.rotate_alg(who.actor(), ctx, alg, &keys).await? {
                Some(done) => rotated.push(done),
                None => raced = Some(alg),
            }
        }
        self.reload().await?;
        match raced {
            Some(alg) => Err(Error::Conflict(format!(
                "the {alg} keys were rotated by another node at the same time"
            ))),
            None => Ok(rotated),
        }
    }

    /// Periodic upkeep (every minute): creates missing keys, rotates an
    /// algorithm whose active key is older than the rotation period (only one
    /// node of several succeeds), deletes retired keys past `remove_after`,
    /// and reloads the in-memory keys, picking up other nodes' rotations.
    /// Returns the rotations this node made.
    pub async fn maintain(&self) -> Result<Vec<RotatedKeys>> {
        let d = &self.deps;
        let mut keys = d.store.list_signing_keys().await?;
        if self.ensure_stored(&keys).await? {
            keys = d.store.list_signing_keys().await?;
        }
        let ctx = RequestContext::default();
        let now = d.clock.now_millis();
        let mut rotated = Vec::new();
        if let Some(period) = self.rotation_period {
            for alg in Algorithm::ALL {
                let due = keys.iter().any(|k| {
                    k.alg == alg
                        && k.state == KeyState::Active
                        && k.activated_at
                            .unwrap_or(k.created_at)
                            .saturating_add(period)
                            <= now
                });
                if !due {
                    continue;
                }
                match self.rotate_alg(SYSTEM_ACTOR, &ctx, alg, &keys).await? {
                    Some(done) => {
                        tracing::info!(%alg, activated = %done.activated, retired = %done.retired, "signing keys rotated");
                        rotated.push(done);
                    }
                    None => tracing::debug!(%alg, "signing keys already rotated by another node"),
                }
            }
        }
        for key in keys.iter().filter(|k| is_expired(k, now)) {
            let audit = d.audit(
                SYSTEM_ACTOR,
                &ctx,
                "signing_key.removed",
                key_target(&key.kid),
                json!({ "alg": key.alg.as_str() }),
            );
            if d.store
                .delete_retired_signing_key(&key.kid, now, &audit)
                .await?
            {
                tracing::info!(alg = %key.alg, kid = %key.kid, "retired signing key removed");
            }
        }
        self.reload().await?;
        Ok(rotated)
    }

    /// Creates the missing `active` and `next` keys; `true` if it stored any.
    async fn ensure_stored(&self, keys: &[StoredKey]) -> Result<bool> {
        let d = &self.deps;
        let mut stored = false;
        for alg in Algorithm::ALL {
            for state in [KeyState::Active, KeyState::Next] {
                if keys.iter().any(|k| k.alg == alg && k.state == state) {
                    continue;
                }
                let key = self.generate(alg, state).await?;
                let audit = d.audit(
                    SYSTEM_ACTOR,
                    &RequestContext::default(),
                    "signing_key.created",
                    key_target(&key.kid),
                    json!({ "alg": alg.as_str(), "state": state.as_str() }),
                );
                // `false`: another node stored one first; theirs is used.
                if d.store.insert_signing_key(&key, &audit).await? {
                    tracing::info!(%alg, %state, kid = %key.kid, "signing key created");
                    stored = true;
                }
            }
        }
        Ok(stored)
    }

    /// One compare-and-set rotation of `alg` against the `keys` read before;
    /// `None` when they changed meanwhile (another node rotated).
    async fn rotate_alg(
        &self,
        actor: &str,
        ctx: &RequestContext,
        alg: Algorithm,
        keys: &[StoredKey],
    ) -> Result<Option<RotatedKeys>> {
        let find = |state| keys.iter().find(|k| k.alg == alg && k.state == state);
        let (Some(active), Some(next)) = (find(KeyState::Active), find(KeyState::Next)) else {
            return Ok(None);
        };
        let new_next = self.generate(alg, KeyState::Next).await?;
        let d = &self.deps;
        let at = d.clock.now_millis();
        let done = RotatedKeys {
            alg,
            activated: next.kid.clone(),
            retired: active.kid.clone(),
            next: new_next.kid.clone(),
            remove_after: at.saturating_add(self.retention),
        };
        let audit = d.audit(
            actor,
            ctx,
            "signing_key.rotated",
            key_target(&done.activated),
            json!({
                "alg": alg.as_str(),
                "activated": done.activated,
                "retired": done.retired,
                "next": done.next,
                "remove_after": done.remove_after,
            }),
        );
        let rotation = KeyRotation {
            alg,
            next_kid: done.activated.clone(),
            active_kid: done.retired.clone(),
            at,
            remove_after: done.remove_after,
            new_next,
        };
        Ok(d.store
            .rotate_signing_keys(&rotation, &audit)
            .await?
            .then_some(done))
    }

    /// A new key in `state`, its private half sealed under the master key.
    /// Generation runs on the blocking pool (an RSA key takes a while).
    async fn generate(&self, alg: Algorithm, state: KeyState) -> Result<StoredKey> {
        let key = tokio::task::spawn_blocking(move || SigningKey::generate(alg))
            .await
            .map_err(|_| generation_failed(alg))?
            .map_err(|_| generation_failed(alg))?;
        let sealed_private_key = self
            .master_key
            .seal_to_string(key.private_pkcs8_der(), &StoredKey::seal_aad(key.kid()));
        let now = self.deps.clock.now_millis();
        Ok(StoredKey {
            kid: key.kid().to_owned(),
            alg,
            state,
            sealed_private_key,
            public_jwk: key.public_jwk().clone(),
            created_at: now,
            activated_at: (state == KeyState::Active).then_some(now),
            retired_at: None,
            remove_after: None,
        })
    }

    /// Opens a stored private key; its kid must be the thumbprint of what opened.
    fn open(&self, key: &StoredKey) -> Result<SigningKey> {
        let der = self
            .master_key
            .open_str(&key.sealed_private_key, &StoredKey::seal_aad(&key.kid))
            .map_err(|e| Error::Internal(format!("signing key {}: {e}", key.kid)))?;
        let opened = SigningKey::from_pkcs8(key.alg, &der)
            .map_err(|e| Error::Internal(format!("signing key {}: {e}", key.kid)))?;
        if opened.kid() != key.kid {
            return Err(Error::Internal(format!(
                "signing key {} does not match its kid",
                key.kid
            )));
        }
        Ok(opened)
    }

    fn current(&self) -> Arc<Snapshot> {
        self.snapshot
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Reads the keys from the database and replaces the snapshot.
    async fn reload(&self) -> Result<()> {
        let mut loaded_at = self.loaded_at.lock().await;
        self.load(&mut loaded_at).await
    }

    async fn load(&self, loaded_at: &mut Option<Millis>) -> Result<()> {
        let keys = self.deps.store.list_signing_keys().await?;
        let now = self.deps.clock.now_millis();
        let previous = self.current();
        let mut published: Vec<&StoredKey> = keys.iter().filter(|k| !is_expired(k, now)).collect();
        // Active keys first: a client that takes the first key of a type gets the signing one.
        published.sort_by_key(|k| {
            let rank = match k.state {
                KeyState::Active => 0,
                KeyState::Next => 1,
                KeyState::Retired => 2,
            };
            (rank, k.alg.as_str(), std::cmp::Reverse(k.created_at))
        });
        let mut signers = HashMap::new();
        for key in published.iter().filter(|k| k.state == KeyState::Active) {
            let signer = match previous.signers.get(&key.alg) {
                Some(signer) if signer.kid() == key.kid => signer.clone(),
                _ => Arc::new(self.open(key)?),
            };
            signers.insert(key.alg, signer);
        }
        let jwks = Jwks {
            keys: published.iter().map(|k| k.public_jwk.clone()).collect(),
        };
        let snapshot = Snapshot {
            signers,
            verifier: Arc::new(KeySet::from_jwks(&jwks)),
            kids: published.iter().map(|k| k.kid.clone()).collect(),
            jwks: Arc::new(jwks),
        };
        *self
            .snapshot
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(snapshot);
        *loaded_at = Some(now);
        Ok(())
    }
}

/// A retired key whose time in JWKS is over.
fn is_expired(key: &StoredKey, now: Millis) -> bool {
    key.state == KeyState::Retired && key.remove_after.is_some_and(|at| at <= now)
}

fn key_target(kid: &str) -> Target {
    Target::new("signing_key", kid, None)
}
