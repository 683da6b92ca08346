//! Where raw setting values come from: the table of known settings, and one
//! layer each for the TOML file, the environment and the flags. Values here are
//! still text; [`super::values`] checks and converts them.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use gatehouse_core::secret::Secret;

use super::{ConfigFile, ReadFile, SettingError};
use crate::cli::{CommonArgs, ServerArgs};

/// Environment variables read by something other than the settings (tests), never warned about.
const ENV_IGNORED_PREFIXES: &[&str] = &["GATEHOUSE_TEST_"];

/// One setting: its TOML key, environment variable and flag.
#[derive(Debug)]
pub(super) struct Spec {
    pub key: &'static str,
    pub env: &'static str,
    pub flag: Option<&'static str>,
    /// Whether the TOML file may set it (secrets themselves may not, only their `_file`).
    pub in_file: bool,
    toml: TomlKind,
}

/// What a TOML value may look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TomlKind {
    Text,
    /// A string or a non-negative integer.
    Number,
    /// A list of strings, or one comma-separated string.
    List,
}

const fn spec(key: &'static str, env: &'static str, flag: &'static str, toml: TomlKind) -> Spec {
    Spec {
        key,
        env,
        flag: Some(flag),
        in_file: true,
        toml,
    }
}

/// A `*_FILE` alternative: in the file and the environment, no flag unless given.
const fn file_of(key: &'static str, env: &'static str, flag: Option<&'static str>) -> Spec {
    Spec {
        key,
        env,
        flag,
        in_file: true,
        toml: Text,
    }
}

/// A secret itself: only ever from the environment.
const fn env_only(key: &'static str, env: &'static str) -> Spec {
    Spec {
        key,
        env,
        flag: None,
        in_file: false,
        toml: Text,
    }
}

/// A setting of the environment and the file only, with no flag.
const fn env_file(key: &'static str, env: &'static str, toml: TomlKind) -> Spec {
    Spec {
        key,
        env,
        flag: None,
        in_file: true,
        toml,
    }
}

use TomlKind::{List, Number, Text};

/// Every setting: TOML key, environment variable, flag, TOML value kind.
#[rustfmt::skip]
pub(super) const SPECS: &[Spec] = &[
    spec("listen",            "GATEHOUSE_LISTEN",            "--listen",            Text),
    spec("public_url",        "GATEHOUSE_PUBLIC_URL",        "--public-url",        Text),
    spec("data_dir",          "GATEHOUSE_DATA_DIR",          "--data-dir",          Text),
    spec("database_url",      "GATEHOUSE_DATABASE_URL",      "--database-url",      Text),
    file_of("database_url_file", "GATEHOUSE_DATABASE_URL_FILE", None),
    env_only("master_key",       "GATEHOUSE_MASTER_KEY"),
    file_of("master_key_file",   "GATEHOUSE_MASTER_KEY_FILE",   Some("--master-key-file")),
    env_only("bootstrap_token",  "GATEHOUSE_BOOTSTRAP_TOKEN"),
    file_of("bootstrap_token_file", "GATEHOUSE_BOOTSTRAP_TOKEN_FILE", Some("--bootstrap-token-file")),
    spec("log_format",        "GATEHOUSE_LOG_FORMAT",        "--log-format",        Text),
    spec("log_level",         "GATEHOUSE_LOG_LEVEL",         "--log-level",         Text),
    spec("tls_cert",          "GATEHOUSE_TLS_CERT",          "--tls-cert",          Text),
    spec("tls_key",           "GATEHOUSE_TLS_KEY",           "--tls-key",           Text),
    spec("trusted_proxies",   "GATEHOUSE_TRUSTED_PROXIES",   "--trusted-proxies",   List),
    spec("hash_concurrency",  "GATEHOUSE_HASH_CONCURRENCY",  "--hash-concurrency",  Number),
    spec("body_limit",        "GATEHOUSE_BODY_LIMIT",        "--body-limit",        Number),
    spec("shutdown_timeout",  "GATEHOUSE_SHUTDOWN_TIMEOUT",  "--shutdown-timeout",  Number),
    spec("key_rotation_days", "GATEHOUSE_KEY_ROTATION_DAYS", "--key-rotation-days", Number),
    spec("hash_queue",        "GATEHOUSE_HASH_QUEUE",        "--hash-queue",        Number),
    spec("lockout_failures",  "GATEHOUSE_LOCKOUT_FAILURES",  "--lockout-failures",  Number),
    spec("lockout_minutes",   "GATEHOUSE_LOCKOUT_MINUTES",   "--lockout-minutes",   Number),
    // -- e-mail (sign-in codes); without smtp_host messages go to <data-dir>/mailbox/
    env_file("smtp_host",     "GATEHOUSE_SMTP_HOST",     Text),
    env_file("smtp_port",     "GATEHOUSE_SMTP_PORT",     Number),
    env_file("smtp_tls",      "GATEHOUSE_SMTP_TLS",      Text),
    env_file("smtp_username", "GATEHOUSE_SMTP_USERNAME", Text),
    env_only("smtp_password", "GATEHOUSE_SMTP_PASSWORD"),
    file_of("smtp_password_file", "GATEHOUSE_SMTP_PASSWORD_FILE", None),
    env_file("smtp_from",     "GATEHOUSE_SMTP_FROM",     Text),
    // -- phone codes: the SMS / voice provider webhook; without it phone factors are off
    spec("sms_webhook_url",   "GATEHOUSE_SMS_WEBHOOK_URL",   "--sms-webhook-url",   Text),
    env_only("sms_webhook_secret", "GATEHOUSE_SMS_WEBHOOK_SECRET"),
    file_of("sms_webhook_secret_file", "GATEHOUSE_SMS_WEBHOOK_SECRET_FILE", Some("--sms-webhook-secret-file")),
];

