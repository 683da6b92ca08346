//! Brute-force protection through the hosted sign-in page, `/login`: equal
//! answers for unknown and known accounts under throttling, the 429 with
//! `Retry-After`, lockout and its expiry on the fake clock, a known browser
//! signing in while its account is locked by failures from elsewhere, and the
//! admin API's view and clearing of a lockout — on SQLite, and on PostgreSQL
//! when configured. Client IPs come from `X-Forwarded-For` (the test client
//! is a trusted proxy).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::rp::{PASSWORD, user};
use gatehouse_core::model::AuditQuery;
use gatehouse_testkit::browser::{Browser, hidden_fields};
use gatehouse_testkit::{TestDb, TestOptions, TestServer};

/// A server that believes `X-Forwarded-For` from loopback.
async fn server(db: TestDb) -> TestServer {
    TestServer::start_with(TestOptions {
        db,
        trusted_proxies: vec!["127.0.0.0/8".parse().unwrap()],
        ..TestOptions::default()
    })
    .await
}

struct Answer {
    status: u16,
    retry_after: Option<String>,
    html: String,
}

/// Loads the sign-in page and posts it, as `browser` at `ip`.
async fn login(
    browser: &Browser,
    server: &TestServer,
    ip: &str,
    username: &str,
    password: &str,
) -> Answer {
    let page = browser
        .client()
        .get(server.url("/login"))
        .header("x-forwarded-for", ip)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut form = hidden_fields(&page);
    form.push(("username".into(), username.into()));
    form.push(("password".into(), password.into()));
    let response = browser
        .client()
        .post(server.url("/login"))
        .header("x-forwarded-for", ip)
        .form(&form)
        .send()
        .await
        .unwrap();
    Answer {
        status: response.status().as_u16(),
        retry_after: response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned()),
        html: response.text().await.unwrap(),
    }
}

/// The page without what differs by design: the echoed username and the hidden fields.
fn normalised(html: &str, username: &str) -> String {
    html.replace(username, "USER")
        .split("<input")
        .filter(|part| !part.contains("type=\"hidden\""))
        .collect::<Vec<_>>()
        .join("<input")
}

fn browser(server: &TestServer) -> Browser {
    Browser::new(&server.url("")).unwrap()
}

async fn throttled_answers_are_equal_for_known_and_unknown_accounts(server: TestServer) {
    user(&server, "ada").await;
    let mut transcripts = Vec::new();
    for (username, ip) in [("ada", "192.0.2.1"), ("nobody", "192.0.2.2")] {
        let b = browser(&server);
        let mut transcript = Vec::new();
        for attempt in 0..6 {
            // The last attempt has the right password: it is not even checked.
            let password = if attempt == 5 {
                PASSWORD
            } else {
                "wrong-password"
            };
            let answer = login(&b, &server, ip, username, password).await;
            transcript.push((
                answer.status,
                answer.retry_after,
                normalised(&answer.html, username),
            ));
        }
        transcripts.push(transcript);
    }
    assert_eq!(transcripts[0], transcripts[1]);
    let statuses: Vec<u16> = transcripts[0].iter().map(|t| t.0).collect();
    assert_eq!(statuses, [200, 200, 200, 200, 429, 429]);
    assert!(
        transcripts[0][3]
            .2
            .contains("Invalid username or password.")
    );
    let (_, retry_after, html) = &transcripts[0][4];
    assert_eq!(retry_after.as_deref(), Some("1"));
    assert!(html.contains("Too many sign-in attempts"), "{html}");
    assert!(html.contains("name=\"password\""), "the form stays usable");
}

async fn lockout_expires_on_the_clock(server: TestServer) {
    user(&server, "ada").await;
    let b = browser(&server);
    let ip = "192.0.2.1";
    for _ in 0..10 {
        let answer = login(&b, &server, ip, "ada", "wrong-password").await;
        assert_eq!(answer.status, 200);
        server.clock.advance_secs(60);
    }
    server.clock.advance_secs(-60);
    let locked = login(&b, &server, ip, "ada", PASSWORD).await;
    assert_eq!(locked.status, 429);
    assert_eq!(locked.retry_after.as_deref(), Some("900"));
    server.clock.advance_secs(900);
    let answer = login(&b, &server, ip, "ada", PASSWORD).await;
    assert_eq!(answer.status, 200);
    assert!(
        answer.html.contains("You are signed in as ada."),
        "{}",
        answer.html
    );
}

