//! An in-process Gatehouse for tests: [`TestServer`] runs the real HTTP stack
//! on `127.0.0.1:0` over a fresh database (a temporary SQLite file, or a new
//! PostgreSQL database when `GATEHOUSE_TEST_POSTGRES_URL` is set), with a
//! [`FakeClock`], cheap password hashing and a known bootstrap admin token.
//!
//! Each test starts its own server, so tests run in parallel with no fixed
//! ports, no shared state and no order. The server stops when the value drops.
//!
//! This crate is test support: constructors panic with a message instead of
//! returning errors, so a test reads `let server = TestServer::start().await;`.
//! The `try_` variants return the error instead.

#![allow(clippy::panic)]

pub mod browser;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use gatehouse_core::clock::{FakeClock, Rng, SystemRng};
use gatehouse_core::crypto::MasterKey;
use gatehouse_core::password::PasswordHasher;
use gatehouse_core::secret::Secret;
use gatehouse_core::services::{
    DEFAULT_KEY_ROTATION_PERIOD, DEFAULT_RETIRED_KEY_RETENTION, Services, ServicesConfig,
};
use gatehouse_web::mail::FileMailbox;
use gatehouse_web::outbound::HttpLogoutSender;
use gatehouse_web::sms::HttpSmsSender;
use gatehouse_web::{Cidr, WebConfig};
use reqwest::{Method, RequestBuilder};
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use gatehouse_store::scratch::ScratchDatabase;

pub use gatehouse_store::scratch::POSTGRES_URL_VAR;

/// The bootstrap admin token every [`TestServer`] accepts (unless started without one).
pub const BOOTSTRAP_TOKEN: &str = "gh-test-bootstrap-0123456789abcdef";

/// Where the clock of a new server starts: 2023-11-14T22:13:20Z.
pub const START_MILLIS: i64 = 1_700_000_000_000;

/// Which database a [`TestServer`] runs on.
#[derive(Debug, Clone, Default)]
pub enum TestDb {
    /// A SQLite file in a temporary directory.
    #[default]
    Sqlite,
    /// A fresh database on the PostgreSQL server this URL names.
    Postgres { server_url: String },
}

/// How to start a [`TestServer`].
#[derive(Debug, Clone)]
pub struct TestOptions {
    pub db: TestDb,
    /// `GATEHOUSE_BOOTSTRAP_TOKEN`; `None` starts like a fresh install (setup link flow).
    pub bootstrap_token: Option<String>,
    pub body_limit_bytes: usize,
    pub trusted_proxies: Vec<Cidr>,
    /// Password hashes run at once.
    pub hash_concurrency: usize,
    /// Sign-ins that may wait for a hashing slot (`None`: unbounded).
    pub hash_queue: Option<usize>,
    /// The SMS webhook URL and signing secret; `None` turns phone factors off.
    pub sms_webhook: Option<(String, String)>,
}

impl Default for TestOptions {
    fn default() -> Self {
        Self {
            db: TestDb::Sqlite,
            bootstrap_token: Some(BOOTSTRAP_TOKEN.to_owned()),
            body_limit_bytes: gatehouse_web::DEFAULT_BODY_LIMIT,
            trusted_proxies: Vec::new(),
            hash_concurrency: 4,
            hash_queue: None,
            sms_webhook: None,
        }
    }
}

impl TestOptions {
    /// No bootstrap token: the database starts empty and `services.setup` issues a link.
    pub fn without_bootstrap_token(mut self) -> Self {
        self.bootstrap_token = None;
        self
    }
}

/// A running Gatehouse, its services and a client for it.
#[derive(Debug)]
pub struct TestServer {
    /// The server's clock; advance it to expire tokens without sleeping.
    pub clock: FakeClock,
    /// The services behind the HTTP surface, for setup steps HTTP cannot reach.
    pub services: Arc<Services>,
    /// The services' password hasher (cheap parameters), e.g. to saturate it.
    pub hasher: PasswordHasher,
    addr: SocketAddr,
    client: reqwest::Client,
    logout_sender: HttpLogoutSender,
    admin_token: Option<String>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
    // Dropped after the server task is stopped (field order is drop order).
    _database: Option<ScratchDatabase>,
    _dir: tempfile::TempDir,
}

