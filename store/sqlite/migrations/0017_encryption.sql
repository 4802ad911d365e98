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

-- The search index (0010) must be given a message's words to add them and
-- the same words to remove them (it is contentless and secure-delete: a
-- removal rewrites the index pages at once). A sealed body has no words,
-- so the triggers read the body through parley_plain(id, body), a function
-- the store registers with the driver: the body itself when it is
-- plaintext, its plaintext when it is sealed (the store's keyring opens
-- it). A connection without the function cannot change message text — it
-- could only corrupt the index.
DROP TRIGGER message_search_insert;
DROP TRIGGER message_search_update;
DROP TRIGGER message_search_delete;

CREATE TRIGGER message_search_insert AFTER INSERT ON messages
WHEN new.deleted_at IS NULL AND new.body != '' AND new.kind != 'system'
BEGIN
    INSERT INTO message_search (rowid, body) VALUES (new.pos, parley_plain(new.id, new.body));
END;

CREATE TRIGGER message_search_update AFTER UPDATE OF body, deleted_at, kind ON messages
WHEN old.body IS NOT new.body OR old.deleted_at IS NOT new.deleted_at OR old.kind IS NOT new.kind
BEGIN
    INSERT INTO message_search (message_search, rowid, body)
        SELECT 'delete', old.pos, parley_plain(old.id, old.body)
        WHERE old.deleted_at IS NULL AND old.body != '' AND old.kind != 'system';
    INSERT INTO message_search (rowid, body)
        SELECT new.pos, parley_plain(new.id, new.body)
        WHERE new.deleted_at IS NULL AND new.body != '' AND new.kind != 'system';
END;

CREATE TRIGGER message_search_delete AFTER DELETE ON messages
WHEN old.deleted_at IS NULL AND old.body != '' AND old.kind != 'system'
BEGIN
    INSERT INTO message_search (message_search, rowid, body) VALUES ('delete', old.pos, parley_plain(old.id, old.body));
END;
