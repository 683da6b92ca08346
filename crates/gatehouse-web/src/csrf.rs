//! CSRF protection for the hosted forms: a double-submit token. The page puts
//! a random token in a cookie and in a hidden `csrf` field; a POST is accepted
//! only when both are present and equal (compared in constant time), and when
//! the browser's `Origin`, if sent, is this deployment's. A cross-site page
//! can neither read the cookie nor set it, so it cannot forge the pair.

use axum::http::{HeaderMap, HeaderValue, header};
use gatehouse_core::clock::{Rng, SystemRng};
use gatehouse_core::secret::TokenHash;

use crate::cookies::Cookie;

/// The token for a page: the browser's existing one, or a new one with the
/// `Set-Cookie` that stores it.
pub fn token_for_page(headers: &HeaderMap, secure: bool) -> (String, Option<HeaderValue>) {
    if let Some(existing) = Cookie::Csrf.read(headers, secure)
        && existing.len() >= 32
    {
        return (existing, None);
    }
    let token = SystemRng::new().token(32);
    let cookie = Cookie::Csrf.set(&token, secure);
    (token, cookie)
}

/// Whether a form POST carries the right token and comes from our origin.
pub fn check(headers: &HeaderMap, secure: bool, public_url: &str, submitted: &str) -> bool {
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())
        && origin != "null"
        && !same_origin(origin, public_url)
    {
        return false;
    }
    match Cookie::Csrf.read(headers, secure) {
        Some(cookie) if !submitted.is_empty() => {
            TokenHash::of(&cookie).matches(&TokenHash::of(submitted))
        }
        _ => false,
    }
}

/// The pairs of a hosted-page form POST, once the body reads and the CSRF
/// pair matches; otherwise the page to answer with.
pub fn checked_form(
    state: &crate::AppState,
    headers: &HeaderMap,
    form: Result<crate::oauth::FormPairs, crate::oauth::OAuthReply>,
) -> Result<Vec<(String, String)>, Box<axum::response::Response>> {
    use axum::response::IntoResponse;
    let Ok(crate::oauth::FormPairs(pairs)) = form else {
        return Err(Box::new(
            crate::pages::Page::message(
                axum::http::StatusCode::BAD_REQUEST,
                "Bad request",
                "The form could not be read.",
            )
            .into_response(),
        ));
    };
    let submitted = crate::oauth::param(&pairs, "csrf").unwrap_or("");
    if !check(
        headers,
        crate::oauth::secure(state),
        &state.config.public_url,
        submitted,
    ) {
        return Err(Box::new(crate::login::expired_form()));
    }
    Ok(pairs)
}

/// `origin` (scheme://host[:port]) is the origin of `public_url`.
fn same_origin(origin: &str, public_url: &str) -> bool {
    let base = public_url.trim_end_matches('/');
    let base_origin = match base.find("://") {
        Some(i) => match base[i + 3..].find('/') {
            Some(j) => &base[..i + 3 + j],
            None => base,
        },
        None => base,
    };
    origin.eq_ignore_ascii_case(base_origin)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn with(cookie: &str, origin: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(cookie).unwrap());
        if let Some(origin) = origin {
            headers.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
        }
        headers
    }

    #[test]
    fn accepts_only_the_matching_pair_from_our_origin() {
        let token = "t".repeat(43);
        let cookie = format!("gatehouse_csrf={token}");
        let url = "http://127.0.0.1:8080";
        assert!(check(&with(&cookie, None), false, url, &token));
        assert!(check(
            &with(&cookie, Some("http://127.0.0.1:8080")),
            false,
            url,
            &token
        ));
        assert!(!check(
            &with(&cookie, Some("https://evil.example")),
            false,
            url,
            &token
        ));
        assert!(!check(&with(&cookie, None), false, url, "other"));
        assert!(!check(&with(&cookie, None), false, url, ""));
        assert!(!check(&with("x=1", None), false, url, &token));
    }
}
