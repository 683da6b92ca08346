//! Black-box tests of the `gatehouse` binary: they spawn it on port 0 with a
//! temporary data directory and talk to it over HTTP, as a user would.
//!
//! Async tests use a multi-threaded runtime: they block while waiting for the
//! child process, and reqwest's connection tasks must keep running meanwhile (an
//! HTTP/2 client has to answer the server's GOAWAY for a graceful shutdown to end).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

const START_TIMEOUT: Duration = Duration::from_secs(60);
const EXIT_TIMEOUT: Duration = Duration::from_secs(30);
const LISTENING: &str = "Gatehouse listening on ";
const SETUP: &str = "Set up the first administrator: ";
/// A valid master key (64 hex digits) that no test database was created with.
const FOREIGN_MASTER_KEY: &str = "abababababababababababababababababababababababababababababababab";
const BOOTSTRAP: &str = "bootstrap-token-for-binary-tests";

/// `gatehouse ARGS… --data-dir DIR` with a clean environment.
fn gatehouse(data_dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    cmd.env_clear()
        .env("RUST_LOG", "info")
        .args(args)
        .arg("--data-dir")
        .arg(data_dir);
    cmd
}

fn serve(data_dir: &Path) -> Command {
    gatehouse(data_dir, &["serve", "--listen", "127.0.0.1:0"])
}

/// A running server, killed on drop if the test did not stop it.
struct Server {
    child: Child,
    url: String,
    lines: Receiver<String>,
    log: Arc<Mutex<String>>,
}

