-- Sign-in throttling, PostgreSQL flavour.
-- Kept in step with migrations/sqlite/0007_sign_in_throttle.sql.
-- `sign_in_counters`: consecutive sign-in failures per factor and scope
-- (account, client IP, account and IP, known device). `key` and `subject` are
-- SHA-256 hashes of the scope's values, so neither typed logins nor IP
-- addresses are stored in clear. `expires_at` is when an idle counter may go.
-- `sign_in_devices`: browsers that signed in to an account (the cookie's
-- SHA-256), judged on their own counter rather than the account-wide one.

CREATE TABLE sign_in_counters (
    key             TEXT COLLATE "C" NOT NULL CONSTRAINT sign_in_counters_pkey PRIMARY KEY,
    factor          TEXT    NOT NULL,
    scope           TEXT    NOT NULL,
    subject         TEXT COLLATE "C" NOT NULL,
    failures        BIGINT  NOT NULL,
    last_failure_at BIGINT  NOT NULL,
    blocked_until   BIGINT  NOT NULL,
    expires_at      BIGINT  NOT NULL
);
CREATE INDEX sign_in_counters_subject_idx ON sign_in_counters (subject);
CREATE INDEX sign_in_counters_expires_idx ON sign_in_counters (expires_at);

CREATE TABLE sign_in_devices (
    token_hash   TEXT COLLATE "C" NOT NULL,
    user_id      TEXT COLLATE "C" NOT NULL CONSTRAINT sign_in_devices_user_fk REFERENCES users (id) ON DELETE CASCADE,
    created_at   BIGINT  NOT NULL,
    last_used_at BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL,
    CONSTRAINT sign_in_devices_pkey PRIMARY KEY (token_hash, user_id)
);
CREATE INDEX sign_in_devices_user_idx ON sign_in_devices (user_id);
CREATE INDEX sign_in_devices_expires_idx ON sign_in_devices (expires_at);
