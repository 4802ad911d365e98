-- Channel connectors, last part (issue 15): a channel an admin paused
-- (its webhooks still stored, its outbox held until it is resumed), and
-- people's opt-ins to a business's topic on the platform (Messenger's
-- notification messages: a token per channel, person and topic, with its
-- frequency and expiry, stopped when the person stops them).

ALTER TABLE channels ADD COLUMN disabled_at BIGINT NOT NULL DEFAULT 0;

CREATE TABLE channel_optins (
    channel_id       TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    external_user_id TEXT NOT NULL,
    topic_id         TEXT NOT NULL,
    token            TEXT NOT NULL,
    frequency        TEXT NOT NULL DEFAULT '',
    timezone         TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL,
    expires_at       BIGINT NOT NULL DEFAULT 0,
    last_sent_at     BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    PRIMARY KEY (channel_id, external_user_id, topic_id)
);
