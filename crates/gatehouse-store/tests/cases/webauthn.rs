//! Conformance cases for WebAuthn credentials and ceremonies: a credential
//! id is registered once; a use must advance the signature counter
//! (compare-and-set, also under concurrent uses); a ceremony is taken once,
//! also under concurrent finishes, and not after it expired; credentials go
//! with their factor and with the admin reset. A magic link is spent once
//! and a user gets one per resend window.

use std::sync::Arc;

use gatehouse_core::StoreError;
use gatehouse_core::ids::{FactorId, OrgId, UserId};
use gatehouse_core::model::{
    CeremonyKind, Factor, FactorKind, FactorStatus, MagicLink, WebauthnCeremony, WebauthnCredential,
};
use gatehouse_core::secret::TokenHash;
use gatehouse_core::store::Store;

use super::audit_count;
use super::sessions_grants::{V7, signed_in};
use super::support::Fx;

fn passkey(fx: &Fx, user: UserId, org: OrgId, credential_id: &str) -> (Factor, WebauthnCredential) {
    let now = fx.now();
    let id = FactorId(uuid::Uuid::now_v7_from(now));
    (
        Factor {
            id,
            user_id: user,
            org_id: org,
            kind: FactorKind::Webauthn,
            status: FactorStatus::Active,
            sealed_secret: None,
            last_step: None,
            created_at: now,
            activated_at: Some(now),
            last_used_at: None,
            detail: None,
            hint: None,
            answer_hash: None,
        },
        WebauthnCredential {
            factor_id: id,
            user_id: user,
            credential_id: credential_id.to_owned(),
            name: "YubiKey".to_owned(),
            credential: r#"{"cred":{}}"#.to_owned(),
            sign_count: 0,
            backup_eligible: false,
            backup_state: false,
            created_at: now,
        },
    )
}

fn ceremony(fx: &Fx, user: Option<UserId>, handle: &str, ttl: i64) -> WebauthnCeremony {
    let now = fx.now();
    WebauthnCeremony {
        handle_hash: TokenHash::of(handle),
        kind: CeremonyKind::Authenticate,
        user_id: user,
        binding: "mfa:abc".to_owned(),
        state: r#"{"ast":{}}"#.to_owned(),
        created_at: now,
        expires_at: now + ttl,
    }
}

