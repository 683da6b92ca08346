//! Gatehouse's OAuth 2.0 / OpenID Connect wire formats.
//!
//! A protocol request crosses three phases: **parse** (wire format to a typed
//! request, or the protocol's error), **decide** (a core service with the
//! store, the clock and the keys) and **render** (the typed result back to
//! the wire). This crate is the parse and render half for OAuth; it decides
//! nothing that needs state. It does no I/O, reads no clock (times are passed
//! in) and knows no HTTP types: statuses are `u16`, headers are strings.
//!
//! | module | owns |
//! | --- | --- |
//! | [`error`] | error codes, the JSON error body, statuses, error redirect parameters |
//! | [`params`] | request parameter lists: empty means absent, no repeats (RFC 6749 §3.1) |
//! | [`authorize`] | the authorization request in two steps, and the redirect answering it |
//! | [`redirect_uri`] | redirect URI registration rules and matching |
//! | [`scope`] | scope syntax and the [`scope::Scopes`] set |
//! | [`pkce`] | code challenge and verifier (S256 only) |
//! | [`resource`] | RFC 8707 resource indicators |
//! | [`token_request`] | the token endpoint form, one variant per grant |
//! | [`client_auth`] | how a request authenticates its client |
//! | [`registration`] | Dynamic Client Registration metadata (RFC 7591 §2) |
//! | [`jwk`] | signing keys, key generation, JWK/JWKS, thumbprints, verification key sets |
//! | [`jwt`] | signing and verifying JWTs |
//! | [`discovery`] | provider metadata and endpoint paths |
//! | [`secret`] | a redacting wrapper for secret request values |
//!
//! Every function that implements a MUST of a specification cites it.

pub mod authorize;
pub mod client_auth;
pub mod discovery;
pub mod error;
pub mod jwk;
pub mod jwt;
pub mod params;
pub mod pkce;
pub mod redirect_uri;
pub mod registration;
pub mod resource;
pub mod scope;
pub mod secret;
pub mod token_request;

pub use error::{ErrorCode, OAuthError};
