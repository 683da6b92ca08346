//! Headers every response carries unless the handler chose its own:
//! `X-Content-Type-Options: nosniff`, `Cache-Control: no-store` (admin data
//! and tokens must not sit in caches), and a CSP that lets nothing load and
//! nothing frame a JSON response. Hosted pages set their own CSP.

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// Middleware: adds the headers that are not already set.
pub async fn apply(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(API_CSP));
    response
}
