-- Group rules, PostgreSQL flavour. Kept in step with migrations/sqlite/0010_group_rules.sql.
-- A rule adds the users of its group's org whose state matches `expression` to the group.
-- Memberships a rule wrote carry rule_managed = true; manual ones are never touched by rules.

CREATE TABLE group_rules (
    id         TEXT COLLATE "C" NOT NULL CONSTRAINT group_rules_pkey PRIMARY KEY,
    org_id     TEXT COLLATE "C" NOT NULL CONSTRAINT group_rules_org_fk REFERENCES orgs (id) ON DELETE CASCADE,
    group_id   TEXT COLLATE "C" NOT NULL CONSTRAINT group_rules_group_fk REFERENCES groups (id) ON DELETE CASCADE,
    expression TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL
);
CREATE INDEX group_rules_org_idx ON group_rules (org_id, id);
CREATE INDEX group_rules_group_idx ON group_rules (group_id, id);

ALTER TABLE group_members ADD COLUMN rule_managed BOOLEAN NOT NULL DEFAULT FALSE;
