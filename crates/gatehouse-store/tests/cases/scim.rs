//! Conformance cases for the SCIM store: a user and its SCIM row, and a
//! group and its members, change together or not at all; replaces are
//! compare-and-set; members must be users of the group's org; lists count
//! and page with a condition.

use std::sync::Arc;

use gatehouse_core::StoreError;
use gatehouse_core::model::{
    ScimColumn, ScimCond, ScimDoc, ScimGroup, ScimListQuery, ScimOp, ScimSortKey, ScimUser,
    ScimValue, SortOrder,
};
use gatehouse_core::store::Store;
use serde_json::json;

use super::audit_count;
use super::support::Fx;

fn scim_user(fx: &Fx, org: gatehouse_core::ids::OrgId, name: &str) -> ScimUser {
    ScimUser {
        user: fx.user(org, name, Some(&format!("{name}@example.com"))),
        external_id: Some(format!("ext-{name}")),
        resource: json!({ "title": format!("{name} title"), "emails": [{ "value": format!("{name}@example.com"), "type": "work" }] })
            .as_object()
            .cloned()
            .unwrap_or_default(),
    }
}

fn query(filter: ScimCond) -> ScimListQuery {
    ScimListQuery {
        filter,
        sort: Some(ScimSortKey::Column(ScimColumn::Name)),
        order: SortOrder::Asc,
        offset: 0,
        count: 100,
    }
}

pub async fn scim_user_and_its_row_change_together(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let org = fx.seed_org(store.as_ref(), "acme").await;
    let ada = scim_user(&fx, org, "ada");
    let id = ada.user.id.to_string();
    store
        .create_scim_user(&ada, None, &fx.audit("scim.user.create", &id))
        .await
        .unwrap();
    let stored = store.get_scim_user(ada.user.id).await.unwrap().unwrap();
    assert_eq!(stored, ada);

    // A duplicate username writes neither row nor audit.
    let mut twin = scim_user(&fx, org, "ADA");
    twin.user.email = None;
    let err = store
        .create_scim_user(&twin, None, &fx.audit("scim.user.create", "twin"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict("username")), "{err:?}");
    assert!(store.get_scim_user(twin.user.id).await.unwrap().is_none());
    assert_eq!(audit_count(store.as_ref(), "twin").await, 0);

    // Replace is compare-and-set on the user's version.
    let mut next = stored.clone();
    next.external_id = Some("changed".into());
    next.resource.insert("title".into(), json!("Countess"));
    let replaced = store
        .replace_scim_user(&next, None, &fx.audit("scim.user.replace", &id))
        .await
        .unwrap();
    assert_eq!(replaced.user.version, 2);
    let err = store
        .replace_scim_user(&next, None, &fx.audit("scim.user.replace", &id))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::VersionConflict), "{err:?}");
    let stored = store.get_scim_user(ada.user.id).await.unwrap().unwrap();
    assert_eq!(stored.external_id.as_deref(), Some("changed"));
    assert_eq!(stored.resource["title"], "Countess");
    assert_eq!(audit_count(store.as_ref(), &id).await, 2);

    // A user made by the admin API has an empty SCIM document.
    let plain = fx.user(org, "plain", None);
    store
        .create_user(&plain, None, &fx.audit("user.create", "plain"))
        .await
        .unwrap();
    let plain = store.get_scim_user(plain.id).await.unwrap().unwrap();
    assert!(plain.resource.is_empty() && plain.external_id.is_none());
}

