//! Password sign-in benchmark: the raw argon2id rate beside password
//! sign-ins through the real `POST /login`, and latency under a 2× overload.
//!
//! `cargo bench -p gatehouse --bench sign_in` serves the real router on a
//! loopback port over SQLite in a temp dir (and PostgreSQL when
//! `GATEHOUSE_TEST_POSTGRES_URL` is set), at the production parameters
//! (argon2id m=19456 KiB, t=2, p=1; hash concurrency = cores; the default
//! hashing queue of 4 per core). Each sign-in is a browser's form post with a
//! valid CSRF pair and no device cookie (the most counters to check): user
//! lookup, throttle check, argon2id verification, counter reset and device
//! record with the audit event, SSO session start. The load generator shares
//! the cores, so the HTTP figures are a floor.
//!
//! - **raw**: one thread verifying argon2id hashes back to back, then one per
//!   core at once (what the cores can hash together: the ceiling for
//!   sign-ins, since memory-hard hashes on neighbouring cores share caches
//!   and memory bandwidth).
//! - **capacity**: closed loop, as many clients as the hashing queue holds,
//!   for 5 s: never shed.
//! - **password + TOTP**: the same closed loop, each sign-in a password post
//!   then the code (from `totp-rs`, computed independently) on
//!   `/login/factor`, for users whose org policy always asks for it; one
//!   sign-in per user (a code is accepted once), so as many users as the
//!   run can use.
//! - **per core-second of server CPU**: the server runs on its own runtime
//!   (threads named `gh-server`); the CPU its threads and SQLite's spent in
//!   each closed loop, divided by the sign-ins, is what one core serves when
//!   the load generator runs elsewhere. PostgreSQL's own CPU is not in it.
//! - **2× overload**: open loop, requests arriving at twice the measured
//!   capacity for 8 s whatever happens to earlier ones; the server must shed
//!   the excess at once (503 with `Retry-After`) and keep the admitted ones'
//!   latency bounded by the queue.
//!
//! Output is a Markdown table for BENCHMARKS.md.

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gatehouse_core::clock::{Clock as _, SystemClock, SystemRng};
use gatehouse_core::crypto::MasterKey;
use gatehouse_core::password::PasswordHasher;
use gatehouse_core::secret::Secret;
use gatehouse_core::services::{DEFAULT_RETIRED_KEY_RETENTION, Services, ServicesConfig};
use gatehouse_store::ConnectOptions;
use gatehouse_store::scratch::ScratchDatabase;
use serde_json::json;

const TOKEN: &str = "bench-admin-token-0123456789abcdef";
const PASSWORD: &str = "correct horse battery staple";
const CSRF: &str = "bench-csrf-token-0123456789abcdef0123456789";
const USERS: usize = 64;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    println!(
        "| engine | figure | total/s | per core/s | p50 | p99 |\n| --- | --- | --- | --- | --- | --- |"
    );
    raw_argon2id().await;
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}/bench.db?mode=rwc", dir.path().display());
    run("SQLite", &url).await?;
    if let Some(server) = ScratchDatabase::server_from_env() {
        let database = ScratchDatabase::create(&server, "gh_bench").await?;
        run("PostgreSQL", database.url()).await?;
    }
    Ok(())
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn quantile(latencies: &mut [Duration], q: f64) -> Duration {
    latencies.sort();
    latencies
        .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
        .copied()
        .unwrap_or_default()
}

fn row(engine: &str, figure: &str, count: usize, elapsed: Duration, mut latencies: Vec<Duration>) {
    let rate = count as f64 / elapsed.as_secs_f64();
    let (p50, p99) = if latencies.is_empty() {
        (String::new(), String::new())
    } else {
        (
            format!(
                "{:.1} ms",
                quantile(&mut latencies, 0.50).as_secs_f64() * 1000.0
            ),
            format!(
                "{:.1} ms",
                quantile(&mut latencies, 0.99).as_secs_f64() * 1000.0
            ),
        )
    };
    println!(
        "| {engine} | {figure} | {rate:.1} | {:.1} | {p50} | {p99} |",
        rate / cores() as f64
    );
}

