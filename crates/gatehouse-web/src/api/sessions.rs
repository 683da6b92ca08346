//! Browser SSO sessions in the admin API: a user's active sessions, and
//! revoking one (which also revokes the grants issued from it, except
//! `offline_access` ones). Session secrets never leave the server.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use gatehouse_core::ids::{OrgId, SessionId, UserId};
use gatehouse_core::model::SsoSession;

use crate::AppState;
use crate::extract::{Admin, Ctx, PathParams, parse_id};
use crate::problem::ApiError;
use crate::rfc3339;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/users/{id}/sessions", get(list_sessions))
        .route("/api/v1/sessions/{id}", delete(revoke_session))
}

/// A session as the admin API shows it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[schema(as = Session)]
pub struct SessionView {
    /// The session id, the `sid` of the tokens issued from it.
    pub id: SessionId,
    pub user_id: UserId,
    pub org_id: OrgId,
    /// When the user last authenticated.
    #[schema(format = DateTime)]
    pub auth_time: String,
    /// Authentication methods (RFC 8176).
    pub amr: Vec<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub last_seen_at: String,
    #[schema(format = DateTime)]
    pub expires_at: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl From<SsoSession> for SessionView {
    fn from(s: SsoSession) -> Self {
        Self {
            id: s.id,
            user_id: s.user_id,
            org_id: s.org_id,
            auth_time: rfc3339::format(s.auth_time),
            amr: s.amr,
            created_at: rfc3339::format(s.created_at),
            last_seen_at: rfc3339::format(s.last_seen_at),
            expires_at: rfc3339::format(s.expires_at),
            ip: s.ip,
            user_agent: s.user_agent,
        }
    }
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SessionList {
    pub items: Vec<SessionView>,
    /// Always `null`: a user's sessions fit one page.
    pub next_cursor: Option<String>,
}

/// A user's active SSO sessions, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/users/{id}/sessions",
    tag = "sessions",
    params(("id" = UserId, Path, description = "User id")),
    responses(
        (status = 200, description = "Active sessions", body = SessionList),
        (status = 404, description = "No such user visible to this caller", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_sessions(
    State(state): State<AppState>,
    Admin(who): Admin,
    PathParams(id): PathParams<String>,
) -> Result<Json<SessionList>, ApiError> {
    let sessions = state
        .services
        .sessions
        .list_for_user(&who, parse_id(&id, "user")?)
        .await?;
    Ok(Json(SessionList {
        items: sessions.into_iter().map(Into::into).collect(),
        next_cursor: None,
    }))
}

/// Revoke a session: the browser is signed out and its non-offline grants end.
#[utoipa::path(
    delete,
    path = "/api/v1/sessions/{id}",
    tag = "sessions",
    params(("id" = SessionId, Path, description = "Session id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such active session visible to this caller", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn revoke_session(
    State(state): State<AppState>,
    Admin(who): Admin,
    Ctx(ctx): Ctx,
    PathParams(id): PathParams<String>,
) -> Result<StatusCode, ApiError> {
    state
        .services
        .sessions
        .revoke(&who, &ctx, parse_id(&id, "session")?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
