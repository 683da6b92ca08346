//! Core services: the "decide" step of every request. Handlers call these with a
//! proven principal and a request context; these call the store, the clock, the
//! RNG and the password hasher, and write audit events with every change.

mod admin_auth;
mod api_tokens;
pub mod audit;
pub mod audit_log;
mod client_auth;
// -- multifactor authentication
pub mod account;
pub mod factors;
pub mod magic_link;
pub mod mailer;
pub mod mfa;
pub mod passkeys;
pub mod rate_limit;
pub mod signon_policy;
// --
pub mod client_settings;
pub mod clients;
mod groups;
// -- group rules
pub mod group_rules;
pub use group_rules::{GroupRules, RuleExpression};
// --
mod keys;
pub mod oauth;
mod orgs;
mod password_login;
pub mod principal;
pub mod profile;
pub mod saml;
pub mod scim;
pub mod sessions;
mod setup;
pub mod throttle;
mod users;

use std::sync::Arc;
use std::time::Duration;

pub use admin_auth::AdminAuth;
pub use api_tokens::{ApiTokens, NewApiToken};
pub use client_auth::MAX_ASSERTION_LIFETIME_SECS;
pub use client_settings::ClientSettings;
pub use clients::{Clients, NewClient, Registration};
pub use groups::{Groups, NewGroup};
pub use keys::{
    DEFAULT_KEY_ROTATION_PERIOD, DEFAULT_RETIRED_KEY_RETENTION, Keys, RELOAD_INTERVAL, RotatedKeys,
};
pub use oauth::{BackChannel, LogoutSender, OAuth, OAuthSettings};
pub use orgs::{NewOrg, Orgs};
pub use password_login::{PasswordLogin, SignIn};
pub use principal::{AdminPrincipal, RequestContext, ScimPrincipal};
pub use profile::UserProfile;
pub use saml::Saml;
pub use scim::{Scim, ScimSettings};
pub use sessions::{SessionSettings, Sessions};
pub use setup::{Setup, SetupResult};
pub use throttle::{Admission, Attempt, Lockout, SignInSettings, Throttle};
pub use users::{NewUser, Users};
// -- multifactor authentication
pub use account::Account;
pub use factors::Factors;
pub use factors::phone::{SmsMessage, SmsPurpose, SmsSender};
pub use magic_link::MagicLinks;
pub use mailer::{Mail, Mailer};
pub use mfa::Mfa;
pub use passkeys::Passkeys;
pub use signon_policy::SignOnPolicies;
// --

use crate::clock::{Clock, Rng};
use crate::crypto::MasterKey;
use crate::error::{Error, Result};
use crate::ids::OrgId;
use crate::model::Organization;
use crate::password::{PasswordHasher, PasswordPolicy};
use crate::secret::{Secret, TokenHash};
use crate::store::Store;
use audit_log::AuditLog;

/// Start-up settings the services need.
#[derive(Debug, Clone)]
pub struct ServicesConfig {
    /// `GATEHOUSE_BOOTSTRAP_TOKEN`: a value accepted as an instance admin bearer token.
    pub bootstrap_token: Option<Secret>,
    /// How many password hashes may run at once (each takes ~19 MiB and one core).
    pub hash_concurrency: usize,
    /// The externally visible base URL, without a trailing slash.
    pub public_url: String,
    /// Browser SSO session lifetimes.
    pub sessions: SessionSettings,
    /// OpenID Provider settings.
    pub oauth: OAuthSettings,
    /// How long a signing key is active before [`Keys::maintain`] rotates it;
    /// `None` rotates only on command. Default [`DEFAULT_KEY_ROTATION_PERIOD`].
    pub key_rotation_period: Option<Duration>,
    /// How long a retired signing key stays in JWKS; must exceed the longest
    /// lifetime of a token it signed. Default [`DEFAULT_RETIRED_KEY_RETENTION`].
    pub retired_key_retention: Duration,
    /// Brute-force protection and the password hasher's queue bound.
    pub sign_in: SignInSettings,
    /// Sends e-mailed sign-in codes; `None` turns e-mail codes off.
    pub mailer: Option<Arc<dyn Mailer>>,
    /// Sends codes by text message or call (the SMS webhook); `None`
    /// turns phone factors off.
    pub sms: Option<Arc<dyn SmsSender>>,
}

