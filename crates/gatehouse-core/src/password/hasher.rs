//! [`PasswordHasher`]: argon2id hashing and verification of every stored
//! format, run on tokio's blocking pool behind a semaphore.
//!
//! The semaphore bounds how many hashes run at once (argon2id at the OWASP
//! parameters takes 19 MiB and tens of milliseconds each), so a burst of
//! sign-ins queues instead of exhausting memory and the blocking pool. A permit
//! travels with its job: dropping the caller's future does not release it
//! before the work it admitted has finished.
//!
//! The queue is bounded too ([`PasswordHasher::with_queue`]): when that many
//! callers already wait for a slot, the next is refused at once with
//! [`PasswordError::Busy`], so under overload the admitted ones keep a bounded
//! latency and the rest are shed fast instead of timing out in a queue.

use std::fmt;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use argon2::PasswordHasher as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};

use super::format::{self, Parsed};
use super::{MAX_PASSWORD_BYTES, PasswordError, StoredPassword};
use crate::clock::{Rng, SystemRng};
use crate::secret::Secret;

/// Salt length for new hashes (the PHC and argon2 recommendation).
const SALT_LEN: usize = 16;
/// Output length for new hashes.
const OUTPUT_LEN: usize = argon2::Params::DEFAULT_OUTPUT_LEN;

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// Wrong password.
    Mismatch,
    /// Right password. `rehash` is a new argon2id hash with the current
    /// parameters when the stored one is an imported format or argon2 with
    /// other parameters; the caller should store it in place of the old one.
    Match { rehash: Option<StoredPassword> },
}

impl Verification {
    pub fn is_match(&self) -> bool {
        matches!(self, Verification::Match { .. })
    }
}

/// Hashes new passwords with argon2id and verifies any accepted stored hash.
/// Cheap to clone: all clones share one semaphore.
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    params: argon2::Params,
    permits: Arc<Semaphore>,
    max_concurrent: usize,
    /// Callers allowed to wait for a permit; more are refused with `Busy`.
    max_queued: usize,
    /// Callers waiting for a permit now.
    queued: Arc<AtomicUsize>,
    rng: Arc<dyn Rng>,
    /// An argon2id hash with the current parameters that no password is known
    /// to match, verified against when the account does not exist.
    dummy: StoredPassword,
}

impl PasswordHasher {
    /// OWASP Password Storage Cheat Sheet, argon2id, first option: 19 MiB.
    pub const OWASP_M_KIB: u32 = 19_456;
    /// OWASP: two passes.
    pub const OWASP_T: u32 = 2;
    /// OWASP: one lane.
    pub const OWASP_P: u32 = 1;

    /// argon2id at the OWASP parameters, at most `max_concurrent` hashes at a
    /// time (at least one).
    pub fn new(max_concurrent: usize) -> Self {
        // argon2's defaults are exactly the OWASP parameters; the test
        // `owasp_defaults_produce_expected_phc_prefix` pins that.
        Self::build(argon2::Params::DEFAULT, max_concurrent)
    }

    /// argon2id with other parameters: cheap ones for tests, or stronger ones
    /// where the hardware allows. `m_kib` is memory in KiB.
    pub fn with_params(
        m_kib: u32,
        t: u32,
        p: u32,
        max_concurrent: usize,
    ) -> Result<Self, PasswordError> {
        let params = format::argon2_params(m_kib, t, p, OUTPUT_LEN).map_err(|e| match e {
            PasswordError::UnsupportedHash(reason) => PasswordError::InvalidParams(reason),
            other => other,
        })?;
        Ok(Self::build(params, max_concurrent))
    }

    /// Replaces the source of salts (the OS CSPRNG by default).
    pub fn with_rng(self, rng: Arc<dyn Rng>) -> Self {
        self.rebuilt(rng, self.inner.max_queued)
    }

    /// Lets at most `max_queued` callers wait for a hashing slot (unbounded by
    /// default); one more is refused at once with [`PasswordError::Busy`].
    pub fn with_queue(self, max_queued: usize) -> Self {
        self.rebuilt(self.inner.rng.clone(), max_queued)
    }

    /// Takes one hashing slot through the same queue as a hash (so `Busy`
    /// when it is full) and holds it until the returned guard drops: for work
    /// that must not run beside hashing, and for tests that need a saturated
    /// hasher without racing real hashes.
    pub async fn occupy(&self) -> Result<HashSlot, PasswordError> {
        self.permit()
            .await
            .map(|permit| HashSlot { _permit: permit })
    }

