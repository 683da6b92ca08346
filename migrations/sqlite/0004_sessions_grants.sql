-- Browser SSO sessions and OAuth grants, SQLite flavour.
-- Kept in step with migrations/postgres/0004_sessions_grants.sql.
-- Every secret (session cookie, authorization code, refresh token, pending
-- request handle) is stored only as its SHA-256 hex digest.

CREATE TABLE sso_sessions (
    id           TEXT    NOT NULL CONSTRAINT sso_sessions_pkey PRIMARY KEY,
    secret_hash  TEXT    NOT NULL,
    org_id       TEXT    NOT NULL CONSTRAINT sso_sessions_org_fk REFERENCES orgs (id) ON DELETE CASCADE,
    user_id      TEXT    NOT NULL CONSTRAINT sso_sessions_user_fk REFERENCES users (id) ON DELETE CASCADE,
    auth_time    INTEGER NOT NULL,
    amr          TEXT    NOT NULL,
    acr          TEXT,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    revoked_at   INTEGER,
    ip           TEXT,
    user_agent   TEXT
) STRICT;
CREATE UNIQUE INDEX sso_sessions_secret_uq ON sso_sessions (secret_hash);
CREATE INDEX sso_sessions_user_idx ON sso_sessions (user_id, id);

-- Which clients a session signed in to (single logout fans out to them).
CREATE TABLE session_clients (
    session_id TEXT    NOT NULL CONSTRAINT session_clients_session_fk REFERENCES sso_sessions (id) ON DELETE CASCADE,
    client_id  TEXT    NOT NULL,
    first_at   INTEGER NOT NULL,
    CONSTRAINT session_clients_pkey PRIMARY KEY (session_id, client_id)
) STRICT;

-- Validated authorization requests waiting for sign-in or consent.
CREATE TABLE pending_authorizations (
    handle_hash TEXT    NOT NULL CONSTRAINT pending_authorizations_pkey PRIMARY KEY,
    client_id   TEXT    NOT NULL,
    request     TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX pending_authorizations_expiry_idx ON pending_authorizations (expires_at);

-- One user's authorization of one client: the family every code, refresh token
-- and access token of one sign-in belongs to. Revoking it ends them all.
CREATE TABLE grants (
    id         TEXT    NOT NULL CONSTRAINT grants_pkey PRIMARY KEY,
    client_id  TEXT    NOT NULL,
    org_id     TEXT    NOT NULL CONSTRAINT grants_org_fk REFERENCES orgs (id) ON DELETE CASCADE,
    user_id    TEXT    NOT NULL CONSTRAINT grants_user_fk REFERENCES users (id) ON DELETE CASCADE,
    session_id TEXT,
    scope      TEXT    NOT NULL,
    resources  TEXT    NOT NULL,
    claims     TEXT,
    auth_time  INTEGER NOT NULL,
    acr        TEXT,
    amr        TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT;
CREATE INDEX grants_session_idx ON grants (session_id);
CREATE INDEX grants_user_idx ON grants (user_id, id);

CREATE TABLE authorization_codes (
    code_hash      TEXT    NOT NULL CONSTRAINT authorization_codes_pkey PRIMARY KEY,
    grant_id       TEXT    NOT NULL CONSTRAINT authorization_codes_grant_fk REFERENCES grants (id) ON DELETE CASCADE,
    redirect_uri   TEXT    NOT NULL,
    redirect_given INTEGER NOT NULL,
    code_challenge TEXT,
    nonce          TEXT,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    used_at        INTEGER
) STRICT;
CREATE INDEX authorization_codes_grant_idx ON authorization_codes (grant_id);

CREATE TABLE refresh_tokens (
    token_hash TEXT    NOT NULL CONSTRAINT refresh_tokens_pkey PRIMARY KEY,
    grant_id   TEXT    NOT NULL CONSTRAINT refresh_tokens_grant_fk REFERENCES grants (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT;
CREATE INDEX refresh_tokens_grant_idx ON refresh_tokens (grant_id);

-- Access tokens revoked before they expire (RFC 7009), by `jti`.
CREATE TABLE revoked_tokens (
    jti        TEXT    NOT NULL CONSTRAINT revoked_tokens_pkey PRIMARY KEY,
    expires_at INTEGER NOT NULL
) STRICT;

-- Remembered consent: the scopes a user allowed a client.
CREATE TABLE consents (
    user_id    TEXT    NOT NULL CONSTRAINT consents_user_fk REFERENCES users (id) ON DELETE CASCADE,
    client_id  TEXT    NOT NULL,
    scopes     TEXT    NOT NULL,
    granted_at INTEGER NOT NULL,
    CONSTRAINT consents_pkey PRIMARY KEY (user_id, client_id)
) STRICT;

-- Device authorization requests (RFC 8628): the device polls with the device
-- code (stored hashed); the user types the short user code on /device.
CREATE TABLE device_codes (
    device_code_hash TEXT    NOT NULL CONSTRAINT device_codes_pkey PRIMARY KEY,
    user_code        TEXT    NOT NULL,
    client_id        TEXT    NOT NULL,
    scope            TEXT    NOT NULL,
    resources        TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    user_id          TEXT,
    session_id       TEXT,
    auth_time        INTEGER,
    amr              TEXT,
    acr              TEXT,
    interval_secs    INTEGER NOT NULL,
    last_polled_at   INTEGER,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX device_codes_user_code_uq ON device_codes (user_code);
