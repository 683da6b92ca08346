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

use gatehouse_core::secret::Secret;
use gatehouse_web::Cidr;

use crate::cli::{CommonArgs, ServerArgs};

/// The default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// The default data directory.
pub const DEFAULT_DATA_DIR: &str = "./gatehouse-data";
/// The default request body limit: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;
/// The default graceful-shutdown timeout.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);
/// Bootstrap tokens shorter than this get a warning: they are admin credentials.
const SHORT_TOKEN: usize = 16;

/// Environment variables read by something other than the settings (tests), never warned about.
const ENV_IGNORED_PREFIXES: &[&str] = &["GATEHOUSE_TEST_"];

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

/// One setting: its TOML key, environment variable and flag.
#[derive(Debug)]
struct Spec {
    key: &'static str,
    env: &'static str,
    flag: Option<&'static str>,
    /// Whether the TOML file may set it (secrets themselves may not, only their `_file`).
    in_file: bool,
    toml: TomlKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TomlKind {
    Text,
    /// A string or a non-negative integer.
    Number,
    /// A list of strings, or one comma-separated string.
    List,
}

const fn spec(
    key: &'static str,
    env: &'static str,
    flag: Option<&'static str>,
    toml: TomlKind,
) -> Spec {
    Spec {
        key,
        env,
        flag,
        in_file: true,
        toml,
    }
}

const SPECS: &[Spec] = &[
    spec(
        "listen",
        "GATEHOUSE_LISTEN",
        Some("--listen"),
        TomlKind::Text,
    ),
    spec(
        "public_url",
        "GATEHOUSE_PUBLIC_URL",
        Some("--public-url"),
        TomlKind::Text,
    ),
    spec(
        "data_dir",
        "GATEHOUSE_DATA_DIR",
        Some("--data-dir"),
        TomlKind::Text,
    ),
    spec(
        "database_url",
        "GATEHOUSE_DATABASE_URL",
        Some("--database-url"),
        TomlKind::Text,
    ),
    spec(
        "database_url_file",
        "GATEHOUSE_DATABASE_URL_FILE",
        None,
        TomlKind::Text,
    ),
    Spec {
        key: "master_key",
        env: "GATEHOUSE_MASTER_KEY",
        flag: None,
        in_file: false,
        toml: TomlKind::Text,
    },
    spec(
        "master_key_file",
        "GATEHOUSE_MASTER_KEY_FILE",
        Some("--master-key-file"),
        TomlKind::Text,
    ),
    Spec {
        key: "bootstrap_token",
        env: "GATEHOUSE_BOOTSTRAP_TOKEN",
        flag: None,
        in_file: false,
        toml: TomlKind::Text,
    },
    spec(
        "bootstrap_token_file",
        "GATEHOUSE_BOOTSTRAP_TOKEN_FILE",
        Some("--bootstrap-token-file"),
        TomlKind::Text,
    ),
    spec(
        "log_format",
        "GATEHOUSE_LOG_FORMAT",
        Some("--log-format"),
        TomlKind::Text,
    ),
    spec(
        "log_level",
        "GATEHOUSE_LOG_LEVEL",
        Some("--log-level"),
        TomlKind::Text,
    ),
    spec(
        "tls_cert",
        "GATEHOUSE_TLS_CERT",
        Some("--tls-cert"),
        TomlKind::Text,
    ),
    spec(
        "tls_key",
        "GATEHOUSE_TLS_KEY",
        Some("--tls-key"),
        TomlKind::Text,
    ),
    spec(
        "trusted_proxies",
        "GATEHOUSE_TRUSTED_PROXIES",
        Some("--trusted-proxies"),
        TomlKind::List,
    ),
    spec(
        "hash_concurrency",
        "GATEHOUSE_HASH_CONCURRENCY",
        Some("--hash-concurrency"),
        TomlKind::Number,
    ),
    spec(
        "body_limit",
        "GATEHOUSE_BODY_LIMIT",
        Some("--body-limit"),
        TomlKind::Number,
    ),
    spec(
        "shutdown_timeout",
        "GATEHOUSE_SHUTDOWN_TIMEOUT",
        Some("--shutdown-timeout"),
        TomlKind::Number,
    ),
];

/// Environment variables that are known but not settings resolved per key here.
const OTHER_KNOWN_ENV: &[&str] = &["GATEHOUSE_CONFIG"];

fn spec_for(key: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.key == key)
}

