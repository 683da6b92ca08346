//! Domain types: what Gatehouse stores and reasons about.

mod api_token;
mod assignment;
mod audit;
mod client;
mod factor;
mod grant;
mod group;
mod logout_delivery;
mod org;
mod page;
mod saml;
mod scim;
mod session;
mod signing_key;
mod throttle;
mod user;

pub use api_token::{ApiToken, TokenKind, TokenScope};
pub use assignment::{AppAssignment, AppRef, AssignmentSubject};
pub use audit::{AuditEvent, AuditQuery, Outcome};
pub use client::{Client, ClientAuthMethod, ClientGrant, ClientQuery, SubjectType, TokenLifetimes};
pub use factor::{
    AttestationPolicy, CeremonyKind, Factor, FactorKind, FactorStatus, MAX_CODE_ATTEMPTS,
    MagicLink, MfaChallenge, PhoneChannel, PolicyScope, SecondFactorRule, SignOnPolicy,
    WebauthnCeremony, WebauthnCredential,
};
pub use grant::{
    AuthorizationCode, CodeRedemption, Consent, DeviceApproval, DeviceCode, DevicePoll,
    DeviceStatus, Grant, PendingAuthorization, RefreshRotation, RefreshToken,
};
pub use group::{Group, GroupQuery, GroupRule};
pub use logout_delivery::LogoutDelivery;
pub use org::Organization;
pub use page::{Page, SortOrder};
pub use saml::{
    AcsEndpoint, AttributeMapping, LogoutChainState, LogoutFinish, LogoutTarget, NameIdSource,
    RequestedContext, SamlLogoutChain, SamlParticipant, SamlPending, ServiceProvider, SloEndpoint,
    SpSettings,
};
pub use scim::{
    ScimColumn, ScimCond, ScimDoc, ScimGroup, ScimListQuery, ScimOp, ScimPage, ScimSortKey,
    ScimUser, ScimValue,
};
pub use session::SsoSession;
pub use signing_key::{Algorithm, Jwk, KeyRotation, KeyState, StoredKey};
pub use throttle::{
    CounterKey, CounterState, KnownDevice, Limits, Proof, Scope, Subject, ThrottlePolicy,
};
pub use user::{LifecycleAction, StandardClaims, User, UserQuery, UserSort, UserStatus};
