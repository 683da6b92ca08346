//! OAuth benchmark: token issuance, introspection and code-flow completions,
//! per signing algorithm, beside the raw signing rate of the crypto library.
//!
//! `cargo bench -p gatehouse --bench oauth` serves the real router on a
//! loopback port over SQLite in a temp dir (and PostgreSQL when
//! `GATEHOUSE_TEST_POSTGRES_URL` is set) and drives it with concurrent
//! reqwest clients — which run on the same cores, so the figures are a floor.
//! Every token request does client authentication (client lookup and SHA-256
//! secret check), signing and a group-committed audit event. The code flow is
//! measured through the services (session → authorize → code → token), since
//! its browser legs are HTML pages. Output is a Markdown table for BENCHMARKS.md.

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use gatehouse_core::clock::{SystemClock, SystemRng};
use gatehouse_core::crypto::MasterKey;
use gatehouse_core::model::Algorithm;
use gatehouse_core::secret::Secret;
use gatehouse_core::services::oauth::AuthorizeStep;
use gatehouse_core::services::{
    DEFAULT_RETIRED_KEY_RETENTION, OAuthSettings, RequestContext, Services, ServicesConfig,
};
use gatehouse_oauth::jwk::SigningKey;
use gatehouse_oauth::jwt;
use gatehouse_oauth::pkce::CodeChallenge;
use gatehouse_store::ConnectOptions;
use gatehouse_store::scratch::ScratchDatabase;
use serde_json::{Value, json};

const RUN: Duration = Duration::from_secs(5);
const CONCURRENCY: usize = 32;
const TOKEN: &str = "bench-admin-token-0123456789abcdef";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    println!(
        "| engine | figure | total/s | per core/s | p50 | p99 |\n| --- | --- | --- | --- | --- | --- |"
    );
    for alg in Algorithm::ALL {
        raw_signing(alg);
    }
    let dir = tempfile::tempdir()?;
    for alg in Algorithm::ALL {
        let url = format!(
            "sqlite://{}/bench-{}.db?mode=rwc",
            dir.path().display(),
            alg.as_str()
        );
        run("SQLite", &url, alg).await?;
    }
    if let Some(server) = ScratchDatabase::server_from_env() {
        for alg in Algorithm::ALL {
            let database = ScratchDatabase::create(&server, "gh_bench").await?;
            run("PostgreSQL", database.url(), alg).await?;
        }
    }
    Ok(())
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// One table row; `threads` is how many cores the work could use (per-core
/// figures divide by it).
fn row(
    engine: &str,
    figure: &str,
    threads: usize,
    count: usize,
    elapsed: Duration,
    mut latencies: Vec<Duration>,
) {
    latencies.sort();
    let pick = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    let rate = count as f64 / elapsed.as_secs_f64();
    println!(
        "| {engine} | {figure} | {rate:.0} | {:.0} | {:.2} ms | {:.2} ms |",
        rate / threads as f64,
        pick(0.50).as_secs_f64() * 1000.0,
        pick(0.99).as_secs_f64() * 1000.0,
    );
}

/// The crypto library alone: one thread signing a typical access token.
fn raw_signing(alg: Algorithm) {
    let key = SigningKey::generate(alg).unwrap();
    let claims = json!({"iss": "http://127.0.0.1:8080", "sub": "client", "aud": "api",
        "exp": 2_000_000_000, "iat": 1_900_000_000, "jti": "abcdefghijklmnop", "client_id": "client",
        "scope": "reports.read"});
    let start = Instant::now();
    let mut count = 0;
    while start.elapsed() < Duration::from_secs(2) {
        jwt::sign(&key, jwt::typ::ACCESS_TOKEN, &claims).unwrap();
        count += 1;
    }
    row(
        "—",
        &format!("raw JWT signing, {}, 1 thread", alg.as_str()),
        1,
        count,
        start.elapsed(),
        Vec::new(),
    );
}