    /// How many callers wait for a hashing slot now.
    pub fn queued(&self) -> usize {
        self.inner.queued.load(Ordering::SeqCst)
    }

    fn rebuilt(&self, rng: Arc<dyn Rng>, max_queued: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                params: self.inner.params.clone(),
                permits: self.inner.permits.clone(),
                max_concurrent: self.inner.max_concurrent,
                max_queued,
                queued: self.inner.queued.clone(),
                rng,
                dummy: self.inner.dummy.clone(),
            }),
        }
    }

    fn build(params: argon2::Params, max_concurrent: usize) -> Self {
        let max_concurrent = max_concurrent.max(1);
        let dummy = StoredPassword::from_stored(format!(
            "$argon2id$v=19$m={},t={},p={}${}${}",
            params.m_cost(),
            params.t_cost(),
            params.p_cost(),
            STANDARD_NO_PAD.encode(b"gatehouse-dummy!"),
            STANDARD_NO_PAD.encode([0u8; OUTPUT_LEN]),
        ));
        Self {
            inner: Arc::new(Inner {
                params,
                permits: Arc::new(Semaphore::new(max_concurrent)),
                max_concurrent,
                max_queued: usize::MAX,
                queued: Arc::new(AtomicUsize::new(0)),
                rng: Arc::new(SystemRng::new()),
                dummy,
            }),
        }
    }

    /// Hashes a new password: argon2id v1.3, a fresh 16-byte salt, PHC string.
    pub async fn hash(&self, password: &Secret) -> Result<StoredPassword, PasswordError> {
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(PasswordError::TooLong);
        }
        let password = password.clone();
        self.run(move |inner| inner.hash(password.expose().as_bytes()))
            .await?
    }

    /// Checks `password` against `stored`, whatever its format. A malformed
    /// stored hash is an error, not a mismatch.
    pub async fn verify(
        &self,
        password: &Secret,
        stored: &StoredPassword,
    ) -> Result<Verification, PasswordError> {
        self.check(password, stored, true).await
    }

    /// Does the work of verifying an argon2id hash with the current parameters
    /// and throws the answer away, so that signing in as an account that does
    /// not exist takes as long as a wrong password for one that does. Only
    /// [`PasswordError::Busy`] is reported: the answer is meaningless and the
    /// work is the point.
    pub async fn dummy_verify(&self, password: &Secret) -> Result<(), PasswordError> {
        let dummy = self.inner.dummy.clone();
        match self.check(password, &dummy, false).await {
            Err(PasswordError::Busy) => Err(PasswordError::Busy),
            _ => Ok(()),
        }
    }

    /// Like [`Self::verify`] but never computes a replacement hash.
    pub(super) async fn matches(
        &self,
        password: &Secret,
        stored: &StoredPassword,
    ) -> Result<bool, PasswordError> {
        Ok(self.check(password, stored, false).await?.is_match())
    }

    async fn check(
        &self,
        password: &Secret,
        stored: &StoredPassword,
        rehash: bool,
    ) -> Result<Verification, PasswordError> {
        if password.len() > MAX_PASSWORD_BYTES {
            // No stored password is this long; refusing before any work keeps
            // SHA-crypt (whose cost grows with length) from being a DoS lever.
            return Ok(Verification::Mismatch);
        }
        let password = password.clone();
        let stored = stored.clone();
        self.run(move |inner| inner.check(password.expose().as_bytes(), &stored, rehash))
            .await?
    }

    /// Runs `job` on the blocking pool once a permit is free, or refuses with
    /// `Busy` when the queue for permits is full; the permit is released when
    /// the job ends, even if the caller has gone away.
    async fn run<T, F>(&self, job: F) -> Result<T, PasswordError>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> T + Send + 'static,
    {
        let permit = self.permit().await?;
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            job(&inner)
        })
        .await
        .map_err(|_| PasswordError::Unavailable)
    }
}

impl PasswordHasher {
    /// A hashing slot: at once when one is free, else after a wait in the
    /// queue, or `Busy` at once when the queue is full.
    async fn permit(&self) -> Result<OwnedSemaphorePermit, PasswordError> {
        let permits = Arc::clone(&self.inner.permits);
        match permits.clone().try_acquire_owned() {
            Ok(permit) => Ok(permit),
            Err(TryAcquireError::Closed) => Err(PasswordError::Unavailable),
            Err(TryAcquireError::NoPermits) => {
                let _place = Queued::join(&self.inner.queued, self.inner.max_queued)
                    .ok_or(PasswordError::Busy)?;
                permits
                    .acquire_owned()
                    .await
                    .map_err(|_| PasswordError::Unavailable)
            }
        }
    }
}

