//! Conformance cases for sign-in throttling: failures are counted exactly
//! (also concurrently), the policy's block is raised in the same transaction,
//! a lockout is audited once when it begins, a success resets what it names
//! and remembers the device, and administrators find and clear an account's
//! counters by subject.

use std::sync::Arc;

use gatehouse_core::model::{
    AuditQuery, CounterKey, KnownDevice, Proof, Scope, Subject, ThrottlePolicy,
};
use gatehouse_core::secret::TokenHash;
use gatehouse_core::store::Store;

use super::support::Fx;

const SECOND: i64 = 1000;

async fn events(store: &dyn Store, action: &str) -> Vec<gatehouse_core::model::AuditEvent> {
    let query = AuditQuery {
        action: Some(action.to_owned()),
        limit: 1000,
        ..AuditQuery::default()
    };
    store.list_audit(&query).await.unwrap().items
}

fn account(login: &str) -> CounterKey {
    let subject = Subject::login(gatehouse_core::ids::OrgId::DEFAULT, login);
    CounterKey::new(
        Proof::Password,
        Scope::AccountIp,
        Some(&subject),
        "192.0.2.1",
    )
}

pub(crate) async fn sign_in_failures_back_off_lock_and_restart_after_the_window(
    store: Arc<dyn Store>,
) {
    let fx = Fx::new();
    let policy = ThrottlePolicy::default();
    let key = account("ada");
    let t0 = 1_800_000_000_000;
    let mut last = None;
    for n in 1..=10 {
        let now = t0 + n * SECOND;
        let states = store
            .count_sign_in_failure(
                std::slice::from_ref(&key),
                &policy,
                now,
                &fx.audit("user.password.verify", "ada"),
                &fx.audit("user.sign_in.locked", "ada"),
            )
            .await
            .unwrap();
        assert_eq!(states.len(), 1);
        assert_eq!(states[0].failures, n);
        let expected = policy
            .account_ip
            .blocked_until(n, now)
            .map_or(0, |(until, _)| until);
        assert_eq!(states[0].blocked_until, expected, "failure {n}");
        last = Some(states[0].clone());
    }
    assert_eq!(
        events(store.as_ref(), "user.password.verify").await.len(),
        10
    );
    let locked = events(store.as_ref(), "user.sign_in.locked").await;
    assert_eq!(locked.len(), 1, "the lockout is audited when it begins");
    assert_eq!(locked[0].details["locked"][0]["scope"], "account_ip");
    assert_eq!(locked[0].details["locked"][0]["failures"], 10);

    let stored = store
        .sign_in_counters(&[key.key.clone(), "absent".into()])
        .await
        .unwrap();
    assert_eq!(stored, vec![last.unwrap()]);

    // An eleventh failure extends the lockout without a second lockout event.
    let now = t0 + 20 * SECOND;
    let states = store
        .count_sign_in_failure(
            std::slice::from_ref(&key),
            &policy,
            now,
            &fx.audit("user.password.verify", "ada"),
            &fx.audit("user.sign_in.locked", "ada"),
        )
        .await
        .unwrap();
    assert_eq!(states[0].failures, 11);
    assert_eq!(states[0].blocked_until, now + policy.account_ip.lockout_ms);
    assert_eq!(events(store.as_ref(), "user.sign_in.locked").await.len(), 1);

    // A failure a whole window after the last one counts from 1 again; the
    // (long expired) block is not lowered.
    let later = now + policy.window_ms + 1;
    let states = store
        .count_sign_in_failure(
            std::slice::from_ref(&key),
            &policy,
            later,
            &fx.audit("user.password.verify", "ada"),
            &fx.audit("user.sign_in.locked", "ada"),
        )
        .await
        .unwrap();
    assert_eq!(states[0].failures, 1);
    assert_eq!(states[0].blocked_until, now + policy.account_ip.lockout_ms);
}

pub(crate) async fn sign_in_concurrent_failures_are_all_counted(store: Arc<dyn Store>) {
    let fx = Arc::new(Fx::new());
    let policy = Arc::new(ThrottlePolicy::default());
    let keys = Arc::new(vec![
        account("ada"),
        CounterKey::new(Proof::Password, Scope::Ip, None, "192.0.2.1"),
    ]);
    let now = 1_800_000_000_000;
    let mut tasks = Vec::new();
    for _ in 0..24 {
        let (store, fx, policy, keys) = (store.clone(), fx.clone(), policy.clone(), keys.clone());
        tasks.push(tokio::spawn(async move {
            store
                .count_sign_in_failure(
                    &keys,
                    &policy,
                    now,
                    &fx.audit("user.password.verify", "ada"),
                    &fx.audit("user.sign_in.locked", "ada"),
                )
                .await
                .unwrap()
        }));
    }
    let mut seen = Vec::new();
    for task in tasks {
        seen.push(task.await.unwrap()[0].failures);
    }
    seen.sort_unstable();
    assert_eq!(
        seen,
        (1..=24).collect::<Vec<_>>(),
        "each failure saw its own count"
    );
    let stored = store
        .sign_in_counters(&keys.iter().map(|k| k.key.clone()).collect::<Vec<_>>())
        .await
        .unwrap();
    assert!(stored.iter().all(|s| s.failures == 24), "{stored:?}");
    assert_eq!(
        events(store.as_ref(), "user.password.verify").await.len(),
        24
    );
    // The account-and-IP counter reached its threshold exactly once.
    assert_eq!(events(store.as_ref(), "user.sign_in.locked").await.len(), 1);
}

