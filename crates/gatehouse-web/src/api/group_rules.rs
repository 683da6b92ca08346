//! `/api/v1/groups/{id}/rules`: the group rules that keep a group's
//! rule-managed memberships in sync with its org's users.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use gatehouse_core::ids::{GroupId, GroupRuleId, OrgId};
use gatehouse_core::model::GroupRule;
use gatehouse_core::services::RuleExpression;

use crate::AppState;
use crate::api::absolute;
use crate::extract::{Admin, Ctx, JsonBody, PathParams, parse_id};
use crate::problem::ApiError;
use crate::rfc3339;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/groups/{id}/rules",
            get(list_rules).post(create_rule),
        )
        .route("/api/v1/groups/{id}/rules/{rule_id}", delete(delete_rule))
}

/// A group rule as the API shows it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[schema(as = GroupRule)]
pub struct GroupRuleView {
    pub id: GroupRuleId,
    pub org_id: OrgId,
    pub group_id: GroupId,
    /// The rule expression, e.g. `user.profile.department == "Nursing"`.
    pub expression: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl From<GroupRule> for GroupRuleView {
    fn from(rule: GroupRule) -> Self {
        Self {
            id: rule.id,
            org_id: rule.org_id,
            group_id: rule.group_id,
            expression: rule.expression,
            created_at: rfc3339::format(rule.created_at),
            updated_at: rfc3339::format(rule.updated_at),
        }
    }
}

/// The rules of one group.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct GroupRuleList {
    pub items: Vec<GroupRuleView>,
}

/// `POST /api/v1/groups/{id}/rules`.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGroupRuleRequest {
    /// At most 2048 bytes; see the README's "Group rules" for the language.
    pub expression: String,
}

/// Add a rule to a group; the org's matching users become (rule-managed) members.
#[utoipa::path(
    post,
    path = "/api/v1/groups/{id}/rules",
    tag = "groups",
    params(("id" = GroupId, Path, description = "Group id")),
    request_body = CreateGroupRuleRequest,
    responses(
        (status = 201, description = "Created; `Location` is set", body = GroupRuleView),
        (status = 400, description = "The expression does not parse; `detail` gives the position", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such group visible to this token", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The org has too many rules", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_rule(
    State(state): State<AppState>,
    Admin(who): Admin,
    Ctx(ctx): Ctx,
    PathParams(id): PathParams<String>,
    JsonBody(body): JsonBody<CreateGroupRuleRequest>,
) -> Result<Response, ApiError> {
    let group = parse_id(&id, "group")?;
    let expression = RuleExpression::parse(&body.expression).map_err(|e| {
        ApiError::Malformed(format!(
            "expression: at position {}: {}",
            e.position, e.message
        ))
    })?;
    let rule = state
        .services
        .group_rules
        .create(&who, &ctx, group, expression)
        .await?;
    let location = absolute(
        &state,
        &format!("/api/v1/groups/{}/rules/{}", group, rule.id),
    );
    let mut response = (StatusCode::CREATED, Json(GroupRuleView::from(rule))).into_response();
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// List a group's rules, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/groups/{id}/rules",
    tag = "groups",
    params(("id" = GroupId, Path, description = "Group id")),
    responses(
        (status = 200, description = "The group's rules", body = GroupRuleList),
        (status = 404, description = "No such group visible to this token", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_rules(
    State(state): State<AppState>,
    Admin(who): Admin,
    PathParams(id): PathParams<String>,
) -> Result<Json<GroupRuleList>, ApiError> {
    let rules = state
        .services
        .group_rules
        .list(&who, parse_id(&id, "group")?)
        .await?;
    Ok(Json(GroupRuleList {
        items: rules.into_iter().map(GroupRuleView::from).collect(),
    }))
}

/// Delete a rule; the members only it put in the group are taken out.
#[utoipa::path(
    delete,
    path = "/api/v1/groups/{id}/rules/{rule_id}",
    tag = "groups",
    params(("id" = GroupId, Path, description = "Group id"), ("rule_id" = GroupRuleId, Path, description = "Rule id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such group or rule", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_rule(
    State(state): State<AppState>,
    Admin(who): Admin,
    Ctx(ctx): Ctx,
    PathParams((id, rule_id)): PathParams<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let (group, rule) = (parse_id(&id, "group")?, parse_id(&rule_id, "group rule")?);
    state
        .services
        .group_rules
        .delete(&who, &ctx, group, rule)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
