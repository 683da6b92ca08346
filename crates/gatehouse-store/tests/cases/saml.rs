//! Conformance cases for the SAML store: service providers (unique entity
//! ID, compare-and-set updates, audit with every change), single-use
//! request IDs, pending sign-ins spent once, and session participation.

use std::sync::Arc;

use gatehouse_core::StoreError;
use gatehouse_core::ids::ServiceProviderId;
use gatehouse_core::model::{
    RequestedContext, SamlParticipant, SamlPending, ServiceProvider, SpSettings,
};
use gatehouse_core::secret::TokenHash;
use gatehouse_core::store::Store;

use super::audit_count;
use super::sessions_grants::{V7, signed_in};
use super::support::Fx;

fn settings() -> SpSettings {
    serde_json::from_value(serde_json::json!({
        "assertion_consumer_services": [{ "location": "https://sp.example/acs" }],
    }))
    .unwrap()
}

fn sp(fx: &Fx, org: gatehouse_core::ids::OrgId, entity_id: &str) -> ServiceProvider {
    let now = fx.now();
    ServiceProvider {
        id: ServiceProviderId(uuid::Uuid::now_v7_from(now)),
        org_id: org,
        entity_id: entity_id.into(),
        settings: settings(),
        created_at: now,
        updated_at: now,
        version: 1,
    }
}

pub async fn saml_service_provider_crud_and_conflicts(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let org = fx.seed_org(store.as_ref(), "acme").await;
    let first = sp(&fx, org, "https://sp.example");
    let id = first.id.to_string();
    store
        .create_service_provider(&first, &fx.audit("service_provider.created", &id))
        .await
        .unwrap();
    assert_eq!(
        store.get_service_provider(first.id).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store
            .find_service_provider("https://sp.example")
            .await
            .unwrap(),
        Some(first.clone())
    );
    let duplicate = sp(&fx, org, "https://sp.example");
    let dup_id = duplicate.id.to_string();
    assert!(matches!(
        store
            .create_service_provider(&duplicate, &fx.audit("service_provider.created", &dup_id))
            .await,
        Err(StoreError::Conflict("entity_id"))
    ));
    assert_eq!(audit_count(store.as_ref(), &dup_id).await, 0);
    let mut changed = first.clone();
    changed.settings.assertion_lifetime_secs = 60;
    let stored = store
        .update_service_provider(&changed, &fx.audit("service_provider.updated", &id))
        .await
        .unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(stored.settings.assertion_lifetime_secs, 60);
    assert!(matches!(
        store
            .update_service_provider(&changed, &fx.audit("service_provider.updated", &id))
            .await,
        Err(StoreError::VersionConflict)
    ));
    let other_org = fx.seed_org(store.as_ref(), "other").await;
    let second = sp(&fx, other_org, "urn:second");
    store
        .create_service_provider(&second, &fx.audit("service_provider.created", "x"))
        .await
        .unwrap();
    assert_eq!(store.list_service_providers(None).await.unwrap().len(), 2);
    assert_eq!(
        store.list_service_providers(Some(org)).await.unwrap(),
        vec![stored]
    );
    assert!(
        store
            .delete_service_provider(first.id, &fx.audit("service_provider.deleted", &id))
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_service_provider(first.id, &fx.audit("service_provider.deleted", &id))
            .await
            .unwrap()
    );
    assert_eq!(audit_count(store.as_ref(), &id).await, 3);
}

/// A request ID is accepted once per SP, until it expires; concurrent
/// presentations: exactly one wins.
pub async fn saml_request_ids_are_single_use(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let org = fx.seed_org(store.as_ref(), "acme").await;
    let a = sp(&fx, org, "urn:a");
    let b = sp(&fx, org, "urn:b");
    for s in [&a, &b] {
        store
            .create_service_provider(s, &fx.audit("c", "x"))
            .await
            .unwrap();
    }
    let now = fx.now();
    let tries = (0..8).map(|_| {
        let store = store.clone();
        let id = a.id;
        tokio::spawn(async move {
            store
                .use_saml_request_id(id, "_r1", now + 1000, now)
                .await
                .unwrap()
        })
    });
    let mut wins = 0;
    for t in tries {
        wins += usize::from(t.await.unwrap());
    }
    assert_eq!(wins, 1);
    // Another SP may use the same ID.
    assert!(
        store
            .use_saml_request_id(b.id, "_r1", now + 1000, now)
            .await
            .unwrap()
    );
    // Expired entries are purged, so after expiry the slot is free again.
    assert!(
        store
            .use_saml_request_id(a.id, "_r1", now + 5000, now + 2000)
            .await
            .unwrap()
    );
}

