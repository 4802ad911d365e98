-- Encryption at rest (issue 9).
--
-- data_keys holds the data keys, each wrapped (AES-256-GCM) by the
-- operator's master key, which the database never holds. Sealed message
-- text starts with char(1) || 'sealed1:' || key id || ':' (see package
-- sealed); the id in clear lets rotation find the rows under an old key.
CREATE TABLE data_keys (
    id         INTEGER PRIMARY KEY,
    wrapped    BLOB NOT NULL,
    created_at INTEGER NOT NULL
);

-- The search index cannot read a sealed body: the store indexes the
-- plaintext itself when it writes one (CreateMessage, UpdateMessageText).
-- So the index is rebuilt with contentless_delete, which removes a row by
-- its rowid alone, and the triggers index plaintext bodies only and
-- remove a row whenever its message stops being live text. A body that
-- changes from one sealed value to another (rotation) keeps its words.
-- At this migration no body is sealed yet, so the backfill is complete.
DROP TRIGGER message_search_insert;
DROP TRIGGER message_search_update;
DROP TRIGGER message_search_delete;
DROP TABLE message_search;

CREATE VIRTUAL TABLE message_search USING fts5(
    body,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO message_search (message_search, rank) VALUES ('secure-delete', 1);

CREATE TRIGGER message_search_insert AFTER INSERT ON messages
WHEN new.deleted_at IS NULL AND new.body != '' AND new.kind != 'system'
    AND substr(new.body, 1, 9) != char(1) || 'sealed1:'
BEGIN
    INSERT INTO message_search (rowid, body) VALUES (new.pos, new.body);
END;

CREATE TRIGGER message_search_update AFTER UPDATE OF body, deleted_at, kind ON messages
WHEN old.body IS NOT new.body OR old.deleted_at IS NOT new.deleted_at OR old.kind IS NOT new.kind
BEGIN
    DELETE FROM message_search WHERE rowid = old.pos
        AND NOT (new.deleted_at IS NULL AND new.body != '' AND new.kind != 'system'
            AND substr(new.body, 1, 9) = char(1) || 'sealed1:');
    INSERT INTO message_search (rowid, body)
        SELECT new.pos, new.body
        WHERE new.deleted_at IS NULL AND new.body != '' AND new.kind != 'system'
            AND substr(new.body, 1, 9) != char(1) || 'sealed1:';
END;

CREATE TRIGGER message_search_delete AFTER DELETE ON messages
BEGIN
    DELETE FROM message_search WHERE rowid = old.pos;
END;

INSERT INTO message_search (rowid, body)
    SELECT pos, body FROM messages WHERE deleted_at IS NULL AND body != '' AND kind != 'system';
