//! A user's sign-in lockout in the admin API: the brute-force counters kept
//! for the account (core's `services::throttle`), and clearing them so the
//! user can sign in at once. Counter keys are hashes: no typed login or IP is
//! shown.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use gatehouse_core::ids::UserId;
use gatehouse_core::model::CounterState;
use gatehouse_core::services::Lockout;

use crate::AppState;
use crate::extract::{Admin, Ctx, PathParams, parse_id};
use crate::problem::ApiError;
use crate::rfc3339;

pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/api/v1/users/{id}/lockout",
        get(get_lockout).delete(clear_lockout),
    )
}

/// An account's sign-in throttle state.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct LockoutView {
    /// Whether sign-ins from browsers not known for the account are refused now.
    pub locked: bool,
    /// Until when, if locked.
    #[schema(format = DateTime)]
    pub locked_until: Option<String>,
    /// The account's failure counters: account-wide, per client IP, per known device.
    pub counters: Vec<CounterView>,
}

/// One failure counter.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CounterView {
    /// `password` or `second_factor`.
    pub factor: &'static str,
    /// `account`, `account_ip` or `device`.
    pub scope: &'static str,
    /// Consecutive failures.
    pub failures: i64,
    #[schema(format = DateTime)]
    pub last_failure_at: String,
    /// Attempts this counter judges are refused until then.
    #[schema(format = DateTime)]
    pub blocked_until: Option<String>,
}

impl From<CounterState> for CounterView {
    fn from(c: CounterState) -> Self {
        Self {
            factor: c.factor.as_str(),
            scope: c.scope.as_str(),
            failures: c.failures,
            last_failure_at: rfc3339::format(c.last_failure_at),
            blocked_until: (c.blocked_until > 0).then(|| rfc3339::format(c.blocked_until)),
        }
    }
}

impl From<Lockout> for LockoutView {
    fn from(l: Lockout) -> Self {
        Self {
            locked: l.locked_until.is_some(),
            locked_until: l.locked_until.map(rfc3339::format),
            counters: l.counters.into_iter().map(Into::into).collect(),
        }
    }
}

/// A user's sign-in lockout and failure counters.
#[utoipa::path(
    get,
    path = "/api/v1/users/{id}/lockout",
    tag = "users",
    params(("id" = UserId, Path, description = "User id")),
    responses(
        (status = 200, description = "The account's throttle state", body = LockoutView),
        (status = 404, description = "No such user visible to this caller", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_lockout(
    State(state): State<AppState>,
    Admin(who): Admin,
    PathParams(id): PathParams<String>,
) -> Result<Json<LockoutView>, ApiError> {
    let lockout = state
        .services
        .throttle
        .lockout(&who, parse_id(&id, "user")?)
        .await?;
    Ok(Json(lockout.into()))
}

/// Clear a user's sign-in lockout: every failure counter of the account goes
/// (audited as `user.lockout.clear`).
#[utoipa::path(
    delete,
    path = "/api/v1/users/{id}/lockout",
    tag = "users",
    params(("id" = UserId, Path, description = "User id")),
    responses(
        (status = 204, description = "Cleared (also when nothing was counted)"),
        (status = 404, description = "No such user visible to this caller", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn clear_lockout(
    State(state): State<AppState>,
    Admin(who): Admin,
    Ctx(ctx): Ctx,
    PathParams(id): PathParams<String>,
) -> Result<StatusCode, ApiError> {
    state
        .services
        .throttle
        .clear_lockout(&who, &ctx, parse_id(&id, "user")?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
