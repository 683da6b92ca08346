//! `/Bulk` (RFC 7644 §3.7): `maxOperations` and `maxPayloadSize` enforced
//! by `gatehouse_scim::bulk` before anything runs.

use axum::extract::State;
use gatehouse_scim::bulk::{BulkRequest, bulk_response};

use super::{RawBody, ScimClient, ScimJson, ScimReply};
use crate::AppState;
use crate::extract::Ctx;

pub async fn bulk(
    State(state): State<AppState>,
    ScimClient(who): ScimClient,
    Ctx(ctx): Ctx,
    RawBody(body): RawBody,
) -> Result<ScimJson, ScimReply> {
    let scim = &state.services.scim;
    let request = BulkRequest::parse(&body, &scim.settings().bulk)?;
    let results = scim.bulk(&who, &ctx, &request).await;
    Ok(ScimJson::ok(bulk_response(&results)))
}
