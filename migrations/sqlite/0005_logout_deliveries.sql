-- Back-channel logout notifications waiting to be sent, SQLite flavour.
-- Kept in step with migrations/postgres/0005_logout_deliveries.sql.
-- Rows are written in the transaction that revokes the session and deleted
-- when the client accepts the logout token or the retries run out. `claims`
-- is the unsigned claim set: tokens are signed at sending time.

CREATE TABLE logout_deliveries (
    id              TEXT    NOT NULL CONSTRAINT logout_deliveries_pkey PRIMARY KEY,
    client_id       TEXT    NOT NULL CONSTRAINT logout_deliveries_client_fk REFERENCES oauth_clients (client_id) ON DELETE CASCADE,
    uri             TEXT    NOT NULL,
    claims          TEXT    NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    last_error      TEXT
) STRICT;
-- The worker's claim: due rows, oldest due first.
CREATE INDEX logout_deliveries_due_idx ON logout_deliveries (next_attempt_at, id);
CREATE INDEX logout_deliveries_client_idx ON logout_deliveries (client_id);
