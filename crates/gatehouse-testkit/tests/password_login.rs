//! Password verification for sign-in through the core service, against a real
//! store: imported hashes verify and are upgraded to argon2id, and every refusal
//! looks the same to the caller.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use gatehouse_core::Error;
use gatehouse_core::ids::{OrgId, UserId};
use gatehouse_core::model::AuditQuery;
use gatehouse_core::password::Scheme;
use gatehouse_core::secret::Secret;
use gatehouse_core::services::RequestContext;
use gatehouse_testkit::TestServer;
use serde_json::json;

const PASSWORD: &str = "correct horse battery staple";
/// python bcrypt 5.0: bcrypt.hashpw(b"correct horse battery staple", bcrypt.gensalt(4))
const BCRYPT: &str = "$2b$04$Vz6N2c1odc1KlnY1ME33v.hmnVBTM92IIwj0C2L3vXd3Xtanjra6q";

async fn import_user(server: &TestServer, username: &str) -> UserId {
    let user = server
        .admin()
        .create("/api/v1/users", json!({"username": username, "email": format!("{username}@example.com"), "password_hash": BCRYPT}))
        .await;
    user["id"].as_str().unwrap().parse().unwrap()
}

async fn verify(server: &TestServer, login: &str, password: &str) -> Result<UserId, Error> {
    server
        .services
        .password_login
        .verify(
            &RequestContext::default(),
            OrgId::DEFAULT,
            login,
            &Secret::new(password),
        )
        .await
        .map(|user| user.id)
}

#[tokio::test]
async fn imported_bcrypt_hash_verifies_and_is_upgraded_to_argon2id() {
    let server = TestServer::start().await;
    let id = import_user(&server, "linus").await;
    let store = server.services.store();
    assert_eq!(
        store.get_password(id).await.unwrap().unwrap().scheme(),
        Scheme::Bcrypt
    );

    assert_eq!(
        verify(&server, "Linus", PASSWORD).await.unwrap(),
        id,
        "usernames match case-insensitively"
    );
    let upgraded = store.get_password(id).await.unwrap().unwrap();
    assert_eq!(upgraded.scheme(), Scheme::Argon2id);
    assert!(
        store.password_history(id, 10).await.unwrap().is_empty(),
        "an upgrade is not a password change"
    );

    // The upgraded hash still accepts the same password, by e-mail too.
    assert_eq!(
        verify(&server, "LINUS@example.com", PASSWORD)
            .await
            .unwrap(),
        id
    );
    assert_eq!(
        store.get_password(id).await.unwrap().unwrap(),
        upgraded,
        "a current hash is left alone"
    );
}

#[tokio::test]
async fn every_refusal_is_the_same_auth_failed() {
    let server = TestServer::start().await;
    let id = import_user(&server, "grace").await;
    server
        .admin()
        .create(
            "/api/v1/users",
            json!({"username": "nopass", "email": "nopass@example.com"}),
        )
        .await;

    for (login, password) in [
        ("grace", "wrong password"),
        ("nobody", PASSWORD),
        ("nobody@example.com", PASSWORD),
        ("nopass", PASSWORD),
    ] {
        let err = verify(&server, login, password).await.unwrap_err();
        assert!(matches!(err, Error::AuthFailed), "{login}: {err:?}");
    }
    assert_eq!(
        server
            .services
            .store()
            .get_password(id)
            .await
            .unwrap()
            .unwrap()
            .scheme(),
        Scheme::Bcrypt,
        "a failed attempt upgrades nothing"
    );

    // A suspended user with the right password is refused the same way.
    let response = server
        .admin()
        .post(&format!("/api/v1/users/{id}/lifecycle/suspend"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(matches!(
        verify(&server, "grace", PASSWORD).await,
        Err(Error::AuthFailed)
    ));

    // Each attempt left an audit event, failures marked as such with the reason.
    let events = server
        .services
        .store()
        .list_audit(&AuditQuery {
            action: Some("user.password.verify".into()),
            limit: 100,
            ..AuditQuery::default()
        })
        .await
        .unwrap()
        .items;
    let reasons: Vec<String> = events
        .iter()
        .map(|e| e.details["reason"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(reasons.len(), 5);
    for reason in [
        "wrong_password",
        "unknown_login",
        "no_password",
        "status_suspended",
    ] {
        assert!(
            reasons.iter().any(|r| r == reason),
            "{reason} in {reasons:?}"
        );
    }
    assert!(
        events
            .iter()
            .all(|e| e.outcome == gatehouse_core::model::Outcome::Failure)
    );
}
