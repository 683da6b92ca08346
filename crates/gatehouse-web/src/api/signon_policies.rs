//! Sign-on policies in the admin API: one per org, one per OAuth client and
//! one per SAML service provider, read, set (replace) and removed. Where both apply the stricter wins (see
//! `gatehouse_core::services::signon_policy`).

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use gatehouse_core::ids::{OrgId, ServiceProviderId};
use gatehouse_core::model::{PolicyScope, SignOnPolicy};

use crate::AppState;
use crate::extract::{Admin, Ctx, JsonBody, PathParams, parse_id};
use crate::problem::ApiError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/orgs/{id}/signon-policy",
            get(get_org_policy)
                .put(put_org_policy)
                .delete(delete_org_policy),
        )
        .route(
            "/api/v1/clients/{client_id}/signon-policy",
            get(get_client_policy)
                .put(put_client_policy)
                .delete(delete_client_policy),
        )
        .route(
            "/api/v1/saml/service-providers/{id}/signon-policy",
            get(get_sp_policy)
                .put(put_sp_policy)
                .delete(delete_sp_policy),
        )
}

fn sp_scope(id: &str) -> Result<PolicyScope, ApiError> {
    Ok(PolicyScope::ServiceProvider(parse_id::<ServiceProviderId>(
        id,
        "service provider",
    )?))
}

fn org_scope(id: &str) -> Result<PolicyScope, ApiError> {
    Ok(PolicyScope::Org(parse_id::<OrgId>(id, "org")?))
}