impl TestServer {
    /// A server on a temporary SQLite database with the bootstrap token [`BOOTSTRAP_TOKEN`].
    pub async fn start() -> Self {
        Self::start_with(TestOptions::default()).await
    }

    /// A server with `options`. Panics when it cannot start.
    pub async fn start_with(options: TestOptions) -> Self {
        match Self::try_start_with(options).await {
            Ok(server) => server,
            Err(e) => panic!("test server failed to start: {e:#}"),
        }
    }

    /// A server on a fresh PostgreSQL database, when `GATEHOUSE_TEST_POSTGRES_URL`
    /// is set; `None` otherwise (the test should then return early).
    pub async fn start_postgres() -> Option<Self> {
        let server_url = std::env::var(POSTGRES_URL_VAR)
            .ok()
            .filter(|u| !u.is_empty())?;
        Some(
            Self::start_with(TestOptions {
                db: TestDb::Postgres { server_url },
                ..TestOptions::default()
            })
            .await,
        )
    }

    /// As [`TestServer::start_with`], returning the error instead of panicking.
    pub async fn try_start_with(options: TestOptions) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir().context("creating a temporary directory")?;
        let rng: Arc<dyn Rng> = Arc::new(SystemRng::new());
        let (database, url) = match &options.db {
            TestDb::Sqlite => (
                None,
                format!("sqlite://{}?mode=rwc", dir.path().join("gh.db").display()),
            ),
            TestDb::Postgres { server_url } => {
                let db = ScratchDatabase::create(server_url, "gh_web")
                    .await
                    .map_err(|e| anyhow::anyhow!("creating a PostgreSQL test database: {e}"))?;
                let url = db.url().to_owned();
                (Some(db), url)
            }
        };
        let store = gatehouse_store::connect(&url, gatehouse_store::ConnectOptions::default())
            .await
            .map_err(|e| anyhow::anyhow!("opening the test database: {e}"))?;
        let clock = FakeClock::at(START_MILLIS);
        let hasher = PasswordHasher::with_params(256, 1, 1, options.hash_concurrency)
            .map_err(|e| anyhow::anyhow!("test hasher: {e}"))?
            .with_queue(options.hash_queue.unwrap_or(usize::MAX));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding 127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let public_url = format!("http://{addr}");
        let sms = match &options.sms_webhook {
            Some((url, secret)) => {
                let sender: Arc<dyn gatehouse_core::services::SmsSender> =
                    Arc::new(HttpSmsSender::direct(
                        url,
                        &Secret::new(secret.clone()),
                        Arc::new(clock.clone()),
                    )?);
                Some(sender)
            }
            None => None,
        };
        let config = ServicesConfig {
            bootstrap_token: options.bootstrap_token.clone().map(Secret::new),
            hash_concurrency: options.hash_concurrency,
            public_url: public_url.clone(),
            sessions: Default::default(),
            oauth: Default::default(),
            key_rotation_period: Some(DEFAULT_KEY_ROTATION_PERIOD),
            retired_key_retention: DEFAULT_RETIRED_KEY_RETENTION,
            sign_in: Default::default(),
            mailer: Some(Arc::new(FileMailbox::new(
                dir.path().join("mailbox"),
                "gatehouse@localhost",
            ))),
            sms,
        };
        let services = Services::with_hasher(
            store,
            Arc::new(clock.clone()),
            rng.clone(),
            MasterKey::generate(rng.as_ref()),
            config,
            hasher.clone(),
        )
        .await
        .map_err(|e| anyhow::anyhow!("starting services: {e}"))?;
        let web = WebConfig {
            public_url,
            trusted_proxies: options.trusted_proxies.clone(),
            body_limit_bytes: options.body_limit_bytes,
        };
        let app = gatehouse_web::router(services.clone(), web)
            .into_make_service_with_connect_info::<SocketAddr>();
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "test server stopped with an error");
            }
        });
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .context("building the HTTP client")?;
        let logout_sender =
            HttpLogoutSender::direct().context("building the back-channel logout client")?;
        Ok(Self {
            clock,
            services,
            hasher,
            addr,
            client,
            logout_sender,
            admin_token: options.bootstrap_token,
            shutdown: Some(shutdown),
            task,
            _database: database,
            _dir: dir,
        })
    }

    /// The messages the server "sent" (its file mailbox), as RFC 5322 text,
    /// in no particular order.
    pub fn mailbox(&self) -> Vec<String> {
        let dir = self._dir.path().join("mailbox");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Vec::new();
        };
        entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .collect()
    }

    /// The server's socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The absolute URL of `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A plain HTTP client (no credentials, no proxy).
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends the back-channel logout notifications due at the fake clock's
    /// time, as the server's background task does every few seconds; returns
    /// how many the clients accepted. Panics on a storage failure.
    pub async fn deliver_logouts(&self) -> usize {
        match self
            .services
            .backchannel
            .deliver_due(&self.logout_sender)
            .await
        {
            Ok(delivered) => delivered,
            Err(e) => panic!("back-channel logout delivery failed: {e}"),
        }
    }

    /// The bootstrap admin token. Panics for a server started without one.
    pub fn admin_token(&self) -> &str {
        match &self.admin_token {
            Some(token) => token,
            None => panic!("this test server was started without a bootstrap token"),
        }
    }

    /// Requests authenticated with the bootstrap admin token.
    pub fn admin(&self) -> Authed<'_> {
        Authed {
            server: self,
            token: self.admin_token().to_owned(),
        }
    }

    /// Requests authenticated with `token`.
    pub fn with_token(&self, token: &str) -> Authed<'_> {
        Authed {
            server: self,
            token: token.to_owned(),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        self.task.abort();
    }
}