/// Where a raw value came from; its `Display` is how errors name the setting.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Origin {
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
type Layer = BTreeMap<&'static str, (Origin, String)>;

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
            },
        },
        warnings,
    })
}

/// The layers in decreasing precedence: flags, environment, file.
struct Layers {
    layers: [Layer; 3],
}

impl Layers {
    fn get(&self, key: &str) -> Option<&(Origin, String)> {
        self.layers.iter().find_map(|layer| layer.get(key))
    }

    /// A secret given directly (`key`) or through a file (`file_key`), from the highest layer
    /// that has either; both in one layer is an error.
    fn secret(
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
fn file_layer(file: ConfigFile<'_>) -> Result<Layer, SettingError> {
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
            (TomlKind::Number, toml::Value::Integer(n)) if n >= 0 => n.to_string(),
            (TomlKind::List, toml::Value::Array(items)) => {
                let mut parts = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        toml::Value::String(s) => parts.push(s),
                        _ => return Err(SettingError::new(&origin, "expected a list of strings")),
                    }
                }
                parts.join(",")
            }
            (TomlKind::Text, _) => return Err(SettingError::new(&origin, "expected a string")),
            (TomlKind::Number, _) => {
                return Err(SettingError::new(
                    &origin,
                    "expected a non-negative integer or a string",
                ));
            }
            (TomlKind::List, _) => {
                return Err(SettingError::new(&origin, "expected a list of strings"));
            }
        };
        layer.insert(spec.key, (origin, raw));
    }
    Ok(layer)
}

