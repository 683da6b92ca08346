-- Every e-mail address of a user, for SCIM `emails.value` filters. SQLite
-- flavour; kept in step with migrations/postgres/0011_user_emails.sql.
--
-- A derived index, written only by the triggers below, never by the
-- application: the user's primary address (`users.email_lower`) and every
-- `value` of the `emails` array a provisioning client wrote
-- (`scim_users.resource`), lower-cased. The triggers run inside the writing
-- statement, so the index is exact in every transaction, whichever path
-- (admin API, SCIM, federation) changed the user.
--
-- `user_emails_fts` is an FTS5 trigram index over the same rows: `co` and
-- `ew` filters of three characters or more are answered from it instead of
-- scanning every address.

CREATE TABLE user_emails (
    user_id     TEXT NOT NULL CONSTRAINT user_emails_user_fk REFERENCES users (id) ON DELETE CASCADE,
    value_lower TEXT NOT NULL,
    CONSTRAINT user_emails_uq UNIQUE (user_id, value_lower)
) STRICT;
CREATE INDEX user_emails_value_idx ON user_emails (value_lower, user_id);

CREATE VIRTUAL TABLE user_emails_fts USING fts5 (
    value_lower,
    content = 'user_emails',
    content_rowid = 'rowid',
    tokenize = 'trigram case_sensitive 1'
);

CREATE TRIGGER user_emails_fts_insert AFTER INSERT ON user_emails BEGIN
    INSERT INTO user_emails_fts (rowid, value_lower) VALUES (NEW.rowid, NEW.value_lower);
END;
CREATE TRIGGER user_emails_fts_delete AFTER DELETE ON user_emails BEGIN
    INSERT INTO user_emails_fts (user_emails_fts, rowid, value_lower)
    VALUES ('delete', OLD.rowid, OLD.value_lower);
END;

-- SQLite has no stored procedures, so the derivation lives once, in an
-- INSTEAD OF trigger on a view: `INSERT INTO user_emails_refresh (user_id)`
-- derives that user's whole set again (delete, then the primary address and
-- the client's addresses, de-duplicated by UNION). No statement relies on a
-- conflict clause: SQLite lets an outer statement's policy (an upsert's, say)
-- override one inside a trigger.
CREATE VIEW user_emails_refresh (user_id) AS SELECT user_id FROM user_emails WHERE 0;

CREATE TRIGGER user_emails_refresh_insert INSTEAD OF INSERT ON user_emails_refresh BEGIN
    DELETE FROM user_emails WHERE user_id = NEW.user_id;
    INSERT INTO user_emails (user_id, value_lower)
    SELECT users.id, users.email_lower FROM users
    WHERE users.id = NEW.user_id AND users.email_lower IS NOT NULL AND users.email_lower <> ''
    UNION
    SELECT users.id, lower(json_extract(el.value, '$.value'))
    FROM users JOIN scim_users ON scim_users.user_id = users.id, json_each(
        CASE WHEN json_type(scim_users.resource, '$.emails') = 'array' THEN scim_users.resource ELSE '[]' END,
        CASE WHEN json_type(scim_users.resource, '$.emails') = 'array' THEN '$.emails' ELSE '$' END
    ) AS el
    WHERE users.id = NEW.user_id
      AND el.type = 'object'
      AND json_type(el.value, '$.value') = 'text'
      AND json_extract(el.value, '$.value') <> '';
END;

CREATE TRIGGER user_emails_user_insert AFTER INSERT ON users BEGIN
    INSERT INTO user_emails_refresh (user_id) VALUES (NEW.id);
END;

CREATE TRIGGER user_emails_user_update AFTER UPDATE OF email_lower ON users
WHEN OLD.email_lower IS NOT NEW.email_lower BEGIN
    INSERT INTO user_emails_refresh (user_id) VALUES (NEW.id);
END;

-- The provisioning client's addresses, on every write of its document.
CREATE TRIGGER user_emails_scim_insert AFTER INSERT ON scim_users BEGIN
    INSERT INTO user_emails_refresh (user_id) VALUES (NEW.user_id);
END;

CREATE TRIGGER user_emails_scim_update AFTER UPDATE OF resource ON scim_users
WHEN OLD.resource IS NOT NEW.resource BEGIN
    INSERT INTO user_emails_refresh (user_id) VALUES (NEW.user_id);
END;

-- The client's record removed while the user stays: only the primary address
-- remains (when the user itself is being deleted, nothing does).
CREATE TRIGGER user_emails_scim_delete AFTER DELETE ON scim_users BEGIN
    INSERT INTO user_emails_refresh (user_id) VALUES (OLD.user_id);
END;

-- The users that exist already.
INSERT INTO user_emails_refresh (user_id) SELECT id FROM users;
