-- SAML 2.0 identity provider, SQLite flavour.
-- Kept in step with migrations/postgres/0009_saml.sql: same tables, columns,
-- constraint and index names (gatehouse-store maps unique violations by those names).
-- An SP's settings (endpoints, certificates, NameID and attribute rules) are JSON text.
-- Pending sign-in handles are stored only as SHA-256 hex.

CREATE TABLE saml_service_providers (
    id         TEXT NOT NULL CONSTRAINT saml_service_providers_pkey PRIMARY KEY,
    org_id     TEXT NOT NULL CONSTRAINT saml_service_providers_org_fk REFERENCES orgs (id) ON DELETE CASCADE,
    entity_id  TEXT    NOT NULL,
    settings   TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version    INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX saml_service_providers_entity_id_uq ON saml_service_providers (entity_id);
CREATE INDEX saml_service_providers_org_idx ON saml_service_providers (org_id, id);

-- AuthnRequest / LogoutRequest IDs seen, single-use until they expire.
CREATE TABLE saml_request_ids (
    sp_id      TEXT NOT NULL CONSTRAINT saml_request_ids_sp_fk REFERENCES saml_service_providers (id) ON DELETE CASCADE,
    request_id TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    CONSTRAINT saml_request_ids_pkey PRIMARY KEY (sp_id, request_id)
) STRICT;
CREATE INDEX saml_request_ids_expiry_idx ON saml_request_ids (expires_at);

-- Validated sign-in requests waiting for the user to sign in.
CREATE TABLE saml_pending (
    handle_hash    TEXT    NOT NULL CONSTRAINT saml_pending_pkey PRIMARY KEY,
    sp_id          TEXT NOT NULL CONSTRAINT saml_pending_sp_fk REFERENCES saml_service_providers (id) ON DELETE CASCADE,
    request_id     TEXT,
    acs_url        TEXT    NOT NULL,
    relay_state    TEXT,
    force_authn    INTEGER NOT NULL,
    is_passive     INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX saml_pending_expiry_idx ON saml_pending (expires_at);

-- Which SPs a session signed in to, with the SessionIndex and NameID sent.
CREATE TABLE saml_session_participants (
    session_id      TEXT NOT NULL CONSTRAINT saml_session_participants_session_fk REFERENCES sso_sessions (id) ON DELETE CASCADE,
    sp_id           TEXT NOT NULL CONSTRAINT saml_session_participants_sp_fk REFERENCES saml_service_providers (id) ON DELETE CASCADE,
    session_index   TEXT    NOT NULL,
    name_id         TEXT    NOT NULL,
    name_id_format  TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    CONSTRAINT saml_session_participants_pkey PRIMARY KEY (session_id, sp_id)
) STRICT;
CREATE UNIQUE INDEX saml_session_participants_index_uq ON saml_session_participants (sp_id, session_index);
