//! `/api/v1/saml/service-providers`: SAML service providers. Create from SP
//! metadata XML (`Content-Type: application/samlmetadata+xml`, INTERFACE.md)
//! or from JSON settings; list, read, merge-patch, delete. Metadata that is
//! not well-formed, has a DTD, or is not SP metadata is a 400 problem.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{get, post};
use gatehouse_core::Error;
use gatehouse_core::ids::{OrgId, ServiceProviderId};
use gatehouse_core::model::{AssignmentSubject, ServiceProvider, SpSettings};
use gatehouse_core::services::saml::NewServiceProvider;
use gatehouse_core::services::saml::service_providers::{REDIRECT_ACS, split};
use serde_json::Value;

use crate::AppState;
use crate::api::{Versioned, absolute};
use crate::extract::{Admin, ApiQuery, Ctx, IfMatch, JsonBody, PathParams, decode, parse_id};
use crate::problem::ApiError;
use crate::rfc3339;

const PATH: &str = "/api/v1/saml/service-providers";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            PATH,
            post(create_service_provider).get(list_service_providers),
        )
        .route(
            "/api/v1/saml/service-providers/{id}",
            get(get_service_provider)
                .patch(update_service_provider)
                .delete(delete_service_provider),
        )
        .route(
            "/api/v1/saml/service-providers/{id}/assignments",
            get(list_assignments),
        )
        .route(
            "/api/v1/saml/service-providers/{id}/assignments/{kind}/{subject_id}",
            axum::routing::put(add_assignment).delete(remove_assignment),
        )
}

/// The users and groups assigned to a service provider.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AssignmentList {
    /// `{"type": "user" | "group", "id": …}`, users first.
    pub items: Vec<AssignmentSubject>,
}

/// `users/{id}` or `groups/{id}` as an assignment subject.
fn subject(kind: &str, id: &str) -> Result<AssignmentSubject, ApiError> {
    match kind {
        "users" => Ok(AssignmentSubject::User(parse_id(id, "user")?)),
        "groups" => Ok(AssignmentSubject::Group(parse_id(id, "group")?)),
        _ => Err(Error::NotFound("assignment kind").into()),
    }
}

