//! A relying party built from libraries nobody here wrote: the `openidconnect`
//! crate (discovery, authorization URL, PKCE, ID-token verification, userinfo,
//! refresh) over reqwest, and a registered client to drive it with.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use gatehouse_testkit::TestServer;
use gatehouse_testkit::browser::{Browser, Consent, Landing};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreTokenResponse,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, HttpRequest, HttpResponse, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope,
};
use serde_json::{Value, json};

pub type Rp = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

pub const REDIRECT: &str = "http://127.0.0.1:9/callback";
pub const PASSWORD: &str = "correct-horse-battery-9";

/// The HTTP client the relying party libraries call (redirects are not followed).
pub async fn http(request: HttpRequest) -> Result<HttpResponse, reqwest::Error> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let (parts, body) = request.into_parts();
    let response = client
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await?;
    let mut builder = http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        builder = builder.header(name, value);
    }
    let body = response.bytes().await?.to_vec();
    Ok(builder.body(body).unwrap())
}

/// Registers a confidential client through RFC 7591 with the admin token.
pub async fn register(server: &TestServer, extra: Value) -> (String, String) {
    let mut body = json!({
        "client_name": "Test App",
        "redirect_uris": [REDIRECT],
        "post_logout_redirect_uris": ["http://127.0.0.1:9/signed-out"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": "openid profile email offline_access",
        "token_endpoint_auth_method": "client_secret_basic",
    });
    for (key, value) in extra.as_object().unwrap() {
        body[key] = value.clone();
    }
    let response = server
        .admin()
        .post("/oauth2/register")
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, 201, "registration failed: {text}");
    let created: Value = serde_json::from_str(&text).unwrap();
    (
        created["client_id"].as_str().unwrap().to_owned(),
        created["client_secret"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

/// Creates an active user with the test password.
pub async fn user(server: &TestServer, username: &str) -> Value {
    server
        .admin()
        .create(
            "/api/v1/users",
            json!({"username": username, "email": format!("{username}@example.com"),
                   "password": PASSWORD, "given_name": "Ada", "family_name": "Lovelace"}),
        )
        .await
}

/// Discovers the provider from its issuer URL and configures a client.
///
/// The relying party checks `exp` and `iat` against the wall clock, so the
/// server's fake clock is first set to it (tests may then move it forward).
pub async fn discover(server: &TestServer, client_id: &str, secret: &str) -> Rp {
    #[allow(clippy::disallowed_methods)]
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    server.clock.set(i64::try_from(wall).unwrap());
    let issuer = IssuerUrl::new(server.url("")).unwrap();
    let metadata = CoreProviderMetadata::discover_async(issuer, &http)
        .await
        .unwrap();
    let secret = (!secret.is_empty()).then(|| ClientSecret::new(secret.to_owned()));
    CoreClient::from_provider_metadata(metadata, ClientId::new(client_id.to_owned()), secret)
        .set_redirect_uri(RedirectUrl::new(REDIRECT.to_owned()).unwrap())
}

/// One authorization request's secrets.
pub struct Started {
    pub url: String,
    pub state: CsrfToken,
    pub nonce: Nonce,
    pub verifier: PkceCodeVerifier,
}

/// An authorization URL with PKCE, `nonce`, `state` and the given scopes.
pub fn start(rp: &Rp, scopes: &[&str], extra: &[(&str, &str)]) -> Started {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    for scope in scopes {
        request = request.add_scope(Scope::new((*scope).to_owned()));
    }
    for (name, value) in extra {
        request = request.add_extra_param(*name, *value);
    }
    let (url, state, nonce) = request.url();
    Started {
        url: url.to_string(),
        state,
        nonce,
        verifier,
    }
}

/// The query parameters of the client redirect a walk ended on.
pub fn callback(landing: &Landing) -> Vec<(String, String)> {
    match landing {
        Landing::Client(url) => {
            assert!(url.starts_with(REDIRECT), "redirected elsewhere: {url}");
            let query = url.split_once('?').map(|(_, q)| q).unwrap_or("");
            url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect()
        }
        Landing::Page(status, html) => panic!("stopped on a page ({status}): {html}"),
    }
}

pub fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Signs `username` in through the hosted pages and returns the code.
pub async fn sign_in(browser: &Browser, started: &Started, username: &str) -> String {
    let landing = browser
        .walk(&started.url, Some((username, PASSWORD)), Consent::Allow)
        .await
        .unwrap();
    let pairs = callback(&landing);
    assert_eq!(
        param(&pairs, "state"),
        Some(started.state.secret().as_str())
    );
    param(&pairs, "code")
        .unwrap_or_else(|| panic!("no code in {pairs:?}"))
        .to_owned()
}

/// Exchanges a code with the PKCE verifier.
pub async fn exchange(rp: &Rp, code: &str, verifier: PkceCodeVerifier) -> CoreTokenResponse {
    rp.exchange_code(AuthorizationCode::new(code.to_owned()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap()
}
