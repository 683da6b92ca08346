-- SAML completion (issue 6), SQLite flavour. Kept in step with
-- migrations/postgres/0012_saml_completion.sql.

-- The AuthnRequest's RequestedAuthnContext (JSON: comparison and classes), if any.
ALTER TABLE saml_pending ADD COLUMN requested_authn_context TEXT;

-- App assignment: which users and groups may use an application (a SAML
-- service provider, `app_kind = 'saml'`; an OAuth client, `'oauth'`) whose
-- settings say assignment is required.
CREATE TABLE app_assignments (
    app_kind     TEXT    NOT NULL,
    app_id       TEXT    NOT NULL,
    subject_kind TEXT    NOT NULL,
    subject_id   TEXT    NOT NULL,
    org_id       TEXT NOT NULL CONSTRAINT app_assignments_org_fk REFERENCES orgs (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    CONSTRAINT app_assignments_pkey PRIMARY KEY (app_kind, app_id, subject_kind, subject_id),
    CONSTRAINT app_assignments_subject_ck CHECK (subject_kind IN ('user', 'group'))
) STRICT;
CREATE INDEX app_assignments_subject_idx ON app_assignments (subject_kind, subject_id);

-- Front-channel single logout in progress: the LogoutRequests still to send
-- to the SPs of an ended session, one at a time (JSON state), the ID of the
-- one outstanding, and a random handle (stored hashed, fresh at every step)
-- for the page's "continue" link. Any node continues it.
CREATE TABLE saml_logout_chains (
    id                 TEXT NOT NULL CONSTRAINT saml_logout_chains_pkey PRIMARY KEY,
    handle_hash        TEXT    NOT NULL,
    current_request_id TEXT    NOT NULL,
    state              TEXT    NOT NULL,
    created_at         INTEGER NOT NULL,
    expires_at         INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX saml_logout_chains_handle_uq ON saml_logout_chains (handle_hash);
CREATE INDEX saml_logout_chains_request_idx ON saml_logout_chains (current_request_id);
CREATE INDEX saml_logout_chains_expiry_idx ON saml_logout_chains (expires_at);
