//! The authorization request (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2.1,
//! RFC 7636, RFC 8707) and the redirect that answers it (RFC 6749 §4.1.2,
//! RFC 9207).
//!
//! Parsing happens in two steps because errors go to two places. RFC 6749
//! §4.1.2.1: if `client_id` or `redirect_uri` is missing, invalid or does not
//! match, the server must tell the user and MUST NOT redirect; every other
//! error goes back to the client's redirect URI. So:
//!
//! 1. [`ClientAndRedirect::parse`] reads `client_id` and `redirect_uri`; its
//!    error is an [`OAuthError`] for an error page.
//! 2. The caller looks the client up (an unknown client is also for the
//!    error page) and calls [`ClientAndRedirect::resolve`] with its
//!    registered URIs; that error is for the error page too.
//! 3. [`parse_rest`] reads everything else; its error is a [`RedirectError`],
//!    which can only be built around a [`ValidatedRedirectUri`].
//!
//! Unrecognised parameters are ignored and known ones must not repeat
//! (RFC 6749 §3.1). Policy — is PKCE required for this client, are these
//! scopes allowed, is `openid` present — is core's decision, not the parser's.

use crate::error::{ErrorCode, OAuthError};
use crate::params::{Params, Repeated};
use crate::pkce::CodeChallenge;
use crate::redirect_uri::ValidatedRedirectUri;
use crate::resource;
use crate::scope::{OPENID, Scopes};
use crate::secret::Secret;

/// The `response_type`s this server answers. Only the authorization code flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResponseType {
    Code,
}

/// How the response parameters travel to the redirect URI (OAuth 2.0
/// Multiple Response Type Encoding Practices §2.1, OAuth 2.0 Form Post
/// Response Mode §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResponseMode {
    Query,
    Fragment,
    FormPost,
}

impl ResponseMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Query => "query",
            Self::Fragment => "fragment",
            Self::FormPost => "form_post",
        }
    }
}

/// The `prompt` values of OpenID Connect Core §3.1.2.1. All false when the
/// request carried no `prompt`; when `none` is set the others are not.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
    pub select_account: bool,
}

/// Step 1: the two parameters that decide whether an error may be redirected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientAndRedirect {
    pub client_id: String,
    /// The requested `redirect_uri`, not yet checked against the registration.
    pub redirect_uri: Option<String>,
}

impl ClientAndRedirect {
    /// Reads `client_id` and `redirect_uri`. Errors here are shown to the
    /// user, never redirected (RFC 6749 §4.1.2.1).
    ///
    /// `client_id` is REQUIRED (RFC 6749 §4.1.1). `redirect_uri` is OPTIONAL
    /// in OAuth but REQUIRED in an OpenID Connect request (Core §3.1.2.1), so
    /// a request whose `scope` names `openid` must carry it.
    pub fn parse(pairs: &[(String, String)]) -> Result<Self, OAuthError> {
        let params = Params::new(pairs);
        let client_id = params
            .single("client_id")
            .map_err(Repeated::to_oauth_error)?
            .ok_or_else(|| missing("client_id"))?;
        let redirect_uri = params
            .single("redirect_uri")
            .map_err(Repeated::to_oauth_error)?;
        let asks_openid = params
            .all("scope")
            .any(|scope| scope.split(' ').any(|token| token == OPENID));
        if redirect_uri.is_none() && asks_openid {
            return Err(OAuthError::with_description(
                ErrorCode::InvalidRequest,
                "redirect_uri is required in an OpenID Connect request",
            ));
        }
        Ok(Self {
            client_id: client_id.to_owned(),
            redirect_uri: redirect_uri.map(str::to_owned),
        })
    }
}

impl ClientAndRedirect {
    /// Step 2, given the client's registered redirect URIs: see
    /// [`crate::redirect_uri::resolve`]. An error here is for the error page.
    pub fn resolve(&self, registered: &[String]) -> Result<ValidatedRedirectUri, OAuthError> {
        crate::redirect_uri::resolve(self.redirect_uri.as_deref(), registered)
    }
}

