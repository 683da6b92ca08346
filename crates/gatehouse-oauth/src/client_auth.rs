//! Client authentication as it arrives at the token, introspection and
//! revocation endpoints (RFC 6749 §2.3): an HTTP Basic header
//! (`client_secret_basic`), credentials in the form body
//! (`client_secret_post`), a JWT assertion (`private_key_jwt`, RFC 7523 §2.2),
//! or a bare `client_id` from a public client (`none`, RFC 7591 §2).
//!
//! This module only says which method the request used and with what
//! material; checking the secret or the assertion is core's job.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use percent_encoding::percent_decode_str;

use crate::error::{ErrorCode, OAuthError};
use crate::params::{Params, Repeated};
use crate::secret::Secret;

/// RFC 7523 §2.2: the `client_assertion_type` of a JWT client assertion.
pub const JWT_BEARER_ASSERTION_TYPE: &str =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A `token_endpoint_auth_method` (RFC 7591 §2, OpenID Connect Core §9).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    PrivateKeyJwt,
    None,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::PrivateKeyJwt => "private_key_jwt",
            Self::None => "none",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "client_secret_basic" => Some(Self::ClientSecretBasic),
            "client_secret_post" => Some(Self::ClientSecretPost),
            "private_key_jwt" => Some(Self::PrivateKeyJwt),
            "none" => Some(Self::None),
            _ => None,
        }
    }
}

/// Client id and secret from an `Authorization: Basic` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BasicCredentials {
    pub client_id: String,
    pub client_secret: Secret,
}

/// Reads an `Authorization` header value. `Ok(None)` when the scheme is not
/// Basic (another scheme is not client authentication here).
///
/// RFC 6749 §2.3.1: the client id and secret are each encoded with
/// application/x-www-form-urlencoded, then joined by `:` and base64-encoded
/// as RFC 7617 describes; the scheme name is case-insensitive (RFC 7235
/// §2.1). A header that says Basic but does not decode is `invalid_client`.
pub fn parse_basic(header_value: &str) -> Result<Option<BasicCredentials>, OAuthError> {
    let Some((scheme, credentials)) = header_value.trim().split_once(' ') else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let malformed = || {
        OAuthError::with_description(
            ErrorCode::InvalidClient,
            "malformed Basic authorization header",
        )
    };
    let decoded = STANDARD
        .decode(credentials.trim())
        .map_err(|_| malformed())?;
    let decoded = Secret::new(String::from_utf8(decoded).map_err(|_| malformed())?);
    let (id, secret) = decoded.expose().split_once(':').ok_or_else(malformed)?;
    let client_id = form_urldecode(id).ok_or_else(malformed)?;
    let client_secret = form_urldecode(secret).ok_or_else(malformed)?;
    if client_id.is_empty() {
        return Err(malformed());
    }
    Ok(Some(BasicCredentials {
        client_id,
        client_secret: Secret::new(client_secret),
    }))
}

/// Client credentials found in a form body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BodyCredentials {
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    pub client_assertion_type: Option<String>,
    pub client_assertion: Option<Secret>,
}

impl BodyCredentials {
    /// Reads the four credential parameters; each may appear once (RFC 6749 §3.2).
    pub fn parse(pairs: &[(String, String)]) -> Result<Self, OAuthError> {
        let params = Params::new(pairs);
        let single = |name| params.single(name).map_err(Repeated::to_oauth_error);
        Ok(Self {
            client_id: single("client_id")?.map(str::to_owned),
            client_secret: single("client_secret")?.map(Secret::new),
            client_assertion_type: single("client_assertion_type")?.map(str::to_owned),
            client_assertion: single("client_assertion")?.map(Secret::new),
        })
    }
}

/// How a request identified its client, and with what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientAuthentication {
    SecretBasic {
        client_id: String,
        client_secret: Secret,
    },
    SecretPost {
        client_id: String,
        client_secret: Secret,
    },
    /// RFC 7523 §2.2. RFC 7521 §4.2: `client_id` is optional; when present it
    /// must name the assertion's subject (core checks).
    PrivateKeyJwt {
        client_id: Option<String>,
        assertion: Secret,
    },
    /// A public client that only names itself.
    None { client_id: String },
}

