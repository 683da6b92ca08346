//! SCIM 2.0 provisioning (RFC 7643, RFC 7644): the decide step behind
//! `/scim/v2`.
//!
//! Wire formats come from `gatehouse_scim`; this module maps SCIM resources
//! onto our users and groups (`user_doc`, `group_doc`), resolves filters
//! against the schema into the store's engine-neutral condition (`filter`),
//! and runs create / read / replace / patch / delete / list (`users`,
//! `groups`) and bulk requests (`bulk`). PATCH is the in-memory applier on
//! the rendered resource followed by a replace, so it is all-or-nothing and
//! follows the same rules as PUT. Every change writes an audit event whose
//! actor is the SCIM client, in the transaction of the change.
//!
//! A client sees one org only ([`ScimPrincipal::org`]): anything else is 404.

mod bulk;
mod filter;
mod group_doc;
mod groups;
mod user_doc;
mod users;

use gatehouse_scim::bulk::BulkLimits;
use gatehouse_scim::list::{ListLimits, ListQuery};
use gatehouse_scim::patch::{self, PatchOp, PatchOperation};
use gatehouse_scim::schema::{
    self, CustomAttribute, CustomType, ENTERPRISE_USER_SCHEMA, GATEHOUSE_USER_SCHEMA,
    ServiceProviderConfig,
};
use gatehouse_scim::{ScimError, ScimType};
use serde_json::Value;

use crate::error::Error;
use crate::model::Organization;
use crate::services::Deps;
use crate::services::principal::ScimPrincipal;
use crate::services::users::Users;

/// Limits a SCIM client is told about (`/ServiceProviderConfig`) and held to.
#[derive(Debug, Clone, Default)]
pub struct ScimSettings {
    pub list: ListLimits,
    pub bulk: BulkLimits,
}

/// Why a SCIM call failed.
#[derive(Debug)]
pub enum ScimFailure {
    /// The protocol's answer (status, `scimType`, detail), rendered as is.
    Protocol(ScimError),
    /// Storage or an internal fault (500) or overload (503); the cause is for the log only.
    Core(Error),
}

impl From<ScimError> for ScimFailure {
    fn from(e: ScimError) -> Self {
        ScimFailure::Protocol(e)
    }
}

impl From<Error> for ScimFailure {
    /// Core errors as SCIM answers (RFC 7644 §3.12).
    fn from(e: Error) -> Self {
        match e {
            Error::NotFound(what) => {
                ScimFailure::Protocol(ScimError::with_status(404, format!("{what} not found")))
            }
            Error::Conflict(message) => {
                ScimFailure::Protocol(ScimError::new(ScimType::Uniqueness, message))
            }
            Error::PreconditionFailed => ScimFailure::Protocol(ScimError::with_status(
                412,
                "the resource changed since the version in If-Match",
            )),
            Error::Invalid(fields) => {
                let detail = fields
                    .iter()
                    .map(|f| format!("{}: {}", f.field, f.message))
                    .collect::<Vec<_>>()
                    .join("; ");
                ScimFailure::Protocol(ScimError::invalid_value(detail))
            }
            Error::Forbidden => ScimFailure::Protocol(ScimError::with_status(403, "not permitted")),
            Error::AuthFailed => {
                ScimFailure::Protocol(ScimError::with_status(401, "authentication failed"))
            }
            other @ (Error::Unavailable | Error::Store(_) | Error::Internal(_)) => {
                ScimFailure::Core(other)
            }
        }
    }
}

impl From<crate::error::StoreError> for ScimFailure {
    fn from(e: crate::error::StoreError) -> Self {
        Error::from(e).into()
    }
}

pub type ScimResult<T> = Result<T, ScimFailure>;

/// One resource as answered: the document, its ETag and location.
#[derive(Debug, Clone)]
pub struct ScimAnswer {
    pub resource: Value,
    /// `W/"<version>"`.
    pub etag: String,
    pub location: String,
}

/// One page of a list: resources not yet projected (`attributes`).
#[derive(Debug, Clone)]
pub struct ScimList {
    pub total: u64,
    pub start_index: u64,
    pub resources: Vec<Value>,
}

/// The SCIM service.
#[derive(Debug, Clone)]
pub struct Scim {
    deps: Deps,
    users: Users,
    /// `<public url>/scim/v2`.
    base: String,
    settings: ScimSettings,
}

impl Scim {
    pub(crate) fn new(deps: Deps, public_url: &str, settings: ScimSettings) -> Self {
        Self {
            users: Users::new(deps.clone()),
            deps,
            base: format!("{}/scim/v2", public_url.trim_end_matches('/')),
            settings,
        }
    }

    pub fn settings(&self) -> &ScimSettings {
        &self.settings
    }

    /// The base URL of the SCIM endpoints.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// `/ServiceProviderConfig` (RFC 7643 §5).
    pub fn service_provider_config(&self) -> Value {
        ServiceProviderConfig {
            bulk_max_operations: self.settings.bulk.max_operations,
            bulk_max_payload_size: self.settings.bulk.max_payload_size,
            filter_max_results: self.settings.list.max_count,
            ..ServiceProviderConfig::default()
        }
        .to_json(&self.base)
    }

