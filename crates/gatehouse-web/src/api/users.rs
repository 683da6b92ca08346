//! `/api/v1/users`: create, list, read, merge-patch, delete, lifecycle
//! transitions, password, and the groups a user is in.
//!
//! A user is one flat JSON object, the core profile form
//! ([`UserProfile::to_json`]): `username`, `email`, `email_verified`, the OIDC
//! standard claims and `attributes`, plus read-only fields (`id`, `org_id`,
//! `status`, timestamps, `version`). Passwords and hashes go in, never out.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use gatehouse_core::Error;
use gatehouse_core::ids::{GroupId, OrgId, UserId};
use gatehouse_core::model::{LifecycleAction, SortOrder, StandardClaims, User, UserQuery, UserSort, UserStatus};
use gatehouse_core::secret::Secret;
use gatehouse_core::services::{NewUser, UserProfile};
use serde_json::{Map, Value};

use crate::AppState;
use crate::api::groups::GroupList;
use crate::api::{Listed, Versioned, absolute, list_error, next_page_url, page_limit};
use crate::extract::{Admin, ApiQuery, Ctx, IfMatch, JsonBody, PathParams, decode_value, parse_id};
use crate::problem::ApiError;
use crate::rfc3339;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/users", post(create_user).get(list_users))
        .route("/api/v1/users/{id}", get(get_user).patch(update_user).delete(delete_user))
        .route("/api/v1/users/{id}/lifecycle/{action}", post(transition_user))
        .route("/api/v1/users/{id}/password", put(set_password))
        .route("/api/v1/users/{id}/groups", get(user_groups))
}

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

/// One page of users.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct UserList {
    pub items: Vec<UserView>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// How a user list is sorted.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum UserSortKey {
    /// Creation order.
    #[default]
    Created,
    Username,
}

/// Filters, order and paging of `GET /api/v1/users`.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UserListParams {
    /// Only users in this state.
    pub status: Option<UserStatus>,
    /// Only the user with this e-mail (case-insensitive).
    pub email: Option<String>,
    /// Only users whose username starts with this (case-insensitive).
    pub username_prefix: Option<String>,
    /// Only members of this group.
    pub group_id: Option<GroupId>,
    /// Only users of this org (instance tokens; an org token always sees only its own).
    pub org_id: Option<OrgId>,
    /// Sort key; default `created`.
    pub sort: Option<UserSortKey>,
    /// Default `asc`.
    pub order: Option<SortOrder>,
    /// Page size, 1–1000; default 50.
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page (same sort and order).
    pub cursor: Option<String>,
}

/// Filters, order and paging of `GET /api/v1/groups/{id}/members`.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MemberListParams {
    /// Only users in this state.
    pub status: Option<UserStatus>,
    /// Only the user with this e-mail (case-insensitive).
    pub email: Option<String>,
    /// Only users whose username starts with this (case-insensitive).
    pub username_prefix: Option<String>,
    /// Sort key; default `created`.
    pub sort: Option<UserSortKey>,
    /// Default `asc`.
    pub order: Option<SortOrder>,
    /// Page size, 1–1000; default 50.
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page (same sort and order).
    pub cursor: Option<String>,
}

