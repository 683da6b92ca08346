-- SCIM 2.0 provisioning, PostgreSQL flavour. Kept in step with
-- migrations/sqlite/0008_scim.sql.
--
-- `scim_users.resource` is the SCIM User document as the provisioning client
-- last wrote it (RFC 7643 §4.1), without what `users` holds authoritatively
-- (id, userName, externalId, active, meta). Rendering overlays the `users`
-- row on it, so a change through the admin API wins. `external_id` is the
-- client's own identifier, looked up by filters (`externalId eq "…"`).

ALTER TABLE api_tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'admin';

CREATE TABLE scim_users (
    user_id     TEXT COLLATE "C" NOT NULL CONSTRAINT scim_users_pkey PRIMARY KEY
                     CONSTRAINT scim_users_user_fk REFERENCES users (id) ON DELETE CASCADE,
    external_id TEXT COLLATE "C",
    resource    TEXT NOT NULL
);
CREATE INDEX scim_users_external_idx ON scim_users (external_id);

CREATE TABLE scim_groups (
    group_id    TEXT COLLATE "C" NOT NULL CONSTRAINT scim_groups_pkey PRIMARY KEY
                     CONSTRAINT scim_groups_group_fk REFERENCES groups (id) ON DELETE CASCADE,
    external_id TEXT COLLATE "C"
);
CREATE INDEX scim_groups_external_idx ON scim_groups (external_id);

-- `meta.lastModified gt "…"` with paging, per org.
CREATE INDEX users_org_updated_idx ON users (org_id, updated_at, id);
