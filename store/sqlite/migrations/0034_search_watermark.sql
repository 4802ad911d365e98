-- The search index catches up every few batches instead of at every one
-- (issue 3; store/sqlite/indexer.go).
--
-- At 1,000 messages/s a group-commit batch holds one to three sends, and
-- indexing them at the batch's end (0025) made every commit write a new
-- FTS5 segment, its structure record, a %_idx row and a %_docsize row:
-- five of a send's eighteen pages and 170 µs of the single writer's CPU.
-- Now the messages wait and the store indexes them together: when 128
-- are waiting, when the oldest has waited 100 ms (at the end of the next
-- batch, or alone when the writer is idle), and always before a search
-- reads the index (a search that finds messages waiting has the writer
-- index them first, then reads again), so search stays exact.
--
-- positions.indexed is the index's watermark: every message below it is
-- in the index (when it is indexable and not in search_pending), none at
-- or above it is. It was positions.next (0025), which each batch moved
-- past its messages; next stays the positions' high-water mark (Head).
-- The step that indexes moves indexed in the same transaction, so a crash
-- between a batch and the step leaves the messages waiting, and the next
-- step (after the restart) indexes them.
--
-- The update and delete triggers leave a waiting message alone, as they
-- left alone the messages of the running batch: the step indexes its
-- state at that time, and a message deleted before then never reaches
-- the index.

ALTER TABLE positions ADD COLUMN indexed INTEGER NOT NULL DEFAULT 0;
UPDATE positions SET indexed = next;

DROP TRIGGER message_search_update;
DROP TRIGGER message_search_delete;

CREATE TRIGGER message_search_update AFTER UPDATE OF body, deleted_at, kind ON messages
WHEN (old.body IS NOT new.body OR old.deleted_at IS NOT new.deleted_at OR old.kind IS NOT new.kind)
    AND old.pos < (SELECT indexed FROM positions WHERE id = 1)
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
    AND old.pos < (SELECT indexed FROM positions WHERE id = 1)
BEGIN
    INSERT INTO message_search (message_search, rowid, body)
        SELECT 'delete', (SELECT search_num FROM conversations WHERE id = old.conversation_id) << 32 | (4294967295 - old.seq),
               parley_plain(old.id, old.body)
        WHERE NOT EXISTS (SELECT 1 FROM search_pending WHERE pos = old.pos);
    DELETE FROM search_pending WHERE pos = old.pos;
END;
