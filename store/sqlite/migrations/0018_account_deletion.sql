-- Account deletion and owner redaction (issues 10 and 9).
--
-- users.deleted_at marks a deleted account (NULL: live). The row stays so
-- that anonymised messages keep a sender and the handle stays reserved;
-- the app wipes the profile and, after the reservation, renames the
-- handle to a value no registration can take.
ALTER TABLE users ADD COLUMN deleted_at INTEGER;

-- messages.redacted_at marks a message its owner (or a business admin)
-- redacted: its content is gone (body '' leaves the search index through
-- the message_search_update trigger) and views show a placeholder.
ALTER TABLE messages ADD COLUMN redacted_at INTEGER;

-- A user's messages in position order, for erasure in batches.
CREATE INDEX messages_sender ON messages(sender_id, pos);
