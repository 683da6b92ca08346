//! Outgoing e-mail for sign-in codes: SMTP through `lettre` when
//! `smtp_host` is configured, otherwise the file mailbox under the data
//! directory (`<data-dir>/mailbox/*.eml`), so a local install works without
//! a mail server.

use std::sync::Arc;

use async_trait::async_trait;
use gatehouse_core::services::{Mail, Mailer};
use gatehouse_web::mail::FileMailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::settings::{Settings, SmtpSettings, SmtpTls};

/// The mailer the settings ask for.
pub fn mailer(settings: &Settings) -> anyhow::Result<Arc<dyn Mailer>> {
    match &settings.smtp {
        Some(smtp) => {
            tracing::info!(host = %smtp.host, port = smtp.port, "e-mail goes through SMTP");
            Ok(Arc::new(SmtpMailer::new(smtp)?))
        }
        None => {
            let dir = settings.data_dir.join("mailbox");
            tracing::info!(dir = %dir.display(), "no SMTP server configured: e-mail is written to the file mailbox");
            Ok(Arc::new(FileMailbox::new(dir, "gatehouse@localhost")))
        }
    }
}

/// Sends through an SMTP server.
#[derive(Debug, Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: lettre::message::Mailbox,
}

impl SmtpMailer {
    pub fn new(smtp: &SmtpSettings) -> anyhow::Result<Self> {
        let builder = match smtp.tls {
            SmtpTls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)?,
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host),
        };
        let mut builder = builder.port(smtp.port);
        if let Some(username) = &smtp.username {
            let password = smtp
                .password
                .as_ref()
                .map(|p| p.expose().to_owned())
                .unwrap_or_default();
            builder = builder.credentials(Credentials::new(username.clone(), password));
        }
        let from = smtp
            .from
            .parse()
            .map_err(|e| anyhow::anyhow!("smtp_from is not an e-mail address: {e}"))?;
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &Mail) -> Result<(), String> {
        let to = mail
            .to
            .parse()
            .map_err(|e| format!("the recipient is not an e-mail address: {e}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())
            .map_err(|e| format!("cannot build the message: {e}"))?;
        self.transport
            .send(message)
            .await
            .map(drop)
            .map_err(|e| format!("SMTP delivery failed: {e}"))
    }
}
