//! Extractors: who is calling ([`Admin`]), the request's audit context
//! ([`Ctx`]), JSON bodies ([`JsonBody`]), `If-Match` ([`IfMatch`]), path
//! parameters ([`PathParams`]) and query strings ([`ApiQuery`]).
//!
//! Each one fails with an [`ApiError`], so every malformed request is answered
//! with problem details, never with axum's plain-text rejections.

use std::net::SocketAddr;
use std::str::FromStr;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use gatehouse_core::services::{AdminPrincipal, RequestContext};
use gatehouse_core::{Error, FieldError};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::AppState;
use crate::client_ip::client_ip;
use crate::problem::ApiError;
use crate::request_id::RequestId;

/// Longest bearer token looked up; anything longer is refused without a store round trip.
const MAX_TOKEN_LEN: usize = 512;
/// Longest user agent kept for audit events.
const MAX_USER_AGENT_LEN: usize = 512;

/// An authenticated administrator, from `Authorization: Bearer <token>` (RFC 6750 §2.1).
#[derive(Debug, Clone)]
pub struct Admin(pub AdminPrincipal);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(&parts.headers)?;
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Err(ApiError::InvalidToken);
        }
        match state.services.admin_auth.authenticate(token).await {
            Ok(principal) => Ok(Admin(principal)),
            Err(Error::AuthFailed) => Err(ApiError::InvalidToken),
            Err(other) => Err(other.into()),
        }
    }
}

/// The token of a `Bearer` authorization header; the scheme is case-insensitive
/// (RFC 9110 §11.1). Other schemes count as no credentials.
fn bearer_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or(ApiError::MissingToken)?;
    let value = value.to_str().map_err(|_| ApiError::InvalidToken)?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::MissingToken);
    }
    Ok(token.trim())
}

/// The audit context of a request: client IP, user agent, request id.
#[derive(Debug, Clone)]
pub struct Ctx(pub RequestContext);

impl FromRequestParts<AppState> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| {
                client_ip(peer.ip(), &parts.headers, &state.config.trusted_proxies).to_string()
            });
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| truncate(ua, MAX_USER_AGENT_LEN).to_owned());
        let request_id = parts.extensions.get::<RequestId>().map(|id| id.0.clone());
        Ok(Ctx(RequestContext {
            ip,
            user_agent,
            request_id,
        }))
    }
}

fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// A JSON request body (`application/json` or any `application/*+json`, such as
/// `application/merge-patch+json`).
///
/// Answers: wrong or missing content type 415; body over the limit 413;
/// broken JSON syntax 400; a well-formed document of the wrong shape (unknown
/// field, missing field, wrong type) 422 with the offending field named.
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

impl<T, S> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(request.headers()) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes =
            Bytes::from_request(request, state)
                .await
                .map_err(|rejection| match rejection {
                    BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_)) => {
                        ApiError::PayloadTooLarge
                    }
                    _ => ApiError::Malformed("the request body could not be read".into()),
                })?;
        decode(&bytes).map(JsonBody)
    }
}

/// `application/json`, or `application/<anything>+json`, with any parameters.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.strip_prefix("application/") {
        Some(subtype) => {
            subtype == "json" || (subtype.ends_with("+json") && subtype.len() > "+json".len())
        }
        None => false,
    }
}

/// Parses a JSON document (syntax errors are 400) and then decodes it into `T`
/// (shape errors are 422 with the field's path). Every request body of the API
/// is a JSON object; anything else is refused before serde, which would
/// otherwise read a struct from an array of its fields in order.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| ApiError::Malformed(syntax_message(&e)))?;
    if !value.is_object() {
        return Err(Error::invalid("", "invalid_type", "the body must be a JSON object").into());
    }
    decode_value(value).map_err(ApiError::from)
}

/// Decodes a JSON value into `T`, reporting a mismatch as a field error.
pub fn decode_value<T: DeserializeOwned>(value: Value) -> Result<T, Error> {
    serde_path_to_error::deserialize(value).map_err(|e| Error::Invalid(vec![field_error(&e)]))
}

