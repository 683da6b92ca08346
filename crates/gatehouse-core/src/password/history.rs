//! Password history: refusing a new password that matches one of the last
//! [`PasswordPolicy::history`] passwords.

use super::{PasswordError, PasswordHasher, PasswordPolicy, StoredPassword};
use crate::secret::Secret;

impl PasswordPolicy {
    /// Whether `password` matches one of the `history` most recent entries of
    /// `previous`, which the caller passes newest first (including the current
    /// password if reusing it should count). Entries beyond `history` are not
    /// checked; with `history == 0` nothing is. Each check costs one
    /// verification, run through `hasher`'s semaphore.
    pub async fn reused(
        &self,
        hasher: &PasswordHasher,
        password: &Secret,
        previous: &[StoredPassword],
    ) -> Result<bool, PasswordError> {
        let depth = usize::try_from(self.history).unwrap_or(usize::MAX);
        for stored in previous.iter().take(depth) {
            if hasher.matches(password, stored).await? {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
