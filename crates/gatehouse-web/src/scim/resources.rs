//! `/Users` and `/Groups` (RFC 7644 §3.3–§3.6), their `/.search`, the root
//! `/.search` (§3.4.3) and `/Me` (§3.11, not offered: 501).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_core::services::ScimPrincipal;
use gatehouse_core::services::scim::{ScimAnswer, ScimList};
use gatehouse_scim::ScimError;
use gatehouse_scim::list::{ListQuery, ListResponse, project};

use super::{ScimBody, ScimClient, ScimJson, ScimReply};
use crate::AppState;
use crate::extract::Ctx;
use crate::oauth::QueryPairs;

/// Which collection a handler serves.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Users,
    Groups,
}

fn list_query(state: &AppState, pairs: &[(String, String)]) -> Result<ListQuery, ScimError> {
    ListQuery::from_query(
        pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        &state.services.scim.settings().list,
    )
}

fn if_match(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::IF_MATCH)
        .map(|v| v.to_str().unwrap_or("\"unreadable\""))
}

/// A single resource, projected by `attributes` / `excludedAttributes` (§3.9).
fn resource(answer: ScimAnswer, query: &ListQuery, status: StatusCode) -> Response {
    let body = project(
        &answer.resource,
        &query.attributes,
        &query.excluded_attributes,
    );
    let mut reply = ScimJson::new(status, body).etag(answer.etag);
    if status == StatusCode::CREATED {
        reply = reply.location(answer.location);
    }
    reply.into_response()
}

fn listed(list: ScimList, query: &ListQuery) -> ScimJson {
    ScimJson::ok(
        ListResponse {
            total_results: list.total,
            start_index: list.start_index,
            resources: list
                .resources
                .iter()
                .map(|r| project(r, &query.attributes, &query.excluded_attributes))
                .collect(),
        }
        .to_json(),
    )
}

async fn list(
    state: &AppState,
    who: &ScimPrincipal,
    kind: Kind,
    query: &ListQuery,
) -> Result<ScimJson, ScimReply> {
    let scim = &state.services.scim;
    let list = match kind {
        Kind::Users => scim.list_users(who, query).await?,
        Kind::Groups => scim.list_groups(who, query).await?,
    };
    Ok(listed(list, query))
}

pub async fn list_users(
    State(state): State<AppState>,
    ScimClient(who): ScimClient,
    QueryPairs(pairs): QueryPairs,
) -> Result<ScimJson, ScimReply> {
    let query = list_query(&state, &pairs)?;
    list(&state, &who, Kind::Users, &query).await
}

pub async fn list_groups(
    State(state): State<AppState>,
    ScimClient(who): ScimClient,
    QueryPairs(pairs): QueryPairs,
) -> Result<ScimJson, ScimReply> {
    let query = list_query(&state, &pairs)?;
    list(&state, &who, Kind::Groups, &query).await
}

fn search_query(state: &AppState, body: &serde_json::Value) -> Result<ListQuery, ScimError> {
    ListQuery::from_search_request(body, &state.services.scim.settings().list)
}

pub async fn search_users(
    State(state): State<AppState>,
    ScimClient(who): ScimClient,
    ScimBody(body): ScimBody,
) -> Result<ScimJson, ScimReply> {
    let query = search_query(&state, &body)?;
    list(&state, &who, Kind::Users, &query).await
}

pub async fn search_groups(
    State(state): State<AppState>,
    ScimClient(who): ScimClient,
    ScimBody(body): ScimBody,
) -> Result<ScimJson, ScimReply> {
    let query = search_query(&state, &body)?;
    list(&state, &who, Kind::Groups, &query).await
}

/// `POST /.search` at the root: users, then groups, as one list.
pub async fn search_all(
    State(state): State<AppState>,
    ScimClient(who): ScimClient,
    ScimBody(body): ScimBody,
) -> Result<ScimJson, ScimReply> {
    let query = search_query(&state, &body)?;
    let scim = &state.services.scim;
    let users = scim.list_users(&who, &query).await?;
    let skipped_users = query.offset().min(users.total);
    let mut groups_query = query.clone();
    groups_query.start_index = query.offset().saturating_sub(skipped_users) + 1;
    groups_query.count = query.count.saturating_sub(users.resources.len());
    let groups = scim.list_groups(&who, &groups_query).await?;
    let mut resources = users.resources;
    resources.extend(groups.resources);
    Ok(listed(
        ScimList {
            total: users.total + groups.total,
            start_index: query.start_index,
            resources,
        },
        &query,
    ))
}