/// A parsed authorization request.
#[derive(Clone, Debug, PartialEq)]
pub struct AuthorizationRequest {
    pub client_id: String,
    pub redirect_uri: ValidatedRedirectUri,
    pub response_type: ResponseType,
    pub response_mode: ResponseMode,
    pub scope: Scopes,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<CodeChallenge>,
    pub prompt: Prompt,
    /// Seconds (OpenID Connect Core §3.1.2.1).
    pub max_age: Option<u64>,
    pub login_hint: Option<String>,
    /// An ID token previously issued here; verify it before use.
    pub id_token_hint: Option<Secret>,
    pub ui_locales: Vec<String>,
    pub acr_values: Vec<String>,
    /// The `claims` request (OpenID Connect Core §5.5): a JSON object whose
    /// `userinfo` and `id_token` members, when present, are objects.
    pub claims: Option<serde_json::Value>,
    /// RFC 8707 resource indicators: absolute URIs without fragments.
    pub resource: Vec<String>,
}

impl AuthorizationRequest {
    /// The redirect carrying an authorization code (RFC 6749 §4.1.2: `code`
    /// and the exact `state`; RFC 9207 §2: `iss`).
    pub fn code_response(&self, code: &str, issuer: &str) -> Redirect {
        let mut params = vec![("code", code.to_owned())];
        if let Some(state) = &self.state {
            params.push(("state", state.clone()));
        }
        params.push(("iss", issuer.to_owned()));
        Redirect {
            uri: self.redirect_uri.as_str().to_owned(),
            mode: self.response_mode,
            params,
        }
    }

    /// An error decided after parsing (`access_denied`, `login_required`, …),
    /// sent back the way this request asked.
    pub fn error(&self, error: OAuthError) -> RedirectError {
        RedirectError {
            error,
            redirect_uri: self.redirect_uri.clone(),
            state: self.state.clone(),
            response_mode: self.response_mode,
        }
    }
}

/// An error to send to the client's (validated) redirect URI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedirectError {
    pub error: OAuthError,
    pub redirect_uri: ValidatedRedirectUri,
    pub state: Option<String>,
    pub response_mode: ResponseMode,
}

impl RedirectError {
    /// RFC 6749 §4.1.2.1 with RFC 9207 §2: `error`, `error_description`,
    /// `state`, `iss`.
    pub fn to_redirect(&self, issuer: &str) -> Redirect {
        Redirect {
            uri: self.redirect_uri.as_str().to_owned(),
            mode: self.response_mode,
            params: self.error.redirect_params(self.state.as_deref(), issuer),
        }
    }
}

/// An authorization response on its way to the client.
#[derive(Clone, PartialEq, Eq)]
pub struct Redirect {
    pub uri: String,
    pub mode: ResponseMode,
    pub params: Vec<(&'static str, String)>,
}

impl Redirect {
    /// The `Location` of a 302/303 for `query` and `fragment`; `None` for
    /// `form_post`, where the web layer renders a page that auto-submits
    /// `params` to `uri` (OAuth 2.0 Form Post Response Mode §2).
    ///
    /// RFC 6749 §3.1.2: a query component of the redirect URI MUST be
    /// retained when adding parameters; they are form-urlencoded (§4.1.2).
    pub fn location(&self) -> Option<String> {
        let mut encoded = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in &self.params {
            encoded.append_pair(name, value);
        }
        let encoded = encoded.finish();
        match self.mode {
            ResponseMode::Query => {
                let separator = match self.uri.find('?') {
                    None => "?",
                    Some(_) if self.uri.ends_with(['?', '&']) => "",
                    Some(_) => "&",
                };
                Some(format!("{}{separator}{encoded}", self.uri))
            }
            ResponseMode::Fragment => Some(format!("{}#{encoded}", self.uri)),
            ResponseMode::FormPost => None,
        }
    }
}

impl std::fmt::Debug for Redirect {
    /// The parameters carry the authorization code; print names only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.params.iter().map(|(name, _)| *name).collect();
        f.debug_struct("Redirect")
            .field("uri", &self.uri)
            .field("mode", &self.mode)
            .field("params", &names)
            .finish()
    }
}

