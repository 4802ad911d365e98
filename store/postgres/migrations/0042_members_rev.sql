-- A revision of a conversation's memberships (what MemberStates returns:
-- who, with which status, joined_seq and left_seq), bumped by triggers on
-- every write that changes one, whichever code path or node makes it
-- (including deletes by cascade). It only grows, so a copy of the member
-- states read at revision R is exactly what a read at any later snapshot
-- with the same revision would return: the fan-out keeps the states of a
-- large group between messages (app.memberCache) and checks the revision
-- in its read transaction. Read markers and other columns do not bump it.
--
-- A transaction bumps it once however many members it writes
-- (members_rev_xid holds the last bumping transaction): readers see all
-- of a transaction's writes or none, and a row updated once per member
-- would keep every version of itself until the commit, making a bulk add
-- of 10,000 members (or migrate-data's COPY) quadratic. Neither column is
-- in an index, so a bump is a HOT update.
--
-- Taken first, like every write batch does: the ALTER below locks
-- conversations and CREATE TRIGGER members, the order opposite to a
-- batch's, which a node still running during the upgrade would deadlock
-- with.
SELECT 1 FROM positions WHERE id = 1 FOR UPDATE;

ALTER TABLE conversations ADD COLUMN members_rev BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN members_rev_xid xid8;

CREATE FUNCTION parley_members_rev() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE conversations SET members_rev = members_rev + 1, members_rev_xid = pg_current_xact_id()
            WHERE id = OLD.conversation_id AND members_rev_xid IS DISTINCT FROM pg_current_xact_id();
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.conversation_id IS DISTINCT FROM OLD.conversation_id) THEN
        UPDATE conversations SET members_rev = members_rev + 1, members_rev_xid = pg_current_xact_id()
            WHERE id = NEW.conversation_id AND members_rev_xid IS DISTINCT FROM pg_current_xact_id();
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
