//! The one-time setup page: `GET /setup/{token}` shows a form for the first
//! administrator; `POST /setup/{token}` creates them (through
//! [`gatehouse_core::services::Setup::complete`]) and shows their instance API
//! token once, with a curl example.
//!
//! The form needs no CSRF token of its own: the page is reachable only with
//! the unguessable one-time setup token in its URL, and `form-action 'self'`
//! keeps the post same-origin. Pages are small server-rendered HTML with every
//! interpolated value escaped, a strict CSP, `no-store` and `no-referrer` (the
//! URL carries the setup token).

use axum::Form;
use axum::Router;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use gatehouse_core::Error;
use gatehouse_core::secret::Secret;
use gatehouse_core::services::{SetupResult, UserProfile};

use crate::AppState;
use crate::extract::{Ctx, PathParams};

const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'";
const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2433}\
main{max-width:34rem;margin:3rem auto;padding:2rem;background:#fff;border-radius:8px;box-shadow:0 1px 3px #0002}\
h1{font-size:1.4rem;margin-top:0}label{display:block;margin-top:1rem;font-weight:600}\
input{box-sizing:border-box;width:100%;padding:.5rem;margin-top:.25rem;font:inherit;border:1px solid #b8bfcc;border-radius:4px}\
button{margin-top:1.5rem;padding:.6rem 1.2rem;font:inherit;border:0;border-radius:4px;background:#2f5fd0;color:#fff}\
pre{background:#f4f5f7;padding:.75rem;overflow-x:auto;white-space:pre-wrap;word-break:break-all}\
.errors{background:#fdecec;border:1px solid #e5a5a5;padding:.5rem 1rem;border-radius:4px}";

pub fn routes() -> Router<AppState> {
    Router::new().route("/setup/{token}", get(show_form).post(submit_form))
}

/// What the form posts. Every field may be missing; the core validates them.
#[derive(Debug, Default, serde::Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: Option<Secret>,
}

/// `GET /setup/{token}`: the form, or a 404 page when the link is invalid or used.
pub async fn show_form(
    State(state): State<AppState>,
    PathParams(token): PathParams<String>,
) -> Page {
    match state.services.setup.is_valid(&token).await {
        Ok(true) => form_page(StatusCode::OK, "", "", &[]),
        Ok(false) => invalid_link_page(),
        Err(e) => error_page(e, "", ""),
    }
}

/// `POST /setup/{token}`: creates the first administrator and shows their token once.
pub async fn submit_form(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    PathParams(token): PathParams<String>,
    form: Result<Form<SetupForm>, FormRejection>,
) -> Page {
    let Ok(Form(form)) = form else {
        return message_page(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "The form could not be read. Go back and try again.",
        );
    };
    let SetupForm {
        username,
        email,
        password,
    } = form;
    let profile = UserProfile {
        username: username.clone(),
        email: Some(email.trim().to_owned()).filter(|e| !e.is_empty()),
        ..UserProfile::default()
    };
    let password = password.unwrap_or_else(|| Secret::new(""));
    match state
        .services
        .setup
        .complete(&ctx, &token, profile, password)
        .await
    {
        Ok(result) => done_page(&result, &state.config.public_url),
        Err(e) => error_page(e, &username, &email),
    }
}

/// A core error as a page: one arm per variant, no catch-all.
fn error_page(e: Error, username: &str, email: &str) -> Page {
    match e {
        Error::AuthFailed | Error::NotFound(_) => invalid_link_page(),
        Error::Invalid(errors) => {
            let messages: Vec<String> = errors
                .iter()
                .map(|e| {
                    if e.field.is_empty() {
                        e.message.clone()
                    } else {
                        format!("{}: {}", e.field, e.message)
                    }
                })
                .collect();
            form_page(StatusCode::UNPROCESSABLE_ENTITY, username, email, &messages)
        }
        Error::Conflict(message) => form_page(StatusCode::CONFLICT, username, email, &[message]),
        Error::PreconditionFailed => form_page(
            StatusCode::CONFLICT,
            username,
            email,
            &["Something changed meanwhile; please submit again.".into()],
        ),
        Error::Forbidden => message_page(
            StatusCode::FORBIDDEN,
            "Not permitted",
            "This action is not permitted.",
        ),
        Error::Unavailable => {
            let mut page = message_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Busy",
                "The server is busy. Go back and submit the form again in a moment.",
            );
            page.retry_after = true;
            page
        }
        Error::Store(cause) => {
            tracing::error!(cause = %cause, "storage error on the setup page");
            internal_error_page()
        }
        Error::Internal(cause) => {
            tracing::error!(cause = %cause, "internal error on the setup page");
            internal_error_page()
        }
    }
}

fn form_page(status: StatusCode, username: &str, email: &str, errors: &[String]) -> Page {
    let errors = if errors.is_empty() {
        String::new()
    } else {
        let items: String = errors
            .iter()
            .map(|e| format!("<li>{}</li>", escape(e)))
            .collect();
        format!(r#"<div class="errors" role="alert"><ul>{items}</ul></div>"#)
    };
    let body = format!(
        r#"<p>Create the first administrator of this Gatehouse instance. You will receive an API token for the admin API.</p>
{errors}<form method="post">
<label for="username">Username</label>
<input id="username" name="username" required autocomplete="username" value="{username}">
<label for="email">E-mail</label>
<input id="email" name="email" type="email" autocomplete="email" value="{email}">
<label for="password">Password</label>
<input id="password" name="password" type="password" required minlength="8" autocomplete="new-password">
<button type="submit">Create administrator</button>
</form>"#,
        username = escape(username),
        email = escape(email),
    );
    Page::new(status, "Set up Gatehouse", body)
}

fn done_page(result: &SetupResult, public_url: &str) -> Page {
    let token = escape(result.secret.expose());
    let url = escape(&format!(
        "{}/api/v1/users",
        public_url.trim_end_matches('/')
    ));
    let body = format!(
        r#"<p>The administrator <strong>{username}</strong> was created.</p>
<p>This is your instance API token. <strong>It is shown only this once</strong>: copy it somewhere safe now.</p>
<pre><code id="api-token">{token}</code></pre>
<p>Try it:</p>
<pre><code>curl -H "Authorization: Bearer {token}" {url}</code></pre>"#,
        username = escape(&result.user.username),
    );
    Page::new(StatusCode::CREATED, "Gatehouse is set up", body)
}

fn invalid_link_page() -> Page {
    message_page(
        StatusCode::NOT_FOUND,
        "Link not valid",
        "This setup link is invalid or has already been used. Restart the server on an empty database for a new one, \
         or use GATEHOUSE_BOOTSTRAP_TOKEN.",
    )
}

fn internal_error_page() -> Page {
    message_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "Please try again.",
    )
}

fn message_page(status: StatusCode, title: &str, message: &str) -> Page {
    Page::new(status, title, format!("<p>{}</p>", escape(message)))
}

/// An HTML page with the security headers every hosted page sends.
#[derive(Debug)]
pub struct Page {
    status: StatusCode,
    html: String,
    retry_after: bool,
}

impl Page {
    /// `body` is trusted markup; `title` is escaped.
    fn new(status: StatusCode, title: &str, body: String) -> Self {
        let title = escape(title);
        let html = format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title} · Gatehouse</title><style>{STYLE}</style></head>\n<body><main><h1>{title}</h1>\n{body}\n</main></body></html>\n"
        );
        Self {
            status,
            html,
            retry_after: false,
        }
    }
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.html).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
        }
        response
    }
}

/// Escapes text for HTML element content and quoted attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralises_markup() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#x27;&amp;&#x27;&lt;/a&gt;"
        );
    }

    #[test]
    fn form_values_are_escaped() {
        let page = form_page(
            StatusCode::OK,
            "\"><script>alert(1)</script>",
            "a@b.c",
            &["<b>".into()],
        );
        assert!(!page.html.contains("<script>"));
        assert!(page.html.contains("&lt;b&gt;"));
        for name in ["username", "email", "password"] {
            assert!(page.html.contains(&format!(r#"<label for="{name}">"#)));
            assert!(page.html.contains(&format!(r#"name="{name}""#)));
        }
    }
}
