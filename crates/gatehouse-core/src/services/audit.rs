//! Building audit events for service mutations.

use crate::clock::{Clock, Rng};
use crate::ids::{AuditEventId, OrgId};
use crate::model::{AuditEvent, Outcome};
use crate::services::principal::RequestContext;

/// What an event is about: its kind, id and org.
#[derive(Debug, Clone)]
pub struct Target {
    pub kind: &'static str,
    pub id: String,
    pub org: Option<OrgId>,
}

impl Target {
    pub fn new(kind: &'static str, id: impl ToString, org: Option<OrgId>) -> Self {
        Self {
            kind,
            id: id.to_string(),
            org,
        }
    }
}

/// Makes the event for `action` by `actor` (`AdminPrincipal::actor`, `user:<id>`, `anonymous`) on `target`, stamped with the request's context.
pub fn event(
    clock: &dyn Clock,
    rng: &dyn Rng,
    actor: &str,
    ctx: &RequestContext,
    action: &str,
    target: Target,
    details: serde_json::Value,
) -> AuditEvent {
    AuditEvent {
        id: AuditEventId::generate(clock, rng),
        at: clock.now_millis(),
        actor: actor.to_owned(),
        action: action.to_owned(),
        target_type: target.kind.to_owned(),
        target_id: Some(target.id),
        org_id: target.org,
        outcome: Outcome::Success,
        ip: ctx.ip.clone(),
        user_agent: ctx.user_agent.clone(),
        request_id: ctx.request_id.clone(),
        details,
    }
}
