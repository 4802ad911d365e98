-- From SQLite's 0018_account_deletion.sql: account deletion and owner
-- redaction (issues 10 and 9).
ALTER TABLE users ADD COLUMN deleted_at BIGINT;
ALTER TABLE messages ADD COLUMN redacted_at BIGINT;
CREATE INDEX messages_sender ON messages(sender_id, pos);