pub async fn saml_pending_is_spent_once_and_expires(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let org = fx.seed_org(store.as_ref(), "acme").await;
    let s = sp(&fx, org, "urn:a");
    store
        .create_service_provider(&s, &fx.audit("c", "x"))
        .await
        .unwrap();
    let now = fx.now();
    let pending = SamlPending {
        handle_hash: TokenHash::of("handle"),
        sp_id: s.id,
        request_id: Some("_r".into()),
        acs_url: "https://sp.example/acs".into(),
        relay_state: Some("rs".into()),
        force_authn: true,
        is_passive: false,
        requested_authn_context: Some(RequestedContext {
            comparison: "minimum".into(),
            classes: vec!["https://refeds.org/profile/mfa".into()],
        }),
        created_at: now,
        expires_at: now + 1000,
    };
    store.put_saml_pending(&pending).await.unwrap();
    assert_eq!(
        store
            .get_saml_pending(&pending.handle_hash, now)
            .await
            .unwrap(),
        Some(pending.clone())
    );
    assert_eq!(
        store
            .get_saml_pending(&pending.handle_hash, now + 1000)
            .await
            .unwrap(),
        None
    );
    assert!(store.take_saml_pending(&pending.handle_hash).await.unwrap());
    assert!(!store.take_saml_pending(&pending.handle_hash).await.unwrap());
}

pub async fn saml_participation_keeps_the_first_session_index(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let (org, _, session, _) = signed_in(store.as_ref(), &fx).await;
    let s = sp(&fx, org, "urn:a");
    store
        .create_service_provider(&s, &fx.audit("c", "x"))
        .await
        .unwrap();
    let participant = SamlParticipant {
        session_id: session.id,
        sp_id: s.id,
        session_index: "_idx1".into(),
        name_id: "ada".into(),
        name_id_format: "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent".into(),
        created_at: fx.now(),
    };
    assert_eq!(
        store.join_saml_session(&participant).await.unwrap(),
        participant
    );
    let again = SamlParticipant {
        session_index: "_idx2".into(),
        ..participant.clone()
    };
    assert_eq!(store.join_saml_session(&again).await.unwrap(), participant);
    assert_eq!(
        store.find_saml_participant(s.id, "_idx1").await.unwrap(),
        Some(participant.clone())
    );
    assert_eq!(
        store.find_saml_participant(s.id, "_idx2").await.unwrap(),
        None
    );
    assert_eq!(
        store.saml_participants(session.id).await.unwrap(),
        vec![participant]
    );
}

/// App assignments: added once (a repeat is not audited), found directly and
/// through a group, listed users first, removed once; deleting the SP, the
/// user or the group takes its assignments along.
pub async fn app_assignments_direct_and_through_groups(store: Arc<dyn Store>) {
    use gatehouse_core::model::{AppAssignment, AppRef, AssignmentSubject};
    let fx = Fx::new();
    let org = fx.seed_org(store.as_ref(), "acme").await;
    let s = sp(&fx, org, "urn:assigned");
    store
        .create_service_provider(&s, &fx.audit("c", "x"))
        .await
        .unwrap();
    let app = AppRef::Saml(s.id);
    let other_app = AppRef::OAuth("rp".into());
    let ada = fx.user(org, "ada", None);
    let bob = fx.user(org, "bob", None);
    let eve = fx.user(org, "eve", None);
    for u in [&ada, &bob, &eve] {
        store
            .create_user(u, None, &fx.audit("user.create", &u.id.to_string()))
            .await
            .unwrap();
    }
    let staff = fx.group(org, "staff");
    store
        .create_group(&staff, &fx.audit("group.create", &staff.id.to_string()))
        .await
        .unwrap();
    assert!(
        store
            .add_member(staff.id, bob.id, fx.now(), &fx.audit("m", "m"))
            .await
            .unwrap()
    );
    let assign = |subject| AppAssignment {
        app: app.clone(),
        subject,
        org_id: org,
        created_at: fx.now(),
    };
    let target = s.id.to_string();
    let before = super::audit_count(store.as_ref(), &target).await;
    for subject in [
        AssignmentSubject::User(ada.id),
        AssignmentSubject::Group(staff.id),
    ] {
        assert!(
            store
                .add_app_assignment(&assign(subject), &fx.audit("app_assignment.added", &target))
                .await
                .unwrap()
        );
    }
    assert!(
        !store
            .add_app_assignment(
                &assign(AssignmentSubject::User(ada.id)),
                &fx.audit("app_assignment.added", &target)
            )
            .await
            .unwrap(),
        "a repeat is not new"
    );
    assert_eq!(
        super::audit_count(store.as_ref(), &target).await,
        before + 2
    );
    assert!(store.is_assigned(&app, ada.id).await.unwrap());
    assert!(store.is_assigned(&app, bob.id).await.unwrap(), "via staff");
    assert!(!store.is_assigned(&app, eve.id).await.unwrap());
    assert!(!store.is_assigned(&other_app, ada.id).await.unwrap());
    let listed: Vec<AssignmentSubject> = store
        .list_app_assignments(&app)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.subject)
        .collect();
    assert_eq!(
        listed,
        vec![
            AssignmentSubject::User(ada.id),
            AssignmentSubject::Group(staff.id)
        ]
    );

    // Removing the group assignment: bob is no longer assigned.
    assert!(
        store
            .remove_app_assignment(
                &app,
                &AssignmentSubject::Group(staff.id),
                &fx.audit("app_assignment.removed", &target)
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .remove_app_assignment(
                &app,
                &AssignmentSubject::Group(staff.id),
                &fx.audit("app_assignment.removed", &target)
            )
            .await
            .unwrap()
    );
    assert!(!store.is_assigned(&app, bob.id).await.unwrap());

    // Deleting the user, then the SP, removes what pointed at them.
    store
        .add_app_assignment(
            &assign(AssignmentSubject::Group(staff.id)),
            &fx.audit("a", "a"),
        )
        .await
        .unwrap();
    store
        .delete_group(staff.id, &fx.audit("group.delete", "g"))
        .await
        .unwrap();
    store
        .delete_user(ada.id, &fx.audit("user.delete", "u"))
        .await
        .unwrap();
    assert!(store.list_app_assignments(&app).await.unwrap().is_empty());
    store
        .add_app_assignment(
            &assign(AssignmentSubject::User(bob.id)),
            &fx.audit("a", "a"),
        )
        .await
        .unwrap();
    store
        .delete_service_provider(s.id, &fx.audit("sp.delete", "s"))
        .await
        .unwrap();
    assert!(store.list_app_assignments(&app).await.unwrap().is_empty());
}

