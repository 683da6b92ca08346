//! `gatehouse serve`: wires settings, store, services and the web router, then
//! serves HTTP or HTTPS until SIGTERM or SIGINT, letting in-flight requests
//! finish for up to the shutdown timeout. Signing-key maintenance runs beside
//! it every minute, back-channel logout delivery every few seconds; both stop
//! with it.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener, ListenerExt};
use tokio::net::TcpListener;

use crate::settings::Settings;
use crate::{keys, logout_delivery, report, startup, tls};

pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let server = &settings.server;
    // Bad TLS files are bad settings: find out before touching anything.
    let tls_config = server.tls.as_ref().map(tls::server_config).transpose()?;
    // Catch SIGTERM/SIGINT from now on, so a signal during start-up also shuts down cleanly.
    let mut signals = Signals::new().context("cannot install signal handlers")?;

    let tcp = TcpListener::bind(server.listen)
        .await
        .with_context(|| format!("cannot listen on {}", server.listen))?;
    let bound = tcp.local_addr()?;
    let public_url = server.public_url_for(bound);
    let services = startup::services(&settings, public_url.clone()).await?;

    let app = gatehouse_web::router(
        services.clone(),
        gatehouse_web::WebConfig {
            public_url: public_url.clone(),
            trusted_proxies: server.trusted_proxies.clone(),
            body_limit_bytes: server.body_limit,
        },
    );

    let scheme = if tls_config.is_some() {
        "https"
    } else {
        "http"
    };
    let local_url = format!("{scheme}://{bound}");
    let setup = services
        .setup
        .first_start_link()
        .await
        .map_err(report::core("create the setup link"))?;
    {
        let mut out = std::io::stdout().lock();
        if local_url == public_url {
            writeln!(out, "Gatehouse listening on {public_url}")?;
        } else {
            writeln!(
                out,
                "Gatehouse listening on {local_url} (public URL {public_url})"
            )?;
        }
        if let Some(token) = setup {
            writeln!(
                out,
                "Set up the first administrator: {public_url}/setup/{}",
                token.expose()
            )?;
        }
        out.flush()?;
    }
    tracing::info!(%bound, %public_url, tls = tls_config.is_some(), "listening");

    let timeout = server.shutdown_timeout;
    let logouts = logout_delivery::LogoutDelivery::start(services.clone())
        .context("starting back-channel logout delivery")?;
    let maintenance = keys::Maintenance::start(services.clone());
    let served = match tls_config {
        Some(config) => {
            let listener = tls::TlsListener::new(tcp, config)?.tap_io(|_| ());
            serve(listener, app, &mut signals, timeout).await
        }
        None => {
            let listener = tcp.tap_io(|stream| {
                let _ = stream.set_nodelay(true);
            });
            serve(listener, app, &mut signals, timeout).await
        }
    };
    logouts.stop().await;
    maintenance.stop().await;
    served
}

/// Serves until a signal, then drains in-flight requests for up to `timeout`
/// (a second signal cuts the wait short).
async fn serve<L>(
    listener: L,
    app: Router,
    signals: &mut Signals,
    timeout: Duration,
) -> anyhow::Result<()>
where
    L: Listener,
    L::Addr: std::fmt::Debug,
    SocketAddr: for<'a> Connected<IncomingStream<'a, L>>,
{
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        let _ = stopped.await;
    })
    .into_future();
    tokio::pin!(server);
    let signal = tokio::select! {
        result = &mut server => return result.context("the server stopped"),
        signal = signals.recv() => signal,
    };
    tracing::info!(
        signal,
        "shutting down; waiting up to {}s for in-flight requests",
        timeout.as_secs()
    );
    let _ = stop.send(());
    tokio::select! {
        finished = tokio::time::timeout(timeout, &mut server) => match finished {
            Ok(result) => result.context("the server failed while shutting down")?,
            Err(_) => tracing::warn!("requests still running after {}s were cut off", timeout.as_secs()),
        },
        signal = signals.recv() => tracing::warn!(signal, "second signal: not waiting for in-flight requests"),
    }
    tracing::info!("stopped");
    Ok(())
}

/// SIGTERM and SIGINT, registered up front.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}
