//! Conformance cases for browser sessions and OAuth grants: single use under
//! concurrency, reuse detection that revokes the family, expiry, consent.

use std::sync::Arc;

use gatehouse_core::clock::{Millis, Rng, SystemRng};
use gatehouse_core::ids::{GrantId, OrgId, SessionId, UserId};
use gatehouse_core::model::{
    AuthorizationCode, CodeRedemption, Consent, Grant, PendingAuthorization, RefreshRotation,
    RefreshToken, SsoSession,
};
use gatehouse_core::secret::TokenHash;
use gatehouse_core::store::Store;

use super::support::Fx;

/// A user in a fresh org, with a session.
pub(crate) async fn signed_in(store: &dyn Store, fx: &Fx) -> (OrgId, UserId, SsoSession, String) {
    let org = fx.seed_org(store, "acme").await;
    let user = fx.user(org, "ada", Some("ada@example.com"));
    store
        .create_user(&user, None, &fx.audit("user.create", "ada"))
        .await
        .unwrap();
    let secret = SystemRng::new().token(32);
    let now = fx.now();
    let session = SsoSession {
        id: SessionId(uuid::Uuid::now_v7_from(now)),
        secret_hash: TokenHash::of(&secret),
        org_id: org,
        user_id: user.id,
        auth_time: now,
        amr: vec!["pwd".into()],
        acr: None,
        created_at: now,
        last_seen_at: now,
        expires_at: now + 3_600_000,
        revoked_at: None,
        ip: Some("192.0.2.1".into()),
        user_agent: Some("test".into()),
        idle_secs: None,
        remembered_device: false,
    };
    store
        .create_session(&session, &fx.audit("session.started", "s"))
        .await
        .unwrap();
    (org, user.id, session, secret)
}

fn grant(fx: &Fx, org: OrgId, user: UserId, session: Option<SessionId>, scope: &str) -> Grant {
    let now = fx.now();
    Grant {
        id: GrantId(uuid::Uuid::now_v7_from(now)),
        client_id: "app".into(),
        org_id: org,
        user_id: user,
        session_id: session,
        scope: scope.into(),
        resources: vec!["https://api.example.com".into()],
        claims: Some(serde_json::json!({"userinfo": {"email": null}})),
        auth_time: now,
        acr: Some("urn:gatehouse:pwd".into()),
        amr: vec!["pwd".into()],
        created_at: now,
        expires_at: now + 86_400_000,
        revoked_at: None,
    }
}

fn code(grant: &Grant, secret: &str, now: Millis, ttl: Millis) -> AuthorizationCode {
    AuthorizationCode {
        code_hash: TokenHash::of(secret),
        grant_id: grant.id,
        redirect_uri: "https://app.example.com/cb".into(),
        redirect_given: true,
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
        nonce: Some("n-0S6_WzA2Mj".into()),
        created_at: now,
        expires_at: now + ttl,
        used_at: None,
    }
}

fn refresh(grant: &Grant, secret: &str, now: Millis) -> RefreshToken {
    RefreshToken {
        token_hash: TokenHash::of(secret),
        grant_id: grant.id,
        created_at: now,
        expires_at: now + 3_600_000,
        used_at: None,
    }
}

pub(crate) trait V7 {
    fn now_v7_from(millis: Millis) -> uuid::Uuid;
}

impl V7 for uuid::Uuid {
    /// A v7 id at `millis` with random bits (tests only; services use the clock).
    fn now_v7_from(millis: Millis) -> uuid::Uuid {
        let mut random = [0u8; 10];
        SystemRng::new().fill(&mut random);
        uuid::Builder::from_unix_timestamp_millis(u64::try_from(millis).unwrap(), &random)
            .into_uuid()
    }
}

