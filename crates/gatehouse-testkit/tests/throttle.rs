//! The brute-force throttle through the core services, on a real store with
//! the fake clock: the back-off schedule and lockout expiry, the
//! second-factor counters (kept apart from the password's), known devices,
//! and equal answers for unknown logins — on SQLite, and on PostgreSQL when
//! `GATEHOUSE_TEST_POSTGRES_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use gatehouse_core::Error;
use gatehouse_core::clock::{Clock, SystemRng};
use gatehouse_core::ids::{AuditEventId, OrgId, UserId};
use gatehouse_core::model::{AuditEvent, AuditQuery, Outcome, Proof, Subject};
use gatehouse_core::secret::Secret;
use gatehouse_core::services::{Admission, RequestContext, SignIn};
use gatehouse_testkit::TestServer;
use serde_json::json;

const PASSWORD: &str = "correct horse battery staple";
/// A wrong password, distinctive enough to look for in audit details.
const WRONG: &str = "Tr0ub4dor&3-guess";

fn from(ip: &str) -> RequestContext {
    RequestContext {
        ip: Some(ip.to_owned()),
        ..RequestContext::default()
    }
}

async fn user(server: &TestServer, username: &str) -> UserId {
    let user = server
        .admin()
        .create(
            "/api/v1/users",
            json!({"username": username, "email": format!("{username}@example.com"), "password": PASSWORD}),
        )
        .await;
    user["id"].as_str().unwrap().parse().unwrap()
}

/// What a password sign-in came to, as the caller sees it.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Verified,
    Refused,
    Throttled(u64),
}

async fn password(
    server: &TestServer,
    ip: &str,
    login: &str,
    password: &str,
    device: Option<&Secret>,
) -> (Seen, Option<Secret>) {
    match server
        .services
        .password_login
        .sign_in(
            &from(ip),
            OrgId::DEFAULT,
            login,
            &Secret::new(password),
            device,
        )
        .await
    {
        // The sign-in completes at once here (no second factor): the
        // browser becomes known, as the web layer does at that point.
        Ok(SignIn::Verified { user, .. }) => {
            let cookie = server
                .services
                .throttle
                .complete_sign_in(&from(ip), &user, device)
                .await
                .unwrap();
            (Seen::Verified, Some(cookie))
        }
        Ok(SignIn::Throttled { retry_after_secs }) => (Seen::Throttled(retry_after_secs), None),
        Err(Error::AuthFailed) => (Seen::Refused, None),
        Err(e) => panic!("unexpected error {e}"),
    }
}

async fn audit_actions(server: &TestServer, action: &str) -> Vec<AuditEvent> {
    server
        .services
        .store()
        .list_audit(&AuditQuery {
            action: Some(action.to_owned()),
            limit: 1000,
            ..AuditQuery::default()
        })
        .await
        .unwrap()
        .items
}

async fn backs_off_then_locks_and_the_lock_expires(server: TestServer) {
    user(&server, "ada").await;
    let ip = "192.0.2.10";
    // Three free failures, then each one doubles the wait: 1, 2, 4 … s.
    for _ in 0..3 {
        assert_eq!(
            password(&server, ip, "ada", WRONG, None).await.0,
            Seen::Refused
        );
    }
    for n in 0..6 {
        assert_eq!(
            password(&server, ip, "ada", WRONG, None).await.0,
            Seen::Refused
        );
        let wait = 1u64 << n;
        // Refused unchecked, even with the right password, until the wait is over.
        assert_eq!(
            password(&server, ip, "ada", PASSWORD, None).await.0,
            Seen::Throttled(wait)
        );
        server.clock.advance_secs(i64::try_from(wait).unwrap() - 1);
        assert_eq!(
            password(&server, ip, "ada", PASSWORD, None).await.0,
            Seen::Throttled(1)
        );
        server.clock.advance_secs(1);
    }
    // The tenth failure locks this source out of the account for 15 minutes.
    assert_eq!(
        password(&server, ip, "ada", WRONG, None).await.0,
        Seen::Refused
    );
    assert_eq!(
        password(&server, ip, "ada", PASSWORD, None).await.0,
        Seen::Throttled(900)
    );
    // Another source is judged on the account-wide counter (10 failures: a
    // progressive wait of 16 s, no lockout) and its own.
    assert_eq!(
        password(&server, "198.51.100.7", "ada", PASSWORD, None)
            .await
            .0,
        Seen::Throttled(16)
    );
    server.clock.advance_secs(899);
    assert_eq!(
        password(&server, ip, "ada", PASSWORD, None).await.0,
        Seen::Throttled(1)
    );
    server.clock.advance_secs(1);
    assert_eq!(
        password(&server, ip, "ada", PASSWORD, None).await.0,
        Seen::Verified
    );

    assert_eq!(audit_actions(&server, "user.sign_in.locked").await.len(), 1);
    let throttled = audit_actions(&server, "user.sign_in.throttled").await;
    assert_eq!(throttled.len(), 6 * 2 + 3);
    assert!(throttled.iter().all(|e| e.outcome == Outcome::Failure));
    let failures = audit_actions(&server, "user.password.verify").await;
    assert_eq!(
        failures
            .iter()
            .filter(|e| e.outcome == Outcome::Failure)
            .count(),
        10
    );
    for event in throttled.iter().chain(&failures) {
        assert!(!event.details.to_string().contains(WRONG));
        assert!(!event.details.to_string().contains(PASSWORD));
    }
}

