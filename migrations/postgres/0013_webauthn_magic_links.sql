-- WebAuthn / passkeys and e-mailed sign-in links, PostgreSQL flavour. Kept in step with migrations/sqlite/0013_webauthn_magic_links.sql.

-- The public-key credential of a `factors` row of kind 'webauthn' (one row
-- each, deleted with the factor). `credential` is webauthn-rs's `Passkey`
-- as JSON (public key, counter, backup flags: nothing secret);
-- `credential_id` is its base64url id, unique across users. Using a
-- credential advances `sign_count` by one compare-and-set `UPDATE … WHERE
-- sign_count < $new`, so a counter that goes backwards (a cloned key) or a
-- replayed assertion changes nothing.
CREATE TABLE webauthn_credentials (
    factor_id       TEXT COLLATE "C" NOT NULL CONSTRAINT webauthn_credentials_pkey PRIMARY KEY
                            CONSTRAINT webauthn_credentials_factor_fk REFERENCES factors (id) ON DELETE CASCADE,
    user_id         TEXT COLLATE "C" NOT NULL CONSTRAINT webauthn_credentials_user_fk REFERENCES users (id) ON DELETE CASCADE,
    credential_id   TEXT COLLATE "C" NOT NULL,
    name            TEXT    NOT NULL,
    credential      TEXT    NOT NULL,
    sign_count      BIGINT  NOT NULL,
    backup_eligible BOOLEAN NOT NULL,
    backup_state    BOOLEAN NOT NULL,
    created_at      BIGINT  NOT NULL
);
CREATE UNIQUE INDEX webauthn_credentials_credential_idx ON webauthn_credentials (credential_id);
CREATE INDEX webauthn_credentials_user_idx ON webauthn_credentials (user_id);

-- A registration or authentication ceremony between its options and the
-- authenticator's answer, found by the SHA-256 of a random handle the page
-- carries. `binding` says whose it is (`mfa:<challenge hash>`,
-- `session:<id>`, `login`); `state` is webauthn-rs's ceremony state as JSON.
-- Finishing deletes the row (`DELETE … RETURNING`): single use, so of
-- concurrent finishes exactly one gets the state.
CREATE TABLE webauthn_ceremonies (
    handle_hash TEXT COLLATE "C" NOT NULL CONSTRAINT webauthn_ceremonies_pkey PRIMARY KEY,
    kind        TEXT    NOT NULL,
    user_id     TEXT COLLATE "C" CONSTRAINT webauthn_ceremonies_user_fk REFERENCES users (id) ON DELETE CASCADE,
    binding     TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL
);
CREATE INDEX webauthn_ceremonies_expiry_idx ON webauthn_ceremonies (expires_at);

-- A sign-in link sent by e-mail ("magic link"): the SHA-256 of its token,
-- the SHA-256 of a secret held in a cookie by the browser that asked for it
-- (the link works only there), where the sign-in continues (a pending
-- authorization handle or a local path), 10 minutes, spent once by
-- `UPDATE … WHERE used_at IS NULL`.
CREATE TABLE magic_links (
    token_hash   TEXT COLLATE "C" NOT NULL CONSTRAINT magic_links_pkey PRIMARY KEY,
    user_id      TEXT COLLATE "C" NOT NULL CONSTRAINT magic_links_user_fk REFERENCES users (id) ON DELETE CASCADE,
    browser_hash TEXT    NOT NULL,
    request      TEXT,
    return_to    TEXT,
    created_at   BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL,
    used_at      BIGINT
);
CREATE INDEX magic_links_user_idx ON magic_links (user_id, created_at);
CREATE INDEX magic_links_expiry_idx ON magic_links (expires_at);
