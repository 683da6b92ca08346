//! The command line: subcommands and flags, as clap parses them.
//!
//! Flags are kept as raw text here (`Option<String>`), without clap's `env`
//! support: the precedence defaults → TOML → environment → flags and every
//! validation message live in one place, [`crate::settings`]. The help text
//! names the environment variable and default of each flag.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const AFTER_HELP: &str = "\
Settings are read from, in increasing precedence: built-in defaults, the TOML
file given by --config (GATEHOUSE_CONFIG), GATEHOUSE_* environment variables,
then flags. Secrets also accept a *_FILE variant that names a file to read the
value from (GATEHOUSE_MASTER_KEY_FILE, GATEHOUSE_BOOTSTRAP_TOKEN_FILE,
GATEHOUSE_DATABASE_URL_FILE). See gatehouse.example.toml for every key.

Examples:
  # Embedded SQLite under ./gatehouse-data, on http://127.0.0.1:8080
  gatehouse serve

  # A shared PostgreSQL database, behind a TLS-terminating proxy
  GATEHOUSE_BOOTSTRAP_TOKEN_FILE=/run/secrets/admin-token \\
  gatehouse serve --database-url postgres://gatehouse@db/gatehouse \\
      --listen 0.0.0.0:8080 --public-url https://id.example.com \\
      --trusted-proxies 10.0.0.0/8

  # Apply database migrations and exit
  gatehouse migrate --database-url postgres://gatehouse@db/gatehouse

  # Create a user without a running server
  gatehouse admin create-user --username alice --email alice@example.com --password-stdin";

const SERVE_AFTER_HELP: &str = "\
On the first start of an empty database, without GATEHOUSE_BOOTSTRAP_TOKEN,
Gatehouse prints a one-time link to set up the first administrator.
Without GATEHOUSE_MASTER_KEY(_FILE) a master key is generated into
<data-dir>/master.key (mode 0600) on first start; keep it with your backups.

Examples:
  gatehouse serve
  gatehouse serve --listen 0.0.0.0:8443 --tls-cert cert.pem --tls-key key.pem
  GATEHOUSE_BOOTSTRAP_TOKEN=$(cat token) gatehouse serve --log-format json";

const ADMIN_AFTER_HELP: &str = "\
These commands work directly on the database; no server needs to be running.
They use the same settings as `gatehouse serve` (--database-url, --data-dir,
the master key) and run as the instance administrator `cli`.

Examples:
  gatehouse admin create-org --name \"Acme Corp\" --slug acme --domain acme.example
  gatehouse admin create-user --org acme --username alice --email alice@acme.example \\
      --password-file ./alice.pw
  printf '%s' \"$PW\" | gatehouse admin set-password --org acme --user alice --password-stdin
  gatehouse admin create-group --org acme --name engineering
  gatehouse admin create-token --name ci-provisioning --org acme";

const KEYS_AFTER_HELP: &str = "\
Every algorithm (RS256, ES256, EdDSA) has one active key that signs tokens,
one next key that is already published in /oauth2/jwks so relying parties
know it before it signs, and retired keys that stay published until the
tokens they signed have expired. A running server rotates on its own every
key_rotation_days (GATEHOUSE_KEY_ROTATION_DAYS, default 90; 0 turns it off);
running servers pick up a rotation made here within a minute. Rotating by
hand promotes the current next key whatever its age: relying parties that
cache the key set learn it when they refetch /oauth2/jwks (at most 5 minutes).

Examples:
  gatehouse keys list
  gatehouse keys rotate
  gatehouse keys rotate --alg RS256";

/// Gatehouse: identity and access management in one binary.
///
/// OAuth 2.0 / OpenID Connect, SAML 2.0 and SCIM 2.0 over one embedded SQLite
/// or a shared PostgreSQL database.
#[derive(Debug, Parser)]
#[command(name = "gatehouse", version, about, long_about, after_help = AFTER_HELP)]
#[command(propagate_version = true, arg_required_else_help = true)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (migrates the database first).
    #[command(after_help = SERVE_AFTER_HELP)]
    Serve(ServerArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Administer identities directly in the database (no server needed).
    #[command(subcommand, after_help = ADMIN_AFTER_HELP)]
    Admin(AdminCommand),
    /// List or rotate the JWT signing keys (no server needed).
    #[command(subcommand, after_help = KEYS_AFTER_HELP)]
    Keys(KeysCommand),
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List the signing keys: kid, alg, state, created, activated, retired.
    List,
    /// Rotate now: each next key becomes active, each active key retired
    /// (published for 7 more days), and a new next key is generated.
    Rotate(RotateKeys),
}