impl ClientAuthentication {
    /// Decides the method from the Basic header (if any) and the body.
    ///
    /// RFC 6749 §2.3: a client MUST NOT use more than one authentication
    /// method in a request (`invalid_request`); §5.2: no identification at all,
    /// or an unsupported method such as an unknown assertion type, is
    /// `invalid_client` (RFC 7521 §4.2.1 also uses `invalid_client` for
    /// assertion failures). A body `client_id` next to a Basic header must be
    /// the same client.
    pub fn from_request(
        basic: Option<BasicCredentials>,
        body: BodyCredentials,
    ) -> Result<Self, OAuthError> {
        let BodyCredentials {
            client_id,
            client_secret,
            client_assertion_type,
            client_assertion,
        } = body;
        let several = || {
            OAuthError::with_description(
                ErrorCode::InvalidRequest,
                "use exactly one client authentication method",
            )
        };
        let assertion = match (client_assertion_type, client_assertion) {
            (None, None) => None,
            (Some(kind), Some(assertion)) if kind == JWT_BEARER_ASSERTION_TYPE => Some(assertion),
            (Some(_), Some(_)) => {
                return Err(OAuthError::with_description(
                    ErrorCode::InvalidClient,
                    "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ));
            }
            (Some(_), None) => return Err(missing("client_assertion")),
            (None, Some(_)) => return Err(missing("client_assertion_type")),
        };
        match (basic, client_secret, assertion) {
            (Some(basic), None, None) => match client_id {
                Some(id) if id != basic.client_id => Err(OAuthError::with_description(
                    ErrorCode::InvalidRequest,
                    "client_id does not match the Authorization header",
                )),
                _ => Ok(Self::SecretBasic {
                    client_id: basic.client_id,
                    client_secret: basic.client_secret,
                }),
            },
            (None, Some(client_secret), None) => match client_id {
                Some(client_id) => Ok(Self::SecretPost {
                    client_id,
                    client_secret,
                }),
                None => Err(missing("client_id")),
            },
            (None, None, Some(assertion)) => Ok(Self::PrivateKeyJwt {
                client_id,
                assertion,
            }),
            (None, None, None) => match client_id {
                Some(client_id) => Ok(Self::None { client_id }),
                None => Err(OAuthError::with_description(
                    ErrorCode::InvalidClient,
                    "client authentication is required",
                )),
            },
            _ => Err(several()),
        }
    }

    /// The client id the request claims (for `private_key_jwt` it may only
    /// be in the assertion).
    pub fn client_id(&self) -> Option<&str> {
        match self {
            Self::SecretBasic { client_id, .. }
            | Self::SecretPost { client_id, .. }
            | Self::None { client_id } => Some(client_id),
            Self::PrivateKeyJwt { client_id, .. } => client_id.as_deref(),
        }
    }

    pub fn method(&self) -> AuthMethod {
        match self {
            Self::SecretBasic { .. } => AuthMethod::ClientSecretBasic,
            Self::SecretPost { .. } => AuthMethod::ClientSecretPost,
            Self::PrivateKeyJwt { .. } => AuthMethod::PrivateKeyJwt,
            Self::None { .. } => AuthMethod::None,
        }
    }
}

fn missing(parameter: &'static str) -> OAuthError {
    OAuthError::about_parameter(ErrorCode::InvalidRequest, "missing parameter: ", parameter)
}

/// application/x-www-form-urlencoded decoding of one component: `+` is a
/// space, `%XX` an octet; the result must be UTF-8.
fn form_urldecode(value: &str) -> Option<String> {
    let spaced = value.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    enum Input<'a> {
        /// An `Authorization` header value, alone.
        Header(&'a str),
        /// An optional `Authorization` header and a form body.
        Request(Option<&'a str>, &'a [(&'a str, &'a str)]),
    }

    /// `Ok((method, client_id, secret or assertion))` or the error code.
    type Expected<'a> = Result<Option<(AuthMethod, Option<&'a str>, &'a str)>, ErrorCode>;

    fn check(input: Input<'_>, expected: Expected<'_>) {
        let summary = |auth: ClientAuthentication| {
            let material = match &auth {
                ClientAuthentication::SecretBasic { client_secret, .. }
                | ClientAuthentication::SecretPost { client_secret, .. } => {
                    client_secret.expose().to_owned()
                }
                ClientAuthentication::PrivateKeyJwt { assertion, .. } => {
                    assertion.expose().to_owned()
                }
                ClientAuthentication::None { .. } => String::new(),
            };
            (auth.method(), auth.client_id().map(str::to_owned), material)
        };
        let actual = match input {
            Input::Header(value) => parse_basic(value).map(|basic| {
                basic.map(|b| {
                    (
                        AuthMethod::ClientSecretBasic,
                        Some(b.client_id),
                        b.client_secret.expose().to_owned(),
                    )
                })
            }),
            Input::Request(header, body) => {
                let pairs: Vec<(String, String)> = body
                    .iter()
                    .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                    .collect();
                header
                    .map(parse_basic)
                    .transpose()
                    .map(Option::flatten)
                    .and_then(|basic| Ok((basic, BodyCredentials::parse(&pairs)?)))
                    .and_then(|(basic, body)| ClientAuthentication::from_request(basic, body))
                    .map(|auth| Some(summary(auth)))
            }
        };
        let expected =
            expected.map(|o| o.map(|(m, id, s)| (m, id.map(str::to_owned), s.to_owned())));
        assert_eq!(actual.map_err(|e| e.code), expected);
    }

    fn basic(id: &str, secret: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
    }

    #[test]
    fn basic_header_per_rfc_6749_section_2_3_1() {
        use AuthMethod::ClientSecretBasic as B;
        // The RFC 6749 §4.1.3 example header: client s6BhdRkqt3, secret gX1fBat3bV.
        check(
            Input::Header("Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW"),
            Ok(Some((B, Some("s6BhdRkqt3"), "gX1fBat3bV"))),
        );
        check(
            Input::Header("basic czZCaGRSa3F0MzpnWDFmQmF0M2JW"),
            Ok(Some((B, Some("s6BhdRkqt3"), "gX1fBat3bV"))),
        );
        // Form-urlencoded components: '+' is a space, %3A a colon, %25 a percent sign.
        check(
            Input::Header(&basic("my%3Aclient", "p%25ss+word%2B")),
            Ok(Some((B, Some("my:client"), "p%ss word+"))),
        );
        check(
            Input::Header(&basic("client", "")),
            Ok(Some((B, Some("client"), ""))),
        );
        check(
            Input::Header(&basic("client", "a:b")),
            Ok(Some((B, Some("client"), "a:b"))),
        );
        check(Input::Header("Bearer abc"), Ok(None));
        check(Input::Header("Basic"), Ok(None));
        check(Input::Header("Basic !!!"), Err(ErrorCode::InvalidClient));
        check(
            Input::Header(&format!("Basic {}", STANDARD.encode("no-colon"))),
            Err(ErrorCode::InvalidClient),
        );
        check(
            Input::Header(&basic("", "secret")),
            Err(ErrorCode::InvalidClient),
        );
        check(
            Input::Header(&basic("client", "%ZZ%FF")),
            Err(ErrorCode::InvalidClient),
        );
        check(
            Input::Header(&format!("Basic {}", STANDARD.encode([b'a', b':', 0xff]))),
            Err(ErrorCode::InvalidClient),
        );
    }

    #[test]
    fn one_method_per_request() {
        use AuthMethod::{ClientSecretBasic, ClientSecretPost, PrivateKeyJwt};
        let header = basic("app", "s3cret");
        let h = Some(header.as_str());
        let jwt = JWT_BEARER_ASSERTION_TYPE;
        check(
            Input::Request(h, &[]),
            Ok(Some((ClientSecretBasic, Some("app"), "s3cret"))),
        );
        check(
            Input::Request(h, &[("client_id", "app")]),
            Ok(Some((ClientSecretBasic, Some("app"), "s3cret"))),
        );
        check(
            Input::Request(h, &[("client_id", "other")]),
            Err(ErrorCode::InvalidRequest),
        );
        check(
            Input::Request(h, &[("client_secret", "x")]),
            Err(ErrorCode::InvalidRequest),
        );
        check(
            Input::Request(
                h,
                &[("client_assertion_type", jwt), ("client_assertion", "eyJ")],
            ),
            Err(ErrorCode::InvalidRequest),
        );
        check(
            Input::Request(None, &[("client_id", "app"), ("client_secret", "s3cret")]),
            Ok(Some((ClientSecretPost, Some("app"), "s3cret"))),
        );
        check(
            Input::Request(None, &[("client_secret", "s3cret")]),
            Err(ErrorCode::InvalidRequest),
        );
        check(
            Input::Request(None, &[("client_id", "a"), ("client_id", "b")]),
            Err(ErrorCode::InvalidRequest),
        );
        check(
            Input::Request(
                None,
                &[
                    ("client_id", "app"),
                    ("client_secret", "s"),
                    ("client_assertion_type", jwt),
                    ("client_assertion", "eyJ"),
                ],
            ),
            Err(ErrorCode::InvalidRequest),
        );
        check(
            Input::Request(
                None,
                &[("client_assertion_type", jwt), ("client_assertion", "eyJ")],
            ),
            Ok(Some((PrivateKeyJwt, None, "eyJ"))),
        );
        check(
            Input::Request(
                None,
                &[
                    ("client_id", "app"),
                    ("client_assertion_type", jwt),
                    ("client_assertion", "eyJ"),
                ],
            ),
            Ok(Some((PrivateKeyJwt, Some("app"), "eyJ"))),
        );
        check(
            Input::Request(
                None,
                &[
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
                    ),
                    ("client_assertion", "x"),
                ],
            ),
            Err(ErrorCode::InvalidClient),
        );
        check(
            Input::Request(None, &[("client_assertion", "eyJ")]),
            Err(ErrorCode::InvalidRequest),
        );
        check(
            Input::Request(None, &[("client_assertion_type", jwt)]),
            Err(ErrorCode::InvalidRequest),
        );
        check(
            Input::Request(None, &[("client_id", "public-app")]),
            Ok(Some((AuthMethod::None, Some("public-app"), ""))),
        );
        check(Input::Request(None, &[]), Err(ErrorCode::InvalidClient));
        check(
            Input::Request(Some("Bearer x"), &[]),
            Err(ErrorCode::InvalidClient),
        );
    }

    #[test]
    fn auth_method_names_round_trip() {
        for method in [
            AuthMethod::ClientSecretBasic,
            AuthMethod::ClientSecretPost,
            AuthMethod::PrivateKeyJwt,
            AuthMethod::None,
        ] {
            assert_eq!(AuthMethod::parse(method.as_str()), Some(method));
        }
        assert_eq!(AuthMethod::parse("client_secret_jwt"), None);
    }
}
