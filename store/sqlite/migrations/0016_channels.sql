-- Channel connectors (issue 15): a business's accounts on Messenger,
-- Instagram and WhatsApp (secrets sealed by the app), the link of each
-- platform user to a contact and a conversation, and the link of each
-- Parley message to its platform message, which is also the outbox of
-- the Send API calls.

CREATE TABLE channels (
    id           TEXT PRIMARY KEY,
    business_id  TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    platform     TEXT NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    account_id   TEXT NOT NULL,
    app_id       TEXT NOT NULL DEFAULT '',
    access_token TEXT NOT NULL,
    app_secret   TEXT NOT NULL,
    verify_token TEXT NOT NULL,
    hint         TEXT NOT NULL DEFAULT '',
    language     TEXT NOT NULL DEFAULT '',
    created_by   TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX channels_account ON channels(platform, account_id);
CREATE INDEX channels_business ON channels(business_id, created_at, id);

CREATE TABLE channel_threads (
    channel_id       TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    external_user_id TEXT NOT NULL,
    contact_id       TEXT NOT NULL,
    user_id          TEXT NOT NULL,
    conversation_id  TEXT NOT NULL,
    last_inbound_at  INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    PRIMARY KEY (channel_id, external_user_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX channel_threads_conversation ON channel_threads(conversation_id);

CREATE TABLE channel_messages (
    message_id      TEXT PRIMARY KEY,
    channel_id      TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    conversation_id TEXT NOT NULL,
    direction       TEXT NOT NULL,
    platform_mid    TEXT NOT NULL DEFAULT '',
    mode            TEXT NOT NULL DEFAULT '',
    template        TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL,
    error           TEXT NOT NULL DEFAULT '',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    platform_at     INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) WITHOUT ROWID;
-- Replays of a platform message find it here (idempotency).
CREATE UNIQUE INDEX channel_messages_mid ON channel_messages(channel_id, platform_mid) WHERE platform_mid != '';
-- The outbox worker reads the due queued sends.
CREATE INDEX channel_messages_due ON channel_messages(next_attempt_at, message_id) WHERE status = 'queued';
