//! The SMS / voice webhook: Gatehouse hands each phone code to a provider
//! adapter over HTTP. Core decides what to send
//! ([`gatehouse_core::services::SmsMessage`]); this module only does the
//! HTTP: one `POST` of JSON
//! `{"to", "channel", "message", "code", "purpose", "org_id"}`, signed with
//! `X-Gatehouse-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`
//! under the shared secret, no redirects followed, [`SMS_TIMEOUT`] in all.
//! Any answer but 2xx is a failure.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_lc_rs::hmac;
use gatehouse_core::clock::Clock;
use gatehouse_core::secret::Secret;
use gatehouse_core::services::{SmsMessage, SmsSender};
use reqwest::redirect::Policy;

/// How long one webhook call may take, connection included.
pub const SMS_TIMEOUT: Duration = Duration::from_secs(5);
/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "X-Gatehouse-Signature";

/// Posts codes to the configured webhook.
pub struct HttpSmsSender {
    http: reqwest::Client,
    url: String,
    key: hmac::Key,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for HttpSmsSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSmsSender")
            .field("url", &self.url)
            .field("key", &"[redacted]")
            .finish()
    }
}

impl HttpSmsSender {
    /// A sender to `url` signing with `secret`; the clock stamps `t`.
    pub fn new(url: &str, secret: &Secret, clock: Arc<dyn Clock>) -> Result<Self, reqwest::Error> {
        Self::build(reqwest::Client::builder(), url, secret, clock)
    }

    /// As [`HttpSmsSender::new`], ignoring proxy settings from the
    /// environment (tests reach their receivers on loopback directly).
    pub fn direct(
        url: &str,
        secret: &Secret,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, reqwest::Error> {
        Self::build(reqwest::Client::builder().no_proxy(), url, secret, clock)
    }

    fn build(
        builder: reqwest::ClientBuilder,
        url: &str,
        secret: &Secret,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, reqwest::Error> {
        let http = builder
            .redirect(Policy::none())
            .timeout(SMS_TIMEOUT)
            .user_agent(concat!("gatehouse/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            url: url.to_owned(),
            key: hmac::Key::new(hmac::HMAC_SHA256, secret.expose().as_bytes()),
            clock,
        })
    }

    /// `t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
    fn signature(&self, unix: i64, body: &[u8]) -> String {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(unix.to_string().as_bytes());
        ctx.update(b".");
        ctx.update(body);
        let tag = ctx.sign();
        let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        format!("t={unix},v1={hex}")
    }
}

#[derive(serde::Serialize)]
struct Payload<'a> {
    to: &'a str,
    channel: &'a str,
    message: &'a str,
    code: &'a str,
    purpose: &'a str,
    org_id: String,
}

#[async_trait]
impl SmsSender for HttpSmsSender {
    async fn send(&self, message: &SmsMessage) -> Result<(), String> {
        let body = serde_json::to_vec(&Payload {
            to: message.to.expose(),
            channel: message.channel.as_str(),
            message: message.message.expose(),
            code: message.code.expose(),
            purpose: message.purpose.as_str(),
            org_id: message.org_id.to_string(),
        })
        .map_err(|_| "cannot encode the payload".to_owned())?;
        let unix = self.clock.now_millis().div_euclid(1000);
        let signature = self.signature(unix, &body);
        let response = self
            .http
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature)
            .body(body)
            .send()
            .await
            .map_err(|e| describe(&e))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("HTTP {}", status.as_u16()))
        }
    }
}

/// A transport failure in a few words, without the URL or any body.
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
