//! `/api/v1/api-tokens`: admin API tokens. The secret is in the create
//! response only (with `Cache-Control: no-store`); lists and reads show its
//! `prefix`, never the token or its hash. Delete revokes.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use gatehouse_core::ids::{ApiTokenId, OrgId};
use gatehouse_core::model::{ApiToken, TokenKind, TokenScope};
use gatehouse_core::services::NewApiToken;

use crate::AppState;
use crate::api::absolute;
use crate::extract::{Admin, Ctx, JsonBody, PathParams, parse_id};
use crate::problem::ApiError;
use crate::rfc3339;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/api-tokens", post(create_token).get(list_tokens))
        .route(
            "/api/v1/api-tokens/{id}",
            get(get_token).delete(revoke_token),
        )
}

/// An API token as lists and reads show it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[schema(as = ApiToken)]
pub struct ApiTokenView {
    pub id: ApiTokenId,
    pub name: String,
    /// The org the token is limited to; `null` for an instance token (every org).
    pub org_id: Option<OrgId>,
    /// The token's first characters, to recognise it.
    pub prefix: String,
    /// `admin` (the admin API) or `scim` (SCIM provisioning of `org_id` only).
    pub kind: ApiTokenKind,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// `null`: never expires.
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    #[schema(format = DateTime)]
    pub revoked_at: Option<String>,
    /// Who created it: `token:<id>`, `bootstrap`, `setup` or `cli`.
    pub created_by: String,
}

impl From<ApiToken> for ApiTokenView {
    fn from(token: ApiToken) -> Self {
        // `hash` is dropped here on purpose: it never leaves the server.
        let ApiToken {
            id,
            name,
            scope,
            kind,
            hash: _,
            prefix,
            created_at,
            expires_at,
            revoked_at,
            created_by,
        } = token;
        Self {
            id,
            name,
            org_id: org_of(scope),
            prefix,
            kind: kind.into(),
            created_at: rfc3339::format(created_at),
            expires_at: rfc3339::format_opt(expires_at),
            revoked_at: rfc3339::format_opt(revoked_at),
            created_by,
        }
    }
}

/// What a token is for.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ApiTokenKind {
    #[default]
    Admin,
    Scim,
}

impl From<TokenKind> for ApiTokenKind {
    fn from(kind: TokenKind) -> Self {
        match kind {
            TokenKind::Admin => ApiTokenKind::Admin,
            TokenKind::Scim => ApiTokenKind::Scim,
        }
    }
}

impl From<ApiTokenKind> for TokenKind {
    fn from(kind: ApiTokenKind) -> Self {
        match kind {
            ApiTokenKind::Admin => TokenKind::Admin,
            ApiTokenKind::Scim => TokenKind::Scim,
        }
    }
}

fn org_of(scope: TokenScope) -> Option<OrgId> {
    match scope {
        TokenScope::Instance => None,
        TokenScope::Org(org) => Some(org),
    }
}

/// A newly created token, with its secret, shown this once.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CreatedApiToken {
    pub id: ApiTokenId,
    pub name: String,
    /// `null` for an instance token.
    pub org_id: Option<OrgId>,
    pub prefix: String,
    pub kind: ApiTokenKind,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    /// The bearer token. It is not stored and cannot be shown again.
    pub token: String,
}

/// All tokens this caller can see (revoked ones included), newest first.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ApiTokenList {
    pub items: Vec<ApiTokenView>,
    /// Always `null`: the list is one page.
    pub next_cursor: Option<String>,
}

/// `POST /api/v1/api-tokens`.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiTokenRequest {
    /// 1–200 bytes.
    pub name: String,
    /// Limit the token to this org. Absent: an instance token for instance
    /// callers, the caller's org for org tokens.
    #[serde(default)]
    pub org_id: Option<OrgId>,
    /// Lifetime in seconds; absent: never expires.
    #[serde(default)]
    pub expires_in: Option<i64>,
    /// `scim`: a SCIM provisioning token for one org (`org_id`, else the
    /// caller's org, else the default org), refused by the admin API.
    #[serde(default)]
    pub kind: ApiTokenKind,
}

