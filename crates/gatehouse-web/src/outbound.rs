//! Calls Gatehouse makes to clients' servers: back-channel logout (OpenID
//! Connect Back-Channel Logout 1.0 §2.5). Core decides what to send and when
//! ([`gatehouse_core::services::BackChannel`]); this module only does the HTTP.

use std::time::Duration;

use async_trait::async_trait;
use gatehouse_core::services::LogoutSender;
use reqwest::StatusCode;
use reqwest::redirect::Policy;

/// How long one logout POST may take, connection included.
pub const LOGOUT_TIMEOUT: Duration = Duration::from_secs(5);

/// Sends Logout Tokens with reqwest.
#[derive(Debug, Clone)]
pub struct HttpLogoutSender {
    http: reqwest::Client,
}

impl HttpLogoutSender {
    /// A client that follows no redirects (§2.5: the request goes to the
    /// registered URI only) and gives up after [`LOGOUT_TIMEOUT`].
    pub fn new() -> Result<Self, reqwest::Error> {
        Self::build(reqwest::Client::builder())
    }

    /// As [`HttpLogoutSender::new`], ignoring proxy settings from the
    /// environment (tests reach their receivers on loopback directly).
    pub fn direct() -> Result<Self, reqwest::Error> {
        Self::build(reqwest::Client::builder().no_proxy())
    }

    fn build(builder: reqwest::ClientBuilder) -> Result<Self, reqwest::Error> {
        let http = builder
            .redirect(Policy::none())
            .timeout(LOGOUT_TIMEOUT)
            .user_agent(concat!("gatehouse/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { http })
    }
}

#[async_trait]
impl LogoutSender for HttpLogoutSender {
    /// §2.5: `POST` with `application/x-www-form-urlencoded` body
    /// `logout_token=…`; §2.8: the RP answers 200 OK on success (204 is
    /// accepted too, as some RPs send it). Anything else is a failure to retry.
    async fn send(&self, uri: &str, logout_token: &str) -> Result<(), String> {
        let response = self
            .http
            .post(uri)
            .form(&[("logout_token", logout_token)])
            .send()
            .await
            .map_err(|e| describe(&e))?;
        match response.status() {
            StatusCode::OK | StatusCode::NO_CONTENT => Ok(()),
            status => Err(format!("HTTP {}", status.as_u16())),
        }
    }
}

/// A transport failure in a few words, without the URL's query or any body.
fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".into()
    } else if error.is_connect() {
        "connection failed".into()
    } else if error.is_request() {
        "request failed".into()
    } else {
        "transport error".into()
    }
}
