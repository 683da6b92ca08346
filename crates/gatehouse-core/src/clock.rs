//! Time and randomness, injected so tests can freeze time and nothing calls
//! `SystemTime::now` or an OS RNG behind the caller's back.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now_millis(&self) -> Millis;
    fn now_secs(&self) -> i64 {
        self.now_millis().div_euclid(1000)
    }
}

/// The real wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one place the wall clock is read
    fn now_millis(&self) -> Millis {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
    }
}

/// A clock that moves only when told to.
#[derive(Debug, Clone)]
pub struct FakeClock(Arc<AtomicI64>);

impl FakeClock {
    pub fn at(millis: Millis) -> Self {
        Self(Arc::new(AtomicI64::new(millis)))
    }
    pub fn advance_secs(&self, secs: i64) {
        self.0.fetch_add(secs * 1000, Ordering::SeqCst);
    }
    pub fn set(&self, millis: Millis) {
        self.0.store(millis, Ordering::SeqCst);
    }
}

impl Clock for FakeClock {
    fn now_millis(&self) -> Millis {
        self.0.load(Ordering::SeqCst)
    }
}

/// A source of cryptographically secure random bytes.
pub trait Rng: Send + Sync + std::fmt::Debug {
    fn fill(&self, dest: &mut [u8]);

    /// A URL-safe random token with `bytes` bytes of entropy.
    fn token(&self, bytes: usize) -> String {
        use base64::Engine;
        let mut buf = vec![0u8; bytes];
        self.fill(&mut buf);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
    }
}

/// The operating system's CSPRNG, through aws-lc-rs.
#[derive(Debug, Default)]
pub struct SystemRng(aws_lc_rs::rand::SystemRandom);

impl SystemRng {
    pub fn new() -> Self {
        Self(aws_lc_rs::rand::SystemRandom::new())
    }
}

impl Rng for SystemRng {
    fn fill(&self, dest: &mut [u8]) {
        use aws_lc_rs::rand::SecureRandom;
        // aws-lc's RNG does not fail on supported platforms; a failure here is unrecoverable.
        if self.0.fill(dest).is_err() {
            std::process::abort();
        }
    }
}
