//! Settings resolution, table-driven through [`Given`].

use super::sources::SPECS;
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
                .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "No such file"))
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
fn settings_secret_file_in_a_higher_layer_wins_over_the_value_below() -> Result<(), SettingError> {
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
    let example = include_str!("../../../../gatehouse.example.toml");
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
    assert_eq!(s.server.key_rotation, defaults.server.key_rotation);
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
        // TLS files, the SMTP server and the SMS webhook are only valid as a group.
        let group = ["tls_", "smtp_", "sms_"]
            .into_iter()
            .find(|p| line.starts_with(p));
        let contents = if let Some(prefix) = group {
            commented
                .iter()
                .filter(|l| l.starts_with(prefix))
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

#[test]
fn settings_key_rotation_days_default_zero_and_limits() -> Result<(), SettingError> {
    let day = Duration::from_secs(86_400);
    assert_eq!(Given::default().ok()?.server.key_rotation, Some(day * 90));
    let off = Given {
        env: vec![("GATEHOUSE_KEY_ROTATION_DAYS", "0")],
        ..Given::default()
    };
    assert_eq!(off.ok()?.server.key_rotation, None, "0 turns it off");
    let file = Given {
        file: Some("key_rotation_days = 30"),
        ..Given::default()
    };
    assert_eq!(file.ok()?.server.key_rotation, Some(day * 30));
    let flag = Given {
        file: Some("key_rotation_days = 30"),
        server: ServerArgs {
            key_rotation_days: Some("7".into()),
            ..ServerArgs::default()
        },
        ..Given::default()
    };
    assert_eq!(flag.ok()?.server.key_rotation, Some(day * 7));
    let bad = Given {
        env: vec![("GATEHOUSE_KEY_ROTATION_DAYS", "-1")],
        ..Given::default()
    };
    assert_eq!(
        bad.err(),
        "invalid setting GATEHOUSE_KEY_ROTATION_DAYS: \"-1\" is not a whole number from 0 to 3650"
    );
    let too_long = Given {
        file: Some("key_rotation_days = 3651"),
        ..Given::default()
    };
    assert!(too_long.err().contains("key_rotation_days in gh.toml"));
    Ok(())
}

#[test]
fn settings_sign_in_throttle_defaults_and_overrides() -> Result<(), SettingError> {
    let minute = 60_000;
    let defaults = Given::default().ok()?.server.sign_in;
    assert_eq!(defaults.hash_queue, None, "4 per hashing slot");
    assert_eq!(defaults.policy.account_ip.lockout_after, 10);
    assert_eq!(defaults.policy.account.lockout_after, 20);
    assert_eq!(defaults.policy.device.lockout_ms, 15 * minute);
    let set = Given {
        file: Some("lockout_failures = 5\nlockout_minutes = 30\nhash_queue = 0"),
        server: ServerArgs {
            lockout_minutes: Some("45".into()),
            ..ServerArgs::default()
        },
        ..Given::default()
    }
    .ok()?
    .server
    .sign_in;
    assert_eq!(set.hash_queue, Some(0), "0: never queue, shed at once");
    assert_eq!(set.policy.account_ip.lockout_after, 5);
    assert_eq!(set.policy.account.lockout_after, 10);
    assert_eq!(set.policy.ip.lockout_after, 50);
    assert_eq!(
        set.policy.account_ip.lockout_ms,
        45 * minute,
        "the flag wins"
    );
    let bad = Given {
        env: vec![("GATEHOUSE_LOCKOUT_FAILURES", "0")],
        ..Given::default()
    };
    assert_eq!(
        bad.err(),
        "invalid setting GATEHOUSE_LOCKOUT_FAILURES: \"0\" is not a whole number from 1 to 1000"
    );
    Ok(())
}

#[test]
fn smtp_settings_from_env_and_file() -> Result<(), SettingError> {
    assert_eq!(Given::default().ok()?.smtp, None);
    let s = Given {
        file: Some("smtp_host = \"mail.example.com\"\nsmtp_from = \"id@example.com\"\n"),
        env: vec![
            ("GATEHOUSE_SMTP_USERNAME", "id"),
            ("GATEHOUSE_SMTP_PASSWORD", "s3cret"),
            ("GATEHOUSE_SMTP_TLS", "tls"),
        ],
        ..Given::default()
    }
    .ok()?;
    let smtp = s.smtp.ok_or_else(|| SettingError::new("smtp", "missing"))?;
    assert_eq!(smtp.host, "mail.example.com");
    assert_eq!((smtp.port, smtp.tls), (465, SmtpTls::Tls));
    assert_eq!(smtp.username.as_deref(), Some("id"));
    assert_eq!(smtp.password.as_ref().map(Secret::expose), Some("s3cret"));
    assert_eq!(smtp.from, "id@example.com");
    Ok(())
}

#[test]
fn smtp_settings_refuse_half_configurations() {
    let no_from = Given {
        env: vec![("GATEHOUSE_SMTP_HOST", "mail.example.com")],
        ..Given::default()
    };
    assert!(
        no_from.err().contains("GATEHOUSE_SMTP_FROM"),
        "{}",
        no_from.err()
    );
    let no_host = Given {
        env: vec![("GATEHOUSE_SMTP_PORT", "25")],
        ..Given::default()
    };
    assert!(
        no_host.err().contains("without smtp_host"),
        "{}",
        no_host.err()
    );
    let bad_tls = Given {
        env: vec![
            ("GATEHOUSE_SMTP_HOST", "mail.example.com"),
            ("GATEHOUSE_SMTP_FROM", "id@example.com"),
            ("GATEHOUSE_SMTP_TLS", "maybe"),
        ],
        ..Given::default()
    };
    assert!(bad_tls.err().contains("starttls"), "{}", bad_tls.err());
    let in_file = Given {
        file: Some("smtp_password = \"x\"\n"),
        ..Given::default()
    };
    assert!(
        in_file.err().contains("GATEHOUSE_SMTP_PASSWORD"),
        "{}",
        in_file.err()
    );
}

#[test]
fn sms_webhook_settings_from_flag_env_and_file() -> Result<(), SettingError> {
    assert_eq!(Given::default().ok()?.sms, None);
    let s = Given {
        file: Some("sms_webhook_url = \"https://sms.example.com/send\"\n"),
        env: vec![("GATEHOUSE_SMS_WEBHOOK_SECRET", "whsec-1")],
        ..Given::default()
    }
    .ok()?;
    let sms = s.sms.ok_or_else(|| SettingError::new("sms", "missing"))?;
    assert_eq!(sms.url, "https://sms.example.com/send");
    assert_eq!(sms.secret.expose(), "whsec-1");
    // The flag wins over the environment; the secret may come from a file.
    let s = Given {
        env: vec![
            ("GATEHOUSE_SMS_WEBHOOK_URL", "https://env.example.com/"),
            ("GATEHOUSE_SMS_WEBHOOK_SECRET_FILE", "/run/sms"),
        ],
        server: ServerArgs {
            sms_webhook_url: Some("http://127.0.0.1:9000/sms".into()),
            ..ServerArgs::default()
        },
        files: vec![("/run/sms", "from-file\n")],
        ..Given::default()
    }
    .ok()?;
    let sms = s.sms.ok_or_else(|| SettingError::new("sms", "missing"))?;
    assert_eq!(sms.url, "http://127.0.0.1:9000/sms");
    assert_eq!(sms.secret.expose(), "from-file");
    for loopback in ["http://localhost:8081/", "http://[::1]:8081/x"] {
        let s = Given {
            env: vec![
                ("GATEHOUSE_SMS_WEBHOOK_URL", loopback),
                ("GATEHOUSE_SMS_WEBHOOK_SECRET", "k"),
            ],
            ..Given::default()
        }
        .ok()?;
        assert!(s.sms.is_some(), "{loopback}");
    }
    Ok(())
}

#[test]
fn sms_webhook_settings_refuse_plain_http_and_half_configurations() {
    let plain = Given {
        env: vec![
            (
                "GATEHOUSE_SMS_WEBHOOK_URL",
                "http://sms.example.com/send?token=t0p",
            ),
            ("GATEHOUSE_SMS_WEBHOOK_SECRET", "k"),
        ],
        ..Given::default()
    };
    let err = plain.err();
    assert!(err.contains("must be https"), "{err}");
    assert!(!err.contains("t0p"), "the URL is not echoed: {err}");
    let no_secret = Given {
        env: vec![("GATEHOUSE_SMS_WEBHOOK_URL", "https://sms.example.com/")],
        ..Given::default()
    };
    assert!(
        no_secret.err().contains("GATEHOUSE_SMS_WEBHOOK_SECRET"),
        "{}",
        no_secret.err()
    );
    let no_url = Given {
        env: vec![("GATEHOUSE_SMS_WEBHOOK_SECRET", "k")],
        ..Given::default()
    };
    assert!(
        no_url.err().contains("without sms_webhook_url"),
        "{}",
        no_url.err()
    );
    let not_a_url = Given {
        env: vec![
            ("GATEHOUSE_SMS_WEBHOOK_URL", "sms.example.com"),
            ("GATEHOUSE_SMS_WEBHOOK_SECRET", "k"),
        ],
        ..Given::default()
    };
    assert!(
        not_a_url.err().contains("GATEHOUSE_SMS_WEBHOOK_URL"),
        "{}",
        not_a_url.err()
    );
    let secret_in_file = Given {
        file: Some("sms_webhook_url = \"https://sms.example.com/\"\nsms_webhook_secret = \"x\"\n"),
        ..Given::default()
    };
    assert!(
        secret_in_file
            .err()
            .contains("GATEHOUSE_SMS_WEBHOOK_SECRET"),
        "{}",
        secret_in_file.err()
    );
}
