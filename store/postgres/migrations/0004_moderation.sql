-- From SQLite's 0014_moderation.sql.
-- Moderation (issue 9): server administrators on accounts, bans, request
-- triage (scores, the spam model, sender fingerprints), content filters and
-- the reports queue.

ALTER TABLE users ADD COLUMN server_admin BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN banned BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN messages_hidden BIGINT NOT NULL DEFAULT 0;

-- Reports gain a status and a resolution; the reporter may be '' for
-- reports the server files itself (a flagging filter), so the reporter's
-- foreign key goes.
ALTER TABLE reports DROP CONSTRAINT IF EXISTS reports_reporter_id_fkey;
ALTER TABLE reports ALTER COLUMN reporter_id SET DEFAULT '';
ALTER TABLE reports ADD COLUMN status TEXT NOT NULL DEFAULT 'open';
ALTER TABLE reports ADD COLUMN resolution TEXT NOT NULL DEFAULT '';
ALTER TABLE reports ADD COLUMN resolved_by TEXT NOT NULL DEFAULT '';
ALTER TABLE reports ADD COLUMN resolved_at BIGINT;
ALTER TABLE reports ADD COLUMN note TEXT NOT NULL DEFAULT '';
CREATE INDEX reports_queue ON reports(status, created_at, id);

CREATE TABLE request_scores (
    conversation_id TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    sender_id       TEXT NOT NULL,
    score           DOUBLE PRECISION NOT NULL,
    filtered        BIGINT NOT NULL,
    signals         TEXT NOT NULL,
    learned         TEXT NOT NULL DEFAULT '',
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX request_scores_user ON request_scores(user_id, filtered, score);

CREATE TABLE spam_tokens (
    token TEXT PRIMARY KEY,
    spam  BIGINT NOT NULL DEFAULT 0,
    ham   BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE spam_totals (
    class TEXT PRIMARY KEY,
    docs  BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE spam_fingerprints (
    sender_id    TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    recipient_id TEXT NOT NULL,
    at           BIGINT NOT NULL,
    PRIMARY KEY (sender_id, fingerprint, recipient_id)
);
CREATE INDEX spam_fingerprints_at ON spam_fingerprints(sender_id, at);

CREATE TABLE filters (
    id         TEXT PRIMARY KEY,
    owner_id   TEXT NOT NULL,
    kind       TEXT NOT NULL,
    pattern    TEXT NOT NULL,
    action     TEXT NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    UNIQUE (owner_id, kind, pattern)
);
