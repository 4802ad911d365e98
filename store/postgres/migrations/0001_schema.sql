-- The PostgreSQL schema of Parley as of SQLite migrations 0001-0009, in one
-- file (there was no PostgreSQL installation before it). Later SQLite
-- migrations get a PostgreSQL file of their own. Times are BIGINT
-- nanoseconds since the Unix epoch (UTC), booleans are BIGINT 0/1, exactly
-- as in SQLite, so that both stores share their Go code's shape.

-- from 0001_core.sql
-- Core messaging: accounts, sessions, graph, conversations, messages, events.
-- Times are stored as BIGINT nanoseconds since the Unix epoch (UTC).

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    handle        TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL DEFAULT '',
    bio           TEXT NOT NULL DEFAULT '',
    kind          TEXT NOT NULL,
    dm_policy     TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash   BYTEA NOT NULL UNIQUE,
    device       TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id, created_at);

CREATE TABLE follows (
    follower_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    followee_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (follower_id, followee_id)
);
CREATE INDEX follows_followee ON follows(followee_id);

CREATE TABLE blocks (
    blocker_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    blocked_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);

CREATE TABLE reports (
    id              TEXT PRIMARY KEY,
    reporter_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    target_user_id  TEXT NOT NULL DEFAULT '',
    conversation_id TEXT NOT NULL DEFAULT '',
    message_id      TEXT NOT NULL DEFAULT '',
    reason          TEXT NOT NULL,
    detail          TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL
);
CREATE INDEX reports_target ON reports(target_user_id, created_at);