/// The org's sign-on policy.
#[utoipa::path(
    get,
    path = "/api/v1/orgs/{id}/signon-policy",
    tag = "signon-policies",
    params(("id" = OrgId, Path, description = "Org id")),
    responses(
        (status = 200, description = "The policy", body = SignOnPolicy),
        (status = 404, description = "No such org, or no policy set", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_org_policy(
    State(state): State<AppState>,
    Admin(who): Admin,
    PathParams(id): PathParams<String>,
) -> Result<Json<SignOnPolicy>, ApiError> {
    let scope = org_scope(&id)?;
    Ok(Json(
        state.services.signon_policies.get(&who, &scope).await?,
    ))
}

/// Set (create or replace) the org's sign-on policy.
#[utoipa::path(
    put,
    path = "/api/v1/orgs/{id}/signon-policy",
    tag = "signon-policies",
    params(("id" = OrgId, Path, description = "Org id")),
    request_body = SignOnPolicy,
    responses(
        (status = 200, description = "The stored policy", body = SignOnPolicy),
        (status = 404, description = "No such org visible to this caller", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid policy", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn put_org_policy(
    State(state): State<AppState>,
    Admin(who): Admin,
    Ctx(ctx): Ctx,
    PathParams(id): PathParams<String>,
    JsonBody(policy): JsonBody<SignOnPolicy>,
) -> Result<Json<SignOnPolicy>, ApiError> {
    let scope = org_scope(&id)?;
    Ok(Json(
        state
            .services
            .signon_policies
            .put(&who, &ctx, &scope, policy)
            .await?,
    ))
}

/// Remove the org's sign-on policy (no second factor is then required by it).
#[utoipa::path(
    delete,
    path = "/api/v1/orgs/{id}/signon-policy",
    tag = "signon-policies",
    params(("id" = OrgId, Path, description = "Org id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such org, or no policy set", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_org_policy(
    State(state): State<AppState>,
    Admin(who): Admin,
    Ctx(ctx): Ctx,
    PathParams(id): PathParams<String>,
) -> Result<StatusCode, ApiError> {
    let scope = org_scope(&id)?;
    state
        .services
        .signon_policies
        .delete(&who, &ctx, &scope)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The OAuth client's sign-on policy.
#[utoipa::path(
    get,
    path = "/api/v1/clients/{client_id}/signon-policy",
    tag = "signon-policies",
    params(("client_id" = String, Path, description = "Client id")),
    responses(
        (status = 200, description = "The policy", body = SignOnPolicy),
        (status = 404, description = "No such client, or no policy set", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_client_policy(
    State(state): State<AppState>,
    Admin(who): Admin,
    PathParams(client_id): PathParams<String>,
) -> Result<Json<SignOnPolicy>, ApiError> {
    let scope = PolicyScope::Client(client_id);
    Ok(Json(
        state.services.signon_policies.get(&who, &scope).await?,
    ))
}

/// Set (create or replace) the OAuth client's sign-on policy.
#[utoipa::path(
    put,
    path = "/api/v1/clients/{client_id}/signon-policy",
    tag = "signon-policies",
    params(("client_id" = String, Path, description = "Client id")),
    request_body = SignOnPolicy,
    responses(
        (status = 200, description = "The stored policy", body = SignOnPolicy),
        (status = 404, description = "No such client visible to this caller", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid policy", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn put_client_policy(
    State(state): State<AppState>,
    Admin(who): Admin,
    Ctx(ctx): Ctx,
    PathParams(client_id): PathParams<String>,
    JsonBody(policy): JsonBody<SignOnPolicy>,
) -> Result<Json<SignOnPolicy>, ApiError> {
    let scope = PolicyScope::Client(client_id);
    Ok(Json(
        state
            .services
            .signon_policies
            .put(&who, &ctx, &scope, policy)
            .await?,
    ))
}

/// Remove the OAuth client's sign-on policy.
#[utoipa::path(
    delete,
    path = "/api/v1/clients/{client_id}/signon-policy",
    tag = "signon-policies",
    params(("client_id" = String, Path, description = "Client id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such client, or no policy set", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_client_policy(
    State(state): State<AppState>,
    Admin(who): Admin,
    Ctx(ctx): Ctx,
    PathParams(client_id): PathParams<String>,
) -> Result<StatusCode, ApiError> {
    let scope = PolicyScope::Client(client_id);
    state
        .services
        .signon_policies
        .delete(&who, &ctx, &scope)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The SAML service provider's sign-on policy.
#[utoipa::path(
    get,
    path = "/api/v1/saml/service-providers/{id}/signon-policy",
    tag = "signon-policies",
    params(("id" = ServiceProviderId, Path, description = "Service provider id")),
    responses(
        (status = 200, description = "The policy", body = SignOnPolicy),
        (status = 404, description = "No such service provider, or no policy set", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_sp_policy(
    State(state): State<AppState>,
    Admin(who): Admin,
    PathParams(id): PathParams<String>,
) -> Result<Json<SignOnPolicy>, ApiError> {
    let scope = sp_scope(&id)?;
    Ok(Json(
        state.services.signon_policies.get(&who, &scope).await?,
    ))
}

/// Set (create or replace) the SAML service provider's sign-on policy.
#[utoipa::path(
    put,
    path = "/api/v1/saml/service-providers/{id}/signon-policy",
    tag = "signon-policies",
    params(("id" = ServiceProviderId, Path, description = "Service provider id")),
    request_body = SignOnPolicy,
    responses(
        (status = 200, description = "The stored policy", body = SignOnPolicy),
        (status = 404, description = "No such service provider visible to this caller", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid policy", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn put_sp_policy(
    State(state): State<AppState>,
    Admin(who): Admin,
    Ctx(ctx): Ctx,
    PathParams(id): PathParams<String>,
    JsonBody(policy): JsonBody<SignOnPolicy>,
) -> Result<Json<SignOnPolicy>, ApiError> {
    let scope = sp_scope(&id)?;
    Ok(Json(
        state
            .services
            .signon_policies
            .put(&who, &ctx, &scope, policy)
            .await?,
    ))
}

/// Remove the SAML service provider's sign-on policy.
#[utoipa::path(
    delete,
    path = "/api/v1/saml/service-providers/{id}/signon-policy",
    tag = "signon-policies",
    params(("id" = ServiceProviderId, Path, description = "Service provider id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such service provider, or no policy set", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_sp_policy(
    State(state): State<AppState>,
    Admin(who): Admin,
    Ctx(ctx): Ctx,
    PathParams(id): PathParams<String>,
) -> Result<StatusCode, ApiError> {
    let scope = sp_scope(&id)?;
    state
        .services
        .signon_policies
        .delete(&who, &ctx, &scope)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
