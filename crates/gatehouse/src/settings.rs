//! Settings resolution and validation: defaults → TOML file → environment → flags.
//!
//! [`resolve`] is a pure function over the config file's text, a map of
//! environment variables and the parsed flags (secret files are read through a
//! function the caller passes), so every rule here is unit-tested without
//! touching the process environment. [`load`] is the thin impure wrapper the
//! binary calls.
//!
//! Rules:
//! - a setting given in several layers takes the value of the highest one;
//! - unknown TOML keys are an error naming the key; unknown `GATEHOUSE_*`
//!   environment variables are returned as warnings (the logger is not up yet);
//! - a secret `X` may instead be read from a file named by `X_FILE` (trailing
//!   newline trimmed); setting both in one layer is an error;
//! - empty environment variables count as unset;
//! - every error names the setting as the user wrote it (`--listen`,
//!   `GATEHOUSE_LISTEN` or `listen in gatehouse.toml`) and never echoes a secret.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use gatehouse_core::model::ThrottlePolicy;
use gatehouse_core::secret::Secret;
use gatehouse_core::services::SignInSettings;
use gatehouse_web::Cidr;

use crate::cli::{CommonArgs, ServerArgs};

mod sources;
mod values;

use sources::{Layer, Layers, env_layer, file_layer, flag_layer};
use values::{
    check_database_url, default_database_url, parse_count, parse_nonempty_path, parse_proxies,
    parse_public_url, parse_seconds, parse_size,
};

/// The default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// The default data directory.
pub const DEFAULT_DATA_DIR: &str = "./gatehouse-data";
/// The default request body limit: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;
/// The default graceful-shutdown timeout.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);
/// The default signing-key rotation period, in days.
pub const DEFAULT_KEY_ROTATION_DAYS: usize = 90;
/// The longest rotation period accepted, in days (ten years).
const MAX_KEY_ROTATION_DAYS: usize = 3650;
/// Failures from one source on one account before a lockout.
pub const DEFAULT_LOCKOUT_FAILURES: usize = 10;
/// How long a lockout lasts.
pub const DEFAULT_LOCKOUT_MINUTES: usize = 15;
/// Bootstrap tokens shorter than this get a warning: they are admin credentials.
const SHORT_TOKEN: usize = 16;

/// A setting that stops start-up. Its `Display` is the one-line message users see.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid setting {setting}: {problem}")]
pub struct SettingError {
    /// The setting as the user wrote it: `--listen`, `GATEHOUSE_LISTEN`, `listen in FILE`.
    pub setting: String,
    /// What is wrong with it; never the value of a secret.
    pub problem: String,
}

impl SettingError {
    pub fn new(setting: impl fmt::Display, problem: impl Into<String>) -> Self {
        Self {
            setting: setting.to_string(),
            problem: problem.into(),
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Everything `gatehouse` needs to run, validated.
#[derive(Debug)]
pub struct Settings {
    /// The TOML file that was read, if any.
    pub config_file: Option<PathBuf>,
    pub data_dir: PathBuf,
    /// May hold a password, hence a [`Secret`].
    pub database_url: Secret,
    /// Whether `database_url` is the default SQLite file inside `data_dir`.
    pub database_in_data_dir: bool,
    /// The master key text and where it came from; `None` means `<data-dir>/master.key`.
    pub master_key: Option<(Secret, String)>,
    pub log_format: LogFormat,
    /// An `EnvFilter` directive string, already checked to parse.
    pub log_filter: String,
    pub hash_concurrency: usize,
    pub server: ServerSettings,
    /// Where e-mail goes: an SMTP server, or `None` for `<data-dir>/mailbox/`.
    pub smtp: Option<SmtpSettings>,
    /// Where phone codes go: the SMS / voice provider webhook; `None`
    /// turns phone factors off.
    pub sms: Option<SmsSettings>,
}

/// The SMS / voice provider webhook phone codes are POSTed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsSettings {
    /// https, or http on a loopback host.
    pub url: String,
    /// Signs every request (`X-Gatehouse-Signature`).
    pub secret: Secret,
}

/// How to reach the SMTP server that sends e-mailed sign-in codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// The `From` address.
    pub from: String,
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// STARTTLS, required (port 587 by default).
    StartTls,
    /// TLS from the first byte (port 465 by default).
    Tls,
    /// Plain text: only for a relay on the same machine (port 25 by default).
    None,
}

/// Settings only `serve` uses.
#[derive(Debug)]
pub struct ServerSettings {
    pub listen: SocketAddr,
    /// The public URL if one was given (no trailing slash); see [`ServerSettings::public_url_for`].
    pub public_url: Option<String>,
    pub tls: Option<TlsFiles>,
    pub trusted_proxies: Vec<Cidr>,
    pub body_limit: usize,
    pub shutdown_timeout: Duration,
    pub bootstrap_token: Option<Secret>,
    /// How long a signing key is active before rotation; `None` (0 days) rotates only on command.
    pub key_rotation: Option<Duration>,
    /// Brute-force protection: lockout threshold and length, hashing queue bound.
    pub sign_in: SignInSettings,
}

/// PEM files for built-in TLS, with the names of the settings they came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub cert_setting: String,
    pub key: PathBuf,
    pub key_setting: String,
}

