//! Signing keys from the binary: `gatehouse keys list` and `gatehouse keys
//! rotate` (straight against the database, as the instance principal `cli`,
//! audited like the admin commands), and the per-minute [`Maintenance`] task
//! `serve` runs: periodic rotation, removal of expired retired keys, and
//! picking up rotations made by other nodes or by the CLI.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use gatehouse_core::model::{Algorithm, StoredKey};
use gatehouse_core::services::{AdminPrincipal, RequestContext, RotatedKeys, Services};
use gatehouse_web::rfc3339;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::cli::KeysCommand;
use crate::settings::Settings;
use crate::{report, startup};

/// How often a running server maintains its keys.
pub const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(60);

pub async fn run(settings: Settings, command: KeysCommand) -> anyhow::Result<()> {
    let public_url = settings.server.public_url_for(settings.server.listen);
    // Starting the services creates missing keys, so a fresh database lists some.
    let services = startup::services(&settings, public_url).await?;
    let who = AdminPrincipal::cli();
    let lines = match command {
        KeysCommand::List => {
            let keys = services
                .keys
                .list(&who)
                .await
                .map_err(report::core("list the signing keys"))?;
            list_lines(&keys)
        }
        KeysCommand::Rotate(rotate) => {
            let alg = match rotate.alg.as_deref() {
                // clap admits only the three names.
                Some(name) => Some(
                    Algorithm::parse(name)
                        .ok_or_else(|| anyhow::anyhow!("unknown algorithm {name:?}"))?,
                ),
                None => None,
            };
            let ctx = RequestContext {
                user_agent: Some(concat!("gatehouse-cli/", env!("CARGO_PKG_VERSION")).to_owned()),
                ..RequestContext::default()
            };
            let rotated = services
                .keys
                .rotate(&who, &ctx, alg)
                .await
                .map_err(report::core("rotate the signing keys"))?;
            rotated.iter().map(rotation_line).collect()
        }
    };
    let mut out = std::io::stdout().lock();
    for line in lines {
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    Ok(())
}

/// A header and one aligned line per key; `-` for a time that has not come.
fn list_lines(keys: &[StoredKey]) -> Vec<String> {
    let time = |at: Option<i64>| at.map_or_else(|| "-".to_owned(), rfc3339::format);
    let row = |cells: [&str; 6]| {
        let [kid, alg, state, created, activated, retired] = cells;
        format!("{kid:<43}  {alg:<5}  {state:<7}  {created:<24}  {activated:<24}  {retired}")
    };
    let mut lines = vec![row([
        "KID",
        "ALG",
        "STATE",
        "CREATED",
        "ACTIVATED",
        "RETIRED",
    ])];
    for key in keys {
        lines.push(row([
            &key.kid,
            key.alg.as_str(),
            key.state.as_str(),
            &time(Some(key.created_at)),
            &time(key.activated_at),
            &time(key.retired_at),
        ]));
    }
    lines
}

fn rotation_line(done: &RotatedKeys) -> String {
    format!(
        "{}: activated {}, retired {} (published until {}), next {}",
        done.alg,
        done.activated,
        done.retired,
        rfc3339::format(done.remove_after),
        done.next
    )
}

/// The background task calling [`gatehouse_core::services::Keys::maintain`]
/// and deleting expired sessions, codes and grants
/// ([`gatehouse_core::services::OAuth::purge_expired`]) every
/// [`MAINTENANCE_INTERVAL`]; failures are logged and retried at the next tick.
pub struct Maintenance {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Maintenance {
    pub fn start(services: Arc<Services>) -> Self {
        let (stop, mut stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            // Start-up just loaded the keys: the first run is one interval away.
            let start = tokio::time::Instant::now() + MAINTENANCE_INTERVAL;
            let mut ticks = tokio::time::interval_at(start, MAINTENANCE_INTERVAL);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = ticks.tick() => {
                        if let Err(e) = services.keys.maintain().await {
                            tracing::error!(error = %e, "signing key maintenance failed; retrying in a minute");
                        }
                        match services.oauth.purge_expired().await {
                            Ok(0) => {}
                            Ok(removed) => tracing::debug!(removed, "expired sessions and grants deleted"),
                            Err(e) => tracing::error!(error = %e, "deleting expired grants failed; retrying in a minute"),
                        }
                        if let Err(e) = services.mfa.purge_expired().await {
                            tracing::error!(error = %e, "deleting expired sign-in challenges failed; retrying in a minute");
                        }
                    }
                }
            }
        });
        Self { stop, task }
    }

    /// Stops the task, letting a run in progress finish.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "signing key maintenance task failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_core::model::{Jwk, KeyState};

    #[test]
    fn keys_list_lines_align_and_dash_missing_times() {
        let key = StoredKey {
            kid: "k".repeat(43),
            alg: Algorithm::EdDSA,
            state: KeyState::Next,
            sealed_private_key: String::new(),
            public_jwk: Jwk::default(),
            created_at: 1_700_000_000_000,
            activated_at: None,
            retired_at: None,
            remove_after: None,
        };
        let lines = list_lines(&[key]);
        assert_eq!(lines.len(), 2);
        let row: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(
            row,
            [
                "k".repeat(43).as_str(),
                "EdDSA",
                "next",
                "2023-11-14T22:13:20.000Z",
                "-",
                "-"
            ]
        );
        assert_eq!(lines[0].find("STATE"), lines[1].find("next"));
    }
}