/// The create response: 201, `Location`, `Cache-Control: no-store`.
struct Created {
    location: String,
    body: CreatedApiToken,
}

impl IntoResponse for Created {
    fn into_response(self) -> Response {
        let mut response = (StatusCode::CREATED, Json(self.body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Ok(location) = HeaderValue::from_str(&self.location) {
            headers.insert(header::LOCATION, location);
        }
        response
    }
}

/// Create an API token; the response is the only time the token is shown.
#[utoipa::path(
    post,
    path = "/api/v1/api-tokens",
    tag = "api-tokens",
    request_body = CreateApiTokenRequest,
    responses(
        (status = 201, description = "Created; the `token` is shown once", body = CreatedApiToken),
        (status = 404, description = "`org_id` names no org this token can see", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_token(
    State(state): State<AppState>,
    Admin(who): Admin,
    Ctx(ctx): Ctx,
    JsonBody(body): JsonBody<CreateApiTokenRequest>,
) -> Result<Response, ApiError> {
    let CreateApiTokenRequest {
        name,
        org_id,
        expires_in,
        kind,
    } = body;
    let (token, secret) = state
        .services
        .api_tokens
        .create(
            &who,
            &ctx,
            NewApiToken {
                name,
                org_id,
                expires_in,
                kind: kind.into(),
            },
        )
        .await?;
    let location = absolute(&state, &format!("/api/v1/api-tokens/{}", token.id));
    let view = ApiTokenView::from(token);
    let body = CreatedApiToken {
        id: view.id,
        name: view.name,
        org_id: view.org_id,
        prefix: view.prefix,
        kind: view.kind,
        created_at: view.created_at,
        expires_at: view.expires_at,
        token: secret.expose().to_owned(),
    };
    Ok(Created { location, body }.into_response())
}

/// List API tokens.
#[utoipa::path(
    get,
    path = "/api/v1/api-tokens",
    tag = "api-tokens",
    responses((status = 200, description = "Every token this caller can see", body = ApiTokenList))
)]
pub async fn list_tokens(
    State(state): State<AppState>,
    Admin(who): Admin,
) -> Result<Json<ApiTokenList>, ApiError> {
    let tokens = state.services.api_tokens.list(&who).await?;
    Ok(Json(ApiTokenList {
        items: tokens.into_iter().map(Into::into).collect(),
        next_cursor: None,
    }))
}

/// Read an API token (without its secret).
#[utoipa::path(
    get,
    path = "/api/v1/api-tokens/{id}",
    tag = "api-tokens",
    params(("id" = ApiTokenId, Path, description = "Token id")),
    responses(
        (status = 200, description = "The token", body = ApiTokenView),
        (status = 404, description = "No such token visible to this caller", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_token(
    State(state): State<AppState>,
    Admin(who): Admin,
    PathParams(id): PathParams<String>,
) -> Result<Json<ApiTokenView>, ApiError> {
    let token = state
        .services
        .api_tokens
        .get(&who, parse_id(&id, "api_token")?)
        .await?;
    Ok(Json(token.into()))
}

/// Revoke an API token; it stops working at once.
#[utoipa::path(
    delete,
    path = "/api/v1/api-tokens/{id}",
    tag = "api-tokens",
    params(("id" = ApiTokenId, Path, description = "Token id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such token visible to this caller", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already revoked", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn revoke_token(
    State(state): State<AppState>,
    Admin(who): Admin,
    Ctx(ctx): Ctx,
    PathParams(id): PathParams<String>,
) -> Result<StatusCode, ApiError> {
    state
        .services
        .api_tokens
        .revoke(&who, &ctx, parse_id(&id, "api_token")?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
