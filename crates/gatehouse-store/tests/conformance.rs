//! Storage conformance suite: every case is written once against `Arc<dyn Store>`
//! and runs on SQLite (a fresh file in a temp dir) always, and on PostgreSQL (a
//! fresh database per test, dropped afterwards) when `GATEHOUSE_TEST_POSTGRES_URL`
//! names a server; without it the `postgres::*` tests pass without doing anything.
//!
//! The [`conformance!`] macro expands each case into `sqlite::<case>` and
//! `postgres::<case>`. Password hashes here are fake PHC strings: no hashing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "cases/factors.rs"]
mod factors;
#[path = "cases/group_rules.rs"]
mod group_rules;
#[path = "cases/logout_deliveries.rs"]
mod logout_deliveries;
#[path = "cases/saml.rs"]
mod saml;
#[path = "cases/scim.rs"]
mod scim;
#[path = "cases/sessions_grants.rs"]
mod sessions_grants;
#[path = "cases/sign_in_throttle.rs"]
mod sign_in_throttle;
mod signing_keys;
mod support;
#[path = "cases/webauthn.rs"]
mod webauthn;

use std::collections::HashSet;
use std::sync::Arc;

use gatehouse_core::StoreError;
use gatehouse_core::ids::{ApiTokenId, OrgId, UserId};
use gatehouse_core::model::{
    AuditQuery, Client, ClientAuthMethod, ClientGrant, ClientQuery, Group, GroupQuery, Page,
    SortOrder, SubjectType, TokenLifetimes, TokenScope, User, UserQuery, UserSort, UserStatus,
};
use gatehouse_core::password::StoredPassword;
use gatehouse_core::secret::TokenHash;
use gatehouse_core::store::Store;

use factors::*;
use group_rules::*;
use logout_deliveries::*;
use saml::*;
use scim::*;
use sessions_grants::*;
use sign_in_throttle::*;
use signing_keys::{
    signing_key_concurrent_first_starts_agree_on_one_key_per_state,
    signing_key_concurrent_rotations_rotate_once, signing_key_insert_unless_its_state_is_taken,
    signing_key_retired_removed_only_after_remove_after, signing_key_rotation_is_compare_and_set,
};
use support::Fx;
use webauthn::*;

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let db = super::support::TestDb::sqlite().await;
                    super::$case(db.store.clone()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(db) = super::support::TestDb::postgres().await else { return };
                    super::$case(db.store.clone()).await;
                }
            )*
        }
    };
}

conformance!(
    org_ensure_is_idempotent,
    org_create_get_and_conflicts,
    org_find_by_domain_is_case_insensitive,
    org_update_replaces_domains_and_checks_version,
    org_list_walks_pages,
    org_delete_cascades_but_keeps_audit,
    user_create_get_and_find_case_insensitively,
    user_duplicate_username_conflicts_within_org_only,
    user_duplicate_email_conflicts_within_org_only,
    user_without_email_never_collides,
    user_in_missing_org_is_missing,
    user_update_with_stale_version_changes_nothing,
    user_update_to_taken_username_conflicts,
    user_concurrent_updates_exactly_one_wins,
    user_mutations_write_audit_only_when_they_commit,
    user_delete_cascades_credentials_and_memberships,
    user_list_walks_pages_in_every_sort,
    user_list_filters,
    user_list_rejects_foreign_cursor,
    password_set_and_history_keeps_n,
    password_for_missing_user_is_missing,
    password_rehash_only_replaces_the_hash_it_verified,
    group_crud_and_case_insensitive_name_conflict,
    group_update_with_stale_version_conflicts,
    group_membership_is_idempotent,
    group_list_walks_pages_with_prefix,
    api_token_create_find_revoke_list,
    client_create_get_and_conflicts,
    client_list_walks_pages_by_org,
    client_update_checks_version_and_writes_audit_only_on_commit,
    client_concurrent_updates_exactly_one_wins,
    client_delete_and_org_deletion_cascade,
    client_assertion_jti_is_single_use_under_concurrency,
    audit_append_and_list_newest_first,
    meta_put_if_absent_and_take,
    store_is_empty_until_a_user_or_token_exists,
    session_find_touch_list_and_revoke,
    session_idle_timeout_and_remembered_device_round_trip,
    code_is_redeemed_once_and_reuse_revokes_the_grant,
    code_concurrent_redemptions_exactly_one_wins,
    refresh_rotates_and_reuse_revokes_the_family,
    refresh_concurrent_rotations_exactly_one_wins,
    pending_authorization_is_taken_once_and_expires,
    consent_is_replaced_and_jti_revocation_is_idempotent,
    purge_removes_only_what_expired,
    audit_batch_appends_every_event_in_one_go,
    device_code_is_decided_once_and_spent_by_one_poll,
    logout_deliveries_enqueue_only_with_the_revocation,
    logout_delivery_retry_complete_and_abandon,
    logout_delivery_concurrent_claims_take_each_once,
    signing_key_insert_unless_its_state_is_taken,
    signing_key_concurrent_first_starts_agree_on_one_key_per_state,
    signing_key_rotation_is_compare_and_set,
    signing_key_concurrent_rotations_rotate_once,
    signing_key_retired_removed_only_after_remove_after,
    sign_in_failures_back_off_lock_and_restart_after_the_window,
    sign_in_concurrent_failures_are_all_counted,
    sign_in_success_resets_remembers_the_device_and_admin_clears,
    sign_in_purge_removes_only_idle_counters_and_old_devices,
    saml_service_provider_crud_and_conflicts,
    saml_request_ids_are_single_use,
    saml_pending_is_spent_once_and_expires,
    saml_participation_keeps_the_first_session_index,
    app_assignments_direct_and_through_groups,
    saml_logout_chain_advances_once,
    factor_totp_step_is_compare_and_set,
    factor_concurrent_codes_exactly_one_wins,
    factor_phone_code_is_spent_once,
    factor_question_is_replaced_whole,
    mfa_challenge_completes_once_and_expires,
    webauthn_credential_is_unique_and_goes_with_its_factor,
    webauthn_counter_must_advance,
    webauthn_ceremony_is_taken_once_and_expires,
    magic_link_is_spent_once_and_rate_limited,
    signon_policy_round_trips,
    scim_user_and_its_row_change_together,
    scim_lists_count_filter_and_page,
    scim_group_members_are_set_atomically,
    scim_email_filters_follow_every_write,
    group_rule_memberships_change_with_the_user_write,
    group_rules_are_org_scoped_and_go_with_their_group,
);

// ---------------------------------------------------------------- helpers

async fn audit_count(store: &dyn Store, target: &str) -> usize {
    let query = AuditQuery {
        target_id: Some(target.to_owned()),
        limit: 1000,
        ..AuditQuery::default()
    };
    store.list_audit(&query).await.unwrap().items.len()
}

async fn all_users(store: &dyn Store, mut query: UserQuery) -> (Vec<User>, usize) {
    let mut out = Vec::new();
    let mut pages = 0;
    loop {
        let Page { items, next } = store.list_users(&query).await.unwrap();
        pages += 1;
        assert!(items.len() <= query.limit as usize || query.limit == 0);
        out.extend(items);
        match next {
            Some(cursor) => query.after = Some(cursor),
            None => return (out, pages),
        }
        assert!(pages < 100, "pagination does not terminate");
    }
}

fn ids(users: &[User]) -> Vec<UserId> {
    users.iter().map(|u| u.id).collect()
}

fn fake_hash(n: u32) -> StoredPassword {
    StoredPassword::from_stored(format!(
        "$argon2id$v=19$m=19456,t=2,p=1$ZmFrZXNhbHQ${n:043}"
    ))
}

// ---------------------------------------------------------------- orgs

