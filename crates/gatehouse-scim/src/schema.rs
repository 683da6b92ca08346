//! SCIM schemas and the discovery documents (RFC 7644 §4, RFC 7643 §5–§8).
//!
//! Owns the attribute model of RFC 7643 §2.2 and §7 ([`AttributeDef`]), the
//! definitions of the core User and Group schemas and the Enterprise User
//! extension (§4, §8.7.1; in `schema/attributes.rs`), lookups used by
//! filter evaluation, PATCH and projection (case-exactness, mutability,
//! `returned`), and the JSON of `/ServiceProviderConfig` (§5),
//! `/ResourceTypes` (§6) and `/Schemas` (§7), including the extension schema
//! of an organisation's custom attributes.

mod attributes;

use serde_json::{Map, Value, json};

use crate::filter::AttrPath;

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// The extension schema that carries an organisation's custom attributes.
pub const GATEHOUSE_USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:gatehouse:2.0:User";
pub const SERVICE_PROVIDER_CONFIG_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
pub const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// RFC 7643 §2.3 data types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

impl AttrType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Boolean => "boolean",
            Self::Decimal => "decimal",
            Self::Integer => "integer",
            Self::DateTime => "dateTime",
            Self::Binary => "binary",
            Self::Reference => "reference",
            Self::Complex => "complex",
        }
    }
}

/// RFC 7643 §7 `mutability`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

impl Mutability {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReadOnly => "readOnly",
            Self::ReadWrite => "readWrite",
            Self::Immutable => "immutable",
            Self::WriteOnly => "writeOnly",
        }
    }
}

/// RFC 7643 §7 `returned`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

impl Returned {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Always => "always",
            Self::Never => "never",
            Self::Default => "default",
            Self::Request => "request",
        }
    }
}

/// RFC 7643 §7 `uniqueness`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Uniqueness {
    None,
    Server,
    Global,
}

impl Uniqueness {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Server => "server",
            Self::Global => "global",
        }
    }
}

/// One attribute definition (RFC 7643 §7). Built with [`attr`] and the
/// `const` modifiers, so the tables are `const` data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttributeDef {
    pub name: &'static str,
    pub ty: AttrType,
    pub multi_valued: bool,
    pub description: &'static str,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub uniqueness: Uniqueness,
    pub canonical_values: &'static [&'static str],
    pub reference_types: &'static [&'static str],
    pub sub_attributes: &'static [AttributeDef],
}

/// An attribute with the RFC 7643 §2.2 defaults: single-valued, optional,
/// not case-exact, readWrite, returned by default, no uniqueness.
pub const fn attr(name: &'static str, ty: AttrType, description: &'static str) -> AttributeDef {
    AttributeDef {
        name,
        ty,
        multi_valued: false,
        description,
        required: false,
        case_exact: false,
        mutability: Mutability::ReadWrite,
        returned: Returned::Default,
        uniqueness: Uniqueness::None,
        canonical_values: &[],
        reference_types: &[],
        sub_attributes: &[],
    }
}

impl AttributeDef {
    pub const fn multi_valued(mut self) -> Self {
        self.multi_valued = true;
        self
    }
    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }
    pub const fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }
    pub const fn mutability(mut self, mutability: Mutability) -> Self {
        self.mutability = mutability;
        self
    }
    pub const fn returned(mut self, returned: Returned) -> Self {
        self.returned = returned;
        self
    }
    pub const fn uniqueness(mut self, uniqueness: Uniqueness) -> Self {
        self.uniqueness = uniqueness;
        self
    }
    pub const fn canonical(mut self, values: &'static [&'static str]) -> Self {
        self.canonical_values = values;
        self
    }
    pub const fn reference_types(mut self, types: &'static [&'static str]) -> Self {
        self.reference_types = types;
        self
    }
    pub const fn sub_attributes(mut self, subs: &'static [AttributeDef]) -> Self {
        self.sub_attributes = subs;
        self
    }

    /// The sub-attribute named `name`, ignoring case.
    pub fn sub(&self, name: &str) -> Option<&'static AttributeDef> {
        find(self.sub_attributes, name)
    }

    /// The RFC 7643 §7 representation of the attribute.
    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        map.insert("name".into(), self.name.into());
        map.insert("type".into(), self.ty.as_str().into());
        map.insert("multiValued".into(), self.multi_valued.into());
        map.insert("description".into(), self.description.into());
        map.insert("required".into(), self.required.into());
        if !self.canonical_values.is_empty() {
            map.insert("canonicalValues".into(), self.canonical_values.into());
        }
        if self.ty != AttrType::Complex {
            map.insert("caseExact".into(), self.case_exact.into());
        }
        map.insert("mutability".into(), self.mutability.as_str().into());
        map.insert("returned".into(), self.returned.as_str().into());
        if self.ty != AttrType::Complex {
            map.insert("uniqueness".into(), self.uniqueness.as_str().into());
        }
        if self.ty == AttrType::Reference {
            map.insert("referenceTypes".into(), self.reference_types.into());
        }
        if self.ty == AttrType::Complex {
            map.insert(
                "subAttributes".into(),
                self.sub_attributes
                    .iter()
                    .map(AttributeDef::to_json)
                    .collect(),
            );
        }
        Value::Object(map)
    }
}