impl ServerSettings {
    /// The public URL: the configured one, else `http(s)://<bound address>`.
    /// An unspecified bind address (`0.0.0.0`, `::`) is shown as loopback, a URL
    /// that at least works on this machine.
    pub fn public_url_for(&self, bound: SocketAddr) -> String {
        if let Some(url) = &self.public_url {
            return url.clone();
        }
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let mut addr = bound;
        if addr.ip().is_unspecified() {
            addr.set_ip(match addr.ip() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            });
        }
        format!("{scheme}://{addr}")
    }
}

/// Settings plus what should be logged about them once logging is up.
#[derive(Debug)]
pub struct Resolved {
    pub settings: Settings,
    pub warnings: Vec<String>,
}

/// The config file as read by the caller.
#[derive(Debug, Clone, Copy)]
pub struct ConfigFile<'a> {
    pub path: &'a Path,
    pub contents: &'a str,
}

/// Everything [`resolve`] looks at.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    pub file: Option<ConfigFile<'a>>,
    /// Environment variables (at least every `GATEHOUSE_*` one and `RUST_LOG`).
    pub env: &'a BTreeMap<String, String>,
    pub common: &'a CommonArgs,
    pub server: &'a ServerArgs,
    /// Default for `hash_concurrency`: the number of CPUs.
    pub cpus: usize,
}

/// Reads the file a `*_FILE` setting names.
pub type ReadFile<'a> = &'a dyn Fn(&Path) -> std::io::Result<String>;

/// Loads settings from the real process environment and file system.
pub fn load(common: &CommonArgs, server: &ServerArgs) -> Result<Resolved, SettingError> {
    let env = process_env()?;
    let config = config_path(&env, common);
    let contents = match &config {
        Some((path, setting)) => Some(std::fs::read_to_string(path).map_err(|e| {
            SettingError::new(setting, format!("cannot read {}: {e}", path.display()))
        })?),
        None => None,
    };
    let file = match (&config, &contents) {
        (Some((path, _)), Some(contents)) => Some(ConfigFile { path, contents }),
        _ => None,
    };
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let inputs = Inputs {
        file,
        env: &env,
        common,
        server,
        cpus,
    };
    resolve(&inputs, &|path| std::fs::read_to_string(path))
}

/// The `GATEHOUSE_*` variables and `RUST_LOG` of this process.
fn process_env() -> Result<BTreeMap<String, String>, SettingError> {
    let mut env = BTreeMap::new();
    for (name, value) in std::env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        if !(name.starts_with("GATEHOUSE_") || name == "RUST_LOG") {
            continue;
        }
        let value = value
            .into_string()
            .map_err(|_| SettingError::new(name, "is not valid UTF-8"))?;
        env.insert(name.to_owned(), value);
    }
    Ok(env)
}