async fn run(engine: &str, url: &str, alg: Algorithm) -> anyhow::Result<()> {
    let store = gatehouse_store::connect(url, ConnectOptions::default()).await?;
    let rng = SystemRng::new();
    let addr_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr: SocketAddr = addr_listener.local_addr()?;
    let public_url = format!("http://{addr}");
    let services = Services::start(
        store,
        Arc::new(SystemClock),
        Arc::new(SystemRng::new()),
        MasterKey::generate(&rng),
        ServicesConfig {
            bootstrap_token: Some(Secret::new(TOKEN)),
            hash_concurrency: cores(),
            public_url: public_url.clone(),
            sessions: Default::default(),
            oauth: OAuthSettings {
                access_token_alg: alg,
                id_token_alg: alg,
                ..OAuthSettings::default()
            },
            key_rotation_period: None,
            retired_key_retention: DEFAULT_RETIRED_KEY_RETENTION,
            sign_in: Default::default(),
            mailer: None,
            sms: None,
        },
    )
    .await?;
    let web = gatehouse_web::WebConfig {
        public_url: public_url.clone(),
        ..gatehouse_web::WebConfig::default()
    };
    let app = gatehouse_web::router(services.clone(), web)
        .into_make_service_with_connect_info::<SocketAddr>();
    let server = tokio::spawn(async move { axum::serve(addr_listener, app).await });
    let http = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(CONCURRENCY)
        .build()?;

    // A confidential client for client credentials, without consent.
    let created: Value = http
        .post(format!("{public_url}/api/v1/clients"))
        .bearer_auth(TOKEN)
        .json(&json!({"client_name": "bench", "grant_types": ["client_credentials", "authorization_code"],
            "redirect_uris": ["http://127.0.0.1:9/cb"], "scope": "openid reports.read",
            "require_consent": false, "token_endpoint_auth_method": "client_secret_basic"}))
        .send()
        .await?
        .json()
        .await?;
    let client_id = created["client_id"]
        .as_str()
        .expect("client created")
        .to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    let label = alg.as_str();

    let token_url = format!("{public_url}/oauth2/token");
    let (count, elapsed, lat) = load({
        let (http, token_url, client_id, secret) = (
            http.clone(),
            token_url.clone(),
            client_id.clone(),
            secret.clone(),
        );
        move || {
            let http = http.clone();
            let (url, id, secret) = (token_url.clone(), client_id.clone(), secret.clone());
            async move {
                let response = http
                    .post(url)
                    .basic_auth(id, Some(secret))
                    .form(&[
                        ("grant_type", "client_credentials"),
                        ("scope", "reports.read"),
                    ])
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200);
                response.bytes().await.unwrap();
            }
        }
    })
    .await;
    row(
        engine,
        &format!("client-credentials tokens, {label}"),
        cores(),
        count,
        elapsed,
        lat,
    );

    let token: Value = http
        .post(&token_url)
        .basic_auth(&client_id, Some(&secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await?
        .json()
        .await?;
    let access = token["access_token"].as_str().unwrap().to_owned();
    let introspect_url = format!("{public_url}/oauth2/introspect");
    let (count, elapsed, lat) = load({
        let (http, introspect_url, client_id, secret, access) = (
            http.clone(),
            introspect_url.clone(),
            client_id.clone(),
            secret.clone(),
            access.clone(),
        );
        move || {
            let http = http.clone();
            let (url, id, secret, access) = (
                introspect_url.clone(),
                client_id.clone(),
                secret.clone(),
                access.clone(),
            );
            async move {
                let response = http
                    .post(url)
                    .basic_auth(id, Some(secret))
                    .form(&[("token", access)])
                    .send()
                    .await
                    .unwrap();
                let body: Value = response.json().await.unwrap();
                assert_eq!(body["active"], true);
            }
        }
    })
    .await;
    row(
        engine,
        &format!("introspections, {label}"),
        cores(),
        count,
        elapsed,
        lat,
    );

    // The code flow through the services: a signed-in session, then
    // authorize → code → token exchange (with ID token) per iteration.
    let user: Value = http
        .post(format!("{public_url}/api/v1/users"))
        .bearer_auth(TOKEN)
        .json(&json!({"username": "bench", "email": "bench@example.com"}))
        .send()
        .await?
        .json()
        .await?;
    let user_id = user["id"].as_str().unwrap().parse()?;
    let user = services.store().get_user(user_id).await?.unwrap();
    let ctx = RequestContext::default();
    let (session, _) = services
        .sessions
        .start(&ctx, &user, vec!["pwd".into()], None, false)
        .await?;
    let basic = format!("Basic {}", STANDARD.encode(format!("{client_id}:{secret}")));
    let (count, elapsed, lat) = load({
        let (services, session, client_id, basic) = (
            services.clone(),
            session.clone(),
            client_id.clone(),
            basic.clone(),
        );
        move || {
            let services = services.clone();
            let (session, client_id, basic) = (session.clone(), client_id.clone(), basic.clone());
            async move {
                let verifier = "bench-verifier-0123456789-0123456789-0123456789";
                let challenge = CodeChallenge::from_verifier(verifier);
                let pairs: Vec<(String, String)> = [
                    ("response_type", "code"),
                    ("client_id", client_id.as_str()),
                    ("redirect_uri", "http://127.0.0.1:9/cb"),
                    ("scope", "openid"),
                    ("state", "s"),
                    ("nonce", "n"),
                    ("code_challenge", challenge.as_str()),
                    ("code_challenge_method", "S256"),
                ]
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
                let ctx = RequestContext::default();
                let step = services
                    .oauth
                    .authorize(&ctx, pairs, Some(session))
                    .await
                    .unwrap();
                let AuthorizeStep::Redirect(redirect) = step else {
                    panic!("expected a code");
                };
                let code = redirect
                    .params
                    .iter()
                    .find(|(n, _)| *n == "code")
                    .map(|(_, v)| v.clone())
                    .unwrap();
                let form: Vec<(String, String)> = [
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", "http://127.0.0.1:9/cb"),
                    ("code_verifier", verifier),
                ]
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
                let client = services
                    .oauth
                    .authenticate_client(Some(&basic), &form)
                    .await
                    .unwrap();
                services.oauth.token(&ctx, &client, &form).await.unwrap();
            }
        }
    })
    .await;
    row(
        engine,
        &format!("code flow completions (services), {label}"),
        cores(),
        count,
        elapsed,
        lat,
    );
    server.abort();
    Ok(())
}

/// Runs `job` from `CONCURRENCY` tasks for `RUN`; count, elapsed, latencies.
async fn load<F, Fut>(job: F) -> (usize, Duration, Vec<Duration>)
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    for _ in 0..50 {
        job().await;
    }
    let job = Arc::new(job);
    let start = Instant::now();
    let deadline = start + RUN;
    let tasks: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let job = job.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let began = Instant::now();
                    job().await;
                    latencies.push(began.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    (latencies.len(), start.elapsed(), latencies)
}
