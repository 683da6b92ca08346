//! A user's second factors in the admin API (INTERFACE.md fixes enrol and
//! activate): enrol TOTP (`pending`, with its `otpauth_uri` shown once),
//! activate with a first code, set a knowledge question (active at once),
//! list, read, delete one, reset all (the audited "lost my phone" reset),
//! generate recovery codes (shown once), and list the built-in questions.
//! Secrets never appear in reads or lists: a question's answer is not
//! shown, a phone number only masked. A phone cannot be enrolled here: only
//! its owner can prove it (on `/account/security`).

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use gatehouse_core::ids::{FactorId, UserId};
use gatehouse_core::model::{Factor, FactorKind};
use gatehouse_core::secret::Secret;
use gatehouse_core::services::factors::question::{QUESTIONS, Question};
use gatehouse_core::services::factors::{EnrolRequest, Enrolled};
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
        .route("/api/v1/factors/questions", get(list_questions))
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
    /// `totp`, `webauthn`, `question` or `phone`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `pending` until a first code activates it, then `active`.
    pub status: String,
    /// A `question` factor's question id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
    /// A `phone` factor's number, masked (`+•••••••1234`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// A `phone` factor's channel: `sms` or `voice`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
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
            question: (f.kind == FactorKind::Question)
                .then(|| f.detail.clone())
                .flatten(),
            phone: (f.kind == FactorKind::Phone)
                .then(|| f.hint.clone())
                .flatten(),
            channel: (f.kind == FactorKind::Phone)
                .then(|| f.detail.clone())
                .flatten(),
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
    /// TOTP: the Key URI for an authenticator app (`otpauth://totp/…`); not shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub otpauth_uri: Option<String>,
    /// TOTP: the secret in base32, for typing in by hand; not shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// The built-in knowledge questions.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct QuestionList {
    pub items: Vec<Question>,
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
    /// `totp` or `question` (`phone` is refused: the user adds it).
    #[serde(rename = "type")]
    pub kind: String,
    /// `question`: the id of one of `GET /api/v1/factors/questions`.
    #[serde(default)]
    pub question: Option<String>,
    /// `question`: the answer (at least 4 letters or digits once case,
    /// spaces and punctuation are dropped); stored only as an argon2id hash.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub answer: Option<Secret>,
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

/// Enrol a factor: a TOTP factor starts `pending` (activate it with a
/// code); a knowledge question is `active` at once and replaces any earlier
/// one. A phone is refused (422): its owner must verify it on
/// `/account/security`.
#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/factors",
    tag = "factors",
    params(("id" = UserId, Path, description = "User id")),
    request_body = EnrolFactorRequest,
    responses(
        (status = 201, description = "Enrolled: TOTP pending activation, a question active", body = EnrolledFactor),
        (status = 404, description = "No such user visible to this caller", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown or refused factor type, unknown question, answer too short", body = crate::problem::Problem, content_type = "application/problem+json"),
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
    let request = EnrolRequest {
        kind: &body.kind,
        question: body.question.as_deref(),
        answer: body.answer.as_ref(),
    };
    let enrolled = state
        .services
        .factors
        .enrol(&who, &ctx, user, request)
        .await?;
    let body = match enrolled {
        Enrolled::Totp(enrolled) => EnrolledFactor {
            factor: enrolled.factor.into(),
            otpauth_uri: Some(enrolled.otpauth_uri.expose().to_owned()),
            secret: Some(enrolled.secret.expose().to_owned()),
        },
        Enrolled::Question(factor) => EnrolledFactor {
            factor: factor.into(),
            otpauth_uri: None,
            secret: None,
        },
    };
    let location = absolute(
        &state,
        &format!("/api/v1/users/{user}/factors/{}", body.factor.id),
    );
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

/// The built-in knowledge questions a user or admin picks from.
#[utoipa::path(
    get,
    path = "/api/v1/factors/questions",
    tag = "factors",
    responses(
        (status = 200, description = "The questions", body = QuestionList),
    )
)]
pub async fn list_questions(Admin(_who): Admin) -> Json<QuestionList> {
    Json(QuestionList {
        items: QUESTIONS.to_vec(),
    })
}