async fn org_ensure_is_idempotent(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let mut org = fx.org("default");
    org.id = OrgId::DEFAULT;
    org.domains = vec!["Example.COM".into()];
    store.ensure_org(&org).await.unwrap();
    let mut changed = org.clone();
    changed.name = "renamed".into();
    store.ensure_org(&changed).await.unwrap();
    let stored = store.get_org(OrgId::DEFAULT).await.unwrap().unwrap();
    assert_eq!(stored.name, org.name);
    assert_eq!(stored.domains, vec!["example.com".to_owned()]);
    assert_eq!(stored.password_policy, org.password_policy);
    assert_eq!(store.list_orgs(None, 0).await.unwrap().items.len(), 1);
}

async fn org_create_get_and_conflicts(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let mut acme = fx.org("acme");
    acme.domains = vec!["acme.test".into(), "acme.example".into()];
    acme.profile_schema = Some(serde_json::json!({"type": "object"}));
    store
        .create_org(&acme, &fx.audit("org.create", &acme.id.to_string()))
        .await
        .unwrap();
    let stored = store.get_org(acme.id).await.unwrap().unwrap();
    assert_eq!(
        stored.domains,
        vec!["acme.example".to_owned(), "acme.test".to_owned()]
    );
    assert_eq!(
        Organization {
            domains: acme.domains.clone(),
            ..stored.clone()
        },
        acme
    );
    assert!(store.get_org(fx.org("nope").id).await.unwrap().is_none());

    let same_slug = fx.org("acme");
    let err = store
        .create_org(
            &same_slug,
            &fx.audit("org.create", &same_slug.id.to_string()),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict("slug")), "{err:?}");
    assert_eq!(audit_count(&*store, &same_slug.id.to_string()).await, 0);

    let mut same_domain = fx.org("other");
    same_domain.domains = vec!["ACME.test".into()];
    let err = store
        .create_org(
            &same_domain,
            &fx.audit("org.create", &same_domain.id.to_string()),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict("domain")), "{err:?}");
    // The failed create left nothing behind, the org row included.
    assert!(store.get_org(same_domain.id).await.unwrap().is_none());
    assert_eq!(audit_count(&*store, &same_domain.id.to_string()).await, 0);
    assert_eq!(audit_count(&*store, &acme.id.to_string()).await, 1);
}

use gatehouse_core::model::Organization;

async fn org_find_by_domain_is_case_insensitive(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let mut org = fx.org("acme");
    org.domains = vec!["acme.test".into()];
    store
        .create_org(&org, &fx.audit("org.create", "x"))
        .await
        .unwrap();
    let found = store
        .find_org_by_domain("ACME.Test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, org.id);
    assert_eq!(found.domains, vec!["acme.test".to_owned()]);
    assert!(
        store
            .find_org_by_domain("other.test")
            .await
            .unwrap()
            .is_none()
    );
}

async fn org_update_replaces_domains_and_checks_version(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let mut org = fx.org("acme");
    org.domains = vec!["a.test".into(), "b.test".into()];
    store
        .create_org(&org, &fx.audit("org.create", "x"))
        .await
        .unwrap();
    let mut other = fx.org("other");
    other.domains = vec!["z.test".into()];
    store
        .create_org(&other, &fx.audit("org.create", "x"))
        .await
        .unwrap();

    let mut edit = org.clone();
    edit.name = "Acme Corp".into();
    edit.domains = vec!["b.test".into(), "c.test".into()];
    let target = org.id.to_string();
    let stored = store
        .update_org(&edit, &fx.audit("org.update", &target))
        .await
        .unwrap();
    assert_eq!(stored.version, org.version + 1);
    assert_eq!(
        stored.domains,
        vec!["b.test".to_owned(), "c.test".to_owned()]
    );
    assert_eq!(store.get_org(org.id).await.unwrap().unwrap(), stored);
    assert!(store.find_org_by_domain("a.test").await.unwrap().is_none());
    assert_eq!(
        store
            .find_org_by_domain("c.test")
            .await
            .unwrap()
            .unwrap()
            .id,
        org.id
    );

    // Stale version: nothing changes, no audit.
    let err = store
        .update_org(&edit, &fx.audit("org.update", &target))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::VersionConflict), "{err:?}");
    assert_eq!(audit_count(&*store, &target).await, 1);

    // Taking another org's domain conflicts and keeps the old domains.
    let mut steal = stored.clone();
    steal.domains = vec!["z.test".into()];
    let err = store
        .update_org(&steal, &fx.audit("org.update", &target))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict("domain")), "{err:?}");
    assert_eq!(store.get_org(org.id).await.unwrap().unwrap(), stored);

    let mut slug = stored.clone();
    slug.slug = "other".into();
    let err = store
        .update_org(&slug, &fx.audit("org.update", &target))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict("slug")), "{err:?}");

    let missing = fx.org("ghost");
    let err = store
        .update_org(&missing, &fx.audit("org.update", "ghost"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Missing("org")), "{err:?}");
}

async fn org_list_walks_pages(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let mut created = Vec::new();
    for i in 0..11 {
        let mut org = fx.org(&format!("org-{i}"));
        org.domains = vec![format!("d{i}.test"), format!("e{i}.test")];
        store
            .create_org(&org, &fx.audit("org.create", "x"))
            .await
            .unwrap();
        created.push(org.id);
    }
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store.list_orgs(after.as_deref(), 4).await.unwrap();
        assert!(page.items.len() <= 4);
        for org in &page.items {
            assert_eq!(
                org.domains.len(),
                2,
                "domains are loaded with each listed org"
            );
        }
        seen.extend(page.items.iter().map(|o| o.id));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    created.sort();
    assert_eq!(seen, created);
    let err = store.list_orgs(Some("garbage"), 4).await.unwrap_err();
    assert!(matches!(err, StoreError::Missing("cursor")), "{err:?}");
}

