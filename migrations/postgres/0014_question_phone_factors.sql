-- Knowledge-question and phone (SMS / voice) factors, PostgreSQL flavour.
-- Kept in step with migrations/sqlite/0014_question_phone_factors.sql.
--
-- `detail` is the question id of a 'question' factor or the channel
-- ('sms' / 'voice') of a 'phone' factor, in clear. `answer_hash` is the
-- argon2id hash (PHC string) of a question's normalised answer. A phone
-- number is sealed with the master key in `sealed_secret`; `hint` is its
-- masked form for lists (`+•••••••1234`).
--
-- A phone factor's one-time code: `code_hash` (SHA-256 hex), when it was
-- sent and when it expires, and the wrong tries against it. Spending it is
-- one `UPDATE … WHERE code_hash = $h AND code_expires_at > $now AND
-- code_attempts < 5` that clears it, so a code is accepted once even
-- under concurrent submissions.
ALTER TABLE factors ADD COLUMN detail TEXT;
ALTER TABLE factors ADD COLUMN hint TEXT;
ALTER TABLE factors ADD COLUMN answer_hash TEXT;
ALTER TABLE factors ADD COLUMN code_hash TEXT;
ALTER TABLE factors ADD COLUMN code_sent_at BIGINT;
ALTER TABLE factors ADD COLUMN code_expires_at BIGINT;
ALTER TABLE factors ADD COLUMN code_attempts BIGINT NOT NULL DEFAULT 0;