pub async fn scim_lists_count_filter_and_page(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let org = fx.seed_org(store.as_ref(), "acme").await;
    let other = fx.seed_org(store.as_ref(), "other").await;
    for name in ["carol", "alice", "bob", "dave"] {
        let user = scim_user(&fx, org, name);
        store
            .create_scim_user(&user, None, &fx.audit("scim.user.create", name))
            .await
            .unwrap();
    }
    let stranger = scim_user(&fx, other, "alice");
    store
        .create_scim_user(&stranger, None, &fx.audit("scim.user.create", "x"))
        .await
        .unwrap();

    let all = store
        .list_scim_users(org, &query(ScimCond::True))
        .await
        .unwrap();
    assert_eq!(all.total, 4);
    let names: Vec<_> = all.items.iter().map(|u| u.user.username.as_str()).collect();
    assert_eq!(names, ["alice", "bob", "carol", "dave"]);

    let mut page = query(ScimCond::True);
    page.offset = 1;
    page.count = 2;
    page.order = SortOrder::Desc;
    let got = store.list_scim_users(org, &page).await.unwrap();
    assert_eq!(got.total, 4);
    let names: Vec<_> = got.items.iter().map(|u| u.user.username.as_str()).collect();
    assert_eq!(names, ["carol", "bob"]);

    let by_element = ScimCond::Any {
        doc: ScimDoc::Resource,
        path: vec!["emails".into()],
        cond: Box::new(ScimCond::Json {
            doc: ScimDoc::Element,
            path: vec!["value".into()],
            op: ScimOp::Sw,
            value: ScimValue::Text("b".into()),
            case_exact: false,
        }),
    };
    let got = store
        .list_scim_users(org, &query(by_element))
        .await
        .unwrap();
    assert_eq!(got.total, 1);
    assert_eq!(got.items[0].user.username, "bob");

    let by_external = ScimCond::Or(
        Box::new(ScimCond::Column(
            ScimColumn::ExternalId,
            ScimOp::Eq,
            ScimValue::Text("ext-dave".into()),
        )),
        Box::new(ScimCond::Not(Box::new(ScimCond::JsonPresent {
            doc: ScimDoc::Resource,
            path: vec!["title".into()],
        }))),
    );
    let got = store
        .list_scim_users(org, &query(by_external))
        .await
        .unwrap();
    assert_eq!(got.total, 1);
    assert_eq!(got.items[0].user.username, "dave");
}

pub async fn scim_group_members_are_set_atomically(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let org = fx.seed_org(store.as_ref(), "acme").await;
    let other = fx.seed_org(store.as_ref(), "other").await;
    let a = scim_user(&fx, org, "a");
    let b = scim_user(&fx, org, "b");
    let stranger = scim_user(&fx, other, "s");
    for u in [&a, &b, &stranger] {
        store
            .create_scim_user(u, None, &fx.audit("scim.user.create", "u"))
            .await
            .unwrap();
    }
    let group = ScimGroup {
        group: fx.group(org, "nurses"),
        external_id: Some("g-1".into()),
        members: vec![(a.user.id, String::new())],
    };
    let gid = group.group.id.to_string();
    store
        .create_scim_group(&group, &fx.audit("scim.group.create", &gid))
        .await
        .unwrap();
    let stored = store.get_scim_group(group.group.id).await.unwrap().unwrap();
    assert_eq!(stored.members, vec![(a.user.id, "a".to_owned())]);
    assert_eq!(stored.external_id.as_deref(), Some("g-1"));

    // A member of another org fails the whole replace.
    let mut next = stored.clone();
    next.members = vec![
        (b.user.id, String::new()),
        (stranger.user.id, String::new()),
    ];
    let err = store
        .replace_scim_group(&next, &fx.audit("scim.group.replace", &gid))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Missing("user")), "{err:?}");
    let unchanged = store.get_scim_group(group.group.id).await.unwrap().unwrap();
    assert_eq!(unchanged, stored);
    assert_eq!(audit_count(store.as_ref(), &gid).await, 1);

    next.members = vec![(b.user.id, String::new())];
    let replaced = store
        .replace_scim_group(&next, &fx.audit("scim.group.replace", &gid))
        .await
        .unwrap();
    assert_eq!(replaced.group.version, 2);
    let stored = store.get_scim_group(group.group.id).await.unwrap().unwrap();
    assert_eq!(stored.members, vec![(b.user.id, "b".to_owned())]);
    let member_of = store
        .list_scim_users(org, &query(ScimCond::MemberOf(group.group.id)))
        .await
        .unwrap();
    assert_eq!(member_of.total, 1);
    assert_eq!(member_of.items[0].user.id, b.user.id);
    let groups = store
        .list_scim_groups(org, &query(ScimCond::HasMember(b.user.id)), true)
        .await
        .unwrap();
    assert_eq!(groups.total, 1);
    assert_eq!(groups.items[0].members.len(), 1);
    let pairs = store
        .groups_of_users(&[a.user.id, b.user.id, stranger.user.id])
        .await
        .unwrap();
    let pairs: Vec<_> = pairs.iter().map(|(u, g)| (*u, g.name.as_str())).collect();
    assert_eq!(pairs, [(b.user.id, "nurses")]);
    assert!(store.groups_of_users(&[]).await.unwrap().is_empty());
}

/// Usernames of the org's users some of whose addresses compare with `text`.
async fn with_email(
    store: &dyn Store,
    org: gatehouse_core::ids::OrgId,
    op: ScimOp,
    text: &str,
) -> Vec<String> {
    let got = store
        .list_scim_users(org, &query(ScimCond::Email(op, text.to_owned())))
        .await
        .unwrap();
    assert_eq!(got.total as usize, got.items.len());
    got.items.into_iter().map(|u| u.user.username).collect()
}