pub(crate) async fn sign_in_success_resets_remembers_the_device_and_admin_clears(
    store: Arc<dyn Store>,
) {
    let fx = Fx::new();
    let org = fx.seed_org(store.as_ref(), "acme").await;
    let user = fx.user(org, "ada", Some("ada@example.com"));
    store
        .create_user(&user, None, &fx.audit("user.create", "ada"))
        .await
        .unwrap();
    let policy = ThrottlePolicy::default();
    let by_name = Subject::login(org, "ADA");
    let by_mail = Subject::login(org, "ada@example.com");
    let account = CounterKey::new(Proof::Password, Scope::Account, Some(&by_name), "");
    let account_ip = CounterKey::new(Proof::Password, Scope::AccountIp, Some(&by_mail), "ip");
    let second = CounterKey::new(
        Proof::SecondFactor,
        Scope::Account,
        Some(&Subject::User(user.id)),
        "",
    );
    let other = CounterKey::new(
        Proof::Password,
        Scope::Account,
        Some(&Subject::login(org, "bob")),
        "",
    );
    let now = 1_800_000_000_000;
    for key in [&account, &account_ip, &second, &other] {
        store
            .count_sign_in_failure(
                std::slice::from_ref(key),
                &policy,
                now,
                &fx.audit("user.password.verify", "x"),
                &fx.audit("user.sign_in.locked", "x"),
            )
            .await
            .unwrap();
    }

    // A success deletes what it names and remembers the device.
    let device = TokenHash::of("device-cookie");
    assert!(!store.is_known_device(&device, user.id, now).await.unwrap());
    store
        .record_sign_in(
            std::slice::from_ref(&account_ip.key),
            Some(&KnownDevice {
                token_hash: device.clone(),
                user_id: user.id,
                last_used_at: now,
                expires_at: now + 1000,
            }),
            &fx.audit("user.password.verify", "ada"),
        )
        .await
        .unwrap();
    assert!(store.is_known_device(&device, user.id, now).await.unwrap());
    assert!(
        !store
            .is_known_device(&device, user.id, now + 1000)
            .await
            .unwrap()
    );
    let stranger = fx.user(org, "eve", None);
    assert!(
        !store
            .is_known_device(&device, stranger.id, now)
            .await
            .unwrap()
    );
    assert!(
        store
            .sign_in_counters(std::slice::from_ref(&account_ip.key))
            .await
            .unwrap()
            .is_empty()
    );
    // Remembering again extends it.
    store
        .record_sign_in(
            &[],
            Some(&KnownDevice {
                token_hash: device.clone(),
                user_id: user.id,
                last_used_at: now + 500,
                expires_at: now + 5000,
            }),
            &fx.audit("user.password.verify", "ada"),
        )
        .await
        .unwrap();
    assert!(
        store
            .is_known_device(&device, user.id, now + 1000)
            .await
            .unwrap()
    );

    // The account's subjects find its counters, whatever the factor.
    let subjects = vec![
        by_name.hash(),
        by_mail.hash(),
        Subject::User(user.id).hash(),
    ];
    let mut found: Vec<String> = store
        .sign_in_counters_of(&subjects)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.key)
        .collect();
    found.sort();
    let mut expected = vec![account.key.clone(), second.key.clone()];
    expected.sort();
    assert_eq!(found, expected);

    let cleared = store
        .clear_sign_in_counters(&subjects, &fx.audit("user.lockout.clear", "ada"))
        .await
        .unwrap();
    assert_eq!(cleared, 2);
    assert!(
        store
            .sign_in_counters_of(&subjects)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .sign_in_counters(std::slice::from_ref(&other.key))
            .await
            .unwrap()
            .len(),
        1
    );
    // Nothing left to clear: nothing written.
    let again = store
        .clear_sign_in_counters(&subjects, &fx.audit("user.lockout.clear", "ada"))
        .await
        .unwrap();
    assert_eq!(again, 0);
    assert_eq!(events(store.as_ref(), "user.lockout.clear").await.len(), 1);

    // Deleting the user forgets its devices.
    store
        .delete_user(user.id, &fx.audit("user.delete", "ada"))
        .await
        .unwrap();
    assert!(!store.is_known_device(&device, user.id, now).await.unwrap());
}

pub(crate) async fn sign_in_purge_removes_only_idle_counters_and_old_devices(
    store: Arc<dyn Store>,
) {
    let fx = Fx::new();
    let org = fx.seed_org(store.as_ref(), "acme").await;
    let user = fx.user(org, "ada", None);
    store
        .create_user(&user, None, &fx.audit("user.create", "ada"))
        .await
        .unwrap();
    let policy = ThrottlePolicy::default();
    let now = 1_800_000_000_000;
    let early = account("early");
    let late = account("late");
    for (key, at) in [(&early, now), (&late, now + 10 * SECOND)] {
        store
            .count_sign_in_failure(
                std::slice::from_ref(key),
                &policy,
                at,
                &fx.audit("user.password.verify", "x"),
                &fx.audit("user.sign_in.locked", "x"),
            )
            .await
            .unwrap();
    }
    store
        .record_sign_in(
            &[],
            Some(&KnownDevice {
                token_hash: TokenHash::of("d"),
                user_id: user.id,
                last_used_at: now,
                expires_at: now + policy.window_ms + SECOND,
            }),
            &fx.audit("user.password.verify", "ada"),
        )
        .await
        .unwrap();
    let purged = store
        .purge_sign_in_throttle(now + policy.window_ms)
        .await
        .unwrap();
    assert_eq!(purged, 1);
    let left = store
        .sign_in_counters(&[early.key.clone(), late.key.clone()])
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].key, late.key);
    let purged = store
        .purge_sign_in_throttle(now + policy.window_ms + 10 * SECOND)
        .await
        .unwrap();
    assert_eq!(purged, 2, "the late counter and the device");
}