/// Where the config file is, and the setting that named it: `--config`, else `GATEHOUSE_CONFIG`.
pub fn config_path(
    env: &BTreeMap<String, String>,
    common: &CommonArgs,
) -> Option<(PathBuf, &'static str)> {
    if let Some(path) = &common.config {
        return Some((path.clone(), "--config"));
    }
    env.get("GATEHOUSE_CONFIG")
        .filter(|v| !v.is_empty())
        .map(|v| (PathBuf::from(v), "GATEHOUSE_CONFIG"))
}

/// Resolves and validates settings. Pure but for `read_file`, used for `*_FILE` settings.
pub fn resolve(inputs: &Inputs<'_>, read_file: ReadFile<'_>) -> Result<Resolved, SettingError> {
    let mut warnings = Vec::new();
    let file = match inputs.file {
        Some(file) => file_layer(file)?,
        None => Layer::new(),
    };
    let env = env_layer(inputs.env, &mut warnings);
    let flags = flag_layer(inputs.common, inputs.server)?;
    let layers = Layers {
        layers: [flags, env, file],
    };

    let data_dir = layers
        .get("data_dir")
        .map(|(origin, raw)| parse_nonempty_path(origin, raw))
        .transpose()?
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));

    let (database_url, database_in_data_dir) =
        match layers.secret("database_url", "database_url_file", read_file)? {
            Some((origin, url)) => {
                check_database_url(&url).map_err(|problem| SettingError::new(&origin, problem))?;
                (url, false)
            }
            None => (Secret::new(default_database_url(&data_dir)), true),
        };

    let master_key = layers
        .secret("master_key", "master_key_file", read_file)?
        .map(|(origin, key)| (key, origin.to_string()));

    let log_format = match layers.get("log_format") {
        None => LogFormat::Text,
        Some((_, raw)) if raw.eq_ignore_ascii_case("text") => LogFormat::Text,
        Some((_, raw)) if raw.eq_ignore_ascii_case("json") => LogFormat::Json,
        Some((origin, raw)) => {
            return Err(SettingError::new(
                origin,
                format!("{raw:?} is not text or json"),
            ));
        }
    };

    let log_filter = match layers.get("log_level") {
        Some((origin, raw)) => {
            tracing_subscriber::EnvFilter::try_new(raw).map_err(|e| {
                SettingError::new(origin, format!("{raw:?} is not a log filter ({e})"))
            })?;
            raw.clone()
        }
        None => match inputs.env.get("RUST_LOG").filter(|v| !v.is_empty()) {
            Some(raw) => {
                tracing_subscriber::EnvFilter::try_new(raw).map_err(|e| {
                    SettingError::new("RUST_LOG", format!("{raw:?} is not a log filter ({e})"))
                })?;
                raw.clone()
            }
            None => "info".to_owned(),
        },
    };

    let hash_concurrency = match layers.get("hash_concurrency") {
        Some((origin, raw)) => {
            parse_count(raw, 1, 4096).map_err(|p| SettingError::new(origin, p))?
        }
        None => inputs.cpus.max(1),
    };

    let listen = match layers.get("listen") {
        Some((origin, raw)) => raw.parse::<SocketAddr>().map_err(|_| {
            SettingError::new(
                origin,
                format!(
                    "{raw:?} is not a socket address (expected IP:PORT, e.g. {DEFAULT_LISTEN})"
                ),
            )
        })?,
        None => SocketAddr::from(([127, 0, 0, 1], 8080)),
    };

    let public_url = layers
        .get("public_url")
        .map(|(origin, raw)| parse_public_url(raw).map_err(|p| SettingError::new(origin, p)))
        .transpose()?;

    let tls = match (layers.get("tls_cert"), layers.get("tls_key")) {
        (None, None) => None,
        (Some((cert_origin, cert)), Some((key_origin, key))) => Some(TlsFiles {
            cert: parse_nonempty_path(cert_origin, cert)?,
            cert_setting: cert_origin.to_string(),
            key: parse_nonempty_path(key_origin, key)?,
            key_setting: key_origin.to_string(),
        }),
        (Some((origin, _)), None) => {
            return Err(SettingError::new(
                origin,
                "a TLS key (--tls-key, GATEHOUSE_TLS_KEY) is required too",
            ));
        }
        (None, Some((origin, _))) => {
            return Err(SettingError::new(
                origin,
                "a TLS certificate (--tls-cert, GATEHOUSE_TLS_CERT) is required too",
            ));
        }
    };

    let trusted_proxies = match layers.get("trusted_proxies") {
        Some((origin, raw)) => parse_proxies(raw).map_err(|p| SettingError::new(origin, p))?,
        None => Vec::new(),
    };

    let body_limit = match layers.get("body_limit") {
        Some((origin, raw)) => parse_size(raw).map_err(|p| SettingError::new(origin, p))?,
        None => DEFAULT_BODY_LIMIT,
    };

    let shutdown_timeout = match layers.get("shutdown_timeout") {
        Some((origin, raw)) => parse_seconds(raw).map_err(|p| SettingError::new(origin, p))?,
        None => DEFAULT_SHUTDOWN_TIMEOUT,
    };

    let key_rotation_days = match layers.get("key_rotation_days") {
        Some((origin, raw)) => {
            parse_count(raw, 0, MAX_KEY_ROTATION_DAYS).map_err(|p| SettingError::new(origin, p))?
        }
        None => DEFAULT_KEY_ROTATION_DAYS,
    };
    let key_rotation = (key_rotation_days > 0)
        .then(|| Duration::from_secs(u64::try_from(key_rotation_days).unwrap_or(0) * 86_400));

    let sign_in = sign_in_settings(&layers)?;

    let bootstrap_token = match layers.secret(
        "bootstrap_token",
        "bootstrap_token_file",
        read_file,
    )? {
        Some((origin, token)) => {
            if token.len() < SHORT_TOKEN {
                warnings.push(format!(
                    "{origin} is shorter than {SHORT_TOKEN} characters; it grants full admin access, \
                     use a long random value"
                ));
            }
            Some(token)
        }
        None => None,
    };

    let smtp = smtp_settings(&layers, read_file)?;
    let sms = sms_settings(&layers, read_file)?;

    Ok(Resolved {
        settings: Settings {
            config_file: inputs.file.map(|f| f.path.to_path_buf()),
            data_dir,
            database_url,
            database_in_data_dir,
            master_key,
            log_format,
            log_filter,
            hash_concurrency,
            server: ServerSettings {
                listen,
                public_url,
                tls,
                trusted_proxies,
                body_limit,
                shutdown_timeout,
                bootstrap_token,
                key_rotation,
                sign_in,
            },
            smtp,
            sms,
        },
        warnings,
    })
}

