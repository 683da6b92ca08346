//! SCIM benchmark: filtered list latency over many users and the bulk
//! create rate.
//!
//! `cargo bench -p gatehouse --bench scim` runs against SQLite in a temp dir
//! and, when `GATEHOUSE_TEST_POSTGRES_URL` is set, a fresh PostgreSQL
//! database. `GATEHOUSE_BENCH_USERS` sets how many users the lists run over
//! (default 1,000,000), `GATEHOUSE_BENCH_BULK_USERS` how many of them are
//! created through `/Bulk` requests handled by the core SCIM service (the
//! decide step of `/scim/v2/Bulk`: parsing, mapping, uniqueness, audit, one
//! transaction per operation; default 20,000), which is the bulk-create
//! figure, and `GATEHOUSE_BENCH_QUERIES` the queries per figure (200). The
//! rest are copies of the first user made in SQL (`gatehouse_store::seed`),
//! so a million users take minutes, not an hour. Figures go to stdout as a
//! Markdown table.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use gatehouse_core::clock::{Rng, SystemClock, SystemRng};
use gatehouse_core::crypto::MasterKey;
use gatehouse_core::services::scim::ScimFailure;
use gatehouse_core::services::{AdminAuth, RequestContext, Services, ServicesConfig};
use gatehouse_scim::bulk::BulkRequest;
use gatehouse_scim::list::ListQuery;
use gatehouse_store::ConnectOptions;
use gatehouse_store::scratch::ScratchDatabase;
use serde_json::json;

const BOOTSTRAP: &str = "bench-bootstrap-token-0123456789abcdef";
const BATCH: usize = 1000;
const CONCURRENCY: usize = 8;

/// The filter of the n-th query of a figure.
type FilterOf = Box<dyn Fn(usize) -> String>;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let users: usize = std::env::var("GATEHOUSE_BENCH_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let bulk_users: usize = std::env::var("GATEHOUSE_BENCH_BULK_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000)
        .min(users);
    let queries: usize = std::env::var("GATEHOUSE_BENCH_QUERIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let dir = tempfile::tempdir()?;
    let sqlite = format!("sqlite://{}/bench.db?mode=rwc", dir.path().display());
    println!("| engine | figure | value |\n| --- | --- | --- |");
    let sizes = Sizes {
        users,
        bulk_users,
        queries,
    };
    run("SQLite", &sqlite, sizes).await?;
    if let Some(server) = ScratchDatabase::server_from_env() {
        let database = ScratchDatabase::create(&server, "gh_bench_scim").await?;
        run("PostgreSQL", database.url(), sizes).await?;
    }
    Ok(())
}

fn auth(services: &Services) -> &AdminAuth {
    &services.admin_auth
}

#[derive(Clone, Copy)]
struct Sizes {
    users: usize,
    bulk_users: usize,
    queries: usize,
}