    /// `/ResourceTypes` (RFC 7643 §6).
    pub async fn resource_types(&self, who: &ScimPrincipal) -> ScimResult<Vec<Value>> {
        let custom = self.custom_attributes(&self.org(who).await?);
        Ok(schema::resource_types(!custom.is_empty(), &self.base))
    }

    /// `/Schemas` (RFC 7643 §7), with the org's custom attributes as an extension.
    pub async fn schemas(&self, who: &ScimPrincipal) -> ScimResult<Vec<Value>> {
        let custom = self.custom_attributes(&self.org(who).await?);
        Ok(schema::schemas(&custom, &self.base))
    }

    async fn org(&self, who: &ScimPrincipal) -> ScimResult<Organization> {
        self.deps
            .store
            .get_org(who.org())
            .await?
            .ok_or_else(|| ScimError::with_status(404, "org not found").into())
    }

    /// The org's profile schema (JSON Schema `properties`) as SCIM attributes.
    fn custom_attributes(&self, org: &Organization) -> Vec<CustomAttribute> {
        let Some(schema) = &org.profile_schema else {
            return Vec::new();
        };
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
            return Vec::new();
        };
        properties
            .iter()
            .map(|(name, def)| {
                let (ty, multi_valued) = match def.get("type").and_then(Value::as_str) {
                    Some("array") => (
                        def.get("items")
                            .and_then(|i| i.get("type"))
                            .and_then(Value::as_str),
                        true,
                    ),
                    other => (other, false),
                };
                let ty = match (ty, def.get("format").and_then(Value::as_str)) {
                    (Some("boolean"), _) => CustomType::Boolean,
                    (Some("integer"), _) => CustomType::Integer,
                    (Some("number"), _) => CustomType::Decimal,
                    (Some("string"), Some("date-time")) => CustomType::DateTime,
                    _ => CustomType::String,
                };
                CustomAttribute {
                    name: name.clone(),
                    ty,
                    multi_valued,
                    required: required.contains(&name.as_str()),
                }
            })
            .collect()
    }

    fn custom_names(&self, org: &Organization) -> Vec<String> {
        self.custom_attributes(org)
            .into_iter()
            .map(|a| a.name)
            .collect()
    }

    /// The page size a list query asks for, within the advertised maximum.
    fn page_count(&self, query: &ListQuery) -> u32 {
        u32::try_from(query.count.min(self.settings.list.max_count)).unwrap_or(u32::MAX)
    }
}

/// Applies PATCH operations to a rendered resource (RFC 7644 §3.5.2), all
/// or nothing (the caller owns `doc`). A path that names a whole extension
/// schema (`urn:…:enterprise:2.0:User`) adds, replaces or removes that
/// extension object, which the attribute-path applier does not address.
pub(crate) fn apply_patch(doc: &mut Value, operations: &[PatchOperation]) -> Result<(), ScimError> {
    for operation in operations {
        let extension = operation.path.as_ref().and_then(|p| {
            let whole = p.filter.is_none() && p.sub_attr.is_none() && p.attr.sub_attr.is_none();
            let uri = format!("{}:{}", p.attr.schema.as_deref()?, p.attr.name);
            [ENTERPRISE_USER_SCHEMA, GATEHOUSE_USER_SCHEMA]
                .into_iter()
                .find(|known| whole && known.eq_ignore_ascii_case(&uri))
        });
        match (extension, operation.op) {
            (Some(uri), PatchOp::Remove) => {
                if let Some(map) = doc.as_object_mut() {
                    map.retain(|k, _| !k.eq_ignore_ascii_case(uri));
                }
            }
            (Some(uri), op @ (PatchOp::Add | PatchOp::Replace)) => {
                let mut value = operation.value.clone().unwrap_or(Value::Null);
                // Some clients send the extension object with its own `schemas`.
                if let Some(map) = value.as_object_mut() {
                    map.retain(|k, _| !k.eq_ignore_ascii_case("schemas"));
                }
                let mut wrapped = serde_json::Map::new();
                wrapped.insert(uri.to_owned(), value);
                patch::apply(
                    doc,
                    &[PatchOperation {
                        op,
                        path: None,
                        value: Some(Value::Object(wrapped)),
                    }],
                )?;
            }
            (None, _) => patch::apply(doc, std::slice::from_ref(operation))?,
        }
    }
    Ok(())
}

/// Whether an `If-Match` header value (RFC 9110 §13.1.1) admits `etag`.
pub(crate) fn if_match_admits(header: Option<&str>, etag: &str) -> bool {
    let Some(header) = header else {
        return true;
    };
    let strong = etag.trim_start_matches("W/");
    header.split(',').map(str::trim).any(|tag| {
        tag == "*" || tag == etag || tag == strong || tag.trim_start_matches("W/") == strong
    })
}
