//! The start-up sequence shared by every command that needs the core services
//! (`serve` and `admin`): data directory, master key, database, services.

use std::sync::Arc;

use gatehouse_core::clock::{Clock, SystemClock, SystemRng};
use gatehouse_core::services::SmsSender;
use gatehouse_core::services::{DEFAULT_RETIRED_KEY_RETENTION, Services, ServicesConfig};
use gatehouse_web::sms::HttpSmsSender;

use crate::settings::Settings;
use crate::{database, keyfile, report};

/// Opens (and migrates) the database and starts the services with `public_url`.
pub async fn services(settings: &Settings, public_url: String) -> anyhow::Result<Arc<Services>> {
    keyfile::create_data_dir(&settings.data_dir)?;
    let rng = Arc::new(SystemRng::new());
    let (master_key, generated) = keyfile::master_key(settings, rng.as_ref())?;
    let store = database::open(settings).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let sms: Option<Arc<dyn SmsSender>> = match &settings.sms {
        Some(sms) => {
            tracing::info!("phone codes go to the SMS webhook");
            Some(Arc::new(
                HttpSmsSender::new(&sms.url, &sms.secret, clock.clone())
                    .map_err(|e| anyhow::anyhow!("building the SMS webhook client: {e}"))?,
            ))
        }
        None => None,
    };
    let config = ServicesConfig {
        bootstrap_token: settings.server.bootstrap_token.clone(),
        hash_concurrency: settings.hash_concurrency,
        public_url,
        sessions: Default::default(),
        oauth: Default::default(),
        key_rotation_period: settings.server.key_rotation,
        retired_key_retention: DEFAULT_RETIRED_KEY_RETENTION,
        sign_in: settings.server.sign_in.clone(),
        mailer: Some(crate::mail::mailer(settings)?),
        sms,
    };
    let started = Services::start(store, clock, rng, master_key, config)
        .await
        .map_err(report::core("start"));
    match (started, generated) {
        (Ok(services), _) => Ok(services),
        (Err(e), None) => Err(e),
        // The database may predate the key file just written: say where the key came from.
        (Err(e), Some(path)) => Err(anyhow::anyhow!(
            "{e:#}; no master key was configured or found, so a new one was just generated into \
             {}: if this database was created with another key, put that key file back or set \
             GATEHOUSE_MASTER_KEY",
            path.display()
        )),
    }
}