/// Request builders carrying `Authorization: Bearer <token>`.
#[derive(Debug)]
pub struct Authed<'a> {
    server: &'a TestServer,
    token: String,
}

impl Authed<'_> {
    /// A request with any method.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.server
            .client
            .request(method, self.server.url(path))
            .bearer_auth(&self.token)
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.request(Method::GET, path)
    }

    pub fn post(&self, path: &str) -> RequestBuilder {
        self.request(Method::POST, path)
    }

    pub fn put(&self, path: &str) -> RequestBuilder {
        self.request(Method::PUT, path)
    }

    pub fn patch(&self, path: &str) -> RequestBuilder {
        self.request(Method::PATCH, path)
    }

    pub fn delete(&self, path: &str) -> RequestBuilder {
        self.request(Method::DELETE, path)
    }

    /// POSTs `body` as JSON and returns the created resource; panics unless the answer is 201.
    pub async fn create(&self, path: &str, body: Value) -> Value {
        let response = match self.post(path).json(&body).send().await {
            Ok(r) => r,
            Err(e) => panic!("POST {path}: {e}"),
        };
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if status != reqwest::StatusCode::CREATED {
            panic!("POST {path} answered {status}: {text}");
        }
        match serde_json::from_str(&text) {
            Ok(value) => value,
            Err(e) => panic!("POST {path} answered non-JSON ({e}): {text}"),
        }
    }

    /// Creates an org with this slug (and name).
    pub async fn create_org(&self, slug: &str) -> Value {
        self.create(
            "/api/v1/orgs",
            serde_json::json!({ "slug": slug, "name": slug }),
        )
        .await
    }

    /// Creates a user `username` with e-mail `<username>@example.com`, in `org` when given.
    pub async fn create_user(&self, username: &str, org: Option<&str>) -> Value {
        let mut body =
            serde_json::json!({ "username": username, "email": format!("{username}@example.com") });
        if let Some(org) = org {
            body["org_id"] = Value::String(org.to_owned());
        }
        self.create("/api/v1/users", body).await
    }

    /// Creates an API token (scoped to `org` when given) and returns its secret.
    pub async fn create_token(&self, name: &str, org: Option<&str>) -> String {
        let mut body = serde_json::json!({ "name": name });
        if let Some(org) = org {
            body["org_id"] = Value::String(org.to_owned());
        }
        let created = self.create("/api/v1/api-tokens", body).await;
        match created["token"].as_str() {
            Some(token) => token.to_owned(),
            None => panic!("no token in {created}"),
        }
    }
}