/// Picks the known variables out of the environment and warns about unknown `GATEHOUSE_*` ones.
fn env_layer(env: &BTreeMap<String, String>, warnings: &mut Vec<String>) -> Layer {
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

fn flag_layer(common: &CommonArgs, server: &ServerArgs) -> Result<Layer, SettingError> {
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
    let paths = [
        ("data_dir", &common.data_dir),
        ("master_key_file", &common.master_key_file),
        ("tls_cert", &server.tls_cert),
        ("tls_key", &server.tls_key),
        ("bootstrap_token_file", &server.bootstrap_token_file),
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

fn parse_nonempty_path(origin: &Origin, raw: &str) -> Result<PathBuf, SettingError> {
    if raw.trim().is_empty() {
        return Err(SettingError::new(origin, "is empty"));
    }
    Ok(PathBuf::from(raw))
}

/// `sqlite://<data-dir>/gatehouse.db?mode=rwc`, with the characters sqlx would
/// misread in a path percent-encoded (sqlx decodes them).
pub fn default_database_url(data_dir: &Path) -> String {
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
fn check_database_url(url: &Secret) -> Result<(), String> {
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
fn parse_public_url(raw: &str) -> Result<String, String> {
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

fn parse_proxies(raw: &str) -> Result<Vec<Cidr>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| part.parse::<Cidr>().map_err(|e| e.to_string()))
        .collect()
}

fn parse_count(raw: &str, min: usize, max: usize) -> Result<usize, String> {
    match raw.trim().parse::<usize>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!("{raw:?} is not a whole number from {min} to {max}")),
    }
}

/// Bytes, or a number with a binary unit: `1048576`, `512KiB`, `1 MiB`.
fn parse_size(raw: &str) -> Result<usize, String> {
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
fn parse_seconds(raw: &str) -> Result<Duration, String> {
    let text = raw.trim();
    let digits = text.strip_suffix('s').unwrap_or(text);
    digits
        .parse::<u64>()
        .ok()
        .filter(|secs| *secs <= 3600)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{raw:?} is not a number of seconds from 0 to 3600"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test inputs: a config file, environment and flags.
    #[derive(Default)]
    struct Given {
        file: Option<&'static str>,
        env: Vec<(&'static str, &'static str)>,
        common: CommonArgs,
        server: ServerArgs,
        files: Vec<(&'static str, &'static str)>,
    }

    impl Given {
        fn resolve(&self) -> Result<Resolved, SettingError> {
            let env: BTreeMap<String, String> = self
                .env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            let files = self.files.clone();
            let read = move |path: &Path| {
                files
                    .iter()
                    .find(|(p, _)| Path::new(p) == path)
                    .map(|(_, text)| (*text).to_owned())
                    .ok_or_else(|| {
                        std::io::Error::new(std::io::ErrorKind::NotFound, "No such file")
                    })
            };
            let inputs = Inputs {
                file: self.file.map(|contents| ConfigFile {
                    path: Path::new("gh.toml"),
                    contents,
                }),
                env: &env,
                common: &self.common,
                server: &self.server,
                cpus: 3,
            };
            resolve(&inputs, &read)
        }

        fn ok(&self) -> Result<Settings, SettingError> {
            self.resolve().map(|r| r.settings)
        }

        fn err(&self) -> String {
            match self.resolve() {
                Ok(resolved) => format!("unexpectedly resolved: {resolved:?}"),
                Err(e) => e.to_string(),
            }
        }
    }

    #[test]
    fn settings_defaults() -> Result<(), SettingError> {
        let s = Given::default().ok()?;
        assert_eq!(
            s.server.listen,
            "127.0.0.1:8080"
                .parse::<SocketAddr>()
                .map_err(|_| SettingError::new("x", "y"))?
        );
        assert_eq!(s.data_dir, PathBuf::from("./gatehouse-data"));
        assert_eq!(
            s.database_url.expose(),
            "sqlite://./gatehouse-data/gatehouse.db?mode=rwc"
        );
        assert_eq!(s.log_format, LogFormat::Text);
        assert_eq!(s.log_filter, "info");
        assert_eq!(s.hash_concurrency, 3);
        assert_eq!(s.server.body_limit, 1024 * 1024);
        assert_eq!(s.server.shutdown_timeout, Duration::from_secs(30));
        assert!(s.server.tls.is_none() && s.server.public_url.is_none());
        assert!(s.server.bootstrap_token.is_none() && s.master_key.is_none());
        assert_eq!(
            s.server.public_url_for(s.server.listen),
            "http://127.0.0.1:8080"
        );
        Ok(())
    }

    #[test]
    fn settings_precedence_is_defaults_file_env_flags() -> Result<(), SettingError> {
        let file = Some("listen = \"127.0.0.1:1001\"\nlog_format = \"json\"\nbody_limit = 2048\n");
        let only_file = Given {
            file,
            ..Given::default()
        }
        .ok()?;
        assert_eq!(only_file.server.listen.port(), 1001);
        assert_eq!(only_file.log_format, LogFormat::Json);
        assert_eq!(only_file.server.body_limit, 2048);

        let env = vec![("GATEHOUSE_LISTEN", "127.0.0.1:1002")];
        let file_env = Given {
            file,
            env: env.clone(),
            ..Given::default()
        }
        .ok()?;
        assert_eq!(file_env.server.listen.port(), 1002);
        assert_eq!(
            file_env.log_format,
            LogFormat::Json,
            "file value kept where env is silent"
        );

        let server = ServerArgs {
            listen: Some("127.0.0.1:1003".into()),
            ..ServerArgs::default()
        };
        let all = Given {
            file,
            env,
            server,
            ..Given::default()
        }
        .ok()?;
        assert_eq!(all.server.listen.port(), 1003);
        Ok(())
    }

    #[test]
    fn settings_bad_listen_names_the_setting() {
        let env = Given {
            env: vec![("GATEHOUSE_LISTEN", "abc")],
            ..Given::default()
        };
        assert_eq!(
            env.err(),
            "invalid setting GATEHOUSE_LISTEN: \"abc\" is not a socket address (expected IP:PORT, e.g. 127.0.0.1:8080)"
        );
        let flag = Given {
            server: ServerArgs {
                listen: Some("abc".into()),
                ..ServerArgs::default()
            },
            ..Given::default()
        };
        assert!(
            flag.err().starts_with("invalid setting --listen: \"abc\""),
            "{}",
            flag.err()
        );
        let file = Given {
            file: Some("listen = \"abc\""),
            ..Given::default()
        };
        assert!(
            file.err()
                .starts_with("invalid setting listen in gh.toml: \"abc\""),
            "{}",
            file.err()
        );
    }

    #[test]
    fn settings_unknown_toml_key_is_an_error_naming_it() {
        let given = Given {
            file: Some("listn = \"127.0.0.1:1\""),
            ..Given::default()
        };
        assert_eq!(
            given.err(),
            "invalid setting listn in gh.toml: unknown key (did you mean listen?)"
        );
        let section = Given {
            file: Some("[server]\nlisten = \"x\""),
            ..Given::default()
        };
        assert_eq!(
            section.err(),
            "invalid setting server in gh.toml: unknown key"
        );
    }

    #[test]
    fn settings_secrets_are_not_accepted_inline_in_the_file() {
        let given = Given {
            file: Some("master_key = \"abc\""),
            ..Given::default()
        };
        assert!(
            given
                .err()
                .contains("use GATEHOUSE_MASTER_KEY or master_key_file"),
            "{}",
            given.err()
        );
    }

    #[test]
    fn settings_toml_type_errors_name_the_key() {
        let given = Given {
            file: Some("listen = 8080"),
            ..Given::default()
        };
        assert_eq!(
            given.err(),
            "invalid setting listen in gh.toml: expected a string"
        );
        let proxies = Given {
            file: Some("trusted_proxies = [1]"),
            ..Given::default()
        };
        assert_eq!(
            proxies.err(),
            "invalid setting trusted_proxies in gh.toml: expected a list of strings"
        );
    }

    #[test]
    fn settings_toml_syntax_error_is_one_line() {
        let given = Given {
            file: Some("listen = \"a\"\nthis is not toml"),
            ..Given::default()
        };
        let err = given.err();
        assert!(err.starts_with("invalid setting gh.toml: line 2:"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }

    #[test]
    fn settings_unknown_env_vars_are_warned_not_fatal() -> Result<(), SettingError> {
        let given = Given {
            env: vec![
                ("GATEHOUSE_LISTN", "127.0.0.1:1"),
                ("GATEHOUSE_TEST_POSTGRES_URL", "postgres://x"),
                ("GATEHOUSE_CONFIG", ""),
            ],
            ..Given::default()
        };
        let resolved = given.resolve()?;
        assert_eq!(
            resolved.warnings,
            vec![
                "unknown environment variable GATEHOUSE_LISTN is ignored (did you mean GATEHOUSE_LISTEN?)"
            ]
        );
        Ok(())
    }

    #[test]
    fn settings_secret_file_variants_are_read_and_trimmed() -> Result<(), SettingError> {
        let given = Given {
            env: vec![
                ("GATEHOUSE_BOOTSTRAP_TOKEN_FILE", "/run/token"),
                ("GATEHOUSE_DATABASE_URL_FILE", "/run/db"),
                ("GATEHOUSE_MASTER_KEY", "k"),
            ],
            files: vec![
                ("/run/token", "a-long-bootstrap-token-value\n"),
                ("/run/db", "postgres://u:pw@db/gh\r\n"),
            ],
            ..Given::default()
        };
        let s = given.ok()?;
        assert_eq!(
            s.server.bootstrap_token.as_ref().map(Secret::expose),
            Some("a-long-bootstrap-token-value")
        );
        assert_eq!(s.database_url.expose(), "postgres://u:pw@db/gh");
        assert_eq!(
            s.master_key
                .as_ref()
                .map(|(k, origin)| (k.expose(), origin.as_str())),
            Some(("k", "GATEHOUSE_MASTER_KEY"))
        );
        Ok(())
    }

    #[test]
    fn settings_secret_and_its_file_together_is_an_error() {
        let given = Given {
            env: vec![
                ("GATEHOUSE_MASTER_KEY", "k"),
                ("GATEHOUSE_MASTER_KEY_FILE", "/k"),
            ],
            ..Given::default()
        };
        assert_eq!(
            given.err(),
            "invalid setting GATEHOUSE_MASTER_KEY: GATEHOUSE_MASTER_KEY_FILE is set too; set only one of them"
        );
    }

    #[test]
    fn settings_secret_file_in_a_higher_layer_wins_over_the_value_below() -> Result<(), SettingError>
    {
        let given = Given {
            file: Some("database_url = \"sqlite://a.db\""),
            env: vec![("GATEHOUSE_DATABASE_URL_FILE", "/db")],
            files: vec![("/db", "sqlite://b.db")],
            ..Given::default()
        };
        assert_eq!(given.ok()?.database_url.expose(), "sqlite://b.db");
        Ok(())
    }

    #[test]
    fn settings_missing_or_empty_secret_file_is_an_error() {
        let missing = Given {
            env: vec![("GATEHOUSE_MASTER_KEY_FILE", "/nope")],
            ..Given::default()
        };
        assert_eq!(
            missing.err(),
            "invalid setting GATEHOUSE_MASTER_KEY_FILE: cannot read /nope: No such file"
        );
        let empty = Given {
            env: vec![("GATEHOUSE_BOOTSTRAP_TOKEN_FILE", "/t")],
            files: vec![("/t", "\n")],
            ..Given::default()
        };
        assert_eq!(
            empty.err(),
            "invalid setting GATEHOUSE_BOOTSTRAP_TOKEN_FILE: /t is empty"
        );
    }

    #[test]
    fn settings_short_bootstrap_token_warns() -> Result<(), SettingError> {
        let given = Given {
            env: vec![("GATEHOUSE_BOOTSTRAP_TOKEN", "short")],
            ..Given::default()
        };
        let resolved = given.resolve()?;
        assert_eq!(resolved.warnings.len(), 1);
        assert!(resolved.warnings[0].starts_with("GATEHOUSE_BOOTSTRAP_TOKEN is shorter"));
        Ok(())
    }

    #[test]
    fn settings_database_url_errors_do_not_echo_it() {
        let given = Given {
            common: CommonArgs {
                database_url: Some("mysql://root:hunter2@db/x".into()),
                ..CommonArgs::default()
            },
            ..Given::default()
        };
        let err = given.err();
        assert_eq!(
            err,
            "invalid setting --database-url: unsupported database \"mysql\" (expected sqlite://PATH or postgres://…)"
        );
        let garbage = Given {
            env: vec![("GATEHOUSE_DATABASE_URL", "hunter2")],
            ..Given::default()
        };
        assert!(!garbage.err().contains("hunter2"), "{}", garbage.err());
    }

    #[test]
    fn settings_database_url_defaults_under_the_data_dir() -> Result<(), SettingError> {
        let given = Given {
            env: vec![("GATEHOUSE_DATA_DIR", "/var/lib/gh?#%")],
            ..Given::default()
        };
        assert_eq!(
            given.ok()?.database_url.expose(),
            "sqlite:///var/lib/gh%3F%23%25/gatehouse.db?mode=rwc"
        );
        Ok(())
    }

    #[test]
    fn settings_public_url_rules() -> Result<(), SettingError> {
        let with = |url: &'static str| Given {
            env: vec![("GATEHOUSE_PUBLIC_URL", url)],
            ..Given::default()
        };
        assert_eq!(
            with("https://id.example.com/")
                .ok()?
                .server
                .public_url
                .as_deref(),
            Some("https://id.example.com")
        );
        assert_eq!(
            with("https://example.com/auth/")
                .ok()?
                .server
                .public_url
                .as_deref(),
            Some("https://example.com/auth")
        );
        assert!(
            with("id.example.com")
                .err()
                .contains("is not an absolute URL")
        );
        assert!(
            with("ftp://example.com")
                .err()
                .contains("must be an http or https URL")
        );
        assert!(
            with("https://example.com/?a=b")
                .err()
                .contains("must not have a query or fragment")
        );
        assert!(
            with("https://example.com/#x")
                .err()
                .contains("must not have a query or fragment")
        );
        assert!(
            with("https://u:p@example.com")
                .err()
                .contains("must not contain credentials")
        );
        Ok(())
    }

    #[test]
    fn settings_default_public_url_follows_the_bound_address_and_tls() -> Result<(), SettingError> {
        let given = Given {
            env: vec![
                ("GATEHOUSE_TLS_CERT", "c.pem"),
                ("GATEHOUSE_TLS_KEY", "k.pem"),
            ],
            ..Given::default()
        };
        let s = given.ok()?;
        let bound = SocketAddr::from(([0, 0, 0, 0], 4443));
        assert_eq!(s.server.public_url_for(bound), "https://127.0.0.1:4443");
        let v6 = SocketAddr::from((Ipv6Addr::UNSPECIFIED, 80));
        assert_eq!(s.server.public_url_for(v6), "https://[::1]:80");
        Ok(())
    }

    #[test]
    fn settings_tls_needs_both_files() {
        let given = Given {
            server: ServerArgs {
                tls_cert: Some("c.pem".into()),
                ..ServerArgs::default()
            },
            ..Given::default()
        };
        assert_eq!(
            given.err(),
            "invalid setting --tls-cert: a TLS key (--tls-key, GATEHOUSE_TLS_KEY) is required too"
        );
    }

    #[test]
    fn settings_trusted_proxies_accept_ips_and_cidrs() -> Result<(), SettingError> {
        let given = Given {
            env: vec![("GATEHOUSE_TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.1,::1")],
            ..Given::default()
        };
        let proxies: Vec<String> = given
            .ok()?
            .server
            .trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(proxies, ["10.0.0.0/8", "192.168.1.1/32", "::1/128"]);
        let file = Given {
            file: Some("trusted_proxies = [\"10.0.0.0/8\", \"fd00::/8\"]"),
            ..Given::default()
        };
        assert_eq!(file.ok()?.server.trusted_proxies.len(), 2);
        let bad = Given {
            env: vec![("GATEHOUSE_TRUSTED_PROXIES", "10.0.0.0/33")],
            ..Given::default()
        };
        assert_eq!(
            bad.err(),
            "invalid setting GATEHOUSE_TRUSTED_PROXIES: \"10.0.0.0/33\" is not an IP address or CIDR network \
             (e.g. 10.0.0.0/8, 192.0.2.7, fd00::/8)"
        );
        Ok(())
    }

    #[test]
    fn settings_sizes_counts_and_durations() -> Result<(), SettingError> {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("512KiB"), Ok(512 << 10));
        assert_eq!(parse_size("2 MiB"), Ok(2 << 20));
        assert!(parse_size("1MB").is_err() && parse_size("0").is_err() && parse_size("").is_err());
        assert_eq!(parse_seconds("10s"), Ok(Duration::from_secs(10)));
        assert!(parse_seconds("-1").is_err());
        let zero = Given {
            env: vec![("GATEHOUSE_HASH_CONCURRENCY", "0")],
            ..Given::default()
        };
        assert_eq!(
            zero.err(),
            "invalid setting GATEHOUSE_HASH_CONCURRENCY: \"0\" is not a whole number from 1 to 4096"
        );
        let file = Given {
            file: Some("hash_concurrency = 2\nshutdown_timeout = 5"),
            ..Given::default()
        };
        let s = file.ok()?;
        assert_eq!(
            (s.hash_concurrency, s.server.shutdown_timeout),
            (2, Duration::from_secs(5))
        );
        Ok(())
    }

    #[test]
    fn settings_log_level_from_rust_log_unless_gatehouse_log_level() -> Result<(), SettingError> {
        let rust_log = Given {
            env: vec![("RUST_LOG", "debug")],
            ..Given::default()
        };
        assert_eq!(rust_log.ok()?.log_filter, "debug");
        let both = Given {
            env: vec![("RUST_LOG", "debug"), ("GATEHOUSE_LOG_LEVEL", "warn")],
            ..Given::default()
        };
        assert_eq!(both.ok()?.log_filter, "warn");
        let bad = Given {
            env: vec![("GATEHOUSE_LOG_FORMAT", "xml")],
            ..Given::default()
        };
        assert_eq!(
            bad.err(),
            "invalid setting GATEHOUSE_LOG_FORMAT: \"xml\" is not text or json"
        );
        let bad_level = Given {
            env: vec![("RUST_LOG", "a=notalevel")],
            ..Given::default()
        };
        assert!(
            bad_level.err().starts_with("invalid setting RUST_LOG:"),
            "{}",
            bad_level.err()
        );
        Ok(())
    }

    #[test]
    fn settings_empty_env_vars_count_as_unset() -> Result<(), SettingError> {
        let given = Given {
            env: vec![("GATEHOUSE_LISTEN", "")],
            ..Given::default()
        };
        assert_eq!(given.ok()?.server.listen.port(), 8080);
        Ok(())
    }

    #[test]
    fn settings_secrets_are_redacted_in_debug() -> Result<(), SettingError> {
        let given = Given {
            env: vec![
                ("GATEHOUSE_BOOTSTRAP_TOKEN", "bootstrap-secret-value"),
                ("GATEHOUSE_DATABASE_URL", "postgres://u:dbpass@h/d"),
            ],
            ..Given::default()
        };
        let debug = format!("{:?}", given.ok()?);
        assert!(
            !debug.contains("bootstrap-secret-value") && !debug.contains("dbpass"),
            "{debug}"
        );
        Ok(())
    }

    /// The example file ships every key with its default, and must stay loadable.
    #[test]
    fn settings_example_toml_parses_with_the_real_loader() -> Result<(), SettingError> {
        let example = include_str!("../../../gatehouse.example.toml");
        let env = BTreeMap::new();
        let inputs = Inputs {
            file: Some(ConfigFile {
                path: Path::new("gatehouse.example.toml"),
                contents: example,
            }),
            env: &env,
            common: &CommonArgs::default(),
            server: &ServerArgs::default(),
            cpus: 2,
        };
        let s = resolve(&inputs, &|_| {
            Err(std::io::Error::other("no secret files in the example"))
        })?
        .settings;
        let defaults = Given::default().ok()?;
        assert_eq!(s.server.listen, defaults.server.listen);
        assert_eq!(s.data_dir, defaults.data_dir);
        assert_eq!(s.database_url.expose(), defaults.database_url.expose());
        assert_eq!(s.server.body_limit, defaults.server.body_limit);
        assert_eq!(s.server.shutdown_timeout, defaults.server.shutdown_timeout);
        assert_eq!(s.log_format, defaults.log_format);
        assert_eq!(s.log_filter, defaults.log_filter);

        // Every key the loader knows appears in the example, at least commented out.
        for spec in SPECS.iter().filter(|s| s.in_file) {
            let mentioned = example.lines().any(|line| {
                let line = line.trim_start_matches(['#', ' ']);
                line.starts_with(&format!("{} =", spec.key))
            });
            assert!(mentioned, "gatehouse.example.toml lacks {}", spec.key);
        }
        // Every commented-out example parses too (TLS files only as a pair).
        let commented: Vec<&str> = example
            .lines()
            .filter_map(|line| line.strip_prefix("# ").filter(|l| l.contains(" = ")))
            .collect();
        assert!(commented.len() >= 8, "examples went missing: {commented:?}");
        let files = |path: &Path| {
            let database = path.to_string_lossy().contains("database");
            Ok(if database {
                "postgres://gatehouse@db/gatehouse"
            } else {
                "a-long-enough-secret"
            }
            .to_owned())
        };
        for line in &commented {
            let contents = if line.starts_with("tls_") {
                commented
                    .iter()
                    .filter(|l| l.starts_with("tls_"))
                    .map(|l| format!("{l}\n"))
                    .collect()
            } else {
                (*line).to_owned()
            };
            let file = Some(ConfigFile {
                path: Path::new("x.toml"),
                contents: &contents,
            });
            resolve(&Inputs { file, ..inputs }, &files)?;
        }
        Ok(())
    }
}