/// What every service holds: the store and the injected clock, RNG and hasher.
#[derive(Debug, Clone)]
pub(crate) struct Deps {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub rng: Arc<dyn Rng>,
    pub hasher: PasswordHasher,
}

impl Deps {
    /// An audit event for `action` by `actor` on `target`, stamped with the request's context.
    pub(crate) fn audit(
        &self,
        actor: &str,
        ctx: &RequestContext,
        action: &str,
        target: audit::Target,
        details: serde_json::Value,
    ) -> crate::model::AuditEvent {
        audit::event(
            self.clock.as_ref(),
            self.rng.as_ref(),
            actor,
            ctx,
            action,
            target,
            details,
        )
    }
}

impl std::fmt::Debug for dyn Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

/// Every core service of one node.
#[derive(Debug)]
pub struct Services {
    pub orgs: Orgs,
    pub users: Users,
    pub groups: Groups,
    pub api_tokens: ApiTokens,
    pub clients: Clients,
    pub password_login: PasswordLogin,
    /// Sign-in throttling; the second-factor code counts its failures here too.
    pub throttle: Throttle,
    pub admin_auth: AdminAuth,
    pub setup: Setup,
    pub sessions: Sessions,
    pub oauth: OAuth,
    /// The SAML 2.0 identity provider.
    pub saml: Saml,
    /// Back-channel logout delivery ([`BackChannel::deliver_due`]).
    pub backchannel: BackChannel,
    pub keys: Arc<Keys>,
    // -- multifactor authentication
    pub factors: Factors,
    pub mfa: Mfa,
    /// WebAuthn: passkeys and security keys.
    pub passkeys: Passkeys,
    /// A signed-in user's own factors.
    pub account: Account,
    /// Sign-in links by e-mail.
    pub magic_links: MagicLinks,
    pub signon_policies: SignOnPolicies,
    // --
    /// SCIM 2.0 provisioning (`/scim/v2`).
    pub scim: Scim,
    /// Group rules (attribute expressions keeping memberships in sync).
    pub group_rules: GroupRules,
    store: Arc<dyn Store>,
    master_key: MasterKey,
    public_url: String,
}

const MASTER_KEY_CHECK: &str = "master_key_check";

impl Services {
    /// Wires the services, refuses a master key that does not open this database,
    /// and makes sure the default org and the signing keys exist.
    pub async fn start(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn Rng>,
        master_key: MasterKey,
        config: ServicesConfig,
    ) -> Result<Arc<Self>> {
        let slots = config.hash_concurrency.max(1);
        let queue = config.sign_in.hash_queue.unwrap_or(4 * slots);
        let hasher = PasswordHasher::new(slots).with_queue(queue);
        Self::with_hasher(store, clock, rng, master_key, config, hasher).await
    }