/// Environment variables that are known but not settings resolved per key here.
const OTHER_KNOWN_ENV: &[&str] = &["GATEHOUSE_CONFIG"];

pub(super) fn spec_for(key: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.key == key)
}

/// Where a raw value came from; its `Display` is how errors name the setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Origin {
    File { key: &'static str, path: String },
    Env(&'static str),
    Flag(&'static str),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File { key, path } => write!(f, "{key} in {path}"),
            Origin::Env(name) | Origin::Flag(name) => f.write_str(name),
        }
    }
}

/// One layer's raw values, keyed by TOML key.
pub(super) type Layer = BTreeMap<&'static str, (Origin, String)>;

/// The layers in decreasing precedence: flags, environment, file.
pub(super) struct Layers {
    pub layers: [Layer; 3],
}

impl Layers {
    pub fn get(&self, key: &str) -> Option<&(Origin, String)> {
        self.layers.iter().find_map(|layer| layer.get(key))
    }

    /// A secret given directly (`key`) or through a file (`file_key`), from the highest layer
    /// that has either; both in one layer is an error.
    pub fn secret(
        &self,
        key: &str,
        file_key: &str,
        read_file: ReadFile<'_>,
    ) -> Result<Option<(Origin, Secret)>, SettingError> {
        for layer in &self.layers {
            match (layer.get(key), layer.get(file_key)) {
                (None, None) => continue,
                (Some((origin, _)), Some((file_origin, _))) => {
                    return Err(SettingError::new(
                        origin,
                        format!("{file_origin} is set too; set only one of them"),
                    ));
                }
                (Some((origin, value)), None) => {
                    return Ok(Some((origin.clone(), Secret::new(value.clone()))));
                }
                (None, Some((origin, path))) => {
                    let text = read_file(Path::new(path)).map_err(|e| {
                        SettingError::new(origin, format!("cannot read {path}: {e}"))
                    })?;
                    let value = text.trim_end_matches(['\n', '\r']);
                    if value.is_empty() {
                        return Err(SettingError::new(origin, format!("{path} is empty")));
                    }
                    return Ok(Some((origin.clone(), Secret::new(value))));
                }
            }
        }
        Ok(None)
    }
}