pub async fn webauthn_credential_is_unique_and_goes_with_its_factor(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let (org, user, _, _) = signed_in(&*store, &fx).await;
    let (factor, credential) = passkey(&fx, user, org, "cred-1");
    store
        .create_webauthn_factor(&factor, &credential, &fx.audit("factor.enrolled", "wa"))
        .await
        .unwrap();
    assert_eq!(store.get_factor(factor.id).await.unwrap().unwrap(), factor);
    assert_eq!(
        store.list_webauthn_credentials(user).await.unwrap(),
        vec![credential.clone()]
    );
    assert_eq!(
        store.find_webauthn_credential("cred-1").await.unwrap(),
        Some(credential.clone())
    );
    assert_eq!(
        store.find_webauthn_credential("CRED-1").await.unwrap(),
        None
    );
    assert_eq!(audit_count(&*store, "wa").await, 1);

    // The same credential id again (even for the same user) is a conflict,
    // and neither the factor nor the audit event is written.
    let (again, mut dup) = passkey(&fx, user, org, "cred-1");
    dup.name = "Other".into();
    let err = store
        .create_webauthn_factor(&again, &dup, &fx.audit("factor.enrolled", "dup"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert!(store.get_factor(again.id).await.unwrap().is_none());
    assert_eq!(audit_count(&*store, "dup").await, 0);

    // Deleting the factor deletes the credential.
    assert!(
        store
            .delete_factor(factor.id, &fx.audit("factor.deleted", "del"))
            .await
            .unwrap()
    );
    assert!(
        store
            .find_webauthn_credential("cred-1")
            .await
            .unwrap()
            .is_none()
    );

    // The reset takes credentials too.
    let (f2, c2) = passkey(&fx, user, org, "cred-2");
    store
        .create_webauthn_factor(&f2, &c2, &fx.audit("factor.enrolled", "wa2"))
        .await
        .unwrap();
    store
        .reset_factors(user, &fx.audit("factors.reset", "reset"))
        .await
        .unwrap();
    assert!(
        store
            .list_webauthn_credentials(user)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn webauthn_counter_must_advance(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let (org, user, _, _) = signed_in(&*store, &fx).await;
    let (factor, credential) = passkey(&fx, user, org, "cred-c");
    store
        .create_webauthn_factor(&factor, &credential, &fx.audit("factor.enrolled", "wa"))
        .await
        .unwrap();
    let now = fx.now();
    // A counterless authenticator (0 → 0) is accepted each time.
    for _ in 0..2 {
        assert!(
            store
                .record_webauthn_use(
                    factor.id,
                    0,
                    false,
                    "{}",
                    now,
                    &fx.audit("factor.used", "u0")
                )
                .await
                .unwrap()
        );
    }
    assert!(
        store
            .record_webauthn_use(
                factor.id,
                5,
                true,
                r#"{"v":5}"#,
                now,
                &fx.audit("factor.used", "u5")
            )
            .await
            .unwrap()
    );
    let stored = store
        .find_webauthn_credential("cred-c")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.sign_count, 5);
    assert!(stored.backup_state);
    assert_eq!(stored.credential, r#"{"v":5}"#);
    assert_eq!(
        store
            .get_factor(factor.id)
            .await
            .unwrap()
            .unwrap()
            .last_used_at,
        Some(now)
    );
    // The same counter, a lower one, or 0 after a counter: refused, nothing written.
    for count in [5, 4, 0] {
        assert!(
            !store
                .record_webauthn_use(
                    factor.id,
                    count,
                    false,
                    "{}",
                    now,
                    &fx.audit("factor.used", "back")
                )
                .await
                .unwrap()
        );
    }
    assert_eq!(audit_count(&*store, "back").await, 0);
    assert_eq!(
        store
            .find_webauthn_credential("cred-c")
            .await
            .unwrap()
            .unwrap()
            .sign_count,
        5
    );

    // Concurrent uses presenting the same counter: exactly one is accepted.
    let uses = (0..4).map(|_| {
        let store = store.clone();
        let audit = fx.audit("factor.used", "race");
        tokio::spawn(async move {
            store
                .record_webauthn_use(factor.id, 6, false, "{}", now, &audit)
                .await
                .unwrap()
        })
    });
    let mut accepted = 0;
    for used in uses {
        accepted += usize::from(used.await.unwrap());
    }
    assert_eq!(accepted, 1);
    assert_eq!(audit_count(&*store, "race").await, 1);
}

pub async fn webauthn_ceremony_is_taken_once_and_expires(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let (_, user, _, _) = signed_in(&*store, &fx).await;
    let live = ceremony(&fx, Some(user), "live", 60_000);
    store.put_webauthn_ceremony(&live).await.unwrap();
    let now = fx.now();
    assert_eq!(
        store
            .take_webauthn_ceremony(&TokenHash::of("live"), now)
            .await
            .unwrap(),
        Some(live)
    );
    assert_eq!(
        store
            .take_webauthn_ceremony(&TokenHash::of("live"), now)
            .await
            .unwrap(),
        None
    );

    // A discoverable ceremony has no user.
    let mut anonymous = ceremony(&fx, None, "anon", 60_000);
    anonymous.kind = CeremonyKind::Discoverable;
    anonymous.binding = "login".into();
    store.put_webauthn_ceremony(&anonymous).await.unwrap();
    assert_eq!(
        store
            .take_webauthn_ceremony(&TokenHash::of("anon"), fx.now())
            .await
            .unwrap(),
        Some(anonymous)
    );

    // Expired: not given out, and purged.
    let old = ceremony(&fx, Some(user), "old", 10);
    store.put_webauthn_ceremony(&old).await.unwrap();
    let later = old.expires_at + 1;
    let other = ceremony(&fx, Some(user), "old2", 10);
    store.put_webauthn_ceremony(&other).await.unwrap();
    assert_eq!(
        store
            .take_webauthn_ceremony(&TokenHash::of("old"), later)
            .await
            .unwrap(),
        None
    );
    assert!(
        store
            .purge_expired_sign_ons(other.expires_at + 1)
            .await
            .unwrap()
            >= 1
    );
    assert_eq!(
        store
            .take_webauthn_ceremony(&TokenHash::of("old2"), 0)
            .await
            .unwrap(),
        None
    );

    // Concurrent finishes of one ceremony: exactly one gets it.
    let raced = ceremony(&fx, Some(user), "raced", 60_000);
    store.put_webauthn_ceremony(&raced).await.unwrap();
    let now = fx.now();
    let takes = (0..4).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .take_webauthn_ceremony(&TokenHash::of("raced"), now)
                .await
                .unwrap()
        })
    });
    let mut got = 0;
    for take in takes {
        got += usize::from(take.await.unwrap().is_some());
    }
    assert_eq!(got, 1);
}

