//! Server-rendered hosted pages: one minijinja environment with the embedded
//! templates (`templates/`), autoescaping on and undefined values an error,
//! and the headers every page carries — a CSP that allows no script (except
//! the nonce'd auto-submit of a `form_post` response), no framing, no
//! referrer, `no-store`.

use std::sync::LazyLock;

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use minijinja::{Environment, UndefinedBehavior};

const PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; \
                        frame-ancestors 'none'; base-uri 'none'";

/// The CSP of a page that loads `/assets/webauthn.js` (and whose script
/// fetches ceremony options from this origin): still no inline script.
const SCRIPT_PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; \
                               script-src 'self'; connect-src 'self'; form-action 'self'; \
                               frame-ancestors 'none'; base-uri 'none'";

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    for (name, source) in [
        ("base.html", include_str!("../templates/base.html")),
        ("login.html", include_str!("../templates/login.html")),
        ("consent.html", include_str!("../templates/consent.html")),
        ("message.html", include_str!("../templates/message.html")),
        ("logout.html", include_str!("../templates/logout.html")),
        (
            "form_post.html",
            include_str!("../templates/form_post.html"),
        ),
        ("device.html", include_str!("../templates/device.html")),
        ("factor.html", include_str!("../templates/factor.html")),
        ("slo_step.html", include_str!("../templates/slo_step.html")),
        (
            "recovery_codes.html",
            include_str!("../templates/recovery_codes.html"),
        ),
        (
            "account_security.html",
            include_str!("../templates/account_security.html"),
        ),
        (
            "magic_link.html",
            include_str!("../templates/magic_link.html"),
        ),
        (
            "account_totp.html",
            include_str!("../templates/account_totp.html"),
        ),
        (
            "account_phone.html",
            include_str!("../templates/account_phone.html"),
        ),
    ] {
        if let Err(error) = env.add_template(name, source) {
            tracing::error!(%error, name, "a page template does not compile");
        }
    }
    env
});

/// A rendered page with its status and extra headers (cookies).
#[derive(Debug)]
pub struct Page {
    status: StatusCode,
    body: String,
    csp: HeaderValue,
    headers: HeaderMap,
}

impl Page {
    /// Renders `template` with `context`; a template failure is logged and
    /// becomes a bare 500 (it is a bug, never the visitor's doing).
    pub fn render(status: StatusCode, template: &str, context: minijinja::Value) -> Self {
        let body = TEMPLATES
            .get_template(template)
            .and_then(|t| t.render(context));
        match body {
            Ok(body) => Self {
                status,
                body,
                csp: HeaderValue::from_static(PAGE_CSP),
                headers: HeaderMap::new(),
            },
            Err(error) => {
                tracing::error!(%error, template, "rendering a page failed");
                Self {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    body: "Internal Server Error".to_owned(),
                    csp: HeaderValue::from_static(PAGE_CSP),
                    headers: HeaderMap::new(),
                }
            }
        }
    }

    /// A page with a heading and one paragraph.
    pub fn message(status: StatusCode, title: &str, message: &str) -> Self {
        Self::render(
            status,
            "message.html",
            minijinja::context! {
                lang => "en",
                title => title,
                message => message,
                is_error => status.is_client_error() || status.is_server_error(),
            },
        )
    }

    /// Allows the page to load this server's scripts (`/assets/webauthn.js`).
    pub fn with_script(mut self) -> Self {
        self.csp = HeaderValue::from_static(SCRIPT_PAGE_CSP);
        self
    }

    pub fn with_csp(mut self, csp: HeaderValue) -> Self {
        self.csp = csp;
        self
    }

    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let mut response = (self.status, Html(self.body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_SECURITY_POLICY, self.csp);
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        for (name, value) in self.headers {
            if let Some(name) = name {
                headers.append(name, value);
            }
        }
        response
    }
}
