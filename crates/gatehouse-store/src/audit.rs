//! [`AuditStore`] over `audit_events`: append-only, listed newest first.
//!
//! Events that go with a change are written by the change's own transaction
//! (see [`crate::store::Writer::audit`]); `append_audit` is for events that
//! record no stored change. `audit_events` has no foreign keys, so an event
//! outlives the org, user or token it describes.

use async_trait::async_trait;
use gatehouse_core::StoreError;
use gatehouse_core::model::{AuditEvent, AuditQuery, Outcome, Page};
use gatehouse_core::store::{AuditStore, StoreResult};

use crate::cursor;
use crate::engine::{Arg, Engine, Record, SqlBuilder};
use crate::store::{SqlStore, col, id_col, insert_audit, json_col, opt_id_col};

macro_rules! audit_cols {
    () => {
        "id, at, actor, action, target_type, target_id, org_id, outcome, ip, user_agent, request_id, details"
    };
}

const LIST: &str = "audit";

fn event_from(row: &impl Record) -> StoreResult<AuditEvent> {
    let outcome = col(row.text("outcome"))?;
    Ok(AuditEvent {
        id: id_col(row, "id")?,
        at: col(row.int("at"))?,
        actor: col(row.text("actor"))?,
        action: col(row.text("action"))?,
        target_type: col(row.text("target_type"))?,
        target_id: col(row.opt_text("target_id"))?,
        org_id: opt_id_col(row, "org_id")?,
        outcome: match outcome.as_str() {
            "success" => Outcome::Success,
            "failure" => Outcome::Failure,
            other => {
                return Err(StoreError::Backend(format!(
                    "unknown audit outcome {other:?}"
                )));
            }
        },
        ip: col(row.opt_text("ip"))?,
        user_agent: col(row.opt_text("user_agent"))?,
        request_id: col(row.opt_text("request_id"))?,
        details: json_col(row, "details")?,
    })
}

#[async_trait]
impl<DB: Engine> AuditStore for SqlStore<DB> {
    async fn append_audit(&self, event: &AuditEvent) -> StoreResult<()> {
        self.execute(insert_audit(event)).await.map(drop)
    }

    async fn append_audit_batch(&self, events: &[AuditEvent]) -> StoreResult<()> {
        let mut w = self.write().await?;
        for event in events {
            w.audit(event).await?;
        }
        w.commit().await
    }

    async fn list_audit(&self, query: &AuditQuery) -> StoreResult<Page<AuditEvent>> {
        let size = cursor::page_size(query.limit);
        let mut sql = SqlBuilder::new(concat!("SELECT ", audit_cols!(), " FROM audit_events"));
        if let Some(org) = query.org_id {
            sql.and("org_id = ").arg(Arg::Text(org.to_string()));
        }
        if let Some(action) = &query.action {
            sql.and("action = ").arg(Arg::Text(action.clone()));
        }
        if let Some(target) = &query.target_id {
            sql.and("target_id = ").arg(Arg::Text(target.clone()));
        }
        if let Some(after) = &query.after {
            let position = cursor::decode(LIST, false, after)?;
            sql.and("id < ").arg(Arg::Text(position.id));
        }
        sql.push(" ORDER BY id DESC LIMIT ")
            .arg(Arg::Int(size as i64 + 1));
        let events = self
            .read_all(sql.build())
            .await?
            .iter()
            .map(event_from)
            .collect::<StoreResult<Vec<_>>>()?;
        let (items, next) = cursor::paginate(events, size, |event| {
            cursor::encode(LIST, None, &event.id.to_string())
        });
        Ok(Page { items, next })
    }
}
