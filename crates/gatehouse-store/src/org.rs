//! [`OrgStore`] over the `orgs` and `org_domains` tables.
//!
//! Domains are stored lower-case, one row each, with the domain as primary key,
//! so a domain belongs to at most one org (`Conflict("domain")`). An org is
//! always returned with its domains sorted.

use std::collections::BTreeMap;

use async_trait::async_trait;
use gatehouse_core::StoreError;
use gatehouse_core::ids::OrgId;
use gatehouse_core::model::{AuditEvent, Organization, Page};
use gatehouse_core::store::{OrgStore, StoreResult};

use crate::cursor;
use crate::engine::{Arg, Engine, Record, SqlBuilder, Stmt};
use crate::store::{SqlStore, Writer, col, id_col, json_col, to_json};

macro_rules! org_cols {
    () => {
        "id, slug, name, profile_schema, password_policy, created_at, updated_at, version"
    };
}

const LIST: &str = "orgs";

fn org_from(row: &impl Record, domains: Vec<String>) -> StoreResult<Organization> {
    let profile_schema = match col(row.opt_text("profile_schema"))? {
        None => None,
        Some(text) => Some(serde_json::from_str(&text).map_err(|e| {
            StoreError::Backend(format!("column profile_schema holds bad JSON: {e}"))
        })?),
    };
    Ok(Organization {
        id: id_col(row, "id")?,
        slug: col(row.text("slug"))?,
        name: col(row.text("name"))?,
        domains,
        profile_schema,
        password_policy: json_col(row, "password_policy")?,
        created_at: col(row.int("created_at"))?,
        updated_at: col(row.int("updated_at"))?,
        version: col(row.int("version"))?,
    })
}

/// Lower-cased, de-duplicated and sorted: the form domains are stored and returned in.
fn normalize_domains(domains: &[String]) -> Vec<String> {
    let mut out: Vec<String> = domains.iter().map(|d| d.trim().to_lowercase()).collect();
    out.sort();
    out.dedup();
    out
}

fn profile_schema_text(org: &Organization) -> StoreResult<Option<String>> {
    org.profile_schema
        .as_ref()
        .map(|schema| to_json(schema, "profile schema"))
        .transpose()
}

fn domains_of(org: OrgId) -> Stmt {
    Stmt::new("SELECT domain FROM org_domains WHERE org_id = $1 ORDER BY domain")
        .text(org.to_string())
}

async fn insert_domains<DB: Engine>(
    w: &mut Writer<DB>,
    org: OrgId,
    domains: &[String],
) -> StoreResult<()> {
    for domain in domains {
        w.execute(
            Stmt::new("INSERT INTO org_domains (domain, org_id) VALUES ($1, $2)")
                .text(domain.as_str())
                .text(org.to_string()),
            "org",
        )
        .await?;
    }
    Ok(())
}

const INSERT_ORG: &str = concat!(
    "INSERT INTO orgs (",
    org_cols!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
);
const ENSURE_ORG: &str = concat!(
    "INSERT INTO orgs (",
    org_cols!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING"
);

fn insert_org(sql: &'static str, org: &Organization) -> StoreResult<Stmt> {
    Ok(Stmt::new(sql)
        .text(org.id.to_string())
        .text(org.slug.as_str())
        .text(org.name.as_str())
        .opt_text(profile_schema_text(org)?)
        .text(to_json(&org.password_policy, "password policy")?)
        .int(org.created_at)
        .int(org.updated_at)
        .int(org.version))
}

impl<DB: Engine> SqlStore<DB> {
    async fn org_domains(&self, org: OrgId) -> StoreResult<Vec<String>> {
        self.read_all(domains_of(org))
            .await?
            .iter()
            .map(|row| col(row.text("domain")))
            .collect()
    }

    async fn org_with_domains(&self, row: Option<DB::Rec>) -> StoreResult<Option<Organization>> {
        match row {
            None => Ok(None),
            Some(row) => {
                let id: OrgId = id_col(&row, "id")?;
                let domains = self.org_domains(id).await?;
                org_from(&row, domains).map(Some)
            }
        }
    }
}

#[async_trait]
impl<DB: Engine> OrgStore for SqlStore<DB> {
    async fn ensure_org(&self, org: &Organization) -> StoreResult<()> {
        let mut w = self.write().await?;
        if w.execute(insert_org(ENSURE_ORG, org)?, "org").await? == 1 {
            insert_domains(&mut w, org.id, &normalize_domains(&org.domains)).await?;
        }
        w.commit().await
    }

