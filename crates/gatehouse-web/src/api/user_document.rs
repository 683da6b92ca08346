//! The JSON shapes of a user: what the API shows ([`UserView`]), what it
//! takes on create ([`CreateUserRequest`], split by [`new_user`] into core's
//! [`NewUser`]) and on update ([`UserPatch`], checked by [`check_patch`]).
//!
//! All of them are flat: `username`, `email`, `email_verified`, the OIDC
//! standard claims and `attributes` side by side, as in the core profile form
//! ([`UserProfile::to_json`]). Passwords and hashes go in, never out.

use gatehouse_core::Error;
use gatehouse_core::ids::{OrgId, UserId};
use gatehouse_core::model::{StandardClaims, User, UserStatus};
use gatehouse_core::secret::Secret;
use gatehouse_core::services::{NewUser, UserProfile};
use serde_json::{Map, Value};

use crate::extract::decode_value;
use crate::rfc3339;

/// Declares a user document: the given leading fields, the OIDC Core §5.1
/// standard claims (other than `sub`, `email`, `preferred_username`), then the
/// given trailing fields. One list of claims for every shape a user takes.
macro_rules! user_document {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $($(#[$head_meta:meta])* pub $head:ident: $head_ty:ty,)*
            ..claims..
            $($(#[$tail_meta:meta])* pub $tail:ident: $tail_ty:ty,)*
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $($(#[$head_meta])* pub $head: $head_ty,)*
            /// Full name.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub name: Option<String>,
            /// Given or first name.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub given_name: Option<String>,
            /// Surname or last name.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub family_name: Option<String>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub middle_name: Option<String>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub nickname: Option<String>,
            /// URL of the profile page.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub profile: Option<String>,
            /// URL of a profile picture.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub picture: Option<String>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub website: Option<String>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub gender: Option<String>,
            /// `YYYY-MM-DD` or `YYYY`.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub birthdate: Option<String>,
            /// IANA time zone, e.g. `Europe/Paris`.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub zoneinfo: Option<String>,
            /// BCP 47 language tag, e.g. `en-US`.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub locale: Option<String>,
            /// E.164 is recommended, e.g. `+1 (425) 555-1212`.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub phone_number: Option<String>,
            /// Omitted when false.
            #[serde(default, skip_serializing_if = "std::ops::Not::not")]
            pub phone_number_verified: bool,
            /// OIDC Core §5.1.1 address object, stored as given.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            #[schema(value_type = Option<Object>)]
            pub address: Option<Value>,
            $($(#[$tail_meta])* pub $tail: $tail_ty,)*
        }
    };
}

user_document! {
    /// A user as the API shows it. Never contains a password or a hash.
    #[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
    #[schema(as = User)]
    pub struct UserView {
        pub id: UserId,
        pub org_id: OrgId,
        /// Unique per org, case-insensitively; kept as given.
        pub username: String,
        /// Unique per org, case-insensitively, when present.
        pub email: Option<String>,
        pub email_verified: bool,
        ..claims..
        /// Custom attributes, valid against the org's profile schema.
        #[schema(value_type = Object)]
        pub attributes: Map<String, Value>,
        pub status: UserStatus,
        #[schema(format = DateTime)]
        pub created_at: String,
        #[schema(format = DateTime)]
        pub updated_at: String,
        /// When `status` last changed.
        #[schema(format = DateTime)]
        pub status_changed_at: String,
        #[schema(format = DateTime)]
        pub last_login_at: Option<String>,
        /// Incremented on every change; the `ETag` is `"<version>"`.
        pub version: i64,
    }
}

impl From<User> for UserView {
    fn from(user: User) -> Self {
        // Destructured in full, so a field added in core is a compile error here.
        let User {
            id,
            org_id,
            username,
            email,
            email_verified,
            claims,
            attributes,
            status,
            created_at,
            updated_at,
            status_changed_at,
            last_login_at,
            version,
        } = user;
        let StandardClaims {
            name,
            given_name,
            family_name,
            middle_name,
            nickname,
            profile,
            picture,
            website,
            gender,
            birthdate,
            zoneinfo,
            locale,
            phone_number,
            phone_number_verified,
            address,
        } = claims;
        Self {
            id,
            org_id,
            username,
            email,
            email_verified,
            name,
            given_name,
            family_name,
            middle_name,
            nickname,
            profile,
            picture,
            website,
            gender,
            birthdate,
            zoneinfo,
            locale,
            phone_number,
            phone_number_verified,
            address,
            attributes,
            status,
            created_at: rfc3339::format(created_at),
            updated_at: rfc3339::format(updated_at),
            status_changed_at: rfc3339::format(status_changed_at),
            last_login_at: rfc3339::format_opt(last_login_at),
            version,
        }
    }
}

/// The state a new user starts in.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InitialStatus {
    Active,
    Staged,
}

user_document! {
    /// `POST /api/v1/users`. Unknown fields are rejected.
    #[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct CreateUserRequest {
        pub username: String,
        #[serde(default)]
        pub email: Option<String>,
        #[serde(default)]
        pub email_verified: Option<bool>,
        /// A clear-text password, checked against the org's password policy and hashed with argon2id.
        #[serde(default)]
        #[schema(format = Password, write_only)]
        pub password: Option<String>,
        /// An existing hash to import instead of `password`: bcrypt, scrypt, PBKDF2-SHA256/512,
        /// SHA-crypt (`$5$`, `$6$`), SSHA, argon2i/argon2id PHC. Rehashed on first sign-in.
        #[serde(default)]
        #[schema(format = Password, write_only)]
        pub password_hash: Option<String>,
        ..claims..
        /// Custom attributes, checked against the org's profile schema.
        #[serde(default)]
        #[schema(value_type = Option<Object>)]
        pub attributes: Option<Map<String, Value>>,
        /// Default `active`.
        #[serde(default)]
        pub status: Option<InitialStatus>,
        /// Default: the token's org, or the default org for instance tokens.
        #[serde(default)]
        pub org_id: Option<OrgId>,
    }
}

user_document! {
    /// A JSON merge patch (RFC 7396) of a user: fields present are set, `null`
    /// removes an optional field, absent fields are kept. Read-only fields
    /// (`id`, `org_id`, `status`, timestamps, `version`) and passwords are refused.
    #[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct UserPatch {
        #[serde(default)]
        pub username: Option<String>,
        #[serde(default)]
        pub email: Option<String>,
        #[serde(default)]
        pub email_verified: Option<bool>,
        ..claims..
        /// Merged key by key; `null` removes a key.
        #[serde(default)]
        #[schema(value_type = Option<Object>)]
        pub attributes: Option<Map<String, Value>>,
    }
}

/// `PUT /api/v1/users/{id}/password`.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPasswordRequest {
    /// Checked against the org's password policy and history.
    #[schema(value_type = String, format = Password, write_only)]
    pub password: Secret,
}

/// Keys of the create body that are not part of the profile.
const CREATE_CONTROLS: [&str; 4] = ["password", "password_hash", "org_id", "status"];

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateControls {
    #[serde(default)]
    password: Option<Secret>,
    #[serde(default)]
    password_hash: Option<Secret>,
    #[serde(default)]
    org_id: Option<OrgId>,
    #[serde(default)]
    status: Option<UserStatus>,
}

/// Splits a create body into its controls and the flat profile, reporting the
/// errors of both at once.
pub(crate) fn new_user(mut body: Map<String, Value>) -> Result<NewUser, Error> {
    let controls: Map<String, Value> = CREATE_CONTROLS
        .iter()
        .filter_map(|key| body.remove_entry(*key))
        .collect();
    let controls = decode_value::<CreateControls>(Value::Object(controls));
    let profile = UserProfile::from_json(body);
    match (controls, profile) {
        (Ok(c), Ok(profile)) => Ok(NewUser {
            org_id: c.org_id,
            profile,
            password: c.password,
            password_hash: c.password_hash,
            status: c.status,
        }),
        (Err(Error::Invalid(mut a)), Err(Error::Invalid(b))) => {
            a.extend(b);
            Err(Error::Invalid(a))
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    }
}

/// Fields a patch may not touch, and where to change them instead.
const READ_ONLY: [(&str, &str); 10] = [
    ("id", "is read-only"),
    ("org_id", "is read-only"),
    (
        "status",
        "is changed with POST /api/v1/users/{id}/lifecycle/{action}",
    ),
    ("created_at", "is read-only"),
    ("updated_at", "is read-only"),
    ("status_changed_at", "is read-only"),
    ("last_login_at", "is read-only"),
    (
        "version",
        "is read-only; send it as If-Match: \"<version>\"",
    ),
    ("password", "is set with PUT /api/v1/users/{id}/password"),
    (
        "password_hash",
        "is set with PUT /api/v1/users/{id}/password",
    ),
];

pub(crate) fn check_patch(patch: &Value) -> Result<(), Error> {
    let Some(fields) = patch.as_object() else {
        return Ok(());
    };
    let errors: Vec<_> = READ_ONLY
        .iter()
        .filter(|(key, _)| fields.contains_key(*key))
        .map(|(key, message)| gatehouse_core::FieldError::new(*key, "read_only", *message))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(errors))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    fn codes(r: Result<NewUser, Error>) -> Vec<String> {
        match r {
            Err(Error::Invalid(errs)) => errs
                .into_iter()
                .map(|e| format!("{}:{}", e.field, e.code))
                .collect(),
            other => vec![format!("{other:?}")],
        }
    }

    #[test]
    fn create_body_splits_controls_from_the_profile() {
        let new = new_user(body(json!({
            "username": "ada", "email": "ada@example.com", "password": "correct horse battery",
            "given_name": "Ada", "status": "staged", "org_id": "0190a5a0-0000-7000-8000-000000000001"
        })))
        .unwrap();
        assert_eq!(new.profile.username, "ada");
        assert_eq!(new.profile.claims.given_name.as_deref(), Some("Ada"));
        assert_eq!(
            new.password.as_ref().map(Secret::expose),
            Some("correct horse battery")
        );
        assert_eq!(new.status, Some(UserStatus::Staged));
        assert!(new.org_id.is_some());
    }

    #[test]
    fn create_body_reports_every_bad_field() {
        assert_eq!(
            codes(new_user(body(json!({"username": "a", "password": 5})))),
            ["password:invalid_type"]
        );
        let both = codes(new_user(body(json!({"org_id": "nope"}))));
        assert_eq!(both, ["org_id:invalid_value", "username:required"]);
        assert_eq!(
            codes(new_user(body(json!({"username": "a", "shoe": 1})))),
            ["shoe:unknown_field"]
        );
    }

    #[test]
    fn patches_may_not_touch_read_only_fields() {
        assert!(check_patch(&json!({"given_name": "Ada"})).is_ok());
        let Err(Error::Invalid(errors)) =
            check_patch(&json!({"status": "active", "password": "x"}))
        else {
            unreachable!()
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["status", "password"]);
    }

    #[test]
    fn documented_create_shape_matches_what_is_accepted() {
        let sample = json!({"username": "ada", "email": "ada@example.com", "password": "pw", "given_name": "Ada",
            "family_name": "Lovelace", "email_verified": true, "attributes": {"a": 1}, "status": "active",
            "org_id": "0190a5a0-0000-7000-8000-000000000001"});
        serde_json::from_value::<CreateUserRequest>(sample.clone()).unwrap();
        assert!(new_user(body(sample)).is_ok());
    }
}
