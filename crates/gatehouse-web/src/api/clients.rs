//! `/api/v1/clients`: OAuth clients. Create (the `client_secret` is in the 201
//! response only, with `Cache-Control: no-store`), list, read, merge-patch,
//! delete, and `POST /api/v1/clients/{client_id}/secret` to rotate the secret.
//! Members use RFC 7591 names where RFC 7591 has one ([`ClientSettings`]).

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use gatehouse_core::ids::OrgId;
use gatehouse_core::model::{Client, ClientQuery};
use gatehouse_core::services::{ClientSettings, NewClient};
use gatehouse_core::{Error, FieldError};
use serde_json::{Map, Value};

use crate::AppState;
use crate::api::{Listed, Versioned, absolute, etag, list_error, next_page_url, page_limit};
use crate::extract::{Admin, ApiQuery, Ctx, IfMatch, JsonBody, PathParams, decode, decode_value};
use crate::problem::ApiError;
use crate::rfc3339;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/clients", post(create_client).get(list_clients))
        .route(
            "/api/v1/clients/{client_id}",
            get(get_client).patch(update_client).delete(delete_client),
        )
        .route("/api/v1/clients/{client_id}/secret", post(rotate_secret))
}

/// An OAuth client as the admin API shows it (never its secret or hashes).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[schema(as = OAuthClient)]
pub struct ClientView {
    pub client_id: String,
    pub org_id: OrgId,
    #[serde(flatten)]
    pub settings: ClientSettings,
    /// `["code"]` when the client may use the authorization code grant.
    pub response_types: Vec<String>,
    /// Unix seconds when the secret expires; 0 when it never does (RFC 7591 §3.2.1).
    /// Absent for clients without a secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<i64>,
    /// Whether the client was registered through `/oauth2/register` (RFC 7591).
    pub dynamically_registered: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl From<Client> for ClientView {
    fn from(client: Client) -> Self {
        Self {
            settings: ClientSettings::of(&client),
            response_types: response_types(&client),
            client_secret_expires_at: secret_expires_at(&client),
            dynamically_registered: client.registration_token_hash.is_some(),
            created_at: rfc3339::format(client.created_at),
            updated_at: rfc3339::format(client.updated_at),
            client_id: client.client_id,
            org_id: client.org_id,
        }
    }
}

/// RFC 7591 §2.1: `code` goes with the `authorization_code` grant.
pub(crate) fn response_types(client: &Client) -> Vec<String> {
    if client.allows_grant(gatehouse_core::model::ClientGrant::AuthorizationCode) {
        vec!["code".to_owned()]
    } else {
        Vec::new()
    }
}

/// RFC 7591 §3.2.1 `client_secret_expires_at`: unix seconds, 0 for never;
/// `None` for a client without a secret.
pub(crate) fn secret_expires_at(client: &Client) -> Option<i64> {
    client
        .secret_hash
        .as_ref()
        .map(|_| client.secret_expires_at.map_or(0, |ms| ms / 1000))
}

/// One page of clients.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ClientList {
    pub items: Vec<ClientView>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// A newly created client, or one with a new secret: the secret is shown this once.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ClientWithSecret {
    #[serde(flatten)]
    pub client: ClientView,
    /// The client secret (for `client_secret_basic` and `client_secret_post`).
    /// It is not stored and cannot be shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

/// `POST /api/v1/clients`: the settings plus these members.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct CreateClientRequest {
    /// A chosen client id (1–128 characters of `A-Z a-z 0-9 . _ ~ -`); default a UUIDv7.
    pub client_id: Option<String>,
    /// Default: the caller's org (the default org for instance tokens).
    pub org_id: Option<OrgId>,
    /// Seconds until the secret expires; absent: never.
    pub client_secret_expires_in: Option<i64>,
    #[serde(flatten)]
    pub settings: ClientSettings,
}