    async fn create_org(&self, org: &Organization, audit: &AuditEvent) -> StoreResult<()> {
        let mut w = self.write().await?;
        w.execute(insert_org(INSERT_ORG, org)?, "org").await?;
        insert_domains(&mut w, org.id, &normalize_domains(&org.domains)).await?;
        w.audit(audit).await?;
        w.commit().await
    }

    async fn get_org(&self, id: OrgId) -> StoreResult<Option<Organization>> {
        let row = self
            .read_optional(
                Stmt::new(concat!("SELECT ", org_cols!(), " FROM orgs WHERE id = $1"))
                    .text(id.to_string()),
            )
            .await?;
        self.org_with_domains(row).await
    }

    async fn find_org_by_domain(&self, domain: &str) -> StoreResult<Option<Organization>> {
        let row = self
            .read_optional(
                Stmt::new(concat!(
                    "SELECT ",
                    org_cols!(),
                    " FROM orgs WHERE id = (SELECT org_id FROM org_domains WHERE domain = $1)"
                ))
                .text(domain.trim().to_lowercase()),
            )
            .await?;
        self.org_with_domains(row).await
    }

    async fn list_orgs(&self, after: Option<&str>, limit: u32) -> StoreResult<Page<Organization>> {
        let size = cursor::page_size(limit);
        let mut sql = SqlBuilder::new(concat!("SELECT ", org_cols!(), " FROM orgs"));
        if let Some(after) = after {
            let position = cursor::decode(LIST, false, after)?;
            sql.push(" WHERE id > ").arg(Arg::Text(position.id));
        }
        sql.push(" ORDER BY id LIMIT ")
            .arg(Arg::Int(size as i64 + 1));
        let items = self
            .read_all(sql.build())
            .await?
            .iter()
            .map(|row| org_from(row, Vec::new()))
            .collect::<StoreResult<Vec<_>>>()?;
        let (mut items, next) = cursor::paginate(items, size, |org| {
            cursor::encode(LIST, None, &org.id.to_string())
        });
        if items.is_empty() {
            return Ok(Page { items, next });
        }

        let mut in_list =
            SqlBuilder::new("SELECT org_id, domain FROM org_domains WHERE org_id IN (");
        for (i, org) in items.iter().enumerate() {
            if i > 0 {
                in_list.push(", ");
            }
            in_list.arg(Arg::Text(org.id.to_string()));
        }
        in_list.push(") ORDER BY domain");
        let mut domains: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for row in self.read_all(in_list.build()).await? {
            domains
                .entry(col(row.text("org_id"))?)
                .or_default()
                .push(col(row.text("domain"))?);
        }
        for org in &mut items {
            org.domains = domains.remove(&org.id.to_string()).unwrap_or_default();
        }
        Ok(Page { items, next })
    }

    async fn update_org(
        &self,
        org: &Organization,
        audit: &AuditEvent,
    ) -> StoreResult<Organization> {
        let mut w = self.write().await?;
        let row = w
            .fetch_optional(
                Stmt::new(concat!(
                    "UPDATE orgs SET slug = $2, name = $3, profile_schema = $4, password_policy = $5, \
                     updated_at = $6, version = version + 1 WHERE id = $1 AND version = $7 RETURNING ",
                    org_cols!()
                ))
                .text(org.id.to_string())
                .text(org.slug.as_str())
                .text(org.name.as_str())
                .opt_text(profile_schema_text(org)?)
                .text(to_json(&org.password_policy, "password policy")?)
                .int(org.updated_at)
                .int(org.version),
                "org",
            )
            .await?;
        let Some(row) = row else {
            let exists = w
                .exists(Stmt::new("SELECT 1 FROM orgs WHERE id = $1").text(org.id.to_string()))
                .await?;
            return Err(if exists {
                StoreError::VersionConflict
            } else {
                StoreError::Missing("org")
            });
        };
        let domains = normalize_domains(&org.domains);
        w.execute(
            Stmt::new("DELETE FROM org_domains WHERE org_id = $1").text(org.id.to_string()),
            "org",
        )
        .await?;
        insert_domains(&mut w, org.id, &domains).await?;
        w.audit(audit).await?;
        let stored = org_from(&row, domains)?;
        w.commit().await?;
        Ok(stored)
    }

    async fn delete_org(&self, id: OrgId, audit: &AuditEvent) -> StoreResult<bool> {
        let mut w = self.write().await?;
        if w.execute(
            Stmt::new("DELETE FROM orgs WHERE id = $1").text(id.to_string()),
            "org",
        )
        .await?
            == 0
        {
            return Ok(false);
        }
        w.audit(audit).await?;
        w.commit().await?;
        Ok(true)
    }
}
