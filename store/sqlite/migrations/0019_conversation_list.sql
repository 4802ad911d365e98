-- The conversation list's sort key on the member row (issue 12).
--
-- A user's list is ordered by the conversation's last activity, which
-- lives on the conversation row, while the user's rows are found through
-- members: listing a page joined and sorted every membership of the user
-- (1.9 s at 50,000). members.activity_at is a copy of
-- conversations.last_activity_at kept on each member row, so a page is an
-- index walk that stops after the page, whatever the number of
-- conversations.
--
-- A message then costs one row update per member (two for a direct
-- conversation), in the message's own transaction (the trigger below).
-- Large groups would pay that per member for every message, so a
-- conversation with list_from_conversation = 1 keeps activity_at NULL on
-- its member rows and is listed through the join instead (a user is in
-- few of those); the store merges the two in list order. The app sets the
-- flag when a group grows past its threshold (app.LargeGroupMembers, 256)
-- and clears it when the group has shrunk well below, each time in a
-- transaction of its own; the trigger moves the member rows with it.
ALTER TABLE conversations ADD COLUMN list_from_conversation INTEGER NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN activity_at INTEGER;

UPDATE conversations SET list_from_conversation = 1 WHERE member_count > 256;
UPDATE members SET activity_at = (SELECT c.last_activity_at FROM conversations c
    WHERE c.id = members.conversation_id AND c.list_from_conversation = 0);

-- The list's order: pinned first, newest activity first, id descending.
CREATE INDEX members_list ON members(user_id, folder, (pinned_at IS NOT NULL), activity_at, conversation_id)
    WHERE activity_at IS NOT NULL;
-- The memberships of large groups, listed through the join.
CREATE INDEX members_list_large ON members(user_id, folder) WHERE activity_at IS NULL;

-- Every write of a conversation's last activity reaches its member rows
-- in the same transaction (AllocSeq and UpdateConversation alike).
CREATE TRIGGER conversations_list_activity AFTER UPDATE OF last_activity_at ON conversations
    WHEN new.list_from_conversation = 0 AND new.last_activity_at != old.last_activity_at
BEGIN
    UPDATE members SET activity_at = new.last_activity_at WHERE conversation_id = new.id;
END;

-- Moving a conversation between the two ways of listing moves its rows.
CREATE TRIGGER conversations_list_mode AFTER UPDATE OF list_from_conversation ON conversations
    WHEN new.list_from_conversation != old.list_from_conversation
BEGIN
    UPDATE members SET activity_at = CASE WHEN new.list_from_conversation = 0 THEN new.last_activity_at END
        WHERE conversation_id = new.id;
END;
