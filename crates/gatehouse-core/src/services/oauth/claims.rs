//! Which of a user's claims a scope releases (OpenID Connect Core §5.4) and the
//! `claims` request parameter (§5.5), for ID tokens and userinfo.

use serde_json::{Map, Value, json};

use crate::model::{Client, User};

/// OIDC Core §5.4: the claims each standard scope requests.
const PROFILE: &[&str] = &[
    "name",
    "family_name",
    "given_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "updated_at",
];
const EMAIL: &[&str] = &["email", "email_verified"];
const ADDRESS: &[&str] = &["address"];
const PHONE: &[&str] = &["phone_number", "phone_number_verified"];

/// Every claim the user has that OIDC names, before any selection.
fn all_claims(user: &User) -> Map<String, Value> {
    let mut claims = match serde_json::to_value(&user.claims) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    claims.insert("preferred_username".into(), json!(user.username));
    if let Some(email) = &user.email {
        claims.insert("email".into(), json!(email));
        claims.insert("email_verified".into(), json!(user.email_verified));
    }
    if claims.contains_key("phone_number") && !claims.contains_key("phone_number_verified") {
        claims.insert("phone_number_verified".into(), json!(false));
    }
    claims.insert("updated_at".into(), json!(user.updated_at / 1000));
    claims
}

/// The names of claims released by `scopes`, plus the ones a client's custom
/// scopes map to profile attributes (`claim_mappings`: scope → attribute names).
fn released<'a>(scopes: impl Iterator<Item = &'a str>, client: &'a Client) -> Vec<String> {
    let mut names = Vec::new();
    for scope in scopes {
        let standard: &[&str] = match scope {
            "profile" => PROFILE,
            "email" => EMAIL,
            "address" => ADDRESS,
            "phone" => PHONE,
            _ => &[],
        };
        names.extend(standard.iter().map(|s| (*s).to_owned()));
        if let Some(Value::Array(mapped)) = client.claim_mappings.get(scope) {
            names.extend(mapped.iter().filter_map(Value::as_str).map(str::to_owned));
        }
    }
    names
}

/// The claims for one target (`"id_token"` or `"userinfo"`): those the scopes
/// release plus the standard claims the `claims` request asks for by name (OIDC
/// Core §5.5). Custom attributes are released only through a client's claim
/// mappings, never by a request naming them.
pub(super) fn select(
    user: &User,
    client: &Client,
    scopes: impl Iterator<Item = impl AsRef<str>>,
    claims_request: Option<&Value>,
    target: &str,
) -> Map<String, Value> {
    let scopes: Vec<String> = scopes.map(|s| s.as_ref().to_owned()).collect();
    let all = all_claims(user);
    let mut out = Map::new();
    for name in released(scopes.iter().map(String::as_str), client) {
        if let Some(value) = all.get(&name).or_else(|| user.attributes.get(&name)) {
            out.insert(name, value.clone());
        }
    }
    if let Some(Value::Object(requested)) = claims_request.and_then(|c| c.get(target)) {
        for name in requested.keys() {
            if let Some(value) = all.get(name) {
                out.insert(name.clone(), value.clone());
            }
        }
    }
    out
}