/// Step 3: everything but `client_id` and `redirect_uri`, once the caller has
/// validated the redirect URI against the client's registration.
pub fn parse_rest(
    pairs: &[(String, String)],
    client: ClientAndRedirect,
    redirect_uri: ValidatedRedirectUri,
) -> Result<AuthorizationRequest, RedirectError> {
    let params = Params::new(pairs);
    // What the error redirect needs comes first: a repeated `state` leaves
    // the error without one, a bad `response_mode` falls back to `query`.
    let state = params.single("state");
    let response_mode = params
        .single("response_mode")
        .map_err(Repeated::to_oauth_error)
        .and_then(parse_response_mode);
    let error_state = state.ok().flatten().map(str::to_owned);
    let error_mode = response_mode
        .as_ref()
        .ok()
        .copied()
        .flatten()
        .unwrap_or(ResponseMode::Query);
    let fail = |error: OAuthError| RedirectError {
        error,
        redirect_uri: redirect_uri.clone(),
        state: error_state.clone(),
        response_mode: error_mode,
    };
    let state = state.map_err(|r| fail(r.to_oauth_error()))?;
    let response_mode = response_mode.map_err(&fail)?;
    let single = |name: &'static str| params.single(name).map_err(|r| fail(r.to_oauth_error()));

    unsupported_parameters(&params).map_err(&fail)?;
    let response_type = parse_response_type(single("response_type")?).map_err(&fail)?;
    let scope = Scopes::parse(single("scope")?.unwrap_or("")).map_err(&fail)?;
    let code_challenge = match (single("code_challenge")?, single("code_challenge_method")?) {
        (Some(challenge), method) => Some(CodeChallenge::parse(challenge, method).map_err(&fail)?),
        (None, Some(_)) => return Err(fail(missing("code_challenge"))),
        (None, None) => None,
    };
    let prompt = single("prompt")?
        .map(parse_prompt)
        .transpose()
        .map_err(&fail)?
        .unwrap_or_default();
    let max_age = single("max_age")?
        .map(parse_max_age)
        .transpose()
        .map_err(&fail)?;
    let claims = single("claims")?
        .map(parse_claims)
        .transpose()
        .map_err(&fail)?;
    let resource = resource::parse_all(&params).map_err(&fail)?;
    let nonce = single("nonce")?.map(str::to_owned);
    let login_hint = single("login_hint")?.map(str::to_owned);
    let id_token_hint = single("id_token_hint")?.map(Secret::new);
    let ui_locales = single("ui_locales")?
        .map(space_separated)
        .unwrap_or_default();
    let acr_values = single("acr_values")?
        .map(space_separated)
        .unwrap_or_default();

    Ok(AuthorizationRequest {
        client_id: client.client_id,
        redirect_uri,
        response_type,
        response_mode: response_mode.unwrap_or(ResponseMode::Query),
        scope,
        state: state.map(str::to_owned),
        nonce,
        code_challenge,
        prompt,
        max_age,
        login_hint,
        id_token_hint,
        ui_locales,
        acr_values,
        claims,
        resource,
    })
}

fn missing(parameter: &'static str) -> OAuthError {
    OAuthError::about_parameter(ErrorCode::InvalidRequest, "missing parameter: ", parameter)
}

/// OpenID Connect Core §3.1.2.6 and §6: request objects by value or by
/// reference and the `registration` parameter get their own error codes when
/// unsupported. (A PAR `request_uri`, RFC 9126, is resolved by its endpoint
/// into the pushed parameters before this parser runs.)
fn unsupported_parameters(params: &Params<'_>) -> Result<(), OAuthError> {
    if params.has("request") {
        return Err(OAuthError::with_description(
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        ));
    }
    if params.has("request_uri") {
        return Err(OAuthError::with_description(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        ));
    }
    if params.has("registration") {
        return Err(OAuthError::with_description(
            ErrorCode::RegistrationNotSupported,
            "the registration parameter is not supported",
        ));
    }
    Ok(())
}

/// RFC 6749 §4.1.1: `response_type` is REQUIRED and, for this flow, `code`;
/// §4.1.2.1: any other value is `unsupported_response_type`.
fn parse_response_type(value: Option<&str>) -> Result<ResponseType, OAuthError> {
    match value {
        Some("code") => Ok(ResponseType::Code),
        Some(_) => Err(OAuthError::with_description(
            ErrorCode::UnsupportedResponseType,
            "only the authorization code flow (response_type=code) is supported",
        )),
        None => Err(missing("response_type")),
    }
}

