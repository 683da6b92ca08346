//! Organization administration. Creating and deleting orgs needs an instance
//! principal; an org-scoped principal sees and edits only its own org.

use serde_json::Value;

use crate::error::{Error, FieldError, Result};
use crate::ids::OrgId;
use crate::model::{Organization, Page, TokenScope};
use crate::password::PasswordPolicy;
use crate::services::Deps;
use crate::services::audit::Target;
use crate::services::principal::{AdminPrincipal, RequestContext};
use crate::services::profile::{check_schema, merge_patch, serde_message};

/// A create-org request.
#[derive(Debug, Clone, Default)]
pub struct NewOrg {
    pub slug: String,
    pub name: String,
    pub domains: Vec<String>,
    pub profile_schema: Option<Value>,
    pub password_policy: Option<PasswordPolicy>,
}

#[derive(Debug, Clone)]
pub struct Orgs {
    deps: Deps,
}

impl Orgs {
    pub(crate) fn new(deps: Deps) -> Self {
        Self { deps }
    }

    pub async fn create(
        &self,
        who: &AdminPrincipal,
        ctx: &RequestContext,
        new: NewOrg,
    ) -> Result<Organization> {
        if who.scope() != TokenScope::Instance {
            return Err(Error::Forbidden);
        }
        let d = &self.deps;
        let now = d.clock.now_millis();
        let org = Organization {
            id: OrgId::generate(d.clock.as_ref(), d.rng.as_ref()),
            slug: new.slug,
            name: new.name,
            domains: new.domains,
            profile_schema: new.profile_schema,
            password_policy: new.password_policy.unwrap_or_default(),
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let org = validated(org)?;
        let audit = d.audit(
            who.actor(),
            ctx,
            "org.create",
            org_target(&org),
            serde_json::json!({ "slug": org.slug }),
        );
        d.store
            .create_org(&org, &audit)
            .await
            .map_err(|e| Error::duplicate("org", e))?;
        Ok(org)
    }

    pub async fn get(&self, who: &AdminPrincipal, id: OrgId) -> Result<Organization> {
        if !who.can_access(id) {
            return Err(Error::NotFound("org"));
        }
        self.deps
            .store
            .get_org(id)
            .await?
            .ok_or(Error::NotFound("org"))
    }

    pub async fn list(
        &self,
        who: &AdminPrincipal,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<Organization>> {
        match who.org_filter() {
            None => Ok(self.deps.store.list_orgs(after, limit).await?),
            Some(own) => {
                let items = if after.is_none() {
                    vec![self.get(who, own).await?]
                } else {
                    Vec::new()
                };
                Ok(Page { items, next: None })
            }
        }
    }

    /// RFC 7396 merge patch over `{slug, name, domains, profile_schema, password_policy}`.
    pub async fn update(
        &self,
        who: &AdminPrincipal,
        ctx: &RequestContext,
        id: OrgId,
        patch: &Value,
        if_match: Option<i64>,
    ) -> Result<Organization> {
        let Some(fields) = patch.as_object() else {
            return Err(Error::invalid(
                "",
                "invalid_type",
                "a merge patch must be a JSON object",
            ));
        };
        let current = self.get(who, id).await?;
        if if_match.is_some_and(|v| v != current.version) {
            return Err(Error::PreconditionFailed);
        }
        let mut doc = serde_json::json!({
            "slug": current.slug,
            "name": current.name,
            "domains": current.domains,
            "profile_schema": current.profile_schema,
            "password_policy": current.password_policy,
        });
        merge_patch(&mut doc, patch);
        let edit: OrgEdit = serde_json::from_value(doc)
            .map_err(|e| Error::invalid("", "invalid_field", serde_message(&e)))?;
        let d = &self.deps;
        let next = validated(Organization {
            slug: edit.slug,
            name: edit.name,
            domains: edit.domains,
            profile_schema: edit.profile_schema,
            password_policy: edit.password_policy,
            updated_at: d.clock.now_millis(),
            ..current.clone()
        })?;
        let changed: Vec<&String> = fields.keys().collect();
        let audit = d.audit(
            who.actor(),
            ctx,
            "org.update",
            org_target(&current),
            serde_json::json!({ "fields": changed }),
        );
        d.store
            .update_org(&next, &audit)
            .await
            .map_err(|e| Error::duplicate("org", e))
    }

    /// Deletes an org with everything in it. The default org cannot be deleted.
    pub async fn delete(
        &self,
        who: &AdminPrincipal,
        ctx: &RequestContext,
        id: OrgId,
    ) -> Result<()> {
        if who.scope() != TokenScope::Instance {
            return Err(if who.can_access(id) {
                Error::Forbidden
            } else {
                Error::NotFound("org")
            });
        }
        if id == OrgId::DEFAULT {
            return Err(Error::Conflict("the default org cannot be deleted".into()));
        }
        let org = self.get(who, id).await?;
        let d = &self.deps;
        let audit = d.audit(
            who.actor(),
            ctx,
            "org.delete",
            org_target(&org),
            serde_json::json!({ "slug": org.slug }),
        );
        if d.store.delete_org(id, &audit).await? {
            Ok(())
        } else {
            Err(Error::NotFound("org"))
        }
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct OrgEdit {
    slug: String,
    name: String,
    #[serde(default)]
    domains: Vec<String>,
    #[serde(default)]
    profile_schema: Option<Value>,
    #[serde(default)]
    password_policy: PasswordPolicy,
}

/// Normalises (lower-case slug and domains) and validates an org.
fn validated(mut org: Organization) -> Result<Organization> {
    let mut errors = Vec::new();
    org.slug = org.slug.to_ascii_lowercase();
    let slug_ok = (1..=63).contains(&org.slug.len())
        && org
            .slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !org.slug.starts_with('-')
        && !org.slug.ends_with('-');
    if !slug_ok {
        errors.push(FieldError::new(
            "slug",
            "invalid_format",
            "1-63 of a-z, 0-9 and '-', not starting or ending with '-'",
        ));
    }
    org.name = org.name.trim().to_owned();
    if org.name.is_empty() || org.name.len() > 200 {
        errors.push(FieldError::new(
            "name",
            "invalid_length",
            "must be 1-200 bytes",
        ));
    }
    let mut domains: Vec<String> = org
        .domains
        .iter()
        .map(|d| d.trim().trim_end_matches('.').to_ascii_lowercase())
        .collect();
    domains.sort();
    domains.dedup();
    for (i, domain) in domains.iter().enumerate() {
        if !is_domain(domain) {
            errors.push(FieldError::new(
                format!("domains/{i}"),
                "invalid_domain",
                "is not a DNS domain name",
            ));
        }
    }
    org.domains = domains;
    if let Some(schema) = &org.profile_schema
        && let Err(Error::Invalid(errs)) = check_schema(schema)
    {
        errors.extend(errs);
    }
    if org.password_policy.min_length < 1
        || org.password_policy.min_length > org.password_policy.max_length
    {
        errors.push(FieldError::new(
            "password_policy",
            "invalid_value",
            "min_length must be between 1 and max_length",
        ));
    }
    if errors.is_empty() {
        Ok(org)
    } else {
        Err(Error::Invalid(errors))
    }
}

fn is_domain(domain: &str) -> bool {
    domain.len() <= 253
        && domain.contains('.')
        && domain.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

fn org_target(org: &Organization) -> Target {
    Target::new("org", org.id, Some(org.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_syntax_is_checked() {
        for ok in ["example.com", "a-b.example.co.uk"] {
            assert!(is_domain(ok), "{ok}");
        }
        for bad in ["localhost", "-a.com", "a..com", "exa mple.com", "a_b.com"] {
            assert!(!is_domain(bad), "{bad}");
        }
    }
}
