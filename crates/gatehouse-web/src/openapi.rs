//! The OpenAPI 3.1 description of the admin API, generated from the handlers'
//! `#[utoipa::path]` attributes and the DTOs' `ToSchema` derives, served at
//! `GET /api/openapi.json` and committed as `docs/openapi.json` (a test fails
//! when the two differ; `UPDATE_OPENAPI=1` rewrites the file).

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Content, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::AppState;
use crate::api::group_rules;
use crate::api::{
    api_tokens, clients, factors, groups, lockout, orgs, saml, sessions, signon_policies, users,
};
use crate::health;
use crate::problem::{PROBLEM_JSON, Problem};

/// The name of the bearer security scheme.
const BEARER: &str = "bearer";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Gatehouse admin API",
        description = "Manage organizations, users, groups, OAuth clients and admin API tokens. \
Authenticate with `Authorization: Bearer <token>` (an API token, or `GATEHOUSE_BOOTSTRAP_TOKEN`). \
Errors are RFC 9457 problem details (`application/problem+json`). Lists are cursor-paginated: \
pass `next_cursor` back as `cursor`, or follow the `Link: rel=\"next\"` header. Updates are JSON \
merge patches (RFC 7396) and take `If-Match` with the resource's `ETag`."
    ),
    paths(
        health::healthz,
        health::readyz,
        users::create_user,
        users::list_users,
        users::get_user,
        users::update_user,
        users::delete_user,
        users::transition_user,
        users::set_password,
        users::user_groups,
        orgs::create_org,
        orgs::list_orgs,
        orgs::get_org,
        orgs::update_org,
        orgs::delete_org,
        groups::create_group,
        groups::list_groups,
        groups::get_group,
        groups::update_group,
        groups::delete_group,
        groups::list_members,
        groups::add_member,
        groups::remove_member,
        api_tokens::create_token,
        api_tokens::list_tokens,
        api_tokens::get_token,
        api_tokens::revoke_token,
        sessions::list_sessions,
        sessions::revoke_session,
        clients::create_client,
        clients::list_clients,
        clients::get_client,
        clients::update_client,
        clients::delete_client,
        clients::rotate_secret,
        lockout::get_lockout,
        lockout::clear_lockout,
        saml::create_service_provider,
        saml::list_service_providers,
        saml::get_service_provider,
        saml::update_service_provider,
        saml::delete_service_provider,
        saml::list_assignments,
        saml::add_assignment,
        saml::remove_assignment,
        factors::enrol_factor,
        factors::list_factors,
        factors::get_factor,
        factors::delete_factor,
        factors::reset_factors,
        factors::activate_factor,
        factors::import_u2f,
        factors::generate_recovery_codes,
        factors::recovery_codes_left,
        factors::list_questions,
        signon_policies::get_org_policy,
        signon_policies::put_org_policy,
        signon_policies::delete_org_policy,
        signon_policies::get_client_policy,
        signon_policies::put_client_policy,
        signon_policies::delete_client_policy,
        signon_policies::get_sp_policy,
        signon_policies::put_sp_policy,
        signon_policies::delete_sp_policy,
        group_rules::create_rule,
        group_rules::list_rules,
        group_rules::delete_rule,
    ),
    components(schemas(
        Problem,
        gatehouse_core::FieldError,
        gatehouse_core::model::LifecycleAction,
        gatehouse_core::model::SortOrder,
        users::UserSortKey,
        gatehouse_core::model::SecondFactorRule,
    )),
    modifiers(&AdminApiSecurity),
    tags(
        (name = "users", description = "Users: profile, lifecycle, password, groups"),
        (name = "orgs", description = "Organizations (tenants)"),
        (name = "groups", description = "Groups and memberships"),
        (name = "api-tokens", description = "Admin API tokens"),
        (name = "sessions", description = "Browser SSO sessions"),
        (name = "clients", description = "OAuth 2.0 / OpenID Connect clients"),
        (name = "saml", description = "SAML 2.0 service providers"),
        (name = "factors", description = "Second factors: TOTP, recovery codes, reset"),
        (name = "signon-policies", description = "When a second factor is required, per org and per client"),
        (name = "health", description = "Liveness and readiness probes"),
    )
)]
struct ApiDoc;

/// Declares the bearer scheme and, on every `/api/v1` operation, requires it
/// and documents the 401 and the generic problem answer.
struct AdminApiSecurity;

impl Modify for AdminApiSecurity {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An admin API token (`gha_...`) or the bootstrap token",
                    ))
                    .build(),
            ),
        );
        for (path, item) in openapi.paths.paths.iter_mut() {
            if !path.starts_with("/api/v1/") {
                continue;
            }
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                require_bearer(operation);
            }
        }
    }
}

fn require_bearer(operation: &mut Operation) {
    operation.security = Some(vec![SecurityRequirement::new::<_, _, &str>(BEARER, [])]);
    let problem = || {
        Content::new(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
            "Problem",
        ))))
    };
    operation.responses.responses.insert(
        "401".to_owned(),
        RefOr::T(
            ResponseBuilder::new()
                .description("No token, or an invalid, expired or revoked one; `WWW-Authenticate: Bearer` is set")
                .content(PROBLEM_JSON, problem())
                .build(),
        ),
    );
    operation.responses.responses.insert(
        "default".to_owned(),
        RefOr::T(
            ResponseBuilder::new()
                .description("Any other error")
                .content(PROBLEM_JSON, problem())
                .build(),
        ),
    );
}

/// The document as a value.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The document as committed in `docs/openapi.json`: pretty JSON with a final newline.
pub fn to_pretty_json() -> String {
    let mut text = document().to_pretty_json().unwrap_or_default();
    text.push('\n');
    text
}

/// `GET /api/openapi.json`.
pub async fn serve(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        state.openapi.clone(),
    )
        .into_response()
}
