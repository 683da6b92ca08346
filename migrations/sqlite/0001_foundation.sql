-- Gatehouse foundation schema, SQLite flavour.
-- Kept in step with migrations/postgres/0001_foundation.sql: same tables, columns,
-- constraint and index names (gatehouse-store maps unique violations by those names).
-- Timestamps are unix milliseconds, ids are text UUIDv7, JSON is text decoded in Rust.
-- Tables are STRICT so a value of the wrong type is refused rather than coerced.
-- Text keys use SQLite's default BINARY collation (code-point order, the same order
-- PostgreSQL's "C" collation gives), so keyset pagination agrees on both engines.

CREATE TABLE orgs (
    id              TEXT    NOT NULL CONSTRAINT orgs_pkey PRIMARY KEY,
    slug            TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    profile_schema  TEXT,
    password_policy TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    version         INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX orgs_slug_uq ON orgs (slug);

CREATE TABLE org_domains (
    domain TEXT NOT NULL CONSTRAINT org_domains_pkey PRIMARY KEY,
    org_id TEXT NOT NULL CONSTRAINT org_domains_org_fk REFERENCES orgs (id) ON DELETE CASCADE
) STRICT;
CREATE INDEX org_domains_org_idx ON org_domains (org_id);

CREATE TABLE users (
    id                TEXT    NOT NULL CONSTRAINT users_pkey PRIMARY KEY,
    org_id            TEXT    NOT NULL CONSTRAINT users_org_fk REFERENCES orgs (id) ON DELETE CASCADE,
    username          TEXT    NOT NULL,
    username_lower    TEXT    NOT NULL,
    email             TEXT,
    email_lower       TEXT,
    email_verified    INTEGER NOT NULL,
    claims            TEXT    NOT NULL,
    attributes        TEXT    NOT NULL,
    status            TEXT    NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    status_changed_at INTEGER NOT NULL,
    last_login_at     INTEGER,
    version           INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX users_org_username_uq ON users (org_id, username_lower);
-- NULL e-mails never collide; the partial index also keeps them out of the index.
CREATE UNIQUE INDEX users_org_email_uq ON users (org_id, email_lower) WHERE email_lower IS NOT NULL;
CREATE INDEX users_org_id_idx ON users (org_id, id);
CREATE INDEX users_org_status_idx ON users (org_id, status, id);
CREATE INDEX users_username_idx ON users (username_lower, id);
-- Serves the instance-wide e-mail filter in id order (WHERE email_lower = ? ORDER BY id).
CREATE INDEX users_email_idx ON users (email_lower, id);

CREATE TABLE password_credentials (
    user_id    TEXT    NOT NULL CONSTRAINT password_credentials_pkey PRIMARY KEY
                       CONSTRAINT password_credentials_user_fk REFERENCES users (id) ON DELETE CASCADE,
    hash       TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE password_history (
    id         INTEGER NOT NULL CONSTRAINT password_history_pkey PRIMARY KEY AUTOINCREMENT,
    user_id    TEXT    NOT NULL CONSTRAINT password_history_user_fk REFERENCES users (id) ON DELETE CASCADE,
    hash       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX password_history_user_idx ON password_history (user_id, id);

CREATE TABLE groups (
    id          TEXT    NOT NULL CONSTRAINT groups_pkey PRIMARY KEY,
    org_id      TEXT    NOT NULL CONSTRAINT groups_org_fk REFERENCES orgs (id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    name_lower  TEXT    NOT NULL,
    description TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    version     INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX groups_org_name_uq ON groups (org_id, name_lower);
CREATE INDEX groups_name_idx ON groups (name_lower, id);

CREATE TABLE group_members (
    group_id   TEXT    NOT NULL CONSTRAINT group_members_group_fk REFERENCES groups (id) ON DELETE CASCADE,
    user_id    TEXT    NOT NULL CONSTRAINT group_members_user_fk REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    CONSTRAINT group_members_pkey PRIMARY KEY (group_id, user_id)
) STRICT;
CREATE INDEX group_members_user_idx ON group_members (user_id);

CREATE TABLE api_tokens (
    id         TEXT    NOT NULL CONSTRAINT api_tokens_pkey PRIMARY KEY,
    -- NULL: instance scope.
    org_id     TEXT             CONSTRAINT api_tokens_org_fk REFERENCES orgs (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    hash       TEXT    NOT NULL,
    prefix     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER,
    created_by TEXT    NOT NULL
) STRICT;
CREATE UNIQUE INDEX api_tokens_hash_uq ON api_tokens (hash);
CREATE INDEX api_tokens_org_idx ON api_tokens (org_id, created_at);

-- No foreign keys: events outlive what they describe.
CREATE TABLE audit_events (
    id          TEXT    NOT NULL CONSTRAINT audit_events_pkey PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor       TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    target_type TEXT    NOT NULL,
    target_id   TEXT,
    org_id      TEXT,
    outcome     TEXT    NOT NULL,
    ip          TEXT,
    user_agent  TEXT,
    request_id  TEXT,
    details     TEXT    NOT NULL
) STRICT;
CREATE INDEX audit_events_org_idx ON audit_events (org_id, id);
CREATE INDEX audit_events_target_idx ON audit_events (target_id);

CREATE TABLE meta (
    key   TEXT NOT NULL CONSTRAINT meta_pkey PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
