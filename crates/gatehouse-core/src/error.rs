//! The errors core services return, grouped by what the caller can do about them.

/// A storage failure, as seen through the `Store` traits.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was violated; names the field (`username`, `email`, `slug`, `domain`, `name`).
    #[error("{0} already taken")]
    Conflict(&'static str),
    /// An optimistic-concurrency check failed: the row changed since it was read.
    #[error("version conflict")]
    VersionConflict,
    /// A referenced row does not exist (foreign key).
    #[error("{0} not found")]
    Missing(&'static str),
    /// The database failed or is unreachable; the cause is for the log only.
    #[error("storage backend: {0}")]
    Backend(String),
}

/// A field that failed validation, reported back to the caller.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// JSON pointer-ish path of the field, e.g. `email` or `attributes/department`.
    pub field: String,
    /// Machine-readable code, e.g. `invalid_email`, `too_short`, `required`.
    pub code: String,
    /// A human-readable message; never echoes a secret.
    pub message: String,
}

impl FieldError {
    pub fn new(
        field: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            code: code.into(),
            message: message.into(),
        }
    }
}

/// What a core service call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such resource, or one the caller may not see (the two are never told apart).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request conflicts with stored state (duplicate, wrong lifecycle state).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The caller's `If-Match` version is stale.
    #[error("precondition failed")]
    PreconditionFailed,
    /// The caller is authenticated but not allowed to do this.
    #[error("not permitted")]
    Forbidden,
    /// The request is malformed or fails validation.
    #[error("invalid request")]
    Invalid(Vec<FieldError>),
    /// Credentials were missing or wrong.
    #[error("authentication failed")]
    AuthFailed,
    /// The system is overloaded (e.g. the password hashing pool is saturated).
    #[error("temporarily unavailable")]
    Unavailable,
    /// A storage or other internal failure; rendered as a bare 500, cause logged.
    #[error(transparent)]
    Store(StoreError),
    /// An internal failure outside storage (crypto, task join); rendered as a bare 500.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// A store error where a uniqueness conflict names the duplicated field of a `kind`
    /// ("a user with this email already exists"), so the caller knows what to change.
    pub fn duplicate(kind: &str, e: StoreError) -> Self {
        match e {
            StoreError::Conflict(field) => {
                Error::Conflict(format!("a {kind} with this {field} already exists"))
            }
            other => other.into(),
        }
    }

    pub fn invalid(field: &str, code: &str, message: impl Into<String>) -> Self {
        Error::Invalid(vec![FieldError::new(field, code, message)])
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(field) => Error::Conflict(format!("{field} already exists")),
            StoreError::VersionConflict => Error::PreconditionFailed,
            StoreError::Missing(what) => Error::NotFound(what),
            other @ StoreError::Backend(_) => Error::Store(other),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