/// `hash_queue`, `lockout_failures`, `lockout_minutes`.
fn sign_in_settings(layers: &Layers) -> Result<SignInSettings, SettingError> {
    let count = |key: &str, min: usize, max: usize| match layers.get(key) {
        Some((origin, raw)) => parse_count(raw, min, max)
            .map(Some)
            .map_err(|p| SettingError::new(origin, p)),
        None => Ok(None),
    };
    let hash_queue = count("hash_queue", 0, 1_000_000)?;
    let failures = count("lockout_failures", 1, 1000)?.unwrap_or(DEFAULT_LOCKOUT_FAILURES);
    let minutes = count("lockout_minutes", 1, 7 * 24 * 60)?.unwrap_or(DEFAULT_LOCKOUT_MINUTES);
    let policy = ThrottlePolicy::default().with_lockout(
        i64::try_from(failures).unwrap_or(i64::MAX),
        i64::try_from(minutes)
            .unwrap_or(i64::MAX)
            .saturating_mul(60_000),
    );
    Ok(SignInSettings {
        policy,
        hash_queue,
        ..SignInSettings::default()
    })
}

/// The SMTP settings: none unless `smtp_host` is set; then `smtp_from` is required.
fn smtp_settings(
    layers: &Layers,
    read_file: ReadFile<'_>,
) -> Result<Option<SmtpSettings>, SettingError> {
    let Some((host_origin, host)) = layers.get("smtp_host") else {
        for key in ["smtp_port", "smtp_tls", "smtp_username", "smtp_from"] {
            if let Some((origin, _)) = layers.get(key) {
                return Err(SettingError::new(
                    origin,
                    "has no effect without smtp_host (GATEHOUSE_SMTP_HOST)",
                ));
            }
        }
        return Ok(None);
    };
    if host.trim().is_empty() {
        return Err(SettingError::new(host_origin, "must not be empty"));
    }
    let tls = match layers.get("smtp_tls") {
        None => SmtpTls::StartTls,
        Some((_, raw)) if raw.eq_ignore_ascii_case("starttls") => SmtpTls::StartTls,
        Some((_, raw)) if raw.eq_ignore_ascii_case("tls") => SmtpTls::Tls,
        Some((_, raw)) if raw.eq_ignore_ascii_case("none") => SmtpTls::None,
        Some((origin, raw)) => {
            return Err(SettingError::new(
                origin,
                format!("{raw:?} is not starttls, tls or none"),
            ));
        }
    };
    let port = match layers.get("smtp_port") {
        Some((origin, raw)) => {
            let port = parse_count(raw, 1, 65_535).map_err(|p| SettingError::new(origin, p))?;
            u16::try_from(port).map_err(|_| SettingError::new(origin, "is not a port"))?
        }
        None => match tls {
            SmtpTls::StartTls => 587,
            SmtpTls::Tls => 465,
            SmtpTls::None => 25,
        },
    };
    let Some((_, from)) = layers.get("smtp_from") else {
        return Err(SettingError::new(
            host_origin,
            "needs a From address too (smtp_from, GATEHOUSE_SMTP_FROM)",
        ));
    };
    let username = layers.get("smtp_username").map(|(_, u)| u.clone());
    let password = layers
        .secret("smtp_password", "smtp_password_file", read_file)?
        .map(|(_, p)| p);
    Ok(Some(SmtpSettings {
        host: host.trim().to_owned(),
        port,
        tls,
        username,
        password,
        from: from.clone(),
    }))
}

