//! `/api/v1/orgs`: organizations (tenants). Creating and deleting orgs needs
//! an instance token; an org token sees and edits only its own org.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use gatehouse_core::ids::OrgId;
use gatehouse_core::model::Organization;
use gatehouse_core::password::PasswordPolicy;
use gatehouse_core::services::NewOrg;
use serde_json::Value;

use crate::AppState;
use crate::api::{Listed, Versioned, absolute, list_error, next_page_url, page_limit};
use crate::extract::{Admin, ApiQuery, Ctx, IfMatch, JsonBody, PathParams, parse_id};
use crate::problem::ApiError;
use crate::rfc3339;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/orgs", post(create_org).get(list_orgs))
        .route(
            "/api/v1/orgs/{id}",
            get(get_org).patch(update_org).delete(delete_org),
        )
}

/// An organization as the API shows it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[schema(as = Org)]
pub struct OrgView {
    pub id: OrgId,
    /// URL-safe unique handle, lower case.
    pub slug: String,
    pub name: String,
    /// E-mail / login domains (home-realm discovery); unique across orgs, lower case.
    pub domains: Vec<String>,
    /// JSON Schema (draft 2020-12) that users' `attributes` must satisfy.
    #[schema(value_type = Option<Object>)]
    pub profile_schema: Option<Value>,
    pub password_policy: PasswordPolicy,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// Incremented on every change; the `ETag` is `"<version>"`.
    pub version: i64,
}

impl From<Organization> for OrgView {
    fn from(org: Organization) -> Self {
        let Organization {
            id,
            slug,
            name,
            domains,
            profile_schema,
            password_policy,
            created_at,
            updated_at,
            version,
        } = org;
        Self {
            id,
            slug,
            name,
            domains,
            profile_schema,
            password_policy,
            created_at: rfc3339::format(created_at),
            updated_at: rfc3339::format(updated_at),
            version,
        }
    }
}

/// One page of orgs.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct OrgList {
    pub items: Vec<OrgView>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// `POST /api/v1/orgs`.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrgRequest {
    /// 1–63 of `a-z`, `0-9`, `-`; unique.
    pub slug: String,
    pub name: String,
    #[serde(default)]
    pub domains: Vec<String>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub profile_schema: Option<Value>,
    /// Default: 8–256 bytes, common passwords rejected.
    #[serde(default)]
    pub password_policy: Option<PasswordPolicy>,
}

/// A JSON merge patch (RFC 7396) of an org. `domains` is replaced as a whole.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgPatch {
    #[serde(default)]
    pub slug: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub domains: Option<Vec<String>>,
    /// `null` removes it.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub profile_schema: Option<Value>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub password_policy: Option<Value>,
}

/// Paging of `GET /api/v1/orgs` (in creation order).
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrgListParams {
    /// Page size, 1–1000; default 50.
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Create an org (instance tokens only).
#[utoipa::path(
    post,
    path = "/api/v1/orgs",
    tag = "orgs",
    request_body = CreateOrgRequest,
    responses(
        (status = 201, description = "Created; `Location` and `ETag` are set", body = OrgView),
        (status = 403, description = "An org token cannot create orgs", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The slug or a domain is taken", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_org(
    State(state): State<AppState>,
    Admin(who): Admin,
    Ctx(ctx): Ctx,
    JsonBody(body): JsonBody<CreateOrgRequest>,
) -> Result<Versioned<OrgView>, ApiError> {
    let CreateOrgRequest {
        slug,
        name,
        domains,
        profile_schema,
        password_policy,
    } = body;
    let new = NewOrg {
        slug,
        name,
        domains,
        profile_schema,
        password_policy,
    };
    let org = state.services.orgs.create(&who, &ctx, new).await?;
    let location = absolute(&state, &format!("/api/v1/orgs/{}", org.id));
    Ok(Versioned::created(location, org.version, org.into()))
}

/// List orgs (an org token sees its own only).
#[utoipa::path(
    get,
    path = "/api/v1/orgs",
    tag = "orgs",
    params(OrgListParams),
    responses(
        (status = 200, description = "One page; `Link: <...>; rel=\"next\"` when there is more", body = OrgList),
        (status = 400, description = "Invalid parameters", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_orgs(
    State(state): State<AppState>,
    Admin(who): Admin,
    ApiQuery(params): ApiQuery<OrgListParams>,
) -> Result<Listed<OrgList>, ApiError> {
    let limit = page_limit(params.limit)?;
    let page = state
        .services
        .orgs
        .list(&who, params.cursor.as_deref(), limit)
        .await
        .map_err(list_error)?;
    let link_params = [("limit", params.limit.map(|l| l.to_string()))];
    let next = next_page_url(&state, "/api/v1/orgs", &link_params, page.next.as_deref());
    let body = OrgList {
        items: page.items.into_iter().map(OrgView::from).collect(),
        next_cursor: page.next,
    };
    Ok(Listed::new(body, next))
}

/// Read an org.
#[utoipa::path(
    get,
    path = "/api/v1/orgs/{id}",
    tag = "orgs",
    params(("id" = OrgId, Path, description = "Org id")),
    responses(
        (status = 200, description = "The org; `ETag` is set", body = OrgView),
        (status = 404, description = "No such org visible to this token", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_org(
    State(state): State<AppState>,
    Admin(who): Admin,
    PathParams(id): PathParams<String>,
) -> Result<Versioned<OrgView>, ApiError> {
    let org = state.services.orgs.get(&who, parse_id(&id, "org")?).await?;
    Ok(Versioned::ok(org.version, org.into()))
}

/// Update an org with a JSON merge patch.
#[utoipa::path(
    patch,
    path = "/api/v1/orgs/{id}",
    tag = "orgs",
    params(
        ("id" = OrgId, Path, description = "Org id"),
        ("If-Match" = Option<String>, Header, description = "The `ETag` the change is based on; 412 when stale"),
    ),
    request_body(content = OrgPatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The updated org; `ETag` is set", body = OrgView),
        (status = 404, description = "No such org visible to this token", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The slug or a domain is taken", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 412, description = "`If-Match` is stale", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_org(
    State(state): State<AppState>,
    Admin(who): Admin,
    Ctx(ctx): Ctx,
    PathParams(id): PathParams<String>,
    IfMatch(if_match): IfMatch,
    JsonBody(patch): JsonBody<Value>,
) -> Result<Versioned<OrgView>, ApiError> {
    let id = parse_id(&id, "org")?;
    let org = state
        .services
        .orgs
        .update(&who, &ctx, id, &patch, if_match)
        .await?;
    Ok(Versioned::ok(org.version, org.into()))
}

/// Delete an org with its users, groups and tokens (instance tokens only; not the default org).
#[utoipa::path(
    delete,
    path = "/api/v1/orgs/{id}",
    tag = "orgs",
    params(("id" = OrgId, Path, description = "Org id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "An org token cannot delete orgs", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such org visible to this token", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The default org cannot be deleted", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_org(
    State(state): State<AppState>,
    Admin(who): Admin,
    Ctx(ctx): Ctx,
    PathParams(id): PathParams<String>,
) -> Result<StatusCode, ApiError> {
    state
        .services
        .orgs
        .delete(&who, &ctx, parse_id(&id, "org")?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