CREATE TABLE conversations (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    title            TEXT NOT NULL DEFAULT '',
    created_by       TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    direct_key       TEXT UNIQUE,
    invite_policy    TEXT NOT NULL DEFAULT '',
    last_seq         BIGINT NOT NULL DEFAULT 0,
    last_activity_at BIGINT NOT NULL,
    member_count     BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE members (
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role            TEXT NOT NULL,
    status          TEXT NOT NULL,
    folder          TEXT NOT NULL,
    pinned_at       BIGINT,
    muted_until     BIGINT,
    read_seq        BIGINT NOT NULL DEFAULT 0,
    joined_seq      BIGINT NOT NULL DEFAULT 0,
    left_seq        BIGINT NOT NULL DEFAULT 0,
    invited_by      TEXT NOT NULL DEFAULT '',
    joined_at       BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX members_user_folder ON members(user_id, folder);

-- A message's pos is its place in the store-wide order of changes, shared
-- with events: the message row is the event of its own creation, so a send
-- writes no event row. pos is the primary key, and the
-- (conversation_id, seq) index carries it for resuming a conversation.
CREATE TABLE messages (
    pos             BIGINT PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    seq             BIGINT NOT NULL,
    sender_id       TEXT NOT NULL,
    client_id       TEXT,
    kind            TEXT NOT NULL,
    body            TEXT NOT NULL DEFAULT '',
    reply_to        TEXT NOT NULL DEFAULT '',
    system          TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    edited_at       BIGINT,
    deleted_at      BIGINT,
    UNIQUE (conversation_id, seq)
);
CREATE UNIQUE INDEX messages_client ON messages(conversation_id, sender_id, client_id) WHERE client_id IS NOT NULL;

CREATE TABLE message_edits (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    body       TEXT NOT NULL,
    edited_at  BIGINT NOT NULL
);
CREATE INDEX message_edits_message ON message_edits(message_id, edited_at);

CREATE TABLE reactions (
    message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL,
    emoji      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (message_id, user_id, emoji)
);

-- The event log: one row per change other than a new message,
-- conversation-wide (user_id = '') or for one user. Positions come from the
-- same counter as messages.pos; positions.next records its high-water mark
-- so that positions never repeat, even after old rows are deleted.
CREATE TABLE events (
    pos             BIGINT PRIMARY KEY,
    type            TEXT NOT NULL,
    conversation_id TEXT NOT NULL DEFAULT '',
    user_id         TEXT NOT NULL DEFAULT '',
    actor_id        TEXT NOT NULL DEFAULT '',
    message_id      TEXT NOT NULL DEFAULT '',
    seq             BIGINT NOT NULL DEFAULT 0,
    data            TEXT NOT NULL DEFAULT '{}',
    created_at      BIGINT NOT NULL
);
CREATE INDEX events_conversation ON events(conversation_id, pos);
CREATE INDEX events_user ON events(user_id, pos) WHERE user_id != '';

CREATE TABLE positions (
    id   BIGINT PRIMARY KEY CHECK (id = 1),
    next BIGINT NOT NULL
);
INSERT INTO positions (id, next) VALUES (1, 1);

-- from 0002_realtime.sql
-- Real time: what sync needs to find a user's changes quickly.

-- The newest position of a message or conversation-wide event in each
-- conversation, so that sync skips quiet conversations.
ALTER TABLE conversations ADD COLUMN last_pos BIGINT NOT NULL DEFAULT 0;

-- The positions between which a member sees the conversation's events, and
-- the highest sequence number delivered to any of the member's devices.
ALTER TABLE members ADD COLUMN joined_pos BIGINT NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN left_pos BIGINT NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN delivered_seq BIGINT NOT NULL DEFAULT 0;

-- Whether others may see when the user is online.
ALTER TABLE users ADD COLUMN show_presence BIGINT NOT NULL DEFAULT 1;

CREATE INDEX members_user ON members(user_id, conversation_id);

-- from 0003_media.sql
-- Uploaded media. The bytes are in the blob store under blob_key (the
-- SHA-256 of the content, shared by equal files); a row exists only after
-- its blob was written and synced.
CREATE TABLE media (
    id              TEXT PRIMARY KEY,
    owner_id        TEXT NOT NULL REFERENCES users(id),
    kind            TEXT NOT NULL,
    content_type    TEXT NOT NULL,
    size            BIGINT NOT NULL,
    width           BIGINT NOT NULL DEFAULT 0,
    height          BIGINT NOT NULL DEFAULT 0,
    duration_ms     BIGINT NOT NULL DEFAULT 0,
    blob_key        TEXT NOT NULL,
    thumb_key       TEXT NOT NULL DEFAULT '',
    thumb_type      TEXT NOT NULL DEFAULT '',
    thumb_width     BIGINT NOT NULL DEFAULT 0,
    thumb_height    BIGINT NOT NULL DEFAULT 0,
    conversation_id TEXT NOT NULL DEFAULT '',
    message_id      TEXT NOT NULL DEFAULT '',
    position        BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL
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
    created_at BIGINT NOT NULL
);

CREATE TABLE stickers (
    id           TEXT PRIMARY KEY,
    pack_id      TEXT NOT NULL REFERENCES sticker_packs(id) ON DELETE CASCADE,
    emoji        TEXT NOT NULL DEFAULT '',
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL,
    width        BIGINT NOT NULL,
    height       BIGINT NOT NULL,
    blob_key     TEXT NOT NULL,
    position     BIGINT NOT NULL,
    created_at   BIGINT NOT NULL
);

CREATE INDEX stickers_by_pack ON stickers (pack_id, position);
CREATE INDEX stickers_by_blob ON stickers (blob_key);

-- Position 1 is never used, so that the head of an empty store is 1, not
-- 0: a device that connected to a fresh server holds a real position
-- (0 means "no position yet" and asks for a reload).
UPDATE positions SET next = 2 WHERE id = 1 AND next = 1;

-- from 0004_business.sql
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
    active           BIGINT NOT NULL,
    away             BIGINT NOT NULL DEFAULT 0,
    max_open         BIGINT NOT NULL DEFAULT 0,
    last_assigned_at BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    PRIMARY KEY (business_id, user_id)
);
CREATE INDEX agents_user ON agents(user_id) WHERE active = 1;

CREATE TABLE teams (
    id          TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    assign      TEXT NOT NULL DEFAULT '',
    hours       TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE (business_id, name)
);

CREATE TABLE team_members (
    team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    PRIMARY KEY (team_id, user_id)
);

-- One row per customer conversation of a business. The partial indexes
-- serve the views an agent opens most: mine, unassigned, a team's, overdue.
CREATE TABLE inbox_items (
    conversation_id TEXT PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
    business_id     TEXT NOT NULL,
    contact_id      TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL,
    snoozed_until   BIGINT,
    priority        TEXT NOT NULL DEFAULT 'normal',
    assignee_id     TEXT NOT NULL DEFAULT '',
    team_id         TEXT NOT NULL DEFAULT '',
    attributes      TEXT NOT NULL DEFAULT '',
    opened_at       BIGINT NOT NULL DEFAULT 0,
    waiting_since   BIGINT,
    first_reply_at  BIGINT,
    assigned_at     BIGINT,
    resolved_at     BIGINT,
    first_due_at    BIGINT,
    resolve_due_at  BIGINT,
    away_sent_at    BIGINT,
    csat_message_id TEXT NOT NULL DEFAULT '',
    activity_at     BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
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
);
CREATE INDEX inbox_labels_label ON inbox_labels(business_id, label);

CREATE TABLE notes (
    id              TEXT PRIMARY KEY,
    business_id     TEXT NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    author_id       TEXT NOT NULL,
    body            TEXT NOT NULL,
    mentions        TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL
);
CREATE INDEX notes_conversation ON notes(business_id, conversation_id, created_at);

CREATE TABLE saved_replies (
    id          TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    shortcut    TEXT NOT NULL,
    title       TEXT NOT NULL DEFAULT '',
    body        TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
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
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (business_id, id)
);
CREATE UNIQUE INDEX contacts_user ON contacts(business_id, user_id) WHERE user_id != '' AND merged_into = '';
CREATE INDEX contacts_name ON contacts(business_id, name, id) WHERE merged_into = '';

CREATE TABLE business_settings (
    business_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    settings    TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE inbox_audit (
    id              BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    business_id     TEXT NOT NULL,
    conversation_id TEXT NOT NULL DEFAULT '',
    actor_id        TEXT NOT NULL DEFAULT '',
    action          TEXT NOT NULL,
    agent_id        TEXT NOT NULL DEFAULT '',
    team_id         TEXT NOT NULL DEFAULT '',
    value           BIGINT NOT NULL DEFAULT 0,
    data            TEXT NOT NULL DEFAULT '',
    at              BIGINT NOT NULL
);
CREATE INDEX inbox_audit_time ON inbox_audit(business_id, at);
CREATE INDEX inbox_audit_conversation ON inbox_audit(business_id, conversation_id, id);

-- from 0005_tokens.sql
-- API tokens are sessions of kind 'token' with a name, scopes (space
-- separated) and an optional expiry; signed-in devices are kind 'device'.
ALTER TABLE sessions ADD COLUMN kind TEXT NOT NULL DEFAULT 'device';
ALTER TABLE sessions ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN scopes TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN expires_at BIGINT;

-- Whether the user keeps their read receipts (and so others') hidden.
ALTER TABLE users ADD COLUMN hide_read_receipts BIGINT NOT NULL DEFAULT 0;

-- from 0006_webhooks.sql
-- Webhooks: an account's subscriptions and their outbox.

CREATE TABLE webhooks (
    id              TEXT PRIMARY KEY,
    owner_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    url             TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    events          TEXT NOT NULL,            -- public names, space separated
    secret          TEXT NOT NULL,
    previous_secret TEXT NOT NULL DEFAULT '',
    previous_until  BIGINT,
    enabled         BIGINT NOT NULL,
    disabled_reason TEXT NOT NULL DEFAULT '',
    disabled_at     BIGINT,
    failing_since   BIGINT,
    last_success_at BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX webhooks_owner ON webhooks(owner_id, created_at);

-- The outbox: one row per event and webhook, written in the transaction
-- of the event. seq orders a queue (webhook, conversation); only the
-- oldest unfinished row of a queue is 'pending', the rest 'queued', so
-- that a conversation's events arrive in order.
CREATE TABLE webhook_deliveries (
    seq              BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    id               TEXT NOT NULL,
    webhook_id       TEXT NOT NULL,
    pos              BIGINT NOT NULL,
    type             TEXT NOT NULL,
    as_id            TEXT NOT NULL DEFAULT '',
    conversation_id  TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_at          BIGINT NOT NULL,
    first_attempt_at BIGINT,
    last_attempt_at  BIGINT,
    last_status      BIGINT NOT NULL DEFAULT 0,
    last_error       TEXT NOT NULL DEFAULT '',
    delivered_at     BIGINT,
    created_at       BIGINT NOT NULL
);
CREATE UNIQUE INDEX webhook_deliveries_id ON webhook_deliveries(id);
-- The unfinished rows of each queue, in order.
CREATE INDEX webhook_deliveries_queue ON webhook_deliveries(webhook_id, conversation_id, seq)
    WHERE status IN ('queued', 'pending');
-- What is due: the heads of the queues.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_at) WHERE status = 'pending';
-- A webhook's deliveries by status, newest first, and all of them.
CREATE INDEX webhook_deliveries_status ON webhook_deliveries(webhook_id, status, seq);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries(webhook_id, seq);
-- Pruning: old final rows.
CREATE INDEX webhook_deliveries_created ON webhook_deliveries(status, created_at);

-- from 0007_bots.sql
-- Bots belong to the account that created them.
ALTER TABLE users ADD COLUMN owner_id TEXT NOT NULL DEFAULT '';
CREATE INDEX users_owner ON users(owner_id) WHERE owner_id != '';

-- Who controls a customer conversation of a business: its bot or its
-- people (handover).
ALTER TABLE inbox_items ADD COLUMN control TEXT NOT NULL DEFAULT '';

-- from 0008_suspended.sql
-- Administrators suspend accounts (parley user suspend): a suspended
-- account cannot sign in, and its sessions and tokens are refused.
ALTER TABLE users ADD COLUMN suspended BIGINT NOT NULL DEFAULT 0;

-- from 0009_limits.sql
-- New conversations per account per day are counted from here.
CREATE INDEX conversations_created_by ON conversations(created_by, created_at);
