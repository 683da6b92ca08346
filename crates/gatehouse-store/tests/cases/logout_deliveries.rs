//! Conformance cases for the back-channel logout queue: deliveries enqueue
//! only with the revocation that commits, a claim leases its rows so no two
//! workers send one delivery concurrently, and retry, completion and
//! abandonment change what the next claim sees.

use std::collections::HashSet;
use std::sync::Arc;

use gatehouse_core::clock::Millis;
use gatehouse_core::ids::LogoutDeliveryId;
use gatehouse_core::model::{LogoutDelivery, SsoSession};
use gatehouse_core::store::Store;

use super::sessions_grants::{V7, signed_in};
use super::support::Fx;

const LEASE: Millis = 120_000;

/// A signed-in session and a client with a back-channel logout URI.
async fn session_with_client(store: &dyn Store, fx: &Fx) -> SsoSession {
    let (org, _, session, _) = signed_in(store, fx).await;
    store
        .create_client(
            &super::client(fx, org, "rp"),
            &fx.audit("client.created", "rp"),
        )
        .await
        .unwrap();
    session
}

fn delivery(fx: &Fx, session: &SsoSession, n: u32) -> LogoutDelivery {
    let now = fx.now();
    LogoutDelivery {
        id: LogoutDeliveryId(uuid::Uuid::now_v7_from(now)),
        client_id: "rp".into(),
        uri: format!("https://app.example/logout/{n}"),
        claims: serde_json::json!({ "aud": "rp", "sid": session.id.to_string() }).to_string(),
        attempts: 0,
        next_attempt_at: now,
        created_at: now,
        last_error: None,
    }
}

pub async fn logout_deliveries_enqueue_only_with_the_revocation(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let session = session_with_client(store.as_ref(), &fx).await;
    let first = delivery(&fx, &session, 1);
    let second = delivery(&fx, &session, 2);
    let now = fx.now();
    assert!(
        store
            .revoke_session(
                session.id,
                now,
                std::slice::from_ref(&first),
                &fx.audit("session.revoked", "r1")
            )
            .await
            .unwrap()
    );
    // Already revoked: nothing is written, the delivery included.
    assert!(
        !store
            .revoke_session(
                session.id,
                now,
                &[second],
                &fx.audit("session.revoked", "r2")
            )
            .await
            .unwrap()
    );
    // Not due yet before it was created.
    assert!(
        store
            .claim_logout_deliveries(first.next_attempt_at - 1, now + LEASE, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let claimed = store
        .claim_logout_deliveries(now, now + LEASE, 10)
        .await
        .unwrap();
    assert_eq!(
        claimed,
        vec![LogoutDelivery {
            next_attempt_at: now + LEASE,
            ..first.clone()
        }]
    );
    // Leased: nobody else takes it until the lease runs out.
    assert!(
        store
            .claim_logout_deliveries(now + LEASE - 1, now + 2 * LEASE, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let again = store
        .claim_logout_deliveries(now + LEASE, now + 2 * LEASE, 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, first.id);
}

pub async fn logout_delivery_retry_complete_and_abandon(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let session = session_with_client(store.as_ref(), &fx).await;
    let retried = delivery(&fx, &session, 1);
    let abandoned = delivery(&fx, &session, 2);
    let now = fx.now();
    store
        .revoke_session(
            session.id,
            now,
            &[retried.clone(), abandoned.clone()],
            &fx.audit("session.revoked", "r"),
        )
        .await
        .unwrap();
    let claimed = store
        .claim_logout_deliveries(now, now + LEASE, 1)
        .await
        .unwrap();
    // The limit holds, and the oldest due goes first.
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].id, retried.id);

    let next = now + 30_000;
    assert!(
        store
            .retry_logout_delivery(retried.id, next, "HTTP 500")
            .await
            .unwrap()
    );
    let due: Vec<LogoutDeliveryId> = store
        .claim_logout_deliveries(next - 1, next - 1 + LEASE, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(
        due,
        vec![abandoned.id],
        "the retried one waits for its time"
    );
    let due = store
        .claim_logout_deliveries(next, next + LEASE, 10)
        .await
        .unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].id, retried.id);
    assert_eq!(due[0].attempts, 1);
    assert_eq!(due[0].last_error.as_deref(), Some("HTTP 500"));

    assert!(store.complete_logout_delivery(retried.id).await.unwrap());
    assert!(!store.complete_logout_delivery(retried.id).await.unwrap());
    assert!(
        !store
            .retry_logout_delivery(retried.id, next, "gone")
            .await
            .unwrap()
    );

    let target = "delivery-audit";
    assert!(
        store
            .abandon_logout_delivery(abandoned.id, &fx.audit("logout.delivery_failed", target))
            .await
            .unwrap()
    );
    assert!(
        !store
            .abandon_logout_delivery(abandoned.id, &fx.audit("logout.delivery_failed", target))
            .await
            .unwrap()
    );
    assert_eq!(super::audit_count(store.as_ref(), target).await, 1);
    assert!(
        store
            .claim_logout_deliveries(Millis::MAX / 2, Millis::MAX / 2, 10)
            .await
            .unwrap()
            .is_empty(),
        "completed and abandoned deliveries are gone"
    );
}

pub async fn logout_delivery_concurrent_claims_take_each_once(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let session = session_with_client(store.as_ref(), &fx).await;
    let deliveries: Vec<LogoutDelivery> = (0..20).map(|n| delivery(&fx, &session, n)).collect();
    let now = fx.now();
    store
        .revoke_session(
            session.id,
            now,
            &deliveries,
            &fx.audit("session.revoked", "r"),
        )
        .await
        .unwrap();
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .claim_logout_deliveries(now, now + LEASE, 8)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut seen = HashSet::new();
    for worker in workers {
        for claimed in worker.await.unwrap() {
            assert!(seen.insert(claimed.id), "{:?} claimed twice", claimed.id);
        }
    }
    // A claim that lost a race may come back short; what is left is still due.
    for claimed in store
        .claim_logout_deliveries(now, now + LEASE, 20)
        .await
        .unwrap()
    {
        assert!(seen.insert(claimed.id), "{:?} claimed twice", claimed.id);
    }
    let expected: HashSet<LogoutDeliveryId> = deliveries.iter().map(|d| d.id).collect();
    assert_eq!(seen, expected);
}
