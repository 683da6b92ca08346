//! Gatehouse's HTTP surfaces: the admin API (`/api/v1`), its OpenAPI document,
//! the health probes, the one-time setup page, the OpenID Provider (discovery,
//! JWKS, authorization, token, userinfo, introspection, revocation, logout,
//! device flow, Dynamic Client Registration) and its hosted pages, the SAML 2.0
//! identity provider (`/saml/*`), as one axum
//! [`Router`].
//!
//! This crate renders; it does not decide. Handlers parse the request with
//! extractors ([`extract`]: who is calling, the audit context, the body), call
//! one core service, and render the result or the error ([`problem`]). It holds
//! no domain logic and knows no SQL.
//!
//! Every response carries `X-Request-Id` ([`request_id`]) and
//! `X-Content-Type-Options: nosniff`; API responses are `Cache-Control: no-store`.
//! Errors are RFC 9457 problem details, including the ones produced by layers
//! (body limit, unknown route, wrong method, panics).

mod account;
pub mod api;
mod assets;
pub mod client_ip;
mod consent;
mod cookies;
mod csrf;
mod device;
pub mod extract;
mod factor;
pub mod health;
pub mod jwks;
mod login;
mod magic_link;
pub mod mail;
pub mod oauth;
pub mod openapi;
pub mod outbound;
mod pages;
pub mod problem;
pub mod register;
pub mod request_id;
pub mod rfc3339;
mod saml;
pub mod scim;
mod security_headers;
pub mod setup;
pub mod sms;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use gatehouse_core::clock::SystemRng;
use gatehouse_core::services::Services;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;

pub use client_ip::{Cidr, CidrParseError};

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// The externally visible base URL (`https://id.example.com`), used for
    /// `Location`, `Link` and the URLs shown on pages. No trailing slash needed.
    pub public_url: String,
    /// Peers whose `X-Forwarded-For` is believed (reverse proxies, load balancers).
    pub trusted_proxies: Vec<Cidr>,
    /// Largest request body accepted; larger ones get 413.
    pub body_limit_bytes: usize,
}

/// 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:8080".to_owned(),
            trusted_proxies: Vec::new(),
            body_limit_bytes: DEFAULT_BODY_LIMIT,
        }
    }
}

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub services: Arc<Services>,
    pub config: Arc<WebConfig>,
    /// The OpenAPI document, rendered once.
    openapi: Bytes,
}

/// The whole HTTP surface. Serve it with
/// `into_make_service_with_connect_info::<SocketAddr>()` so client IPs are known.
pub fn router(services: Arc<Services>, config: WebConfig) -> Router {
    let body_limit = config.body_limit_bytes;
    let state = AppState {
        services,
        config: Arc::new(config),
        openapi: Bytes::from(openapi::to_pretty_json()),
    };
    let routes = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/api/openapi.json", get(openapi::serve))
        .merge(api::routes())
        .merge(setup::routes())
        .merge(oauth::routes())
        .merge(login::routes())
        .merge(factor::routes())
        .merge(account::routes())
        .merge(magic_link::routes())
        .merge(assets::routes())
        .merge(consent::routes())
        .merge(device::routes())
        .merge(jwks::routes())
        .merge(register::routes())
        .merge(scim::routes())
        .merge(saml::routes())
        .fallback(problem::no_route)
        .method_not_allowed_fallback(problem::method_not_allowed)
        .with_state(state);
    with_layers(routes, body_limit)
}

/// The layers around every route, outermost first: request id and its log
/// span, security headers, problem bodies for bare errors, panic catching,
/// body limits.
fn with_layers(routes: Router, body_limit: usize) -> Router {
    let ids = request_id::IdSource(Arc::new(SystemRng::new()));
    routes.layer(
        ServiceBuilder::new()
            .layer(axum::middleware::from_fn_with_state(
                ids,
                request_id::propagate,
            ))
            .layer(axum::middleware::from_fn(security_headers::apply))
            .layer(axum::middleware::from_fn(problem::fill_bare_errors))
            .layer(CatchPanicLayer::custom(problem::panic_response))
            .layer(RequestBodyLimitLayer::new(body_limit))
            .layer(DefaultBodyLimit::max(body_limit)),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    /// A panicking handler answers a bare 500 problem, still with a request id.
    #[tokio::test]
    async fn panics_become_bare_500_problems() {
        async fn boom() -> &'static str {
            panic!("secret detail")
        }
        let routes = Router::new().route("/boom", get(boom));
        let response = with_layers(routes, 1024)
            .oneshot(Request::get("/boom").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers()["content-type"], problem::PROBLEM_JSON);
        assert!(response.headers().contains_key("x-request-id"));
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        assert_eq!(
            &body[..],
            br#"{"type":"about:blank","title":"Internal Server Error","status":500}"#
        );
    }
}
