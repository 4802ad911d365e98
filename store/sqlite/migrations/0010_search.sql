-- Full-text search over message text.
--
-- message_search is a contentless FTS5 index (content=''): it holds the
-- words' positions, not a second copy of the text, which stays in
-- messages.body. Its rowid is messages.pos (the INTEGER PRIMARY KEY, so
-- VACUUM and backups keep it). Only live text is indexed: not system
-- messages, not empty bodies, not unsent messages.
--
-- The tokenizer is unicode61 with remove_diacritics 2: words split on
-- anything that is not a letter or a digit, case and accents folded
-- ("Café" finds "cafe"). It keeps the index small and bm25 meaningful.
-- trigram would also find substrings (useful for CJK, written without
-- spaces) but triples the index and needs three characters per term; a
-- later migration can add it beside this one if users need it.
--
-- secure-delete makes a removal rewrite the index pages at once instead
-- of leaving the old words in place until a merge: an unsent or expired
-- message must leave nothing searchable behind (like PRAGMA
-- secure_delete for the table pages).
CREATE VIRTUAL TABLE message_search USING fts5(
    body,
    content = '',
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO message_search (message_search, rank) VALUES ('secure-delete', 1);

-- The triggers keep the index exact whatever path changes a message:
-- sends, edits, unsends (PurgeMessage), retention and disappearing
-- messages (UPDATE or DELETE), conversation deletion (ON DELETE CASCADE).
-- A contentless index removes a row by being given the text it indexed,
-- so removal and insertion test the same condition, on the old and on
-- the new row.
CREATE TRIGGER message_search_insert AFTER INSERT ON messages
WHEN new.deleted_at IS NULL AND new.body != '' AND new.kind != 'system'
BEGIN
    INSERT INTO message_search (rowid, body) VALUES (new.pos, new.body);
END;

-- One trigger for both halves of an update, so that the old words go
-- before the new ones come (the order of separate triggers is not
-- promised).
CREATE TRIGGER message_search_update AFTER UPDATE OF body, deleted_at, kind ON messages
WHEN old.body IS NOT new.body OR old.deleted_at IS NOT new.deleted_at OR old.kind IS NOT new.kind
BEGIN
    INSERT INTO message_search (message_search, rowid, body)
        SELECT 'delete', old.pos, old.body
        WHERE old.deleted_at IS NULL AND old.body != '' AND old.kind != 'system';
    INSERT INTO message_search (rowid, body)
        SELECT new.pos, new.body
        WHERE new.deleted_at IS NULL AND new.body != '' AND new.kind != 'system';
END;

CREATE TRIGGER message_search_delete AFTER DELETE ON messages
WHEN old.deleted_at IS NULL AND old.body != '' AND old.kind != 'system'
BEGIN
    INSERT INTO message_search (message_search, rowid, body) VALUES ('delete', old.pos, old.body);
END;

-- Backfill the messages sent before this migration.
INSERT INTO message_search (rowid, body)
    SELECT pos, body FROM messages WHERE deleted_at IS NULL AND body != '' AND kind != 'system';
