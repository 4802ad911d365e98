-- Business inbox: team members, teams, the business's record of each
-- customer conversation, notes, saved replies, contacts, settings, audit.

-- The agent who wrote a message on behalf of a business ('' otherwise),
-- and structured content (quick replies) as JSON ('' when none).
ALTER TABLE messages ADD COLUMN agent_id TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN data TEXT NOT NULL DEFAULT '';

CREATE TABLE agents (
    business_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    user_id          TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role             TEXT NOT NULL,
    active           INTEGER NOT NULL,
    away             INTEGER NOT NULL DEFAULT 0,
    max_open         INTEGER NOT NULL DEFAULT 0,
    last_assigned_at INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (business_id, user_id)
) WITHOUT ROWID;
CREATE INDEX agents_user ON agents(user_id) WHERE active = 1;

CREATE TABLE teams (
    id          TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    assign      TEXT NOT NULL DEFAULT '',
    hours       TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (business_id, name)
);

CREATE TABLE team_members (
    team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    PRIMARY KEY (team_id, user_id)
) WITHOUT ROWID;

-- One row per customer conversation of a business. The partial indexes
-- serve the views an agent opens most: mine, unassigned, a team's, overdue.
CREATE TABLE inbox_items (
    conversation_id TEXT PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
    business_id     TEXT NOT NULL,
    contact_id      TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL,
    snoozed_until   INTEGER,
    priority        TEXT NOT NULL DEFAULT 'normal',
    assignee_id     TEXT NOT NULL DEFAULT '',
    team_id         TEXT NOT NULL DEFAULT '',
    attributes      TEXT NOT NULL DEFAULT '',
    opened_at       INTEGER NOT NULL DEFAULT 0,
    waiting_since   INTEGER,
    first_reply_at  INTEGER,
    assigned_at     INTEGER,
    resolved_at     INTEGER,
    first_due_at    INTEGER,
    resolve_due_at  INTEGER,
    away_sent_at    INTEGER,
    csat_message_id TEXT NOT NULL DEFAULT '',
    activity_at     INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX inbox_by_status ON inbox_items(business_id, status, activity_at DESC, conversation_id DESC);
CREATE INDEX inbox_by_assignee ON inbox_items(business_id, assignee_id, status, activity_at DESC, conversation_id DESC);
CREATE INDEX inbox_by_team ON inbox_items(business_id, team_id, status, activity_at DESC, conversation_id DESC) WHERE team_id != '';
CREATE INDEX inbox_by_contact ON inbox_items(business_id, contact_id, activity_at DESC);
CREATE INDEX inbox_snoozed ON inbox_items(snoozed_until) WHERE status = 'snoozed';
CREATE INDEX inbox_waiting ON inbox_items(waiting_since) WHERE status = 'open' AND assignee_id != '' AND waiting_since IS NOT NULL;
-- The overdue view reads these alone: they carry the listing order too.
CREATE INDEX inbox_first_due ON inbox_items(business_id, first_due_at, first_reply_at, activity_at, conversation_id, status)
    WHERE first_due_at IS NOT NULL AND status != 'resolved';
CREATE INDEX inbox_resolve_due ON inbox_items(business_id, resolve_due_at, activity_at, conversation_id, status)
    WHERE resolve_due_at IS NOT NULL AND status != 'resolved';

CREATE TABLE inbox_labels (
    conversation_id TEXT NOT NULL REFERENCES inbox_items(conversation_id) ON DELETE CASCADE,
    label           TEXT NOT NULL,
    business_id     TEXT NOT NULL,
    PRIMARY KEY (conversation_id, label)
) WITHOUT ROWID;
CREATE INDEX inbox_labels_label ON inbox_labels(business_id, label);

CREATE TABLE notes (
    id              TEXT PRIMARY KEY,
    business_id     TEXT NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    author_id       TEXT NOT NULL,
    body            TEXT NOT NULL,
    mentions        TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL
);
CREATE INDEX notes_conversation ON notes(business_id, conversation_id, created_at);

CREATE TABLE saved_replies (
    id          TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    shortcut    TEXT NOT NULL,
    title       TEXT NOT NULL DEFAULT '',
    body        TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (business_id, shortcut)
);

CREATE TABLE contacts (
    business_id  TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    id           TEXT NOT NULL,
    user_id      TEXT NOT NULL DEFAULT '',
    name         TEXT NOT NULL DEFAULT '',
    attributes   TEXT NOT NULL DEFAULT '',
    labels       TEXT NOT NULL DEFAULT '',
    notes        TEXT NOT NULL DEFAULT '',
    merged_into  TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (business_id, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX contacts_user ON contacts(business_id, user_id) WHERE user_id != '' AND merged_into = '';
CREATE INDEX contacts_name ON contacts(business_id, name, id) WHERE merged_into = '';

CREATE TABLE business_settings (
    business_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    settings    TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE inbox_audit (
    id              INTEGER PRIMARY KEY,
    business_id     TEXT NOT NULL,
    conversation_id TEXT NOT NULL DEFAULT '',
    actor_id        TEXT NOT NULL DEFAULT '',
    action          TEXT NOT NULL,
    agent_id        TEXT NOT NULL DEFAULT '',
    team_id         TEXT NOT NULL DEFAULT '',
    value           INTEGER NOT NULL DEFAULT 0,
    data            TEXT NOT NULL DEFAULT '',
    at              INTEGER NOT NULL
);
CREATE INDEX inbox_audit_time ON inbox_audit(business_id, at);
CREATE INDEX inbox_audit_conversation ON inbox_audit(business_id, conversation_id, id);