async fn run(engine: &str, url: &str, sizes: Sizes) -> anyhow::Result<()> {
    let Sizes {
        users,
        bulk_users,
        queries,
    } = sizes;
    let store = gatehouse_store::connect(url, ConnectOptions::default()).await?;
    let rng = SystemRng::new();
    let services = Services::start(
        store,
        Arc::new(SystemClock),
        Arc::new(SystemRng::new()),
        MasterKey::generate(&rng),
        ServicesConfig {
            bootstrap_token: Some(gatehouse_core::secret::Secret::new(BOOTSTRAP)),
            hash_concurrency: 2,
            public_url: "http://bench".into(),
            sessions: Default::default(),
            oauth: Default::default(),
            key_rotation_period: None,
            retired_key_retention: gatehouse_core::services::DEFAULT_RETIRED_KEY_RETENTION,
            mailer: None,
            sms: None,
            sign_in: Default::default(),
        },
    )
    .await?;
    let who = auth(&services).authenticate_scim(BOOTSTRAP).await?;

    // 1. Bulk create: 1,000 POSTs per request, several clients at once.
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..CONCURRENCY {
        let services = services.clone();
        let who = who.clone();
        tasks.push(tokio::spawn(async move {
            let ctx = RequestContext::default();
            let mut batch = worker;
            while batch * BATCH < bulk_users {
                let operations: Vec<_> = (batch * BATCH..((batch + 1) * BATCH).min(bulk_users))
                    .map(|i| {
                        json!({"method": "POST", "path": "/Users", "bulkId": format!("u{i}"), "data": {
                            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                            "userName": format!("user-{i:07}"),
                            "externalId": format!("ext-{i}"),
                            "name": {"givenName": "Bench", "familyName": format!("User {i}")},
                            "emails": [{"value": format!("user-{i:07}@example.com"), "type": "work", "primary": true}],
                            "active": true,
                        }})
                    })
                    .collect();
                let body = json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                    "Operations": operations,
                });
                let request = BulkRequest::parse(
                    body.to_string().as_bytes(),
                    &services.scim.settings().bulk,
                )
                .expect("bulk request");
                let results = services.scim.bulk(&who, &ctx, &request).await;
                assert!(results.iter().all(|r| r.status == 201), "bulk create failed");
                batch += CONCURRENCY;
            }
        }));
    }
    for task in tasks {
        task.await?;
    }
    let rate = bulk_users as f64 / started.elapsed().as_secs_f64();
    println!(
        "| {engine} | bulk create through the SCIM service ({bulk_users} users, {CONCURRENCY} clients) | {rate:.0} users/s |"
    );

    // 2. Filtered lists over the full table, first page of 100.
    let limits = services.scim.settings().list;
    let first_user = |attributes: &'static str| {
        let services = services.clone();
        let who = who.clone();
        async move {
            let q = ListQuery::from_query(
                [
                    ("filter", "userName eq \"user-0000000\""),
                    ("attributes", attributes),
                ],
                &limits,
            )
            .map_err(anyhow_scim)?;
            let list = services
                .scim
                .list_users(&who, &q)
                .await
                .map_err(anyhow_failure)?;
            anyhow::Ok(list.resources[0].clone())
        }
    };
    if users > bulk_users {
        let template = first_user("id").await?;
        let template = template["id"].as_str().unwrap().to_owned();
        let started = Instant::now();
        gatehouse_store::seed::clone_scim_user(url, &template, bulk_users as u64..users as u64)
            .await?;
        eprintln!(
            "{engine}: copied {} users in SQL in {:.0} s",
            users - bulk_users,
            started.elapsed().as_secs_f64()
        );
    }
    let modified_after = first_user("meta").await?["meta"]["lastModified"]
        .as_str()
        .unwrap()
        .to_owned();
    let figures: [(&str, FilterOf); 3] = [
        (
            "userName eq",
            Box::new(move |i| format!("userName eq \"USER-{:07}\"", i % users)),
        ),
        (
            "emails.value co",
            Box::new(|i| format!("emails.value co \"-{:04}@\"", i % 10_000)),
        ),
        (
            "meta.lastModified gt, startIndex 1001",
            Box::new(move |_| format!("meta.lastModified gt \"{modified_after}\"")),
        ),
    ];
    for (name, filter) in &figures {
        let mut samples = Vec::with_capacity(queries);
        for n in 0..queries {
            let i = random_index(&rng, users.max(1)).wrapping_add(n);
            let filter = filter(i);
            let start_index = if name.contains("startIndex") {
                "1001"
            } else {
                "1"
            };
            let q = ListQuery::from_query(
                [
                    ("filter", filter.as_str()),
                    ("count", "100"),
                    ("startIndex", start_index),
                ],
                &limits,
            )
            .map_err(anyhow_scim)?;
            let t = Instant::now();
            let list = services
                .scim
                .list_users(&who, &q)
                .await
                .map_err(anyhow_failure)?;
            samples.push(t.elapsed());
            assert!(
                list.total > 0 || name.contains("co"),
                "{filter} found nothing"
            );
        }
        report(
            engine,
            &format!("list, filter {name} ({users} users)"),
            &mut samples,
        );
    }
    Ok(())
}

fn anyhow_scim(e: gatehouse_scim::ScimError) -> anyhow::Error {
    anyhow::anyhow!("{e:?}")
}

fn anyhow_failure(e: ScimFailure) -> anyhow::Error {
    anyhow::anyhow!("{e:?}")
}

fn report(engine: &str, what: &str, samples: &mut [Duration]) {
    samples.sort();
    let pct = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    println!(
        "| {engine} | {what}: p50 / p99 | {:.1} ms / {:.1} ms |",
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
    );
}

fn random_index(rng: &SystemRng, len: usize) -> usize {
    let mut b = [0u8; 8];
    rng.fill(&mut b);
    (u64::from_le_bytes(b) % len as u64) as usize
}