pub async fn scim_email_filters_follow_every_write(store: Arc<dyn Store>) {
    let fx = Fx::new();
    let org = fx.seed_org(store.as_ref(), "acme").await;
    let other = fx.seed_org(store.as_ref(), "other").await;
    let mut ada = scim_user(&fx, org, "ada");
    ada.resource.insert(
        "emails".into(),
        json!([
            { "value": "ada@example.com", "type": "work", "primary": true },
            { "value": "Ada.Home@Mail.Example", "type": "home" },
            { "value": "100%_sure\"@quote.example", "type": "other" },
            { "type": "no value" },
            "not an object",
        ]),
    );
    let id = ada.user.id.to_string();
    store
        .create_scim_user(&ada, None, &fx.audit("scim.user.create", &id))
        .await
        .unwrap();
    store
        .create_scim_user(
            &scim_user(&fx, org, "bob"),
            None,
            &fx.audit("scim.user.create", "b"),
        )
        .await
        .unwrap();
    store
        .create_scim_user(
            &scim_user(&fx, other, "ada-elsewhere"),
            None,
            &fx.audit("scim.user.create", "x"),
        )
        .await
        .unwrap();
    let s = store.as_ref();

    // Every operator, on the primary and the client's addresses, lower-cased,
    // through the trigram index (three characters or more) and without it.
    assert_eq!(with_email(s, org, ScimOp::Co, "home@mail").await, ["ada"]);
    assert_eq!(
        with_email(s, org, ScimOp::Co, "@example.com").await,
        ["ada", "bob"]
    );
    assert_eq!(with_email(s, org, ScimOp::Co, "bo").await, ["bob"]);
    assert_eq!(with_email(s, org, ScimOp::Co, "%_sure\"").await, ["ada"]);
    assert!(with_email(s, org, ScimOp::Co, "0%x").await.is_empty());
    assert!(with_email(s, org, ScimOp::Co, "a_a").await.is_empty());
    assert_eq!(with_email(s, org, ScimOp::Ew, ".example").await, ["ada"]);
    assert_eq!(with_email(s, org, ScimOp::Ew, "m").await, ["ada", "bob"]);
    assert_eq!(with_email(s, org, ScimOp::Sw, "ada.h").await, ["ada"]);
    assert_eq!(
        with_email(s, org, ScimOp::Eq, "bob@example.com").await,
        ["bob"]
    );
    assert_eq!(with_email(s, org, ScimOp::Gt, "ada@z").await, ["bob"]);

    // An admin-API change of the primary address is seen at once; the
    // client's own list still holds the old one until it writes again.
    let mut bob = store
        .get_scim_user(with_email_user(s, org, "bob@example.com").await)
        .await
        .unwrap()
        .unwrap();
    let mut user = bob.user.clone();
    user.email = Some("robert@corp.example".into());
    store
        .update_user(&user, &fx.audit("user.update", "b"))
        .await
        .unwrap();
    assert_eq!(with_email(s, org, ScimOp::Co, "robert@corp").await, ["bob"]);
    assert_eq!(
        with_email(s, org, ScimOp::Eq, "bob@example.com").await,
        ["bob"]
    );

    // A client write replaces its addresses; the old ones stop matching.
    bob = store.get_scim_user(bob.user.id).await.unwrap().unwrap();
    bob.resource
        .insert("emails".into(), json!([{ "value": "rob@corp.example" }]));
    store
        .replace_scim_user(&bob, None, &fx.audit("scim.user.replace", "b"))
        .await
        .unwrap();
    assert!(
        with_email(s, org, ScimOp::Eq, "bob@example.com")
            .await
            .is_empty()
    );
    assert_eq!(
        with_email(s, org, ScimOp::Co, "corp.example").await,
        ["bob"]
    );
    assert_eq!(with_email(s, org, ScimOp::Sw, "rob").await, ["bob"]);

    // A deleted user leaves nothing behind to match.
    assert!(
        store
            .delete_user(ada.user.id, &fx.audit("user.delete", &id))
            .await
            .unwrap()
    );
    assert!(with_email(s, org, ScimOp::Co, "home@mail").await.is_empty());
    assert_eq!(with_email(s, org, ScimOp::Co, "example").await, ["bob"]);
    assert_eq!(
        with_email(s, other, ScimOp::Sw, "ada").await,
        ["ada-elsewhere"]
    );
}

async fn with_email_user(
    store: &dyn Store,
    org: gatehouse_core::ids::OrgId,
    address: &str,
) -> gatehouse_core::ids::UserId {
    let got = store
        .list_scim_users(org, &query(ScimCond::Email(ScimOp::Eq, address.to_owned())))
        .await
        .unwrap();
    got.items[0].user.id
}