async fn unknown_logins_are_throttled_exactly_like_known_ones(server: TestServer) {
    user(&server, "ada").await;
    let mut seen = Vec::new();
    for login in ["ada", "nobody"] {
        let mut answers = Vec::new();
        for _ in 0..5 {
            answers.push(password(&server, "192.0.2.10", login, WRONG, None).await.0);
        }
        seen.push(answers);
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(seen[0][4], Seen::Throttled(1));
}

async fn a_known_device_is_judged_only_on_its_own_counter(server: TestServer) {
    user(&server, "ada").await;
    let home = "192.0.2.10";
    let (seen, device) = password(&server, home, "ada", PASSWORD, None).await;
    assert_eq!(seen, Seen::Verified);
    let device = device.unwrap();
    // An attacker from many addresses drives the account-wide counter to a lockout.
    for n in 0..20 {
        let ip = format!("203.0.113.{n}");
        assert_eq!(
            password(&server, &ip, "ada", "guess", None).await.0,
            Seen::Refused
        );
        server.clock.advance_secs(61);
    }
    assert!(matches!(
        password(&server, "198.51.100.1", "ada", PASSWORD, None)
            .await
            .0,
        Seen::Throttled(_)
    ));
    // The owner's browser still signs in, from home or elsewhere, and keeps its cookie.
    let (seen, again) = password(&server, home, "ada", PASSWORD, Some(&device)).await;
    assert_eq!(seen, Seen::Verified);
    assert_eq!(again.unwrap().expose(), device.expose());
    let (seen, _) = password(&server, "198.51.100.2", "ada", PASSWORD, Some(&device)).await;
    assert_eq!(seen, Seen::Verified);
    // A device cookie known for another account, or made up, does not help.
    assert!(matches!(
        password(
            &server,
            home,
            "ada",
            PASSWORD,
            Some(&Secret::new("made-up"))
        )
        .await
        .0,
        Seen::Throttled(_)
    ));
    // The known device has its own limit: ten failures lock it.
    for _ in 0..3 {
        assert_eq!(
            password(&server, home, "ada", "typo", Some(&device))
                .await
                .0,
            Seen::Refused
        );
    }
    assert_eq!(
        password(&server, home, "ada", "typo", Some(&device))
            .await
            .0,
        Seen::Refused
    );
    assert_eq!(
        password(&server, home, "ada", PASSWORD, Some(&device))
            .await
            .0,
        Seen::Throttled(1)
    );
}

/// The second-factor code counts its failures with its own counters: a
/// locked second factor leaves password counters alone, and the reverse.
async fn second_factor_counters_are_separate_and_expire(server: TestServer) {
    let id = user(&server, "ada").await;
    let throttle = &server.services.throttle;
    let ctx = from("192.0.2.10");
    let subject = Subject::User(id);
    let attempt = throttle
        .attempt(
            &ctx,
            Proof::SecondFactor,
            &subject,
            OrgId::DEFAULT,
            Some(id),
            None,
        )
        .await
        .unwrap();
    let rng = SystemRng::new();
    let failure = |clock: &dyn Clock| AuditEvent {
        id: AuditEventId::generate(clock, &rng),
        at: clock.now_millis(),
        actor: format!("user:{id}"),
        action: "user.otp.verify".into(),
        target_type: "user".into(),
        target_id: Some(id.to_string()),
        org_id: Some(OrgId::DEFAULT),
        outcome: Outcome::Failure,
        ip: ctx.ip.clone(),
        user_agent: None,
        request_id: None,
        details: json!({}),
    };
    for n in 1..=10 {
        assert_eq!(
            throttle.check(&ctx, &attempt).await.unwrap(),
            Admission::Allowed
        );
        throttle
            .failed(&ctx, &attempt, &failure(&server.clock))
            .await
            .unwrap();
        if n < 10 {
            server.clock.advance_secs(60);
        }
    }
    assert_eq!(
        throttle.check(&ctx, &attempt).await.unwrap(),
        Admission::Throttled {
            retry_after_secs: 900
        }
    );
    let locked = audit_actions(&server, "user.sign_in.locked").await;
    assert_eq!(locked.len(), 1);
    assert_eq!(locked[0].details["factor"], "second_factor");
    // The password still works from the same place: its counters are untouched.
    assert_eq!(
        password(&server, "192.0.2.10", "ada", PASSWORD, None)
            .await
            .0,
        Seen::Verified
    );
    server.clock.advance_secs(900);
    assert_eq!(
        throttle.check(&ctx, &attempt).await.unwrap(),
        Admission::Allowed
    );

    // The administrator sees and clears the second-factor counter.
    let who = server
        .services
        .admin_auth
        .authenticate(gatehouse_testkit::BOOTSTRAP_TOKEN)
        .await
        .unwrap();
    let lockout = throttle.lockout(&who, id).await.unwrap();
    assert!(
        lockout
            .counters
            .iter()
            .any(|c| c.factor == Proof::SecondFactor)
    );
    throttle
        .clear_lockout(&who, &RequestContext::default(), id)
        .await
        .unwrap();
    assert!(
        throttle
            .lockout(&who, id)
            .await
            .unwrap()
            .counters
            .is_empty()
    );
}

macro_rules! on_both_engines {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(gatehouse_testkit::TestServer::start().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    let Some(server) = gatehouse_testkit::TestServer::start_postgres().await else {
                        return;
                    };
                    super::$case(server).await;
                }
            )*
        }
    };
}

on_both_engines!(
    backs_off_then_locks_and_the_lock_expires,
    unknown_logins_are_throttled_exactly_like_known_ones,
    a_known_device_is_judged_only_on_its_own_counter,
    second_factor_counters_are_separate_and_expire,
);