fn magic_link(fx: &Fx, user: UserId, token: &str) -> MagicLink {
    let now = fx.now();
    MagicLink {
        token_hash: TokenHash::of(token),
        user_id: user,
        browser_hash: TokenHash::of("browser"),
        request: Some("req".into()),
        return_to: None,
        created_at: now,
        expires_at: now + 600_000,
        used_at: None,
    }
}

pub async fn magic_link_is_spent_once_and_rate_limited(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let (_, user, _, _) = signed_in(&*store, &fx).await;
    let link = magic_link(&fx, user, "t1");
    assert!(
        store
            .put_magic_link(
                &link,
                link.created_at - 30_000,
                &fx.audit("magic_link.sent", "m1")
            )
            .await
            .unwrap()
    );
    // A second link within the resend window is not stored (nor audited).
    let second = magic_link(&fx, user, "t2");
    assert!(
        !store
            .put_magic_link(
                &second,
                second.created_at - 30_000,
                &fx.audit("magic_link.sent", "m2")
            )
            .await
            .unwrap()
    );
    assert_eq!(audit_count(&*store, "m2").await, 0);
    assert!(
        store
            .get_magic_link(&TokenHash::of("t2"), fx.now())
            .await
            .unwrap()
            .is_none()
    );
    let now = fx.now();
    assert_eq!(
        store
            .get_magic_link(&TokenHash::of("t1"), now)
            .await
            .unwrap(),
        Some(link.clone())
    );

    // Concurrent uses: exactly one.
    let uses = (0..4).map(|_| {
        let store = store.clone();
        let audit = fx.audit("magic_link.used", "race");
        tokio::spawn(async move {
            store
                .use_magic_link(&TokenHash::of("t1"), now, &audit)
                .await
                .unwrap()
        })
    });
    let mut used = 0;
    for u in uses {
        used += usize::from(u.await.unwrap());
    }
    assert_eq!(used, 1);
    assert_eq!(audit_count(&*store, "race").await, 1);
    assert!(
        store
            .get_magic_link(&TokenHash::of("t1"), now)
            .await
            .unwrap()
            .is_none()
    );

    // After the window a new one is stored; past its expiry it is dead.
    let third = magic_link(&fx, user, "t3");
    assert!(
        store
            .put_magic_link(
                &third,
                link.created_at + 1,
                &fx.audit("magic_link.sent", "m3")
            )
            .await
            .unwrap()
    );
    let late = third.expires_at;
    assert!(
        store
            .get_magic_link(&TokenHash::of("t3"), late)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        !store
            .use_magic_link(
                &TokenHash::of("t3"),
                late,
                &fx.audit("magic_link.used", "late")
            )
            .await
            .unwrap()
    );
    assert!(store.purge_expired_sign_ons(late + 1).await.unwrap() >= 2);
}
