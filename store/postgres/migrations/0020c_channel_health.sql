-- Channel health (issue 15): the last failure of a channel (a send, an
-- attachment fetch, a webhook signature or handshake) with its time, and
-- the last webhook event and accepted send, kept on the channel's row
-- where those things happen; the queued sends are counted per channel.

ALTER TABLE channels ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
ALTER TABLE channels ADD COLUMN last_error_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE channels ADD COLUMN last_inbound_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE channels ADD COLUMN last_outbound_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX channel_messages_queued ON channel_messages(channel_id) WHERE status = 'queued';