/// The SMS webhook: none unless `sms_webhook_url` is set; then a signing
/// secret is required, and the URL must be https unless its host is loopback.
fn sms_settings(
    layers: &Layers,
    read_file: ReadFile<'_>,
) -> Result<Option<SmsSettings>, SettingError> {
    let secret = layers.secret("sms_webhook_secret", "sms_webhook_secret_file", read_file)?;
    let Some((url_origin, raw)) = layers.get("sms_webhook_url") else {
        if let Some((origin, _)) = secret {
            return Err(SettingError::new(
                origin,
                "has no effect without sms_webhook_url (GATEHOUSE_SMS_WEBHOOK_URL)",
            ));
        }
        return Ok(None);
    };
    let url = check_webhook_url(raw).map_err(|p| SettingError::new(url_origin, p))?;
    let Some((_, secret)) = secret else {
        return Err(SettingError::new(
            url_origin,
            "needs a signing secret too (sms_webhook_secret, GATEHOUSE_SMS_WEBHOOK_SECRET or \
             GATEHOUSE_SMS_WEBHOOK_SECRET_FILE)",
        ));
    };
    Ok(Some(SmsSettings { url, secret }))
}

/// An absolute https URL, or http when the host is loopback (`localhost`,
/// `127.0.0.0/8`, `::1`); no credentials. Errors do not echo the URL (its
/// query may hold a provider token).
fn check_webhook_url(raw: &str) -> Result<String, String> {
    let url = url::Url::parse(raw.trim()).map_err(|e| format!("is not an absolute URL ({e})"))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err("has no host".to_owned()),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => return Err("must be https (http only to a loopback host)".to_owned()),
        _ => return Err("must be an https URL".to_owned()),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain credentials".to_owned());
    }
    Ok(url.to_string())
}

#[cfg(test)]
mod tests;
