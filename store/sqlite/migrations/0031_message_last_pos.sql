-- A conversation's newest position follows its messages inside the
-- INSERT (issue 12). It was a statement of its own after every message
-- (setLastPos), a fifth of a send's statements in the single writer; the
-- trigger does the same write without a round trip through the driver.
-- Events still set it from Go (AppendEvent). Positions only grow, so the
-- guard only skips rows inserted out of order (none today).
CREATE TRIGGER messages_last_pos AFTER INSERT ON messages BEGIN
    UPDATE conversations SET last_pos = new.pos
        WHERE id = new.conversation_id AND last_pos < new.pos;
END;