/// argon2id alone at the production parameters: one caller verifying back to
/// back uses one core.
async fn raw_argon2id() {
    let one = raw_rate(1).await;
    println!("| — | raw argon2id verifications, 1 thread | {one:.1} | {one:.1} | | |");
    let n = cores();
    let all = raw_rate(n).await;
    let per_core = all / n as f64;
    println!(
        "| — | raw argon2id verifications, {n} threads at once | {all:.1} | {per_core:.1} | | |"
    );
}

/// Verifications per second with `threads` callers verifying back to back
/// through one hasher allowing that many at once (the server's setting is
/// one per core): what the cores can hash, nothing else running.
async fn raw_rate(threads: usize) -> f64 {
    let hasher = PasswordHasher::new(threads);
    let stored = hasher.hash(&Secret::new(PASSWORD)).await.unwrap();
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..threads {
        let hasher = hasher.clone();
        let stored = stored.clone();
        workers.push(tokio::spawn(async move {
            let password = Secret::new(PASSWORD);
            let mut count = 0u32;
            while start.elapsed() < Duration::from_secs(3) {
                assert!(hasher.verify(&password, &stored).await.unwrap().is_match());
                count += 1;
            }
            count
        }));
    }
    let mut count = 0u32;
    for worker in workers {
        count += worker.await.unwrap();
    }
    f64::from(count) / start.elapsed().as_secs_f64()
}

/// One sign-in as a fresh browser: (status, latency).
async fn sign_in(http: &reqwest::Client, url: &str, origin: &str, user: usize) -> (u16, Duration) {
    let began = Instant::now();
    let response = http
        .post(url)
        .header("cookie", format!("gatehouse_csrf={CSRF}"))
        .header("origin", origin)
        .form(&[
            ("csrf", CSRF.to_owned()),
            ("username", format!("user{user}")),
            ("password", PASSWORD.to_owned()),
        ])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    response.bytes().await.unwrap();
    (status, began.elapsed())
}

/// One password + TOTP sign-in as a fresh browser: (status, latency).
async fn sign_in_with_totp(
    http: &reqwest::Client,
    origin: &str,
    user: &TotpUser,
) -> (u16, Duration) {
    let began = Instant::now();
    let response = http
        .post(format!("{origin}/login"))
        .header("cookie", format!("gatehouse_csrf={CSRF}"))
        .header("origin", origin)
        .form(&[
            ("csrf", CSRF.to_owned()),
            ("username", user.username.clone()),
            ("password", PASSWORD.to_owned()),
        ])
        .send()
        .await
        .unwrap();
    let challenge = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("gatehouse_mfa="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned);
    let status = response.status().as_u16();
    response.bytes().await.unwrap();
    let Some(challenge) = challenge else {
        return (status, began.elapsed());
    };
    let response = http
        .post(format!("{origin}/login/factor"))
        .header("cookie", format!("gatehouse_csrf={CSRF}; {challenge}"))
        .header("origin", origin)
        .form(&[("csrf", CSRF), ("otp", user.code.as_str())])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    response.bytes().await.unwrap();
    (status, began.elapsed())
}

/// A user with an active TOTP factor and the code of the step after its
/// activation (valid, within the ±1 step window, for a minute).
struct TotpUser {
    username: String,
    code: String,
}

