-- OAuth 2.0 / OpenID Connect clients, SQLite flavour.
-- Kept in step with migrations/postgres/0003_clients.sql: same tables, columns,
-- constraint and index names (gatehouse-store maps unique violations by those names).
-- Secrets and registration access tokens are SHA-256 hex; lists of strings,
-- lifetimes, JWKS, claim mappings and extra metadata are JSON text.

CREATE TABLE oauth_clients (
    client_id                           TEXT    NOT NULL CONSTRAINT oauth_clients_pkey PRIMARY KEY,
    org_id                              TEXT    NOT NULL CONSTRAINT oauth_clients_org_fk REFERENCES orgs (id) ON DELETE CASCADE,
    name                                TEXT    NOT NULL,
    auth_method                         TEXT    NOT NULL,
    secret_hash                         TEXT,
    secret_expires_at                   INTEGER,
    redirect_uris                       TEXT    NOT NULL,
    post_logout_redirect_uris           TEXT    NOT NULL,
    grant_types                         TEXT    NOT NULL,
    allowed_scopes                      TEXT    NOT NULL,
    require_pkce                        INTEGER NOT NULL,
    require_consent                     INTEGER NOT NULL,
    lifetimes                           TEXT    NOT NULL,
    subject_type                        TEXT    NOT NULL,
    sector_identifier                   TEXT,
    jwks                                TEXT,
    access_token_audience               TEXT    NOT NULL,
    backchannel_logout_uri              TEXT,
    backchannel_logout_session_required INTEGER NOT NULL,
    claim_mappings                      TEXT    NOT NULL,
    registration_token_hash             TEXT,
    metadata                            TEXT    NOT NULL,
    created_at                          INTEGER NOT NULL,
    updated_at                          INTEGER NOT NULL,
    version                             INTEGER NOT NULL
) STRICT;
CREATE INDEX oauth_clients_org_idx ON oauth_clients (org_id, client_id);

-- RFC 7523 §3: the `jti` of every accepted private_key_jwt assertion, kept
-- (as SHA-256 of client id and jti) until the assertion expires, so none is used twice.
CREATE TABLE client_assertion_jtis (
    jti_hash   TEXT    NOT NULL CONSTRAINT client_assertion_jtis_pkey PRIMARY KEY,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX client_assertion_jtis_expires_idx ON client_assertion_jtis (expires_at);
