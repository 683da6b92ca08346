-- Every e-mail address of a user, for SCIM `emails.value` filters.
-- PostgreSQL flavour; kept in step with migrations/sqlite/0011_user_emails.sql.
--
-- A derived index, written only by the triggers below, never by the
-- application: the user's primary address (`users.email_lower`) and every
-- `value` of the `emails` array a provisioning client wrote
-- (`scim_users.resource`), lower-cased. The triggers run inside the writing
-- statement, so the index is exact in every transaction, whichever path
-- (admin API, SCIM, federation) changed the user.
--
-- Where the pg_trgm extension can be created (it is a trusted extension
-- shipped with PostgreSQL), a trigram GIN index answers `co` and `ew`
-- filters (`LIKE '%…%'`); without it they scan this narrow table.

CREATE TABLE user_emails (
    user_id     TEXT COLLATE "C" NOT NULL CONSTRAINT user_emails_user_fk REFERENCES users (id) ON DELETE CASCADE,
    value_lower TEXT COLLATE "C" NOT NULL,
    CONSTRAINT user_emails_pkey PRIMARY KEY (user_id, value_lower)
);
CREATE INDEX user_emails_value_idx ON user_emails (value_lower, user_id);

DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    EXECUTE 'CREATE INDEX user_emails_value_trgm_idx ON user_emails USING gin (value_lower gin_trgm_ops)';
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm is not available (%): emails.value co filters scan user_emails', SQLERRM;
END
$$;

-- Derives the user's set of addresses again.
CREATE FUNCTION user_emails_refresh(uid TEXT) RETURNS void LANGUAGE sql AS $$
    DELETE FROM user_emails WHERE user_id = uid;
    INSERT INTO user_emails (user_id, value_lower)
    SELECT users.id, users.email_lower FROM users
    WHERE users.id = uid AND users.email_lower IS NOT NULL AND users.email_lower <> ''
    UNION
    SELECT scim_users.user_id, lower(el ->> 'value')
    FROM scim_users
    JOIN users ON users.id = scim_users.user_id,
    jsonb_array_elements(CASE WHEN jsonb_typeof(scim_users.resource::jsonb -> 'emails') = 'array'
                              THEN scim_users.resource::jsonb -> 'emails' ELSE '[]'::jsonb END) AS el
    WHERE scim_users.user_id = uid
      AND jsonb_typeof(el -> 'value') = 'string'
      AND el ->> 'value' <> ''
    ON CONFLICT DO NOTHING;
$$;

CREATE FUNCTION user_emails_of_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM user_emails_refresh(NEW.id);
    RETURN NULL;
END
$$;

CREATE FUNCTION user_emails_of_scim_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM user_emails_refresh(OLD.user_id);
    ELSE
        PERFORM user_emails_refresh(NEW.user_id);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER user_emails_user_insert AFTER INSERT ON users
    FOR EACH ROW WHEN (NEW.email_lower IS NOT NULL) EXECUTE FUNCTION user_emails_of_user();
CREATE TRIGGER user_emails_user_update AFTER UPDATE OF email_lower ON users
    FOR EACH ROW WHEN (OLD.email_lower IS DISTINCT FROM NEW.email_lower) EXECUTE FUNCTION user_emails_of_user();
CREATE TRIGGER user_emails_scim_insert AFTER INSERT ON scim_users
    FOR EACH ROW EXECUTE FUNCTION user_emails_of_scim_user();
CREATE TRIGGER user_emails_scim_update AFTER UPDATE OF resource ON scim_users
    FOR EACH ROW WHEN (OLD.resource IS DISTINCT FROM NEW.resource) EXECUTE FUNCTION user_emails_of_scim_user();
CREATE TRIGGER user_emails_scim_delete AFTER DELETE ON scim_users
    FOR EACH ROW EXECUTE FUNCTION user_emails_of_scim_user();

-- The users that exist already.
INSERT INTO user_emails (user_id, value_lower)
SELECT id, email_lower FROM users WHERE email_lower IS NOT NULL AND email_lower <> ''
UNION
SELECT scim_users.user_id, lower(el ->> 'value')
FROM scim_users,
jsonb_array_elements(CASE WHEN jsonb_typeof(scim_users.resource::jsonb -> 'emails') = 'array'
                          THEN scim_users.resource::jsonb -> 'emails' ELSE '[]'::jsonb END) AS el
WHERE jsonb_typeof(el -> 'value') = 'string' AND el ->> 'value' <> ''
ON CONFLICT DO NOTHING;
