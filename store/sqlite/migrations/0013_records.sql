-- Each conversation's tamper-evident hash chain (issue 10). Digests are
-- stored as 32 raw bytes; content is NULL when an entry holds none.
CREATE TABLE chain_entries (
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
    hash            BLOB NOT NULL,
    PRIMARY KEY (conversation_id, idx)
) WITHOUT ROWID;

-- Export jobs: one row per export asked for, with its progress. Download
-- links are signed with the server's key, so no token is stored.
CREATE TABLE export_jobs (
    id              TEXT PRIMARY KEY,
    owner_id        TEXT NOT NULL,
    scope           TEXT NOT NULL,
    conversation_id TEXT NOT NULL DEFAULT '',
    business_id     TEXT NOT NULL DEFAULT '',
    state           TEXT NOT NULL,
    done            INTEGER NOT NULL DEFAULT 0,
    total           INTEGER NOT NULL DEFAULT 0,
    error           TEXT NOT NULL DEFAULT '',
    file            TEXT NOT NULL DEFAULT '',
    size            INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    finished_at     INTEGER NOT NULL DEFAULT 0,
    expires_at      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX export_jobs_owner ON export_jobs(owner_id, created_at);
CREATE INDEX export_jobs_expires ON export_jobs(expires_at) WHERE expires_at > 0;
