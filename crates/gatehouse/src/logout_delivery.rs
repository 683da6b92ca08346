//! The back-channel logout worker `serve` runs: every few seconds it sends the
//! logout notifications that are due (`BackChannel::deliver_due`). Several
//! nodes may run it at once; the store's leases keep them from sending the
//! same notification twice concurrently.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_core::services::Services;
use gatehouse_web::outbound::HttpLogoutSender;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How often due notifications are looked for.
pub const DELIVERY_INTERVAL: Duration = Duration::from_secs(5);

/// The running worker; [`LogoutDelivery::stop`] ends it.
pub struct LogoutDelivery {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl LogoutDelivery {
    pub fn start(services: Arc<Services>) -> anyhow::Result<Self> {
        let sender = HttpLogoutSender::new()?;
        let (stop, mut stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(DELIVERY_INTERVAL);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = ticks.tick() => {
                        // A round in progress is finished before a stop is
                        // seen; what it leased and did not send is due again
                        // when the lease runs out.
                        match services.backchannel.deliver_due(&sender).await {
                            Ok(0) => {}
                            Ok(delivered) => tracing::debug!(delivered, "back-channel logout notifications sent"),
                            Err(e) => tracing::error!(error = %e, "back-channel logout delivery failed; retrying shortly"),
                        }
                    }
                }
            }
        });
        Ok(Self { stop, task })
    }

    /// Stops the worker, letting a round in progress finish.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "back-channel logout task failed");
        }
    }
}