/// `POST /api/v1/clients/{client_id}/secret`.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateSecretRequest {
    /// Seconds until the new secret expires; absent: never.
    #[serde(default)]
    pub client_secret_expires_in: Option<i64>,
}

/// Filters and paging of `GET /api/v1/clients`.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ClientListParams {
    /// Only clients of this org (instance tokens; an org token always sees only its own).
    pub org_id: Option<OrgId>,
    /// Page size, 1–1000; default 50.
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A response that carries a secret: `Cache-Control: no-store`, `ETag`, and `Location` when created.
struct WithSecret {
    status: StatusCode,
    location: Option<String>,
    version: i64,
    body: ClientWithSecret,
}

impl IntoResponse for WithSecret {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::ETAG, etag(self.version));
        if let Some(location) = self.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            headers.insert(header::LOCATION, location);
        }
        response
    }
}

fn client_url(state: &AppState, client_id: &str) -> String {
    absolute(state, &format!("/api/v1/clients/{client_id}"))
}

/// Splits the create body: the create-only members, then the settings
/// (unknown members are refused by [`ClientSettings`]).
fn parse_create(mut body: Map<String, Value>) -> Result<NewClient, ApiError> {
    let mut take = |name: &str| body.remove(name).filter(|v| !v.is_null());
    let client_id = match take("client_id") {
        None => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => {
            return Err(Error::invalid("client_id", "invalid_type", "must be a string").into());
        }
    };
    let org_id = match take("org_id") {
        None => None,
        Some(v) => Some(decode_value::<OrgId>(v).map_err(|_| {
            Error::Invalid(vec![FieldError::new(
                "org_id",
                "invalid_value",
                "must be an org id",
            )])
        })?),
    };
    let secret_expires_in = match take("client_secret_expires_in") {
        None => None,
        Some(v) => Some(v.as_i64().ok_or_else(|| {
            Error::invalid(
                "client_secret_expires_in",
                "invalid_type",
                "must be an integer",
            )
        })?),
    };
    let settings = ClientSettings::from_json(Value::Object(body))?;
    Ok(NewClient {
        client_id,
        org_id,
        settings,
        secret_expires_in,
    })
}

