-- The list's sort key and the search index written once per group-commit
-- batch instead of once per message (issue 12; BENCHMARKS.md, "a
-- regression").
--
-- Migrations 0019 and 0021 made every send write, through triggers, the
-- conversation's last activity on each member row (moving both rows of a
-- direct conversation in the members_list index) and the message's words
-- in message_search (one INSERT statement per message, and FTS5 writes a
-- segment each time: at every statement's savepoint, and whenever a rowid
-- is lower than the one before — a conversation's newer messages have
-- lower rowids). Together they cost sends on SQLite 25–40 %.
--
-- Now the store writes both at the end of the update (batch or savepoint)
-- that made them due, in the same transaction (DB.flush, sqlite.go):
--   * members.activity_at: one UPDATE for the conversations whose last
--     activity moved (AllocSeq, UpdateConversation), from the
--     conversations' rows. A list read inside the transaction flushes
--     first, so it never sees a stale key.
--   * message_search: one INSERT ... SELECT of the messages created since
--     the last flush, in ascending rowid order (one segment), then
--     positions.next moves past them.
-- positions.next is therefore also the search index's watermark: a
-- message whose pos is below it has been flushed (it is in the index when
-- it is indexable and not in search_pending), a message at or above it was
-- created by the running transaction and is not in the index yet. The
-- update and delete triggers below leave such a message alone: the flush
-- indexes its state at that time, and a message deleted before then never
-- reaches the index. Every message gets its pos from the committer, which
-- saves positions.next with each batch, so nothing committed sits above it
-- (the store also checks that when it opens).

DROP TRIGGER IF EXISTS conversations_list_activity;
DROP TRIGGER IF EXISTS message_search_insert;
DROP TRIGGER IF EXISTS message_search_update;
DROP TRIGGER IF EXISTS message_search_delete;

UPDATE positions SET next = MAX(next, COALESCE((SELECT MAX(pos) FROM messages), 0) + 1,
    COALESCE((SELECT MAX(pos) FROM events), 0) + 1) WHERE id = 1;

CREATE TRIGGER message_search_update AFTER UPDATE OF body, deleted_at, kind ON messages
WHEN (old.body IS NOT new.body OR old.deleted_at IS NOT new.deleted_at OR old.kind IS NOT new.kind)
    AND old.pos < (SELECT next FROM positions WHERE id = 1)
BEGIN
    INSERT INTO message_search (message_search, rowid, body)
        SELECT 'delete', (SELECT search_num FROM conversations WHERE id = old.conversation_id) << 32 | (4294967295 - old.seq),
               parley_plain(old.id, old.body)
        WHERE old.deleted_at IS NULL AND old.body != '' AND old.kind != 'system'
          AND NOT EXISTS (SELECT 1 FROM search_pending WHERE pos = old.pos);
    DELETE FROM search_pending WHERE pos = old.pos;
    INSERT INTO message_search (rowid, body)
        SELECT (SELECT search_num FROM conversations WHERE id = new.conversation_id) << 32 | (4294967295 - new.seq),
               parley_plain(new.id, new.body)
        WHERE new.deleted_at IS NULL AND new.body != '' AND new.kind != 'system';
END;

CREATE TRIGGER message_search_delete AFTER DELETE ON messages
WHEN old.deleted_at IS NULL AND old.body != '' AND old.kind != 'system'
    AND old.pos < (SELECT next FROM positions WHERE id = 1)
BEGIN
    INSERT INTO message_search (message_search, rowid, body)
        SELECT 'delete', (SELECT search_num FROM conversations WHERE id = old.conversation_id) << 32 | (4294967295 - old.seq),
               parley_plain(old.id, old.body)
        WHERE NOT EXISTS (SELECT 1 FROM search_pending WHERE pos = old.pos);
    DELETE FROM search_pending WHERE pos = old.pos;
END;