async fn org_delete_cascades_but_keeps_audit(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let mut org = fx.org("acme");
    org.domains = vec!["acme.test".into()];
    store
        .create_org(&org, &fx.audit("org.create", "x"))
        .await
        .unwrap();
    let user = fx.user(org.id, "alice", Some("alice@acme.test"));
    store
        .create_user(&user, Some(&fake_hash(1)), &fx.audit("user.create", "x"))
        .await
        .unwrap();
    let group = fx.group(org.id, "admins");
    store
        .create_group(&group, &fx.audit("group.create", "x"))
        .await
        .unwrap();
    store
        .add_member(group.id, user.id, fx.now(), &fx.audit("group.add", "x"))
        .await
        .unwrap();
    let token = fx.token(TokenScope::Org(org.id), "t1");
    store
        .create_api_token(&token, &fx.audit("api_token.create", "x"))
        .await
        .unwrap();

    let target = org.id.to_string();
    assert!(
        store
            .delete_org(org.id, &fx.audit("org.delete", &target))
            .await
            .unwrap()
    );
    assert!(store.get_org(org.id).await.unwrap().is_none());
    assert!(store.get_user(user.id).await.unwrap().is_none());
    assert!(store.get_password(user.id).await.unwrap().is_none());
    assert!(store.get_group(group.id).await.unwrap().is_none());
    assert!(store.get_api_token(token.id).await.unwrap().is_none());
    assert!(
        store
            .find_org_by_domain("acme.test")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(audit_count(&*store, &target).await, 1);
    assert!(
        !store
            .delete_org(org.id, &fx.audit("org.delete", &target))
            .await
            .unwrap()
    );
    assert_eq!(
        audit_count(&*store, &target).await,
        1,
        "a delete that found nothing writes no audit"
    );
}

// ---------------------------------------------------------------- users

async fn user_create_get_and_find_case_insensitively(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let org = fx.seed_org(&*store, "acme").await;
    let mut user = fx.user(org, "Alice.Smith", Some("Alice@Example.COM"));
    user.claims.given_name = Some("Alice".into());
    user.claims.phone_number_verified = true;
    user.attributes
        .insert("department".into(), serde_json::json!("R&D"));
    user.last_login_at = Some(fx.now());
    store
        .create_user(&user, None, &fx.audit("user.create", &user.id.to_string()))
        .await
        .unwrap();

    assert_eq!(store.get_user(user.id).await.unwrap().unwrap(), user);
    assert_eq!(
        store
            .find_user_by_username(org, "alice.smith")
            .await
            .unwrap()
            .unwrap(),
        user
    );
    assert_eq!(
        store
            .find_user_by_username(org, "ALICE.SMITH")
            .await
            .unwrap()
            .unwrap(),
        user
    );
    assert_eq!(
        store
            .find_user_by_email(org, "alice@example.com")
            .await
            .unwrap()
            .unwrap(),
        user
    );
    assert!(
        store
            .find_user_by_email(org, "bob@example.com")
            .await
            .unwrap()
            .is_none()
    );
    let other = fx.seed_org(&*store, "other").await;
    assert!(
        store
            .find_user_by_username(other, "alice.smith")
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.get_password(user.id).await.unwrap().is_none());
}

async fn user_duplicate_username_conflicts_within_org_only(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let org = fx.seed_org(&*store, "acme").await;
    let other = fx.seed_org(&*store, "other").await;
    store
        .create_user(
            &fx.user(org, "alice", None),
            None,
            &fx.audit("user.create", "a"),
        )
        .await
        .unwrap();
    let dup = fx.user(org, "ALICE", None);
    let err = store
        .create_user(&dup, Some(&fake_hash(1)), &fx.audit("user.create", "dup"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict("username")), "{err:?}");
    assert!(store.get_user(dup.id).await.unwrap().is_none());
    assert!(store.get_password(dup.id).await.unwrap().is_none());
    store
        .create_user(
            &fx.user(other, "Alice", None),
            None,
            &fx.audit("user.create", "b"),
        )
        .await
        .unwrap();
}

async fn user_duplicate_email_conflicts_within_org_only(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let org = fx.seed_org(&*store, "acme").await;
    let other = fx.seed_org(&*store, "other").await;
    store
        .create_user(
            &fx.user(org, "alice", Some("a@x.test")),
            None,
            &fx.audit("user.create", "a"),
        )
        .await
        .unwrap();
    let err = store
        .create_user(
            &fx.user(org, "alice2", Some("A@X.TEST")),
            None,
            &fx.audit("user.create", "dup"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict("email")), "{err:?}");
    store
        .create_user(
            &fx.user(other, "alice", Some("a@x.test")),
            None,
            &fx.audit("user.create", "b"),
        )
        .await
        .unwrap();
}

async fn user_without_email_never_collides(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let org = fx.seed_org(&*store, "acme").await;
    for name in ["a", "b", "c"] {
        store
            .create_user(
                &fx.user(org, name, None),
                None,
                &fx.audit("user.create", name),
            )
            .await
            .unwrap();
    }
    let (users, _) = all_users(
        &*store,
        UserQuery {
            org_id: Some(org),
            limit: 10,
            ..UserQuery::default()
        },
    )
    .await;
    assert_eq!(users.len(), 3);
}

async fn user_in_missing_org_is_missing(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let user = fx.user(fx.org("ghost").id, "alice", None);
    let err = store
        .create_user(&user, None, &fx.audit("user.create", &user.id.to_string()))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Missing("org")), "{err:?}");
    assert_eq!(audit_count(&*store, &user.id.to_string()).await, 0);
}

async fn user_update_with_stale_version_changes_nothing(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let org = fx.seed_org(&*store, "acme").await;
    let user = fx.user(org, "alice", Some("a@x.test"));
    let target = user.id.to_string();
    store
        .create_user(&user, None, &fx.audit("user.create", &target))
        .await
        .unwrap();

    let mut edit = user.clone();
    edit.username = "Alicia".into();
    edit.status = UserStatus::Suspended;
    edit.email = None;
    let stored = store
        .update_user(&edit, &fx.audit("user.update", &target))
        .await
        .unwrap();
    assert_eq!(
        stored,
        User {
            version: user.version + 1,
            ..edit.clone()
        }
    );
    assert_eq!(store.get_user(user.id).await.unwrap().unwrap(), stored);
    assert_eq!(
        store
            .find_user_by_username(org, "alicia")
            .await
            .unwrap()
            .unwrap()
            .id,
        user.id
    );
    assert!(
        store
            .find_user_by_username(org, "alice")
            .await
            .unwrap()
            .is_none()
    );

    let mut stale = user.clone();
    stale.username = "mallory".into();
    let err = store
        .update_user(&stale, &fx.audit("user.update", &target))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::VersionConflict), "{err:?}");
    assert_eq!(store.get_user(user.id).await.unwrap().unwrap(), stored);
    assert_eq!(audit_count(&*store, &target).await, 2);

    let ghost = fx.user(org, "ghost", None);
    let err = store
        .update_user(&ghost, &fx.audit("user.update", "ghost"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Missing("user")), "{err:?}");
}

async fn user_update_to_taken_username_conflicts(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let org = fx.seed_org(&*store, "acme").await;
    let alice = fx.user(org, "alice", Some("alice@x.test"));
    let bob = fx.user(org, "bob", Some("bob@x.test"));
    store
        .create_user(&alice, None, &fx.audit("user.create", "a"))
        .await
        .unwrap();
    store
        .create_user(&bob, None, &fx.audit("user.create", "b"))
        .await
        .unwrap();
    let mut edit = bob.clone();
    edit.username = "ALICE".into();
    let err = store
        .update_user(&edit, &fx.audit("user.update", "b"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict("username")), "{err:?}");
    let mut edit = bob.clone();
    edit.email = Some("Alice@X.test".into());
    let err = store
        .update_user(&edit, &fx.audit("user.update", "b"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict("email")), "{err:?}");
    assert_eq!(store.get_user(bob.id).await.unwrap().unwrap(), bob);
}

async fn user_concurrent_updates_exactly_one_wins(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let org = fx.seed_org(&*store, "acme").await;
    let user = fx.user(org, "alice", None);
    store
        .create_user(&user, None, &fx.audit("user.create", "a"))
        .await
        .unwrap();
    for round in 0..5 {
        let current = store.get_user(user.id).await.unwrap().unwrap();
        let tasks: Vec<_> = (0..2)
            .map(|i| {
                let store = store.clone();
                let mut edit = current.clone();
                edit.claims.nickname = Some(format!("round {round} task {i}"));
                let audit = fx.audit("user.update", &user.id.to_string());
                tokio::spawn(async move { store.update_user(&edit, &audit).await })
            })
            .collect();
        let mut wins = 0;
        let mut conflicts = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(stored) => {
                    assert_eq!(stored.version, current.version + 1);
                    wins += 1;
                }
                Err(StoreError::VersionConflict) => conflicts += 1,
                Err(other) => panic!("unexpected error: {other:?}"),
            }
        }
        assert_eq!((wins, conflicts), (1, 1), "round {round}");
        assert_eq!(
            store.get_user(user.id).await.unwrap().unwrap().version,
            current.version + 1
        );
    }
}

