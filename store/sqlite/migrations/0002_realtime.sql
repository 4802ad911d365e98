-- Real time: what sync needs to find a user's changes quickly.

-- The newest position of a message or conversation-wide event in each
-- conversation, so that sync skips quiet conversations.
ALTER TABLE conversations ADD COLUMN last_pos INTEGER NOT NULL DEFAULT 0;

-- The positions between which a member sees the conversation's events, and
-- the highest sequence number delivered to any of the member's devices.
ALTER TABLE members ADD COLUMN joined_pos INTEGER NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN left_pos INTEGER NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN delivered_seq INTEGER NOT NULL DEFAULT 0;

-- Whether others may see when the user is online.
ALTER TABLE users ADD COLUMN show_presence INTEGER NOT NULL DEFAULT 1;

CREATE INDEX members_user ON members(user_id, conversation_id);
