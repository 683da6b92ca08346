//! Checking and converting one raw setting value. Each parser returns the
//! problem as text; the caller prefixes the setting's name.

use std::path::{Path, PathBuf};
use std::time::Duration;

use gatehouse_core::secret::Secret;
use gatehouse_web::Cidr;

use super::SettingError;
use super::sources::Origin;

pub(super) fn parse_nonempty_path(origin: &Origin, raw: &str) -> Result<PathBuf, SettingError> {
    if raw.trim().is_empty() {
        return Err(SettingError::new(origin, "is empty"));
    }
    Ok(PathBuf::from(raw))
}

/// `sqlite://<data-dir>/gatehouse.db?mode=rwc`, with the characters sqlx would
/// misread in a path percent-encoded (sqlx decodes them).
pub(super) fn default_database_url(data_dir: &Path) -> String {
    let path = data_dir.join("gatehouse.db").to_string_lossy().into_owned();
    let mut encoded = String::with_capacity(path.len());
    for c in path.chars() {
        match c {
            '%' => encoded.push_str("%25"),
            '?' => encoded.push_str("%3F"),
            '#' => encoded.push_str("%23"),
            _ => encoded.push(c),
        }
    }
    format!("sqlite://{encoded}?mode=rwc")
}

/// Checks the scheme only; the URL itself may carry a password and is never echoed.
pub(super) fn check_database_url(url: &Secret) -> Result<(), String> {
    let url = url.expose();
    let scheme = url.split_once(':').map(|(scheme, _)| scheme);
    match scheme {
        Some("sqlite") => Ok(()),
        Some("postgres" | "postgresql") if url.contains("://") => Ok(()),
        Some(other)
            if !other.is_empty()
                && other.chars().all(|c| c.is_ascii_alphanumeric() || c == '+') =>
        {
            Err(format!(
                "unsupported database {other:?} (expected sqlite://PATH or postgres://…)"
            ))
        }
        _ => Err("is not a database URL (expected sqlite://PATH or postgres://…)".to_owned()),
    }
}

/// An absolute http(s) URL without query, fragment or credentials; trailing slash removed.
pub(super) fn parse_public_url(raw: &str) -> Result<String, String> {
    let url = url::Url::parse(raw).map_err(|e| format!("{raw:?} is not an absolute URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{raw:?} must be an http or https URL"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{raw:?} has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{raw:?} must not have a query or fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain credentials".to_owned());
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

pub(super) fn parse_proxies(raw: &str) -> Result<Vec<Cidr>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| part.parse::<Cidr>().map_err(|e| e.to_string()))
        .collect()
}

pub(super) fn parse_count(raw: &str, min: usize, max: usize) -> Result<usize, String> {
    match raw.trim().parse::<usize>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!("{raw:?} is not a whole number from {min} to {max}")),
    }
}

/// Bytes, or a number with a binary unit: `1048576`, `512KiB`, `1 MiB`.
pub(super) fn parse_size(raw: &str) -> Result<usize, String> {
    let bad =
        || format!("{raw:?} is not a size (expected bytes, or a number with KiB, MiB or GiB)");
    let text = raw.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: usize = digits.parse().map_err(|_| bad())?;
    let scale: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        _ => return Err(bad()),
    };
    match number.checked_mul(scale) {
        Some(0) => Err(format!("{raw:?} must be more than zero")),
        Some(bytes) => Ok(bytes),
        None => Err(bad()),
    }
}

/// Whole seconds, optionally suffixed with `s`.
pub(super) fn parse_seconds(raw: &str) -> Result<Duration, String> {
    let text = raw.trim();
    let digits = text.strip_suffix('s').unwrap_or(text);
    digits
        .parse::<u64>()
        .ok()
        .filter(|secs| *secs <= 3600)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{raw:?} is not a number of seconds from 0 to 3600"))
}