/// A session keeps its own idle timeout (from the org's sign-on policy) and
/// whether a remembered device stood in for its second factor; a session
/// without an idle timeout reads back as `None` (the server's).
pub async fn session_idle_timeout_and_remembered_device_round_trip(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let (org, user, plain, _) = signed_in(&*store, &fx).await;
    assert_eq!(plain.idle_secs, None);
    assert!(!plain.remembered_device);
    assert_eq!(
        store.get_session(plain.id).await.unwrap(),
        Some(plain.clone())
    );

    let now = fx.now();
    let secret = SystemRng::new().token(32);
    let session = SsoSession {
        id: SessionId(uuid::Uuid::now_v7_from(now)),
        secret_hash: TokenHash::of(&secret),
        org_id: org,
        user_id: user,
        auth_time: now,
        amr: vec!["pwd".into()],
        acr: Some("1".into()),
        created_at: now,
        last_seen_at: now,
        expires_at: now + 3_600_000,
        revoked_at: None,
        ip: None,
        user_agent: None,
        idle_secs: Some(300),
        remembered_device: true,
    };
    store
        .create_session(&session, &fx.audit("session.started", "s2"))
        .await
        .unwrap();
    let read = store
        .find_session(&TokenHash::of(&secret))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read, session);
    // Its own idle timeout governs, not the server's 30 minutes.
    assert!(read.is_active(now + 299_000, 1_800_000));
    assert!(!read.is_active(now + 300_000, 1_800_000));
    assert!(plain.is_active(plain.last_seen_at + 300_000, 1_800_000));
    let listed = store.list_sessions(user, now).await.unwrap();
    assert!(listed.iter().any(|s| s == &session), "{listed:?}");
}

