//! `/api/v1/groups`: create, list, read, merge-patch, delete, and membership.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use gatehouse_core::ids::{GroupId, OrgId, UserId};
use gatehouse_core::model::{Group, GroupQuery};
use gatehouse_core::services::NewGroup;
use serde_json::Value;

use crate::AppState;
use crate::api::users::{MemberListParams, UserList};
use crate::api::{Listed, Versioned, absolute, list_error, next_page_url, page_limit, users};
use crate::extract::{Admin, ApiQuery, Ctx, IfMatch, JsonBody, PathParams, parse_id};
use crate::problem::ApiError;
use crate::rfc3339;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/groups", post(create_group).get(list_groups))
        .route(
            "/api/v1/groups/{id}",
            get(get_group).patch(update_group).delete(delete_group),
        )
        .route("/api/v1/groups/{id}/members", get(list_members))
        .route(
            "/api/v1/groups/{id}/members/{user_id}",
            put(add_member).delete(remove_member),
        )
}

/// A group as the API shows it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[schema(as = Group)]
pub struct GroupView {
    pub id: GroupId,
    pub org_id: OrgId,
    /// Unique per org, case-insensitively.
    pub name: String,
    pub description: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// Incremented on every change; the `ETag` is `"<version>"`.
    pub version: i64,
}

impl From<Group> for GroupView {
    fn from(group: Group) -> Self {
        let Group {
            id,
            org_id,
            name,
            description,
            created_at,
            updated_at,
            version,
        } = group;
        Self {
            id,
            org_id,
            name,
            description,
            created_at: rfc3339::format(created_at),
            updated_at: rfc3339::format(updated_at),
            version,
        }
    }
}

/// One page of groups.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct GroupList {
    pub items: Vec<GroupView>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// `POST /api/v1/groups`.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGroupRequest {
    /// 1–200 bytes, unique per org (case-insensitive).
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Default: the token's org, or the default org for instance tokens.
    #[serde(default)]
    pub org_id: Option<OrgId>,
}

/// A JSON merge patch (RFC 7396) of a group.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupPatch {
    #[serde(default)]
    pub name: Option<String>,
    /// `null` removes it.
    #[serde(default)]
    pub description: Option<String>,
}

