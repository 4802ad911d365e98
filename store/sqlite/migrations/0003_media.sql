-- Uploaded media. The bytes are in the blob store under blob_key (the
-- SHA-256 of the content, shared by equal files); a row exists only after
-- its blob was written and synced.
CREATE TABLE media (
    id              TEXT PRIMARY KEY,
    owner_id        TEXT NOT NULL REFERENCES users(id),
    kind            TEXT NOT NULL,
    content_type    TEXT NOT NULL,
    size            INTEGER NOT NULL,
    width           INTEGER NOT NULL DEFAULT 0,
    height          INTEGER NOT NULL DEFAULT 0,
    duration_ms     INTEGER NOT NULL DEFAULT 0,
    blob_key        TEXT NOT NULL,
    thumb_key       TEXT NOT NULL DEFAULT '',
    thumb_type      TEXT NOT NULL DEFAULT '',
    thumb_width     INTEGER NOT NULL DEFAULT 0,
    thumb_height    INTEGER NOT NULL DEFAULT 0,
    conversation_id TEXT NOT NULL DEFAULT '',
    message_id      TEXT NOT NULL DEFAULT '',
    position        INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL
);

CREATE INDEX media_by_message ON media (message_id, position) WHERE message_id != '';
CREATE INDEX media_by_owner ON media (owner_id, created_at);
CREATE INDEX media_unsent ON media (created_at) WHERE message_id = '';
CREATE INDEX media_by_blob ON media (blob_key);
CREATE INDEX media_by_thumb ON media (thumb_key) WHERE thumb_key != '';

-- The link preview of a message's first URL, as JSON ('' when none).
ALTER TABLE messages ADD COLUMN card TEXT NOT NULL DEFAULT '';

-- Sticker packs, installed by administrators, sendable by everyone.
CREATE TABLE sticker_packs (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE stickers (
    id           TEXT PRIMARY KEY,
    pack_id      TEXT NOT NULL REFERENCES sticker_packs(id) ON DELETE CASCADE,
    emoji        TEXT NOT NULL DEFAULT '',
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    width        INTEGER NOT NULL,
    height       INTEGER NOT NULL,
    blob_key     TEXT NOT NULL,
    position     INTEGER NOT NULL,
    created_at   INTEGER NOT NULL
);

CREATE INDEX stickers_by_pack ON stickers (pack_id, position);
CREATE INDEX stickers_by_blob ON stickers (blob_key);

-- Position 1 is never used, so that the head of an empty store is 1, not
-- 0: a device that connected to a fresh server holds a real position
-- (0 means "no position yet" and asks for a reload).
UPDATE positions SET next = 2 WHERE id = 1 AND next = 1;
