//! The browser cookies of the hosted pages: the SSO session, the CSRF
//! token, the half-finished multifactor sign-in, the remembered device (skips
//! the second factor) and the known device (a browser that signed in to an
//! account before, judged on its own brute-force counter).
//! All are `HttpOnly`, `SameSite=Lax`, `Path=/`; on an https public URL
//! they are `Secure` with the `__Host-` prefix, which binds them to this exact
//! origin (RFC 6265bis §4.1.3.2).

use axum::http::{HeaderMap, HeaderValue, header};

/// Which cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cookie {
    Session,
    Csrf,
    /// The handle of a sign-in waiting for its second factor (minutes).
    Mfa,
    /// "Remember this device": skips the second factor (days).
    Device,
    /// A browser that signed in before: exempt from the account-wide lockout (days).
    KnownDevice,
    /// The browser that asked for an e-mailed sign-in link (minutes).
    MagicLink,
}

impl Cookie {
    fn base_name(self) -> &'static str {
        match self {
            Self::Session => "gatehouse_session",
            Self::Csrf => "gatehouse_csrf",
            Self::Mfa => "gatehouse_mfa",
            Self::Device => "gatehouse_device",
            Self::KnownDevice => "gatehouse_known_device",
            Self::MagicLink => "gatehouse_magic_link",
        }
    }

    /// The name used on this deployment (`secure` = the public URL is https).
    pub fn name(self, secure: bool) -> String {
        if secure {
            format!("__Host-{}", self.base_name())
        } else {
            self.base_name().to_owned()
        }
    }

    /// The cookie's value in a request, if sent.
    pub fn read(self, headers: &HeaderMap, secure: bool) -> Option<String> {
        let name = self.name(secure);
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(n, _)| *n == name)
            .map(|(_, value)| value.trim_matches('"').to_owned())
            .filter(|value| !value.is_empty())
    }

    /// `Set-Cookie` storing `value` for the browser session (no `Max-Age`:
    /// the server decides when the SSO session ends).
    pub fn set(self, value: &str, secure: bool) -> Option<HeaderValue> {
        let secure_attr = if secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{}={value}; Path=/; HttpOnly; SameSite=Lax{secure_attr}",
            self.name(secure)
        ))
        .ok()
    }

    /// `Set-Cookie` storing `value` for `max_age_secs`.
    pub fn set_for(self, value: &str, secure: bool, max_age_secs: i64) -> Option<HeaderValue> {
        let secure_attr = if secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure_attr}",
            self.name(secure)
        ))
        .ok()
    }

    /// `Set-Cookie` removing the cookie.
    pub fn clear(self, secure: bool) -> HeaderValue {
        let secure_attr = if secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure_attr}",
            self.name(secure)
        ))
        .unwrap_or_else(|_| HeaderValue::from_static("gatehouse_session=; Max-Age=0"))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_named_cookie_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; gatehouse_session=abc; b=2"),
        );
        assert_eq!(
            Cookie::Session.read(&headers, false).as_deref(),
            Some("abc")
        );
        assert_eq!(Cookie::Session.read(&headers, true), None);
        assert_eq!(Cookie::Csrf.read(&headers, false), None);
    }

    #[test]
    fn secure_cookies_use_the_host_prefix() {
        let set = Cookie::Session.set("v", true).unwrap();
        assert_eq!(
            set.to_str().unwrap(),
            "__Host-gatehouse_session=v; Path=/; HttpOnly; SameSite=Lax; Secure"
        );
        let clear = Cookie::Csrf.clear(false);
        assert!(clear.to_str().unwrap().contains("Max-Age=0"));
    }
}
