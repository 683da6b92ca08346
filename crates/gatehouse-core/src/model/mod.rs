//! Domain types: what Gatehouse stores and reasons about.

mod api_token;
mod audit;
mod client;
mod group;
mod org;
mod page;
mod signing_key;
mod user;

pub use api_token::{ApiToken, TokenScope};
pub use audit::{AuditEvent, AuditQuery, Outcome};
pub use client::{Client, ClientAuthMethod, ClientGrant, ClientQuery, SubjectType, TokenLifetimes};
pub use group::{Group, GroupQuery};
pub use org::Organization;
pub use page::{Page, SortOrder};
pub use signing_key::{Algorithm, Jwk, KeyRotation, KeyState, StoredKey};
pub use user::{LifecycleAction, StandardClaims, User, UserQuery, UserSort, UserStatus};
