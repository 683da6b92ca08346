//! `/oauth2/register`: OAuth 2.0 Dynamic Client Registration (RFC 7591) and
//! its management protocol (RFC 7592).
//!
//! - `POST /oauth2/register` takes the client metadata and an admin API
//!   bearer token as the initial access token (RFC 7591 §3): an org-scoped
//!   token registers into its org, an instance token into the default org
//!   unless the body names `org_id`. The 201 answer shows the client secret
//!   and the registration access token once.
//! - `GET`, `PUT` and `DELETE /oauth2/register/{client_id}` take that
//!   registration access token (RFC 7592 §2); a wrong token and an unknown
//!   client both answer 401 `invalid_token`.
//!
//! Errors are OAuth JSON bodies (`invalid_client_metadata`,
//! `invalid_redirect_uri`, RFC 7591 §3.2.2; `invalid_token` with
//! `WWW-Authenticate: Bearer`, RFC 6750 §3). Every answer is `no-store`.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use gatehouse_core::Error;
use gatehouse_core::ids::OrgId;
use gatehouse_core::model::Client;
use gatehouse_core::secret::Secret;
use gatehouse_core::services::ClientSettings;
use gatehouse_oauth::error::{ErrorCode, OAuthError};
use gatehouse_oauth::registration::ClientMetadata;
use serde_json::{Map, Value};

use crate::AppState;
use crate::api::clients::{response_types, secret_expires_at};
use crate::extract::{Ctx, PathParams};

/// Longest bearer token looked up.
const MAX_TOKEN_LEN: usize = 512;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/oauth2/register", post(register))
        .route(
            "/oauth2/register/{client_id}",
            axum::routing::get(read).put(replace).delete(deregister),
        )
}

/// An OAuth error answer: the JSON body, its status, `no-store`, and a Bearer
/// challenge on `invalid_token`.
#[derive(Debug)]
pub struct RegistrationError(OAuthError);

impl From<OAuthError> for RegistrationError {
    fn from(e: OAuthError) -> Self {
        Self(e)
    }
}

impl RegistrationError {
    fn code(code: ErrorCode, description: &'static str) -> Self {
        Self(OAuthError::with_description(code, description))
    }

    fn invalid_token() -> Self {
        Self::code(
            ErrorCode::InvalidToken,
            "the access token is missing, invalid, expired or revoked",
        )
    }
}

/// A core error as the registration endpoint reports it.
impl From<Error> for RegistrationError {
    fn from(e: Error) -> Self {
        match e {
            Error::Invalid(fields) => {
                let redirect = fields.iter().any(|f| {
                    f.field.starts_with("redirect_uris")
                        || f.field.starts_with("post_logout_redirect_uris")
                });
                if redirect {
                    Self::code(
                        ErrorCode::InvalidRedirectUri,
                        "a redirect URI is not acceptable",
                    )
                } else {
                    Self::code(
                        ErrorCode::InvalidClientMetadata,
                        "the client metadata is not acceptable",
                    )
                }
            }
            Error::NotFound(_) => Self::code(
                ErrorCode::InvalidClientMetadata,
                "org_id names no org this token may register into",
            ),
            Error::Conflict(_) => Self::code(
                ErrorCode::InvalidClientMetadata,
                "the client changed meanwhile; retry",
            ),
            Error::PreconditionFailed => Self::code(
                ErrorCode::InvalidClientMetadata,
                "the client changed meanwhile; retry",
            ),
            Error::AuthFailed | Error::Forbidden => Self::invalid_token(),
            Error::Unavailable => Self(OAuthError::new(ErrorCode::TemporarilyUnavailable)),
            Error::Store(cause) => {
                tracing::error!(cause = %cause, "storage error");
                Self(OAuthError::new(ErrorCode::ServerError))
            }
            Error::Internal(cause) => {
                tracing::error!(cause = %cause, "internal error");
                Self(OAuthError::new(ErrorCode::ServerError))
            }
        }
    }
}

impl IntoResponse for RegistrationError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.code.status()).unwrap_or(StatusCode::BAD_REQUEST);
        let mut response = (status, Json(self.0.to_json())).into_response();
        let headers = response.headers_mut();
        no_store(headers);
        if self.0.code == ErrorCode::InvalidToken
            && let Ok(challenge) = HeaderValue::from_str(&self.0.bearer_challenge())
        {
            headers.insert(header::WWW_AUTHENTICATE, challenge);
        }
        response
    }
}

fn no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// A JSON answer with `no-store`.
fn answer(status: StatusCode, body: Value) -> Response {
    let mut response = (status, Json(body)).into_response();
    no_store(response.headers_mut());
    response
}

