-- Webhooks: an account's subscriptions and their outbox.

CREATE TABLE webhooks (
    id              TEXT PRIMARY KEY,
    owner_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    url             TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    events          TEXT NOT NULL,            -- public names, space separated
    secret          TEXT NOT NULL,
    previous_secret TEXT NOT NULL DEFAULT '',
    previous_until  INTEGER,
    enabled         INTEGER NOT NULL,
    disabled_reason TEXT NOT NULL DEFAULT '',
    disabled_at     INTEGER,
    failing_since   INTEGER,
    last_success_at INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX webhooks_owner ON webhooks(owner_id, created_at);

-- The outbox: one row per event and webhook, written in the transaction
-- of the event. seq orders a queue (webhook, conversation); only the
-- oldest unfinished row of a queue is 'pending', the rest 'queued', so
-- that a conversation's events arrive in order.
CREATE TABLE webhook_deliveries (
    seq              INTEGER PRIMARY KEY,
    id               TEXT NOT NULL,
    webhook_id       TEXT NOT NULL,
    pos              INTEGER NOT NULL,
    type             TEXT NOT NULL,
    as_id            TEXT NOT NULL DEFAULT '',
    conversation_id  TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_at          INTEGER NOT NULL,
    first_attempt_at INTEGER,
    last_attempt_at  INTEGER,
    last_status      INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT NOT NULL DEFAULT '',
    delivered_at     INTEGER,
    created_at       INTEGER NOT NULL
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
