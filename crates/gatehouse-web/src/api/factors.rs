//! A user's second factors in the admin API (INTERFACE.md fixes enrol and
//! activate): enrol TOTP (`pending`, with its `otpauth_uri` shown once),
//! activate with a first code, list, read, delete one, reset all (the
//! audited "lost my phone" reset), and generate recovery codes (shown once).
//! Secrets never appear in reads or lists.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use gatehouse_core::ids::{FactorId, UserId};
use gatehouse_core::model::Factor;
use gatehouse_core::services::passkeys::U2fRegistration;

use crate::AppState;
use crate::api::absolute;
use crate::extract::{Admin, Ctx, JsonBody, PathParams, parse_id};
use crate::problem::ApiError;
use crate::rfc3339;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/users/{id}/factors",
            post(enrol_factor).get(list_factors).delete(reset_factors),
        )
        .route(
            "/api/v1/users/{id}/factors/{factor_id}",
            get(get_factor).delete(delete_factor),
        )
        .route(
            "/api/v1/users/{id}/factors/{factor_id}/activate",
            post(activate_factor),
        )
        .route("/api/v1/users/{id}/factors/u2f", post(import_u2f))
        .route(
            "/api/v1/users/{id}/recovery-codes",
            post(generate_recovery_codes).get(recovery_codes_left),
        )
}

/// A factor as reads and lists show it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[schema(as = Factor)]
pub struct FactorView {
    pub id: FactorId,
    pub user_id: UserId,
    /// `totp`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `pending` until a first code activates it, then `active`.
    pub status: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub activated_at: Option<String>,
    #[schema(format = DateTime)]
    pub last_used_at: Option<String>,
}

impl From<Factor> for FactorView {
    fn from(f: Factor) -> Self {
        Self {
            id: f.id,
            user_id: f.user_id,
            kind: f.kind.as_str().to_owned(),
            status: f.status.as_str().to_owned(),
            created_at: rfc3339::format(f.created_at),
            activated_at: rfc3339::format_opt(f.activated_at),
            last_used_at: rfc3339::format_opt(f.last_used_at),
        }
    }
}

/// A factor just enrolled, with its secret (this answer only).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct EnrolledFactor {
    #[serde(flatten)]
    pub factor: FactorView,
    /// The Key URI for an authenticator app (`otpauth://totp/…`); not shown again.
    pub otpauth_uri: String,
    /// The secret in base32, for typing in by hand; not shown again.
    pub secret: String,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct FactorList {
    pub items: Vec<FactorView>,
    /// Always `null`: a user's factors fit one page.
    pub next_cursor: Option<String>,
}

/// `POST /api/v1/users/{id}/factors`.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrolFactorRequest {
    /// `totp`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// `POST /api/v1/users/{id}/factors/{factor_id}/activate`.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivateFactorRequest {
    /// The current code from the authenticator app.
    pub code: String,
}

/// `POST /api/v1/users/{id}/factors/u2f`: a security key registered
/// through the legacy FIDO U2F API of an earlier system.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportU2fRequest {
    /// The name the user knows the key by.
    #[serde(default)]
    pub name: String,
    /// The U2F key handle, base64url.
    pub key_handle: String,
    /// The user public key from the U2F registration response: the
    /// 65-byte uncompressed P-256 point, base64url.
    pub public_key: String,
    /// The last signature counter the earlier system saw.
    #[serde(default)]
    pub counter: u32,
}

/// Recovery codes, shown once.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RecoveryCodes {
    /// Ten single-use codes; they are stored hashed and cannot be shown again.
    pub codes: Vec<String>,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RecoveryCodesLeft {
    /// Unused recovery codes.
    pub remaining: u32,
}

fn ids(user: &str, factor: &str) -> Result<(UserId, FactorId), ApiError> {
    Ok((parse_id(user, "user")?, parse_id(factor, "factor")?))
}

