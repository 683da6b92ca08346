//! The one-time setup link: form, first administrator, token shown once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{json, read};
use gatehouse_testkit::{TestOptions, TestServer};
use reqwest::header::HeaderMap;

const PASSWORD: &str = "first-admin-Pa55word!";

fn assert_page_headers(headers: &HeaderMap) {
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(
        headers["content-security-policy"],
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["cache-control"], "no-store");
}

async fn page(response: reqwest::Response, status: u16) -> String {
    let (got, headers, html) = read(response).await;
    assert_eq!(got, status, "{html}");
    assert_page_headers(&headers);
    html
}

fn shown_token(html: &str) -> String {
    let start = html
        .find(r#"<code id="api-token">"#)
        .expect("token on the page")
        + r#"<code id="api-token">"#.len();
    let end = start + html[start..].find("</code>").unwrap();
    html[start..end].to_owned()
}

#[tokio::test]
async fn setup_link_creates_the_first_administrator_once() {
    let server = TestServer::start_with(TestOptions::default().without_bootstrap_token()).await;
    let link = server
        .services
        .setup
        .first_start_link()
        .await
        .unwrap()
        .expect("an empty database issues a link");
    let url = server.url(&format!("/setup/{}", link.expose()));

    let form = page(server.client().get(&url).send().await.unwrap(), 200).await;
    for name in ["username", "email", "password"] {
        assert!(form.contains(&format!(r#"<label for="{name}">"#)), "{form}");
        assert!(form.contains(&format!(r#"name="{name}""#)), "{form}");
    }
    assert!(form.contains(r#"<form method="post">"#));

    // A password the policy refuses re-shows the form (values kept, password not), link still valid.
    let response = server
        .client()
        .post(&url)
        .form(&[
            ("username", "root<admin>"),
            ("email", "root@example.com"),
            ("password", "short"),
        ])
        .send()
        .await
        .unwrap();
    let retry = page(response, 422).await;
    assert!(retry.contains(r#"value="root&lt;admin&gt;""#), "{retry}");
    assert!(!retry.contains("value=\"short\""));

    let response = server
        .client()
        .post(&url)
        .form(&[
            ("username", "root"),
            ("email", "root@example.com"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    let done = page(response, 201).await;
    let token = shown_token(&done);
    assert!(token.starts_with("gha_"), "{token}");
    assert!(done.contains(&format!(
        r#"curl -H "Authorization: Bearer {token}" {}"#,
        server.url("/api/v1/users")
    )));
    assert!(!done.contains(PASSWORD));

    // The token is an instance admin token and the administrator exists.
    let users = json(
        server
            .with_token(&token)
            .get("/api/v1/users")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(users["items"][0]["username"], "root");
    let groups = json(
        server
            .with_token(&token)
            .get("/api/v1/groups")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(groups["items"][0]["name"], "administrators");

    // The link is spent.
    let again = [
        ("username", "root2"),
        ("email", "root2@example.com"),
        ("password", PASSWORD),
    ];
    page(
        server
            .client()
            .post(&url)
            .form(&again)
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    page(server.client().get(&url).send().await.unwrap(), 404).await;
}

#[tokio::test]
async fn unknown_setup_links_are_404_pages() {
    let server = TestServer::start_with(TestOptions::default().without_bootstrap_token()).await;
    let html = page(
        server
            .client()
            .get(server.url("/setup/not-the-token"))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    assert!(html.contains("invalid or has already been used"));
    let form = [("username", "x"), ("password", PASSWORD)];
    page(
        server
            .client()
            .post(server.url("/setup/not-the-token"))
            .form(&form)
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    // With a bootstrap token configured there is no setup link at all.
    let server = TestServer::start().await;
    assert!(
        server
            .services
            .setup
            .first_start_link()
            .await
            .unwrap()
            .is_none()
    );
}