async fn a_known_browser_signs_in_while_the_account_is_locked(server: TestServer) {
    user(&server, "ada").await;
    let owner = browser(&server);
    let signed_in = login(&owner, &server, "192.0.2.1", "ada", PASSWORD).await;
    assert_eq!(signed_in.status, 200);
    // Twenty failures from twenty addresses lock the account for browsers it does not know.
    let attacker = browser(&server);
    for n in 0..20 {
        let answer = login(
            &attacker,
            &server,
            &format!("203.0.113.{n}"),
            "ada",
            "guess",
        )
        .await;
        assert_eq!(answer.status, 200);
        server.clock.advance_secs(61);
    }
    let stranger = login(&browser(&server), &server, "198.51.100.1", "ada", PASSWORD).await;
    assert_eq!(stranger.status, 429);
    // The owner's browser carries its device cookie and is judged on its own counter.
    let answer = login(&owner, &server, "198.51.100.9", "ada", PASSWORD).await;
    assert_eq!(answer.status, 200, "{}", answer.html);
    assert!(answer.html.contains("You are signed in as ada."));
}

async fn admin_sees_and_clears_a_lockout(server: TestServer) {
    let id = user(&server, "ada").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let b = browser(&server);
    for n in 0..20 {
        login(&b, &server, &format!("203.0.113.{n}"), "ada", "guess").await;
        server.clock.advance_secs(61);
    }
    let path = format!("/api/v1/users/{id}/lockout");
    let view = common::json(server.admin().get(&path).send().await.unwrap(), 200).await;
    assert_eq!(view["locked"], true, "{view}");
    assert!(view["locked_until"].is_string());
    let account = view["counters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["scope"] == "account")
        .unwrap();
    assert_eq!(account["failures"], 20);
    assert_eq!(account["factor"], "password");

    assert_eq!(
        login(&b, &server, "198.51.100.1", "ada", PASSWORD)
            .await
            .status,
        429
    );
    common::empty(server.admin().delete(&path).send().await.unwrap(), 204).await;
    let view = common::json(server.admin().get(&path).send().await.unwrap(), 200).await;
    assert_eq!(view["locked"], false);
    assert_eq!(view["counters"], serde_json::json!([]));
    assert_eq!(
        login(&b, &server, "198.51.100.1", "ada", PASSWORD)
            .await
            .status,
        200
    );
    let cleared = server
        .services
        .store()
        .list_audit(&AuditQuery {
            action: Some("user.lockout.clear".into()),
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap()
        .items;
    assert_eq!(cleared.len(), 1);
    assert_eq!(cleared[0].target_id.as_deref(), Some(id.as_str()));

    // Unknown and malformed ids are problem+json 404s; no token is a 401.
    let missing = "/api/v1/users/0190aaaa-0000-7000-8000-000000000000/lockout";
    common::problem(server.admin().get(missing).send().await.unwrap(), 404).await;
    common::problem(server.admin().delete(missing).send().await.unwrap(), 404).await;
    common::problem(
        server
            .admin()
            .get("/api/v1/users/x/lockout")
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    let anonymous = server.client().get(server.url(&path)).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
}

/// With every hashing slot taken and the queue full, a sign-in is answered
/// 503 with `Retry-After` at once, and the queued one completes once a slot
/// frees. No timing: the test holds the slot itself and waits for the queue
/// to fill by watching its length.
#[tokio::test]
async fn overload_is_shed_at_once_beyond_the_queue_bound() {
    let server = TestServer::start_with(TestOptions {
        trusted_proxies: vec!["127.0.0.0/8".parse().unwrap()],
        hash_concurrency: 1,
        hash_queue: Some(1),
        ..TestOptions::default()
    })
    .await;
    user(&server, "ada").await;
    let slot = server.hasher.occupy().await.unwrap();
    let queued = {
        let b = browser(&server);
        let url = server.url("");
        tokio::spawn(async move {
            let server_url = url;
            let page = b
                .client()
                .get(format!("{server_url}/login"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let mut form = hidden_fields(&page);
            form.push(("username".into(), "ada".into()));
            form.push(("password".into(), PASSWORD.into()));
            let response = b
                .client()
                .post(format!("{server_url}/login"))
                .form(&form)
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        })
    };
    while server.hasher.queued() < 1 {
        tokio::task::yield_now().await;
    }
    for username in ["ada", "nobody"] {
        let shed = login(&browser(&server), &server, "192.0.2.1", username, PASSWORD).await;
        assert_eq!(shed.status, 503, "{}", shed.html);
        assert_eq!(shed.retry_after.as_deref(), Some("1"));
        assert!(shed.html.contains("Try again in a moment"));
    }
    drop(slot);
    let (status, html) = queued.await.unwrap();
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("You are signed in as ada."));
}

macro_rules! on_both_engines {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(super::server(gatehouse_testkit::TestDb::Sqlite).await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    let Some(server_url) = std::env::var(gatehouse_testkit::POSTGRES_URL_VAR)
                        .ok()
                        .filter(|u| !u.is_empty())
                    else {
                        return;
                    };
                    let db = gatehouse_testkit::TestDb::Postgres { server_url };
                    super::$case(super::server(db).await).await;
                }
            )*
        }
    };
}

on_both_engines!(
    throttled_answers_are_equal_for_known_and_unknown_accounts,
    lockout_expires_on_the_clock,
    a_known_browser_signs_in_while_the_account_is_locked,
    admin_sees_and_clears_a_lockout,
);