/// A hashing slot held by [`PasswordHasher::occupy`]; released on drop.
#[derive(Debug)]
pub struct HashSlot {
    _permit: OwnedSemaphorePermit,
}

/// A place in the queue for a hashing permit, given up when dropped (also
/// when the waiting caller goes away).
struct Queued<'a>(&'a AtomicUsize);

impl<'a> Queued<'a> {
    fn join(queued: &'a AtomicUsize, max: usize) -> Option<Self> {
        queued
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| Self(queued))
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Inner {
    fn hash(&self, password: &[u8]) -> Result<StoredPassword, PasswordError> {
        let mut salt = [0u8; SALT_LEN];
        self.rng.fill(&mut salt);
        let phc = argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            self.params.clone(),
        )
        .hash_password_with_salt(password, &salt)
        .map_err(|_| PasswordError::Hashing)?;
        Ok(StoredPassword::from_stored(phc.to_string()))
    }

    fn check(
        &self,
        password: &[u8],
        stored: &StoredPassword,
        rehash: bool,
    ) -> Result<Verification, PasswordError> {
        let parsed = Parsed::parse(stored.as_str())?;
        if !parsed.verify(password)? {
            return Ok(Verification::Mismatch);
        }
        let rehash = if rehash && parsed.needs_rehash(&self.params) {
            Some(self.hash(password)?)
        } else {
            None
        };
        Ok(Verification::Match { rehash })
    }
}

impl Default for PasswordHasher {
    /// OWASP parameters, one concurrent hash per CPU.
    fn default() -> Self {
        Self::new(std::thread::available_parallelism().map_or(1, NonZeroUsize::get))
    }
}

impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("m_kib", &self.inner.params.m_cost())
            .field("t", &self.inner.params.t_cost())
            .field("p", &self.inner.params.p_cost())
            .field("max_concurrent", &self.inner.max_concurrent)
            .field("max_queued", &self.inner.max_queued)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// If the dummy hash failed to parse, `dummy_verify` would return at once
    /// and unknown accounts would answer faster than known ones.
    #[test]
    fn dummy_hash_is_a_full_cost_current_argon2id_hash() {
        for hasher in [
            PasswordHasher::new(1),
            PasswordHasher::with_params(128, 3, 2, 1).unwrap(),
        ] {
            let parsed = Parsed::parse(hasher.inner.dummy.as_str()).unwrap();
            assert!(!parsed.needs_rehash(&hasher.inner.params));
            assert!(!parsed.verify(b"").unwrap());
        }
    }

    /// The queue bound holds exactly: with every slot taken and the queue
    /// full, the next caller is refused at once; once slots free up, every
    /// queued caller is served. No timing: the test holds the slots itself.
    #[tokio::test]
    async fn full_queue_refuses_at_once_and_queued_callers_are_served() {
        let hasher = PasswordHasher::with_params(64, 1, 1, 2)
            .unwrap()
            .with_queue(3);
        let slots = Arc::clone(&hasher.inner.permits)
            .acquire_many_owned(2)
            .await
            .unwrap();
        let mut waiting = Vec::new();
        for _ in 0..3 {
            let h = hasher.clone();
            waiting.push(tokio::spawn(async move {
                h.hash(&Secret::new("password")).await
            }));
        }
        while hasher.queued() < 3 {
            tokio::task::yield_now().await;
        }
        let pw = Secret::new("password");
        assert_eq!(hasher.hash(&pw).await, Err(PasswordError::Busy));
        assert_eq!(hasher.dummy_verify(&pw).await, Err(PasswordError::Busy));
        let stored = waiting.pop().unwrap();
        // A caller that gives up leaves the queue.
        stored.abort();
        let _ = stored.await;
        assert_eq!(hasher.queued(), 2);
        drop(slots);
        for job in waiting {
            assert!(job.await.unwrap().is_ok());
        }
        assert_eq!(hasher.queued(), 0);
        assert!(hasher.hash(&pw).await.is_ok());
    }

    #[test]
    fn zero_permits_is_raised_to_one() {
        let hasher = PasswordHasher::new(0);
        assert_eq!(hasher.inner.permits.available_permits(), 1);
        assert!(format!("{hasher:?}").contains("max_concurrent: 1"));
    }
}