async fn totp_user(http: &reqwest::Client, origin: &str, n: usize) -> TotpUser {
    let username = format!("totp{n}");
    let created: serde_json::Value = http
        .post(format!("{origin}/api/v1/users"))
        .bearer_auth(TOKEN)
        .json(&json!({"username": username, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let factor: serde_json::Value = http
        .post(format!("{origin}/api/v1/users/{id}/factors"))
        .bearer_auth(TOKEN)
        .json(&json!({"type": "totp"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = totp_rs::Secret::try_from_base32(factor["secret"].as_str().unwrap()).unwrap();
    let totp = totp_rs::Builder::new()
        .with_secret(secret.as_bytes().to_vec())
        .build()
        .unwrap();
    let now = u64::try_from(SystemClock.now_millis() / 1000).unwrap();
    let activated = http
        .post(format!(
            "{origin}/api/v1/users/{id}/factors/{}/activate",
            factor["id"].as_str().unwrap()
        ))
        .bearer_auth(TOKEN)
        .json(&json!({"code": totp.generate(now).to_string()}))
        .send()
        .await
        .unwrap();
    assert_eq!(activated.status(), 200);
    TotpUser {
        username,
        code: totp.generate(now + 30).to_string(),
    }
}

/// The server's threads are named so; the load generator's are not.
const SERVER_THREAD: &str = "gh-server";

/// CPU seconds (user + system) spent so far by this process's threads
/// that serve: the server runtime's workers and blocking pool (argon2id),
/// and SQLite's connection threads. Linux reports them in
/// `/proc/self/task/*/stat` in clock ticks of 1/100 s.
fn server_cpu_secs() -> f64 {
    let mut ticks = 0u64;
    for task in std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
    {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = &stat[open + 1..close];
        if !(name.starts_with(SERVER_THREAD) || name.starts_with("sqlx-sqlite")) {
            continue;
        }
        // After the name: state is field 3; utime and stime are 14 and 15.
        let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
        let utime: u64 = fields[11].parse().unwrap_or(0);
        let stime: u64 = fields[12].parse().unwrap_or(0);
        ticks += utime + stime;
    }
    ticks as f64 / 100.0
}

/// Prints the server-CPU figure of a loop: sign-ins per CPU-second the
/// server itself spent (the load generator's share excluded), i.e. what
/// one core would serve with the generator on another machine.
fn cpu_row(engine: &str, figure: &str, count: usize, cpu_secs: f64) {
    let per_core = count as f64 / cpu_secs;
    let ms = 1000.0 * cpu_secs / count as f64;
    println!(
        "| {engine} | {figure}, per core-second of server CPU ({ms:.1} ms each) | | {per_core:.1} | | |"
    );
}

/// Serves the real router over `url` on its own runtime, in threads named
/// [`SERVER_THREAD`]; returns its public URL and a handle that stops it.
fn serve(
    url: String,
) -> anyhow::Result<(
    String,
    tokio::sync::oneshot::Sender<()>,
    std::thread::JoinHandle<()>,
)> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cores())
            .thread_name(SERVER_THREAD)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let store = gatehouse_store::connect(&url, ConnectOptions::default())
                .await
                .unwrap();
            let rng = SystemRng::new();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr: SocketAddr = listener.local_addr().unwrap();
            let public_url = format!("http://{addr}");
            let config = ServicesConfig {
                bootstrap_token: Some(Secret::new(TOKEN)),
                hash_concurrency: cores(),
                public_url: public_url.clone(),
                sessions: Default::default(),
                oauth: Default::default(),
                key_rotation_period: None,
                retired_key_retention: DEFAULT_RETIRED_KEY_RETENTION,
                sign_in: Default::default(),
                mailer: None,
                sms: None,
            };
            let services = Services::start(
                store,
                Arc::new(SystemClock),
                Arc::new(SystemRng::new()),
                MasterKey::generate(&rng),
                config,
            )
            .await
            .unwrap();
            let web = gatehouse_web::WebConfig {
                public_url: public_url.clone(),
                ..gatehouse_web::WebConfig::default()
            };
            let app = gatehouse_web::router(services, web)
                .into_make_service_with_connect_info::<SocketAddr>();
            ready_tx.send(public_url).unwrap();
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    stop_rx.await.ok();
                })
                .await
                .unwrap();
        });
    });
    let public_url = ready_rx.recv()?;
    Ok((public_url, stop_tx, thread))
}