/// List the users and groups assigned to a service provider (used when its
/// `assignment_required` is on).
#[utoipa::path(
    get,
    path = "/api/v1/saml/service-providers/{id}/assignments",
    tag = "saml",
    params(("id" = ServiceProviderId, Path, description = "Service provider id")),
    responses(
        (status = 200, description = "The assignments", body = AssignmentList),
        (status = 404, description = "No such service provider visible to this token", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_assignments(
    State(state): State<AppState>,
    Admin(who): Admin,
    PathParams(id): PathParams<String>,
) -> Result<axum::Json<AssignmentList>, ApiError> {
    let id = parse_id(&id, "service provider")?;
    let items = state.services.saml.assignments(&who, id).await?;
    Ok(axum::Json(AssignmentList {
        items: items.into_iter().map(|a| a.subject).collect(),
    }))
}

/// Assign a user (`users/{user_id}`) or a group's members
/// (`groups/{group_id}`) to a service provider; idempotent, audited.
#[utoipa::path(
    put,
    path = "/api/v1/saml/service-providers/{id}/assignments/{kind}/{subject_id}",
    tag = "saml",
    params(
        ("id" = ServiceProviderId, Path, description = "Service provider id"),
        ("kind" = String, Path, description = "`users` or `groups`"),
        ("subject_id" = String, Path, description = "User or group id (of the SP's org)"),
    ),
    responses(
        (status = 204, description = "Assigned (or already was)"),
        (status = 404, description = "No such service provider, user or group visible to this token", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn add_assignment(
    State(state): State<AppState>,
    Admin(who): Admin,
    Ctx(ctx): Ctx,
    PathParams((id, kind, subject_id)): PathParams<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id, "service provider")?;
    let subject = subject(&kind, &subject_id)?;
    state.services.saml.assign(&who, &ctx, id, subject).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove an assignment; audited.
#[utoipa::path(
    delete,
    path = "/api/v1/saml/service-providers/{id}/assignments/{kind}/{subject_id}",
    tag = "saml",
    params(
        ("id" = ServiceProviderId, Path, description = "Service provider id"),
        ("kind" = String, Path, description = "`users` or `groups`"),
        ("subject_id" = String, Path, description = "User or group id"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such service provider or assignment", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn remove_assignment(
    State(state): State<AppState>,
    Admin(who): Admin,
    Ctx(ctx): Ctx,
    PathParams((id, kind, subject_id)): PathParams<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id, "service provider")?;
    let subject = subject(&kind, &subject_id)?;
    state
        .services
        .saml
        .unassign(&who, &ctx, id, subject)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A SAML service provider as the admin API shows it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ServiceProviderView {
    pub id: ServiceProviderId,
    pub org_id: OrgId,
    /// The SP's `entityID` (the audience of its assertions).
    pub entity_id: String,
    #[serde(flatten)]
    pub settings: SpSettings,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl From<ServiceProvider> for ServiceProviderView {
    fn from(sp: ServiceProvider) -> Self {
        Self {
            id: sp.id,
            org_id: sp.org_id,
            entity_id: sp.entity_id,
            settings: sp.settings,
            created_at: rfc3339::format(sp.created_at),
            updated_at: rfc3339::format(sp.updated_at),
        }
    }
}

/// Every service provider this token can see.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ServiceProviderList {
    pub items: Vec<ServiceProviderView>,
}

/// The query of `POST` (for metadata bodies, which carry no org).
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CreateParams {
    /// The SP's org (instance tokens); default the caller's org.
    pub org_id: Option<OrgId>,
}

/// `POST` with JSON: the settings plus these members.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct CreateServiceProviderRequest {
    pub entity_id: String,
    pub org_id: Option<OrgId>,
    #[serde(flatten)]
    pub settings: SpSettings,
}

fn sp_url(state: &AppState, id: ServiceProviderId) -> String {
    absolute(state, &format!("{PATH}/{id}"))
}

fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// An HTTP-Redirect ACS is a bad request (400), not a field to correct:
/// the profile forbids it outright.
fn forbidden_binding_is_400(error: Error) -> ApiError {
    match error {
        Error::Invalid(fields) if fields.iter().any(|f| f.code == REDIRECT_ACS) => {
            ApiError::Malformed(
                fields
                    .into_iter()
                    .find(|f| f.code == REDIRECT_ACS)
                    .map(|f| f.message)
                    .unwrap_or_default(),
            )
        }
        other => other.into(),
    }
}

/// Register a SAML service provider from its metadata XML or from JSON.
#[utoipa::path(
    post,
    path = "/api/v1/saml/service-providers",
    tag = "saml",
    params(CreateParams),
    request_body(content(
        (String = "application/samlmetadata+xml"),
        (CreateServiceProviderRequest = "application/json"),
    )),
    responses(
        (status = 201, description = "Created; `Location` and `ETag` are set", body = ServiceProviderView),
        (status = 400, description = "The metadata is not well-formed SP metadata, or an assertion consumer service uses the HTTP-Redirect binding", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The entity ID is registered", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Neither SAML metadata nor JSON", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid settings", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_service_provider(
    State(state): State<AppState>,
    Admin(who): Admin,
    Ctx(ctx): Ctx,
    ApiQuery(params): ApiQuery<CreateParams>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Versioned<ServiceProviderView>, ApiError> {
    let media = media_type(&headers);
    let new = match media.as_str() {
        "application/samlmetadata+xml" | "application/xml" | "text/xml" => {
            let xml = std::str::from_utf8(&body)
                .map_err(|_| ApiError::Malformed("the metadata is not UTF-8".into()))?;
            NewServiceProvider::from_metadata(xml, params.org_id).map_err(|e| match e {
                Error::Invalid(fields) => ApiError::Malformed(
                    fields
                        .into_iter()
                        .next()
                        .map_or_else(|| "invalid metadata".to_owned(), |f| f.message),
                ),
                other => other.into(),
            })?
        }
        "application/json" => {
            let mut value: Value = decode(&body)?;
            let org_id =
                match value.as_object_mut().and_then(|m| m.remove("org_id")) {
                    None | Some(Value::Null) => params.org_id,
                    Some(v) => Some(serde_json::from_value(v).map_err(|_| {
                        Error::invalid("org_id", "invalid_value", "must be an org id")
                    })?),
                };
            let (entity_id, settings) = split(value)?;
            NewServiceProvider {
                org_id,
                entity_id,
                settings,
            }
        }
        _ => return Err(ApiError::UnsupportedMediaType),
    };
    let sp = state
        .services
        .saml
        .create(&who, &ctx, new)
        .await
        .map_err(forbidden_binding_is_400)?;
    Ok(Versioned::created(
        sp_url(&state, sp.id),
        sp.version,
        sp.into(),
    ))
}

/// List SAML service providers, in id order.
#[utoipa::path(
    get,
    path = "/api/v1/saml/service-providers",
    tag = "saml",
    responses((status = 200, description = "Every service provider visible to this token", body = ServiceProviderList))
)]
pub async fn list_service_providers(
    State(state): State<AppState>,
    Admin(who): Admin,
) -> Result<axum::Json<ServiceProviderList>, ApiError> {
    let items = state.services.saml.list(&who).await?;
    Ok(axum::Json(ServiceProviderList {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

/// Read a SAML service provider.
#[utoipa::path(
    get,
    path = "/api/v1/saml/service-providers/{id}",
    tag = "saml",
    params(("id" = ServiceProviderId, Path, description = "Service provider id")),
    responses(
        (status = 200, description = "The service provider; `ETag` is set", body = ServiceProviderView),
        (status = 404, description = "No such service provider visible to this token", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_service_provider(
    State(state): State<AppState>,
    Admin(who): Admin,
    PathParams(id): PathParams<String>,
) -> Result<Versioned<ServiceProviderView>, ApiError> {
    let id = parse_id(&id, "service provider")?;
    let sp = state.services.saml.get(&who, id).await?;
    Ok(Versioned::ok(sp.version, sp.into()))
}

/// Update a service provider's `entity_id` and settings with a JSON merge patch.
#[utoipa::path(
    patch,
    path = "/api/v1/saml/service-providers/{id}",
    tag = "saml",
    params(
        ("id" = ServiceProviderId, Path, description = "Service provider id"),
        ("If-Match" = Option<String>, Header, description = "The `ETag` the change is based on; 412 when stale"),
    ),
    request_body(content = SpSettings, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The updated service provider; `ETag` is set", body = ServiceProviderView),
        (status = 404, description = "No such service provider visible to this token", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 412, description = "`If-Match` is stale", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid settings", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_service_provider(
    State(state): State<AppState>,
    Admin(who): Admin,
    Ctx(ctx): Ctx,
    PathParams(id): PathParams<String>,
    IfMatch(if_match): IfMatch,
    JsonBody(patch): JsonBody<Value>,
) -> Result<Versioned<ServiceProviderView>, ApiError> {
    let id = parse_id(&id, "service provider")?;
    let sp = state
        .services
        .saml
        .update(&who, &ctx, id, patch, if_match)
        .await
        .map_err(forbidden_binding_is_400)?;
    Ok(Versioned::ok(sp.version, sp.into()))
}

/// Delete a service provider.
#[utoipa::path(
    delete,
    path = "/api/v1/saml/service-providers/{id}",
    tag = "saml",
    params(("id" = ServiceProviderId, Path, description = "Service provider id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such service provider visible to this token", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_service_provider(
    State(state): State<AppState>,
    Admin(who): Admin,
    Ctx(ctx): Ctx,
    PathParams(id): PathParams<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id, "service provider")?;
    state.services.saml.delete(&who, &ctx, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
