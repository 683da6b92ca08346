//! Phone factors: one-time codes by text message (RFC 8176 `amr` `sms`) or
//! voice call (`tel`), handed to an HTTP webhook provider. Core decides what
//! to send ([`SmsMessage`]) and knows no HTTP: the sender behind
//! [`SmsSender`] lives in `gatehouse_web::sms`. This module validates and
//! masks numbers; the code itself is six digits, stored hashed on the
//! factor row and spent by the store's compare-and-set.

use async_trait::async_trait;

use crate::ids::OrgId;
use crate::model::PhoneChannel;
use crate::secret::Secret;

/// How long a code sent to a phone is valid.
pub const CODE_TTL_SECS: i64 = 5 * 60;
/// How long after one code the next may be asked for (no SMS bombing).
pub const RESEND_SECS: i64 = 30;

/// Why a code is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsPurpose {
    /// Proving a new number.
    Enrol,
    /// The second step of a sign-in.
    SignIn,
}

impl SmsPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enrol => "enrol",
            Self::SignIn => "sign_in",
        }
    }
}

/// One code to deliver.
#[derive(Debug, Clone)]
pub struct SmsMessage {
    /// E.164 (`+` and digits).
    pub to: Secret,
    pub channel: PhoneChannel,
    /// The text to send or read out (holds the code).
    pub message: Secret,
    /// The code alone, for providers that template their own message.
    pub code: Secret,
    pub purpose: SmsPurpose,
    pub org_id: OrgId,
}

/// Something that delivers [`SmsMessage`]s: the HTTP webhook provider.
#[async_trait]
pub trait SmsSender: Send + Sync + std::fmt::Debug {
    /// Sends one message. The error is for the log; it must contain neither
    /// the number nor the code.
    async fn send(&self, message: &SmsMessage) -> Result<(), String>;
}

/// The number in E.164 form: `+`, then 8 to 15 digits, the first not 0.
/// Spaces, hyphens, dots and parentheses between digits are dropped.
pub fn parse_e164(text: &str) -> Option<String> {
    let text = text.trim();
    let rest = text.strip_prefix('+')?;
    let digits: String = rest
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    let ok = (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    ok.then(|| format!("+{digits}"))
}

/// The number with all but its last four digits hidden: `+•••••••1234`.
pub fn mask(e164: &str) -> String {
    let digits = e164.trim_start_matches('+');
    let shown = digits.len().saturating_sub(4);
    let mut masked = String::from("+");
    for (i, c) in digits.chars().enumerate() {
        masked.push(if i < shown { '•' } else { c });
    }
    masked
}

/// The text of a message carrying `code`.
pub fn message_text(code: &str, purpose: SmsPurpose) -> String {
    let what = match purpose {
        SmsPurpose::Enrol => "Your Gatehouse verification code is",
        SmsPurpose::SignIn => "Your Gatehouse sign-in code is",
    };
    format!(
        "{what} {code}. It expires in {} minutes.",
        CODE_TTL_SECS / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_numbers() {
        assert_eq!(
            parse_e164("+44 20 7946 0958").as_deref(),
            Some("+442079460958")
        );
        assert_eq!(
            parse_e164(" +1 (555) 010-0199 ").as_deref(),
            Some("+15550100199")
        );
        assert_eq!(parse_e164("+12345678").as_deref(), Some("+12345678"));
        for bad in [
            "442079460958",
            "+1234567",
            "+1234567890123456",
            "+0123456789",
            "+44 20 79x6 0958",
            "+",
            "",
            "++442079460958",
        ] {
            assert_eq!(parse_e164(bad), None, "{bad}");
        }
    }

    #[test]
    fn masks_all_but_four_digits() {
        assert_eq!(mask("+442079461234"), "+••••••••1234");
        assert_eq!(mask("+12345678"), "+••••5678");
    }
}
