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
use crate::ids::{ApiTokenId, GroupId, OrgId, UserId};
use crate::model::{
    ApiToken, AuditEvent, AuditQuery, Client, ClientQuery, Group, GroupQuery, Organization, Page,
    TokenScope, User, UserQuery,
};
use crate::password::StoredPassword;
use crate::secret::TokenHash;

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

/// Everything a Gatehouse node stores. `Arc<dyn Store>` is what services hold.
pub trait Store:
    OrgStore + UserStore + GroupStore + ApiTokenStore + ClientStore + AuditStore + MetaStore
{
}

impl<T> Store for T where
    T: OrgStore + UserStore + GroupStore + ApiTokenStore + ClientStore + AuditStore + MetaStore
{
}