#[derive(Debug, Args)]
pub struct RotateKeys {
    /// Rotate only this algorithm's keys [default: all of them]
    #[arg(long, value_name = "ALG", value_parser = ["RS256", "ES256", "EdDSA"])]
    pub alg: Option<String>,
}

/// Settings every subcommand uses. Each can come before or after the subcommand.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Settings")]
pub struct CommonArgs {
    /// TOML settings file; environment variables and flags override it
    /// [env: GATEHOUSE_CONFIG]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Directory for the embedded database and the generated master key, created
    /// with mode 0700 [env: GATEHOUSE_DATA_DIR] [default: ./gatehouse-data]
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB
    /// [env: GATEHOUSE_DATABASE_URL, GATEHOUSE_DATABASE_URL_FILE]
    /// [default: sqlite://<data-dir>/gatehouse.db?mode=rwc]
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,

    /// File holding the master key that encrypts secrets at rest
    /// [env: GATEHOUSE_MASTER_KEY_FILE, or the key itself in GATEHOUSE_MASTER_KEY]
    /// [default: <data-dir>/master.key, generated on first start]
    #[arg(long, global = true, value_name = "FILE")]
    pub master_key_file: Option<PathBuf>,

    /// Log line format: text or json [env: GATEHOUSE_LOG_FORMAT] [default: text]
    #[arg(long, global = true, value_name = "FORMAT")]
    pub log_format: Option<String>,

    /// Log filter, e.g. `info` or `gatehouse_web=debug,info`
    /// [env: GATEHOUSE_LOG_LEVEL or RUST_LOG] [default: info]
    #[arg(long, global = true, value_name = "FILTER")]
    pub log_level: Option<String>,

    /// How many password hashes may be computed at once (each argon2id hash
    /// takes about 19 MiB) [env: GATEHOUSE_HASH_CONCURRENCY] [default: number of CPUs]
    #[arg(long, global = true, value_name = "N")]
    pub hash_concurrency: Option<String>,
}

/// Settings only the server uses.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Server settings")]
pub struct ServerArgs {
    /// Socket address to listen on; port 0 picks a free port
    /// [env: GATEHOUSE_LISTEN] [default: 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,

    /// External base URL: the OIDC issuer and the base of every link
    /// [env: GATEHOUSE_PUBLIC_URL] [default: http(s)://<listen>]
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,

    /// PEM certificate chain for built-in TLS (needs --tls-key) [env: GATEHOUSE_TLS_CERT]
    #[arg(long, value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key for built-in TLS (needs --tls-cert) [env: GATEHOUSE_TLS_KEY]
    #[arg(long, value_name = "FILE")]
    pub tls_key: Option<PathBuf>,

    /// Comma-separated proxy addresses or CIDRs whose X-Forwarded-For is trusted
    /// for the client IP [env: GATEHOUSE_TRUSTED_PROXIES] [default: none]
    #[arg(long, value_name = "CIDRS")]
    pub trusted_proxies: Option<String>,

    /// Largest request body accepted, e.g. 1048576, 512KiB or 1MiB
    /// [env: GATEHOUSE_BODY_LIMIT] [default: 1MiB]
    #[arg(long, value_name = "SIZE")]
    pub body_limit: Option<String>,

    /// How long shutdown waits for in-flight requests, in seconds
    /// [env: GATEHOUSE_SHUTDOWN_TIMEOUT] [default: 30]
    #[arg(long, value_name = "SECS")]
    pub shutdown_timeout: Option<String>,

    /// Days a signing key signs before it is rotated automatically; 0 rotates
    /// only on `gatehouse keys rotate` [env: GATEHOUSE_KEY_ROTATION_DAYS] [default: 90]
    #[arg(long, value_name = "DAYS")]
    pub key_rotation_days: Option<String>,

    /// Sign-ins allowed to wait for a password-hashing slot; more are answered
    /// 503 at once [env: GATEHOUSE_HASH_QUEUE] [default: 4 × hash concurrency]
    #[arg(long, value_name = "N")]
    pub hash_queue: Option<String>,

    /// Sign-in failures from one source on one account before a lockout
    /// [env: GATEHOUSE_LOCKOUT_FAILURES] [default: 10]
    #[arg(long, value_name = "N")]
    pub lockout_failures: Option<String>,

    /// Minutes a sign-in lockout lasts [env: GATEHOUSE_LOCKOUT_MINUTES] [default: 15]
    #[arg(long, value_name = "MINUTES")]
    pub lockout_minutes: Option<String>,