async fn user_mutations_write_audit_only_when_they_commit(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let org = fx.seed_org(&*store, "acme").await;
    let user = fx.user(org, "alice", None);
    let target = user.id.to_string();
    let create = fx.audit("user.create", &target);
    store.create_user(&user, None, &create).await.unwrap();
    let events = store
        .list_audit(&AuditQuery {
            target_id: Some(target.clone()),
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap()
        .items;
    assert_eq!(
        events,
        vec![create.clone()],
        "the event is stored exactly as given"
    );

    // A duplicate fails and leaves no event.
    let dup = fx.user(org, "alice", None);
    store
        .create_user(&dup, None, &fx.audit("user.create", &dup.id.to_string()))
        .await
        .unwrap_err();
    assert_eq!(audit_count(&*store, &dup.id.to_string()).await, 0);

    // Password changes with an event record it; a transparent rehash does not.
    store
        .set_password(
            user.id,
            &fake_hash(1),
            3,
            fx.now(),
            Some(&fx.audit("user.password", &target)),
        )
        .await
        .unwrap();
    store
        .set_password(user.id, &fake_hash(2), 3, fx.now(), None)
        .await
        .unwrap();
    assert_eq!(audit_count(&*store, &target).await, 2);

    // An event whose id is already taken makes the whole mutation fail.
    let mut edit = user.clone();
    edit.username = "alicia".into();
    let err = store.update_user(&edit, &create).await.unwrap_err();
    assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
    assert_eq!(
        store.get_user(user.id).await.unwrap().unwrap(),
        user,
        "the update rolled back with its event"
    );

    assert!(
        store
            .delete_user(user.id, &fx.audit("user.delete", &target))
            .await
            .unwrap()
    );
    assert_eq!(audit_count(&*store, &target).await, 3);
}

async fn user_delete_cascades_credentials_and_memberships(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let org = fx.seed_org(&*store, "acme").await;
    let user = fx.user(org, "alice", None);
    store
        .create_user(&user, Some(&fake_hash(1)), &fx.audit("user.create", "a"))
        .await
        .unwrap();
    store
        .set_password(user.id, &fake_hash(2), 5, fx.now(), None)
        .await
        .unwrap();
    let group = fx.group(org, "staff");
    store
        .create_group(&group, &fx.audit("group.create", "g"))
        .await
        .unwrap();
    assert!(
        store
            .add_member(group.id, user.id, fx.now(), &fx.audit("group.add", "g"))
            .await
            .unwrap()
    );

    assert!(
        store
            .delete_user(user.id, &fx.audit("user.delete", "a"))
            .await
            .unwrap()
    );
    assert!(store.get_user(user.id).await.unwrap().is_none());
    assert!(store.get_password(user.id).await.unwrap().is_none());
    assert!(
        store
            .password_history(user.id, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.groups_of_user(user.id).await.unwrap().is_empty());
    let members = UserQuery {
        group_id: Some(group.id),
        limit: 10,
        ..UserQuery::default()
    };
    assert!(store.list_users(&members).await.unwrap().items.is_empty());
    assert!(
        store.get_group(group.id).await.unwrap().is_some(),
        "the group stays"
    );
    assert!(
        !store
            .delete_user(user.id, &fx.audit("user.delete", "a"))
            .await
            .unwrap()
    );
}

async fn user_list_walks_pages_in_every_sort(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let org = fx.seed_org(&*store, "acme").await;
    let other = fx.seed_org(&*store, "other").await;
    let mut created = Vec::new();
    for i in 0..25 {
        // Usernames out of creation order, mixed case.
        let name = if i % 2 == 0 {
            format!("User{:02}", 24 - i)
        } else {
            format!("user{:02}", 24 - i)
        };
        let user = fx.user(org, &name, Some(&format!("{name}@x.test")));
        store
            .create_user(&user, None, &fx.audit("user.create", "x"))
            .await
            .unwrap();
        created.push(user);
    }
    store
        .create_user(
            &fx.user(other, "zz-other-org", None),
            None,
            &fx.audit("user.create", "x"),
        )
        .await
        .unwrap();

    let mut by_created = created.clone();
    by_created.sort_by_key(|u| u.id);
    let mut by_name = created.clone();
    by_name.sort_by_key(|u| (u.username.to_lowercase(), u.id));

    for (sort, order, expected) in [
        (UserSort::Created, SortOrder::Asc, ids(&by_created)),
        (
            UserSort::Created,
            SortOrder::Desc,
            ids(&by_created).into_iter().rev().collect(),
        ),
        (UserSort::Username, SortOrder::Asc, ids(&by_name)),
        (
            UserSort::Username,
            SortOrder::Desc,
            ids(&by_name).into_iter().rev().collect(),
        ),
    ] {
        let query = UserQuery {
            org_id: Some(org),
            sort,
            order,
            limit: 7,
            ..UserQuery::default()
        };
        let (users, pages) = all_users(&*store, query).await;
        assert_eq!(ids(&users), expected, "{sort:?} {order:?}");
        assert_eq!(pages, 4, "{sort:?} {order:?}: 7 + 7 + 7 + 4");
        assert_eq!(users.iter().map(|u| u.id).collect::<HashSet<_>>().len(), 25);
    }

    // Limit 0 means the default page size (50); no org filter lists every org.
    let page = store.list_users(&UserQuery::default()).await.unwrap();
    assert_eq!(page.items.len(), 26);
    assert!(page.next.is_none());
    // An exact fit ends with no further cursor or with an empty last page, never a repeat.
    let (users, _) = all_users(
        &*store,
        UserQuery {
            org_id: Some(org),
            limit: 25,
            ..UserQuery::default()
        },
    )
    .await;
    assert_eq!(users.len(), 25);
}

async fn user_list_filters(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let org = fx.seed_org(&*store, "acme").await;
    let other = fx.seed_org(&*store, "other").await;
    let names = [
        "alice", "Alfred", "alvin", "bob", "ALBERT", "al", "ak", "am",
    ];
    let mut users = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let mut user = fx.user(org, name, Some(&format!("{name}@X.test")));
        if i % 3 == 0 {
            user.status = UserStatus::Suspended;
        }
        store
            .create_user(&user, None, &fx.audit("user.create", "x"))
            .await
            .unwrap();
        users.push(user);
    }
    store
        .create_user(
            &fx.user(other, "alien", Some("alice@x.test")),
            None,
            &fx.audit("user.create", "x"),
        )
        .await
        .unwrap();

    let list = |query: UserQuery| {
        let store = store.clone();
        async move {
            let (users, _) = all_users(&*store, UserQuery { limit: 2, ..query }).await;
            users.into_iter().map(|u| u.username).collect::<Vec<_>>()
        }
    };
    let by_name = |prefix: &str, org: Option<OrgId>| UserQuery {
        org_id: org,
        username_prefix: Some(prefix.to_owned()),
        sort: UserSort::Username,
        ..UserQuery::default()
    };
    assert_eq!(
        list(by_name("AL", Some(org))).await,
        ["al", "ALBERT", "Alfred", "alice", "alvin"]
    );
    assert_eq!(
        list(by_name("al", None)).await,
        ["al", "ALBERT", "Alfred", "alice", "alien", "alvin"]
    );
    assert_eq!(list(by_name("ali", Some(org))).await, ["alice"]);
    assert_eq!(list(by_name("x", Some(org))).await, Vec::<String>::new());
    assert_eq!(list(by_name("", Some(org))).await.len(), names.len());

    let suspended = UserQuery {
        org_id: Some(org),
        status: Some(UserStatus::Suspended),
        ..UserQuery::default()
    };
    let expected: Vec<_> = users
        .iter()
        .filter(|u| u.status == UserStatus::Suspended)
        .map(|u| u.username.clone())
        .collect();
    assert_eq!(list(suspended).await, expected);

    let email = UserQuery {
        org_id: Some(org),
        email: Some("ALICE@x.TEST".into()),
        ..UserQuery::default()
    };
    assert_eq!(list(email).await, ["alice"]);
    let email_any_org = UserQuery {
        email: Some("alice@x.test".into()),
        ..UserQuery::default()
    };
    assert_eq!(list(email_any_org).await.len(), 2);

    let group = fx.group(org, "pilots");
    store
        .create_group(&group, &fx.audit("group.create", "g"))
        .await
        .unwrap();
    for user in users
        .iter()
        .filter(|u| u.username.to_lowercase().starts_with("al"))
    {
        store
            .add_member(group.id, user.id, fx.now(), &fx.audit("group.add", "g"))
            .await
            .unwrap();
    }
    let members = UserQuery {
        group_id: Some(group.id),
        status: Some(UserStatus::Active),
        sort: UserSort::Username,
        order: SortOrder::Desc,
        ..UserQuery::default()
    };
    let expected: Vec<_> = {
        let mut v: Vec<_> = users
            .iter()
            .filter(|u| {
                u.username.to_lowercase().starts_with("al") && u.status == UserStatus::Active
            })
            .map(|u| u.username.clone())
            .collect();
        v.sort_by_key(|n| std::cmp::Reverse(n.to_lowercase()));
        v
    };
    assert_eq!(list(members).await, expected);
}

async fn user_list_rejects_foreign_cursor(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let org = fx.seed_org(&*store, "acme").await;
    for name in ["a", "b", "c"] {
        store
            .create_user(
                &fx.user(org, name, None),
                None,
                &fx.audit("user.create", "x"),
            )
            .await
            .unwrap();
    }
    let first = UserQuery {
        org_id: Some(org),
        sort: UserSort::Username,
        limit: 1,
        ..UserQuery::default()
    };
    let cursor = store.list_users(&first).await.unwrap().next.unwrap();
    for foreign in [
        UserQuery {
            sort: UserSort::Created,
            ..first.clone()
        },
        UserQuery {
            order: SortOrder::Desc,
            ..first.clone()
        },
    ] {
        let err = store
            .list_users(&UserQuery {
                after: Some(cursor.clone()),
                ..foreign
            })
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Missing("cursor")), "{err:?}");
    }
    let err = store
        .list_users(&UserQuery {
            after: Some("%%%".into()),
            ..first.clone()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Missing("cursor")), "{err:?}");
    let page = store
        .list_users(&UserQuery {
            after: Some(cursor),
            ..first
        })
        .await
        .unwrap();
    assert_eq!(page.items[0].username, "b");
}