/// Create an OAuth client; a `client_secret` is generated for the
/// `client_secret_*` methods and shown in this response only.
#[utoipa::path(
    post,
    path = "/api/v1/clients",
    tag = "clients",
    request_body = CreateClientRequest,
    responses(
        (status = 201, description = "Created; `Location`, `ETag` and `Cache-Control: no-store` are set", body = ClientWithSecret),
        (status = 404, description = "`org_id` names no org this token can see", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The `client_id` is taken", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid settings", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_client(
    State(state): State<AppState>,
    Admin(who): Admin,
    Ctx(ctx): Ctx,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Response, ApiError> {
    let new = parse_create(body)?;
    let (client, secret) = state.services.clients.create(&who, &ctx, new).await?;
    Ok(WithSecret {
        status: StatusCode::CREATED,
        location: Some(client_url(&state, &client.client_id)),
        version: client.version,
        body: ClientWithSecret {
            client: client.into(),
            client_secret: secret.map(|s| s.expose().to_owned()),
        },
    }
    .into_response())
}

/// List OAuth clients, in `client_id` order.
#[utoipa::path(
    get,
    path = "/api/v1/clients",
    tag = "clients",
    params(ClientListParams),
    responses(
        (status = 200, description = "One page; `Link: <...>; rel=\"next\"` when there is more", body = ClientList),
        (status = 400, description = "Invalid parameters", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_clients(
    State(state): State<AppState>,
    Admin(who): Admin,
    ApiQuery(params): ApiQuery<ClientListParams>,
) -> Result<Listed<ClientList>, ApiError> {
    let limit = page_limit(params.limit)?;
    let query = ClientQuery {
        org_id: params.org_id,
        after: params.cursor.clone(),
        limit,
    };
    let page = state
        .services
        .clients
        .list(&who, query)
        .await
        .map_err(list_error)?;
    let link_params = [
        ("org_id", params.org_id.map(|o| o.to_string())),
        ("limit", params.limit.map(|l| l.to_string())),
    ];
    let next = next_page_url(
        &state,
        "/api/v1/clients",
        &link_params,
        page.next.as_deref(),
    );
    Ok(Listed::new(
        ClientList {
            items: page.items.into_iter().map(ClientView::from).collect(),
            next_cursor: page.next,
        },
        next,
    ))
}

/// Read an OAuth client (without its secret).
#[utoipa::path(
    get,
    path = "/api/v1/clients/{client_id}",
    tag = "clients",
    params(("client_id" = String, Path, description = "Client id")),
    responses(
        (status = 200, description = "The client; `ETag` is set", body = ClientView),
        (status = 404, description = "No such client visible to this token", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_client(
    State(state): State<AppState>,
    Admin(who): Admin,
    PathParams(client_id): PathParams<String>,
) -> Result<Versioned<ClientView>, ApiError> {
    let client = state.services.clients.get(&who, &client_id).await?;
    Ok(Versioned::ok(client.version, client.into()))
}

/// Update an OAuth client's settings with a JSON merge patch.
#[utoipa::path(
    patch,
    path = "/api/v1/clients/{client_id}",
    tag = "clients",
    params(
        ("client_id" = String, Path, description = "Client id"),
        ("If-Match" = Option<String>, Header, description = "The `ETag` the change is based on; 412 when stale"),
    ),
    request_body(content = ClientSettings, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The updated client; `ETag` is set", body = ClientView),
        (status = 404, description = "No such client visible to this token", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 412, description = "`If-Match` is stale", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid settings", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_client(
    State(state): State<AppState>,
    Admin(who): Admin,
    Ctx(ctx): Ctx,
    PathParams(client_id): PathParams<String>,
    IfMatch(if_match): IfMatch,
    JsonBody(patch): JsonBody<Value>,
) -> Result<Versioned<ClientView>, ApiError> {
    let client = state
        .services
        .clients
        .update(&who, &ctx, &client_id, &patch, if_match)
        .await?;
    Ok(Versioned::ok(client.version, client.into()))
}

/// Delete an OAuth client; its credentials stop working at once.
#[utoipa::path(
    delete,
    path = "/api/v1/clients/{client_id}",
    tag = "clients",
    params(("client_id" = String, Path, description = "Client id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such client visible to this token", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_client(
    State(state): State<AppState>,
    Admin(who): Admin,
    Ctx(ctx): Ctx,
    PathParams(client_id): PathParams<String>,
) -> Result<StatusCode, ApiError> {
    state
        .services
        .clients
        .delete(&who, &ctx, &client_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replace the client's secret; the new one is shown in this response only
/// and the old one stops working at once.
#[utoipa::path(
    post,
    path = "/api/v1/clients/{client_id}/secret",
    tag = "clients",
    params(("client_id" = String, Path, description = "Client id")),
    request_body(content = Option<RotateSecretRequest>, description = "Optional; `{}` or no body for a secret that never expires"),
    responses(
        (status = 200, description = "The client with its new `client_secret`; `Cache-Control: no-store`", body = ClientWithSecret),
        (status = 404, description = "No such client visible to this token", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The client does not use a secret", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn rotate_secret(
    State(state): State<AppState>,
    Admin(who): Admin,
    Ctx(ctx): Ctx,
    PathParams(client_id): PathParams<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let expires_in = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        decode::<RotateSecretRequest>(&body)?.client_secret_expires_in
    };
    let (client, secret) = state
        .services
        .clients
        .rotate_secret(&who, &ctx, &client_id, expires_in)
        .await?;
    Ok(WithSecret {
        status: StatusCode::OK,
        location: None,
        version: client.version,
        body: ClientWithSecret {
            client: client.into(),
            client_secret: Some(secret.expose().to_owned()),
        },
    }
    .into_response())
}