/// RFC 6750 §2.1: the token of `Authorization: Bearer <token>`.
fn bearer(headers: &HeaderMap) -> Result<Secret, RegistrationError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(RegistrationError::invalid_token)?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.len() > MAX_TOKEN_LEN {
        return Err(RegistrationError::invalid_token());
    }
    Ok(Secret::new(token))
}

/// The request body as a JSON object (RFC 7591 §3.1: `application/json`).
fn json_object(headers: &HeaderMap, body: &[u8]) -> Result<Value, RegistrationError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(RegistrationError::code(
            ErrorCode::InvalidClientMetadata,
            "the request body must be application/json",
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(value @ Value::Object(_)) => Ok(value),
        _ => Err(RegistrationError::code(
            ErrorCode::InvalidClientMetadata,
            "the request body must be a JSON object",
        )),
    }
}

/// The client's registered metadata (RFC 7591 §3.2.1), without secrets.
fn metadata_json(state: &AppState, client: &Client) -> Map<String, Value> {
    let mut body = match ClientSettings::of(client).to_json() {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    body.insert("client_id".into(), client.client_id.clone().into());
    body.insert(
        "client_id_issued_at".into(),
        (client.created_at / 1000).into(),
    );
    body.insert("response_types".into(), response_types(client).into());
    if let Some(expires) = secret_expires_at(client) {
        body.insert("client_secret_expires_at".into(), expires.into());
    }
    body.insert(
        "registration_client_uri".into(),
        format!(
            "{}/oauth2/register/{}",
            state.config.public_url.trim_end_matches('/'),
            client.client_id
        )
        .into(),
    );
    body
}

/// RFC 7591 §3.1: register a client.
pub async fn register(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, RegistrationError> {
    let token = bearer(&headers)?;
    let who = match state.services.admin_auth.authenticate(token.expose()).await {
        Ok(who) => who,
        Err(Error::AuthFailed) => return Err(RegistrationError::invalid_token()),
        Err(other) => return Err(other.into()),
    };
    let doc = json_object(&headers, &body)?;
    let org_id = match doc.get("org_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.parse::<OrgId>().map_err(|_| {
            RegistrationError::code(ErrorCode::InvalidClientMetadata, "org_id must be an org id")
        })?),
        Some(_) => {
            return Err(RegistrationError::code(
                ErrorCode::InvalidClientMetadata,
                "org_id must be a string",
            ));
        }
    };
    let metadata = ClientMetadata::parse(&doc)?;
    let registration = state
        .services
        .clients
        .register(
            &who,
            &ctx,
            org_id,
            ClientSettings::from_registration(&metadata),
        )
        .await?;
    let mut body = metadata_json(&state, &registration.client);
    if let Some(secret) = &registration.secret {
        body.insert("client_secret".into(), secret.expose().into());
    }
    body.insert(
        "registration_access_token".into(),
        registration.registration_token.expose().into(),
    );
    body.insert(
        "org_id".into(),
        registration.client.org_id.to_string().into(),
    );
    Ok(answer(StatusCode::CREATED, Value::Object(body)))
}

/// RFC 7592 §2.1: read the registration.
pub async fn read(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams(client_id): PathParams<String>,
) -> Result<Response, RegistrationError> {
    let token = bearer(&headers)?;
    let client = state
        .services
        .clients
        .registered(&client_id, &token)
        .await?;
    Ok(answer(
        StatusCode::OK,
        Value::Object(metadata_json(&state, &client)),
    ))
}

/// RFC 7592 §2.2: replace the registration. The body carries `client_id`
/// (which must match) and every member to keep; omitted ones take defaults.
pub async fn replace(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    PathParams(client_id): PathParams<String>,
    body: Bytes,
) -> Result<Response, RegistrationError> {
    let token = bearer(&headers)?;
    // Authenticate before reading the body, so an unauthenticated caller learns nothing.
    state
        .services
        .clients
        .registered(&client_id, &token)
        .await?;
    let doc = json_object(&headers, &body)?;
    if doc.get("client_id").and_then(Value::as_str) != Some(client_id.as_str()) {
        return Err(RegistrationError::code(
            ErrorCode::InvalidClientMetadata,
            "client_id must be present and name this client (RFC 7592 section 2.2)",
        ));
    }
    let metadata = ClientMetadata::parse(&doc)?;
    let client = state
        .services
        .clients
        .replace_registration(
            &ctx,
            &client_id,
            &token,
            ClientSettings::from_registration(&metadata),
        )
        .await?;
    Ok(answer(
        StatusCode::OK,
        Value::Object(metadata_json(&state, &client)),
    ))
}

/// RFC 7592 §2.3: deregister.
pub async fn deregister(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    PathParams(client_id): PathParams<String>,
) -> Result<Response, RegistrationError> {
    let token = bearer(&headers)?;
    state
        .services
        .clients
        .delete_registration(&ctx, &client_id, &token)
        .await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    no_store(response.headers_mut());
    Ok(response)
}
