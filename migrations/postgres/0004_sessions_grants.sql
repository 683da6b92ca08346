-- Browser SSO sessions and OAuth grants, PostgreSQL flavour.
-- Kept in step with migrations/sqlite/0004_sessions_grants.sql.
-- Every secret (session cookie, authorization code, refresh token, pending
-- request handle) is stored only as its SHA-256 hex digest.

CREATE TABLE sso_sessions (
    id           TEXT COLLATE "C" NOT NULL CONSTRAINT sso_sessions_pkey PRIMARY KEY,
    secret_hash  TEXT    NOT NULL,
    org_id       TEXT COLLATE "C" NOT NULL CONSTRAINT sso_sessions_org_fk REFERENCES orgs (id) ON DELETE CASCADE,
    user_id      TEXT COLLATE "C" NOT NULL CONSTRAINT sso_sessions_user_fk REFERENCES users (id) ON DELETE CASCADE,
    auth_time    BIGINT  NOT NULL,
    amr          TEXT    NOT NULL,
    acr          TEXT,
    created_at   BIGINT  NOT NULL,
    last_seen_at BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL,
    revoked_at   BIGINT ,
    ip           TEXT,
    user_agent   TEXT
);
CREATE UNIQUE INDEX sso_sessions_secret_uq ON sso_sessions (secret_hash);
CREATE INDEX sso_sessions_user_idx ON sso_sessions (user_id, id);

-- Which clients a session signed in to (single logout fans out to them).
CREATE TABLE session_clients (
    session_id TEXT COLLATE "C" NOT NULL CONSTRAINT session_clients_session_fk REFERENCES sso_sessions (id) ON DELETE CASCADE,
    client_id  TEXT COLLATE "C" NOT NULL,
    first_at   BIGINT  NOT NULL,
    CONSTRAINT session_clients_pkey PRIMARY KEY (session_id, client_id)
);

-- Validated authorization requests waiting for sign-in or consent.
CREATE TABLE pending_authorizations (
    handle_hash TEXT COLLATE "C" NOT NULL CONSTRAINT pending_authorizations_pkey PRIMARY KEY,
    client_id   TEXT COLLATE "C" NOT NULL,
    request     TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL
);
CREATE INDEX pending_authorizations_expiry_idx ON pending_authorizations (expires_at);

-- One user's authorization of one client: the family every code, refresh token
-- and access token of one sign-in belongs to. Revoking it ends them all.
CREATE TABLE grants (
    id         TEXT COLLATE "C" NOT NULL CONSTRAINT grants_pkey PRIMARY KEY,
    client_id  TEXT COLLATE "C" NOT NULL,
    org_id     TEXT COLLATE "C" NOT NULL CONSTRAINT grants_org_fk REFERENCES orgs (id) ON DELETE CASCADE,
    user_id    TEXT COLLATE "C" NOT NULL CONSTRAINT grants_user_fk REFERENCES users (id) ON DELETE CASCADE,
    session_id TEXT COLLATE "C",
    scope      TEXT    NOT NULL,
    resources  TEXT    NOT NULL,
    claims     TEXT,
    auth_time  BIGINT  NOT NULL,
    acr        TEXT,
    amr        TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX grants_session_idx ON grants (session_id);
CREATE INDEX grants_user_idx ON grants (user_id, id);

CREATE TABLE authorization_codes (
    code_hash      TEXT COLLATE "C" NOT NULL CONSTRAINT authorization_codes_pkey PRIMARY KEY,
    grant_id       TEXT COLLATE "C" NOT NULL CONSTRAINT authorization_codes_grant_fk REFERENCES grants (id) ON DELETE CASCADE,
    redirect_uri   TEXT    NOT NULL,
    redirect_given BOOLEAN NOT NULL,
    code_challenge TEXT,
    nonce          TEXT,
    created_at     BIGINT  NOT NULL,
    expires_at     BIGINT  NOT NULL,
    used_at        BIGINT
);
CREATE INDEX authorization_codes_grant_idx ON authorization_codes (grant_id);

CREATE TABLE refresh_tokens (
    token_hash TEXT COLLATE "C" NOT NULL CONSTRAINT refresh_tokens_pkey PRIMARY KEY,
    grant_id   TEXT COLLATE "C" NOT NULL CONSTRAINT refresh_tokens_grant_fk REFERENCES grants (id) ON DELETE CASCADE,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL,
    used_at    BIGINT
);
CREATE INDEX refresh_tokens_grant_idx ON refresh_tokens (grant_id);

-- Access tokens revoked before they expire (RFC 7009), by `jti`.
CREATE TABLE revoked_tokens (
    jti        TEXT COLLATE "C" NOT NULL CONSTRAINT revoked_tokens_pkey PRIMARY KEY,
    expires_at BIGINT  NOT NULL
);

-- Remembered consent: the scopes a user allowed a client.
CREATE TABLE consents (
    user_id    TEXT COLLATE "C" NOT NULL CONSTRAINT consents_user_fk REFERENCES users (id) ON DELETE CASCADE,
    client_id  TEXT COLLATE "C" NOT NULL,
    scopes     TEXT    NOT NULL,
    granted_at BIGINT  NOT NULL,
    CONSTRAINT consents_pkey PRIMARY KEY (user_id, client_id)
);

-- Device authorization requests (RFC 8628): the device polls with the device
-- code (stored hashed); the user types the short user code on /device.
CREATE TABLE device_codes (
    device_code_hash TEXT COLLATE "C" NOT NULL CONSTRAINT device_codes_pkey PRIMARY KEY,
    user_code        TEXT COLLATE "C" NOT NULL,
    client_id        TEXT COLLATE "C" NOT NULL,
    scope            TEXT    NOT NULL,
    resources        TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    user_id          TEXT COLLATE "C",
    session_id       TEXT COLLATE "C",
    auth_time        BIGINT,
    amr              TEXT,
    acr              TEXT,
    interval_secs    BIGINT  NOT NULL,
    last_polled_at   BIGINT,
    created_at       BIGINT  NOT NULL,
    expires_at       BIGINT  NOT NULL
);
CREATE UNIQUE INDEX device_codes_user_code_uq ON device_codes (user_code);
