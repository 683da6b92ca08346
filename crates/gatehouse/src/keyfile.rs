//! The data directory and the master key file in it.
//!
//! The master key comes from `GATEHOUSE_MASTER_KEY` / `_FILE` when set; otherwise
//! from `<data-dir>/master.key`, which the first start generates with mode 0600.
//! An existing key file is never overwritten: losing it loses every secret
//! encrypted under it.

use std::fs::{DirBuilder, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use anyhow::Context;
use gatehouse_core::clock::Rng;
use gatehouse_core::crypto::MasterKey;

use crate::settings::{SettingError, Settings};

/// The key file's name inside the data directory.
pub const KEY_FILE: &str = "master.key";

/// Creates the data directory (and parents) with mode 0700 if it does not exist.
pub fn create_data_dir(dir: &Path) -> anyhow::Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create the data directory {}", dir.display()))
}

/// The configured master key, or the one in the data directory (generated on first use).
pub fn master_key(settings: &Settings, rng: &dyn Rng) -> anyhow::Result<MasterKey> {
    if let Some((key, setting)) = &settings.master_key {
        let key = MasterKey::parse(key.expose())
            .map_err(|e| SettingError::new(setting, e.to_string()))?;
        return Ok(key);
    }
    load_or_generate(&settings.data_dir.join(KEY_FILE), rng)
}

fn load_or_generate(path: &Path, rng: &dyn Rng) -> anyhow::Result<MasterKey> {
    match read(path) {
        Ok(key) => return Ok(key),
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == ErrorKind::NotFound) => {}
        Err(e) => return Err(e),
    }
    let key = MasterKey::generate(rng);
    let created = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
    let mut file = match created {
        Ok(file) => file,
        // Another process created it first: use theirs.
        Err(e) if e.kind() == ErrorKind::AlreadyExists => return read(path),
        Err(e) => {
            return Err(e)
                .with_context(|| format!("cannot create the master key file {}", path.display()));
        }
    };
    let written = file
        .write_all(format!("{}\n", key.encode().as_str()).as_bytes())
        .and_then(|()| file.sync_all());
    if let Err(e) = written {
        // Never leave a truncated key behind for the next start to trust.
        let _ = std::fs::remove_file(path);
        return Err(e)
            .with_context(|| format!("cannot write the master key file {}", path.display()));
    }
    tracing::info!(
        path = %path.display(),
        "generated a new master key; back it up with the database, encrypted data cannot be read without it"
    );
    Ok(key)
}

/// Reads and parses a key file, warning when other users may read it.
fn read(path: &Path) -> anyhow::Result<MasterKey> {
    let text = std::fs::read_to_string(path)?;
    if let Ok(meta) = std::fs::metadata(path) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                path = %path.display(),
                mode = format!("{mode:o}"),
                "the master key file is accessible to other users; run chmod 600 on it"
            );
        }
    }
    MasterKey::parse(text.trim_end_matches(['\n', '\r']))
        .map_err(|e| anyhow::anyhow!("{} does not hold a valid master key ({e})", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_core::clock::SystemRng;

    #[test]
    fn keyfile_is_generated_once_with_mode_0600() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let data = dir.path().join("nested/data");
        create_data_dir(&data)?;
        assert_eq!(
            std::fs::metadata(&data)?.permissions().mode() & 0o777,
            0o700
        );

        let path = data.join(KEY_FILE);
        let rng = SystemRng::new();
        let first = load_or_generate(&path, &rng)?;
        assert_eq!(
            std::fs::metadata(&path)?.permissions().mode() & 0o777,
            0o600
        );
        let before = std::fs::read_to_string(&path)?;
        let second = load_or_generate(&path, &rng)?;
        assert_eq!(std::fs::read_to_string(&path)?, before, "never overwritten");
        assert_eq!(first.encode().as_str(), second.encode().as_str());
        Ok(())
    }

    #[test]
    fn keyfile_with_garbage_is_refused_not_replaced() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join(KEY_FILE);
        std::fs::write(&path, "not a key\n")?;
        let err = load_or_generate(&path, &SystemRng::new())
            .err()
            .map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("does not hold a valid master key")),
            "{err:?}"
        );
        assert_eq!(std::fs::read_to_string(&path)?, "not a key\n");
        Ok(())
    }
}
