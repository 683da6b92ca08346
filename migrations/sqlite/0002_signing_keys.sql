-- Signing keys for JWTs (RS256, ES256, EdDSA), SQLite flavour.
-- Kept in step with migrations/postgres/0002_signing_keys.sql.
--
-- A key moves next -> active -> retired and is then deleted once remove_after
-- has passed. `next` keys are published in JWKS before they sign; `retired`
-- ones stay published until every token they signed has expired.
-- private_key is the PKCS#8 DER sealed with the master key (associated data
-- `signing_key:<kid>`), base64; public_jwk is the public JWK as JSON text.
-- kid is the RFC 7638 thumbprint of the public key.

CREATE TABLE signing_keys (
    kid          TEXT    NOT NULL CONSTRAINT signing_keys_pkey PRIMARY KEY,
    alg          TEXT    NOT NULL,
    state        TEXT    NOT NULL CONSTRAINT signing_keys_state_ck CHECK (state IN ('next', 'active', 'retired')),
    private_key  TEXT    NOT NULL,
    public_jwk   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    activated_at INTEGER,
    retired_at   INTEGER,
    remove_after INTEGER
) STRICT;
-- At most one active and at most one next key per algorithm: several nodes
-- starting at once, or rotating at once, cannot both succeed.
CREATE UNIQUE INDEX signing_keys_active_uq ON signing_keys (alg) WHERE state = 'active';
CREATE UNIQUE INDEX signing_keys_next_uq ON signing_keys (alg) WHERE state = 'next';
