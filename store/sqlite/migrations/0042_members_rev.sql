-- A revision of a conversation's memberships (what MemberStates returns:
-- who, with which status, joined_seq and left_seq), bumped by triggers on
-- every write that changes one, whichever code path makes it (including
-- deletes by cascade). It only grows, so a copy of the member states read
-- at revision R is exactly what a read at any later snapshot with the
-- same revision would return: the fan-out keeps the states of a large
-- group between messages (app.memberCache) and checks the revision in
-- its read transaction. Read markers and other columns do not bump it.
ALTER TABLE conversations ADD COLUMN members_rev INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER members_rev_insert AFTER INSERT ON members
BEGIN
    UPDATE conversations SET members_rev = members_rev + 1 WHERE id = NEW.conversation_id;
END;

CREATE TRIGGER members_rev_delete AFTER DELETE ON members
BEGIN
    UPDATE conversations SET members_rev = members_rev + 1 WHERE id = OLD.conversation_id;
END;

CREATE TRIGGER members_rev_update AFTER UPDATE OF conversation_id, user_id, status, joined_seq, left_seq ON members
WHEN OLD.conversation_id IS NOT NEW.conversation_id OR OLD.user_id IS NOT NEW.user_id
    OR OLD.status IS NOT NEW.status OR OLD.joined_seq IS NOT NEW.joined_seq OR OLD.left_seq IS NOT NEW.left_seq
BEGIN
    UPDATE conversations SET members_rev = members_rev + 1 WHERE id IN (OLD.conversation_id, NEW.conversation_id);
END;
