//! Gatehouse's SCIM 2.0 wire layer (RFC 7643, RFC 7644).
//!
//! The parse and render half of the SCIM provisioning server: it turns
//! request bodies and query strings into typed requests or the SCIM error,
//! applies PATCH operations to a resource held as JSON, and renders list,
//! bulk, error and discovery documents. It does no I/O, reads no clock and
//! knows no HTTP types: statuses are `u16`. The HTTP surface and the SQL
//! translation of filters live elsewhere and use this crate.
//!
//! | module | owns |
//! | --- | --- |
//! | [`error`] | `scimType` keywords, statuses, the error body (RFC 7644 §3.12) |
//! | [`filter`] | the filter grammar, AST, canonical form, evaluation on JSON (§3.4.2.2) |
//! | [`path`] | PATCH paths (§3.5.2) |
//! | [`patch`] | the PatchOp message and applying it to a resource (§3.5.2) |
//! | [`list`] | query parameters, `/.search`, ListResponse, attribute projection (§3.4.2, §3.4.3, §3.9) |
//! | [`bulk`] | BulkRequest, `bulkId` references, limits, BulkResponse (§3.7) |
//! | [`schema`] | attribute definitions and the discovery documents (RFC 7643 §4–§8, RFC 7644 §4) |
//!
//! Every function that implements a MUST of a specification cites it.

pub mod bulk;
pub mod error;
pub mod filter;
pub mod list;
pub mod patch;
pub mod path;
pub mod schema;

pub use error::{ScimError, ScimType};
pub use filter::{AttrPath, CompValue, CompareOp, Filter, FilterError};
