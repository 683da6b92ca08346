//! `gatehouse`: the binary. Parses the command line, resolves settings, starts
//! logging and a runtime, and hands over to the subcommand. Exit codes: 0 on
//! success, 2 for a bad setting or bad usage (clap), 1 for any other failure.

mod admin;
mod cli;
mod database;
mod keyfile;
mod keys;
mod logging;
mod logout_delivery;
mod mail;
mod report;
mod serve;
mod settings;
mod startup;
mod tls;

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use crate::cli::{Cli, Command, ServerArgs};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report::failure(&e),
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let no_server_args = ServerArgs::default();
    let server_args = match &cli.command {
        Command::Serve(args) => args,
        Command::Migrate | Command::Admin(_) | Command::Keys(_) => &no_server_args,
    };
    let resolved = settings::load(&cli.common, server_args)?;
    logging::init(resolved.settings.log_format, &resolved.settings.log_filter)?;
    for warning in &resolved.warnings {
        tracing::warn!("{warning}");
    }
    let settings = resolved.settings;
    if let Some(path) = &settings.config_file {
        tracing::info!(path = %path.display(), "settings file read");
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(_) => serve::run(settings).await,
            Command::Migrate => {
                database::migrate(&settings).await?;
                tracing::info!("migrations applied");
                Ok(())
            }
            Command::Admin(command) => admin::run(settings, command).await,
            Command::Keys(command) => keys::run(settings, command).await,
        }
    });
    // Do not wait on stray blocking work (a hash in flight, a stdin read) at exit.
    runtime.shutdown_timeout(Duration::from_secs(1));
    result
}
