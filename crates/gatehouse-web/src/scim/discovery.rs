//! `/ServiceProviderConfig`, `/ResourceTypes` and `/Schemas` (RFC 7644 §4).
//! They need a SCIM client too: the schemas list the org's custom attributes.

use axum::extract::{Path, State};
use gatehouse_scim::ScimError;
use gatehouse_scim::list::ListResponse;
use serde_json::Value;

use super::{ScimClient, ScimJson, ScimReply};
use crate::AppState;

pub async fn service_provider_config(
    State(state): State<AppState>,
    ScimClient(_): ScimClient,
) -> ScimJson {
    ScimJson::ok(state.services.scim.service_provider_config())
}

fn list(items: Vec<Value>) -> ScimJson {
    ScimJson::ok(
        ListResponse {
            total_results: items.len() as u64,
            start_index: 1,
            resources: items,
        }
        .to_json(),
    )
}

fn by_id(items: Vec<Value>, id: &str, what: &str) -> Result<ScimJson, ScimReply> {
    items
        .into_iter()
        .find(|item| item.get("id").and_then(Value::as_str) == Some(id))
        .map(ScimJson::ok)
        .ok_or_else(|| ScimError::with_status(404, format!("no such {what}")).into())
}

pub async fn resource_types(
    State(state): State<AppState>,
    ScimClient(who): ScimClient,
) -> Result<ScimJson, ScimReply> {
    Ok(list(state.services.scim.resource_types(&who).await?))
}

pub async fn resource_type(
    State(state): State<AppState>,
    ScimClient(who): ScimClient,
    Path(id): Path<String>,
) -> Result<ScimJson, ScimReply> {
    by_id(
        state.services.scim.resource_types(&who).await?,
        &id,
        "resource type",
    )
}

pub async fn schemas(
    State(state): State<AppState>,
    ScimClient(who): ScimClient,
) -> Result<ScimJson, ScimReply> {
    Ok(list(state.services.scim.schemas(&who).await?))
}

pub async fn schema(
    State(state): State<AppState>,
    ScimClient(who): ScimClient,
    Path(id): Path<String>,
) -> Result<ScimJson, ScimReply> {
    by_id(state.services.scim.schemas(&who).await?, &id, "schema")
}