/// The attribute named `name` among `defs`, ignoring case (RFC 7643 §2.1).
pub fn find(defs: &'static [AttributeDef], name: &str) -> Option<&'static AttributeDef> {
    defs.iter().find(|d| d.name.eq_ignore_ascii_case(name))
}

/// A schema (RFC 7643 §7) with static attributes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SchemaDef {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub attributes: &'static [AttributeDef],
}

pub const USER: SchemaDef = SchemaDef {
    id: USER_SCHEMA,
    name: "User",
    description: "User Account",
    attributes: &attributes::USER,
};

pub const GROUP: SchemaDef = SchemaDef {
    id: GROUP_SCHEMA,
    name: "Group",
    description: "Group",
    attributes: &attributes::GROUP,
};

pub const ENTERPRISE_USER: SchemaDef = SchemaDef {
    id: ENTERPRISE_USER_SCHEMA,
    name: "EnterpriseUser",
    description: "Enterprise User",
    attributes: &attributes::ENTERPRISE_USER,
};

/// `id`, `externalId` and `meta` (RFC 7643 §3.1).
pub const COMMON_ATTRIBUTES: &[AttributeDef] = &attributes::COMMON;

impl SchemaDef {
    /// The RFC 7643 §7 representation, with `meta.location` under `base_url`
    /// (e.g. `https://id.example.com/scim/v2`).
    pub fn to_json(&self, base_url: &str) -> Value {
        schema_json(
            self.id,
            self.name,
            self.description,
            self.attributes.iter().map(AttributeDef::to_json).collect(),
            base_url,
        )
    }
}

fn schema_json(
    id: &str,
    name: &str,
    description: &str,
    attributes: Vec<Value>,
    base_url: &str,
) -> Value {
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": id,
        "name": name,
        "description": description,
        "attributes": attributes,
        "meta": {
            "resourceType": "Schema",
            "location": format!("{}/Schemas/{id}", base_url.trim_end_matches('/')),
        },
    })
}

/// The two resource types this server serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    User,
    Group,
}

impl ResourceKind {
    /// Group when `schemas` names the core Group schema, User otherwise.
    pub fn of(resource: &Value) -> Self {
        let is_group = resource
            .get("schemas")
            .and_then(Value::as_array)
            .is_some_and(|s| {
                s.iter()
                    .filter_map(Value::as_str)
                    .any(|s| s.eq_ignore_ascii_case(GROUP_SCHEMA))
            });
        if is_group { Self::Group } else { Self::User }
    }

    pub fn core(self) -> &'static SchemaDef {
        match self {
            Self::User => &USER,
            Self::Group => &GROUP,
        }
    }

    /// Extension schemas with a static definition.
    pub fn extensions(self) -> &'static [SchemaDef] {
        match self {
            Self::User => std::slice::from_ref(&ENTERPRISE_USER),
            Self::Group => &[],
        }
    }

    /// The endpoint name (`Users`, `Groups`).
    pub fn endpoint(self) -> &'static str {
        match self {
            Self::User => "Users",
            Self::Group => "Groups",
        }
    }
}

/// Where an attribute path points in a resource of `kind`: the top level
/// (core schema or no URI) or an extension object keyed by its schema URI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Container<'a> {
    Core,
    Extension(&'a str),
}

/// What is known of the attribute a path names: where it lives and its
/// definition (`None` for an attribute outside the static schemas, such as
/// a custom one, which is then treated as a case-insensitive readWrite string).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resolved<'a> {
    pub container: Container<'a>,
    pub attribute: Option<&'static AttributeDef>,
    pub sub_attribute: Option<&'static AttributeDef>,
}

/// Resolves `path` against the schemas of `kind`.
pub fn resolve<'a>(kind: ResourceKind, path: &'a AttrPath) -> Resolved<'a> {
    let core = kind.core();
    let (container, defs): (Container<'a>, &'static [AttributeDef]) = match &path.schema {
        None => (Container::Core, core.attributes),
        Some(uri) if uri.eq_ignore_ascii_case(core.id) => (Container::Core, core.attributes),
        Some(uri) => (
            Container::Extension(uri),
            kind.extensions()
                .iter()
                .find(|e| e.id.eq_ignore_ascii_case(uri))
                .map_or(&[][..], |e| e.attributes),
        ),
    };
    let attribute = find(defs, &path.name).or_else(|| match container {
        Container::Core => find(COMMON_ATTRIBUTES, &path.name),
        Container::Extension(_) => None,
    });
    let sub_attribute = match (&path.sub_attr, attribute) {
        (Some(sub), Some(def)) => def.sub(sub),
        _ => None,
    };
    Resolved {
        container,
        attribute,
        sub_attribute,
    }
}

/// The type of a custom attribute of an organisation's profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CustomType {
    String,
    Boolean,
    Integer,
    Decimal,
    DateTime,
}

