//! Identity benchmark: create-user rates and user lookup latency at scale.
//!
//! `cargo bench -p gatehouse --bench identity` runs against SQLite in a temp dir
//! and, when `GATEHOUSE_TEST_POSTGRES_URL` is set, against a fresh PostgreSQL
//! database too. `GATEHOUSE_BENCH_USERS` sets how many users are seeded
//! (default 1,000,000). Figures go to stdout as a Markdown table for BENCHMARKS.md.
//!
//! Measured through the core services (the decide step of every admin request),
//! so validation, org checks, audit events and transactions are all included.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use gatehouse_core::clock::{Rng, SystemClock, SystemRng};
use gatehouse_core::crypto::MasterKey;
use gatehouse_core::ids::UserId;
use gatehouse_core::model::UserQuery;
use gatehouse_core::secret::Secret;
use gatehouse_core::services::{
    AdminPrincipal, NewUser, RequestContext, Services, ServicesConfig, UserProfile,
};
use gatehouse_store::ConnectOptions;
use gatehouse_store::scratch::ScratchDatabase;

/// A bcrypt hash (cost 4, from python bcrypt 5.0): import parses it without hashing.
const IMPORTED: &str = "$2b$04$Vz6N2c1odc1KlnY1ME33v.hmnVBTM92IIwj0C2L3vXd3Xtanjra6q";
const LOOKUPS: usize = 20_000;
const HASHED_USERS: usize = 200;
const CONCURRENCY: usize = 16;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let users: usize = std::env::var("GATEHOUSE_BENCH_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir()?;
    let sqlite = format!("sqlite://{}/bench.db?mode=rwc", dir.path().display());
    println!("| engine | figure | value |\n| --- | --- | --- |");
    run("SQLite", &sqlite, users).await?;
    if let Some(server) = ScratchDatabase::server_from_env() {
        let database = ScratchDatabase::create(&server, "gh_bench").await?;
        run("PostgreSQL", database.url(), users).await?;
    }
    Ok(())
}

async fn run(engine: &str, url: &str, users: usize) -> anyhow::Result<()> {
    let store = gatehouse_store::connect(url, ConnectOptions::default()).await?;
    let rng = SystemRng::new();
    let services = Services::start(
        store,
        Arc::new(SystemClock),
        Arc::new(SystemRng::new()),
        MasterKey::generate(&rng),
        ServicesConfig {
            bootstrap_token: None,
            hash_concurrency: cores(),
            public_url: "http://bench".into(),
            sessions: Default::default(),
            oauth: Default::default(),
            key_rotation_period: None,
            retired_key_retention: gatehouse_core::services::DEFAULT_RETIRED_KEY_RETENTION,
            sign_in: Default::default(),
            mailer: None,
            sms: None,
        },
    )
    .await?;
    let who = AdminPrincipal::cli();

    // 1. Create with argon2id hashing (OWASP parameters), concurrent clients.
    let started = Instant::now();
    let ids = create_many(&services, &who, "hashed", HASHED_USERS, |_| {
        (Some(Secret::new("a-long-enough-passphrase-1")), None)
    })
    .await;
    let rate = ids.len() as f64 / started.elapsed().as_secs_f64();
    println!(
        "| {engine} | create user with argon2id ({} cores) | {rate:.1} users/s |",
        cores()
    );

    // 2. Create with an imported hash (no hashing): also seeds the big table.
    let started = Instant::now();
    let ids = create_many(&services, &who, "user", users, |_| {
        (None, Some(Secret::new(IMPORTED)))
    })
    .await;
    let rate = ids.len() as f64 / started.elapsed().as_secs_f64();
    println!("| {engine} | create user with imported hash ({users} users) | {rate:.0} users/s |");

    // 3. Point lookups on the full table.
    let picks: Vec<usize> = (0..LOOKUPS)
        .map(|_| random_index(&rng, ids.len()))
        .collect();
    let mut by_id = Vec::with_capacity(LOOKUPS);
    for &i in &picks {
        let t = Instant::now();
        services.users.get(&who, ids[i]).await?;
        by_id.push(t.elapsed());
    }
    report(
        engine,
        &format!("get user by id ({users} users)"),
        &mut by_id,
    );

    let mut by_email = Vec::with_capacity(LOOKUPS);
    for &i in &picks {
        let query = UserQuery {
            email: Some(format!("USER-{i}@Example.com")),
            limit: 1,
            ..UserQuery::default()
        };
        let t = Instant::now();
        let page = services.users.list(&who, query).await?;
        by_email.push(t.elapsed());
        assert_eq!(page.items.len(), 1, "user-{i} must be found by e-mail");
    }
    report(
        engine,
        &format!("get user by e-mail, case-insensitive ({users} users)"),
        &mut by_email,
    );
    Ok(())
}

type Credentials = (Option<Secret>, Option<Secret>);

async fn create_many(
    services: &Arc<Services>,
    who: &AdminPrincipal,
    prefix: &str,
    count: usize,
    credentials: impl Fn(usize) -> Credentials + Send + Sync + Copy + 'static,
) -> Vec<UserId> {
    let mut tasks = Vec::new();
    for worker in 0..CONCURRENCY {
        let services = services.clone();
        let who = who.clone();
        let prefix = prefix.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            let ctx = RequestContext::default();
            for i in (worker..count).step_by(CONCURRENCY) {
                let (password, password_hash) = credentials(i);
                let profile = UserProfile {
                    username: format!("{prefix}-{i}"),
                    email: Some(format!("{prefix}-{i}@example.com")),
                    ..UserProfile::default()
                };
                let new = NewUser {
                    profile,
                    password,
                    password_hash,
                    ..NewUser::default()
                };
                ids.push((
                    i,
                    services
                        .users
                        .create(&who, &ctx, new)
                        .await
                        .expect("create user")
                        .id,
                ));
            }
            ids
        }));
    }
    let mut all = Vec::with_capacity(count);
    for task in tasks {
        all.extend(task.await.expect("worker"));
    }
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, id)| id).collect()
}

fn report(engine: &str, what: &str, samples: &mut [Duration]) {
    samples.sort();
    let pct = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
    println!(
        "| {engine} | {what}: p50 / p99 / mean | {:.0} µs / {:.0} µs / {:.0} µs |",
        pct(0.50).as_secs_f64() * 1e6,
        pct(0.99).as_secs_f64() * 1e6,
        mean.as_secs_f64() * 1e6
    );
}

fn random_index(rng: &SystemRng, len: usize) -> usize {
    let mut b = [0u8; 8];
    rng.fill(&mut b);
    (u64::from_le_bytes(b) % len as u64) as usize
}

fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}
