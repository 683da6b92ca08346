-- Per-session idle timeout and remembered-device sign-ins, SQLite flavour.
-- Kept in step with migrations/postgres/0015_session_policy.sql.
--
-- `idle_secs`: the session's idle timeout, set from the org's sign-on policy
-- when the session starts; NULL (every session before this migration) means
-- the server-wide setting.
-- `remembered_device`: the sign-in skipped a required second factor because
-- the browser is a remembered device (acr 1, no `mfa` in amr).
ALTER TABLE sso_sessions ADD COLUMN idle_secs INTEGER;
ALTER TABLE sso_sessions ADD COLUMN remembered_device INTEGER NOT NULL DEFAULT 0;
