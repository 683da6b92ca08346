-- Authentication factors, the half-signed-in state and sign-on policies, PostgreSQL flavour.
-- Kept in step with migrations/sqlite/0006_factors.sql.
-- TOTP secrets are sealed with the master key; recovery codes, challenge
-- handles, e-mail codes and remembered-device tokens are stored only as
-- their SHA-256 hex digest.

-- One enrolled (or enrolling) factor of a user. `last_step` is the last TOTP
-- time step accepted: accepting a code is `UPDATE … WHERE last_step < step`,
-- so a code is accepted once even under concurrent submissions.
CREATE TABLE factors (
    id            TEXT COLLATE "C" NOT NULL CONSTRAINT factors_pkey PRIMARY KEY,
    user_id       TEXT COLLATE "C" NOT NULL CONSTRAINT factors_user_fk REFERENCES users (id) ON DELETE CASCADE,
    org_id        TEXT COLLATE "C" NOT NULL CONSTRAINT factors_org_fk REFERENCES orgs (id) ON DELETE CASCADE,
    kind          TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    sealed_secret TEXT,
    last_step     BIGINT ,
    created_at    BIGINT  NOT NULL,
    activated_at  BIGINT ,
    last_used_at  BIGINT 
);
CREATE INDEX factors_user_idx ON factors (user_id, id);

-- Single-use recovery codes (10 per generation; a new generation replaces them).
CREATE TABLE recovery_codes (
    user_id    TEXT COLLATE "C" NOT NULL CONSTRAINT recovery_codes_user_fk REFERENCES users (id) ON DELETE CASCADE,
    code_hash  TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    used_at    BIGINT ,
    CONSTRAINT recovery_codes_pkey PRIMARY KEY (user_id, code_hash)
);

-- A sign-in between its password and its second factor, found by the hash of
-- a short-lived cookie. `session_id` is set for a step-up of an existing
-- session. `email_code_hash` holds the e-mailed one-time code, if one was sent.
CREATE TABLE mfa_challenges (
    handle_hash      TEXT    NOT NULL CONSTRAINT mfa_challenges_pkey PRIMARY KEY,
    user_id          TEXT COLLATE "C" NOT NULL CONSTRAINT mfa_challenges_user_fk REFERENCES users (id) ON DELETE CASCADE,
    org_id           TEXT COLLATE "C" NOT NULL,
    session_id       TEXT,
    amr              TEXT    NOT NULL,
    allowed          TEXT    NOT NULL,
    enrol_factor_id  TEXT,
    remember_days    BIGINT  NOT NULL,
    email_code_hash  TEXT,
    email_expires_at BIGINT ,
    attempts         BIGINT  NOT NULL,
    created_at       BIGINT  NOT NULL,
    expires_at       BIGINT  NOT NULL,
    completed_at     BIGINT 
);
CREATE INDEX mfa_challenges_expiry_idx ON mfa_challenges (expires_at);

-- "Remember this device": a browser cookie's hash that skips the second factor.
CREATE TABLE trusted_devices (
    token_hash TEXT    NOT NULL CONSTRAINT trusted_devices_pkey PRIMARY KEY,
    user_id    TEXT COLLATE "C" NOT NULL CONSTRAINT trusted_devices_user_fk REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL
);
CREATE INDEX trusted_devices_user_idx ON trusted_devices (user_id);

-- Sign-on policies of an org (`scope_kind = 'org'`) or an OAuth client
-- (`'client'`), as JSON.
CREATE TABLE signon_policies (
    scope_kind TEXT    NOT NULL,
    scope_id   TEXT COLLATE "C" NOT NULL,
    org_id     TEXT COLLATE "C" NOT NULL CONSTRAINT signon_policies_org_fk REFERENCES orgs (id) ON DELETE CASCADE,
    policy     TEXT    NOT NULL,
    updated_at BIGINT  NOT NULL,
    CONSTRAINT signon_policies_pkey PRIMARY KEY (scope_kind, scope_id)
);
