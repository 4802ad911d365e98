-- Search by conversation ranges (issue 10).
--
-- The index of 0010 had one rowid per message in server order (pos): a
-- search walked the server's matches newest first and checked the
-- searcher's membership of each, so a common word cost work in
-- proportion to the whole server. Here the index's rowid is
--
--     search_num << 32 | (4294967295 - seq)
--
-- where search_num numbers the conversation (below) and seq is the
-- message's sequence number in it. A conversation's messages are then one
-- rowid range, newest first, and what a member may read (Member.CanRead:
-- joined_seq < seq <= left_seq) a sub-range of it; a search asks the
-- index for the searcher's ranges only, newest conversations first, and
-- stops when it has enough (store/sqlite/search.go). Newest first is
-- ascending rowids because FTS5 seeks to a lower bound through its
-- doclist index but walks down to an upper bound one entry at a time: a
-- descending range near the start of a long doclist read all of it.
--
-- The index changes in three other ways:
--   detail = none: it keeps which messages hold a word, not where. The
--     ranking and the snippets read the text itself (in Go), so positions
--     were dead weight: without them the index is about a third of the
--     size and a scan reads fewer pages. A query of several words is an
--     AND of words, checked for the exact words by the store afterwards.
--   prefix = '3 4 5 6': the words' first 3 to 6 letters are indexed too,
--     so the last word typed ("zeb" -> zebra) is one index lookup in each
--     range instead of an expansion into every word it starts (which
--     FTS5 does over the whole index, whatever the range). A longer
--     last word is looked up by its first 6 letters and the store keeps
--     the messages holding a word that starts with all of it.
--   The tokenizer, contentlessness and secure-delete stay as in 0010.

-- search_num: a stable number per conversation (the implicit rowid is
-- not: VACUUM may renumber it). Numbers of deleted conversations may be
-- given again; their entries left the index with their messages.
ALTER TABLE conversations ADD COLUMN search_num INTEGER;
UPDATE conversations SET search_num = rowid;
CREATE UNIQUE INDEX conversations_search_num ON conversations(search_num);

CREATE TRIGGER conversations_search_num AFTER INSERT ON conversations
WHEN new.search_num IS NULL
BEGIN
    UPDATE conversations SET search_num = (SELECT COALESCE(MAX(search_num), 0) + 1 FROM conversations)
    WHERE id = new.id;
END;

-- A conversation's messages go before it does, so that the index's
-- delete trigger still finds the conversation's number (ON DELETE
-- CASCADE deletes the children after the parent).
CREATE TRIGGER conversations_delete_messages BEFORE DELETE ON conversations
BEGIN
    DELETE FROM messages WHERE conversation_id = old.id;
END;

DROP TRIGGER message_search_insert;
DROP TRIGGER message_search_update;
DROP TRIGGER message_search_delete;
DROP TABLE message_search;

-- Sealed bodies (encryption at rest) cannot be read here: migrations run
-- when the store opens, before the server gives it the keyring (which
-- needs data_keys, in this database). Their messages wait in
-- search_pending and the store indexes them when it gets the keyring
-- (DB.SetKeyring). Until then the triggers must not remove from the
-- index what is not in it: a contentless, secure-delete index would be
-- corrupted.
CREATE TABLE search_pending (pos INTEGER PRIMARY KEY);
INSERT INTO search_pending (pos)
    SELECT pos FROM messages
    WHERE deleted_at IS NULL AND body != '' AND kind != 'system' AND substr(body, 1, 9) = char(1) || 'sealed1:';

CREATE VIRTUAL TABLE message_search USING fts5(
    body,
    content = '',
    detail = none,
    prefix = '3 4 5 6',
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO message_search (message_search, rank) VALUES ('secure-delete', 1);

-- As in 0017, with the new rowid.
CREATE TRIGGER message_search_insert AFTER INSERT ON messages
WHEN new.deleted_at IS NULL AND new.body != '' AND new.kind != 'system'
BEGIN
    INSERT INTO message_search (rowid, body)
    VALUES ((SELECT search_num FROM conversations WHERE id = new.conversation_id) << 32 | (4294967295 - new.seq),
            parley_plain(new.id, new.body));
END;

CREATE TRIGGER message_search_update AFTER UPDATE OF body, deleted_at, kind ON messages
WHEN old.body IS NOT new.body OR old.deleted_at IS NOT new.deleted_at OR old.kind IS NOT new.kind
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
BEGIN
    INSERT INTO message_search (message_search, rowid, body)
        SELECT 'delete', (SELECT search_num FROM conversations WHERE id = old.conversation_id) << 32 | (4294967295 - old.seq),
               parley_plain(old.id, old.body)
        WHERE NOT EXISTS (SELECT 1 FROM search_pending WHERE pos = old.pos);
    DELETE FROM search_pending WHERE pos = old.pos;
END;

-- Rebuild the index from the messages (plaintext ones), in the new rowid order (FTS5
-- builds its segments fastest from ascending rowids).
INSERT INTO message_search (rowid, body)
    SELECT c.search_num << 32 | (4294967295 - m.seq), parley_plain(m.id, m.body)
    FROM conversations c JOIN messages m ON m.conversation_id = c.id
    WHERE m.deleted_at IS NULL AND m.body != '' AND m.kind != 'system'
      AND NOT EXISTS (SELECT 1 FROM search_pending p WHERE p.pos = m.pos)
    ORDER BY c.search_num, m.seq DESC;
