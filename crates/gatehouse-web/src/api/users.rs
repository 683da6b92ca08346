//! `/api/v1/users`: create, list, read, merge-patch, delete, lifecycle
//! transitions, password, and the groups a user is in. The user's JSON
//! shapes live in [`super::user_document`].

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use gatehouse_core::Error;
use gatehouse_core::ids::{GroupId, OrgId, UserId};
use gatehouse_core::model::{LifecycleAction, SortOrder, UserQuery, UserSort, UserStatus};
use serde_json::{Map, Value};

use crate::AppState;
use crate::api::groups::GroupList;
use crate::api::user_document::{
    CreateUserRequest, SetPasswordRequest, UserPatch, UserView, check_patch, new_user,
};
use crate::api::{Listed, Versioned, absolute, list_error, next_page_url, page_limit};
use crate::extract::{Admin, ApiQuery, Ctx, IfMatch, JsonBody, PathParams, parse_id};
use crate::problem::ApiError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/users", post(create_user).get(list_users))
        .route(
            "/api/v1/users/{id}",
            get(get_user).patch(update_user).delete(delete_user),
        )
        .route(
            "/api/v1/users/{id}/lifecycle/{action}",
            post(transition_user),
        )
        .route("/api/v1/users/{id}/password", put(set_password))
        .route("/api/v1/users/{id}/groups", get(user_groups))
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
        let MemberListParams {
            status,
            email,
            username_prefix,
            sort,
            order,
            limit,
            cursor,
        } = p;
        Self {
            status,
            email,
            username_prefix,
            group_id: None,
            org_id: None,
            sort,
            order,
            limit,
            cursor,
        }
    }
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
    Ok(Versioned::created(
        user_url(&state, user.id),
        user.version,
        user.into(),
    ))
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
    let page = state
        .services
        .users
        .list(who, query)
        .await
        .map_err(list_error)?;
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
    let body = UserList {
        items: page.items.into_iter().map(UserView::from).collect(),
        next_cursor: page.next,
    };
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
    let user = state
        .services
        .users
        .get(&who, parse_id(&id, "user")?)
        .await?;
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
    let user = state
        .services
        .users
        .update(&who, &ctx, id, &patch, if_match)
        .await?;
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
    state
        .services
        .users
        .delete(&who, &ctx, parse_id(&id, "user")?)
        .await?;
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
    let action: LifecycleAction = serde_json::from_value(Value::String(action))
        .map_err(|_| Error::NotFound("lifecycle action"))?;
    let user = state
        .services
        .users
        .transition(&who, &ctx, id, action)
        .await?;
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
    state
        .services
        .users
        .set_password(&who, &ctx, parse_id(&id, "user")?, &body.password)
        .await?;
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
    let groups = state
        .services
        .users
        .groups(&who, parse_id(&id, "user")?)
        .await?;
    Ok(axum::Json(GroupList {
        items: groups.into_iter().map(Into::into).collect(),
        next_cursor: None,
    }))
}
