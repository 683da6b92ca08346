//! Conformance cases for [`gatehouse_core::store::SigningKeyStore`]: at most one
//! `active` and one `next` key per algorithm however many nodes race, rotation
//! as one compare-and-set, and retired keys kept until `remove_after`.
//! Keys here are fake (no cryptography): the store only moves rows.

use std::sync::Arc;

use gatehouse_core::model::{Algorithm, Jwk, KeyRotation, KeyState, StoredKey};
use gatehouse_core::store::Store;

use crate::audit_count;
use crate::support::Fx;

fn key(fx: &Fx, alg: Algorithm, state: KeyState, kid: &str) -> StoredKey {
    let now = fx.now();
    StoredKey {
        kid: kid.to_owned(),
        alg,
        state,
        sealed_private_key: format!("sealed-{kid}"),
        public_jwk: Jwk {
            kty: "OKP".into(),
            crv: Some("Ed25519".into()),
            x: Some(format!("x-{kid}")),
            kid: Some(kid.to_owned()),
            alg: Some(alg.as_str().into()),
            use_: Some("sig".into()),
            ..Jwk::default()
        },
        created_at: now,
        activated_at: (state == KeyState::Active).then_some(now),
        retired_at: None,
        remove_after: None,
    }
}

fn rotation(fx: &Fx, alg: Algorithm, next: &str, active: &str, new_next: &str) -> KeyRotation {
    let at = fx.now();
    KeyRotation {
        alg,
        next_kid: next.to_owned(),
        active_kid: active.to_owned(),
        at,
        remove_after: at + 60_000,
        new_next: key(fx, alg, KeyState::Next, new_next),
    }
}

/// `(kid, state)` of every key of `alg`, in creation order.
async fn states(store: &dyn Store, alg: Algorithm) -> Vec<(String, KeyState)> {
    store
        .list_signing_keys()
        .await
        .unwrap()
        .into_iter()
        .filter(|k| k.alg == alg)
        .map(|k| (k.kid, k.state))
        .collect()
}

async fn insert(store: &dyn Store, fx: &Fx, key: &StoredKey) -> bool {
    store
        .insert_signing_key(key, &fx.audit("signing_key.created", &key.kid))
        .await
        .unwrap()
}

pub async fn signing_key_insert_unless_its_state_is_taken(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let active = key(&fx, Algorithm::ES256, KeyState::Active, "es-a");
    let next = key(&fx, Algorithm::ES256, KeyState::Next, "es-n");
    let rsa = key(&fx, Algorithm::RS256, KeyState::Active, "rs-a");
    assert!(insert(&*store, &fx, &active).await);
    assert!(insert(&*store, &fx, &next).await);
    assert!(
        insert(&*store, &fx, &rsa).await,
        "another alg has its own active key"
    );

    let second_active = key(&fx, Algorithm::ES256, KeyState::Active, "es-a2");
    assert!(!insert(&*store, &fx, &second_active).await);
    let second_next = key(&fx, Algorithm::ES256, KeyState::Next, "es-n2");
    assert!(!insert(&*store, &fx, &second_next).await);
    let same_kid = key(&fx, Algorithm::EdDSA, KeyState::Active, "es-a");
    assert!(!insert(&*store, &fx, &same_kid).await, "kids are unique");
    for kid in ["es-a2", "es-n2"] {
        assert_eq!(audit_count(&*store, kid).await, 0, "no event for {kid}");
    }
    assert_eq!(audit_count(&*store, "es-a").await, 1);

    let listed = store.list_signing_keys().await.unwrap();
    assert_eq!(listed, [active, next, rsa], "by alg, then age; round-trips");
}

pub async fn signing_key_concurrent_first_starts_agree_on_one_key_per_state(store: Arc<dyn Store>) {
    let fx = Arc::new(Fx::new());
    let nodes: Vec<_> = (0..4)
        .map(|node| {
            let store = store.clone();
            let fx = fx.clone();
            tokio::spawn(async move {
                let mut won = 0;
                for alg in Algorithm::ALL {
                    for state in [KeyState::Active, KeyState::Next] {
                        let kid = format!("{alg}-{state}-node{node}");
                        won += usize::from(insert(&*store, &fx, &key(&fx, alg, state, &kid)).await);
                    }
                }
                won
            })
        })
        .collect();
    let mut won = 0;
    for node in nodes {
        won += node.await.unwrap();
    }
    assert_eq!(won, 6, "one insert per alg and state succeeded");
    for alg in Algorithm::ALL {
        let keys = states(&*store, alg).await;
        let count = |state| keys.iter().filter(|(_, s)| *s == state).count();
        assert_eq!(
            (count(KeyState::Active), count(KeyState::Next), keys.len()),
            (1, 1, 2),
            "{alg}: {keys:?}"
        );
    }
}

