//! Test databases and fixtures for the conformance suite.
//!
//! [`TestDb`] opens a fresh store per test: a SQLite file in its own temp dir,
//! or a PostgreSQL database `gh_test_<pid>_<n>_<nanos>` created on the server
//! `GATEHOUSE_TEST_POSTGRES_URL` names and dropped (forcefully, best-effort)
//! when the `TestDb` goes out of scope, even if the test failed. Tests therefore
//! run in parallel with no shared state.
//!
//! [`Fx`] builds domain values with a fake clock that moves one millisecond per
//! generated id, so ids (UUIDv7) sort in creation order.

use std::sync::Arc;

use gatehouse_core::clock::{Clock, FakeClock, Millis, Rng, SystemRng};
use gatehouse_core::ids::{ApiTokenId, AuditEventId, GroupId, GroupRuleId, OrgId, UserId};
use gatehouse_core::model::{
    ApiToken, AuditEvent, Group, GroupRule, Organization, Outcome, StandardClaims, TokenKind,
    TokenScope, User, UserStatus,
};
use gatehouse_core::password::PasswordPolicy;
use gatehouse_core::secret::TokenHash;
use gatehouse_core::store::Store;
use gatehouse_store::scratch::ScratchDatabase;
use gatehouse_store::{ConnectOptions, connect};

pub struct TestDb {
    pub store: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<ScratchDatabase>,
}

impl TestDb {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("gatehouse.db").display());
        let store = connect(
            &url,
            ConnectOptions {
                max_connections: 4,
                ..ConnectOptions::default()
            },
        )
        .await
        .unwrap();
        Self {
            store,
            _dir: Some(dir),
            postgres: None,
        }
    }

    /// `None` when `GATEHOUSE_TEST_POSTGRES_URL` is unset: the caller skips silently.
    pub async fn postgres() -> Option<Self> {
        let server = ScratchDatabase::server_from_env()?;
        let database = ScratchDatabase::create(&server, "gh_test").await.unwrap();
        let store = connect(
            database.url(),
            ConnectOptions {
                max_connections: 4,
                ..ConnectOptions::default()
            },
        )
        .await
        .unwrap();
        Some(Self {
            store,
            _dir: None,
            postgres: Some(database),
        })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Drop the database after the store's connections are gone (FORCE ends any left).
        drop(self.postgres.take());
    }
}

/// Builds fixtures.
pub struct Fx {
    clock: FakeClock,
    rng: SystemRng,
}

impl Fx {
    pub fn new() -> Self {
        Self {
            clock: FakeClock::at(1_700_000_000_000),
            rng: SystemRng::new(),
        }
    }

    /// Now, then one millisecond later for the next caller.
    pub fn now(&self) -> Millis {
        let now = self.clock.now_millis();
        self.clock.set(now + 1);
        now
    }

    fn tick(&self) -> &FakeClock {
        self.now();
        &self.clock
    }

    pub fn org(&self, slug: &str) -> Organization {
        let now = self.now();
        Organization {
            id: OrgId::generate(self.tick(), &self.rng),
            slug: slug.to_owned(),
            name: format!("{slug} Inc."),
            domains: Vec::new(),
            profile_schema: None,
            password_policy: PasswordPolicy::default(),
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    /// Creates an org and returns its id.
    pub async fn seed_org(&self, store: &dyn Store, slug: &str) -> OrgId {
        let org = self.org(slug);
        store
            .create_org(&org, &self.audit("org.create", &org.id.to_string()))
            .await
            .unwrap();
        org.id
    }

    pub fn user(&self, org: OrgId, username: &str, email: Option<&str>) -> User {
        let now = self.now();
        User {
            id: UserId::generate(self.tick(), &self.rng),
            org_id: org,
            username: username.to_owned(),
            email: email.map(str::to_owned),
            email_verified: email.is_some(),
            claims: StandardClaims {
                name: Some(format!("{username} Example")),
                ..StandardClaims::default()
            },
            attributes: serde_json::Map::new(),
            status: UserStatus::Active,
            created_at: now,
            updated_at: now,
            status_changed_at: now,
            last_login_at: None,
            version: 1,
        }
    }

    pub fn group(&self, org: OrgId, name: &str) -> Group {
        let now = self.now();
        Group {
            id: GroupId::generate(self.tick(), &self.rng),
            org_id: org,
            name: name.to_owned(),
            description: None,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    pub fn group_rule(&self, group: &Group, expression: &str) -> GroupRule {
        let now = self.now();
        GroupRule {
            id: GroupRuleId::generate(self.tick(), &self.rng),
            org_id: group.org_id,
            group_id: group.id,
            expression: expression.to_owned(),
            created_at: now,
            updated_at: now,
        }
    }

    pub fn token(&self, scope: TokenScope, name: &str) -> ApiToken {
        let secret = self.rng.token(32);
        ApiToken {
            id: ApiTokenId::generate(self.tick(), &self.rng),
            name: name.to_owned(),
            scope,
            kind: TokenKind::Admin,
            hash: TokenHash::of(&secret),
            prefix: secret.chars().take(8).collect(),
            created_at: self.now(),
            expires_at: None,
            revoked_at: None,
            created_by: "bootstrap".to_owned(),
        }
    }

    pub fn audit(&self, action: &str, target: &str) -> AuditEvent {
        AuditEvent {
            id: AuditEventId::generate(self.tick(), &self.rng),
            at: self.now(),
            actor: "system".to_owned(),
            action: action.to_owned(),
            target_type: action.split('.').next().unwrap_or("unknown").to_owned(),
            target_id: Some(target.to_owned()),
            org_id: None,
            outcome: Outcome::Success,
            ip: None,
            user_agent: None,
            request_id: Some("req-1".to_owned()),
            details: serde_json::json!({}),
        }
    }
}