// ---------------------------------------------------------------- passwords

async fn password_set_and_history_keeps_n(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let org = fx.seed_org(&*store, "acme").await;
    let user = fx.user(org, "alice", None);
    store
        .create_user(&user, Some(&fake_hash(0)), &fx.audit("user.create", "x"))
        .await
        .unwrap();
    assert_eq!(
        store.get_password(user.id).await.unwrap().unwrap().as_str(),
        fake_hash(0).as_str()
    );

    for n in 1..=5 {
        store
            .set_password(user.id, &fake_hash(n), 3, fx.now(), None)
            .await
            .unwrap();
    }
    assert_eq!(
        store.get_password(user.id).await.unwrap().unwrap().as_str(),
        fake_hash(5).as_str()
    );
    let history: Vec<String> = store
        .password_history(user.id, 10)
        .await
        .unwrap()
        .iter()
        .map(|p| p.as_str().to_owned())
        .collect();
    let expected: Vec<String> = [4, 3, 2]
        .iter()
        .map(|n| fake_hash(*n).as_str().to_owned())
        .collect();
    assert_eq!(history, expected, "newest first, at most keep_history");
    assert_eq!(store.password_history(user.id, 1).await.unwrap().len(), 1);

    // keep_history 0 keeps none.
    store
        .set_password(user.id, &fake_hash(6), 0, fx.now(), None)
        .await
        .unwrap();
    assert!(
        store
            .password_history(user.id, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // A user without a password gets one, with nothing moved to history.
    let bob = fx.user(org, "bob", None);
    store
        .create_user(&bob, None, &fx.audit("user.create", "x"))
        .await
        .unwrap();
    store
        .set_password(bob.id, &fake_hash(9), 3, fx.now(), None)
        .await
        .unwrap();
    assert_eq!(
        store.get_password(bob.id).await.unwrap().unwrap().as_str(),
        fake_hash(9).as_str()
    );
    assert!(store.password_history(bob.id, 10).await.unwrap().is_empty());
}

async fn password_for_missing_user_is_missing(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let org = fx.seed_org(&*store, "acme").await;
    let ghost = fx.user(org, "ghost", None);
    let target = ghost.id.to_string();
    let err = store
        .set_password(
            ghost.id,
            &fake_hash(1),
            3,
            fx.now(),
            Some(&fx.audit("user.password", &target)),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Missing("user")), "{err:?}");
    assert_eq!(audit_count(&*store, &target).await, 0);
}

// ---------------------------------------------------------------- groups

async fn group_crud_and_case_insensitive_name_conflict(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let org = fx.seed_org(&*store, "acme").await;
    let other = fx.seed_org(&*store, "other").await;
    let mut group = fx.group(org, "Admins");
    group.description = Some("the admins".into());
    store
        .create_group(&group, &fx.audit("group.create", &group.id.to_string()))
        .await
        .unwrap();
    assert_eq!(store.get_group(group.id).await.unwrap().unwrap(), group);

    let dup = fx.group(org, "ADMINS");
    let err = store
        .create_group(&dup, &fx.audit("group.create", &dup.id.to_string()))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict("name")), "{err:?}");
    assert_eq!(audit_count(&*store, &dup.id.to_string()).await, 0);
    store
        .create_group(&fx.group(other, "admins"), &fx.audit("group.create", "x"))
        .await
        .unwrap();
    let err = store
        .create_group(
            &fx.group(fx.org("ghost").id, "x"),
            &fx.audit("group.create", "x"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Missing("org")), "{err:?}");

    let mut edit = group.clone();
    edit.name = "Operators".into();
    edit.description = None;
    let stored = store
        .update_group(&edit, &fx.audit("group.update", "x"))
        .await
        .unwrap();
    assert_eq!(
        stored,
        Group {
            version: group.version + 1,
            ..edit
        }
    );
    assert_eq!(store.get_group(group.id).await.unwrap().unwrap(), stored);

    let target = group.id.to_string();
    assert!(
        store
            .delete_group(group.id, &fx.audit("group.delete", &target))
            .await
            .unwrap()
    );
    assert!(store.get_group(group.id).await.unwrap().is_none());
    assert!(
        !store
            .delete_group(group.id, &fx.audit("group.delete", &target))
            .await
            .unwrap()
    );
    assert_eq!(
        audit_count(&*store, &target).await,
        2,
        "create and the one delete that found the group"
    );
}

async fn group_update_with_stale_version_conflicts(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let org = fx.seed_org(&*store, "acme").await;
    let group = fx.group(org, "staff");
    let taken = fx.group(org, "taken");
    store
        .create_group(&group, &fx.audit("group.create", "x"))
        .await
        .unwrap();
    store
        .create_group(&taken, &fx.audit("group.create", "x"))
        .await
        .unwrap();
    let mut edit = group.clone();
    edit.name = "Staff2".into();
    store
        .update_group(&edit, &fx.audit("group.update", "x"))
        .await
        .unwrap();
    let err = store
        .update_group(&edit, &fx.audit("group.update", "x"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::VersionConflict), "{err:?}");
    let mut clash = store.get_group(group.id).await.unwrap().unwrap();
    clash.name = "TAKEN".into();
    let err = store
        .update_group(&clash, &fx.audit("group.update", "x"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict("name")), "{err:?}");
    let err = store
        .update_group(&fx.group(org, "ghost"), &fx.audit("group.update", "x"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Missing("group")), "{err:?}");
}