    /// As [`Services::start`] with a given hasher (tests use cheap parameters).
    pub async fn with_hasher(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn Rng>,
        master_key: MasterKey,
        config: ServicesConfig,
        hasher: PasswordHasher,
    ) -> Result<Arc<Self>> {
        check_master_key(store.as_ref(), &master_key).await?;
        let now = clock.now_millis();
        store
            .ensure_org(&Organization {
                id: OrgId::DEFAULT,
                slug: "default".into(),
                name: "Default".into(),
                domains: Vec::new(),
                profile_schema: None,
                password_policy: PasswordPolicy::default(),
                created_at: now,
                updated_at: now,
                version: 1,
            })
            .await?;
        let deps = Deps {
            store: store.clone(),
            clock,
            rng,
            hasher,
        };
        let pairwise_salt = pairwise_salt(&deps).await?;
        let keys = Arc::new(Keys::new(
            deps.clone(),
            master_key.clone(),
            config.key_rotation_period,
            config.retired_key_retention,
        ));
        keys.ensure().await?;
        let backchannel = BackChannel::new(
            deps.clone(),
            keys.clone(),
            config.public_url.clone(),
            config.oauth.id_token_alg,
            pairwise_salt.clone(),
        );
        let sessions = Sessions::new(deps.clone(), config.sessions, backchannel.clone());
        // One group-committing audit writer for events that record no stored change.
        let audit_log = AuditLog::start(store.clone());
        let saml = Saml::new(
            deps.clone(),
            keys.clone(),
            sessions.clone(),
            audit_log.clone(),
            config.public_url.clone(),
        );
        let oauth = OAuth::new(
            deps.clone(),
            oauth::OAuthParts {
                audit_log: audit_log.clone(),
                keys: keys.clone(),
                clients: Clients::new(deps.clone()),
                sessions: sessions.clone(),
            },
            config.public_url.clone(),
            config.oauth.clone(),
            pairwise_salt,
        );
        let throttle = Throttle::new(deps.clone(), config.sign_in.clone(), audit_log);
        let bootstrap = config
            .bootstrap_token
            .as_ref()
            .map(|t| TokenHash::of(t.expose()));
        let factors = Factors::new(deps.clone(), master_key.clone(), config.sms.clone());
        let passkeys = Passkeys::new(deps.clone(), &config.public_url);
        let mfa = Mfa::new(
            deps.clone(),
            factors.clone(),
            throttle.clone(),
            config.mailer.clone(),
            passkeys.clone(),
        );
        let password_login = PasswordLogin::new(deps.clone(), throttle.clone());
        let account = Account::new(
            deps.clone(),
            factors.clone(),
            passkeys.clone(),
            password_login.clone(),
        );
        Ok(Arc::new(Self {
            orgs: Orgs::new(deps.clone()),
            users: Users::new(deps.clone()),
            groups: Groups::new(deps.clone()),
            api_tokens: ApiTokens::new(deps.clone()),
            clients: Clients::new(deps.clone()),
            password_login,
            throttle,
            admin_auth: AdminAuth::new(deps.clone(), bootstrap.clone()),
            setup: Setup::new(deps.clone(), bootstrap.is_some()),
            sessions,
            oauth,
            saml,
            backchannel,
            keys,
            factors,
            mfa,
            passkeys,
            account,
            magic_links: MagicLinks::new(deps.clone(), config.mailer.clone(), &config.public_url),
            signon_policies: SignOnPolicies::new(deps.clone()),
            scim: Scim::new(deps.clone(), &config.public_url, ScimSettings::default()),
            group_rules: GroupRules::new(deps.clone()),
            store,
            master_key,
            public_url: config.public_url,
        }))
    }

    /// Readiness: one round trip to the database.
    pub async fn ready(&self) -> Result<()> {
        self.store.ping().await.map_err(Error::Store)
    }

    /// The store, for wiring and tests; handlers go through the services.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn master_key(&self) -> &MasterKey {
        &self.master_key
    }

    pub fn public_url(&self) -> &str {
        &self.public_url
    }
}

/// The instance's pairwise-subject salt: random, made once, shared by every node.
async fn pairwise_salt(deps: &Deps) -> Result<String> {
    const KEY: &str = "pairwise_subject_salt";
    if let Some(salt) = deps.store.get_meta(KEY).await? {
        return Ok(salt);
    }
    let fresh = deps.rng.token(32);
    deps.store.put_meta_if_absent(KEY, &fresh).await?;
    // Another node may have stored its salt first; everyone uses the stored one.
    deps.store
        .get_meta(KEY)
        .await?
        .ok_or_else(|| Error::Internal("the pairwise salt vanished".into()))
}

/// Stores a check value sealed under the key on first start; on later starts the
/// key must open it, so a wrong key is refused before it can write unreadable data.
async fn check_master_key(store: &dyn Store, key: &MasterKey) -> Result<()> {
    match store.get_meta(MASTER_KEY_CHECK).await? {
        Some(sealed) if key.verifies(&sealed) => Ok(()),
        Some(_) => Err(Error::Internal(
            "the master key does not open this database's encrypted data (wrong GATEHOUSE_MASTER_KEY?)".into(),
        )),
        None => {
            if !store.put_meta_if_absent(MASTER_KEY_CHECK, &key.check_value()).await? {
                // Another node stored its check value first; it must match ours.
                let stored = store.get_meta(MASTER_KEY_CHECK).await?.unwrap_or_default();
                if !key.verifies(&stored) {
                    return Err(Error::Internal("the master key differs from the other nodes' key".into()));
                }
            }
            Ok(())
        }
    }
}