fn parse_response_mode(value: Option<&str>) -> Result<Option<ResponseMode>, OAuthError> {
    match value {
        None => Ok(None),
        Some("query") => Ok(Some(ResponseMode::Query)),
        Some("fragment") => Ok(Some(ResponseMode::Fragment)),
        Some("form_post") => Ok(Some(ResponseMode::FormPost)),
        Some(_) => Err(OAuthError::with_description(
            ErrorCode::InvalidRequest,
            "response_mode must be query, fragment or form_post",
        )),
    }
}

/// OpenID Connect Core §3.1.2.1: `prompt` is a space-delimited list of
/// `none`, `login`, `consent`, `select_account`; "if this parameter contains
/// none with any other value, an error is returned". Unknown values are
/// refused rather than silently dropped.
fn parse_prompt(value: &str) -> Result<Prompt, OAuthError> {
    let mut prompt = Prompt::default();
    for token in value.split(' ').filter(|t| !t.is_empty()) {
        match token {
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            "select_account" => prompt.select_account = true,
            _ => {
                return Err(OAuthError::with_description(
                    ErrorCode::InvalidRequest,
                    "prompt values are none, login, consent and select_account",
                ));
            }
        }
    }
    if prompt.none && (prompt.login || prompt.consent || prompt.select_account) {
        return Err(OAuthError::with_description(
            ErrorCode::InvalidRequest,
            "prompt=none cannot be combined with other values",
        ));
    }
    Ok(prompt)
}

/// OpenID Connect Core §3.1.2.1: `max_age` is a number of seconds.
fn parse_max_age(value: &str) -> Result<u64, OAuthError> {
    let error = || {
        OAuthError::with_description(
            ErrorCode::InvalidRequest,
            "max_age must be a non-negative integer",
        )
    };
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(error());
    }
    value.parse().map_err(|_| error())
}

/// OpenID Connect Core §5.5: `claims` is a JSON object with optional
/// `userinfo` and `id_token` members, each itself an object.
fn parse_claims(value: &str) -> Result<serde_json::Value, OAuthError> {
    let error = || {
        OAuthError::with_description(
            ErrorCode::InvalidRequest,
            "claims must be a JSON object whose userinfo and id_token members are objects",
        )
    };
    let claims: serde_json::Value = serde_json::from_str(value).map_err(|_| error())?;
    let object = claims.as_object().ok_or_else(error)?;
    for member in ["userinfo", "id_token"] {
        if object.get(member).is_some_and(|m| !m.is_object()) {
            return Err(error());
        }
    }
    Ok(claims)
}