async fn group_membership_is_idempotent(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let org = fx.seed_org(&*store, "acme").await;
    let other = fx.seed_org(&*store, "other").await;
    let user = fx.user(org, "alice", None);
    store
        .create_user(&user, None, &fx.audit("user.create", "x"))
        .await
        .unwrap();
    let outsider = fx.user(other, "mallory", None);
    store
        .create_user(&outsider, None, &fx.audit("user.create", "x"))
        .await
        .unwrap();
    let zeta = fx.group(org, "zeta");
    let alpha = fx.group(org, "Alpha");
    store
        .create_group(&zeta, &fx.audit("group.create", "x"))
        .await
        .unwrap();
    store
        .create_group(&alpha, &fx.audit("group.create", "x"))
        .await
        .unwrap();

    let target = zeta.id.to_string();
    assert!(
        store
            .add_member(zeta.id, user.id, fx.now(), &fx.audit("group.add", &target))
            .await
            .unwrap()
    );
    assert!(
        !store
            .add_member(zeta.id, user.id, fx.now(), &fx.audit("group.add", &target))
            .await
            .unwrap()
    );
    assert_eq!(
        audit_count(&*store, &target).await,
        1,
        "a no-op add writes no audit"
    );
    assert!(
        store
            .add_member(alpha.id, user.id, fx.now(), &fx.audit("group.add", "x"))
            .await
            .unwrap()
    );
    let names: Vec<_> = store
        .groups_of_user(user.id)
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.name)
        .collect();
    assert_eq!(names, ["Alpha", "zeta"]);

    let err = store
        .add_member(zeta.id, outsider.id, fx.now(), &fx.audit("group.add", "x"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Missing("user")),
        "another org's user looks absent: {err:?}"
    );
    let ghost_user = fx.user(org, "ghost", None);
    let err = store
        .add_member(
            zeta.id,
            ghost_user.id,
            fx.now(),
            &fx.audit("group.add", "x"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Missing("user")), "{err:?}");
    let ghost_group = fx.group(org, "ghost");
    let err = store
        .add_member(
            ghost_group.id,
            user.id,
            fx.now(),
            &fx.audit("group.add", "x"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Missing("group")), "{err:?}");

    assert!(
        store
            .remove_member(zeta.id, user.id, &fx.audit("group.remove", &target))
            .await
            .unwrap()
    );
    assert!(
        !store
            .remove_member(zeta.id, user.id, &fx.audit("group.remove", &target))
            .await
            .unwrap()
    );
    assert_eq!(audit_count(&*store, &target).await, 2);
    let names: Vec<_> = store
        .groups_of_user(user.id)
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.name)
        .collect();
    assert_eq!(names, ["Alpha"]);
}

async fn group_list_walks_pages_with_prefix(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let org = fx.seed_org(&*store, "acme").await;
    let other = fx.seed_org(&*store, "other").await;
    let mut names = Vec::new();
    for i in 0..9 {
        let name = if i % 2 == 0 {
            format!("Team-{i}")
        } else {
            format!("team-{i}")
        };
        store
            .create_group(&fx.group(org, &name), &fx.audit("group.create", "x"))
            .await
            .unwrap();
        names.push(name);
    }
    store
        .create_group(&fx.group(org, "ops"), &fx.audit("group.create", "x"))
        .await
        .unwrap();
    store
        .create_group(&fx.group(other, "team-x"), &fx.audit("group.create", "x"))
        .await
        .unwrap();

    let mut query = GroupQuery {
        org_id: Some(org),
        name_prefix: Some("TEAM".into()),
        limit: 4,
        ..GroupQuery::default()
    };
    let mut seen = Vec::new();
    loop {
        let page = store.list_groups(&query).await.unwrap();
        assert!(page.items.len() <= 4);
        seen.extend(page.items.into_iter().map(|g| g.name));
        match page.next {
            Some(next) => query.after = Some(next),
            None => break,
        }
    }
    names.sort_by_key(|n| n.to_lowercase());
    assert_eq!(seen, names);
    let all = store.list_groups(&GroupQuery::default()).await.unwrap();
    assert_eq!(all.items.len(), 11);
    let err = store
        .list_groups(&GroupQuery {
            after: Some("x".into()),
            ..GroupQuery::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Missing("cursor")), "{err:?}");
}

// ---------------------------------------------------------------- api tokens

async fn api_token_create_find_revoke_list(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let org = fx.seed_org(&*store, "acme").await;
    let instance = fx.token(TokenScope::Instance, "root");
    let mut scoped = fx.token(TokenScope::Org(org), "ci");
    scoped.expires_at = Some(fx.now() + 60_000);
    store
        .create_api_token(&instance, &fx.audit("api_token.create", "x"))
        .await
        .unwrap();
    store
        .create_api_token(&scoped, &fx.audit("api_token.create", "x"))
        .await
        .unwrap();

    assert_eq!(
        store.find_api_token(&instance.hash).await.unwrap().unwrap(),
        instance
    );
    assert_eq!(
        store.get_api_token(scoped.id).await.unwrap().unwrap(),
        scoped
    );
    assert!(
        store
            .find_api_token(&TokenHash::of("nope"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .get_api_token(ApiTokenId(uuid::Uuid::nil()))
            .await
            .unwrap()
            .is_none()
    );

    let mut dup = fx.token(TokenScope::Instance, "dup");
    dup.hash = instance.hash.clone();
    let err = store
        .create_api_token(&dup, &fx.audit("api_token.create", "x"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict("hash")), "{err:?}");
    let err = store
        .create_api_token(
            &fx.token(TokenScope::Org(fx.org("ghost").id), "g"),
            &fx.audit("api_token.create", "x"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Missing("org")), "{err:?}");

    let all: Vec<_> = store
        .list_api_tokens(None)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(all, [scoped.id, instance.id], "newest first");
    let only_instance: Vec<_> = store
        .list_api_tokens(Some(TokenScope::Instance))
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(only_instance, [instance.id]);
    let only_org: Vec<_> = store
        .list_api_tokens(Some(TokenScope::Org(org)))
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(only_org, [scoped.id]);

    let target = scoped.id.to_string();
    let at = fx.now();
    assert!(
        store
            .revoke_api_token(scoped.id, at, &fx.audit("api_token.revoke", &target))
            .await
            .unwrap()
    );
    assert!(
        !store
            .revoke_api_token(scoped.id, at + 1, &fx.audit("api_token.revoke", &target))
            .await
            .unwrap()
    );
    assert_eq!(audit_count(&*store, &target).await, 1);
    let revoked = store.get_api_token(scoped.id).await.unwrap().unwrap();
    assert_eq!(
        revoked.revoked_at,
        Some(at),
        "revoked once, first time kept"
    );
    assert!(!revoked.is_usable(at));
    assert_eq!(
        store
            .list_api_tokens(Some(TokenScope::Org(org)))
            .await
            .unwrap()
            .len(),
        1,
        "revoked ones are listed"
    );
    assert!(
        !store
            .revoke_api_token(
                ApiTokenId(uuid::Uuid::nil()),
                at,
                &fx.audit("api_token.revoke", "x")
            )
            .await
            .unwrap()
    );
}

// ---------------------------------------------------------------- audit

async fn audit_append_and_list_newest_first(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let org = fx.org("acme").id;
    let mut appended = Vec::new();
    for i in 0..12 {
        let mut event = fx.audit(
            if i % 2 == 0 {
                "session.fail"
            } else {
                "session.ok"
            },
            &format!("t{}", i % 3),
        );
        event.org_id = if i % 4 == 0 { None } else { Some(org) };
        event.ip = Some("192.0.2.1".into());
        event.details = serde_json::json!({ "n": i });
        store.append_audit(&event).await.unwrap();
        appended.push(event);
    }
    let mut query = AuditQuery {
        limit: 5,
        ..AuditQuery::default()
    };
    let mut seen = Vec::new();
    loop {
        let page = store.list_audit(&query).await.unwrap();
        seen.extend(page.items);
        match page.next {
            Some(next) => query.after = Some(next),
            None => break,
        }
    }
    appended.reverse();
    assert_eq!(seen, appended);

    let by_org = AuditQuery {
        org_id: Some(org),
        limit: 100,
        ..AuditQuery::default()
    };
    assert_eq!(store.list_audit(&by_org).await.unwrap().items.len(), 9);
    let by_action = AuditQuery {
        action: Some("session.fail".into()),
        limit: 100,
        ..AuditQuery::default()
    };
    assert_eq!(store.list_audit(&by_action).await.unwrap().items.len(), 6);
    let by_target = AuditQuery {
        target_id: Some("t1".into()),
        org_id: Some(org),
        limit: 100,
        ..AuditQuery::default()
    };
    // t1 is i = 1, 4, 7, 10; i = 4 has no org.
    assert_eq!(store.list_audit(&by_target).await.unwrap().items.len(), 3);
}

// ---------------------------------------------------------------- meta

async fn meta_put_if_absent_and_take(store: Arc<dyn Store>) {
    assert_eq!(store.get_meta("setup").await.unwrap(), None);
    assert!(store.put_meta_if_absent("setup", "h1").await.unwrap());
    assert!(!store.put_meta_if_absent("setup", "h2").await.unwrap());
    assert_eq!(
        store.get_meta("setup").await.unwrap().as_deref(),
        Some("h1")
    );
    assert!(
        !store.take_meta("setup", "h2").await.unwrap(),
        "compare-and-delete only on a match"
    );
    assert!(store.take_meta("setup", "h1").await.unwrap());
    assert!(!store.take_meta("setup", "h1").await.unwrap(), "taken once");
    assert_eq!(store.get_meta("setup").await.unwrap(), None);
}

async fn store_is_empty_until_a_user_or_token_exists(store: Arc<dyn Store>) {
    let fx = Fx::new();
    store.ping().await.unwrap();
    assert!(store.is_empty().await.unwrap());
    let org = fx.seed_org(&*store, "acme").await;
    assert!(
        store.is_empty().await.unwrap(),
        "an org alone is still a first start"
    );
    let token = fx.token(TokenScope::Instance, "root");
    store
        .create_api_token(&token, &fx.audit("api_token.create", "x"))
        .await
        .unwrap();
    assert!(!store.is_empty().await.unwrap());
    store
        .delete_org(org, &fx.audit("org.delete", "x"))
        .await
        .unwrap();
    assert!(
        !store.is_empty().await.unwrap(),
        "the instance token remains"
    );
    let user = fx.user(fx.seed_org(&*store, "b").await, "alice", None);
    store
        .create_user(&user, None, &fx.audit("user.create", "x"))
        .await
        .unwrap();
    assert!(!store.is_empty().await.unwrap());
}

// ---------------------------------------------------------------- engine-independent

#[test]
fn migrations_are_numbered_alike_on_both_engines() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    let list = |engine: &str| {
        let mut names: Vec<String> = std::fs::read_dir(root.join(engine))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".sql"))
            .collect();
        names.sort();
        names
    };
    let sqlite = list("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, list("postgres"));
    for (i, name) in sqlite.iter().enumerate() {
        assert!(
            name.starts_with(&format!("{:04}_", i + 1)),
            "{name}: numbered 0001_, 0002_, ... without gaps"
        );
    }
}