async fn run(engine: &str, url: &str) -> anyhow::Result<()> {
    let (public_url, stop, thread) = serve(url.to_owned())?;
    // As many clients as the queue holds: a caller woken with a slot still
    // counts as queued until it runs, so slots + queue could see a spurious 503.
    let admitted = 4 * cores();
    let http = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(256)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    for n in 0..USERS {
        let response = http
            .post(format!("{public_url}/api/v1/users"))
            .bearer_auth(TOKEN)
            .json(
                &json!({"username": format!("user{n}"), "email": format!("user{n}@example.com"),
                "password": PASSWORD}),
            )
            .send()
            .await?;
        assert_eq!(response.status(), 201);
    }
    let login = format!("{public_url}/login");
    for n in 0..4 {
        assert_eq!(sign_in(&http, &login, &public_url, n).await.0, 200);
    }

    // Capacity: a closed loop with as many clients as the server admits.
    let deadline = Instant::now() + Duration::from_secs(5);
    let cpu = server_cpu_secs();
    let start = Instant::now();
    let tasks: Vec<_> = (0..admitted)
        .map(|client| {
            let (http, login, origin) = (http.clone(), login.clone(), public_url.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut n = client;
                while Instant::now() < deadline {
                    let (status, took) = sign_in(&http, &login, &origin, n % USERS).await;
                    assert_eq!(
                        status, 200,
                        "a closed loop within the queue bound is never shed"
                    );
                    latencies.push(took);
                    n += admitted;
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await?);
    }
    let elapsed = start.elapsed();
    let cpu = server_cpu_secs() - cpu;
    let capacity = latencies.len() as f64 / elapsed.as_secs_f64();
    let count = latencies.len();
    row(
        engine,
        &format!("password sign-ins through POST /login, {admitted} clients"),
        count,
        elapsed,
        latencies,
    );
    cpu_row(engine, "password sign-ins", count, cpu);

    // Password + TOTP: the same closed loop, one sign-in per prepared user.
    let org = gatehouse_core::ids::OrgId::DEFAULT;
    let policy = http
        .put(format!("{public_url}/api/v1/orgs/{org}/signon-policy"))
        .bearer_auth(TOKEN)
        .json(&json!({"second_factor": "always"}))
        .send()
        .await?;
    assert_eq!(policy.status(), 200);
    let wanted = (capacity * 6.0) as usize + admitted;
    let mut prepared = Vec::with_capacity(wanted);
    for n in 0..wanted {
        prepared.push(totp_user(&http, &public_url, n).await);
    }
    let prepared = Arc::new(prepared);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(5);
    let cpu = server_cpu_secs();
    let start = Instant::now();
    let tasks: Vec<_> = (0..admitted)
        .map(|_| {
            let (http, origin) = (http.clone(), public_url.clone());
            let (prepared, next) = (prepared.clone(), next.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(user) = prepared.get(n) else { break };
                    let (status, took) = sign_in_with_totp(&http, &origin, user).await;
                    assert_eq!(status, 200, "password + TOTP sign-in");
                    latencies.push(took);
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await?);
    }
    let elapsed = start.elapsed();
    let cpu = server_cpu_secs() - cpu;
    let count = latencies.len();
    row(
        engine,
        &format!("password + TOTP sign-ins (POST /login, POST /login/factor), {admitted} clients"),
        count,
        elapsed,
        latencies,
    );
    cpu_row(engine, "password + TOTP sign-ins", count, cpu);
    let removed = http
        .delete(format!("{public_url}/api/v1/orgs/{org}/signon-policy"))
        .bearer_auth(TOKEN)
        .send()
        .await?;
    assert_eq!(removed.status(), 204);

    // 2x overload: open loop at twice the capacity.
    let offered = 2.0 * capacity;
    let gap = Duration::from_secs_f64(1.0 / offered);
    let run_for = Duration::from_secs(8);
    let start = Instant::now();
    let mut tasks = Vec::new();
    let mut n = 0usize;
    while start.elapsed() < run_for {
        let (http, login, origin) = (http.clone(), login.clone(), public_url.clone());
        tasks.push(tokio::spawn(async move {
            sign_in(&http, &login, &origin, n % USERS).await
        }));
        n += 1;
        let next = start + gap.mul_f64(n as f64);
        tokio::time::sleep_until(next.into()).await;
    }
    let (mut ok, mut shed, mut other) = (Vec::new(), Vec::new(), 0usize);
    for task in tasks {
        match task.await? {
            (200, took) => ok.push(took),
            (503, took) => shed.push(took),
            _ => other += 1,
        }
    }
    let elapsed = start.elapsed();
    assert_eq!(other, 0, "only sign-ins and shed answers");
    println!(
        "| {engine} | 2x overload: offered | {offered:.1} | {:.1} | | |",
        offered / cores() as f64
    );
    let (admitted_count, shed_count) = (ok.len(), shed.len());
    row(
        engine,
        "2x overload: admitted (200)",
        admitted_count,
        elapsed,
        ok,
    );
    row(
        engine,
        "2x overload: shed (503 + Retry-After)",
        shed_count,
        elapsed,
        shed,
    );
    stop.send(()).ok();
    thread.join().ok();
    Ok(())
}
