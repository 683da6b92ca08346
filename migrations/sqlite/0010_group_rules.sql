-- Group rules, SQLite flavour. Kept in step with migrations/postgres/0010_group_rules.sql.
-- A rule adds the users of its group's org whose state matches `expression` to the group.
-- Memberships a rule wrote carry rule_managed = 1; manual ones (0) are never touched by rules.

CREATE TABLE group_rules (
    id         TEXT NOT NULL CONSTRAINT group_rules_pkey PRIMARY KEY,
    org_id     TEXT NOT NULL CONSTRAINT group_rules_org_fk REFERENCES orgs (id) ON DELETE CASCADE,
    group_id   TEXT NOT NULL CONSTRAINT group_rules_group_fk REFERENCES groups (id) ON DELETE CASCADE,
    expression TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX group_rules_org_idx ON group_rules (org_id, id);
CREATE INDEX group_rules_group_idx ON group_rules (group_id, id);

ALTER TABLE group_members ADD COLUMN rule_managed INTEGER NOT NULL DEFAULT 0;
