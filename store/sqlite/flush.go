package sqlite

import "fmt"

// Writes made once per group-commit batch (migration 0025). A send moves
// its conversation's last activity and adds a message; the conversation
// list's sort key on the member rows and the message's search index
// entries follow from those, and writing them per message cost sends
// about a quarter of their throughput each (two members_list index moves;
// one FTS5 segment). The tx notes what is due (markMoved, markUnindexed)
// and flush writes the sort keys: at the end of the batch, at the end of
// each update when the batch runs with savepoints, and before anything
// in the transaction reads them (the conversation list). The search
// index entries wait longer, for several batches (indexer.go, migration
// 0034).

// markMoved notes that conversationID's last activity changed.
func (t *tx) markMoved(conversationID string) {
	if t.moved == nil {
		t.moved = map[string]struct{}{}
	}
	t.moved[conversationID] = struct{}{}
}

// markUnindexed notes that n messages were created: they wait for the
// next index step (indexer.go).
func (t *tx) markUnindexed(n int) { t.created += n }

// dropDue forgets what is due: the update that made it was rolled back.
// The savepoint's rollback also undid any positions.next it wrote.
func (t *tx) dropDue() {
	clear(t.moved)
	clear(t.reserved)
	t.savedPos = 0
	t.chainDue = t.chainDue[:0]
}

// flush writes what is due: the chain entries appended since the last
// flush (chain.go), and each moved conversation's last activity onto
// its member rows (unless it is listed from its own row), in one
// statement each. Nothing is due in a read transaction.
func (t *tx) flush() error {
	if err := t.flushChain(); err != nil {
		return err
	}
	if len(t.moved) == 0 {
		return nil
	}
	ids := make([]string, 0, len(t.moved))
	for id := range t.moved {
		ids = append(ids, id)
	}
	if _, err := t.exec(`UPDATE members SET activity_at = c.last_activity_at
		FROM conversations c
		WHERE members.conversation_id IN (SELECT value FROM json_each(?))
		  AND c.id = members.conversation_id AND c.list_from_conversation = 0
		  AND members.activity_at IS NOT c.last_activity_at`, idList(ids)); err != nil {
		return fmt.Errorf("write list sort keys: %w", err)
	}
	clear(t.moved)
	return nil
}

// savePos saves the next position (positions.next), unless this
// transaction already saved it or took none.
func (t *tx) savePos() error {
	if t.savedPos == t.db.pos || t.savedPos == 0 && t.startPos == t.db.pos {
		return nil
	}
	if _, err := t.exec(`UPDATE positions SET next = ? WHERE id = 1`, t.db.pos); err != nil {
		return fmt.Errorf("save position: %w", err)
	}
	t.savedPos = t.db.pos
	return nil
}
