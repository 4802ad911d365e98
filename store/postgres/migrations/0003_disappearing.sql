-- From SQLite's 0012_disappearing.sql.
-- Disappearing messages, view-once media, legal holds and retention.

-- The conversation's disappearing timer in seconds (0: off). A message sent
-- while it is on gets expires_at = created_at + the timer.
ALTER TABLE conversations ADD COLUMN disappear_after BIGINT NOT NULL DEFAULT 0;

ALTER TABLE messages ADD COLUMN expires_at BIGINT;
-- view_once marks a media message each recipient may open once.
ALTER TABLE messages ADD COLUMN view_once BIGINT NOT NULL DEFAULT 0;

-- The reaper walks what is due: live messages with an expiry, by expiry.
CREATE INDEX messages_expiry ON messages(expires_at) WHERE expires_at IS NOT NULL AND deleted_at IS NULL;

-- Who opened a view-once message (never content).
CREATE TABLE message_opens (
    message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL,
    opened_at  BIGINT NOT NULL,
    PRIMARY KEY (message_id, user_id)
);

-- A legal hold keeps content from the reaper and from retention until it
-- is released. scope is conversation (target_id: a conversation), contact
-- (target_id: a business's contact, business_id set) or account
-- (target_id: a user).
CREATE TABLE legal_holds (
    id          TEXT PRIMARY KEY,
    scope       TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    business_id TEXT NOT NULL DEFAULT '',
    reason      TEXT NOT NULL DEFAULT '',
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    released_by TEXT NOT NULL DEFAULT '',
    released_at BIGINT
);
CREATE INDEX legal_holds_active ON legal_holds(scope, target_id) WHERE released_at IS NULL;
CREATE INDEX legal_holds_business ON legal_holds(business_id, created_at);

-- A business's retention policy for one kind of conversation (customer):
-- messages are purged max_age seconds after they were sent, and a resolved
-- conversation's messages after_resolution seconds after it was resolved
-- (0: not by that rule).
CREATE TABLE retention_policies (
    business_id      TEXT NOT NULL,
    kind             TEXT NOT NULL,
    max_age          BIGINT NOT NULL DEFAULT 0,
    after_resolution BIGINT NOT NULL DEFAULT 0,
    updated_by       TEXT NOT NULL DEFAULT '',
    updated_at       BIGINT NOT NULL,
    PRIMARY KEY (business_id, kind)
);

-- One run of retention, server-wide (business_id '') or for one business's
-- customer conversations. cursor is the last message position scanned, so
-- a run resumes where a crash stopped it.
CREATE TABLE retention_jobs (
    id           TEXT PRIMARY KEY,
    business_id  TEXT NOT NULL DEFAULT '',
    dry_run      BIGINT NOT NULL DEFAULT 0,
    state        TEXT NOT NULL,
    scanned      BIGINT NOT NULL DEFAULT 0,
    purged       BIGINT NOT NULL DEFAULT 0,
    held_skipped BIGINT NOT NULL DEFAULT 0,
    cursor       BIGINT NOT NULL DEFAULT 0,
    error        TEXT NOT NULL DEFAULT '',
    created_by   TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    finished_at  BIGINT
);
CREATE INDEX retention_jobs_business ON retention_jobs(business_id, created_at);
