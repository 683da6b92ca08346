//! Conformance cases for group rules: a user write replaces the user's
//! rule-managed memberships in its own transaction (or not at all); manual
//! memberships are never removed by rules; rules are org-scoped and go with
//! their group.

use std::sync::Arc;

use gatehouse_core::StoreError;
use gatehouse_core::ids::{GroupId, UserId};
use gatehouse_core::model::ScimUser;
use gatehouse_core::store::Store;

use super::support::Fx;

async fn groups_of(store: &dyn Store, user: UserId) -> Vec<GroupId> {
    let mut ids: Vec<GroupId> = store
        .groups_of_user(user)
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.id)
        .collect();
    ids.sort();
    ids
}

fn sorted(mut ids: Vec<GroupId>) -> Vec<GroupId> {
    ids.sort();
    ids
}

pub async fn group_rule_memberships_change_with_the_user_write(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let org = fx.seed_org(store.as_ref(), "acme").await;
    let nursing = fx.group(org, "nursing");
    let manual = fx.group(org, "manual");
    for g in [&nursing, &manual] {
        store
            .create_group(g, &fx.audit("group.create", &g.id.to_string()))
            .await
            .unwrap();
    }
    let ada = fx.user(org, "ada", None);
    let id = ada.id.to_string();
    store
        .create_user_with_rules(&ada, None, &[nursing.id], &fx.audit("user.create", &id))
        .await
        .unwrap();
    assert_eq!(groups_of(store.as_ref(), ada.id).await, vec![nursing.id]);

    // A manual membership survives every rule sync.
    assert!(
        store
            .add_member(
                manual.id,
                ada.id,
                fx.now(),
                &fx.audit("group.member.add", &id)
            )
            .await
            .unwrap()
    );
    let mut next = ada.clone();
    next.updated_at = fx.now();
    let stored = store
        .update_user_with_rules(&next, &[], &fx.audit("user.update", &id))
        .await
        .unwrap();
    assert_eq!(groups_of(store.as_ref(), ada.id).await, vec![manual.id]);

    // A stale write changes neither the user nor the memberships.
    let err = store
        .update_user_with_rules(&next, &[nursing.id], &fx.audit("user.update", &id))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::VersionConflict), "{err:?}");
    assert_eq!(groups_of(store.as_ref(), ada.id).await, vec![manual.id]);

    // A rule granting a group the user is a manual member of leaves it manual.
    let stored = store
        .update_user_with_rules(
            &stored,
            &[nursing.id, manual.id],
            &fx.audit("user.update", &id),
        )
        .await
        .unwrap();
    assert_eq!(
        groups_of(store.as_ref(), ada.id).await,
        sorted(vec![nursing.id, manual.id])
    );
    store
        .update_user_with_rules(&stored, &[], &fx.audit("user.update", &id))
        .await
        .unwrap();
    assert_eq!(groups_of(store.as_ref(), ada.id).await, vec![manual.id]);

    // A duplicate user writes no membership.
    let twin = fx.user(org, "ADA", None);
    let err = store
        .create_user_with_rules(&twin, None, &[nursing.id], &fx.audit("user.create", "twin"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict("username")), "{err:?}");
    assert!(groups_of(store.as_ref(), twin.id).await.is_empty());

    // Adding a rule-managed member by hand makes the membership manual.
    store
        .sync_rule_memberships(&[(ada.id, vec![nursing.id])], fx.now())
        .await
        .unwrap();
    assert!(
        store
            .add_member(
                nursing.id,
                ada.id,
                fx.now(),
                &fx.audit("group.member.add", &id)
            )
            .await
            .unwrap()
    );
    store
        .sync_rule_memberships(&[(ada.id, vec![])], fx.now())
        .await
        .unwrap();
    assert_eq!(
        groups_of(store.as_ref(), ada.id).await,
        sorted(vec![nursing.id, manual.id])
    );

    // SCIM writes carry the rule memberships too.
    let bob = ScimUser {
        user: fx.user(org, "bob", None),
        external_id: None,
        resource: serde_json::Map::new(),
    };
    let bob_id = bob.user.id.to_string();
    store
        .create_scim_user_with_rules(&bob, None, &[nursing.id], &fx.audit("scim", &bob_id))
        .await
        .unwrap();
    assert_eq!(
        groups_of(store.as_ref(), bob.user.id).await,
        vec![nursing.id]
    );
    let mut next = bob.clone();
    next.user.updated_at = fx.now();
    store
        .replace_scim_user_with_rules(&next, None, &[], &fx.audit("scim", &bob_id))
        .await
        .unwrap();
    assert!(groups_of(store.as_ref(), bob.user.id).await.is_empty());
}

pub async fn group_rules_are_org_scoped_and_go_with_their_group(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let org = fx.seed_org(store.as_ref(), "acme").await;
    let other = fx.seed_org(store.as_ref(), "globex").await;
    let group = fx.group(org, "nursing");
    let foreign = fx.group(other, "foreign");
    for g in [&group, &foreign] {
        store
            .create_group(g, &fx.audit("group.create", &g.id.to_string()))
            .await
            .unwrap();
    }
    let rule = fx.group_rule(&group, r#"user.profile.department == "Nursing""#);
    store
        .create_group_rule(&rule, &fx.audit("group.rule.create", "r1"))
        .await
        .unwrap();
    assert_eq!(
        store.get_group_rule(rule.id).await.unwrap(),
        Some(rule.clone())
    );
    assert_eq!(
        store.list_group_rules(org, Some(group.id)).await.unwrap(),
        vec![rule.clone()]
    );
    assert!(
        store
            .list_group_rules(other, None)
            .await
            .unwrap()
            .is_empty()
    );

    // A rule naming a group of another org is refused.
    let mut stray = fx.group_rule(&foreign, "user.email exists");
    stray.org_id = org;
    let err = store
        .create_group_rule(&stray, &fx.audit("group.rule.create", "stray"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Missing("group")), "{err:?}");
    assert_eq!(super::audit_count(store.as_ref(), "stray").await, 0);

    // A sync never joins a user to another org's group.
    let ada = fx.user(org, "ada", None);
    store
        .create_user(&ada, None, &fx.audit("user.create", "ada"))
        .await
        .unwrap();
    store
        .sync_rule_memberships(&[(ada.id, vec![group.id, foreign.id])], fx.now())
        .await
        .unwrap();
    assert_eq!(groups_of(store.as_ref(), ada.id).await, vec![group.id]);

    assert!(
        store
            .delete_group_rule(rule.id, &fx.audit("group.rule.delete", "r1"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_group_rule(rule.id, &fx.audit("group.rule.delete", "r1"))
            .await
            .unwrap()
    );
    let again = fx.group_rule(&group, "user.email exists");
    store
        .create_group_rule(&again, &fx.audit("group.rule.create", "r2"))
        .await
        .unwrap();
    store
        .delete_group(group.id, &fx.audit("group.delete", "g"))
        .await
        .unwrap();
    assert!(store.get_group_rule(again.id).await.unwrap().is_none());
}
