package sqlite

import (
	"fmt"
	"time"

	"github.com/parleyhq/parley"
)

// RedactMessage implements parley.MessageTx. Clearing the body takes the
// message out of the search index (the index follows the body).
func (t *tx) RedactMessage(id string, at time.Time) error {
	t.purged = true // the checkpointer truncates the log once this commits
	res, err := t.exec(`UPDATE messages SET body = '', card = '', data = '', edited_at = NULL,
		redacted_at = COALESCE(redacted_at, ?) WHERE id = ?`, toNanos(at), id)
	if err != nil {
		return fmt.Errorf("redact message: %w", err)
	}
	if err := mustAffect(res, "message"); err != nil {
		return err
	}
	if _, err := t.exec(`DELETE FROM message_edits WHERE message_id = ?`, id); err != nil {
		return fmt.Errorf("redact message edits: %w", err)
	}
	return nil
}

// MessagesBySender implements parley.MessageTx (index messages_sender).
func (t *tx) MessagesBySender(senderID string, afterPos int64, limit int) ([]*parley.Message, error) {
	out, err := t.scanMessages(`SELECT `+messageCols+` FROM messages WHERE sender_id = ? AND pos > ?
		ORDER BY pos LIMIT ?`, senderID, afterPos, limit)
	if err != nil {
		return nil, fmt.Errorf("messages by sender: %w", err)
	}
	return out, nil
}

// ConversationIDs implements parley.ConversationTx.
func (t *tx) ConversationIDs(afterID string, limit int) ([]string, error) {
	rows, err := t.query(`SELECT id FROM conversations WHERE id > ? ORDER BY id LIMIT ?`, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("conversation ids: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("conversation ids: %w", err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("conversation ids: %w", err)
	}
	return out, nil
}
