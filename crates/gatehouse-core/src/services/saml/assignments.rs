//! App assignment of a service provider: the users and groups allowed to
//! sign in to it when its settings say `assignment_required`. The model is
//! the shared `app_assignments` one ([`AppRef::Saml`]); every change is
//! audited in the same transaction. A user or group must be of the SP's org.

use serde_json::json;

use super::Saml;
use crate::error::{Error, Result};
use crate::ids::ServiceProviderId;
use crate::model::{AppAssignment, AppRef, AssignmentSubject, ServiceProvider};
use crate::services::audit::Target;
use crate::services::principal::{AdminPrincipal, RequestContext};

impl Saml {
    /// The SP's assignments: users, then groups.
    pub async fn assignments(
        &self,
        who: &AdminPrincipal,
        id: ServiceProviderId,
    ) -> Result<Vec<AppAssignment>> {
        let sp = self.get(who, id).await?;
        Ok(self
            .deps
            .store
            .list_app_assignments(&AppRef::Saml(sp.id))
            .await?)
    }

    /// Assigns a user or group (`service_provider.assignment_added`);
    /// `false` when it already was.
    pub async fn assign(
        &self,
        who: &AdminPrincipal,
        ctx: &RequestContext,
        id: ServiceProviderId,
        subject: AssignmentSubject,
    ) -> Result<bool> {
        let sp = self.get(who, id).await?;
        self.check_subject(&sp, subject).await?;
        let d = &self.deps;
        let assignment = AppAssignment {
            app: AppRef::Saml(sp.id),
            subject,
            org_id: sp.org_id,
            created_at: d.clock.now_millis(),
        };
        let audit = d.audit(
            who.actor(),
            ctx,
            "service_provider.assignment_added",
            Target::new("service_provider", sp.id, Some(sp.org_id)),
            json!({ "subject": subject }),
        );
        Ok(d.store.add_app_assignment(&assignment, &audit).await?)
    }

    /// Removes an assignment (`service_provider.assignment_removed`).
    pub async fn unassign(
        &self,
        who: &AdminPrincipal,
        ctx: &RequestContext,
        id: ServiceProviderId,
        subject: AssignmentSubject,
    ) -> Result<()> {
        let sp = self.get(who, id).await?;
        let d = &self.deps;
        let audit = d.audit(
            who.actor(),
            ctx,
            "service_provider.assignment_removed",
            Target::new("service_provider", sp.id, Some(sp.org_id)),
            json!({ "subject": subject }),
        );
        if !d
            .store
            .remove_app_assignment(&AppRef::Saml(sp.id), &subject, &audit)
            .await?
        {
            return Err(Error::NotFound("assignment"));
        }
        Ok(())
    }

    /// The user or group exists in the SP's org.
    async fn check_subject(&self, sp: &ServiceProvider, subject: AssignmentSubject) -> Result<()> {
        let store = &self.deps.store;
        let org = match subject {
            AssignmentSubject::User(user) => store.get_user(user).await?.map(|u| u.org_id),
            AssignmentSubject::Group(group) => store.get_group(group).await?.map(|g| g.org_id),
        };
        if org != Some(sp.org_id) {
            return Err(Error::NotFound(match subject {
                AssignmentSubject::User(_) => "user",
                AssignmentSubject::Group(_) => "group",
            }));
        }
        Ok(())
    }

    /// Whether `user` may sign in to `sp` (assigned, when it must be).
    pub(super) async fn may_use(
        &self,
        sp: &ServiceProvider,
        user: &crate::model::User,
    ) -> Result<bool> {
        if !sp.settings.assignment_required {
            return Ok(true);
        }
        Ok(self
            .deps
            .store
            .is_assigned(&AppRef::Saml(sp.id), user.id)
            .await?)
    }
}
