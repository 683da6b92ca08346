//! Conformance cases for second factors and the half-signed-in state: every
//! code is accepted once (compare-and-set), also when several submissions
//! race; a challenge completes once; a reset removes everything; policies
//! round-trip.

use std::sync::Arc;

use gatehouse_core::ids::FactorId;
use gatehouse_core::model::{
    Factor, FactorKind, FactorStatus, MfaChallenge, PolicyScope, SecondFactorRule, SignOnPolicy,
};
use gatehouse_core::secret::TokenHash;
use gatehouse_core::store::Store;

use super::audit_count;
use super::sessions_grants::{V7, signed_in};
use super::support::Fx;

fn totp(fx: &Fx, user: &gatehouse_core::ids::UserId, org: gatehouse_core::ids::OrgId) -> Factor {
    let now = fx.now();
    Factor {
        id: FactorId(uuid::Uuid::now_v7_from(now)),
        user_id: *user,
        org_id: org,
        kind: FactorKind::Totp,
        status: FactorStatus::Pending,
        sealed_secret: Some("sealed".into()),
        last_step: None,
        created_at: now,
        activated_at: None,
        last_used_at: None,
        detail: None,
        hint: None,
        answer_hash: None,
    }
}

pub async fn factor_totp_step_is_compare_and_set(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let (org, user, _, _) = signed_in(&*store, &fx).await;
    let factor = totp(&fx, &user, org);
    store
        .create_factor(&factor, &fx.audit("factor.enrolled", "f"))
        .await
        .unwrap();
    assert_eq!(store.get_factor(factor.id).await.unwrap().unwrap(), factor);
    let now = fx.now();
    // A pending factor is not usable for sign-in, only activation.
    assert!(
        !store
            .accept_totp_step(factor.id, 100, now, false, &fx.audit("factor.used", "f"))
            .await
            .unwrap()
    );
    assert!(
        store
            .accept_totp_step(
                factor.id,
                100,
                now,
                true,
                &fx.audit("factor.activated", "f1")
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .accept_totp_step(
                factor.id,
                101,
                now,
                true,
                &fx.audit("factor.activated", "f2")
            )
            .await
            .unwrap(),
        "already active"
    );
    let active = store.get_factor(factor.id).await.unwrap().unwrap();
    assert_eq!(active.status, FactorStatus::Active);
    assert_eq!(active.last_step, Some(100));
    assert_eq!(active.activated_at, Some(now));
    // The same or an older step is refused; a newer one accepted.
    for (step, accepted) in [(100, false), (99, false), (101, true), (101, false)] {
        let audit = fx.audit("factor.used", &format!("step{step}{accepted}"));
        assert_eq!(
            store
                .accept_totp_step(factor.id, step, now, false, &audit)
                .await
                .unwrap(),
            accepted,
            "step {step}"
        );
        assert_eq!(
            audit_count(&*store, &format!("step{step}{accepted}")).await,
            usize::from(accepted)
        );
    }
    assert_eq!(store.list_factors(user).await.unwrap().len(), 1);
    assert!(
        store
            .delete_factor(factor.id, &fx.audit("factor.deleted", "d"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_factor(factor.id, &fx.audit("factor.deleted", "d2"))
            .await
            .unwrap()
    );
    assert_eq!(audit_count(&*store, "d2").await, 0);
}

pub async fn factor_concurrent_codes_exactly_one_wins(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let (org, user, _, _) = signed_in(&*store, &fx).await;
    let factor = totp(&fx, &user, org);
    store
        .create_factor(&factor, &fx.audit("factor.enrolled", "f"))
        .await
        .unwrap();
    let now = fx.now();
    assert!(
        store
            .accept_totp_step(factor.id, 10, now, true, &fx.audit("factor.activated", "a"))
            .await
            .unwrap()
    );
    let attempts = (0..4).map(|_| {
        let store = store.clone();
        let audit = fx.audit("factor.used", "race");
        tokio::spawn(async move {
            store
                .accept_totp_step(factor.id, 11, now, false, &audit)
                .await
                .unwrap()
        })
    });
    let mut accepted = 0;
    for attempt in attempts {
        accepted += usize::from(attempt.await.unwrap());
    }
    assert_eq!(accepted, 1);
    assert_eq!(audit_count(&*store, "race").await, 1);

    // Recovery codes likewise.
    let hashes: Vec<TokenHash> = (0..10)
        .map(|i| TokenHash::of(&format!("code-{i}")))
        .collect();
    store
        .replace_recovery_codes(
            user,
            &hashes,
            now,
            &fx.audit("recovery_codes.generated", "r"),
        )
        .await
        .unwrap();
    assert_eq!(store.unused_recovery_codes(user).await.unwrap(), 10);
    let attempts = (0..4).map(|_| {
        let store = store.clone();
        let hash = hashes[2].clone();
        let audit = fx.audit("recovery_code.used", "raced-code");
        tokio::spawn(async move {
            store
                .use_recovery_code(user, &hash, now, &audit)
                .await
                .unwrap()
        })
    });
    let mut used = 0;
    for attempt in attempts {
        used += usize::from(attempt.await.unwrap());
    }
    assert_eq!(used, 1);
    assert_eq!(audit_count(&*store, "raced-code").await, 1);
    assert_eq!(store.unused_recovery_codes(user).await.unwrap(), 9);
    assert!(
        !store
            .use_recovery_code(
                user,
                &TokenHash::of("nope"),
                now,
                &fx.audit("recovery_code.used", "x")
            )
            .await
            .unwrap()
    );

    // A new generation replaces the old codes; a reset removes everything.
    store
        .replace_recovery_codes(
            user,
            &hashes[..3],
            now,
            &fx.audit("recovery_codes.generated", "r2"),
        )
        .await
        .unwrap();
    assert_eq!(store.unused_recovery_codes(user).await.unwrap(), 3);
    let device = TokenHash::of("device");
    store
        .trust_device(
            &device,
            user,
            now,
            now + 1000,
            &fx.audit("device.remembered", "dev"),
        )
        .await
        .unwrap();
    assert!(store.is_device_trusted(&device, user, now).await.unwrap());
    assert!(
        !store
            .is_device_trusted(&device, user, now + 1000)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .reset_factors(user, &fx.audit("factors.reset", "reset"))
            .await
            .unwrap(),
        4
    );
    assert_eq!(audit_count(&*store, "reset").await, 1);
    assert!(store.list_factors(user).await.unwrap().is_empty());
    assert_eq!(store.unused_recovery_codes(user).await.unwrap(), 0);
    assert!(!store.is_device_trusted(&device, user, now).await.unwrap());
}

pub async fn mfa_challenge_completes_once_and_expires(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let (org, user, session, _) = signed_in(&*store, &fx).await;
    let now = fx.now();
    let challenge = MfaChallenge {
        handle_hash: TokenHash::of("handle"),
        user_id: user,
        org_id: org,
        session_id: Some(session.id),
        amr: vec!["pwd".into()],
        allowed: vec![FactorKind::Totp, FactorKind::Email],
        enrol_factor_id: None,
        remember_days: 7,
        email_code_hash: None,
        email_expires_at: None,
        attempts: 0,
        created_at: now,
        expires_at: now + 300_000,
        completed_at: None,
    };
    store.put_mfa_challenge(&challenge).await.unwrap();
    let hash = TokenHash::of("handle");
    assert_eq!(
        store.get_mfa_challenge(&hash, now).await.unwrap().unwrap(),
        challenge
    );
    assert!(
        store
            .get_mfa_challenge(&hash, now + 300_000)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .fail_mfa_challenge(&hash, &fx.audit("mfa.failed", "f1"))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .fail_mfa_challenge(&hash, &fx.audit("mfa.failed", "f2"))
            .await
            .unwrap(),
        2
    );
    assert_eq!(audit_count(&*store, "f2").await, 1);

    // The e-mailed code is spent once, and not after it expired.
    let code = TokenHash::of("123456");
    assert!(
        store
            .set_mfa_email_code(&hash, &code, now + 1000)
            .await
            .unwrap()
    );
    assert!(
        !store
            .use_mfa_email_code(&hash, &TokenHash::of("654321"), now)
            .await
            .unwrap()
    );
    assert!(
        !store
            .use_mfa_email_code(&hash, &code, now + 1000)
            .await
            .unwrap()
    );
    let attempts = (0..4).map(|_| {
        let store = store.clone();
        let (hash, code) = (hash.clone(), code.clone());
        tokio::spawn(async move { store.use_mfa_email_code(&hash, &code, now).await.unwrap() })
    });
    let mut used = 0;
    for attempt in attempts {
        used += usize::from(attempt.await.unwrap());
    }
    assert_eq!(used, 1);

    // Step-up raises the session; completion happens once.
    let amr = vec!["pwd".to_owned(), "otp".to_owned()];
    assert!(
        store
            .elevate_session(
                session.id,
                &amr,
                "2",
                now + 5,
                &fx.audit("session.stepped_up", "up")
            )
            .await
            .unwrap()
    );
    let raised = store.get_session(session.id).await.unwrap().unwrap();
    assert_eq!(
        (raised.amr, raised.acr, raised.auth_time),
        (amr, Some("2".to_owned()), now + 5)
    );
    let attempts = (0..4).map(|_| {
        let store = store.clone();
        let hash = hash.clone();
        tokio::spawn(async move { store.complete_mfa_challenge(&hash, now).await.unwrap() })
    });
    let mut completed = 0;
    for attempt in attempts {
        completed += usize::from(attempt.await.unwrap());
    }
    assert_eq!(completed, 1);
    assert!(store.get_mfa_challenge(&hash, now).await.unwrap().is_none());
    assert_eq!(
        store.purge_expired_sign_ons(now + 300_000).await.unwrap(),
        1
    );
}

pub async fn signon_policy_round_trips(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let (org, _, _, _) = signed_in(&*store, &fx).await;
    let scope = PolicyScope::Org(org);
    assert!(store.get_signon_policy(&scope).await.unwrap().is_none());
    let mut policy = SignOnPolicy {
        second_factor: SecondFactorRule::OutsideZones,
        network_zones: vec!["10.0.0.0/8".into()],
        allowed_factors: vec![FactorKind::Totp],
        remember_device_days: 30,
        ..SignOnPolicy::default()
    };
    store
        .put_signon_policy(
            &scope,
            org,
            &policy,
            fx.now(),
            &fx.audit("signon_policy.updated", "p1"),
        )
        .await
        .unwrap();
    assert_eq!(
        store.get_signon_policy(&scope).await.unwrap(),
        Some(policy.clone())
    );
    policy.second_factor = SecondFactorRule::Always;
    store
        .put_signon_policy(
            &scope,
            org,
            &policy,
            fx.now(),
            &fx.audit("signon_policy.updated", "p2"),
        )
        .await
        .unwrap();
    assert_eq!(store.get_signon_policy(&scope).await.unwrap(), Some(policy));
    // A client's policy goes with the client.
    let client = PolicyScope::Client("rp".into());
    assert!(store.get_signon_policy(&client).await.unwrap().is_none());
    store
        .create_client(
            &super::client(&fx, org, "rp"),
            &fx.audit("client.created", "rp"),
        )
        .await
        .unwrap();
    store
        .put_signon_policy(
            &client,
            org,
            &SignOnPolicy::default(),
            fx.now(),
            &fx.audit("signon_policy.updated", "c1"),
        )
        .await
        .unwrap();
    assert!(store.get_signon_policy(&client).await.unwrap().is_some());
    assert!(
        store
            .delete_client("rp", &fx.audit("client.deleted", "rp-gone"))
            .await
            .unwrap()
    );
    assert!(store.get_signon_policy(&client).await.unwrap().is_none());
    assert!(
        store
            .delete_signon_policy(&scope, &fx.audit("signon_policy.deleted", "p3"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_signon_policy(&scope, &fx.audit("signon_policy.deleted", "p4"))
            .await
            .unwrap()
    );
    assert_eq!(audit_count(&*store, "p4").await, 0);
}

fn phone(fx: &Fx, user: &gatehouse_core::ids::UserId, org: gatehouse_core::ids::OrgId) -> Factor {
    Factor {
        kind: FactorKind::Phone,
        sealed_secret: Some("sealed-number".into()),
        detail: Some("sms".into()),
        hint: Some("+•••••••1234".into()),
        ..totp(fx, user, org)
    }
}

pub async fn factor_phone_code_is_spent_once(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let (org, user, _, _) = signed_in(&*store, &fx).await;
    let factor = phone(&fx, &user, org);
    store
        .create_factor(&factor, &fx.audit("factor.enrolled", "p"))
        .await
        .unwrap();
    assert_eq!(store.get_factor(factor.id).await.unwrap().unwrap(), factor);
    let now = fx.now();
    let code = TokenHash::of("123456");
    assert!(
        store
            .set_factor_code(factor.id, &code, now, now + 300_000, 30_000)
            .await
            .unwrap()
    );
    // A resend within 30 s is refused and keeps the first code.
    assert!(
        !store
            .set_factor_code(
                factor.id,
                &TokenHash::of("999999"),
                now + 29_999,
                now + 329_999,
                30_000
            )
            .await
            .unwrap()
    );
    // A pending factor's code only activates it.
    assert!(
        !store
            .use_factor_code(factor.id, &code, now, false, &fx.audit("factor.used", "p0"))
            .await
            .unwrap()
    );
    assert!(
        store
            .use_factor_code(
                factor.id,
                &code,
                now,
                true,
                &fx.audit("factor.activated", "p1")
            )
            .await
            .unwrap()
    );
    let active = store.get_factor(factor.id).await.unwrap().unwrap();
    assert_eq!(active.status, FactorStatus::Active);
    assert_eq!(active.activated_at, Some(now));
    // Spent: the same code again changes nothing.
    assert!(
        !store
            .use_factor_code(factor.id, &code, now, false, &fx.audit("factor.used", "p2"))
            .await
            .unwrap()
    );
    assert_eq!(audit_count(&*store, "p2").await, 0);

    // A new code after 30 s; concurrent submissions: exactly one wins.
    let later = now + 30_000;
    let code = TokenHash::of("654321");
    assert!(
        store
            .set_factor_code(factor.id, &code, later, later + 300_000, 30_000)
            .await
            .unwrap()
    );
    let attempts = (0..4).map(|_| {
        let store = store.clone();
        let code = code.clone();
        let audit = fx.audit("factor.used", "phone-race");
        tokio::spawn(async move {
            store
                .use_factor_code(factor.id, &code, later, false, &audit)
                .await
                .unwrap()
        })
    });
    let mut accepted = 0;
    for attempt in attempts {
        accepted += usize::from(attempt.await.unwrap());
    }
    assert_eq!(accepted, 1);
    assert_eq!(audit_count(&*store, "phone-race").await, 1);
    assert_eq!(
        store
            .get_factor(factor.id)
            .await
            .unwrap()
            .unwrap()
            .last_used_at,
        Some(later)
    );

    // Expired codes and codes with too many wrong tries are refused.
    let t = later + 60_000;
    let code = TokenHash::of("111111");
    assert!(
        store
            .set_factor_code(factor.id, &code, t, t + 300_000, 30_000)
            .await
            .unwrap()
    );
    assert!(
        !store
            .use_factor_code(
                factor.id,
                &code,
                t + 300_000,
                false,
                &fx.audit("factor.used", "x")
            )
            .await
            .unwrap()
    );
    for n in 1..=5 {
        assert_eq!(store.fail_factor_code(factor.id).await.unwrap(), n);
    }
    assert!(
        !store
            .use_factor_code(
                factor.id,
                &code,
                t + 1,
                false,
                &fx.audit("factor.used", "x")
            )
            .await
            .unwrap()
    );
    // A fresh code resets the count.
    let t = t + 30_000;
    assert!(
        store
            .set_factor_code(factor.id, &code, t, t + 300_000, 30_000)
            .await
            .unwrap()
    );
    assert!(
        store
            .use_factor_code(
                factor.id,
                &code,
                t + 1,
                false,
                &fx.audit("factor.used", "x")
            )
            .await
            .unwrap()
    );
    // No code: nothing to count.
    assert_eq!(store.fail_factor_code(factor.id).await.unwrap(), 0);
}

pub async fn factor_question_is_replaced_whole(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let (org, user, _, _) = signed_in(&*store, &fx).await;
    let now = fx.now();
    let question = |id: FactorId, q: &str| Factor {
        id,
        kind: FactorKind::Question,
        status: FactorStatus::Active,
        sealed_secret: None,
        detail: Some(q.into()),
        answer_hash: Some("$argon2id$v=19$m=256,t=1,p=1$c2FsdA$aGFzaA".into()),
        activated_at: Some(now),
        ..totp(&fx, &user, org)
    };
    let first = question(FactorId(uuid::Uuid::now_v7_from(now)), "first_pet");
    assert!(
        store
            .replace_question(&first, &fx.audit("factor.enrolled", "q1"))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.get_factor(first.id).await.unwrap().unwrap(), first);
    let keep = totp(&fx, &user, org);
    store
        .create_factor(&keep, &fx.audit("factor.enrolled", "t"))
        .await
        .unwrap();
    let second = question(FactorId(uuid::Uuid::now_v7_from(now + 1)), "birth_city");
    assert_eq!(
        store
            .replace_question(&second, &fx.audit("factor.enrolled", "q2"))
            .await
            .unwrap(),
        vec![first.id]
    );
    let kinds: Vec<_> = store
        .list_factors(user)
        .await
        .unwrap()
        .into_iter()
        .map(|f| (f.id, f.kind))
        .collect();
    assert_eq!(kinds.len(), 2);
    assert!(kinds.contains(&(second.id, FactorKind::Question)));
    assert!(kinds.contains(&(keep.id, FactorKind::Totp)));
    assert_eq!(audit_count(&*store, "q2").await, 1);
    // Marking it used.
    assert!(
        store
            .touch_factor(second.id, now + 5, &fx.audit("factor.used", "q3"))
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .get_factor(second.id)
            .await
            .unwrap()
            .unwrap()
            .last_used_at,
        Some(now + 5)
    );
    // A pending factor is not marked used.
    assert!(
        !store
            .touch_factor(keep.id, now + 5, &fx.audit("factor.used", "q4"))
            .await
            .unwrap()
    );
    assert_eq!(audit_count(&*store, "q4").await, 0);
    // A missing user.
    let mut orphan = question(FactorId(uuid::Uuid::now_v7_from(now + 2)), "x");
    orphan.user_id = gatehouse_core::ids::UserId(uuid::Uuid::now_v7_from(now + 3));
    assert!(matches!(
        store
            .replace_question(&orphan, &fx.audit("factor.enrolled", "q5"))
            .await,
        Err(gatehouse_core::StoreError::Missing(_))
    ));
}