/// Parses the TOML file into raw values, refusing unknown keys and wrong types.
pub(super) fn file_layer(file: ConfigFile<'_>) -> Result<Layer, SettingError> {
    let path = file.path.display().to_string();
    let table: toml::Table = toml::from_str(file.contents).map_err(|e| {
        let line = e.span().map_or(0, |span| {
            file.contents
                .get(..span.start)
                .map_or(0, |before| before.lines().count().max(1))
        });
        let message = e
            .message()
            .lines()
            .next()
            .unwrap_or("syntax error")
            .to_owned();
        SettingError::new(&path, format!("line {line}: {message}"))
    })?;
    let mut layer = Layer::new();
    for (key, value) in table {
        let Some(spec) = spec_for(&key).filter(|s| s.in_file) else {
            let known: Vec<&str> = SPECS.iter().filter(|s| s.in_file).map(|s| s.key).collect();
            let hint = match spec_for(&key) {
                Some(spec) => format!(
                    "secrets are not read from the config file; use {} or {}_file",
                    spec.env, spec.key
                ),
                None => match closest(&key, known.iter().copied()) {
                    Some(near) => format!("unknown key (did you mean {near}?)"),
                    None => "unknown key".to_owned(),
                },
            };
            return Err(SettingError::new(format!("{key} in {path}"), hint));
        };
        let origin = Origin::File {
            key: spec.key,
            path: path.clone(),
        };
        let raw = match (spec.toml, value) {
            (_, toml::Value::String(s)) => s,
            (Number, toml::Value::Integer(n)) if n >= 0 => n.to_string(),
            (List, toml::Value::Array(items)) => {
                let mut parts = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        toml::Value::String(s) => parts.push(s),
                        _ => return Err(SettingError::new(&origin, "expected a list of strings")),
                    }
                }
                parts.join(",")
            }
            (Text, _) => return Err(SettingError::new(&origin, "expected a string")),
            (Number, _) => {
                return Err(SettingError::new(
                    &origin,
                    "expected a non-negative integer or a string",
                ));
            }
            (List, _) => {
                return Err(SettingError::new(&origin, "expected a list of strings"));
            }
        };
        layer.insert(spec.key, (origin, raw));
    }
    Ok(layer)
}

/// Picks the known variables out of the environment and warns about unknown `GATEHOUSE_*` ones.
pub(super) fn env_layer(env: &BTreeMap<String, String>, warnings: &mut Vec<String>) -> Layer {
    let mut layer = Layer::new();
    for spec in SPECS {
        if let Some(value) = env.get(spec.env).filter(|v| !v.is_empty()) {
            layer.insert(spec.key, (Origin::Env(spec.env), value.clone()));
        }
    }
    let known = || {
        SPECS
            .iter()
            .map(|s| s.env)
            .chain(OTHER_KNOWN_ENV.iter().copied())
    };
    for name in env.keys() {
        if !name.starts_with("GATEHOUSE_")
            || known().any(|k| k == name)
            || ENV_IGNORED_PREFIXES.iter().any(|p| name.starts_with(p))
        {
            continue;
        }
        let hint = match closest(name, known()) {
            Some(near) => format!(" (did you mean {near}?)"),
            None => String::new(),
        };
        warnings.push(format!(
            "unknown environment variable {name} is ignored{hint}"
        ));
    }
    layer
}

pub(super) fn flag_layer(common: &CommonArgs, server: &ServerArgs) -> Result<Layer, SettingError> {
    let mut layer = Layer::new();
    let mut text = |key: &'static str, value: Option<&String>| {
        if let (Some(value), Some(flag)) = (value, spec_for(key).and_then(|s| s.flag)) {
            layer.insert(key, (Origin::Flag(flag), value.clone()));
        }
    };
    text("database_url", common.database_url.as_ref());
    text("log_format", common.log_format.as_ref());
    text("log_level", common.log_level.as_ref());
    text("hash_concurrency", common.hash_concurrency.as_ref());
    text("listen", server.listen.as_ref());
    text("public_url", server.public_url.as_ref());
    text("trusted_proxies", server.trusted_proxies.as_ref());
    text("body_limit", server.body_limit.as_ref());
    text("shutdown_timeout", server.shutdown_timeout.as_ref());
    text("key_rotation_days", server.key_rotation_days.as_ref());
    text("hash_queue", server.hash_queue.as_ref());
    text("lockout_failures", server.lockout_failures.as_ref());
    text("lockout_minutes", server.lockout_minutes.as_ref());
    text("sms_webhook_url", server.sms_webhook_url.as_ref());
    let paths = [
        ("data_dir", &common.data_dir),
        ("master_key_file", &common.master_key_file),
        ("tls_cert", &server.tls_cert),
        ("tls_key", &server.tls_key),
        ("bootstrap_token_file", &server.bootstrap_token_file),
        ("sms_webhook_secret_file", &server.sms_webhook_secret_file),
    ];
    for (key, path) in paths {
        let (Some(path), Some(flag)) = (path, spec_for(key).and_then(|s| s.flag)) else {
            continue;
        };
        let Some(text) = path.to_str() else {
            return Err(SettingError::new(flag, "is not valid UTF-8"));
        };
        layer.insert(key, (Origin::Flag(flag), text.to_owned()));
    }
    Ok(layer)
}

/// The closest known name within a small edit distance, for "did you mean" hints.
fn closest<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let name = name.to_ascii_lowercase();
    known
        .map(|k| (edit_distance(&name, &k.to_ascii_lowercase()), k))
        .filter(|(d, _)| *d <= 3)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            let next = (row[j + 1] + 1).min(row[j] + 1).min(prev + cost);
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}
