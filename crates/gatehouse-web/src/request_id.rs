//! `X-Request-Id`: every request gets one, every response and log line carries it.
//!
//! A sane incoming id (1–64 characters of `A-Z a-z 0-9 - _ . : /`, so a proxy's
//! or a client's id can be followed end to end) is kept; anything else is
//! replaced by a fresh random one. The id goes into a request extension (for
//! audit events), into the `request` tracing span that wraps the handler (so
//! every log line of the request names it) and onto the response.
//!
//! The span records the matched route (`/setup/{token}`), never the raw path,
//! so a secret in a URL does not reach the log.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use gatehouse_core::clock::Rng;
use tracing::Instrument;

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

const MAX_LEN: usize = 64;

/// The request id, as a request extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// Middleware state: where fresh ids come from.
#[derive(Debug, Clone)]
pub struct IdSource(pub Arc<dyn Rng>);

/// Middleware: assigns the id, runs the request inside its span, echoes the id.
pub async fn propagate(
    State(source): State<IdSource>,
    mut request: Request,
    next: Next,
) -> Response {
    let id = request
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_sane(v))
        .map_or_else(|| generate(source.0.as_ref()), str::to_owned);
    request.extensions_mut().insert(RequestId(id.clone()));
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("(unmatched)", MatchedPath::as_str)
        .to_owned();
    let span = tracing::info_span!("request", request_id = %id, method = %request.method(), route = %route);
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "request finished"
        );
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(X_REQUEST_ID.clone(), value);
    }
    response
}

fn is_sane(id: &str) -> bool {
    (1..=MAX_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'/'))
}

/// 128 random bits, hex-encoded.
fn generate(rng: &dyn Rng) -> String {
    let mut bytes = [0u8; 16];
    rng.fill(&mut bytes);
    gatehouse_core::secret::hex(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sane_ids_are_kept() {
        for ok in ["abc", "0f8e-12", "req_1.2:3/4", &"a".repeat(64)] {
            assert!(is_sane(ok), "{ok}");
        }
        for bad in ["", "a b", "a\nb", "<script>", &"a".repeat(65), "é"] {
            assert!(!is_sane(bad), "{bad}");
        }
    }
}