/// A logout chain is found by its handle or outstanding request, advanced
/// and finished by compare-and-set on that request (a replayed or late
/// LogoutResponse cannot advance it twice), and expires.
pub async fn saml_logout_chain_advances_once(store: Arc<dyn Store>) {
    use gatehouse_core::model::{LogoutChainState, LogoutFinish, LogoutTarget, SamlLogoutChain};
    let fx = Fx::new();
    let (org, _, session, _) = signed_in(store.as_ref(), &fx).await;
    let s = sp(&fx, org, "urn:chain");
    store
        .create_service_provider(&s, &fx.audit("c", "x"))
        .await
        .unwrap();
    let now = fx.now();
    let target = LogoutTarget {
        sp_id: s.id,
        name_id: "n".into(),
        name_id_format: "f".into(),
        session_index: "_i".into(),
    };
    let chain = SamlLogoutChain {
        id: "chain-1".into(),
        handle_hash: TokenHash::of("h0"),
        current_request_id: String::new(),
        state: LogoutChainState {
            session_id: session.id,
            remaining: vec![target.clone(), target.clone()],
            current: None,
            finish: LogoutFinish::Redirect {
                url: "https://rp.example/bye?state=s".into(),
            },
            steps: 0,
            partial: false,
        },
        created_at: now,
        expires_at: now + 1000,
    };
    store.put_saml_logout_chain(&chain, now).await.unwrap();
    assert_eq!(
        store
            .find_saml_logout_chain(&TokenHash::of("h0"), now)
            .await
            .unwrap(),
        Some(chain.clone())
    );
    assert_eq!(
        store
            .find_saml_logout_chain_by_request("", now)
            .await
            .unwrap(),
        None
    );
    let mut next = chain.clone();
    next.handle_hash = TokenHash::of("h1");
    next.current_request_id = "_lr1".into();
    next.state.current = next.state.remaining.pop();
    next.state.steps = 1;
    assert!(
        !store
            .advance_saml_logout_chain(&next, "_other")
            .await
            .unwrap()
    );
    assert!(store.advance_saml_logout_chain(&next, "").await.unwrap());
    assert!(
        !store.advance_saml_logout_chain(&next, "").await.unwrap(),
        "advanced once"
    );
    assert_eq!(
        store
            .find_saml_logout_chain_by_request("_lr1", now)
            .await
            .unwrap(),
        Some(next.clone())
    );
    assert_eq!(
        store
            .find_saml_logout_chain(&TokenHash::of("h0"), now)
            .await
            .unwrap(),
        None,
        "the old handle is spent"
    );
    assert!(!store.finish_saml_logout_chain("chain-1", "").await.unwrap());
    assert!(
        store
            .finish_saml_logout_chain("chain-1", "_lr1")
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .find_saml_logout_chain_by_request("_lr1", now)
            .await
            .unwrap(),
        None
    );
    // Expiry.
    let mut old = chain.clone();
    old.id = "chain-2".into();
    old.handle_hash = TokenHash::of("h2");
    store.put_saml_logout_chain(&old, now).await.unwrap();
    assert_eq!(
        store
            .find_saml_logout_chain(&TokenHash::of("h2"), now + 1000)
            .await
            .unwrap(),
        None
    );
}
