//! Gatehouse core: domain types, services and the storage contracts.
//!
//! This crate knows no HTTP, no SQL and no templates. Time and randomness come
//! in through [`clock::Clock`] and [`clock::Rng`]; storage through [`store::Store`].

pub mod clock;
pub mod crypto;
pub mod error;
pub mod ids;
pub mod model;
pub mod password;
pub mod secret;
pub mod services;
pub mod store;

pub use error::{Error, FieldError, Result, StoreError};