/// One custom attribute: its name (an `ATTRNAME`) and type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomAttribute {
    pub name: String,
    pub ty: CustomType,
    pub multi_valued: bool,
    pub required: bool,
}

/// The extension schema `urn:ietf:params:scim:schemas:extension:gatehouse:2.0:User`
/// listing an organisation's custom attributes (RFC 7643 §7 representation).
/// Names that are not valid `ATTRNAME`s (RFC 7643 §2.1) are left out.
pub fn custom_extension_schema(attributes: &[CustomAttribute], base_url: &str) -> Value {
    let defs = attributes
        .iter()
        .filter(|a| {
            AttrPath::parse(&a.name).is_ok_and(|p| p.schema.is_none() && p.sub_attr.is_none())
        })
        .map(|a| {
            let ty = match a.ty {
                CustomType::String => AttrType::String,
                CustomType::Boolean => AttrType::Boolean,
                CustomType::Integer => AttrType::Integer,
                CustomType::Decimal => AttrType::Decimal,
                CustomType::DateTime => AttrType::DateTime,
            };
            let mut json = attr("", ty, "").to_json();
            if let Some(map) = json.as_object_mut() {
                map.insert("name".into(), a.name.clone().into());
                map.insert("multiValued".into(), a.multi_valued.into());
                map.insert("required".into(), a.required.into());
                map.insert(
                    "description".into(),
                    "A custom attribute of the organisation's user profile.".into(),
                );
            }
            json
        })
        .collect();
    schema_json(
        GATEHOUSE_USER_SCHEMA,
        "GatehouseUser",
        "Custom attributes of the organisation's user profile",
        defs,
        base_url,
    )
}

/// The `/Schemas` list response: core User, Group, Enterprise User and,
/// when the organisation has custom attributes, their extension schema.
pub fn schemas(custom: &[CustomAttribute], base_url: &str) -> Vec<Value> {
    let mut all = vec![
        USER.to_json(base_url),
        GROUP.to_json(base_url),
        ENTERPRISE_USER.to_json(base_url),
    ];
    if !custom.is_empty() {
        all.push(custom_extension_schema(custom, base_url));
    }
    all
}

/// What the service provider supports (RFC 7643 §5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceProviderConfig {
    pub documentation_uri: Option<String>,
    /// Whether `password` may be set through PUT and PATCH (RFC 7643 §5
    /// `changePassword`).
    pub change_password: bool,
    pub bulk_max_operations: usize,
    pub bulk_max_payload_size: usize,
    pub filter_max_results: usize,
}

impl Default for ServiceProviderConfig {
    fn default() -> Self {
        Self {
            documentation_uri: None,
            change_password: true,
            bulk_max_operations: 1000,
            bulk_max_payload_size: 1_048_576,
            filter_max_results: 200,
        }
    }
}

impl ServiceProviderConfig {
    /// The `/ServiceProviderConfig` document (RFC 7643 §5): PATCH, bulk,
    /// filter, sort and ETags supported, password change as configured,
    /// OAuth bearer tokens (RFC 6750) as the authentication scheme.
    pub fn to_json(&self, base_url: &str) -> Value {
        let mut doc = json!({
            "schemas": [SERVICE_PROVIDER_CONFIG_SCHEMA],
            "patch": { "supported": true },
            "bulk": {
                "supported": true,
                "maxOperations": self.bulk_max_operations,
                "maxPayloadSize": self.bulk_max_payload_size,
            },
            "filter": { "supported": true, "maxResults": self.filter_max_results },
            "changePassword": { "supported": self.change_password },
            "sort": { "supported": true },
            "etag": { "supported": true },
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "Authentication with a bearer token issued by the Gatehouse admin API",
                "specUri": "https://www.rfc-editor.org/rfc/rfc6750",
                "primary": true,
            }],
            "meta": {
                "resourceType": "ServiceProviderConfig",
                "location": format!("{}/ServiceProviderConfig", base_url.trim_end_matches('/')),
            },
        });
        if let (Some(uri), Some(map)) = (&self.documentation_uri, doc.as_object_mut()) {
            map.insert("documentationUri".into(), uri.clone().into());
        }
        doc
    }
}

/// The `/ResourceTypes` list (RFC 7643 §6): User (with the Enterprise User
/// extension and, when `custom_extension`, the custom-attribute extension)
/// and Group.
pub fn resource_types(custom_extension: bool, base_url: &str) -> Vec<Value> {
    let base = base_url.trim_end_matches('/');
    let mut extensions = vec![json!({ "schema": ENTERPRISE_USER_SCHEMA, "required": false })];
    if custom_extension {
        extensions.push(json!({ "schema": GATEHOUSE_USER_SCHEMA, "required": false }));
    }
    vec![
        json!({
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "User Account",
            "schema": USER_SCHEMA,
            "schemaExtensions": extensions,
            "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User") },
        }),
        json!({
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "Group",
            "schema": GROUP_SCHEMA,
            "schemaExtensions": [],
            "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group") },
        }),
    ]
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