/// Secrets are in the body: never cache it.
fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Enrol a factor: a TOTP factor starts `pending`; activate it with a code.
#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/factors",
    tag = "factors",
    params(("id" = UserId, Path, description = "User id")),
    request_body = EnrolFactorRequest,
    responses(
        (status = 201, description = "Enrolled, pending activation", body = EnrolledFactor),
        (status = 404, description = "No such user visible to this caller", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown factor type", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn enrol_factor(
    State(state): State<AppState>,
    Admin(who): Admin,
    Ctx(ctx): Ctx,
    PathParams(id): PathParams<String>,
    JsonBody(body): JsonBody<EnrolFactorRequest>,
) -> Result<Response, ApiError> {
    let user = parse_id(&id, "user")?;
    let enrolled = state
        .services
        .factors
        .enrol(&who, &ctx, user, &body.kind)
        .await?;
    let location = absolute(
        &state,
        &format!("/api/v1/users/{user}/factors/{}", enrolled.factor.id),
    );
    let body = EnrolledFactor {
        factor: enrolled.factor.into(),
        otpauth_uri: enrolled.otpauth_uri.expose().to_owned(),
        secret: enrolled.secret.expose().to_owned(),
    };
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(no_store(response))
}

/// Activate a pending factor with a current code (a code is accepted once).
#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/factors/{factor_id}/activate",
    tag = "factors",
    params(
        ("id" = UserId, Path, description = "User id"),
        ("factor_id" = FactorId, Path, description = "Factor id"),
    ),
    request_body = ActivateFactorRequest,
    responses(
        (status = 200, description = "Active", body = FactorView),
        (status = 404, description = "No such user or factor", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already active", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Wrong, expired or reused code", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn activate_factor(
    State(state): State<AppState>,
    Admin(who): Admin,
    Ctx(ctx): Ctx,
    PathParams((user, factor)): PathParams<(String, String)>,
    JsonBody(body): JsonBody<ActivateFactorRequest>,
) -> Result<Json<FactorView>, ApiError> {
    let (user, factor) = ids(&user, &factor)?;
    let factor = state
        .services
        .factors
        .activate(&who, &ctx, user, factor, &body.code)
        .await?;
    Ok(Json(factor.into()))
}

/// Import a U2F security key: the key becomes an active `webauthn` factor.
/// It signs with the hash of the U2F AppID it was registered under, so it
/// works once the org's sign-on policy names that AppID
/// (`webauthn_legacy_appid`).
#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/factors/u2f",
    tag = "factors",
    params(("id" = UserId, Path, description = "User id")),
    request_body = ImportU2fRequest,
    responses(
        (status = 201, description = "Imported", body = FactorView),
        (status = 404, description = "No such user visible to this caller", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Malformed key handle or public key, or the key is registered already", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn import_u2f(
    State(state): State<AppState>,
    Admin(who): Admin,
    Ctx(ctx): Ctx,
    PathParams(id): PathParams<String>,
    JsonBody(body): JsonBody<ImportU2fRequest>,
) -> Result<Response, ApiError> {
    let user = parse_id(&id, "user")?;
    let key = U2fRegistration {
        name: &body.name,
        key_handle: &body.key_handle,
        public_key: &body.public_key,
        counter: body.counter,
    };
    let factor = state
        .services
        .passkeys
        .import_u2f(&who, &ctx, user, &key)
        .await?;
    let location = absolute(
        &state,
        &format!("/api/v1/users/{user}/factors/{}", factor.id),
    );
    let mut response = (StatusCode::CREATED, Json(FactorView::from(factor))).into_response();
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// A user's factors, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/users/{id}/factors",
    tag = "factors",
    params(("id" = UserId, Path, description = "User id")),
    responses(
        (status = 200, description = "Factors", body = FactorList),
        (status = 404, description = "No such user visible to this caller", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_factors(
    State(state): State<AppState>,
    Admin(who): Admin,
    PathParams(id): PathParams<String>,
) -> Result<Json<FactorList>, ApiError> {
    let factors = state
        .services
        .factors
        .list(&who, parse_id(&id, "user")?)
        .await?;
    Ok(Json(FactorList {
        items: factors.into_iter().map(Into::into).collect(),
        next_cursor: None,
    }))
}

#[utoipa::path(
    get,
    path = "/api/v1/users/{id}/factors/{factor_id}",
    tag = "factors",
    params(
        ("id" = UserId, Path, description = "User id"),
        ("factor_id" = FactorId, Path, description = "Factor id"),
    ),
    responses(
        (status = 200, description = "The factor", body = FactorView),
        (status = 404, description = "No such user or factor", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_factor(
    State(state): State<AppState>,
    Admin(who): Admin,
    PathParams((user, factor)): PathParams<(String, String)>,
) -> Result<Json<FactorView>, ApiError> {
    let (user, factor) = ids(&user, &factor)?;
    Ok(Json(
        state.services.factors.get(&who, user, factor).await?.into(),
    ))
}

#[utoipa::path(
    delete,
    path = "/api/v1/users/{id}/factors/{factor_id}",
    tag = "factors",
    params(
        ("id" = UserId, Path, description = "User id"),
        ("factor_id" = FactorId, Path, description = "Factor id"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such user or factor", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_factor(
    State(state): State<AppState>,
    Admin(who): Admin,
    Ctx(ctx): Ctx,
    PathParams((user, factor)): PathParams<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let (user, factor) = ids(&user, &factor)?;
    state
        .services
        .factors
        .delete(&who, &ctx, user, factor)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Reset: delete every factor, recovery code and remembered device of the
/// user. A policy that requires a factor makes them enrol at the next sign-in.
#[utoipa::path(
    delete,
    path = "/api/v1/users/{id}/factors",
    tag = "factors",
    params(("id" = UserId, Path, description = "User id")),
    responses(
        (status = 204, description = "Reset"),
        (status = 404, description = "No such user visible to this caller", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn reset_factors(
    State(state): State<AppState>,
    Admin(who): Admin,
    Ctx(ctx): Ctx,
    PathParams(id): PathParams<String>,
) -> Result<StatusCode, ApiError> {
    state
        .services
        .factors
        .reset(&who, &ctx, parse_id(&id, "user")?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Generate ten new recovery codes (replacing the old ones); shown once.
#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/recovery-codes",
    tag = "factors",
    params(("id" = UserId, Path, description = "User id")),
    responses(
        (status = 201, description = "New codes", body = RecoveryCodes),
        (status = 404, description = "No such user visible to this caller", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn generate_recovery_codes(
    State(state): State<AppState>,
    Admin(who): Admin,
    Ctx(ctx): Ctx,
    PathParams(id): PathParams<String>,
) -> Result<Response, ApiError> {
    let codes = state
        .services
        .factors
        .generate_recovery_codes(&who, &ctx, parse_id(&id, "user")?)
        .await?;
    let body = RecoveryCodes {
        codes: codes.iter().map(|c| c.expose().to_owned()).collect(),
    };
    Ok(no_store((StatusCode::CREATED, Json(body)).into_response()))
}

/// How many unused recovery codes the user has.
#[utoipa::path(
    get,
    path = "/api/v1/users/{id}/recovery-codes",
    tag = "factors",
    params(("id" = UserId, Path, description = "User id")),
    responses(
        (status = 200, description = "Unused codes", body = RecoveryCodesLeft),
        (status = 404, description = "No such user visible to this caller", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn recovery_codes_left(
    State(state): State<AppState>,
    Admin(who): Admin,
    PathParams(id): PathParams<String>,
) -> Result<Json<RecoveryCodesLeft>, ApiError> {
    let remaining = state
        .services
        .factors
        .recovery_codes_left(&who, parse_id(&id, "user")?)
        .await?;
    Ok(Json(RecoveryCodesLeft { remaining }))
}
