//! What SCIM provisioning stores beside users and groups, and the
//! engine-neutral form of a SCIM filter the store turns into SQL.
//!
//! The store never sees the SCIM wire format: `services::scim` resolves a
//! parsed filter against the schema (which attribute is a column, which lives
//! in a JSON document, which is multi-valued, which compares case-exactly)
//! and hands over a [`ScimCond`].

use serde_json::{Map, Value};

use crate::clock::Millis;
use crate::ids::{GroupId, UserId};
use crate::model::{Group, SortOrder, User};

/// A user with what only SCIM holds: the client's `externalId` and the
/// SCIM document it last wrote (attributes our model has no column for).
#[derive(Debug, Clone, PartialEq)]
pub struct ScimUser {
    pub user: User,
    pub external_id: Option<String>,
    /// The stored SCIM User document (no `id`, `meta`, `schemas`, `groups`, `password`).
    pub resource: Map<String, Value>,
}

/// A group with its SCIM `externalId` and members (id and username, by username).
#[derive(Debug, Clone, PartialEq)]
pub struct ScimGroup {
    pub group: Group,
    pub external_id: Option<String>,
    pub members: Vec<(UserId, String)>,
}

/// Columns a filter or sort can name directly (indexed where it matters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimColumn {
    Id,
    /// Users: `userName` (compared lower-cased); groups: `displayName`.
    Name,
    /// Users only: the primary e-mail (compared lower-cased).
    Email,
    ExternalId,
    Created,
    LastModified,
    /// Users only: `status = 'active'` or `'locked_out'`.
    Active,
}

/// The JSON documents a filter can look into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimDoc {
    /// `users.claims` (OIDC standard claims).
    Claims,
    /// `users.attributes` (custom attributes).
    Attributes,
    /// `scim_users.resource`.
    Resource,
    /// Inside [`ScimCond::Any`]: the array element at hand.
    Element,
}

/// The comparison operators (`ne` is `Not(Eq)`, as in the reference semantics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimOp {
    Eq,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A comparison value, already normalised: text lower-cased when the
/// attribute is not case-exact, instants as unix milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub enum ScimValue {
    Text(String),
    Bool(bool),
    Millis(Millis),
}

/// An engine-neutral filter condition.
#[derive(Debug, Clone, PartialEq)]
pub enum ScimCond {
    True,
    False,
    Not(Box<ScimCond>),
    And(Box<ScimCond>, Box<ScimCond>),
    Or(Box<ScimCond>, Box<ScimCond>),
    /// A column compared with a value.
    Column(ScimColumn, ScimOp, ScimValue),
    /// The column holds a non-empty value.
    ColumnPresent(ScimColumn),
    /// A string or boolean at `path` (1–2 keys, exact spelling) of a document.
    Json {
        doc: ScimDoc,
        path: Vec<String>,
        op: ScimOp,
        value: ScimValue,
        /// False: the stored text is lower-cased before comparing.
        case_exact: bool,
    },
    /// A non-empty value (string, number, boolean, object or array) at `path`.
    JsonPresent {
        doc: ScimDoc,
        path: Vec<String>,
    },
    /// Some element of the array at `path` satisfies `cond` (whose `Element` paths are relative to it).
    Any {
        doc: ScimDoc,
        path: Vec<String>,
        cond: Box<ScimCond>,
    },
    /// Users only: one of the user's e-mail addresses — the primary one or
    /// any `value` of the provisioning client's `emails` — compared
    /// case-insensitively with the (lower-cased) text.
    Email(ScimOp, String),
    /// Users only: a member of the group.
    MemberOf(GroupId),
    /// Groups only: has the user as a member.
    HasMember(UserId),
}

/// How a list is ordered.
#[derive(Debug, Clone, PartialEq)]
pub enum ScimSortKey {
    Column(ScimColumn),
    /// A single-valued string in a document, compared lower-cased.
    Json(ScimDoc, Vec<String>),
}

/// A filtered, sorted, offset-paged list request (RFC 7644 §3.4.2).
#[derive(Debug, Clone, PartialEq)]
pub struct ScimListQuery {
    pub filter: ScimCond,
    pub sort: Option<ScimSortKey>,
    pub order: SortOrder,
    /// Zero-based.
    pub offset: u64,
    pub count: u32,
}

/// One page of a list and how many match in all.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimPage<T> {
    pub total: u64,
    pub items: Vec<T>,
}