impl From<MemberListParams> for UserListParams {
    fn from(p: MemberListParams) -> Self {
        let MemberListParams { status, email, username_prefix, sort, order, limit, cursor } = p;
        Self { status, email, username_prefix, group_id: None, org_id: None, sort, order, limit, cursor }
    }
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
fn new_user(mut body: Map<String, Value>) -> Result<NewUser, Error> {
    let controls: Map<String, Value> = CREATE_CONTROLS.iter().filter_map(|key| body.remove_entry(*key)).collect();
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
    ("status", "is changed with POST /api/v1/users/{id}/lifecycle/{action}"),
    ("created_at", "is read-only"),
    ("updated_at", "is read-only"),
    ("status_changed_at", "is read-only"),
    ("last_login_at", "is read-only"),
    ("version", "is read-only; send it as If-Match: \"<version>\""),
    ("password", "is set with PUT /api/v1/users/{id}/password"),
    ("password_hash", "is set with PUT /api/v1/users/{id}/password"),
];

fn check_patch(patch: &Value) -> Result<(), Error> {
    let Some(fields) = patch.as_object() else { return Ok(()) };
    let errors: Vec<_> = READ_ONLY
        .iter()
        .filter(|(key, _)| fields.contains_key(*key))
        .map(|(key, message)| gatehouse_core::FieldError::new(*key, "read_only", *message))
        .collect();
    if errors.is_empty() { Ok(()) } else { Err(Error::Invalid(errors)) }
}

fn user_url(state: &AppState, id: UserId) -> String {
    absolute(state, &format!("/api/v1/users/{id}"))
}

/// Create a user.
#[utoipa::path(
    post,
    path = "/api/v1/users",
    tag = "users",
    request_body = CreateUserRequest,
    responses(
        (status = 201, description = "Created; `Location` and `ETag` are set", body = UserView),
        (status = 404, description = "`org_id` names no org this token can see", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The username or e-mail is taken in the org", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_user(
    State(state): State<AppState>,
    Admin(who): Admin,
    Ctx(ctx): Ctx,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Versioned<UserView>, ApiError> {
    let new = new_user(body)?;
    let user = state.services.users.create(&who, &ctx, new).await?;
    Ok(Versioned::created(user_url(&state, user.id), user.version, user.into()))
}

/// List users.
#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "users",
    params(UserListParams),
    responses(
        (status = 200, description = "One page; `Link: <...>; rel=\"next\"` when there is more", body = UserList),
        (status = 400, description = "Invalid parameters", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_users(
    State(state): State<AppState>,
    Admin(who): Admin,
    ApiQuery(params): ApiQuery<UserListParams>,
) -> Result<Listed<UserList>, ApiError> {
    list(&state, &who, "/api/v1/users", params, None).await
}

/// One page of users for `params` (restricted to the members of `group` when
/// given), with the link to the next page under `path`.
pub(crate) async fn list(
    state: &AppState,
    who: &gatehouse_core::services::AdminPrincipal,
    path: &str,
    params: UserListParams,
    group: Option<GroupId>,
) -> Result<Listed<UserList>, ApiError> {
    let limit = page_limit(params.limit)?;
    let sort = params.sort.unwrap_or_default();
    let order = params.order.unwrap_or_default();
    let query = UserQuery {
        org_id: params.org_id,
        status: params.status,
        email: params.email.clone(),
        username_prefix: params.username_prefix.clone(),
        group_id: group.or(params.group_id),
        sort: match sort {
            UserSortKey::Created => UserSort::Created,
            UserSortKey::Username => UserSort::Username,
        },
        order,
        after: params.cursor.clone(),
        limit,
    };
    let page = state.services.users.list(who, query).await.map_err(list_error)?;
    let link_params = [
        ("status", params.status.map(|s| s.as_str().to_owned())),
        ("email", params.email),
        ("username_prefix", params.username_prefix),
        ("group_id", params.group_id.map(|g| g.to_string())),
        ("org_id", params.org_id.map(|o| o.to_string())),
        ("sort", params.sort.map(|s| sort_key(s).to_owned())),
        ("order", params.order.map(|o| order_key(o).to_owned())),
        ("limit", params.limit.map(|l| l.to_string())),
    ];
    let next = next_page_url(state, path, &link_params, page.next.as_deref());
    let body = UserList { items: page.items.into_iter().map(UserView::from).collect(), next_cursor: page.next };
    Ok(Listed::new(body, next))
}

fn sort_key(key: UserSortKey) -> &'static str {
    match key {
        UserSortKey::Created => "created",
        UserSortKey::Username => "username",
    }
}

fn order_key(order: SortOrder) -> &'static str {
    match order {
        SortOrder::Asc => "asc",
        SortOrder::Desc => "desc",
    }
}

/// Read a user.
#[utoipa::path(
    get,
    path = "/api/v1/users/{id}",
    tag = "users",
    params(("id" = UserId, Path, description = "User id")),
    responses(
        (status = 200, description = "The user; `ETag` is set", body = UserView),
        (status = 404, description = "No such user visible to this token", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_user(
    State(state): State<AppState>,
    Admin(who): Admin,
    PathParams(id): PathParams<String>,
) -> Result<Versioned<UserView>, ApiError> {
    let user = state.services.users.get(&who, parse_id(&id, "user")?).await?;
    Ok(Versioned::ok(user.version, user.into()))
}

/// Update a user with a JSON merge patch.
#[utoipa::path(
    patch,
    path = "/api/v1/users/{id}",
    tag = "users",
    params(
        ("id" = UserId, Path, description = "User id"),
        ("If-Match" = Option<String>, Header, description = "The `ETag` the change is based on; 412 when stale"),
    ),
    request_body(content = UserPatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The updated user; `ETag` is set", body = UserView),
        (status = 404, description = "No such user visible to this token", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The username or e-mail is taken in the org", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 412, description = "`If-Match` is stale", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_user(
    State(state): State<AppState>,
    Admin(who): Admin,
    Ctx(ctx): Ctx,
    PathParams(id): PathParams<String>,
    IfMatch(if_match): IfMatch,
    JsonBody(patch): JsonBody<Value>,
) -> Result<Versioned<UserView>, ApiError> {
    let id = parse_id(&id, "user")?;
    check_patch(&patch)?;
    let user = state.services.users.update(&who, &ctx, id, &patch, if_match).await?;
    Ok(Versioned::ok(user.version, user.into()))
}

/// Delete a user with their credentials and memberships.
#[utoipa::path(
    delete,
    path = "/api/v1/users/{id}",
    tag = "users",
    params(("id" = UserId, Path, description = "User id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such user visible to this token", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_user(
    State(state): State<AppState>,
    Admin(who): Admin,
    Ctx(ctx): Ctx,
    PathParams(id): PathParams<String>,
) -> Result<StatusCode, ApiError> {
    state.services.users.delete(&who, &ctx, parse_id(&id, "user")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Move a user through the lifecycle: `activate` (staged or deprovisioned → active),
/// `suspend` (active → suspended), `unsuspend` (suspended → active),
/// `unlock` (locked out → active), `deactivate` (→ deprovisioned).
#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/lifecycle/{action}",
    tag = "users",
    params(
        ("id" = UserId, Path, description = "User id"),
        ("action" = LifecycleAction, Path, description = "The transition"),
    ),
    responses(
        (status = 200, description = "The user in its new state", body = UserView),
        (status = 404, description = "No such user, or no such action", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The transition is not allowed from the user's state", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn transition_user(
    State(state): State<AppState>,
    Admin(who): Admin,
    Ctx(ctx): Ctx,
    PathParams((id, action)): PathParams<(String, String)>,
) -> Result<Versioned<UserView>, ApiError> {
    let id = parse_id(&id, "user")?;
    let action: LifecycleAction =
        serde_json::from_value(Value::String(action)).map_err(|_| Error::NotFound("lifecycle action"))?;
    let user = state.services.users.transition(&who, &ctx, id, action).await?;
    Ok(Versioned::ok(user.version, user.into()))
}

/// Set a user's password.
#[utoipa::path(
    put,
    path = "/api/v1/users/{id}/password",
    tag = "users",
    params(("id" = UserId, Path, description = "User id")),
    request_body = SetPasswordRequest,
    responses(
        (status = 204, description = "Set"),
        (status = 404, description = "No such user visible to this token", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The password fails the org's policy", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn set_password(
    State(state): State<AppState>,
    Admin(who): Admin,
    Ctx(ctx): Ctx,
    PathParams(id): PathParams<String>,
    JsonBody(body): JsonBody<SetPasswordRequest>,
) -> Result<StatusCode, ApiError> {
    state.services.users.set_password(&who, &ctx, parse_id(&id, "user")?, &body.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The groups a user belongs to.
#[utoipa::path(
    get,
    path = "/api/v1/users/{id}/groups",
    tag = "users",
    params(("id" = UserId, Path, description = "User id")),
    responses(
        (status = 200, description = "All the user's groups, by name (one page)", body = GroupList),
        (status = 404, description = "No such user visible to this token", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn user_groups(
    State(state): State<AppState>,
    Admin(who): Admin,
    PathParams(id): PathParams<String>,
) -> Result<axum::Json<GroupList>, ApiError> {
    let groups = state.services.users.groups(&who, parse_id(&id, "user")?).await?;
    Ok(axum::Json(GroupList { items: groups.into_iter().map(Into::into).collect(), next_cursor: None }))
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
            Err(Error::Invalid(errs)) => errs.into_iter().map(|e| format!("{}:{}", e.field, e.code)).collect(),
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
        assert_eq!(new.password.as_ref().map(Secret::expose), Some("correct horse battery"));
        assert_eq!(new.status, Some(UserStatus::Staged));
        assert!(new.org_id.is_some());
    }

    #[test]
    fn create_body_reports_every_bad_field() {
        assert_eq!(codes(new_user(body(json!({"username": "a", "password": 5})))), ["password:invalid_type"]);
        let both = codes(new_user(body(json!({"org_id": "nope"}))));
        assert_eq!(both, ["org_id:invalid_value", "username:required"]);
        assert_eq!(codes(new_user(body(json!({"username": "a", "shoe": 1})))), [":invalid_field"]);
    }

    #[test]
    fn patches_may_not_touch_read_only_fields() {
        assert!(check_patch(&json!({"given_name": "Ada"})).is_ok());
        let Err(Error::Invalid(errors)) = check_patch(&json!({"status": "active", "password": "x"})) else {
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