    /// File holding a token accepted as an instance admin bearer token
    /// [env: GATEHOUSE_BOOTSTRAP_TOKEN_FILE, or the token in GATEHOUSE_BOOTSTRAP_TOKEN]
    #[arg(long, value_name = "FILE")]
    pub bootstrap_token_file: Option<PathBuf>,

    /// The SMS / voice provider webhook that phone codes are POSTed to
    /// (https unless on loopback) [env: GATEHOUSE_SMS_WEBHOOK_URL]
    #[arg(long, value_name = "URL")]
    pub sms_webhook_url: Option<String>,

    /// File holding the secret that signs SMS webhook requests
    /// [env: GATEHOUSE_SMS_WEBHOOK_SECRET_FILE, or the secret in GATEHOUSE_SMS_WEBHOOK_SECRET]
    #[arg(long, value_name = "FILE")]
    pub sms_webhook_secret_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an organization (tenant); prints its id.
    CreateOrg(CreateOrg),
    /// Create a user; prints its id.
    CreateUser(CreateUser),
    /// Create a group; prints its id.
    CreateGroup(CreateGroup),
    /// Set a user's password.
    SetPassword(SetPassword),
    /// Create an admin API token; prints the token once.
    CreateToken(CreateToken),
}

#[derive(Debug, Args)]
pub struct CreateOrg {
    /// Display name
    #[arg(long)]
    pub name: String,
    /// URL-safe short name [default: derived from the name]
    #[arg(long)]
    pub slug: Option<String>,
    /// A domain the organization owns (repeatable), for home-realm discovery
    #[arg(long = "domain", value_name = "DOMAIN")]
    pub domains: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CreateUser {
    /// Organization id or slug [default: the default organization]
    #[arg(long)]
    pub org: Option<String>,
    #[arg(long)]
    pub username: String,
    #[arg(long)]
    pub email: String,
    #[arg(long)]
    pub given_name: Option<String>,
    #[arg(long)]
    pub family_name: Option<String>,
    #[command(flatten)]
    pub password: OptionalPassword,
}

#[derive(Debug, Args)]
pub struct CreateGroup {
    /// Organization id or slug [default: the default organization]
    #[arg(long)]
    pub org: Option<String>,
    #[arg(long)]
    pub name: String,
    #[arg(long)]
    pub description: Option<String>,
}

#[derive(Debug, Args)]
pub struct SetPassword {
    /// Organization id or slug [default: the default organization]
    #[arg(long)]
    pub org: Option<String>,
    /// User id or username
    #[arg(long)]
    pub user: String,
    #[command(flatten)]
    pub password: RequiredPassword,
}

#[derive(Debug, Args)]
pub struct CreateToken {
    /// A name to recognise the token by
    #[arg(long)]
    pub name: String,
    /// Scope the token to one organization (id or slug) [default: the whole instance]
    #[arg(long)]
    pub org: Option<String>,
    /// Days until the token expires [default: never]
    #[arg(long, value_name = "DAYS")]
    pub expires_in_days: Option<u32>,
}

/// Where a password comes from: never a flag value, which would land in shell history.
#[derive(Debug, Args)]
#[group(required = false, multiple = false)]
pub struct OptionalPassword {
    /// Read the password from this file (trailing newline removed)
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Read the password from standard input (trailing newline removed)
    #[arg(long)]
    pub password_stdin: bool,
}

/// Like [`OptionalPassword`], but one of the two is required.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct RequiredPassword {
    /// Read the password from this file (trailing newline removed)
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Read the password from standard input (trailing newline removed)
    #[arg(long)]
    pub password_stdin: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn cli_common_flags_work_after_the_subcommand() -> anyhow::Result<()> {
        let cli = Cli::try_parse_from([
            "gatehouse",
            "serve",
            "--database-url",
            "postgres://u@h/db",
            "--listen",
            "127.0.0.1:0",
        ])?;
        assert_eq!(
            cli.common.database_url.as_deref(),
            Some("postgres://u@h/db")
        );
        let Command::Serve(args) = cli.command else {
            anyhow::bail!("expected serve, got {:?}", cli.command);
        };
        assert_eq!(args.listen.as_deref(), Some("127.0.0.1:0"));
        Ok(())
    }

    #[test]
    fn cli_set_password_requires_a_source() {
        let err = Cli::try_parse_from(["gatehouse", "admin", "set-password", "--user", "alice"]);
        assert!(err.is_err());
        let both = Cli::try_parse_from([
            "gatehouse",
            "admin",
            "set-password",
            "--user",
            "alice",
            "--password-stdin",
            "--password-file",
            "x",
        ]);
        assert!(both.is_err());
    }
}