pub async fn session_find_touch_list_and_revoke(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let (org, user, session, secret) = signed_in(&*store, &fx).await;
    assert_eq!(
        store.find_session(&TokenHash::of(&secret)).await.unwrap(),
        Some(session.clone())
    );
    assert_eq!(
        store.find_session(&TokenHash::of("nope")).await.unwrap(),
        None
    );

    let later = session.last_seen_at + 90_000;
    store.touch_session(session.id, later).await.unwrap();
    // Touching never moves activity backwards.
    store.touch_session(session.id, later - 1).await.unwrap();
    let touched = store.get_session(session.id).await.unwrap().unwrap();
    assert_eq!(touched.last_seen_at, later);

    let listed = store.list_sessions(user, later).await.unwrap();
    assert_eq!(
        listed.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![session.id]
    );
    assert!(
        store
            .list_sessions(user, session.expires_at)
            .await
            .unwrap()
            .is_empty()
    );

    // Revoking the session ends its online grants, not its offline ones.
    let online = grant(&fx, org, user, Some(session.id), "openid profile");
    let offline = grant(&fx, org, user, Some(session.id), "openid offline_access");
    let now = fx.now();
    for (g, secret) in [(&online, "c1"), (&offline, "c2")] {
        store
            .create_code_grant(
                g,
                &code(g, secret, now, 60_000),
                &fx.audit("oauth.code_issued", "g"),
            )
            .await
            .unwrap();
    }
    assert_eq!(
        store.session_clients(session.id).await.unwrap(),
        vec!["app".to_owned()]
    );
    assert!(
        store
            .revoke_session(session.id, now, &[], &fx.audit("session.revoked", "rs"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .revoke_session(session.id, now, &[], &fx.audit("session.revoked", "rs2"))
            .await
            .unwrap()
    );
    assert!(
        store
            .get_grant(online.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );
    assert!(
        store
            .get_grant(offline.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_none()
    );
    assert!(store.list_sessions(user, now).await.unwrap().is_empty());
    assert_eq!(super::audit_count(&*store, "rs").await, 1);
    assert_eq!(super::audit_count(&*store, "rs2").await, 0);
}

pub async fn code_is_redeemed_once_and_reuse_revokes_the_grant(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let (org, user, session, _) = signed_in(&*store, &fx).await;
    let g = grant(&fx, org, user, Some(session.id), "openid");
    let now = fx.now();
    let issued = code(&g, "the-code", now, 60_000);
    store
        .create_code_grant(&g, &issued, &fx.audit("oauth.code_issued", "g"))
        .await
        .unwrap();
    assert_eq!(store.get_grant(g.id).await.unwrap(), Some(g.clone()));

    let CodeRedemption::Redeemed(found) = store
        .redeem_code(
            &issued.code_hash,
            now + 1,
            &fx.audit("oauth.code_reused", "reuse"),
        )
        .await
        .unwrap()
    else {
        panic!("first use must redeem");
    };
    let (spent, found_grant) = *found;
    assert_eq!(spent.used_at, Some(now + 1));
    assert_eq!(found_grant, g);
    assert_eq!(
        store
            .redeem_code(
                &issued.code_hash,
                now + 2,
                &fx.audit("oauth.code_reused", "reuse")
            )
            .await
            .unwrap(),
        CodeRedemption::Reused(g.id)
    );
    assert_eq!(
        store.get_grant(g.id).await.unwrap().unwrap().revoked_at,
        Some(now + 2)
    );
    assert_eq!(super::audit_count(&*store, "reuse").await, 1);
    assert_eq!(
        store
            .redeem_code(&TokenHash::of("unknown"), now, &fx.audit("x", "y"))
            .await
            .unwrap(),
        CodeRedemption::Unknown
    );

    // An expired code is refused without revoking anything.
    let other = grant(&fx, org, user, Some(session.id), "openid");
    let expiring = code(&other, "old-code", now, 10);
    store
        .create_code_grant(&other, &expiring, &fx.audit("oauth.code_issued", "g2"))
        .await
        .unwrap();
    assert_eq!(
        store
            .redeem_code(&expiring.code_hash, now + 10, &fx.audit("x", "y"))
            .await
            .unwrap(),
        CodeRedemption::Unknown
    );
    assert!(
        store
            .get_grant(other.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_none()
    );
}

pub async fn code_concurrent_redemptions_exactly_one_wins(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let (org, user, session, _) = signed_in(&*store, &fx).await;
    let g = grant(&fx, org, user, Some(session.id), "openid");
    let now = fx.now();
    let issued = code(&g, "raced", now, 60_000);
    store
        .create_code_grant(&g, &issued, &fx.audit("oauth.code_issued", "g"))
        .await
        .unwrap();
    let attempts = (0..4).map(|_| {
        let store = store.clone();
        let hash = issued.code_hash.clone();
        let audit = fx.audit("oauth.code_reused", "race");
        tokio::spawn(async move { store.redeem_code(&hash, now + 5, &audit).await.unwrap() })
    });
    let mut redeemed = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            CodeRedemption::Redeemed(_) => redeemed += 1,
            CodeRedemption::Reused(id) => assert_eq!(id, g.id),
            CodeRedemption::Unknown => panic!("the code exists"),
        }
    }
    assert_eq!(redeemed, 1);
    assert!(
        store
            .get_grant(g.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );
}

pub async fn refresh_rotates_and_reuse_revokes_the_family(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let (org, user, session, _) = signed_in(&*store, &fx).await;
    let g = grant(&fx, org, user, Some(session.id), "openid offline_access");
    let now = fx.now();
    store
        .create_code_grant(
            &g,
            &code(&g, "c", now, 60_000),
            &fx.audit("oauth.code_issued", "g"),
        )
        .await
        .unwrap();
    let first = refresh(&g, "r1", now);
    store.add_refresh_token(&first).await.unwrap();
    let (found, found_grant) = store
        .find_refresh_token(&first.token_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found, found_grant.id), (first.clone(), g.id));

    let second = refresh(&g, "r2", now + 1);
    let RefreshRotation::Rotated(rotated) = store
        .rotate_refresh_token(
            &first.token_hash,
            &second,
            now + 1,
            &fx.audit("oauth.refresh_token_reused", "reuse"),
        )
        .await
        .unwrap()
    else {
        panic!("a current token rotates");
    };
    assert_eq!(rotated.id, g.id);
    let (spent, _) = store
        .find_refresh_token(&first.token_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(spent.used_at, Some(now + 1));

    // Presenting the spent token again: theft. The family dies, successor included.
    let third = refresh(&g, "r3", now + 2);
    assert_eq!(
        store
            .rotate_refresh_token(
                &first.token_hash,
                &third,
                now + 2,
                &fx.audit("oauth.refresh_token_reused", "reuse")
            )
            .await
            .unwrap(),
        RefreshRotation::Reused(g.id)
    );
    assert_eq!(super::audit_count(&*store, "reuse").await, 1);
    let fourth = refresh(&g, "r4", now + 3);
    assert_eq!(
        store
            .rotate_refresh_token(&second.token_hash, &fourth, now + 3, &fx.audit("x", "y"))
            .await
            .unwrap(),
        RefreshRotation::Invalid
    );
    // The refused rotation stored nothing and did not spend the successor.
    assert!(
        store
            .find_refresh_token(&fourth.token_hash)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .find_refresh_token(&third.token_hash)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .rotate_refresh_token(
                &TokenHash::of("unknown"),
                &refresh(&g, "r5", now),
                now,
                &fx.audit("x", "y")
            )
            .await
            .unwrap(),
        RefreshRotation::Invalid
    );
}

pub async fn refresh_concurrent_rotations_exactly_one_wins(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let (org, user, session, _) = signed_in(&*store, &fx).await;
    let g = grant(&fx, org, user, Some(session.id), "openid");
    let now = fx.now();
    store
        .create_code_grant(
            &g,
            &code(&g, "c", now, 60_000),
            &fx.audit("oauth.code_issued", "g"),
        )
        .await
        .unwrap();
    let first = refresh(&g, "shared", now);
    store.add_refresh_token(&first).await.unwrap();
    let attempts = (0..4).map(|i| {
        let store = store.clone();
        let hash = first.token_hash.clone();
        let next = refresh(&g, &format!("next-{i}"), now + 1);
        let audit = fx.audit("oauth.refresh_token_reused", "race");
        tokio::spawn(async move {
            store
                .rotate_refresh_token(&hash, &next, now + 1, &audit)
                .await
                .unwrap()
        })
    });
    let mut rotated = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            RefreshRotation::Rotated(_) => rotated += 1,
            RefreshRotation::Reused(id) => assert_eq!(id, g.id),
            RefreshRotation::Invalid => panic!("the token exists"),
        }
    }
    assert_eq!(rotated, 1);
    assert!(
        store
            .get_grant(g.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );
}

pub async fn pending_authorization_is_taken_once_and_expires(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let now = fx.now();
    let pending = PendingAuthorization {
        handle_hash: TokenHash::of("handle"),
        client_id: "app".into(),
        request: serde_json::json!({"params": [["client_id", "app"]]}),
        created_at: now,
        expires_at: now + 1000,
    };
    store.put_pending_authorization(&pending).await.unwrap();
    assert_eq!(
        store
            .get_pending_authorization(&pending.handle_hash, now)
            .await
            .unwrap(),
        Some(pending.clone())
    );
    assert_eq!(
        store
            .get_pending_authorization(&pending.handle_hash, now + 1000)
            .await
            .unwrap(),
        None
    );
    assert!(
        store
            .take_pending_authorization(&pending.handle_hash)
            .await
            .unwrap()
    );
    assert!(
        !store
            .take_pending_authorization(&pending.handle_hash)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .get_pending_authorization(&pending.handle_hash, now)
            .await
            .unwrap(),
        None
    );
}

pub async fn consent_is_replaced_and_jti_revocation_is_idempotent(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let (_, user, _, _) = signed_in(&*store, &fx).await;
    assert_eq!(store.get_consent(user, "app").await.unwrap(), None);
    let mut consent = Consent {
        user_id: user,
        client_id: "app".into(),
        scopes: vec!["openid".into()],
        granted_at: fx.now(),
    };
    store
        .put_consent(&consent, &fx.audit("consent.granted", "c"))
        .await
        .unwrap();
    consent.scopes.push("email".into());
    consent.granted_at += 5;
    store
        .put_consent(&consent, &fx.audit("consent.granted", "c"))
        .await
        .unwrap();
    assert_eq!(store.get_consent(user, "app").await.unwrap(), Some(consent));
    assert_eq!(super::audit_count(&*store, "c").await, 2);

    assert!(!store.is_jti_revoked("j1").await.unwrap());
    store
        .revoke_jti("j1", fx.now() + 1000, &fx.audit("oauth.token_revoked", "j"))
        .await
        .unwrap();
    store
        .revoke_jti("j1", fx.now() + 1000, &fx.audit("oauth.token_revoked", "j"))
        .await
        .unwrap();
    assert!(store.is_jti_revoked("j1").await.unwrap());
    assert_eq!(super::audit_count(&*store, "j").await, 1);
}

pub async fn purge_removes_only_what_expired(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let (org, user, session, _) = signed_in(&*store, &fx).await;
    let now = fx.now();
    let mut short = grant(&fx, org, user, Some(session.id), "openid");
    short.expires_at = now + 10;
    let long = grant(&fx, org, user, Some(session.id), "openid");
    store
        .create_code_grant(
            &short,
            &code(&short, "s", now, 5),
            &fx.audit("oauth.code_issued", "g"),
        )
        .await
        .unwrap();
    store
        .create_code_grant(
            &long,
            &code(&long, "l", now, 60_000),
            &fx.audit("oauth.code_issued", "g"),
        )
        .await
        .unwrap();
    store
        .revoke_jti("gone", now + 5, &fx.audit("oauth.token_revoked", "j"))
        .await
        .unwrap();
    store
        .revoke_jti("kept", now + 60_000, &fx.audit("oauth.token_revoked", "j"))
        .await
        .unwrap();

    let removed = store.purge_expired(now + 10).await.unwrap();
    assert!(removed >= 3, "removed {removed}");
    assert!(store.get_grant(short.id).await.unwrap().is_none());
    assert!(store.get_grant(long.id).await.unwrap().is_some());
    assert!(!store.is_jti_revoked("gone").await.unwrap());
    assert!(store.is_jti_revoked("kept").await.unwrap());
    assert!(store.get_session(session.id).await.unwrap().is_some());
}

pub async fn audit_batch_appends_every_event_in_one_go(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let events: Vec<_> = (0..25)
        .map(|_| fx.audit("oauth.token_issued", "batch"))
        .collect();
    store.append_audit_batch(&events).await.unwrap();
    store.append_audit_batch(&[]).await.unwrap();
    assert_eq!(super::audit_count(&*store, "batch").await, 25);
    // A batch with a duplicate id fails as a whole.
    let again = vec![fx.audit("oauth.token_issued", "batch"), events[0].clone()];
    assert!(store.append_audit_batch(&again).await.is_err());
    assert_eq!(super::audit_count(&*store, "batch").await, 25);
}

pub async fn device_code_is_decided_once_and_spent_by_one_poll(store: Arc<dyn Store>) {
    use gatehouse_core::model::{DeviceApproval, DeviceCode, DevicePoll, DeviceStatus};
    let fx = Fx::new();
    let (_, user, session, _) = signed_in(&*store, &fx).await;
    let now = fx.now();
    let code = DeviceCode {
        device_code_hash: TokenHash::of("device"),
        user_code: "BCDF-GHJK".into(),
        client_id: "tv".into(),
        scope: "openid".into(),
        resources: Vec::new(),
        status: DeviceStatus::Pending,
        approval: None,
        interval_secs: 5,
        last_polled_at: None,
        created_at: now,
        expires_at: now + 600_000,
    };
    store.create_device_code(&code).await.unwrap();
    assert_eq!(
        store.find_device_code("BCDF-GHJK", now).await.unwrap(),
        Some(code.clone())
    );
    assert_eq!(
        store
            .find_device_code("BCDF-GHJK", now + 600_000)
            .await
            .unwrap(),
        None
    );

    // Pending, then too soon: slow_down grows the interval without counting the poll.
    assert_eq!(
        store
            .poll_device_code(&code.device_code_hash, now)
            .await
            .unwrap(),
        DevicePoll::Pending
    );
    assert_eq!(
        store
            .poll_device_code(&code.device_code_hash, now + 1000)
            .await
            .unwrap(),
        DevicePoll::SlowDown
    );
    assert_eq!(
        store
            .find_device_code("BCDF-GHJK", now)
            .await
            .unwrap()
            .unwrap()
            .interval_secs,
        10
    );
    assert_eq!(
        store
            .poll_device_code(&code.device_code_hash, now + 9_000)
            .await
            .unwrap(),
        DevicePoll::SlowDown
    );
    assert_eq!(
        store
            .poll_device_code(&code.device_code_hash, now + 15_000)
            .await
            .unwrap(),
        DevicePoll::Pending
    );

    let approval = DeviceApproval {
        user_id: user,
        session_id: session.id,
        auth_time: session.auth_time,
        amr: vec!["pwd".into()],
        acr: None,
    };
    let at = now + 16_000;
    assert!(
        store
            .decide_device_code(
                "BCDF-GHJK",
                Some(&approval),
                at,
                &fx.audit("device.approved", "d")
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .decide_device_code("BCDF-GHJK", None, at, &fx.audit("device.denied", "d"))
            .await
            .unwrap()
    );
    assert_eq!(super::audit_count(&*store, "d").await, 1);

    // Of several polls at once after the interval, exactly one gets the approval.
    let polls = (0..4).map(|_| {
        let store = store.clone();
        let hash = code.device_code_hash.clone();
        tokio::spawn(async move { store.poll_device_code(&hash, now + 60_000).await.unwrap() })
    });
    let mut approved = 0;
    for poll in polls {
        match poll.await.unwrap() {
            DevicePoll::Approved(found) => {
                approved += 1;
                assert_eq!(found.approval.as_ref(), Some(&approval));
            }
            DevicePoll::SlowDown | DevicePoll::Consumed => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(approved, 1);
    assert_eq!(
        store
            .poll_device_code(&code.device_code_hash, now + 120_000)
            .await
            .unwrap(),
        DevicePoll::Consumed
    );
    assert_eq!(
        store
            .poll_device_code(&code.device_code_hash, now + 600_000)
            .await
            .unwrap(),
        DevicePoll::Expired
    );
    assert_eq!(
        store
            .poll_device_code(&TokenHash::of("x"), now)
            .await
            .unwrap(),
        DevicePoll::Expired
    );
}