fn space_separated(value: &str) -> Vec<String> {
    value
        .split(' ')
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const REGISTERED: &str = "https://app.example.com/cb";
    const ISS: &str = "https://id.example.com";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    /// Where the outcome of a request goes.
    #[derive(Debug, PartialEq)]
    enum Outcome {
        /// Shown to the user: the error code.
        Page(ErrorCode),
        /// Redirected to the client: the Location (None for form_post) and the params.
        Redirect(Option<String>, Vec<(&'static str, String)>),
    }

    /// Runs the three steps as the endpoint will, then renders the success
    /// (with code `C`) or the error.
    fn run(query: &[(&str, &str)]) -> Outcome {
        let pairs: Vec<(String, String)> = query
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        let client = match ClientAndRedirect::parse(&pairs) {
            Ok(client) => client,
            Err(e) => return Outcome::Page(e.code),
        };
        let registered = vec![REGISTERED.to_owned(), "http://127.0.0.1/native".to_owned()];
        let redirect_uri = match client.resolve(&registered) {
            Ok(uri) => uri,
            Err(e) => return Outcome::Page(e.code),
        };
        let redirect = match parse_rest(&pairs, client, redirect_uri) {
            Ok(request) => request.code_response("C", ISS),
            Err(e) => e.to_redirect(ISS),
        };
        Outcome::Redirect(redirect.location(), redirect.params)
    }

    fn check(query: &[(&str, &str)], expected: Outcome) {
        assert_eq!(run(query), expected, "{query:?}");
    }

    fn base<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut query = vec![
            ("response_type", "code"),
            ("client_id", "app"),
            ("redirect_uri", REGISTERED),
            ("scope", "openid profile"),
            ("state", "af0ifjsldkj"),
        ];
        query.extend_from_slice(extra);
        query
    }

    fn error_redirect(code: &str, description: Option<&str>, state: Option<&str>) -> Outcome {
        let mut params = vec![("error", code.to_owned())];
        if let Some(d) = description {
            params.push(("error_description", d.to_owned()));
        }
        if let Some(s) = state {
            params.push(("state", s.to_owned()));
        }
        params.push(("iss", ISS.to_owned()));
        let mut encoded = url::form_urlencoded::Serializer::new(String::new());
        for (n, v) in &params {
            encoded.append_pair(n, v);
        }
        Outcome::Redirect(Some(format!("{REGISTERED}?{}", encoded.finish())), params)
    }

    fn redirected_error(code: ErrorCode) -> impl Fn(&Outcome) -> bool {
        move |outcome| matches!(outcome, Outcome::Redirect(_, params) if params.first().is_some_and(|(n, v)| *n == "error" && v == code.as_str()))
    }

    #[test]
    fn errors_about_client_or_redirect_uri_are_never_redirected() {
        check(
            &[("response_type", "code")],
            Outcome::Page(ErrorCode::InvalidRequest),
        );
        check(
            &[
                ("client_id", "app"),
                ("client_id", "other"),
                ("redirect_uri", REGISTERED),
            ],
            Outcome::Page(ErrorCode::InvalidRequest),
        );
        check(
            &base(&[("redirect_uri", REGISTERED)]),
            Outcome::Page(ErrorCode::InvalidRequest),
        );
        check(
            &[
                ("response_type", "code"),
                ("client_id", "app"),
                ("redirect_uri", "https://evil.example/cb"),
                ("state", "s"),
            ],
            Outcome::Page(ErrorCode::InvalidRequest),
        );
        // Two URIs registered, none requested.
        check(
            &[
                ("response_type", "code"),
                ("client_id", "app"),
                ("scope", "profile"),
            ],
            Outcome::Page(ErrorCode::InvalidRequest),
        );
        // OpenID Connect requires redirect_uri.
        check(
            &[
                ("response_type", "code"),
                ("client_id", "app"),
                ("scope", "openid"),
            ],
            Outcome::Page(ErrorCode::InvalidRequest),
        );
        // Even a request that is otherwise broken gets the page when the URI is wrong.
        check(
            &[
                ("client_id", "app"),
                ("redirect_uri", "https://evil.example/cb"),
                ("response_type", "token"),
            ],
            Outcome::Page(ErrorCode::InvalidRequest),
        );
    }

    #[test]
    fn successful_requests_redirect_with_code_state_and_iss() {
        check(
            &base(&[]),
            Outcome::Redirect(
                Some(format!(
                    "{REGISTERED}?code=C&state=af0ifjsldkj&iss=https%3A%2F%2Fid.example.com"
                )),
                vec![
                    ("code", "C".into()),
                    ("state", "af0ifjsldkj".into()),
                    ("iss", ISS.into()),
                ],
            ),
        );
        check(
            &base(&[("response_mode", "fragment")]),
            Outcome::Redirect(
                Some(format!(
                    "{REGISTERED}#code=C&state=af0ifjsldkj&iss=https%3A%2F%2Fid.example.com"
                )),
                vec![
                    ("code", "C".into()),
                    ("state", "af0ifjsldkj".into()),
                    ("iss", ISS.into()),
                ],
            ),
        );
        check(
            &base(&[("response_mode", "form_post")]),
            Outcome::Redirect(
                None,
                vec![
                    ("code", "C".into()),
                    ("state", "af0ifjsldkj".into()),
                    ("iss", ISS.into()),
                ],
            ),
        );
        // No state in, no state out; empty parameters count as absent (RFC 6749 §3.1).
        check(
            &[
                ("response_type", "code"),
                ("client_id", "app"),
                ("redirect_uri", REGISTERED),
                ("state", ""),
                ("nonce", ""),
            ],
            Outcome::Redirect(
                Some(format!(
                    "{REGISTERED}?code=C&iss=https%3A%2F%2Fid.example.com"
                )),
                vec![("code", "C".into()), ("iss", ISS.into())],
            ),
        );
        // Loopback with another port redirects to the requested port (RFC 8252 §7.3).
        check(
            &[
                ("response_type", "code"),
                ("client_id", "app"),
                ("redirect_uri", "http://127.0.0.1:5000/native"),
            ],
            Outcome::Redirect(
                Some("http://127.0.0.1:5000/native?code=C&iss=https%3A%2F%2Fid.example.com".into()),
                vec![("code", "C".into()), ("iss", ISS.into())],
            ),
        );
    }

    #[test]
    fn other_errors_are_redirected_with_state() {
        let state = Some("af0ifjsldkj");
        let cases: Vec<(Vec<(&str, &str)>, Outcome)> = vec![
            (
                base(&[("response_type", "token")])
                    .into_iter()
                    .skip(1)
                    .collect(),
                error_redirect(
                    "unsupported_response_type",
                    Some("only the authorization code flow (response_type=code) is supported"),
                    state,
                ),
            ),
            (
                base(&[]).into_iter().skip(1).collect(),
                error_redirect(
                    "invalid_request",
                    Some("missing parameter: response_type"),
                    state,
                ),
            ),
            (
                base(&[("scope", "x")]),
                error_redirect("invalid_request", Some("repeated parameter: scope"), state),
            ),
            (
                base(&[("state", "again")]),
                error_redirect("invalid_request", Some("repeated parameter: state"), None),
            ),
            (
                base(&[("code_challenge", CHALLENGE)]),
                error_redirect(
                    "invalid_request",
                    Some("code_challenge_method must be S256; plain is not supported"),
                    state,
                ),
            ),
            (
                base(&[("code_challenge_method", "S256")]),
                error_redirect(
                    "invalid_request",
                    Some("missing parameter: code_challenge"),
                    state,
                ),
            ),
            (
                base(&[("prompt", "none login")]),
                error_redirect(
                    "invalid_request",
                    Some("prompt=none cannot be combined with other values"),
                    state,
                ),
            ),
            (
                base(&[("request", "eyJ...")]),
                error_redirect(
                    "request_not_supported",
                    Some("request objects are not supported"),
                    state,
                ),
            ),
            (
                base(&[("request_uri", "https://app.example.com/r")]),
                error_redirect(
                    "request_uri_not_supported",
                    Some("request_uri is not supported"),
                    state,
                ),
            ),
            (
                base(&[("resource", "https://api.example.com/#x")]),
                error_redirect(
                    "invalid_target",
                    Some("resource must be an absolute URI without a fragment"),
                    state,
                ),
            ),
        ];
        for (query, expected) in cases {
            check(&query, expected);
        }
        // Invalid values of each checked parameter are redirected errors.
        let table = [
            (("scope", "openid  profile"), ErrorCode::InvalidScope),
            (("response_mode", "web_message"), ErrorCode::InvalidRequest),
            (("prompt", "create"), ErrorCode::InvalidRequest),
            (("max_age", "-1"), ErrorCode::InvalidRequest),
            (("max_age", "+5"), ErrorCode::InvalidRequest),
            (("max_age", "1.5"), ErrorCode::InvalidRequest),
            (("claims", "[]"), ErrorCode::InvalidRequest),
            (("claims", "{\"id_token\": []}"), ErrorCode::InvalidRequest),
            (("claims", "not json"), ErrorCode::InvalidRequest),
            (("resource", "/relative"), ErrorCode::InvalidTarget),
            (("registration", "{}"), ErrorCode::RegistrationNotSupported),
        ];
        for ((name, value), code) in table {
            let mut query = base(&[]);
            query.retain(|(n, _)| *n != name);
            query.push((name, value));
            let outcome = run(&query);
            assert!(
                redirected_error(code)(&outcome),
                "{name}={value}: {outcome:?}"
            );
        }
    }

    #[test]
    fn a_bad_response_mode_is_reported_by_query_and_a_good_one_is_honoured() {
        let mut query = base(&[("response_mode", "fragment"), ("response_type", "x")]);
        query.remove(0);
        let outcome = run(&query);
        assert!(
            matches!(&outcome, Outcome::Redirect(Some(l), _) if l.starts_with("https://app.example.com/cb#error=unsupported_response_type")),
            "{outcome:?}"
        );
    }

    #[test]
    fn every_parameter_lands_in_the_typed_request() {
        let pairs: Vec<(String, String)> = base(&[
            ("nonce", "n-0S6_WzA2Mj"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("prompt", "login consent"),
            ("max_age", "3600"),
            ("login_hint", "alice@example.com"),
            ("id_token_hint", "eyJhbGciOiJSUzI1NiJ9.e30.sig"),
            ("ui_locales", "fr-CA fr en"),
            ("acr_values", "urn:mace:incommon:iap:silver"),
            (
                "claims",
                r#"{"userinfo":{"email":{"essential":true}},"id_token":{"auth_time":null}}"#,
            ),
            ("resource", "https://api.example.com/"),
            ("resource", "https://other.example.com/v1?x=1"),
            ("display", "page"),
            ("unknown", "ignored"),
            ("unknown", "twice"),
        ])
        .into_iter()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
        let client = ClientAndRedirect::parse(&pairs);
        let request = client.and_then(|client| {
            let uri = client.resolve(&[REGISTERED.to_owned()])?;
            parse_rest(&pairs, client, uri).map_err(|e| e.error)
        });
        let Ok(request) = request else {
            panic!("parse failed: {request:?}");
        };
        assert_eq!(request.client_id, "app");
        assert_eq!(request.redirect_uri.as_str(), REGISTERED);
        assert!(request.redirect_uri.was_requested());
        assert_eq!(request.response_type, ResponseType::Code);
        assert_eq!(request.response_mode, ResponseMode::Query);
        assert_eq!(request.scope.to_string(), "openid profile");
        assert_eq!(request.state.as_deref(), Some("af0ifjsldkj"));
        assert_eq!(request.nonce.as_deref(), Some("n-0S6_WzA2Mj"));
        assert_eq!(
            request.code_challenge.as_ref().map(CodeChallenge::as_str),
            Some(CHALLENGE)
        );
        assert_eq!(
            request.prompt,
            Prompt {
                login: true,
                consent: true,
                ..Prompt::default()
            }
        );
        assert_eq!(request.max_age, Some(3600));
        assert_eq!(request.login_hint.as_deref(), Some("alice@example.com"));
        assert_eq!(
            request.id_token_hint.as_ref().map(Secret::expose),
            Some("eyJhbGciOiJSUzI1NiJ9.e30.sig")
        );
        assert_eq!(request.ui_locales, ["fr-CA", "fr", "en"]);
        assert_eq!(request.acr_values, ["urn:mace:incommon:iap:silver"]);
        assert_eq!(
            request.claims,
            Some(
                serde_json::json!({"userinfo": {"email": {"essential": true}}, "id_token": {"auth_time": null}})
            )
        );
        assert_eq!(
            request.resource,
            [
                "https://api.example.com/",
                "https://other.example.com/v1?x=1"
            ]
        );

        // A decision taken later goes back the same way.
        let later = request
            .error(OAuthError::new(ErrorCode::LoginRequired))
            .to_redirect(ISS);
        assert_eq!(
            later.location().as_deref(),
            Some(
                "https://app.example.com/cb?error=login_required&state=af0ifjsldkj&iss=https%3A%2F%2Fid.example.com"
            )
        );
        assert!(!format!("{later:?}").contains("af0ifjsldkj"));
    }

    #[test]
    fn location_keeps_the_registered_query() {
        let redirect = |uri: &str| Redirect {
            uri: uri.into(),
            mode: ResponseMode::Query,
            params: vec![("code", "a b&c".into())],
        };
        assert_eq!(
            redirect("https://a.example/cb").location().as_deref(),
            Some("https://a.example/cb?code=a+b%26c")
        );
        assert_eq!(
            redirect("https://a.example/cb?x=1").location().as_deref(),
            Some("https://a.example/cb?x=1&code=a+b%26c")
        );
        assert_eq!(
            redirect("https://a.example/cb?").location().as_deref(),
            Some("https://a.example/cb?code=a+b%26c")
        );
    }
}