fn syntax_message(e: &serde_json::Error) -> String {
    match e.classify() {
        serde_json::error::Category::Eof if e.line() == 1 && e.column() == 0 => {
            "the request body is empty".into()
        }
        serde_json::error::Category::Eof => "the JSON document ends unexpectedly".into(),
        _ => format!(
            "the request body is not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        ),
    }
}

/// A serde data error as a field error. Messages never echo the offending value
/// (it may be a misplaced secret); they name the field and what was expected.
fn field_error(e: &serde_path_to_error::Error<serde_json::Error>) -> FieldError {
    let path: Vec<String> = e
        .path()
        .iter()
        .map(|segment| match segment {
            serde_path_to_error::Segment::Seq { index } => index.to_string(),
            serde_path_to_error::Segment::Map { key } => key.clone(),
            serde_path_to_error::Segment::Enum { variant } => variant.clone(),
            serde_path_to_error::Segment::Unknown => "?".into(),
        })
        .collect();
    let at = |name: Option<&str>| {
        let mut parts = path.clone();
        if let Some(name) = name.filter(|n| parts.last().map(String::as_str) != Some(*n)) {
            parts.push(name.to_owned());
        }
        parts.join("/")
    };
    let message = e.inner().to_string();
    let expected = message
        .rfind(", expected ")
        .map(|i| &message[i + ", expected ".len()..]);
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let name = backticked(rest);
        let message = match expected {
            Some(expected) => format!("unknown field; expected {expected}"),
            None => "unknown field; this object takes no fields".to_owned(),
        };
        return FieldError::new(at(name), "unknown_field", message);
    }
    if let Some(rest) = message.strip_prefix("missing field ") {
        return FieldError::new(at(backticked(rest)), "required", "is required");
    }
    let (code, default) = if message.starts_with("invalid type") {
        ("invalid_type", "has the wrong type")
    } else if message.starts_with("invalid length") {
        ("invalid_length", "has the wrong length")
    } else {
        ("invalid_value", "has an invalid value")
    };
    let message = match expected {
        Some("a map") => "must be an object".to_owned(),
        Some("a sequence") => "must be an array".to_owned(),
        Some(expected) => format!("must be {expected}"),
        None => default.to_owned(),
    };
    FieldError::new(at(None), code, message)
}

/// The text between the first pair of backticks.
fn backticked(text: &str) -> Option<&str> {
    let start = text.find('`')? + 1;
    let len = text[start..].find('`')?;
    Some(&text[start..start + len])
}

/// The `If-Match` precondition (RFC 9110 §13.1.1) as the version it names.
///
/// ETags are strong, `"<version>"`. Absent or `*`: no precondition. A weak or
/// foreign tag can never match under the strong comparison `If-Match` uses, so
/// it yields a version no resource has and the update fails with 412.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IfMatch(pub Option<i64>);

/// A version no stored resource has (versions start at 1).
const NEVER_MATCHES: i64 = i64::MIN;

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parse_if_match(&parts.headers).map(IfMatch)
    }
}

fn parse_if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let mut tags = Vec::new();
    for value in headers.get_all(header::IF_MATCH) {
        let value = value.to_str().map_err(|_| malformed_if_match())?;
        tags.extend(value.split(',').map(str::trim).filter(|t| !t.is_empty()));
    }
    match tags.as_slice() {
        [] | ["*"] => Ok(None),
        [tag] => {
            if tag.starts_with("W/\"") {
                return Ok(Some(NEVER_MATCHES));
            }
            let inner = tag
                .strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                .ok_or_else(malformed_if_match)?;
            Ok(Some(
                inner
                    .parse::<i64>()
                    .ok()
                    .filter(|v| *v > 0)
                    .unwrap_or(NEVER_MATCHES),
            ))
        }
        _ => Err(ApiError::Malformed(
            "If-Match must name exactly one entity tag (or *)".into(),
        )),
    }
}

fn malformed_if_match() -> ApiError {
    ApiError::Malformed(
        r#"If-Match must be an entity tag such as "3" (quotes included), or *"#.into(),
    )
}

/// Path parameters. A path that does not decode is simply not found: the
/// answer must not tell a malformed id from an unknown one.
#[derive(Debug, Clone)]
pub struct PathParams<T>(pub T);

impl<T, S> FromRequestParts<S> for PathParams<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(p)| PathParams(p))
            .map_err(|_| ApiError::NoRoute)
    }
}

/// Parses a resource id from a path segment; anything but a hyphenated UUID is
/// `NotFound(kind)`, exactly like an id that does not exist.
pub fn parse_id<T: FromStr>(text: &str, kind: &'static str) -> Result<T, ApiError> {
    if text.len() != 36 {
        return Err(Error::NotFound(kind).into());
    }
    text.parse().map_err(|_| Error::NotFound(kind).into())
}

/// A query string; a parameter that does not parse, or is unknown, is a 400.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::try_from_uri(&parts.uri)
            .map(|Query(q)| ApiQuery(q))
            .map_err(|e| ApiError::Malformed(query_message(&e.body_text())))
    }
}

