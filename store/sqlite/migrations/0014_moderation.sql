-- Moderation (issue 9): server administrators on accounts, bans, request
-- triage (scores, the spam model, sender fingerprints), content filters and
-- the reports queue.

ALTER TABLE users ADD COLUMN server_admin INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN banned INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN messages_hidden INTEGER NOT NULL DEFAULT 0;

-- Reports gain a status and a resolution; the reporter may be '' for
-- reports the server files itself (a flagging filter), so the table is
-- rebuilt without the reporter's foreign key.
CREATE TABLE reports_new (
    id              TEXT PRIMARY KEY,
    reporter_id     TEXT NOT NULL DEFAULT '',
    target_user_id  TEXT NOT NULL DEFAULT '',
    conversation_id TEXT NOT NULL DEFAULT '',
    message_id      TEXT NOT NULL DEFAULT '',
    reason          TEXT NOT NULL,
    detail          TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    status          TEXT NOT NULL DEFAULT 'open',
    resolution      TEXT NOT NULL DEFAULT '',
    resolved_by     TEXT NOT NULL DEFAULT '',
    resolved_at     INTEGER,
    note            TEXT NOT NULL DEFAULT ''
);
INSERT INTO reports_new (id, reporter_id, target_user_id, conversation_id, message_id, reason, detail, created_at)
    SELECT id, reporter_id, target_user_id, conversation_id, message_id, reason, detail, created_at FROM reports;
DROP TABLE reports;
ALTER TABLE reports_new RENAME TO reports;
CREATE INDEX reports_target ON reports(target_user_id, created_at);
CREATE INDEX reports_queue ON reports(status, created_at, id);

-- One row per request (recipient side): its spam score and why.
CREATE TABLE request_scores (
    conversation_id TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    sender_id       TEXT NOT NULL,
    score           REAL NOT NULL,
    filtered        INTEGER NOT NULL,
    signals         TEXT NOT NULL,
    learned         TEXT NOT NULL DEFAULT '',
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX request_scores_user ON request_scores(user_id, filtered, score);

-- The server-wide naive Bayes model: per token, the spam and ham
-- documents it appeared in; per class, the documents learned.
CREATE TABLE spam_tokens (
    token TEXT PRIMARY KEY,
    spam  INTEGER NOT NULL DEFAULT 0,
    ham   INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE spam_totals (
    class TEXT PRIMARY KEY,
    docs  INTEGER NOT NULL DEFAULT 0
);

-- Normalized-text fingerprints of request messages, per sender, to count
-- identical text sent to many recipients.
CREATE TABLE spam_fingerprints (
    sender_id    TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    recipient_id TEXT NOT NULL,
    at           INTEGER NOT NULL,
    PRIMARY KEY (sender_id, fingerprint, recipient_id)
) WITHOUT ROWID;
CREATE INDEX spam_fingerprints_at ON spam_fingerprints(sender_id, at);

-- Content filters of accounts (owner_id) and of the server (owner_id '').
CREATE TABLE filters (
    id         TEXT PRIMARY KEY,
    owner_id   TEXT NOT NULL,
    kind       TEXT NOT NULL,
    pattern    TEXT NOT NULL,
    action     TEXT NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    UNIQUE (owner_id, kind, pattern)
);