impl Server {
    /// Spawns the command and waits for the "listening" line.
    fn start(mut cmd: Command) -> Result<Self> {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().context("spawn gatehouse")?;
        let stdout = child.stdout.take().context("stdout")?;
        let mut stderr = child.stderr.take().context("stderr")?;
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Drain stderr so the server never blocks on a full pipe; keep it for messages.
        let log = Arc::new(Mutex::new(String::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = stderr.read(&mut buf) {
                if let Ok(mut log) = sink.lock() {
                    log.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }
        });
        let mut server = Self {
            child,
            url: String::new(),
            lines,
            log,
        };
        let first = server.line(START_TIMEOUT)?;
        let rest = first
            .strip_prefix(LISTENING)
            .with_context(|| format!("unexpected first line {first:?}"))?;
        server.url = rest
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned();
        Ok(server)
    }

    /// The next line on standard output.
    fn line(&self, timeout: Duration) -> Result<String> {
        match self.lines.recv_timeout(timeout) {
            Ok(line) => Ok(line),
            Err(RecvTimeoutError::Timeout) => {
                bail!("no output within {timeout:?}; stderr:\n{}", self.log())
            }
            Err(RecvTimeoutError::Disconnected) => {
                bail!("gatehouse closed stdout; stderr:\n{}", self.log())
            }
        }
    }

    fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for the exit.
    fn terminate(mut self) -> Result<ExitStatus> {
        // The shell's built-in `kill`: no extra package or crate needed to send a signal.
        let status = Command::new("sh")
            .args(["-c", &format!("kill -TERM {}", self.child.id())])
            .status()?;
        ensure!(status.success(), "kill failed");
        wait_for_exit(&mut self.child)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for_exit(child: &mut Child) -> Result<ExitStatus> {
    let deadline = Instant::now() + EXIT_TIMEOUT;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            bail!("gatehouse did not exit within {EXIT_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs a command that should exit by itself (never hangs the test), feeding `stdin`.
fn run(mut cmd: Command, stdin: &str) -> Result<Output> {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().context("spawn gatehouse")?;
    if let Some(mut input) = child.stdin.take() {
        input.write_all(stdin.as_bytes())?;
    }
    wait_for_exit(&mut child)?;
    Ok(child.wait_with_output()?)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The one line a successful command printed.
fn printed(output: &Output) -> Result<String> {
    ensure!(
        output.status.success(),
        "failed: {:?}\n{}",
        output.status,
        text(&output.stderr)
    );
    Ok(text(&output.stdout).trim().to_owned())
}

fn data_dir() -> Result<(tempfile::TempDir, PathBuf)> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    Ok((dir, data))
}

async fn status(client: &reqwest::Client, url: &str, bearer: Option<&str>) -> Result<u16> {
    let mut request = client.get(url);
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    Ok(request.send().await?.status().as_u16())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_first_start_prints_url_and_setup_link_and_stops_on_sigterm() -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, data) = data_dir()?;
    let server = Server::start(serve(&data))?;
    assert!(
        server.url.starts_with("http://127.0.0.1:"),
        "{}",
        server.url
    );
    assert!(
        !server.url.ends_with(":0"),
        "the real port is printed: {}",
        server.url
    );

    let setup = server.line(Duration::from_secs(5))?;
    let link = setup
        .strip_prefix(SETUP)
        .with_context(|| format!("no setup link: {setup:?}"))?;
    assert!(
        link.starts_with(&format!("{}/setup/", server.url)),
        "{link}"
    );

    let client = reqwest::Client::new();
    assert_eq!(
        status(&client, &format!("{}/healthz", server.url), None).await?,
        200
    );
    assert_eq!(
        status(&client, &format!("{}/readyz", server.url), None).await?,
        200
    );

    let mode = |p: &Path| std::fs::metadata(p).map(|m| m.permissions().mode() & 0o777);
    assert_eq!(mode(&data)?, 0o700, "data dir mode");
    assert_eq!(mode(&data.join("master.key"))?, 0o600, "master key mode");

    let exit = server.terminate()?;
    assert_eq!(exit.code(), Some(0), "SIGTERM is a clean exit");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_refuses_a_master_key_that_does_not_open_the_database() -> Result<()> {
    let (_dir, data) = data_dir()?;
    let first = Server::start(serve(&data))?;
    first.terminate()?;

    let mut wrong = serve(&data);
    wrong.env("GATEHOUSE_MASTER_KEY", FOREIGN_MASTER_KEY);
    let output = run(wrong, "")?;
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("master key does not open this database"),
        "{stderr}"
    );
    assert!(
        !text(&output.stdout).contains(LISTENING),
        "never started listening"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_bad_settings_exit_2_naming_the_setting() -> Result<()> {
    let (dir, data) = data_dir()?;
    let cases: Vec<(Command, &str)> = vec![
        (
            {
                let mut cmd = gatehouse(&data, &["serve"]);
                cmd.env("GATEHOUSE_LISTEN", "abc");
                cmd
            },
            "invalid setting GATEHOUSE_LISTEN: \"abc\" is not a socket address",
        ),
        (
            gatehouse(
                &data,
                &["serve", "--public-url", "https://id.example.com/?x=1"],
            ),
            "invalid setting --public-url: \"https://id.example.com/?x=1\" must not have a query or fragment",
        ),
        (
            {
                let config = dir.path().join("gatehouse.toml");
                std::fs::write(&config, "listen = \"127.0.0.1:0\"\nlisten_port = 1\n")?;
                let mut cmd = gatehouse(&data, &["serve"]);
                cmd.env("GATEHOUSE_CONFIG", &config);
                cmd
            },
            "invalid setting listen_port in",
        ),
        (
            {
                let mut cmd = gatehouse(&data, &["migrate"]);
                cmd.env("GATEHOUSE_MASTER_KEY", "x")
                    .env("GATEHOUSE_MASTER_KEY_FILE", "/x");
                cmd
            },
            "invalid setting GATEHOUSE_MASTER_KEY: GATEHOUSE_MASTER_KEY_FILE is set too",
        ),
    ];
    for (cmd, expected) in cases {
        let output = run(cmd, "")?;
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{expected}: {stderr}");
        assert!(
            stderr.contains(expected),
            "expected {expected:?} in {stderr:?}"
        );
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr:?}");
    }
    assert!(
        !data.exists(),
        "a bad setting stops before touching the data dir"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_bootstrap_token_is_an_admin_bearer_and_replaces_the_setup_link() -> Result<()> {
    let (dir, data) = data_dir()?;
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{BOOTSTRAP}\n"))?;
    let mut cmd = serve(&data);
    cmd.env("GATEHOUSE_BOOTSTRAP_TOKEN_FILE", &token_file)
        .env("GATEHOUSE_UNKNOWN_THING", "1");
    let server = Server::start(cmd)?;

    let client = reqwest::Client::new();
    let users = format!("{}/api/v1/users", server.url);
    assert_eq!(status(&client, &users, Some(BOOTSTRAP)).await?, 200);
    assert_eq!(status(&client, &users, Some("wrong-token")).await?, 401);
    assert_eq!(status(&client, &users, None).await?, 401);

    match server.lines.recv_timeout(Duration::from_millis(200)) {
        Err(RecvTimeoutError::Timeout) => {}
        other => bail!("no setup link expected with a bootstrap token, got {other:?}"),
    }
    assert!(
        server
            .log()
            .contains("unknown environment variable GATEHOUSE_UNKNOWN_THING"),
        "{}",
        server.log()
    );
    assert_eq!(server.terminate()?.code(), Some(0));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_commands_create_identities_the_server_then_serves() -> Result<()> {
    let (dir, data) = data_dir()?;
    let migrated = run(gatehouse(&data, &["migrate"]), "")?;
    ensure!(
        migrated.status.success(),
        "migrate: {}",
        text(&migrated.stderr)
    );

    let admin = |args: &[&str]| {
        let mut all = vec!["admin"];
        all.extend_from_slice(args);
        gatehouse(&data, &all)
    };
    let org = printed(&run(
        admin(&[
            "create-org",
            "--name",
            "Acme Corp",
            "--domain",
            "acme.example",
        ]),
        "",
    )?)?;
    assert_eq!(org.len(), 36, "an id: {org}");
    let user = printed(&run(
        admin(&[
            "create-user",
            "--org",
            "acme-corp",
            "--username",
            "alice",
            "--email",
            "alice@acme.example",
            "--password-stdin",
        ]),
        "correct horse battery staple\n",
    )?)?;
    assert_eq!(user.len(), 36, "an id: {user}");
    let group = printed(&run(
        admin(&["create-group", "--org", &org, "--name", "engineering"]),
        "",
    )?)?;
    assert_eq!(group.len(), 36, "an id: {group}");

    let password_file = dir.path().join("pw");
    std::fs::write(&password_file, "another long passphrase 42\n")?;
    let pw = password_file.to_string_lossy().into_owned();
    printed(&run(
        admin(&[
            "set-password",
            "--org",
            "acme-corp",
            "--user",
            "alice",
            "--password-file",
            &pw,
        ]),
        "",
    )?)?;

    let token = printed(&run(
        admin(&["create-token", "--name", "automation", "--org", "acme-corp"]),
        "",
    )?)?;
    assert!(
        !token.is_empty() && !token.contains(char::is_whitespace),
        "{token}"
    );

    let duplicate = run(admin(&["create-org", "--name", "Acme Corp"]), "")?;
    assert_eq!(duplicate.status.code(), Some(1));
    assert!(
        text(&duplicate.stderr).contains("cannot create the org"),
        "{}",
        text(&duplicate.stderr)
    );

    let server = Server::start(serve(&data))?;
    let client = reqwest::Client::new();
    let response = client
        .get(format!("{}/api/v1/users/{user}", server.url))
        .bearer_auth(&token)
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 200);
    let body: serde_json::Value = response.json().await?;
    assert_eq!(body["username"], "alice");
    assert_eq!(body["org_id"], org.as_str());
    assert_eq!(server.terminate()?.code(), Some(0));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_with_tls_answers_https() -> Result<()> {
    let (_dir, data) = data_dir()?;
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut cmd = serve(&data);
    cmd.arg("--tls-cert").arg(fixtures.join("tls-cert.pem"));
    cmd.arg("--tls-key").arg(fixtures.join("tls-key.pem"));
    let server = Server::start(cmd)?;
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );

    let ca = reqwest::Certificate::from_pem(&std::fs::read(fixtures.join("tls-cert.pem"))?)?;
    let client = reqwest::Client::builder().tls_certs_only([ca]).build()?;
    assert_eq!(
        status(&client, &format!("{}/healthz", server.url), None).await?,
        200
    );
    assert_eq!(server.terminate()?.code(), Some(0));
    Ok(())
}

#[test]
fn cli_version_and_help() -> Result<()> {
    let (_dir, data) = data_dir()?;
    let version = printed(&run(gatehouse(&data, &["--version"]), "")?)?;
    assert_eq!(version, format!("gatehouse {}", env!("CARGO_PKG_VERSION")));
    let help = printed(&run(gatehouse(&data, &["serve", "--help"]), "")?)?;
    for expected in [
        "--listen",
        "GATEHOUSE_LISTEN",
        "--public-url",
        "--tls-cert",
        "Examples:",
    ] {
        assert!(help.contains(expected), "serve --help lacks {expected}");
    }
    let admin_help = printed(&run(gatehouse(&data, &["admin", "--help"]), "")?)?;
    for expected in [
        "create-org",
        "create-user",
        "create-group",
        "set-password",
        "create-token",
    ] {
        assert!(
            admin_help.contains(expected),
            "admin --help lacks {expected}"
        );
    }
    Ok(())
}

/// Two nodes sharing one PostgreSQL database (runs when `GATEHOUSE_TEST_POSTGRES_URL` is set).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_two_nodes_share_one_postgres_database() -> Result<()> {
    let Some(server_url) = gatehouse_store::scratch::ScratchDatabase::server_from_env() else {
        return Ok(());
    };
    let database =
        gatehouse_store::scratch::ScratchDatabase::create(&server_url, "gh_binary").await?;
    let (_dir, data) = data_dir()?;
    let node = |args: &[&str]| {
        let mut cmd = gatehouse(&data, args);
        cmd.arg("--database-url").arg(database.url());
        cmd.env("GATEHOUSE_MASTER_KEY", FOREIGN_MASTER_KEY);
        cmd.env("GATEHOUSE_BOOTSTRAP_TOKEN", BOOTSTRAP);
        cmd
    };
    let org = printed(&run(
        node(&["admin", "create-org", "--name", "Shared"]),
        "",
    )?)?;
    let first = Server::start(node(&["serve", "--listen", "127.0.0.1:0"]))?;
    let second = Server::start(node(&["serve", "--listen", "127.0.0.1:0"]))?;

    let client = reqwest::Client::new();
    for server in [&first, &second] {
        let url = format!("{}/api/v1/orgs/{org}", server.url);
        assert_eq!(status(&client, &url, Some(BOOTSTRAP)).await?, 200, "{url}");
        assert_eq!(
            status(&client, &format!("{}/readyz", server.url), None).await?,
            200
        );
    }
    assert_eq!(first.terminate()?.code(), Some(0));
    assert_eq!(second.terminate()?.code(), Some(0));
    Ok(())
}

/// The key rows `gatehouse keys list` printed (header dropped), split into columns.
fn key_rows(output: &Output) -> Result<Vec<Vec<String>>> {
    let listed = printed(output)?;
    let mut lines = listed.lines();
    let header = lines.next().context("no header")?;
    ensure!(header.starts_with("KID"), "header: {header}");
    Ok(lines
        .map(|line| line.split_whitespace().map(str::to_owned).collect())
        .collect())
}

/// `(alg, state)` counts of listed keys.
fn count(rows: &[Vec<String>], alg: &str, state: &str) -> usize {
    rows.iter()
        .filter(|row| row[1] == alg && row[2] == state)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_list_and_rotate_and_the_server_publishes_them() -> Result<()> {
    let (_dir, data) = data_dir()?;
    let keys = |args: &[&str]| {
        let mut all = vec!["keys"];
        all.extend_from_slice(args);
        gatehouse(&data, &all)
    };

    let first = key_rows(&run(keys(&["list"]), "")?)?;
    assert_eq!(first.len(), 6, "{first:?}");
    for alg in ["RS256", "ES256", "EdDSA"] {
        assert_eq!(
            (count(&first, alg, "active"), count(&first, alg, "next")),
            (1, 1)
        );
    }
    for row in &first {
        assert_eq!(
            row.len(),
            6,
            "kid alg state created activated retired: {row:?}"
        );
        assert_eq!(row[0].len(), 43, "an RFC 7638 thumbprint: {row:?}");
        assert_eq!(row[5], "-", "nothing retired yet: {row:?}");
    }
    let next_es256 = first
        .iter()
        .find(|row| row[1] == "ES256" && row[2] == "next")
        .map(|row| row[0].clone())
        .context("no next ES256 key")?;

    let rotated = printed(&run(keys(&["rotate", "--alg", "ES256"]), "")?)?;
    assert!(
        rotated.starts_with(&format!("ES256: activated {next_es256}, retired ")),
        "{rotated}"
    );
    let after = key_rows(&run(keys(&["list"]), "")?)?;
    assert_eq!(after.len(), 7);
    assert_eq!(count(&after, "ES256", "retired"), 1);
    assert_eq!(count(&after, "RS256", "retired"), 0, "only ES256 rotated");
    assert!(
        after
            .iter()
            .any(|row| row[0] == next_es256 && row[2] == "active")
    );

    let all = printed(&run(keys(&["rotate"]), "")?)?;
    assert_eq!(all.lines().count(), 3, "{all}");
    for alg in ["none", "HS256", "rs256"] {
        let refused = run(keys(&["rotate", "--alg", alg]), "")?;
        assert_eq!(
            refused.status.code(),
            Some(2),
            "{alg}: {}",
            text(&refused.stderr)
        );
    }

    let listed = key_rows(&run(keys(&["list"]), "")?)?;
    let server = Server::start(serve(&data))?;
    let jwks: serde_json::Value = reqwest::get(format!("{}/oauth2/jwks", server.url))
        .await?
        .json()
        .await?;
    let published: Vec<&str> = jwks["keys"]
        .as_array()
        .context("keys")?
        .iter()
        .filter_map(|k| k["kid"].as_str())
        .collect();
    assert_eq!(published.len(), listed.len(), "{jwks}");
    for row in &listed {
        assert!(
            published.contains(&row[0].as_str()),
            "{} unpublished",
            row[0]
        );
    }
    assert_eq!(server.terminate()?.code(), Some(0));
    Ok(())
}

#[test]
fn settings_key_rotation_days_must_be_a_number_of_days() -> Result<()> {
    let (_dir, data) = data_dir()?;
    let mut cmd = gatehouse(&data, &["keys", "list"]);
    cmd.env("GATEHOUSE_KEY_ROTATION_DAYS", "soon");
    let output = run(cmd, "")?;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("GATEHOUSE_KEY_ROTATION_DAYS"),
        "{}",
        text(&output.stderr)
    );
    Ok(())
}

/// The provider from the binary: discovery names the public URL, a registered
/// client signs a user in through the hosted pages and gets tokens that work
/// at userinfo.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_signs_a_user_in_to_a_registered_client() -> Result<()> {
    use gatehouse_oauth::pkce::CodeChallenge;
    use gatehouse_testkit::browser::{Browser, Consent, Landing};
    let (_dir, data) = data_dir()?;
    let mut cmd = serve(&data);
    cmd.env("GATEHOUSE_BOOTSTRAP_TOKEN", BOOTSTRAP);
    let server = Server::start(cmd)?;
    let client = reqwest::Client::new();
    let base = server.url.trim_end_matches('/').to_owned();

    let discovery: serde_json::Value = client
        .get(format!("{base}/.well-known/openid-configuration"))
        .send()
        .await?
        .json()
        .await?;
    ensure!(discovery["issuer"] == base.as_str(), "{discovery}");
    let token_endpoint = discovery["token_endpoint"]
        .as_str()
        .context("token_endpoint")?;

    let created = client
        .post(format!("{base}/api/v1/users"))
        .bearer_auth(BOOTSTRAP)
        .json(
            &serde_json::json!({"username": "ada", "email": "ada@example.com",
            "password": "correct-horse-battery-9"}),
        )
        .send()
        .await?;
    ensure!(created.status() == 201, "user: {}", created.text().await?);
    let registered: serde_json::Value = client
        .post(format!("{base}/oauth2/register"))
        .bearer_auth(BOOTSTRAP)
        .json(
            &serde_json::json!({"redirect_uris": ["http://127.0.0.1:9/cb"],
            "scope": "openid email", "client_name": "CLI test"}),
        )
        .send()
        .await?
        .json()
        .await?;
    let id = registered["client_id"].as_str().context("client_id")?;
    let secret = registered["client_secret"]
        .as_str()
        .context("client_secret")?;

    let verifier = "a-verifier-of-at-least-43-characters-0123456789";
    let challenge = CodeChallenge::from_verifier(verifier);
    let authorize = format!(
        "{}?response_type=code&client_id={id}&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&scope=openid%20email&state=xyz&code_challenge={}&code_challenge_method=S256",
        discovery["authorization_endpoint"]
            .as_str()
            .context("authorization_endpoint")?,
        challenge.as_str()
    );
    let browser = Browser::new(&base)?;
    let landing = browser
        .walk(
            &authorize,
            Some(("ada", "correct-horse-battery-9")),
            Consent::Allow,
        )
        .await?;
    let Landing::Client(callback) = landing else {
        bail!("stopped on a page: {landing:?}");
    };
    let url = url::Url::parse(&callback)?;
    let code = url
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .context("code")?;
    let tokens: serde_json::Value = client
        .post(token_endpoint)
        .basic_auth(id, Some(secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", "http://127.0.0.1:9/cb"),
            ("code_verifier", verifier),
        ])
        .send()
        .await?
        .json()
        .await?;
    ensure!(tokens["id_token"].is_string(), "{tokens}");
    let info: serde_json::Value = client
        .get(format!("{base}/oauth2/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().context("access_token")?)
        .send()
        .await?
        .json()
        .await?;
    ensure!(info["email"] == "ada@example.com", "{info}");
    assert_eq!(server.terminate()?.code(), Some(0));
    Ok(())
}