pub async fn create_user(
    State(state): State<AppState>,
    ScimClient(who): ScimClient,
    Ctx(ctx): Ctx,
    QueryPairs(pairs): QueryPairs,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimReply> {
    let query = list_query(&state, &pairs)?;
    let answer = state.services.scim.create_user(&who, &ctx, &body).await?;
    Ok(resource(answer, &query, StatusCode::CREATED))
}

pub async fn create_group(
    State(state): State<AppState>,
    ScimClient(who): ScimClient,
    Ctx(ctx): Ctx,
    QueryPairs(pairs): QueryPairs,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimReply> {
    let query = list_query(&state, &pairs)?;
    let answer = state.services.scim.create_group(&who, &ctx, &body).await?;
    Ok(resource(answer, &query, StatusCode::CREATED))
}

/// GET one resource; `If-None-Match` with its current ETag is 304 (§3.14).
async fn get_one(
    state: &AppState,
    who: &ScimPrincipal,
    kind: Kind,
    id: &str,
    headers: &HeaderMap,
    pairs: &[(String, String)],
) -> Result<Response, ScimReply> {
    let query = list_query(state, pairs)?;
    let scim = &state.services.scim;
    let answer = match kind {
        Kind::Users => scim.get_user(who, id).await?,
        Kind::Groups => scim.get_group(who, id).await?,
    };
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| {
            let strong = answer.etag.trim_start_matches("W/");
            tags.split(',')
                .map(str::trim)
                .any(|t| t == "*" || t.trim_start_matches("W/") == strong)
        });
    if unchanged {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        if let Ok(etag) = answer.etag.parse() {
            response.headers_mut().insert(header::ETAG, etag);
        }
        return Ok(response);
    }
    Ok(resource(answer, &query, StatusCode::OK))
}

pub async fn get_user(
    State(state): State<AppState>,
    ScimClient(who): ScimClient,
    Path(id): Path<String>,
    headers: HeaderMap,
    QueryPairs(pairs): QueryPairs,
) -> Result<Response, ScimReply> {
    get_one(&state, &who, Kind::Users, &id, &headers, &pairs).await
}

pub async fn get_group(
    State(state): State<AppState>,
    ScimClient(who): ScimClient,
    Path(id): Path<String>,
    headers: HeaderMap,
    QueryPairs(pairs): QueryPairs,
) -> Result<Response, ScimReply> {
    get_one(&state, &who, Kind::Groups, &id, &headers, &pairs).await
}

pub async fn replace_user(
    State(state): State<AppState>,
    ScimClient(who): ScimClient,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    headers: HeaderMap,
    QueryPairs(pairs): QueryPairs,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimReply> {
    let query = list_query(&state, &pairs)?;
    let answer = state
        .services
        .scim
        .replace_user(&who, &ctx, &id, &body, if_match(&headers))
        .await?;
    Ok(resource(answer, &query, StatusCode::OK))
}

pub async fn replace_group(
    State(state): State<AppState>,
    ScimClient(who): ScimClient,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    headers: HeaderMap,
    QueryPairs(pairs): QueryPairs,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimReply> {
    let query = list_query(&state, &pairs)?;
    let answer = state
        .services
        .scim
        .replace_group(&who, &ctx, &id, &body, if_match(&headers))
        .await?;
    Ok(resource(answer, &query, StatusCode::OK))
}

pub async fn patch_user(
    State(state): State<AppState>,
    ScimClient(who): ScimClient,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    headers: HeaderMap,
    QueryPairs(pairs): QueryPairs,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimReply> {
    let query = list_query(&state, &pairs)?;
    let answer = state
        .services
        .scim
        .patch_user(&who, &ctx, &id, &body, if_match(&headers))
        .await?;
    Ok(resource(answer, &query, StatusCode::OK))
}

pub async fn patch_group(
    State(state): State<AppState>,
    ScimClient(who): ScimClient,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    headers: HeaderMap,
    QueryPairs(pairs): QueryPairs,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimReply> {
    let query = list_query(&state, &pairs)?;
    let answer = state
        .services
        .scim
        .patch_group(&who, &ctx, &id, &body, if_match(&headers))
        .await?;
    Ok(resource(answer, &query, StatusCode::OK))
}

pub async fn delete_user(
    State(state): State<AppState>,
    ScimClient(who): ScimClient,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ScimReply> {
    state
        .services
        .scim
        .delete_user(&who, &ctx, &id, if_match(&headers))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn delete_group(
    State(state): State<AppState>,
    ScimClient(who): ScimClient,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ScimReply> {
    state
        .services
        .scim
        .delete_group(&who, &ctx, &id, if_match(&headers))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `/Me` (§3.11): callers here are provisioning clients, not users, so the
/// alias has no resource to name.
pub async fn me(ScimClient(_): ScimClient) -> ScimReply {
    ScimError::with_status(501, "/Me is not supported: SCIM clients here are not users").into()
}
