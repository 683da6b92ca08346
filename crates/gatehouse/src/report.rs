//! How failures reach the terminal: one line on standard error, and the exit
//! code — 2 for a bad setting, 1 for anything else.

use std::io::Write;
use std::process::ExitCode;

use gatehouse_core::Error;

use crate::settings::SettingError;

/// Prints `error: …` and picks the exit code.
pub fn failure(e: &anyhow::Error) -> ExitCode {
    let code = if e.downcast_ref::<SettingError>().is_some() {
        2
    } else {
        1
    };
    let _ = writeln!(std::io::stderr(), "error: {e:#}");
    ExitCode::from(code)
}

/// A core error as `cannot {what}: {reason}`, with validation details spelled out.
pub fn core(what: &'static str) -> impl Fn(Error) -> anyhow::Error {
    move |e| anyhow::anyhow!("cannot {what}: {}", describe(&e))
}

fn describe(e: &Error) -> String {
    match e {
        Error::Invalid(fields) => fields
            .iter()
            .map(|f| {
                if f.field.is_empty() {
                    f.message.clone()
                } else {
                    format!("{} {}", f.field, f.message)
                }
            })
            .collect::<Vec<_>>()
            .join("; "),
        Error::Internal(message) => message.clone(),
        Error::NotFound(_)
        | Error::Conflict(_)
        | Error::PreconditionFailed
        | Error::Forbidden
        | Error::AuthFailed
        | Error::Unavailable
        | Error::Store(_) => e.to_string(),
    }
}
