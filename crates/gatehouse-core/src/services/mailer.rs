//! Outgoing e-mail, as core sees it: a message and a trait that sends it.
//! The SMTP (`lettre`) and file-mailbox implementations live outside core
//! (`gatehouse_web::mail`), so core knows no mail protocol.

use async_trait::async_trait;

/// One plain-text message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// Something that delivers [`Mail`]: SMTP, or a directory of `.eml` files.
#[async_trait]
pub trait Mailer: Send + Sync + std::fmt::Debug {
    /// Sends one message. The error is for the log; it must not contain
    /// the message body (which may hold a code).
    async fn send(&self, mail: &Mail) -> Result<(), String>;
}
