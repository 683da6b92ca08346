//! Storage contracts. Object-safe traits shaped around atomic use-cases; the
//! SQLite and PostgreSQL implementations live in `gatehouse-store`.
//!
//! Invariants every implementation keeps (checked by the conformance suite):
//! - A mutation and the [`AuditEvent`] passed with it commit in one transaction, or neither does.
//! - Usernames and e-mails are unique per org, case-insensitively; a violation is
//!   `StoreError::Conflict("username" | "email")`, never a partial write.
//! - `update_*` succeeds only when the stored `version` equals the given one and
//!   then stores `version + 1`; otherwise `StoreError::VersionConflict`.
//! - Lists are keyset-paginated: a cursor continues exactly after the last item.
//! - A call that changes nothing (it returns `false`: absent, already a member, already
//!   revoked) commits nothing and writes no audit event.

use async_trait::async_trait;

use crate::clock::Millis;
use crate::error::StoreError;
use crate::ids::{
    ApiTokenId, FactorId, GrantId, GroupId, LogoutDeliveryId, OrgId, ServiceProviderId, SessionId,
    UserId,
};
use crate::model::{
    ApiToken, AuditEvent, AuditQuery, AuthorizationCode, Client, ClientQuery, CodeRedemption,
    Consent, DeviceApproval, DeviceCode, DevicePoll, Factor, Grant, Group, GroupQuery, KeyRotation,
    LogoutDelivery, MfaChallenge, Organization, Page, PendingAuthorization, PolicyScope,
    RefreshRotation, RefreshToken, SignOnPolicy, SsoSession, StoredKey, TokenScope, User,
    UserQuery,
};
use crate::model::{AppAssignment, AppRef, AssignmentSubject};
use crate::model::{CounterKey, CounterState, KnownDevice, ThrottlePolicy};
use crate::model::{MagicLink, WebauthnCeremony, WebauthnCredential};
use crate::model::{SamlLogoutChain, SamlParticipant, SamlPending, ServiceProvider};
use crate::model::{ScimGroup, ScimListQuery, ScimPage, ScimUser};
use crate::password::StoredPassword;
use crate::secret::TokenHash;
use crate::{ids::GroupRuleId, model::GroupRule};

pub type StoreResult<T> = Result<T, StoreError>;

#[async_trait]
pub trait OrgStore: Send + Sync {
    /// Inserts the org unless one with its id exists (idempotent; used for the default org).
    async fn ensure_org(&self, org: &Organization) -> StoreResult<()>;
    /// `Conflict("slug")` or `Conflict("domain")` on duplicates.
    async fn create_org(&self, org: &Organization, audit: &AuditEvent) -> StoreResult<()>;
    async fn get_org(&self, id: OrgId) -> StoreResult<Option<Organization>>;
    async fn find_org_by_domain(&self, domain: &str) -> StoreResult<Option<Organization>>;
    /// Orgs in id order.
    async fn list_orgs(&self, after: Option<&str>, limit: u32) -> StoreResult<Page<Organization>>;
    /// Replaces every field (domains included) when `org.version` is current; returns the stored org.
    async fn update_org(&self, org: &Organization, audit: &AuditEvent)
    -> StoreResult<Organization>;
    /// Deletes the org with its users, groups and tokens; `false` when absent.
    async fn delete_org(&self, id: OrgId, audit: &AuditEvent) -> StoreResult<bool>;
}