fn query_message(text: &str) -> String {
    let reason = text
        .strip_prefix("Failed to deserialize query string: ")
        .unwrap_or(text);
    format!("invalid query parameters: {reason}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        name: String,
        #[serde(default)]
        count: Option<u32>,
        #[serde(default)]
        inner: Option<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        flag: bool,
    }

    fn field(json: &str) -> (String, String, String) {
        match decode::<Sample>(json.as_bytes()) {
            Err(ApiError::Core(Error::Invalid(errors))) => {
                let e = &errors[0];
                (e.field.clone(), e.code.clone(), e.message.clone())
            }
            other => panic!("{json}: {other:?}"),
        }
    }

    #[test]
    fn shape_errors_name_the_field_without_echoing_values() {
        assert_eq!(field(r#"{"name":"a","bogus":1}"#).0, "bogus");
        assert_eq!(field(r#"{"name":"a","bogus":1}"#).1, "unknown_field");
        assert_eq!(
            field(r#"{}"#),
            ("name".into(), "required".into(), "is required".into())
        );
        let (f, code, message) = field(r#"{"name":"a","count":"hunter2"}"#);
        assert_eq!((f.as_str(), code.as_str()), ("count", "invalid_type"));
        assert!(!message.contains("hunter2"), "{message}");
        let (f, code, _) = field(r#"{"name":7}"#);
        assert_eq!((f.as_str(), code.as_str()), ("name", "invalid_type"));
        assert_eq!(field(r#"{"name":"a","inner":{"flag":1}}"#).0, "inner/flag");
        assert_eq!(
            field(r#"{"name":"a","inner":{"flag":true,"x":1}}"#).0,
            "inner/x"
        );
        assert_eq!(field(r#"[1]"#).1, "invalid_type");
        assert_eq!(
            field(r#"["a", 1]"#),
            (
                "".into(),
                "invalid_type".into(),
                "the body must be a JSON object".into()
            )
        );
    }

    #[test]
    fn syntax_errors_are_malformed() {
        for body in ["", "{", "{\"name\":", "not json", "{\"a\":1,}"] {
            assert!(
                matches!(
                    decode::<Sample>(body.as_bytes()),
                    Err(ApiError::Malformed(_))
                ),
                "{body:?}"
            );
        }
    }

    #[test]
    fn json_content_types() {
        let check = |ct: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
            is_json(&h)
        };
        for ok in [
            "application/json",
            "application/json; charset=utf-8",
            "application/merge-patch+json",
            "Application/JSON",
        ] {
            assert!(check(ok), "{ok}");
        }
        for bad in [
            "text/plain",
            "text/json",
            "application/+json",
            "application/jsonx",
            "multipart/form-data",
        ] {
            assert!(!check(bad), "{bad}");
        }
        assert!(!is_json(&HeaderMap::new()));
    }

    #[test]
    fn if_match_parsing() {
        let check = |values: &[&str]| {
            let mut h = HeaderMap::new();
            for v in values {
                h.append(header::IF_MATCH, HeaderValue::from_str(v).unwrap());
            }
            parse_if_match(&h)
        };
        assert_eq!(check(&[]).unwrap(), None);
        assert_eq!(check(&["*"]).unwrap(), None);
        assert_eq!(check(&["\"3\""]).unwrap(), Some(3));
        assert_eq!(check(&["W/\"3\""]).unwrap(), Some(NEVER_MATCHES));
        assert_eq!(check(&["\"abc\""]).unwrap(), Some(NEVER_MATCHES));
        assert!(check(&["3"]).is_err());
        assert!(check(&["\"1\", \"2\""]).is_err());
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        let check = |v: Option<&str>| {
            let mut h = HeaderMap::new();
            if let Some(v) = v {
                h.insert(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
            }
            bearer_token(&h).map(str::to_owned)
        };
        assert_eq!(check(Some("Bearer abc")).unwrap(), "abc");
        assert_eq!(check(Some("bearer abc")).unwrap(), "abc");
        assert!(matches!(check(None), Err(ApiError::MissingToken)));
        assert!(matches!(
            check(Some("Basic Zm9vOmJhcg==")),
            Err(ApiError::MissingToken)
        ));
        assert_eq!(check(Some("Bearer")).unwrap(), "");
    }

    #[test]
    fn ids_must_be_hyphenated_uuids() {
        use gatehouse_core::ids::UserId;
        assert!(parse_id::<UserId>("0190a5a0-0000-7000-8000-000000000001", "user").is_ok());
        for bad in ["1", "0190a5a000007000800000000000000001", "../etc", ""] {
            assert!(matches!(
                parse_id::<UserId>(bad, "user"),
                Err(ApiError::Core(Error::NotFound("user")))
            ));
        }
    }
}
