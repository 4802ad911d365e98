-- Chain entries in a rowid table, appended in commit order, with the
-- (conversation_id, idx) key in an index of its own (issue 8, issue 12).
-- As a WITHOUT ROWID table keyed by conversation, every entry went into
-- its conversation's leaf: ~180-byte rows, 20 to a page, and interior
-- pages holding whole rows too, so a batch of entries for many
-- conversations dirtied about a page per entry, with splits on top. A
-- campaign chunk of 1,024 messages wrote ~1.2 chain pages per message,
-- 41 % of its pages. Now the rows share the table's last pages and the
-- index's cells are ~40 bytes. Alternated with the old layout (3 pairs,
-- quiet): campaign delivery wrote 16.2-17.5 KB per message instead of
-- 21.3-24.6 and made 4,836-5,501 msgs/s against 3,741-5,352; sends from
-- 256 senders 15.5-16.2 KB instead of 21.0-21.7 at the same rate. A lone
-- send's commit writes one page more (the table's tail and an index leaf
-- instead of one leaf): +3.5 % bytes at one sender, no change in rate or
-- latency measured. Entries already written keep their order by
-- conversation (copied in key order), so an export of old conversations
-- reads them as before.
CREATE TABLE chain_entries_rows (
    conversation_id TEXT NOT NULL,
    idx             INTEGER NOT NULL,
    kind            TEXT NOT NULL,
    message_id      TEXT NOT NULL DEFAULT '',
    seq             INTEGER NOT NULL DEFAULT 0,
    actor_id        TEXT NOT NULL DEFAULT '',
    subject_id      TEXT NOT NULL DEFAULT '',
    at              INTEGER NOT NULL,
    content         BLOB,
    prev            BLOB NOT NULL,
    hash            BLOB NOT NULL
);
INSERT INTO chain_entries_rows (conversation_id, idx, kind, message_id, seq, actor_id, subject_id, at, content, prev, hash)
    SELECT conversation_id, idx, kind, message_id, seq, actor_id, subject_id, at, content, prev, hash
    FROM chain_entries ORDER BY conversation_id, idx;
DROP TABLE chain_entries;
ALTER TABLE chain_entries_rows RENAME TO chain_entries;
CREATE UNIQUE INDEX chain_entries_key ON chain_entries (conversation_id, idx);