#[tokio::test]
async fn connect_rejects_unknown_schemes() {
    for url in ["mysql://localhost/db", "/var/lib/gatehouse.db", "http://x"] {
        let err = gatehouse_store::connect(url, gatehouse_store::ConnectOptions::default())
            .await
            .err();
        assert!(
            matches!(err, Some(StoreError::Backend(_))),
            "{url}: {err:?}"
        );
    }
}

#[tokio::test]
async fn migrate_then_connect_without_migrating() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("gh.db").display());
    gatehouse_store::migrate(&url).await.unwrap();
    gatehouse_store::migrate(&url).await.unwrap();
    let options = gatehouse_store::ConnectOptions {
        migrate: false,
        create_if_missing: false,
        ..Default::default()
    };
    let store = gatehouse_store::connect(&url, options).await.unwrap();
    assert!(store.is_empty().await.unwrap());
}

#[tokio::test]
async fn sqlite_in_memory_keeps_its_data() {
    let store = gatehouse_store::connect(
        "sqlite::memory:",
        gatehouse_store::ConnectOptions::default(),
    )
    .await
    .unwrap();
    assert!(store.put_meta_if_absent("k", "v").await.unwrap());
    assert_eq!(store.get_meta("k").await.unwrap().as_deref(), Some("v"));
}

/// A transparent rehash after sign-in must not undo a password change that
/// landed between the verification and the rehash.
async fn password_rehash_only_replaces_the_hash_it_verified(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let org = fx.seed_org(&*store, "acme").await;
    let user = fx.user(org, "alice", None);
    store
        .create_user(&user, Some(&fake_hash(1)), &fx.audit("user.create", "a"))
        .await
        .unwrap();
    store
        .set_password(user.id, &fake_hash(2), 3, fx.now(), None)
        .await
        .unwrap();

    // Upgrading a hash that is no longer current changes nothing.
    assert!(
        !store
            .rehash_password(user.id, &fake_hash(1), &fake_hash(9), fx.now())
            .await
            .unwrap()
    );
    assert_eq!(
        store.get_password(user.id).await.unwrap(),
        Some(fake_hash(2))
    );

    // Upgrading the current hash replaces it and leaves history alone.
    let history = store.password_history(user.id, 10).await.unwrap();
    assert!(
        store
            .rehash_password(user.id, &fake_hash(2), &fake_hash(3), fx.now())
            .await
            .unwrap()
    );
    assert_eq!(
        store.get_password(user.id).await.unwrap(),
        Some(fake_hash(3))
    );
    assert_eq!(store.password_history(user.id, 10).await.unwrap(), history);
}

// ---------------------------------------------------------------- clients

/// A confidential client with every optional field set, so a round trip checks them all.
fn client(fx: &Fx, org: OrgId, client_id: &str) -> Client {
    let now = fx.now();
    Client {
        client_id: client_id.to_owned(),
        org_id: org,
        name: format!("{client_id} app"),
        auth_method: ClientAuthMethod::ClientSecretBasic,
        secret_hash: Some(TokenHash::of(&format!("secret of {client_id}"))),
        secret_expires_at: Some(now + 3_600_000),
        redirect_uris: vec![
            "https://app.example/cb".into(),
            "http://127.0.0.1/cb".into(),
        ],
        post_logout_redirect_uris: vec!["https://app.example/bye".into()],
        grant_types: vec![ClientGrant::AuthorizationCode, ClientGrant::RefreshToken],
        allowed_scopes: vec!["openid".into(), "profile".into(), "orders:read".into()],
        require_pkce: true,
        require_consent: false,
        lifetimes: TokenLifetimes {
            access_token_secs: 600,
            ..TokenLifetimes::default()
        },
        subject_type: SubjectType::Pairwise,
        sector_identifier: Some("app.example".into()),
        jwks: Some(serde_json::json!({"keys": []})),
        access_token_audience: vec!["https://api.example".into()],
        backchannel_logout_uri: Some("https://app.example/logout".into()),
        backchannel_logout_session_required: true,
        claim_mappings: serde_json::json!({"orders:read": ["department"]}),
        registration_token_hash: Some(TokenHash::of("registration")),
        metadata: serde_json::json!({"client_uri": "https://app.example", "contacts": ["ops@app.example"]}),
        created_at: now,
        updated_at: now,
        version: 1,
    }
}

async fn client_create_get_and_conflicts(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let org = fx.seed_org(&*store, "acme").await;
    let full = client(&fx, org, "web-app");
    store
        .create_client(&full, &fx.audit("client.created", "web-app"))
        .await
        .unwrap();
    assert_eq!(store.get_client("web-app").await.unwrap().unwrap(), full);

    // The minimal public client: every optional field empty.
    let mut public = client(&fx, org, "spa");
    public.auth_method = ClientAuthMethod::None;
    public.secret_hash = None;
    public.secret_expires_at = None;
    public.subject_type = SubjectType::Public;
    public.sector_identifier = None;
    public.jwks = None;
    public.backchannel_logout_uri = None;
    public.registration_token_hash = None;
    public.grant_types = vec![ClientGrant::DeviceCode, ClientGrant::ClientCredentials];
    store
        .create_client(&public, &fx.audit("client.created", "spa"))
        .await
        .unwrap();
    assert_eq!(store.get_client("spa").await.unwrap().unwrap(), public);

    // Ids are exact: no case folding.
    assert!(store.get_client("Web-App").await.unwrap().is_none());
    let err = store
        .create_client(
            &client(&fx, org, "web-app"),
            &fx.audit("client.created", "dup"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict("client_id")), "{err:?}");
    assert_eq!(
        audit_count(&*store, "dup").await,
        0,
        "a refused create writes no audit"
    );
    let nowhere = OrgId::generate(&gatehouse_core::clock::FakeClock::at(1), &support_rng());
    let err = store
        .create_client(
            &client(&fx, nowhere, "orphan"),
            &fx.audit("client.created", "orphan"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Missing("org")), "{err:?}");
    assert!(store.get_client("orphan").await.unwrap().is_none());
}

