//! The admin API under `/api/v1`: one module per resource, each with its
//! routes, handlers and wire types (DTOs).
//!
//! Shared conventions, implemented here once:
//! - a resource with a version answers with a strong `ETag: "<version>"`, and
//!   updates take an optional `If-Match` ([`crate::extract::IfMatch`]);
//! - a create answers 201 with an absolute `Location`;
//! - lists take `limit` (default 50, at most 1000) and an opaque `cursor`, and
//!   answer `{"items": [...], "next_cursor": ...}` with a `Link: <...>; rel="next"`
//!   header when there is a next page (RFC 8288);
//! - timestamps are RFC 3339 UTC strings with milliseconds.

pub mod api_tokens;
pub mod clients;
pub mod factors;
pub mod group_rules;
pub mod groups;
pub mod lockout;
pub mod orgs;
pub mod saml;
pub mod sessions;
pub mod signon_policies;
pub mod user_document;
pub mod users;

use axum::Json;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_core::Error;

use crate::AppState;
use crate::problem::ApiError;

/// The admin API's routes, relative to the server root.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(users::routes())
        .merge(orgs::routes())
        .merge(groups::routes())
        .merge(api_tokens::routes())
        .merge(sessions::routes())
        .merge(clients::routes())
        .merge(lockout::routes())
        .merge(saml::routes())
        // -- multifactor authentication
        .merge(factors::routes())
        .merge(signon_policies::routes())
        // -- group rules
        .merge(group_rules::routes())
}

/// Page size when `limit` is not given.
pub const DEFAULT_LIMIT: u32 = 50;
/// Largest `limit` accepted.
pub const MAX_LIMIT: u32 = 1000;

/// Validates the `limit` query parameter.
pub(crate) fn page_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(n @ 1..=MAX_LIMIT) => Ok(n),
        Some(_) => Err(ApiError::Malformed(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        ))),
    }
}

/// A list call's error: a cursor the store cannot decode (or that belongs to
/// another list, sort or order) is the caller's malformed parameter, a 400.
pub(crate) fn list_error(e: Error) -> ApiError {
    match e {
        Error::NotFound("cursor") => ApiError::Malformed(
            "cursor is invalid, or was issued for a different sort or order".into(),
        ),
        other => other.into(),
    }
}

/// The absolute URL of `path` under the configured public URL.
pub(crate) fn absolute(state: &AppState, path: &str) -> String {
    format!("{}{}", state.config.public_url.trim_end_matches('/'), path)
}

/// The strong entity tag of a resource version.
pub(crate) fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("\"0\""))
}

/// A JSON resource with its version as `ETag` and, when created, its `Location`.
#[derive(Debug)]
pub struct Versioned<T> {
    status: StatusCode,
    version: i64,
    location: Option<String>,
    body: T,
}

impl<T> Versioned<T> {
    pub fn ok(version: i64, body: T) -> Self {
        Self {
            status: StatusCode::OK,
            version,
            location: None,
            body,
        }
    }

    pub fn created(location: String, version: i64, body: T) -> Self {
        Self {
            status: StatusCode::CREATED,
            version,
            location: Some(location),
            body,
        }
    }
}

impl<T: serde::Serialize> IntoResponse for Versioned<T> {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            [(header::ETAG, etag(self.version))],
            Json(self.body),
        )
            .into_response();
        if let Some(location) = self.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        response
    }
}

/// One page of a list, with a `Link: rel="next"` header when there is more.
#[derive(Debug)]
pub struct Listed<T> {
    body: T,
    next: Option<String>,
}

impl<T> Listed<T> {
    /// `next` is the absolute URL of the next page, if any.
    pub fn new(body: T, next: Option<String>) -> Self {
        Self { body, next }
    }
}

impl<T: serde::Serialize> IntoResponse for Listed<T> {
    fn into_response(self) -> Response {
        let mut response = Json(self.body).into_response();
        if let Some(link) = self
            .next
            .and_then(|url| HeaderValue::from_str(&format!("<{url}>; rel=\"next\"")).ok())
        {
            response.headers_mut().insert(header::LINK, link);
        }
        response
    }
}

/// The URL of the next page: the same path and filters, with `cursor` set.
pub(crate) fn next_page_url(
    state: &AppState,
    path: &str,
    params: &[(&str, Option<String>)],
    cursor: Option<&str>,
) -> Option<String> {
    let cursor = cursor?;
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        if let Some(value) = value {
            query.append_pair(name, value);
        }
    }
    query.append_pair("cursor", cursor);
    Some(format!("{}?{}", absolute(state, path), query.finish()))
}
