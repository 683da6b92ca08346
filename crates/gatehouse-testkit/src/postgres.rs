//! Fresh PostgreSQL databases for tests: `CREATE DATABASE gh_web_<random>` on
//! the server `GATEHOUSE_TEST_POSTGRES_URL` names, dropped again afterwards.
//!
//! Only the storage crate may name a database driver, so this speaks just
//! enough of the PostgreSQL frontend/backend protocol (v3, simple query) to
//! run one administrative statement: startup, trust or clear-text password
//! authentication, `Query`, `Terminate`. Servers that demand MD5 or SCRAM
//! authentication are refused with a message saying so; CI and local test
//! servers use trust authentication on the loopback interface.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use anyhow::{Context, bail};
use url::Url;

/// The environment variable naming the PostgreSQL server tests may use.
pub const POSTGRES_URL_VAR: &str = "GATEHOUSE_TEST_POSTGRES_URL";

const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// A database created for one test; dropped (with its connections) on `drop`.
#[derive(Debug)]
pub struct TestDatabase {
    admin: Url,
    name: String,
    url: String,
}

impl TestDatabase {
    /// Creates `gh_web_<random>` on the server `server_url` points at.
    pub fn create(server_url: &str, random_suffix: &str) -> anyhow::Result<Self> {
        let admin = Url::parse(server_url).with_context(|| format!("{POSTGRES_URL_VAR} is not a URL"))?;
        let name = format!("gh_web_{random_suffix}");
        execute(&admin, &format!("CREATE DATABASE {name}"))
            .with_context(|| format!("creating test database {name}"))?;
        let mut url = admin.clone();
        url.set_path(&format!("/{name}"));
        Ok(Self { admin, name, url: url.to_string() })
    }

    /// The URL of the new database.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // FORCE (PostgreSQL 13+) closes the pool's connections. A failure only
        // leaves a stray database behind, so it is reported, not raised.
        if let Err(e) = execute(&self.admin, &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)) {
            tracing::warn!(database = %self.name, error = %e, "could not drop test database");
        }
    }
}

/// Runs one statement on the database `url` names (or `postgres` when it names none).
fn execute(url: &Url, sql: &str) -> anyhow::Result<()> {
    let host = url.host_str().unwrap_or("127.0.0.1");
    let port = url.port().unwrap_or(5432);
    let user = match url.username() {
        "" => "postgres",
        user => user,
    };
    let database = match url.path().trim_start_matches('/') {
        "" => "postgres",
        db => db,
    };
    let mut stream = TcpStream::connect((host, port)).with_context(|| format!("connecting to {host}:{port}"))?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;

    // StartupMessage: length, protocol 3.0, then name/value pairs and a final NUL.
    let mut params = Vec::new();
    for (key, value) in [("user", user), ("database", database), ("client_encoding", "UTF8")] {
        params.extend_from_slice(key.as_bytes());
        params.push(0);
        params.extend_from_slice(value.as_bytes());
        params.push(0);
    }
    params.push(0);
    let mut startup = Vec::new();
    startup.extend_from_slice(&len_prefix(params.len() + 8)?);
    startup.extend_from_slice(&196_608_i32.to_be_bytes());
    startup.extend_from_slice(&params);
    stream.write_all(&startup)?;

    wait_ready(&mut stream, Phase::Startup { password: url.password() })?;
    let mut query = sql.as_bytes().to_vec();
    query.push(0);
    send(&mut stream, b'Q', &query)?;
    let result = wait_ready(&mut stream, Phase::Query);
    // Terminate; the server closes the connection.
    let _ = send(&mut stream, b'X', &[]);
    result
}

fn len_prefix(len: usize) -> anyhow::Result<[u8; 4]> {
    Ok(i32::try_from(len).context("message too long")?.to_be_bytes())
}

fn send(stream: &mut TcpStream, kind: u8, payload: &[u8]) -> anyhow::Result<()> {
    let mut message = vec![kind];
    message.extend_from_slice(&len_prefix(payload.len() + 4)?);
    message.extend_from_slice(payload);
    stream.write_all(&message)?;
    Ok(())
}

/// Which exchange [`wait_ready`] is reading.
#[derive(Clone, Copy)]
enum Phase<'a> {
    /// After the startup message: answer authentication; an error ends the connection.
    Startup { password: Option<&'a str> },
    /// After a query: an error is followed by `ReadyForQuery`.
    Query,
}

/// Reads messages until `ReadyForQuery`, answering authentication requests and
/// failing on an `ErrorResponse`.
fn wait_ready(stream: &mut TcpStream, phase: Phase<'_>) -> anyhow::Result<()> {
    let mut error = None;
    loop {
        let mut header = [0u8; 5];
        stream.read_exact(&mut header).context("reading from PostgreSQL")?;
        let len = i32::from_be_bytes([header[1], header[2], header[3], header[4]]);
        let len = usize::try_from(len).ok().and_then(|l| l.checked_sub(4)).context("bad message length")?;
        let mut body = vec![0u8; len];
        stream.read_exact(&mut body)?;
        match (header[0], phase) {
            (b'R', Phase::Startup { password }) => {
                let code = body.get(..4).map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]])).unwrap_or(-1);
                match (code, password) {
                    (0, _) => {}
                    (3, Some(password)) => {
                        let mut payload = password.as_bytes().to_vec();
                        payload.push(0);
                        send(stream, b'p', &payload)?;
                    }
                    _ => bail!(
                        "the PostgreSQL server asks for an authentication method this test helper does not speak \
                         (code {code}); use trust authentication for {POSTGRES_URL_VAR}"
                    ),
                }
            }
            (b'E', Phase::Startup { .. }) => bail!("PostgreSQL: {}", error_message(&body)),
            (b'E', Phase::Query) => error = Some(error_message(&body)),
            (b'Z', _) => {
                return match error {
                    Some(message) => bail!("PostgreSQL: {message}"),
                    None => Ok(()),
                };
            }
            // ParameterStatus, BackendKeyData, NoticeResponse, CommandComplete, ...
            _ => {}
        }
    }
}

/// The `M` (message) field of an `ErrorResponse`.
fn error_message(body: &[u8]) -> String {
    body.split(|b| *b == 0)
        .find_map(|field| field.strip_prefix(b"M"))
        .map(|m| String::from_utf8_lossy(m).into_owned())
        .unwrap_or_else(|| "unknown error".to_owned())
}