#[async_trait]
pub trait UserStore: Send + Sync {
    /// Creates the user with an optional password credential.
    async fn create_user(
        &self,
        user: &User,
        password: Option<&StoredPassword>,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    async fn get_user(&self, id: UserId) -> StoreResult<Option<User>>;
    /// Case-insensitive lookup within one org.
    async fn find_user_by_email(&self, org: OrgId, email: &str) -> StoreResult<Option<User>>;
    /// Case-insensitive lookup within one org.
    async fn find_user_by_username(&self, org: OrgId, username: &str) -> StoreResult<Option<User>>;
    async fn list_users(&self, query: &UserQuery) -> StoreResult<Page<User>>;
    /// Replaces every field when `user.version` is current; returns the stored user (version + 1).
    async fn update_user(&self, user: &User, audit: &AuditEvent) -> StoreResult<User>;
    /// Deletes the user, credentials and memberships; `false` when absent.
    async fn delete_user(&self, id: UserId, audit: &AuditEvent) -> StoreResult<bool>;
    async fn get_password(&self, id: UserId) -> StoreResult<Option<StoredPassword>>;
    /// Sets the password, moving the old one into history and keeping at most `keep_history`
    /// old hashes. `audit` is `None` for a transparent rehash on sign-in.
    async fn set_password(
        &self,
        id: UserId,
        password: &StoredPassword,
        keep_history: u32,
        at: Millis,
        audit: Option<&AuditEvent>,
    ) -> StoreResult<()>;
    /// Replaces the hash only while it is still `current`, leaving history alone: the
    /// transparent upgrade of an imported or outdated hash after a successful
    /// verification. `false` when the password changed meanwhile (that change wins).
    async fn rehash_password(
        &self,
        id: UserId,
        current: &StoredPassword,
        upgraded: &StoredPassword,
        at: Millis,
    ) -> StoreResult<bool>;
    /// The most recent `limit` previous password hashes, newest first.
    async fn password_history(&self, id: UserId, limit: u32) -> StoreResult<Vec<StoredPassword>>;
}

#[async_trait]
pub trait GroupStore: Send + Sync {
    /// `Conflict("name")` on a duplicate name within the org.
    async fn create_group(&self, group: &Group, audit: &AuditEvent) -> StoreResult<()>;
    async fn get_group(&self, id: GroupId) -> StoreResult<Option<Group>>;
    async fn list_groups(&self, query: &GroupQuery) -> StoreResult<Page<Group>>;
    async fn update_group(&self, group: &Group, audit: &AuditEvent) -> StoreResult<Group>;
    async fn delete_group(&self, id: GroupId, audit: &AuditEvent) -> StoreResult<bool>;
    /// Idempotent; `false` when the user was already a member.
    async fn add_member(
        &self,
        group: GroupId,
        user: UserId,
        at: Millis,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    /// `false` when the user was not a member.
    async fn remove_member(
        &self,
        group: GroupId,
        user: UserId,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    /// Groups a user belongs to, by name.
    async fn groups_of_user(&self, user: UserId) -> StoreResult<Vec<Group>>;
    /// The groups of each of `users` (a page of a list, at most a few
    /// hundred) in one query: (member, group) pairs by member, then name.
    async fn groups_of_users(&self, users: &[UserId]) -> StoreResult<Vec<(UserId, Group)>>;
}

#[async_trait]
pub trait ApiTokenStore: Send + Sync {
    async fn create_api_token(&self, token: &ApiToken, audit: &AuditEvent) -> StoreResult<()>;
    async fn find_api_token(&self, hash: &TokenHash) -> StoreResult<Option<ApiToken>>;
    async fn get_api_token(&self, id: ApiTokenId) -> StoreResult<Option<ApiToken>>;
    /// Tokens of one scope (`Some`) or all (`None`), newest first, revoked ones included.
    async fn list_api_tokens(&self, scope: Option<TokenScope>) -> StoreResult<Vec<ApiToken>>;
    /// Sets `revoked_at` once; `false` when absent or already revoked.
    async fn revoke_api_token(
        &self,
        id: ApiTokenId,
        at: Millis,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
}

/// OAuth clients, and the single-use `jti`s of their `private_key_jwt` assertions.
#[async_trait]
pub trait ClientStore: Send + Sync {
    /// `Conflict("client_id")` when the id is taken; `Missing("org")` when the org does not exist.
    async fn create_client(&self, client: &Client, audit: &AuditEvent) -> StoreResult<()>;
    async fn get_client(&self, client_id: &str) -> StoreResult<Option<Client>>;
    /// Clients in `client_id` order, of one org when `query.org_id` is set.
    async fn list_clients(&self, query: &ClientQuery) -> StoreResult<Page<Client>>;
    /// Replaces every field (secret and registration-token hashes included) when
    /// `client.version` is current; returns the stored client (version + 1).
    /// `VersionConflict` when stale, `Missing("client")` when absent.
    async fn update_client(&self, client: &Client, audit: &AuditEvent) -> StoreResult<Client>;
    /// `false` when absent.
    async fn delete_client(&self, client_id: &str, audit: &AuditEvent) -> StoreResult<bool>;
    /// Records the hash of an assertion's `jti` until `expires_at`; `true` only the
    /// first time (atomically, across nodes), so an assertion is accepted once
    /// (RFC 7523 §3). Entries that expired by `now` are deleted on the way.
    async fn use_assertion_jti(
        &self,
        hash: &TokenHash,
        expires_at: Millis,
        now: Millis,
    ) -> StoreResult<bool>;
}

#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends an event that records no stored change (e.g. a failed attempt).
    async fn append_audit(&self, event: &AuditEvent) -> StoreResult<()>;
    /// Appends several such events in one transaction: all or none.
    async fn append_audit_batch(&self, events: &[AuditEvent]) -> StoreResult<()>;
    /// Newest first.
    async fn list_audit(&self, query: &AuditQuery) -> StoreResult<Page<AuditEvent>>;
}

/// Instance-wide key/value facts: the master-key check value, the setup-link hash.
#[async_trait]
pub trait MetaStore: Send + Sync {
    async fn get_meta(&self, key: &str) -> StoreResult<Option<String>>;
    /// Sets the value only when the key is absent; `true` when it was set.
    async fn put_meta_if_absent(&self, key: &str, value: &str) -> StoreResult<bool>;
    /// Removes the key only when it holds `value` (compare-and-delete); `true` when removed.
    async fn take_meta(&self, key: &str, value: &str) -> StoreResult<bool>;
    /// Whether any user exists (first-start detection).
    async fn is_empty(&self) -> StoreResult<bool>;
    /// A round trip to the database, for readiness.
    async fn ping(&self) -> StoreResult<()>;
}

/// Browser SSO sessions.
#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn create_session(&self, session: &SsoSession, audit: &AuditEvent) -> StoreResult<()>;
    /// The session whose cookie secret hashes to `secret_hash`, revoked or not.
    async fn find_session(&self, secret_hash: &TokenHash) -> StoreResult<Option<SsoSession>>;
    async fn get_session(&self, id: SessionId) -> StoreResult<Option<SsoSession>>;
    /// Records activity (idle timeout); no audit.
    async fn touch_session(&self, id: SessionId, at: Millis) -> StoreResult<()>;
    /// A user's sessions that are neither revoked nor past `now`, newest first.
    async fn list_sessions(&self, user: UserId, now: Millis) -> StoreResult<Vec<SsoSession>>;
    /// Revokes the session and every grant issued from it that is not `offline_access`,
    /// and enqueues `deliveries` (back-channel logout), in one transaction;
    /// `false` when absent or already revoked (then nothing is written).
    async fn revoke_session(
        &self,
        id: SessionId,
        at: Millis,
        deliveries: &[LogoutDelivery],
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    /// Clients the session signed in to, for single logout.
    async fn session_clients(&self, id: SessionId) -> StoreResult<Vec<String>>;
}

/// OAuth grants and their single-use secrets.
#[async_trait]
pub trait GrantStore: Send + Sync {
    async fn put_pending_authorization(&self, pending: &PendingAuthorization) -> StoreResult<()>;
    /// The pending request, unless it expired by `now`.
    async fn get_pending_authorization(
        &self,
        handle_hash: &TokenHash,
        now: Millis,
    ) -> StoreResult<Option<PendingAuthorization>>;
    /// Consumes it; `false` when another request already did.
    async fn take_pending_authorization(&self, handle_hash: &TokenHash) -> StoreResult<bool>;
    /// Stores a new grant with its first code, records the client on the grant's
    /// session, and the audit event, in one transaction.
    async fn create_code_grant(
        &self,
        grant: &Grant,
        code: &AuthorizationCode,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// Spends a code atomically. A second use revokes the grant and writes `reuse_audit`.
    async fn redeem_code(
        &self,
        code_hash: &TokenHash,
        now: Millis,
        reuse_audit: &AuditEvent,
    ) -> StoreResult<CodeRedemption>;
    /// Stores a grant issued without a code (device flow), with its audit event.
    async fn create_grant(&self, grant: &Grant, audit: &AuditEvent) -> StoreResult<()>;
    async fn get_grant(&self, id: GrantId) -> StoreResult<Option<Grant>>;
    /// Adds a refresh token to an existing grant.
    async fn add_refresh_token(&self, token: &RefreshToken) -> StoreResult<()>;
    /// The refresh token and its grant, spent or not.
    async fn find_refresh_token(
        &self,
        token_hash: &TokenHash,
    ) -> StoreResult<Option<(RefreshToken, Grant)>>;
    /// Spends `presented` and stores `successor` in one transaction, if `presented`
    /// is current and its grant active at `now`. A spent token revokes the grant
    /// (reuse detection) and writes `reuse_audit`.
    async fn rotate_refresh_token(
        &self,
        presented: &TokenHash,
        successor: &RefreshToken,
        now: Millis,
        reuse_audit: &AuditEvent,
    ) -> StoreResult<RefreshRotation>;
    /// Revokes a grant and so every token of it; `false` when absent or already revoked.
    async fn revoke_grant(&self, id: GrantId, at: Millis, audit: &AuditEvent) -> StoreResult<bool>;
    /// Puts an access token's `jti` on the deny list until it would expire anyway.
    async fn revoke_jti(
        &self,
        jti: &str,
        expires_at: Millis,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    async fn is_jti_revoked(&self, jti: &str) -> StoreResult<bool>;
    async fn get_consent(&self, user: UserId, client_id: &str) -> StoreResult<Option<Consent>>;
    /// Creates or replaces the remembered consent.
    async fn put_consent(&self, consent: &Consent, audit: &AuditEvent) -> StoreResult<()>;
    /// Deletes what expired before `now`: pending requests, codes, refresh tokens,
    /// deny-list entries, grants and sessions. Returns how many rows went.
    async fn purge_expired(&self, now: Millis) -> StoreResult<u64>;
}

/// Device authorization requests (RFC 8628).
#[async_trait]
pub trait DeviceStore: Send + Sync {
    async fn create_device_code(&self, code: &DeviceCode) -> StoreResult<()>;
    /// The request behind a user code, unless it expired by `now`.
    async fn find_device_code(
        &self,
        user_code: &str,
        now: Millis,
    ) -> StoreResult<Option<DeviceCode>>;
    /// Records the user's answer to a pending request: approved with `approval`,
    /// or denied when `None`. `false` when it is no longer pending or expired.
    async fn decide_device_code(
        &self,
        user_code: &str,
        approval: Option<&DeviceApproval>,
        now: Millis,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    /// A device's poll at `now`: enforces the interval (`SlowDown` adds 5 s)
    /// and spends an approved code atomically, so exactly one poll gets it.
    async fn poll_device_code(
        &self,
        device_code_hash: &TokenHash,
        now: Millis,
    ) -> StoreResult<DevicePoll>;
}

/// The back-channel logout queue (filled by [`SessionStore::revoke_session`]).
/// Several nodes may work it at once: a claim leases its rows, so no two
/// nodes send the same notification concurrently.
#[async_trait]
pub trait LogoutDeliveryStore: Send + Sync {
    /// In one transaction: up to `limit` deliveries due at `now` (oldest due
    /// first), each moved to `next_attempt_at = lease_until` so that no other
    /// claim takes it until the lease runs out.
    async fn claim_logout_deliveries(
        &self,
        now: Millis,
        lease_until: Millis,
        limit: u32,
    ) -> StoreResult<Vec<LogoutDelivery>>;
    /// The client took it: deletes it. `false` when absent.
    async fn complete_logout_delivery(&self, id: LogoutDeliveryId) -> StoreResult<bool>;
    /// Counts a failed attempt and schedules the next at `next_attempt_at`.
    /// `false` when absent.
    async fn retry_logout_delivery(
        &self,
        id: LogoutDeliveryId,
        next_attempt_at: Millis,
        error: &str,
    ) -> StoreResult<bool>;
    /// Gives up: deletes it with `audit`. `false` (and no audit) when absent.
    async fn abandon_logout_delivery(
        &self,
        id: LogoutDeliveryId,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
}

/// JWT signing keys. Every change is a compare-and-set on the key states, so
/// several nodes sharing one database agree without any other coordination:
/// at most one `active` and one `next` key per algorithm, ever.
#[async_trait]
pub trait SigningKeyStore: Send + Sync {
    /// Inserts `key` unless a key in the same state already exists for its
    /// algorithm (or the kid exists); `true` when inserted, and only then is
    /// `audit` written. Nodes starting at once all try, and one wins.
    async fn insert_signing_key(&self, key: &StoredKey, audit: &AuditEvent) -> StoreResult<bool>;
    /// Every key, by algorithm, then creation time.
    async fn list_signing_keys(&self) -> StoreResult<Vec<StoredKey>>;
    /// In one transaction: `next_kid` (still `next`) becomes `active`,
    /// `active_kid` (still `active`) becomes `retired` with `remove_after`, and
    /// `new_next` is inserted as `next`. `false`, with nothing changed, when
    /// either key is no longer in that state (another node rotated first).
    async fn rotate_signing_keys(
        &self,
        rotation: &KeyRotation,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    /// Deletes the key if it is `retired` and its `remove_after` is at or
    /// before `now`; `false` (and no audit) otherwise.
    async fn delete_retired_signing_key(
        &self,
        kid: &str,
        now: Millis,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
}

/// SAML service providers, pending SAML sign-ins, single-use request ids and
/// session participation (for single logout).
#[async_trait]
pub trait SamlStore: Send + Sync {
    /// `Conflict("entity_id")` when the entity ID is registered; `Missing("org")` without the org.
    async fn create_service_provider(
        &self,
        sp: &ServiceProvider,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    async fn get_service_provider(
        &self,
        id: ServiceProviderId,
    ) -> StoreResult<Option<ServiceProvider>>;
    async fn find_service_provider(&self, entity_id: &str) -> StoreResult<Option<ServiceProvider>>;
    /// Service providers in id order, of one org when given.
    async fn list_service_providers(&self, org: Option<OrgId>)
    -> StoreResult<Vec<ServiceProvider>>;
    /// Compare-and-set on `version`; returns the stored SP (version + 1).
    async fn update_service_provider(
        &self,
        sp: &ServiceProvider,
        audit: &AuditEvent,
    ) -> StoreResult<ServiceProvider>;
    /// `false` when absent.
    async fn delete_service_provider(
        &self,
        id: ServiceProviderId,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    /// Records an SP's AuthnRequest/LogoutRequest `ID` until `expires_at`; `true`
    /// only the first time (atomically, across nodes). Expired ids are purged on the way.
    async fn use_saml_request_id(
        &self,
        sp: ServiceProviderId,
        request_id: &str,
        expires_at: Millis,
        now: Millis,
    ) -> StoreResult<bool>;
    async fn put_saml_pending(&self, pending: &SamlPending) -> StoreResult<()>;
    /// The pending sign-in, unless it expired by `now`.
    async fn get_saml_pending(
        &self,
        handle_hash: &TokenHash,
        now: Millis,
    ) -> StoreResult<Option<SamlPending>>;
    /// Spends it; `false` when another request already did.
    async fn take_saml_pending(&self, handle_hash: &TokenHash) -> StoreResult<bool>;
    /// Records that the session signed in to the SP, keeping the first
    /// SessionIndex; returns the stored participation.
    async fn join_saml_session(
        &self,
        participant: &SamlParticipant,
    ) -> StoreResult<SamlParticipant>;
    /// The participation an SP's LogoutRequest names by SessionIndex.
    async fn find_saml_participant(
        &self,
        sp: ServiceProviderId,
        session_index: &str,
    ) -> StoreResult<Option<SamlParticipant>>;
    /// Every SP the session signed in to.
    async fn saml_participants(&self, session: SessionId) -> StoreResult<Vec<SamlParticipant>>;
    /// Stores a new logout chain (and purges expired ones).
    async fn put_saml_logout_chain(&self, chain: &SamlLogoutChain, now: Millis) -> StoreResult<()>;
    /// The unexpired chain whose "continue" handle hashes to `handle_hash`.
    async fn find_saml_logout_chain(
        &self,
        handle_hash: &TokenHash,
        now: Millis,
    ) -> StoreResult<Option<SamlLogoutChain>>;
    /// The unexpired chain awaiting the LogoutResponse to `request_id`.
    async fn find_saml_logout_chain_by_request(
        &self,
        request_id: &str,
        now: Millis,
    ) -> StoreResult<Option<SamlLogoutChain>>;
    /// Compare-and-set: stores `chain` (new handle, request id and state)
    /// only while its outstanding request is still `expected_request_id`;
    /// `false` when another request advanced it first.
    async fn advance_saml_logout_chain(
        &self,
        chain: &SamlLogoutChain,
        expected_request_id: &str,
    ) -> StoreResult<bool>;
    /// Deletes the chain while its outstanding request is `expected_request_id`;
    /// `false` when another request finished or advanced it.
    async fn finish_saml_logout_chain(
        &self,
        id: &str,
        expected_request_id: &str,
    ) -> StoreResult<bool>;
}
/// App assignments (`app_assignments`): users and groups allowed to use an
/// application that requires assignment, shared by SAML SPs and OAuth clients.
#[async_trait]
pub trait AppAssignmentStore: Send + Sync {
    /// `true` when added, `false` when it already existed (no audit then).
    async fn add_app_assignment(
        &self,
        assignment: &AppAssignment,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    /// `false` when absent.
    async fn remove_app_assignment(
        &self,
        app: &AppRef,
        subject: &AssignmentSubject,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    /// The app's assignments: users, then groups, each in id order.
    async fn list_app_assignments(&self, app: &AppRef) -> StoreResult<Vec<AppAssignment>>;
    /// Whether the user is assigned directly or is a member of an assigned group.
    async fn is_assigned(&self, app: &AppRef, user: UserId) -> StoreResult<bool>;
}

// ---- Multifactor authentication (factors, half-signed-in state, sign-on policies).

/// Second factors of users: TOTP factors and recovery codes. Every use is a
/// compare-and-set in one statement, so of concurrent submissions of one code
/// exactly one is accepted.
#[async_trait]
pub trait FactorStore: Send + Sync {
    /// `Missing("user")` when the user does not exist.
    async fn create_factor(&self, factor: &Factor, audit: &AuditEvent) -> StoreResult<()>;
    async fn get_factor(&self, id: FactorId) -> StoreResult<Option<Factor>>;
    /// A user's factors, oldest first.
    async fn list_factors(&self, user: UserId) -> StoreResult<Vec<Factor>>;
    /// `false` (and no audit) when absent.
    async fn delete_factor(&self, id: FactorId, audit: &AuditEvent) -> StoreResult<bool>;
    /// Deletes every factor, recovery code and remembered device of `user`
    /// with `audit`; returns how many factors and codes went.
    async fn reset_factors(&self, user: UserId, audit: &AuditEvent) -> StoreResult<u64>;
    /// Records `step` as the factor's last accepted TOTP time step when it is
    /// later than the stored one (RFC 6238 §5.2: a code is accepted once), and
    /// with `activate` makes a pending factor active, writing `audit` with it.
    /// `false`, with nothing written, when the step was already used, the
    /// factor is gone, or its status is not the expected one.
    async fn accept_totp_step(
        &self,
        id: FactorId,
        step: i64,
        at: Millis,
        activate: bool,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    /// Deletes the user's `question` factors and creates `factor` (a new
    /// question) in one transaction with `audit`; returns the ids replaced.
    /// `Missing("user")` when the user does not exist.
    async fn replace_question(
        &self,
        factor: &Factor,
        audit: &AuditEvent,
    ) -> StoreResult<Vec<FactorId>>;
    /// Marks an active factor used at `at`, with `audit`; `false` (and
    /// nothing written) when it is gone or not active.
    async fn touch_factor(&self, id: FactorId, at: Millis, audit: &AuditEvent)
    -> StoreResult<bool>;
    /// Gives a phone factor a new one-time code (its hash, expiring at
    /// `expires_at`, no wrong tries yet), replacing any earlier one, unless
    /// the previous code went out less than `resend_after` millis before
    /// `at`. `false` (nothing written) then, or when the factor is gone.
    async fn set_factor_code(
        &self,
        id: FactorId,
        hash: &TokenHash,
        at: Millis,
        expires_at: Millis,
        resend_after: Millis,
    ) -> StoreResult<bool>;
    /// Spends a factor's one-time code in one compare-and-set: `true` only
    /// for the first use of the right, unexpired code with fewer than
    /// [`crate::model::MAX_CODE_ATTEMPTS`] wrong tries, of a factor in the
    /// expected status (`activate`: pending, which becomes active; else
    /// active). Writes `audit` only then.
    async fn use_factor_code(
        &self,
        id: FactorId,
        hash: &TokenHash,
        at: Millis,
        activate: bool,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    /// Counts a wrong try against the factor's current code; returns the
    /// tries so far (0 when it has no code).
    async fn fail_factor_code(&self, id: FactorId) -> StoreResult<u32>;
    /// Replaces the user's recovery codes by `hashes`.
    async fn replace_recovery_codes(
        &self,
        user: UserId,
        hashes: &[TokenHash],
        at: Millis,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// Spends an unused recovery code; `true` only for the first use.
    async fn use_recovery_code(
        &self,
        user: UserId,
        hash: &TokenHash,
        at: Millis,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    /// How many unused recovery codes the user has.
    async fn unused_recovery_codes(&self, user: UserId) -> StoreResult<u32>;
}

/// The half-signed-in state, remembered devices and sign-on policies.
#[async_trait]
pub trait SignOnStore: Send + Sync {
    async fn put_mfa_challenge(&self, challenge: &MfaChallenge) -> StoreResult<()>;
    /// The challenge, unless it expired by `now` or was completed.
    async fn get_mfa_challenge(
        &self,
        handle_hash: &TokenHash,
        now: Millis,
    ) -> StoreResult<Option<MfaChallenge>>;
    /// Counts a wrong code with `audit`; returns the new count (0 when absent).
    async fn fail_mfa_challenge(
        &self,
        handle_hash: &TokenHash,
        audit: &AuditEvent,
    ) -> StoreResult<u32>;
    /// Stores the hash of a freshly e-mailed code (replacing an earlier one).
    async fn set_mfa_email_code(
        &self,
        handle_hash: &TokenHash,
        code_hash: &TokenHash,
        expires_at: Millis,
    ) -> StoreResult<bool>;
    /// Spends the e-mailed code: `true` once, while it matches and is unexpired.
    async fn use_mfa_email_code(
        &self,
        handle_hash: &TokenHash,
        code_hash: &TokenHash,
        now: Millis,
    ) -> StoreResult<bool>;
    /// Marks the challenge completed; `true` once, while it is unexpired.
    async fn complete_mfa_challenge(
        &self,
        handle_hash: &TokenHash,
        now: Millis,
    ) -> StoreResult<bool>;
    /// Raises an active session to `acr`/`amr` with a fresh `auth_time`
    /// (step-up), with `audit`; `false` when it is gone or revoked.
    async fn elevate_session(
        &self,
        id: SessionId,
        amr: &[String],
        acr: &str,
        auth_time: Millis,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    async fn trust_device(
        &self,
        token_hash: &TokenHash,
        user: UserId,
        created_at: Millis,
        expires_at: Millis,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// Whether `token_hash` is a remembered device of `user` at `now`.
    async fn is_device_trusted(
        &self,
        token_hash: &TokenHash,
        user: UserId,
        now: Millis,
    ) -> StoreResult<bool>;
    async fn get_signon_policy(&self, scope: &PolicyScope) -> StoreResult<Option<SignOnPolicy>>;
    /// Creates or replaces the policy of `scope` (which belongs to `org`).
    async fn put_signon_policy(
        &self,
        scope: &PolicyScope,
        org: OrgId,
        policy: &SignOnPolicy,
        at: Millis,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// `false` (and no audit) when there was none.
    async fn delete_signon_policy(
        &self,
        scope: &PolicyScope,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    /// Deletes expired challenges and remembered devices; how many rows went.
    async fn purge_expired_sign_ons(&self, now: Millis) -> StoreResult<u64>;
}
/// WebAuthn credentials (behind `webauthn` factors) and ceremonies.
#[async_trait]
pub trait WebauthnStore: Send + Sync {
    /// Creates an active `webauthn` factor and its credential with `audit`.
    /// `Conflict` when the credential id is registered already;
    /// `Missing("user")` when the user is gone.
    async fn create_webauthn_factor(
        &self,
        factor: &Factor,
        credential: &WebauthnCredential,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// A user's credentials, oldest first.
    async fn list_webauthn_credentials(&self, user: UserId)
    -> StoreResult<Vec<WebauthnCredential>>;
    async fn find_webauthn_credential(
        &self,
        credential_id: &str,
    ) -> StoreResult<Option<WebauthnCredential>>;
    /// Records a use: stores `sign_count`, the backup state and the updated
    /// `credential` JSON when `sign_count` exceeds the stored counter (or
    /// both are 0), with `audit`, and marks the factor used. `false`, with
    /// nothing written, when the counter did not advance (a cloned key or a
    /// replay) or the credential is gone.
    async fn record_webauthn_use(
        &self,
        factor: FactorId,
        sign_count: i64,
        backup_state: bool,
        credential: &str,
        at: Millis,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    async fn put_webauthn_ceremony(&self, ceremony: &WebauthnCeremony) -> StoreResult<()>;
    /// Removes and returns the ceremony, unless it expired by `now`: of
    /// concurrent takes exactly one gets it.
    async fn take_webauthn_ceremony(
        &self,
        handle_hash: &TokenHash,
        now: Millis,
    ) -> StoreResult<Option<WebauthnCeremony>>;
}
/// E-mailed sign-in links.
#[async_trait]
pub trait MagicLinkStore: Send + Sync {
    /// Stores a new link, unless the user was sent one after `not_since`:
    /// `false` (nothing stored) then.
    async fn put_magic_link(
        &self,
        link: &MagicLink,
        not_since: Millis,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    /// The link, unless it expired by `now` or was used.
    async fn get_magic_link(
        &self,
        token_hash: &TokenHash,
        now: Millis,
    ) -> StoreResult<Option<MagicLink>>;
    /// Spends the link with `audit`: `true` once, while it is unexpired.
    async fn use_magic_link(
        &self,
        token_hash: &TokenHash,
        now: Millis,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
}
// ---- end of multifactor authentication.
/// SCIM provisioning (RFC 7644): users and groups together with what only
/// SCIM holds. Every write changes the `users`/`groups` row, its SCIM row and
/// (for groups) the memberships in one transaction with `audit`. Deletes go
/// through [`UserStore::delete_user`] and [`GroupStore::delete_group`].
#[async_trait]
pub trait ScimStore: Send + Sync {
    /// As [`UserStore::create_user`], with the SCIM row.
    async fn create_scim_user(
        &self,
        user: &ScimUser,
        password: Option<&StoredPassword>,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// The user and its SCIM row (an empty resource when it has none).
    async fn get_scim_user(&self, id: UserId) -> StoreResult<Option<ScimUser>>;
    /// Replaces the user (compare-and-set on `user.user.version`) and its SCIM
    /// row, and the password when given; returns the stored user (version + 1).
    async fn replace_scim_user(
        &self,
        user: &ScimUser,
        password: Option<&StoredPassword>,
        audit: &AuditEvent,
    ) -> StoreResult<ScimUser>;
    /// One page of the org's users matching the query, and how many match.
    async fn list_scim_users(
        &self,
        org: OrgId,
        query: &ScimListQuery,
    ) -> StoreResult<ScimPage<ScimUser>>;
    /// Creates the group with its members; `Missing("user")` when a member is
    /// not a user of the group's org.
    async fn create_scim_group(&self, group: &ScimGroup, audit: &AuditEvent) -> StoreResult<()>;
    async fn get_scim_group(&self, id: GroupId) -> StoreResult<Option<ScimGroup>>;
    /// Replaces the group (compare-and-set on `group.group.version`) and sets
    /// its members to exactly `group.members`.
    async fn replace_scim_group(
        &self,
        group: &ScimGroup,
        audit: &AuditEvent,
    ) -> StoreResult<ScimGroup>;
    /// One page of the org's groups; members are loaded only when `with_members`.
    async fn list_scim_groups(
        &self,
        org: OrgId,
        query: &ScimListQuery,
        with_members: bool,
    ) -> StoreResult<ScimPage<ScimGroup>>;
}

// ---- sign-in throttling (services::throttle) ----

/// Sign-in failure counters and the browsers known to have signed in to an
/// account. Shared by every node: a load balancer spreads one attacker over all
/// of them, so a per-node count would multiply what they may try.
#[async_trait]
pub trait SignInThrottleStore: Send + Sync {
    /// The stored state of those of `keys` that exist.
    async fn sign_in_counters(&self, keys: &[String]) -> StoreResult<Vec<CounterState>>;
    /// Counts one failure on each counter, atomically (concurrent failures are
    /// all counted): a counter whose last failure is before `now - policy.window_ms`
    /// starts again at 1. Where `policy` blocks the new count, `blocked_until`
    /// is raised to it. In the same transaction `audit` (the failure) is written,
    /// and `lockout` too when a counter reached its lockout threshold in this
    /// call, its `details.locked` listing those counters. Returns the new states.
    async fn count_sign_in_failure(
        &self,
        counters: &[CounterKey],
        policy: &ThrottlePolicy,
        now: Millis,
        audit: &AuditEvent,
        lockout: &AuditEvent,
    ) -> StoreResult<Vec<CounterState>>;
    /// A successful sign-in: deletes the counters `reset`, remembers `device`
    /// (or extends it), and writes `audit`, in one transaction.
    async fn record_sign_in(
        &self,
        reset: &[String],
        device: Option<&KnownDevice>,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// Whether the browser whose cookie hashes to `token_hash` signed in to
    /// `user` and is remembered past `now`.
    async fn is_known_device(
        &self,
        token_hash: &TokenHash,
        user: UserId,
        now: Millis,
    ) -> StoreResult<bool>;
    /// Every counter belonging to one of `subjects` (see `CounterKey::subject`).
    async fn sign_in_counters_of(&self, subjects: &[String]) -> StoreResult<Vec<CounterState>>;
    /// Deletes every counter belonging to one of `subjects`, with `audit`;
    /// returns how many went (0 writes no audit).
    async fn clear_sign_in_counters(
        &self,
        subjects: &[String],
        audit: &AuditEvent,
    ) -> StoreResult<u64>;
    /// Deletes counters that neither block nor count any more (idle for the
    /// policy's window) and devices no longer remembered, at `now`; returns how
    /// many rows went.
    async fn purge_sign_in_throttle(&self, now: Millis) -> StoreResult<u64>;
}

// ---- group rules (services::group_rules) ----

/// Group rules and the rule-managed memberships they keep. `rule_groups` is
/// the complete set of groups the org's rules put the user in: the user's
/// rule-managed memberships become exactly those, in the same transaction as
/// the user write. Manual memberships are never removed; a group the user is
/// already a manual member of stays manual.
#[async_trait]
pub trait GroupRuleStore: Send + Sync {
    async fn create_group_rule(&self, rule: &GroupRule, audit: &AuditEvent) -> StoreResult<()>;
    async fn get_group_rule(&self, id: GroupRuleId) -> StoreResult<Option<GroupRule>>;
    /// The org's rules (of one group when given), oldest first.
    async fn list_group_rules(
        &self,
        org: OrgId,
        group: Option<GroupId>,
    ) -> StoreResult<Vec<GroupRule>>;
    async fn delete_group_rule(&self, id: GroupRuleId, audit: &AuditEvent) -> StoreResult<bool>;
    /// For each `(user, rule_groups)`, sets the user's rule-managed memberships,
    /// all in one transaction; memberships added are dated `at`.
    async fn sync_rule_memberships(
        &self,
        users: &[(UserId, Vec<GroupId>)],
        at: Millis,
    ) -> StoreResult<()>;
    /// [`UserStore::create_user`] with the user's rule-managed memberships.
    async fn create_user_with_rules(
        &self,
        user: &User,
        password: Option<&StoredPassword>,
        rule_groups: &[GroupId],
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// [`UserStore::update_user`] with the user's rule-managed memberships.
    async fn update_user_with_rules(
        &self,
        user: &User,
        rule_groups: &[GroupId],
        audit: &AuditEvent,
    ) -> StoreResult<User>;
    /// [`ScimStore::create_scim_user`] with the user's rule-managed memberships.
    async fn create_scim_user_with_rules(
        &self,
        user: &ScimUser,
        password: Option<&StoredPassword>,
        rule_groups: &[GroupId],
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// [`ScimStore::replace_scim_user`] with the user's rule-managed memberships.
    async fn replace_scim_user_with_rules(
        &self,
        user: &ScimUser,
        password: Option<&StoredPassword>,
        rule_groups: &[GroupId],
        audit: &AuditEvent,
    ) -> StoreResult<ScimUser>;
}
// ---- end of group rules.

/// Everything a Gatehouse node stores. `Arc<dyn Store>` is what services hold.
pub trait Store:
    OrgStore
    + UserStore
    + GroupStore
    + ApiTokenStore
    + ClientStore
    + AuditStore
    + MetaStore
    + SessionStore
    + GrantStore
    + DeviceStore
    + LogoutDeliveryStore
    + SigningKeyStore
    + SamlStore
    + FactorStore
    + SignOnStore
    + WebauthnStore
    + MagicLinkStore
    + ScimStore
    + SignInThrottleStore
    + GroupRuleStore
    + AppAssignmentStore
{
}

impl<T> Store for T where
    T: OrgStore
        + UserStore
        + GroupStore
        + ApiTokenStore
        + ClientStore
        + AuditStore
        + MetaStore
        + SessionStore
        + GrantStore
        + DeviceStore
        + LogoutDeliveryStore
        + SigningKeyStore
        + SamlStore
        + FactorStore
        + SignOnStore
        + WebauthnStore
        + MagicLinkStore
        + MagicLinkStore
        + WebauthnStore
        + MagicLinkStore
        + ScimStore
        + SignInThrottleStore
        + GroupRuleStore
        + AppAssignmentStore
{
}
