-- A revision of a conversation's memberships (what MemberStates returns:
-- who, with which status, joined_seq and left_seq), bumped by triggers on
-- every write that changes one, whichever code path or node makes it
-- (including deletes by cascade). It only grows, so a copy of the member
-- states read at revision R is exactly what a read at any later snapshot
-- with the same revision would return: the fan-out keeps the states of a
-- large group between messages (app.memberCache) and checks the revision
-- in its read transaction. Read markers and other columns do not bump it.
-- members_rev is in no index, so the bump is a HOT update.
ALTER TABLE conversations ADD COLUMN members_rev BIGINT NOT NULL DEFAULT 0;

CREATE FUNCTION parley_members_rev() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE conversations SET members_rev = members_rev + 1 WHERE id = OLD.conversation_id;
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.conversation_id IS DISTINCT FROM OLD.conversation_id) THEN
        UPDATE conversations SET members_rev = members_rev + 1 WHERE id = NEW.conversation_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER members_rev_insert_delete AFTER INSERT OR DELETE ON members
    FOR EACH ROW EXECUTE FUNCTION parley_members_rev();

CREATE TRIGGER members_rev_update AFTER UPDATE OF conversation_id, user_id, status, joined_seq, left_seq ON members
    FOR EACH ROW
    WHEN (OLD.conversation_id IS DISTINCT FROM NEW.conversation_id OR OLD.user_id IS DISTINCT FROM NEW.user_id
        OR OLD.status IS DISTINCT FROM NEW.status OR OLD.joined_seq IS DISTINCT FROM NEW.joined_seq
        OR OLD.left_seq IS DISTINCT FROM NEW.left_seq)
    EXECUTE FUNCTION parley_members_rev();
