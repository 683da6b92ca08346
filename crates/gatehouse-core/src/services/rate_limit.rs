//! Per-node limits on how often one client IP may ask for something cheap
//! to ask for and costly to answer, where no account is named and a wrong
//! guess is not the worry (those are the brute-force counters of
//! [`crate::services::throttle`], kept in the database). Today: opening a
//! username-less passkey ceremony, which writes a row.
//!
//! Fixed one-minute windows in memory, per IPv4 address or IPv6 /64; a
//! deployment of several nodes allows each node's limit. The table of
//! sources is bounded: past [`MAX_SOURCES`] sources in one minute, new ones
//! are refused until the minute turns (a flood from that many addresses
//! degrades this one feature, never memory).

use std::collections::HashMap;
use std::sync::Mutex;

use crate::clock::Millis;
use crate::services::throttle::ip_bucket;

/// Most sources tracked in one window.
pub const MAX_SOURCES: usize = 100_000;

const WINDOW_MS: Millis = 60_000;

#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u32,
    /// Source → (window number, requests in it).
    windows: Mutex<HashMap<String, (Millis, u32)>>,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request from `ip` at `now`: `Ok(())` when it is within the
    /// limit, else `Err(seconds)` until the window turns (at least 1). A
    /// request without a known client IP is not limited.
    pub fn admit(&self, ip: Option<&str>, now: Millis) -> Result<(), u64> {
        let Some(ip) = ip else {
            return Ok(());
        };
        let window = now.div_euclid(WINDOW_MS);
        let retry_after = || {
            let left = WINDOW_MS - now.rem_euclid(WINDOW_MS);
            u64::try_from(left).unwrap_or(0).div_ceil(1000).max(1)
        };
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let source = ip_bucket(ip);
        if !windows.contains_key(&source) && windows.len() >= MAX_SOURCES {
            windows.retain(|_, (w, _)| *w == window);
            if windows.len() >= MAX_SOURCES {
                return Err(retry_after());
            }
        }
        let entry = windows.entry(source).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        if entry.1 >= self.per_minute {
            return Err(retry_after());
        }
        entry.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn each_source_gets_its_limit_per_window() {
        let limiter = RateLimiter::new(3);
        let t = 10 * WINDOW_MS + 15_000;
        for _ in 0..3 {
            assert_eq!(limiter.admit(Some("192.0.2.1"), t), Ok(()));
        }
        assert_eq!(limiter.admit(Some("192.0.2.1"), t), Err(45));
        // Another source is unaffected; an IPv6 /64 is one source.
        assert_eq!(limiter.admit(Some("192.0.2.2"), t), Ok(()));
        for i in 0..3 {
            assert_eq!(limiter.admit(Some(&format!("2001:db8::{i}")), t), Ok(()));
        }
        assert_eq!(limiter.admit(Some("2001:db8::ffff"), t), Err(45));
        // The next window starts afresh.
        assert_eq!(limiter.admit(Some("192.0.2.1"), 11 * WINDOW_MS), Ok(()));
        // Unknown source: not limited.
        for _ in 0..10 {
            assert_eq!(limiter.admit(None, t), Ok(()));
        }
    }

    #[test]
    fn the_table_of_sources_is_bounded() {
        let limiter = RateLimiter::new(1);
        let t = WINDOW_MS;
        for i in 0..MAX_SOURCES {
            let ip = std::net::Ipv4Addr::from(u32::try_from(i).unwrap() + 1).to_string();
            assert_eq!(limiter.admit(Some(&ip), t), Ok(()));
        }
        assert!(limiter.admit(Some("203.0.113.250"), t).is_err());
        // When the minute turns, the old window's sources are dropped.
        assert_eq!(limiter.admit(Some("203.0.113.250"), t + WINDOW_MS), Ok(()));
        assert_eq!(limiter.windows.lock().unwrap().len(), 1);
    }
}