/// Filters and paging of `GET /api/v1/groups` (in creation order).
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct GroupListParams {
    /// Only groups of this org (instance tokens; an org token always sees only its own).
    pub org_id: Option<OrgId>,
    /// Only groups whose name starts with this (case-insensitive).
    pub name_prefix: Option<String>,
    /// Page size, 1–1000; default 50.
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Create a group.
#[utoipa::path(
    post,
    path = "/api/v1/groups",
    tag = "groups",
    request_body = CreateGroupRequest,
    responses(
        (status = 201, description = "Created; `Location` and `ETag` are set", body = GroupView),
        (status = 404, description = "`org_id` names no org this token can see", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken in the org", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_group(
    State(state): State<AppState>,
    Admin(who): Admin,
    Ctx(ctx): Ctx,
    JsonBody(body): JsonBody<CreateGroupRequest>,
) -> Result<Versioned<GroupView>, ApiError> {
    let CreateGroupRequest {
        name,
        description,
        org_id,
    } = body;
    let group = state
        .services
        .groups
        .create(
            &who,
            &ctx,
            NewGroup {
                org_id,
                name,
                description,
            },
        )
        .await?;
    let location = absolute(&state, &format!("/api/v1/groups/{}", group.id));
    Ok(Versioned::created(location, group.version, group.into()))
}

/// List groups.
#[utoipa::path(
    get,
    path = "/api/v1/groups",
    tag = "groups",
    params(GroupListParams),
    responses(
        (status = 200, description = "One page; `Link: <...>; rel=\"next\"` when there is more", body = GroupList),
        (status = 400, description = "Invalid parameters", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_groups(
    State(state): State<AppState>,
    Admin(who): Admin,
    ApiQuery(params): ApiQuery<GroupListParams>,
) -> Result<Listed<GroupList>, ApiError> {
    let limit = page_limit(params.limit)?;
    let query = GroupQuery {
        org_id: params.org_id,
        name_prefix: params.name_prefix.clone(),
        after: params.cursor.clone(),
        limit,
    };
    let page = state
        .services
        .groups
        .list(&who, query)
        .await
        .map_err(list_error)?;
    let link_params = [
        ("org_id", params.org_id.map(|o| o.to_string())),
        ("name_prefix", params.name_prefix),
        ("limit", params.limit.map(|l| l.to_string())),
    ];
    let next = next_page_url(&state, "/api/v1/groups", &link_params, page.next.as_deref());
    let body = GroupList {
        items: page.items.into_iter().map(GroupView::from).collect(),
        next_cursor: page.next,
    };
    Ok(Listed::new(body, next))
}

/// Read a group.
#[utoipa::path(
    get,
    path = "/api/v1/groups/{id}",
    tag = "groups",
    params(("id" = GroupId, Path, description = "Group id")),
    responses(
        (status = 200, description = "The group; `ETag` is set", body = GroupView),
        (status = 404, description = "No such group visible to this token", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_group(
    State(state): State<AppState>,
    Admin(who): Admin,
    PathParams(id): PathParams<String>,
) -> Result<Versioned<GroupView>, ApiError> {
    let group = state
        .services
        .groups
        .get(&who, parse_id(&id, "group")?)
        .await?;
    Ok(Versioned::ok(group.version, group.into()))
}

/// Update a group with a JSON merge patch.
#[utoipa::path(
    patch,
    path = "/api/v1/groups/{id}",
    tag = "groups",
    params(
        ("id" = GroupId, Path, description = "Group id"),
        ("If-Match" = Option<String>, Header, description = "The `ETag` the change is based on; 412 when stale"),
    ),
    request_body(content = GroupPatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The updated group; `ETag` is set", body = GroupView),
        (status = 404, description = "No such group visible to this token", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken in the org", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 412, description = "`If-Match` is stale", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_group(
    State(state): State<AppState>,
    Admin(who): Admin,
    Ctx(ctx): Ctx,
    PathParams(id): PathParams<String>,
    IfMatch(if_match): IfMatch,
    JsonBody(patch): JsonBody<Value>,
) -> Result<Versioned<GroupView>, ApiError> {
    let id = parse_id(&id, "group")?;
    let group = state
        .services
        .groups
        .update(&who, &ctx, id, &patch, if_match)
        .await?;
    Ok(Versioned::ok(group.version, group.into()))
}

/// Delete a group (its members are not deleted).
#[utoipa::path(
    delete,
    path = "/api/v1/groups/{id}",
    tag = "groups",
    params(("id" = GroupId, Path, description = "Group id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such group visible to this token", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_group(
    State(state): State<AppState>,
    Admin(who): Admin,
    Ctx(ctx): Ctx,
    PathParams(id): PathParams<String>,
) -> Result<StatusCode, ApiError> {
    state
        .services
        .groups
        .delete(&who, &ctx, parse_id(&id, "group")?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List a group's members (users, with the user list's filters and paging).
#[utoipa::path(
    get,
    path = "/api/v1/groups/{id}/members",
    tag = "groups",
    params(("id" = GroupId, Path, description = "Group id"), MemberListParams),
    responses(
        (status = 200, description = "One page; `Link: <...>; rel=\"next\"` when there is more", body = UserList),
        (status = 400, description = "Invalid parameters", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such group visible to this token", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_members(
    State(state): State<AppState>,
    Admin(who): Admin,
    PathParams(id): PathParams<String>,
    ApiQuery(params): ApiQuery<MemberListParams>,
) -> Result<Listed<UserList>, ApiError> {
    let group: GroupId = parse_id(&id, "group")?;
    let path = format!("/api/v1/groups/{group}/members");
    users::list(&state, &who, &path, params.into(), Some(group)).await
}

/// Add a user to a group (idempotent).
#[utoipa::path(
    put,
    path = "/api/v1/groups/{id}/members/{user_id}",
    tag = "groups",
    params(("id" = GroupId, Path, description = "Group id"), ("user_id" = UserId, Path, description = "User id")),
    responses(
        (status = 204, description = "The user is a member"),
        (status = 404, description = "No such group or user visible to this token", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The user belongs to another org", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn add_member(
    State(state): State<AppState>,
    Admin(who): Admin,
    Ctx(ctx): Ctx,
    PathParams((id, user_id)): PathParams<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let (group, user) = (parse_id(&id, "group")?, parse_id(&user_id, "user")?);
    state
        .services
        .groups
        .add_member(&who, &ctx, group, user)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove a user from a group.
#[utoipa::path(
    delete,
    path = "/api/v1/groups/{id}/members/{user_id}",
    tag = "groups",
    params(("id" = GroupId, Path, description = "Group id"), ("user_id" = UserId, Path, description = "User id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such group, or the user is not a member", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn remove_member(
    State(state): State<AppState>,
    Admin(who): Admin,
    Ctx(ctx): Ctx,
    PathParams((id, user_id)): PathParams<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let (group, user) = (parse_id(&id, "group")?, parse_id(&user_id, "membership")?);
    state
        .services
        .groups
        .remove_member(&who, &ctx, group, user)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
