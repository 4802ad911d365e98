-- From SQLite's 0019_conversation_list.sql: the conversation list's sort
-- key on the member row (members.activity_at, a copy of the
-- conversation's last_activity_at kept by a trigger in the same
-- transaction) for direct conversations and groups up to
-- app.LargeGroupMembers; large groups (list_from_conversation = 1) keep it
-- NULL on their member rows and are listed through the join.
ALTER TABLE conversations ADD COLUMN list_from_conversation INTEGER NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN activity_at BIGINT;

UPDATE conversations SET list_from_conversation = 1 WHERE member_count > 256;
UPDATE members m SET activity_at = c.last_activity_at FROM conversations c
    WHERE c.id = m.conversation_id AND c.list_from_conversation = 0;

-- The list's order: pinned first, newest activity first, id descending.
CREATE INDEX members_list ON members(user_id, folder, ((pinned_at IS NOT NULL)::int), activity_at, conversation_id)
    WHERE activity_at IS NOT NULL;
-- The memberships of large groups, listed through the join.
CREATE INDEX members_list_large ON members(user_id, folder) WHERE activity_at IS NULL;

CREATE FUNCTION parley_list_activity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.list_from_conversation <> OLD.list_from_conversation THEN
        UPDATE members SET activity_at = CASE WHEN NEW.list_from_conversation = 0 THEN NEW.last_activity_at END
            WHERE conversation_id = NEW.id;
    ELSE
        UPDATE members SET activity_at = NEW.last_activity_at WHERE conversation_id = NEW.id;
    END IF;
    RETURN NULL;
END
$$;

-- Every write of a conversation's last activity (AllocSeq, the
-- committer's deferred sequence writes, UpdateConversation) reaches its
-- member rows in the same transaction; so does a change of the flag.
CREATE TRIGGER conversations_list_activity AFTER UPDATE OF last_activity_at, list_from_conversation ON conversations
    FOR EACH ROW WHEN (NEW.list_from_conversation <> OLD.list_from_conversation
        OR (NEW.list_from_conversation = 0 AND NEW.last_activity_at <> OLD.last_activity_at))
    EXECUTE FUNCTION parley_list_activity();
