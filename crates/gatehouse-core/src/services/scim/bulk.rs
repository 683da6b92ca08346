//! `/Bulk` (RFC 7644 §3.7): operations run in the order the plan gives
//! (an operation waits for the POST whose `bulkId` it references), each one
//! through the same service calls as its single request, each committed on
//! its own; `failOnErrors` stops the run after that many failures.

use std::collections::HashMap;

use gatehouse_scim::ScimError;
use gatehouse_scim::bulk::{BulkMethod, BulkOperationResult, BulkRequest};
use serde_json::Value;

use super::{Scim, ScimAnswer, ScimFailure, ScimResult};
use crate::services::principal::{RequestContext, ScimPrincipal};

/// Which resource an operation's path names.
enum Resource<'p> {
    Users(Option<&'p str>),
    Groups(Option<&'p str>),
}

fn resource(path: &str) -> Result<Resource<'_>, ScimError> {
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let collection = parts.next().unwrap_or("");
    let id = parts.next().filter(|id| !id.is_empty());
    if id.is_some_and(|id| id.contains('/')) {
        return Err(ScimError::invalid_value(format!("unknown path {path:?}")));
    }
    match collection {
        "Users" => Ok(Resource::Users(id)),
        "Groups" => Ok(Resource::Groups(id)),
        _ => Err(ScimError::invalid_value(format!("unknown path {path:?}"))),
    }
}

/// A failure as a bulk operation reports it (a fault is logged, not shown).
fn as_scim_error(failure: ScimFailure) -> ScimError {
    match failure {
        ScimFailure::Protocol(e) => e,
        ScimFailure::Core(e) => {
            tracing::error!(error = %e, "bulk operation failed");
            ScimError::with_status(500, "internal error")
        }
    }
}

impl Scim {
    pub async fn bulk(
        &self,
        who: &ScimPrincipal,
        ctx: &RequestContext,
        request: &BulkRequest,
    ) -> Vec<BulkOperationResult> {
        let plan = request.plan();
        let mut results = Vec::with_capacity(request.operations.len());
        let mut errors: u32 = 0;
        for (index, error) in &plan.failed {
            if let Some(op) = request.operations.get(*index) {
                results.push(BulkOperationResult::failed(op, error));
                errors = errors.saturating_add(1);
            }
        }
        let mut created: HashMap<String, String> = HashMap::new();
        for index in &plan.order {
            if request.should_stop(errors) {
                break;
            }
            let Some(op) = request.operations.get(*index) else {
                continue;
            };
            let outcome = match op.resolve(&created) {
                Ok((path, data)) => self
                    .bulk_one(
                        who,
                        ctx,
                        op.method,
                        &path,
                        data.as_ref(),
                        op.version.as_deref(),
                    )
                    .await
                    .map_err(as_scim_error),
                Err(e) => Err(e),
            };
            match outcome {
                Ok((status, answer)) => {
                    if let (Some(answer), Some(bulk_id), BulkMethod::Post) =
                        (&answer, &op.bulk_id, op.method)
                        && let Some(id) = answer.resource.get("id").and_then(Value::as_str)
                    {
                        created.insert(bulk_id.clone(), id.to_owned());
                    }
                    results.push(BulkOperationResult {
                        method: op.method,
                        bulk_id: op.bulk_id.clone(),
                        version: answer.as_ref().map(|a| a.etag.clone()),
                        location: answer.as_ref().map(|a| a.location.clone()),
                        status,
                        response: None,
                    });
                }
                Err(error) => {
                    errors = errors.saturating_add(1);
                    results.push(BulkOperationResult::failed(op, &error));
                }
            }
        }
        results
    }

    async fn bulk_one(
        &self,
        who: &ScimPrincipal,
        ctx: &RequestContext,
        method: BulkMethod,
        path: &str,
        data: Option<&Value>,
        version: Option<&str>,
    ) -> ScimResult<(u16, Option<ScimAnswer>)> {
        let data = || {
            data.ok_or_else(|| ScimFailure::from(ScimError::invalid_syntax("\"data\" is missing")))
        };
        let wrong = || {
            ScimFailure::from(ScimError::invalid_value(format!(
                "{} is not allowed on {path:?}",
                method.as_str()
            )))
        };
        Ok(match (method, resource(path)?) {
            (BulkMethod::Post, Resource::Users(None)) => {
                (201, Some(self.create_user(who, ctx, data()?).await?))
            }
            (BulkMethod::Post, Resource::Groups(None)) => {
                (201, Some(self.create_group(who, ctx, data()?).await?))
            }
            (BulkMethod::Put, Resource::Users(Some(id))) => (
                200,
                Some(self.replace_user(who, ctx, id, data()?, version).await?),
            ),
            (BulkMethod::Put, Resource::Groups(Some(id))) => (
                200,
                Some(self.replace_group(who, ctx, id, data()?, version).await?),
            ),
            (BulkMethod::Patch, Resource::Users(Some(id))) => (
                200,
                Some(self.patch_user(who, ctx, id, data()?, version).await?),
            ),
            (BulkMethod::Patch, Resource::Groups(Some(id))) => (
                200,
                Some(self.patch_group(who, ctx, id, data()?, version).await?),
            ),
            (BulkMethod::Delete, Resource::Users(Some(id))) => {
                self.delete_user(who, ctx, id, version).await?;
                (204, None)
            }
            (BulkMethod::Delete, Resource::Groups(Some(id))) => {
                self.delete_group(who, ctx, id, version).await?;
                (204, None)
            }
            _ => return Err(wrong()),
        })
    }
}
