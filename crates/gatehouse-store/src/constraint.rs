//! Turns driver errors into [`StoreError`]s.
//!
//! Unique violations become `StoreError::Conflict(field)`, found by the name of
//! the violated constraint or index (PostgreSQL reports it) or, on SQLite, by the
//! `table.column` list its message names ("UNIQUE constraint failed: users.org_id,
//! users.username_lower"). Both spellings of each rule sit side by side in
//! [`UNIQUE_RULES`], next to the names the migrations give the indexes. Anything
//! else is `StoreError::Backend`, whose text is for the log only.

use gatehouse_core::StoreError;

/// `(constraint or index name, SQLite column list, field reported in the conflict)`.
const UNIQUE_RULES: &[(&str, &str, &str)] = &[
    ("orgs_pkey", "orgs.id", "id"),
    ("orgs_slug_uq", "orgs.slug", "slug"),
    ("org_domains_pkey", "org_domains.domain", "domain"),
    ("users_pkey", "users.id", "id"),
    (
        "users_org_username_uq",
        "users.org_id, users.username_lower",
        "username",
    ),
    (
        "users_org_email_uq",
        "users.org_id, users.email_lower",
        "email",
    ),
    ("groups_pkey", "groups.id", "id"),
    (
        "groups_org_name_uq",
        "groups.org_id, groups.name_lower",
        "name",
    ),
    ("api_tokens_pkey", "api_tokens.id", "id"),
    ("api_tokens_hash_uq", "api_tokens.hash", "hash"),
    ("oauth_clients_pkey", "oauth_clients.client_id", "client_id"),
    (
        "webauthn_credentials_credential_idx",
        "webauthn_credentials.credential_id",
        "credential_id",
    ),
    (
        "saml_service_providers_entity_id_uq",
        "saml_service_providers.entity_id",
        "entity_id",
    ),
];

/// What a failed statement means to the caller.
#[derive(Debug)]
pub(crate) enum DbFailure {
    /// A known uniqueness rule was violated.
    Conflict(&'static str),
    /// A foreign key pointed at a row that does not exist.
    MissingReference,
    Other(String),
}

pub(crate) fn classify(error: &sqlx::Error) -> DbFailure {
    let sqlx::Error::Database(db) = error else {
        return DbFailure::Other(error.to_string());
    };
    match db.kind() {
        sqlx::error::ErrorKind::UniqueViolation => {
            match unique_field(db.constraint(), db.message()) {
                Some(field) => DbFailure::Conflict(field),
                None => DbFailure::Other(error.to_string()),
            }
        }
        sqlx::error::ErrorKind::ForeignKeyViolation => DbFailure::MissingReference,
        _ => DbFailure::Other(error.to_string()),
    }
}

/// The generic mapping: conflicts by field, a dangling reference as `Missing(missing)`.
pub(crate) fn store_error(error: sqlx::Error, missing: &'static str) -> StoreError {
    match classify(&error) {
        DbFailure::Conflict(field) => StoreError::Conflict(field),
        DbFailure::MissingReference => StoreError::Missing(missing),
        DbFailure::Other(message) => StoreError::Backend(message),
    }
}

/// A failure that is never the caller's doing (decoding, connectivity).
pub(crate) fn backend(error: sqlx::Error) -> StoreError {
    StoreError::Backend(error.to_string())
}

fn unique_field(constraint: Option<&str>, message: &str) -> Option<&'static str> {
    if let Some(name) = constraint {
        return UNIQUE_RULES
            .iter()
            .find(|(rule, _, _)| *rule == name)
            .map(|(_, _, field)| *field);
    }
    let detail = message.strip_prefix("UNIQUE constraint failed: ")?.trim();
    // SQLite names an expression index instead of columns: "index 'name'".
    if let Some(index) = detail
        .strip_prefix("index '")
        .and_then(|rest| rest.strip_suffix('\''))
    {
        return UNIQUE_RULES
            .iter()
            .find(|(rule, _, _)| *rule == index)
            .map(|(_, _, field)| *field);
    }
    UNIQUE_RULES
        .iter()
        .find(|(_, columns, _)| *columns == detail)
        .map(|(_, _, field)| *field)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_rules_resolve_by_name_and_by_sqlite_columns() {
        let cases = [
            (Some("users_org_username_uq"), "", Some("username")),
            (Some("users_org_email_uq"), "", Some("email")),
            (Some("orgs_slug_uq"), "", Some("slug")),
            (Some("org_domains_pkey"), "", Some("domain")),
            (Some("groups_org_name_uq"), "", Some("name")),
            (Some("oauth_clients_pkey"), "", Some("client_id")),
            (
                None,
                "UNIQUE constraint failed: oauth_clients.client_id",
                Some("client_id"),
            ),
            (Some("audit_events_pkey"), "", None),
            (
                None,
                "UNIQUE constraint failed: users.org_id, users.username_lower",
                Some("username"),
            ),
            (
                None,
                "UNIQUE constraint failed: users.org_id, users.email_lower",
                Some("email"),
            ),
            (
                None,
                "UNIQUE constraint failed: org_domains.domain",
                Some("domain"),
            ),
            (
                None,
                "UNIQUE constraint failed: index 'orgs_slug_uq'",
                Some("slug"),
            ),
            (None, "UNIQUE constraint failed: audit_events.id", None),
            (None, "something else", None),
        ];
        for (constraint, message, expected) in cases {
            assert_eq!(
                unique_field(constraint, message),
                expected,
                "{constraint:?} {message}"
            );
        }
    }
}
