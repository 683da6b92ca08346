//! [`AppAssignmentStore`] over `app_assignments`: users and groups assigned
//! to an application. Adding is `INSERT … ON CONFLICT DO NOTHING` (the
//! insert alone decides whether it was new, on both engines), so a repeated
//! assignment is not audited twice. Whether a user is assigned is one query:
//! directly, or through any group they are a member of.

use async_trait::async_trait;
use gatehouse_core::StoreError;
use gatehouse_core::ids::{GroupId, UserId};
use gatehouse_core::model::{AppAssignment, AppRef, AssignmentSubject, AuditEvent};
use gatehouse_core::store::{AppAssignmentStore, StoreResult};

use crate::engine::{Engine, Record, Stmt};
use crate::store::{SqlStore, col, id_col};

#[async_trait]
impl<DB: Engine> AppAssignmentStore for SqlStore<DB> {
    async fn add_app_assignment(
        &self,
        assignment: &AppAssignment,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        let mut w = self.write().await?;
        let added = w
            .execute(
                Stmt::new(
                    "INSERT INTO app_assignments \
                     (app_kind, app_id, subject_kind, subject_id, org_id, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                )
                .text(assignment.app.kind())
                .text(assignment.app.id())
                .text(assignment.subject.kind())
                .text(assignment.subject.id())
                .text(assignment.org_id.to_string())
                .int(assignment.created_at),
                "org",
            )
            .await?;
        if added == 0 {
            return Ok(false);
        }
        w.audit(audit).await?;
        w.commit().await?;
        Ok(true)
    }

    async fn remove_app_assignment(
        &self,
        app: &AppRef,
        subject: &AssignmentSubject,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        let mut w = self.write().await?;
        let removed = w
            .execute(
                Stmt::new(
                    "DELETE FROM app_assignments WHERE app_kind = $1 AND app_id = $2 \
                     AND subject_kind = $3 AND subject_id = $4",
                )
                .text(app.kind())
                .text(app.id())
                .text(subject.kind())
                .text(subject.id()),
                "app assignment",
            )
            .await?;
        if removed == 0 {
            return Ok(false);
        }
        w.audit(audit).await?;
        w.commit().await?;
        Ok(true)
    }

    async fn list_app_assignments(&self, app: &AppRef) -> StoreResult<Vec<AppAssignment>> {
        self.read_all(
            Stmt::new(
                "SELECT subject_kind, subject_id, org_id, created_at FROM app_assignments \
                 WHERE app_kind = $1 AND app_id = $2 ORDER BY subject_kind DESC, subject_id",
            )
            .text(app.kind())
            .text(app.id()),
        )
        .await?
        .iter()
        .map(|row| {
            let subject = match col(row.text("subject_kind"))?.as_str() {
                "user" => AssignmentSubject::User(id_col::<UserId>(row, "subject_id")?),
                "group" => AssignmentSubject::Group(id_col::<GroupId>(row, "subject_id")?),
                other => {
                    return Err(StoreError::Backend(format!(
                        "app_assignments holds an unknown subject kind {other}"
                    )));
                }
            };
            Ok(AppAssignment {
                app: app.clone(),
                subject,
                org_id: id_col(row, "org_id")?,
                created_at: col(row.int("created_at"))?,
            })
        })
        .collect()
    }

    async fn is_assigned(&self, app: &AppRef, user: UserId) -> StoreResult<bool> {
        Ok(self
            .read_optional(
                Stmt::new(
                    "SELECT 1 AS one FROM app_assignments a \
                     WHERE a.app_kind = $1 AND a.app_id = $2 AND ( \
                       (a.subject_kind = 'user' AND a.subject_id = $3) \
                       OR (a.subject_kind = 'group' AND a.subject_id IN \
                           (SELECT m.group_id FROM group_members m WHERE m.user_id = $3))) \
                     LIMIT 1",
                )
                .text(app.kind())
                .text(app.id())
                .text(user.to_string()),
            )
            .await?
            .is_some())
    }
}
