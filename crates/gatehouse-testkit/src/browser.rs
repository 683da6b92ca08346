//! A scripted browser for the hosted pages: keeps cookies, does not follow
//! redirects on its own, and fills the sign-in and consent forms the way a
//! person would — reading the hidden fields (CSRF token, request handle) out
//! of the served HTML and posting them back with the visible ones.

use anyhow::{Context, bail};
use reqwest::StatusCode;
use reqwest::header::LOCATION;

/// What to press on the consent page, if it appears.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    Allow,
    Deny,
}

/// Where a walk through the hosted pages ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Landing {
    /// Redirected to a URL outside the server (the client's redirect URI).
    Client(String),
    /// Stopped on a page of the server: its status and HTML.
    Page(u16, String),
}

/// A cookie-keeping client for one server.
#[derive(Debug, Clone)]
pub struct Browser {
    base: String,
    client: reqwest::Client,
}

impl Browser {
    /// A fresh browser (empty cookie jar) for the server at `base` (`http://host:port`).
    pub fn new(base: &str) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            client,
        })
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    fn absolute(&self, location: &str) -> String {
        if location.starts_with('/') {
            format!("{}{location}", self.base)
        } else {
            location.to_owned()
        }
    }

    /// GETs `url` and follows redirects within the server, filling the sign-in
    /// form with `credentials` and answering consent with `consent`. Stops at
    /// a redirect leaving the server, or at a page it cannot or may not fill.
    pub async fn walk(
        &self,
        url: &str,
        credentials: Option<(&str, &str)>,
        consent: Consent,
    ) -> anyhow::Result<Landing> {
        let response = self.client.get(url).send().await?;
        self.follow(response, credentials, consent).await
    }

    /// Continues from `response` as [`Browser::walk`] does from its first answer.
    pub async fn follow(
        &self,
        response: reqwest::Response,
        credentials: Option<(&str, &str)>,
        consent: Consent,
    ) -> anyhow::Result<Landing> {
        let mut credentials = credentials;
        let mut response = response;
        for _ in 0..10 {
            let status = response.status();
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(LOCATION)
                    .context("redirect without Location")?
                    .to_str()?
                    .to_owned();
                let next = self.absolute(&location);
                if !next.starts_with(&self.base) {
                    return Ok(Landing::Client(next));
                }
                response = self.client.get(&next).send().await?;
                continue;
            }
            let html = response.text().await?;
            if status == StatusCode::OK && html.contains("name=\"password\"") {
                let Some((username, password)) = credentials.take() else {
                    return Ok(Landing::Page(status.as_u16(), html));
                };
                let mut form = hidden_fields(&html);
                form.push(("username".into(), username.into()));
                form.push(("password".into(), password.into()));
                let action = form_action(&html).unwrap_or_else(|| "/login".to_owned());
                response = self.post_form(&action, &form).await?;
                continue;
            }
            if status == StatusCode::OK && html.contains("name=\"consent\"") {
                let mut form = hidden_fields(&html);
                let answer = match consent {
                    Consent::Allow => "allow",
                    Consent::Deny => "deny",
                };
                form.push(("consent".into(), answer.into()));
                let action = form_action(&html).unwrap_or_else(|| "/consent".to_owned());
                response = self.post_form(&action, &form).await?;
                continue;
            }
            return Ok(Landing::Page(status.as_u16(), html));
        }
        bail!("too many redirects")
    }

    /// Submits the page's first POST form with its hidden fields and `fields`
    /// (for instance the second-factor page's `otp`).
    pub async fn fill(
        &self,
        html: &str,
        fields: &[(&str, &str)],
    ) -> anyhow::Result<reqwest::Response> {
        let mut form = hidden_fields(html);
        for (name, value) in fields {
            form.push(((*name).to_owned(), (*value).to_owned()));
        }
        let action = form_action(html).context("the page has no POST form")?;
        self.post_form(&action, &form).await
    }

    /// POSTs a form to a path of the server.
    pub async fn post_form(
        &self,
        path: &str,
        form: &[(String, String)],
    ) -> anyhow::Result<reqwest::Response> {
        Ok(self
            .client
            .post(self.absolute(path))
            .form(form)
            .send()
            .await?)
    }
}

/// The `name`/`value` pairs of the `<input type="hidden">` elements of a page,
/// HTML entities in values decoded.
pub fn hidden_fields(html: &str) -> Vec<(String, String)> {
    html.split("<input")
        .skip(1)
        .filter_map(|tag| tag.split('>').next())
        .filter(|tag| tag.contains("type=\"hidden\""))
        .filter_map(|tag| Some((attribute(tag, "name")?, attribute(tag, "value")?)))
        .collect()
}

/// The `action` of the page's first POST form.
fn form_action(html: &str) -> Option<String> {
    html.split("<form")
        .skip(1)
        .filter_map(|tag| tag.split('>').next())
        .find(|tag| tag.contains("method=\"post\""))
        .and_then(|tag| attribute(tag, "action"))
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = tag[start..].find('"')? + start;
    Some(unescape(&tag[start..end]))
}

fn unescape(value: &str) -> String {
    value
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#x2f;", "/")
        .replace("&#x2F;", "/")
        .replace("&amp;", "&")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_hidden_fields_and_decodes_entities() {
        let html = r#"<form><input type="hidden" name="csrf" value="a&amp;b">
            <input type="text" name="username" value="x">
            <input type="hidden" name="request" value="r&#x2f;1"></form>"#;
        assert_eq!(
            hidden_fields(html),
            vec![
                ("csrf".to_owned(), "a&b".to_owned()),
                ("request".to_owned(), "r/1".to_owned())
            ]
        );
    }
}