pub async fn signing_key_rotation_is_compare_and_set(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let alg = Algorithm::EdDSA;
    insert(&*store, &fx, &key(&fx, alg, KeyState::Active, "a1")).await;
    insert(&*store, &fx, &key(&fx, alg, KeyState::Next, "n1")).await;
    let before = store.list_signing_keys().await.unwrap();

    for (next, active) in [("a1", "n1"), ("n1", "zz"), ("zz", "a1")] {
        let stale = rotation(&fx, alg, next, active, "n-stale");
        assert!(
            !store
                .rotate_signing_keys(&stale, &fx.audit("signing_key.rotated", "stale"))
                .await
                .unwrap(),
            "next {next}, active {active}"
        );
    }
    let wrong_alg = rotation(&fx, Algorithm::ES256, "n1", "a1", "n-es");
    let wrong_alg = KeyRotation {
        new_next: key(&fx, Algorithm::ES256, KeyState::Next, "n-es"),
        ..wrong_alg
    };
    assert!(
        !store
            .rotate_signing_keys(&wrong_alg, &fx.audit("signing_key.rotated", "stale"))
            .await
            .unwrap()
    );
    assert_eq!(store.list_signing_keys().await.unwrap(), before);
    assert_eq!(audit_count(&*store, "stale").await, 0);

    let good = rotation(&fx, alg, "n1", "a1", "n2");
    assert!(
        store
            .rotate_signing_keys(&good, &fx.audit("signing_key.rotated", "good"))
            .await
            .unwrap()
    );
    assert_eq!(audit_count(&*store, "good").await, 1);
    let keys = store.list_signing_keys().await.unwrap();
    let get = |kid: &str| keys.iter().find(|k| k.kid == kid).unwrap().clone();
    let (a1, n1, n2) = (get("a1"), get("n1"), get("n2"));
    assert_eq!(
        (a1.state, a1.retired_at, a1.remove_after),
        (KeyState::Retired, Some(good.at), Some(good.remove_after))
    );
    assert_eq!(a1.activated_at, before[0].activated_at, "kept");
    assert_eq!(
        (n1.state, n1.activated_at),
        (KeyState::Active, Some(good.at))
    );
    assert_eq!(n2, good.new_next);

    // The same rotation again (a node with a stale view) changes nothing.
    let again = rotation(&fx, alg, "n1", "a1", "n3");
    assert!(
        !store
            .rotate_signing_keys(&again, &fx.audit("signing_key.rotated", "again"))
            .await
            .unwrap()
    );
    assert_eq!(store.list_signing_keys().await.unwrap(), keys);
    assert_eq!(audit_count(&*store, "again").await, 0);
}

pub async fn signing_key_concurrent_rotations_rotate_once(store: Arc<dyn Store>) {
    let fx = Arc::new(Fx::new());
    let alg = Algorithm::RS256;
    insert(&*store, &fx, &key(&fx, alg, KeyState::Active, "a0")).await;
    insert(&*store, &fx, &key(&fx, alg, KeyState::Next, "n0")).await;
    let (mut next, mut active) = ("n0".to_owned(), "a0".to_owned());
    for round in 0..4 {
        let tasks: Vec<_> = (0..3)
            .map(|node| {
                let store = store.clone();
                let fx = fx.clone();
                let new_next = format!("n-r{round}-node{node}");
                let rotation = rotation(&fx, alg, &next, &active, &new_next);
                let audit = fx.audit("signing_key.rotated", &format!("round{round}"));
                tokio::spawn(async move {
                    let done = store.rotate_signing_keys(&rotation, &audit).await.unwrap();
                    done.then_some(new_next)
                })
            })
            .collect();
        let mut winners = Vec::new();
        for task in tasks {
            winners.extend(task.await.unwrap());
        }
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        assert_eq!(audit_count(&*store, &format!("round{round}")).await, 1);
        let keys = states(&*store, alg).await;
        let with = |state| {
            keys.iter()
                .filter(|(_, s)| *s == state)
                .map(|(kid, _)| kid.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(with(KeyState::Active), [next.clone()], "round {round}");
        assert_eq!(with(KeyState::Next), winners, "round {round}");
        assert_eq!(with(KeyState::Retired).len(), round + 1);
        active = next;
        next = winners.remove(0);
    }
}

pub async fn signing_key_retired_removed_only_after_remove_after(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let alg = Algorithm::ES256;
    insert(&*store, &fx, &key(&fx, alg, KeyState::Active, "a1")).await;
    insert(&*store, &fx, &key(&fx, alg, KeyState::Next, "n1")).await;
    let rotated = rotation(&fx, alg, "n1", "a1", "n2");
    assert!(
        store
            .rotate_signing_keys(&rotated, &fx.audit("signing_key.rotated", "n1"))
            .await
            .unwrap()
    );
    let remove_after = rotated.remove_after;
    let delete = |kid: &'static str, now: i64| {
        let store = store.clone();
        let audit = fx.audit("signing_key.removed", kid);
        async move {
            store
                .delete_retired_signing_key(kid, now, &audit)
                .await
                .unwrap()
        }
    };
    assert!(!delete("a1", remove_after - 1).await, "not yet");
    assert!(!delete("n1", remove_after + 1).await, "active keys stay");
    assert!(!delete("n2", remove_after + 1).await, "next keys stay");
    assert!(!delete("ghost", remove_after + 1).await);
    assert_eq!(audit_count(&*store, "a1").await, 1, "only its creation's");
    assert!(delete("a1", remove_after).await, "due at remove_after");
    assert!(!delete("a1", remove_after + 1).await, "deleted once");
    assert_eq!(audit_count(&*store, "a1").await, 2);
    assert_eq!(
        states(&*store, alg).await,
        [
            ("n1".to_owned(), KeyState::Active),
            ("n2".to_owned(), KeyState::Next)
        ]
    );
}