fn support_rng() -> gatehouse_core::clock::SystemRng {
    gatehouse_core::clock::SystemRng::new()
}

async fn all_clients(store: &dyn Store, mut query: ClientQuery) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..100 {
        let Page { items, next } = store.list_clients(&query).await.unwrap();
        assert!(items.len() <= query.limit as usize);
        out.extend(items.into_iter().map(|c| c.client_id));
        match next {
            Some(cursor) => query.after = Some(cursor),
            None => return out,
        }
    }
    panic!("pagination does not terminate");
}

async fn client_list_walks_pages_by_org(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let acme = fx.seed_org(&*store, "acme").await;
    let globex = fx.seed_org(&*store, "globex").await;
    let mut expected_acme = Vec::new();
    let mut expected_all = Vec::new();
    // Ids in a different order than creation: the list sorts by client_id.
    for (i, id) in ["m", "b", "Z", "a-1", "a", "zz", "q"].iter().enumerate() {
        let org = if i % 3 == 0 { globex } else { acme };
        store
            .create_client(&client(&fx, org, id), &fx.audit("client.created", id))
            .await
            .unwrap();
        expected_all.push((*id).to_owned());
        if org == acme {
            expected_acme.push((*id).to_owned());
        }
    }
    expected_all.sort();
    expected_acme.sort();
    for limit in [1, 2, 3, 50] {
        let all = all_clients(
            &*store,
            ClientQuery {
                limit,
                ..ClientQuery::default()
            },
        )
        .await;
        assert_eq!(all, expected_all, "limit {limit}");
        let of_acme = all_clients(
            &*store,
            ClientQuery {
                org_id: Some(acme),
                limit,
                ..ClientQuery::default()
            },
        )
        .await;
        assert_eq!(of_acme, expected_acme, "limit {limit}");
    }
    let err = store
        .list_clients(&ClientQuery {
            after: Some("garbage".into()),
            limit: 2,
            ..ClientQuery::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Missing("cursor")), "{err:?}");
}

async fn client_update_checks_version_and_writes_audit_only_on_commit(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let org = fx.seed_org(&*store, "acme").await;
    let original = client(&fx, org, "app");
    store
        .create_client(&original, &fx.audit("client.created", "app"))
        .await
        .unwrap();
    let mut edit = original.clone();
    edit.name = "Renamed".into();
    edit.secret_hash = Some(TokenHash::of("rotated"));
    edit.jwks = None;
    edit.grant_types = vec![ClientGrant::ClientCredentials];
    edit.updated_at = fx.now();
    let stored = store
        .update_client(&edit, &fx.audit("client.updated", "app"))
        .await
        .unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(
        stored,
        Client {
            version: 2,
            ..edit.clone()
        }
    );
    assert_eq!(store.get_client("app").await.unwrap().unwrap(), stored);

    // Stale: nothing changes, no audit.
    let mut stale = edit.clone();
    stale.name = "Stale".into();
    let err = store
        .update_client(&stale, &fx.audit("client.updated", "app"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::VersionConflict), "{err:?}");
    assert_eq!(
        store.get_client("app").await.unwrap().unwrap().name,
        "Renamed"
    );
    assert_eq!(audit_count(&*store, "app").await, 2);

    let mut ghost = client(&fx, org, "ghost");
    ghost.version = 1;
    let err = store
        .update_client(&ghost, &fx.audit("client.updated", "ghost"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Missing("client")), "{err:?}");
    assert_eq!(audit_count(&*store, "ghost").await, 0);
}

async fn client_concurrent_updates_exactly_one_wins(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let org = fx.seed_org(&*store, "acme").await;
    store
        .create_client(&client(&fx, org, "app"), &fx.audit("client.created", "app"))
        .await
        .unwrap();
    for round in 0..5 {
        let current = store.get_client("app").await.unwrap().unwrap();
        let tasks: Vec<_> = (0..2)
            .map(|i| {
                let store = store.clone();
                let mut edit = current.clone();
                edit.name = format!("round {round} task {i}");
                let audit = fx.audit("client.updated", "app");
                tokio::spawn(async move { store.update_client(&edit, &audit).await })
            })
            .collect();
        let (mut wins, mut conflicts) = (0, 0);
        for task in tasks {
            match task.await.unwrap() {
                Ok(stored) => {
                    assert_eq!(stored.version, current.version + 1);
                    wins += 1;
                }
                Err(StoreError::VersionConflict) => conflicts += 1,
                Err(other) => panic!("unexpected error: {other:?}"),
            }
        }
        assert_eq!((wins, conflicts), (1, 1), "round {round}");
    }
}

async fn client_delete_and_org_deletion_cascade(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let acme = fx.seed_org(&*store, "acme").await;
    let globex = fx.seed_org(&*store, "globex").await;
    for (org, id) in [(acme, "a1"), (acme, "a2"), (globex, "g1")] {
        store
            .create_client(&client(&fx, org, id), &fx.audit("client.created", id))
            .await
            .unwrap();
    }
    assert!(
        store
            .delete_client("a1", &fx.audit("client.deleted", "a1"))
            .await
            .unwrap()
    );
    assert!(store.get_client("a1").await.unwrap().is_none());
    assert_eq!(audit_count(&*store, "a1").await, 2);
    assert!(
        !store
            .delete_client("a1", &fx.audit("client.deleted", "a1"))
            .await
            .unwrap()
    );
    assert_eq!(
        audit_count(&*store, "a1").await,
        2,
        "a delete that found nothing writes no audit"
    );

    assert!(
        store
            .delete_org(acme, &fx.audit("org.delete", "acme"))
            .await
            .unwrap()
    );
    assert!(store.get_client("a2").await.unwrap().is_none());
    assert!(store.get_client("g1").await.unwrap().is_some());
    let left = all_clients(
        &*store,
        ClientQuery {
            limit: 10,
            ..ClientQuery::default()
        },
    )
    .await;
    assert_eq!(left, vec!["g1".to_owned()]);
}

async fn client_assertion_jti_is_single_use_under_concurrency(store: Arc<dyn Store>) {
    let now = 1_700_000_000_000;
    let hash = TokenHash::of("client-a:jti-1");
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            let hash = hash.clone();
            tokio::spawn(async move { store.use_assertion_jti(&hash, now + 60_000, now).await })
        })
        .collect();
    let mut firsts = 0;
    for task in tasks {
        if task.await.unwrap().unwrap() {
            firsts += 1;
        }
    }
    assert_eq!(firsts, 1, "exactly one concurrent use is the first");
    assert!(
        !store
            .use_assertion_jti(&hash, now + 60_000, now + 1)
            .await
            .unwrap()
    );
    // Another jti is independent.
    assert!(
        store
            .use_assertion_jti(&TokenHash::of("client-a:jti-2"), now + 60_000, now)
            .await
            .unwrap()
    );
    // Once the first has expired, a later call clears it; its assertion could no longer be accepted anyway.
    assert!(
        store
            .use_assertion_jti(
                &TokenHash::of("client-a:jti-3"),
                now + 200_000,
                now + 120_000
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .use_assertion_jti(&hash, now + 300_000, now + 120_000)
            .await
            .unwrap(),
        "the expired entry was cleaned up"
    );
    assert!(
        !store
            .use_assertion_jti(
                &TokenHash::of("client-a:jti-3"),
                now + 200_000,
                now + 120_000
            )
            .await
            .unwrap(),
        "an unexpired entry stays"
    );
}
