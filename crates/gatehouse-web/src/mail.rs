//! [`FileMailbox`]: a [`Mailer`] that writes each message as an `.eml` file
//! into a directory (`<data-dir>/mailbox/` when no SMTP server is
//! configured), so local use and tests can read what would have been sent.
//! The SMTP mailer lives in the binary.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use gatehouse_core::clock::{Rng, SystemRng};
use gatehouse_core::services::{Mail, Mailer};

/// Messages as RFC 5322 files in one directory.
#[derive(Debug, Clone)]
pub struct FileMailbox {
    dir: PathBuf,
    from: String,
}

impl FileMailbox {
    /// A mailbox in `dir` (created on the first message), sending as `from`.
    pub fn new(dir: impl Into<PathBuf>, from: impl Into<String>) -> Self {
        Self {
            dir: dir.into(),
            from: from.into(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The message as a plain-text RFC 5322 document.
    pub fn render(from: &str, mail: &Mail) -> String {
        format!(
            "From: {}\r\nTo: {}\r\nSubject: {}\r\nMIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{}",
            header(from),
            header(&mail.to),
            header(&mail.subject),
            mail.body
        )
    }
}

/// A header value on one line: no CR or LF can start another header.
fn header(value: &str) -> String {
    value.replace(['\r', '\n'], " ")
}

#[async_trait]
impl Mailer for FileMailbox {
    async fn send(&self, mail: &Mail) -> Result<(), String> {
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|e| format!("cannot create the mailbox {}: {e}", self.dir.display()))?;
        let path = self.dir.join(format!("{}.eml", SystemRng::new().token(12)));
        tokio::fs::write(&path, Self::render(&self.from, mail))
            .await
            .map_err(|e| format!("cannot write {}: {e}", path.display()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn headers_stay_on_one_line() {
        let mail = Mail {
            to: "a@example.com\r\nBcc: evil@example.com".into(),
            subject: "Hi".into(),
            body: "Body".into(),
        };
        let text = FileMailbox::render("gatehouse@localhost", &mail);
        assert!(text.contains("To: a@example.com  Bcc: evil@example.com\r\n"));
        assert!(text.ends_with("\r\n\r\nBody"));
    }
}
