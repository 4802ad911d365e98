-- Channel connectors, second part (issue 15): the work the channel
-- workers do on a message link besides the send — inbound attachments to
-- fetch into Parley media, outbound media and template parameters, the
-- business's reaction to forward — as app-owned JSON, and when it is due.

ALTER TABLE channel_messages ADD COLUMN data TEXT NOT NULL DEFAULT '';
ALTER TABLE channel_messages ADD COLUMN work_at BIGINT NOT NULL DEFAULT 0;
-- The fetch/forward worker reads the due links.
CREATE INDEX channel_messages_work ON channel_messages(work_at, message_id) WHERE work_at > 0;
