//! Sign-in links by e-mail through the real HTTP endpoints, read from the
//! test server's file mailbox: the link signs in once, only in the browser
//! that asked for it, only after the confirmation POST, within 10 minutes,
//! and of two concurrent confirmations exactly one signs in. The ID token
//! is checked by the `openidconnect` relying party.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::json;
use common::rp::{callback, discover, exchange, param, register, start, user};
use gatehouse_testkit::TestServer;
use gatehouse_testkit::browser::{Browser, Consent, Landing, hidden_fields};
use openidconnect::TokenResponse;
use serde_json::json;

const DEFAULT_ORG: &str = "00000000-0000-7000-8000-000000000001";

async fn enable(server: &TestServer) {
    let response = server
        .admin()
        .put(&format!("/api/v1/orgs/{DEFAULT_ORG}/signon-policy"))
        .json(&json!({"magic_link": true}))
        .send()
        .await
        .unwrap();
    json(response, 200).await;
}

/// Asks for a link on the sign-in page `page` (of `browser`) for `login`.
async fn ask(browser: &Browser, page: &str, login: &str) -> String {
    assert!(page.contains("action=\"/login/link\""), "{page}");
    let mut form: Vec<(String, String)> = hidden_fields(page)
        .into_iter()
        .filter(|(n, _)| n == "csrf" || n == "request" || n == "return_to")
        .collect();
    form.dedup();
    form.push(("username".into(), login.into()));
    let response = browser.post_form("/login/link", &form).await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("Check your e-mail"), "{html}");
    html
}

/// The link in the only message of the mailbox.
fn link_in_mailbox(server: &TestServer) -> String {
    let mails = server.mailbox();
    assert_eq!(mails.len(), 1, "{mails:?}");
    let mail = &mails[0];
    assert!(mail.contains("To: ada@example.com\r\n"), "{mail}");
    let start = mail.find("http://").unwrap();
    let link = mail[start..].split_whitespace().next().unwrap().to_owned();
    assert!(
        link.starts_with(&server.url("/login/link?token=")),
        "{link}"
    );
    link
}

async fn login_page(browser: &Browser, url: &str) -> String {
    match browser.walk(url, None, Consent::Allow).await.unwrap() {
        Landing::Page(200, html) if html.contains("name=\"password\"") => html,
        other => panic!("expected the sign-in page, got {other:?}"),
    }
}

async fn confirmation(browser: &Browser, link: &str) -> (u16, String) {
    let response = browser.client().get(link).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

fn confirm_form(page: &str) -> Vec<(String, String)> {
    hidden_fields(page)
}

async fn magic_link_signs_in_once(server: TestServer) {
    user(&server, "ada").await;
    let (client_id, secret) = register(&server, json!({})).await;
    let rp = discover(&server, &client_id, &secret).await;

    // Off by default: the page does not offer it.
    let browser = Browser::new(&server.url("")).unwrap();
    let started = start(&rp, &["profile"], &[]);
    let page = login_page(&browser, &started.url).await;
    assert!(!page.contains("action=\"/login/link\""));
    enable(&server).await;
    let page = login_page(&browser, &started.url).await;

    // An unknown login gets the same answer, and no mail.
    ask(&browser, &page, "nobody").await;
    assert!(server.mailbox().is_empty());
    ask(&browser, &page, "ada").await;
    let link = link_in_mailbox(&server);

    // Another browser: refused, and it does not spend the link.
    let other = Browser::new(&server.url("")).unwrap();
    let (status, html) = confirmation(&other, &link).await;
    assert_eq!(status, 403, "{html}");

    // The asking browser: a confirmation page (a GET signs nobody in) ...
    let (status, page) = confirmation(&browser, &link).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("<strong>ada</strong>"), "{page}");
    // ... and its POST continues the authorization request.
    let response = browser
        .post_form("/login/link/confirm", &confirm_form(&page))
        .await
        .unwrap();
    let landing = browser
        .follow(response, None, Consent::Allow)
        .await
        .unwrap();
    let code = param(&callback(&landing), "code").unwrap().to_owned();
    let tokens = exchange(&rp, &code, started.verifier).await;
    let claims = tokens
        .id_token()
        .unwrap()
        .claims(&rp.id_token_verifier(), &started.nonce)
        .unwrap()
        .clone();
    assert_eq!(claims.auth_context_ref().map(|a| a.as_str()), Some("1"));
    let amr: Vec<String> = claims
        .auth_method_refs()
        .map(|amr| amr.iter().map(|m| m.as_str().to_owned()).collect())
        .unwrap_or_default();
    assert_eq!(amr, ["otp"]);

    // Used: the link is dead.
    let (status, _) = confirmation(&browser, &link).await;
    assert_eq!(status, 400);
    let response = browser
        .post_form("/login/link/confirm", &confirm_form(&page))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
}

#[tokio::test]
async fn magic_link_signs_in_once_sqlite() {
    magic_link_signs_in_once(TestServer::start().await).await;
}

#[tokio::test]
async fn magic_link_signs_in_once_postgres() {
    let Some(server) = TestServer::start_postgres().await else {
        return;
    };
    magic_link_signs_in_once(server).await;
}

/// Two confirmations of one link at the same moment: exactly one signs in.
#[tokio::test]
async fn concurrent_clicks_sign_in_once() {
    let server = TestServer::start().await;
    user(&server, "ada").await;
    enable(&server).await;
    let browser = Browser::new(&server.url("")).unwrap();
    let page = login_page(&browser, &server.url("/login")).await;
    ask(&browser, &page, "ada@example.com").await;
    let link = link_in_mailbox(&server);
    let (status, page) = confirmation(&browser, &link).await;
    assert_eq!(status, 200, "{page}");
    let form = confirm_form(&page);
    let (a, b) = tokio::join!(
        browser.post_form("/login/link/confirm", &form),
        browser.post_form("/login/link/confirm", &form)
    );
    let mut statuses = Vec::new();
    let mut signed_in = 0;
    for response in [a.unwrap(), b.unwrap()] {
        statuses.push(response.status().as_u16());
        let html = response.text().await.unwrap();
        signed_in += usize::from(html.contains("You are signed in as ada"));
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 400]);
    assert_eq!(signed_in, 1);
}

/// A link is good for 10 minutes; a user gets at most one per 30 seconds.
#[tokio::test]
async fn links_expire_and_are_not_resent_at_once() {
    let server = TestServer::start().await;
    user(&server, "ada").await;
    enable(&server).await;
    let browser = Browser::new(&server.url("")).unwrap();
    let page = login_page(&browser, &server.url("/login")).await;
    ask(&browser, &page, "ada").await;
    ask(&browser, &page, "ada").await;
    let link = link_in_mailbox(&server);
    server.clock.advance_secs(11 * 60);
    let (status, html) = confirmation(&browser, &link).await;
    assert_eq!(status, 400, "{html}");
    assert!(html.contains("expired"), "{html}");
}
