package sqlite

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/parleyhq/parley"
)

// ChangesBefore implements parley.EventTx: the newest messages and the
// newest events below before, each an ordered walk of its primary key,
// merged newest first.
func (t *tx) ChangesBefore(before int64, limit int) ([]parley.Change, error) {
	if limit <= 0 {
		return []parley.Change{}, nil
	}
	msgs, err := t.changes(`SELECT pos, conversation_id, '' FROM messages WHERE pos < ? ORDER BY pos DESC LIMIT ?`, before, limit)
	if err != nil {
		return nil, err
	}
	evs, err := t.changes(`SELECT pos, conversation_id, user_id FROM events WHERE pos < ? ORDER BY pos DESC LIMIT ?`, before, limit)
	if err != nil {
		return nil, err
	}
	out := make([]parley.Change, 0, min(limit, len(msgs)+len(evs)))
	i, j := 0, 0
	for len(out) < limit && (i < len(msgs) || j < len(evs)) {
		if j >= len(evs) || i < len(msgs) && msgs[i].Pos > evs[j].Pos {
			out = append(out, msgs[i])
			i++
		} else {
			out = append(out, evs[j])
			j++
		}
	}
	return out, nil
}

func (t *tx) changes(q string, args ...any) ([]parley.Change, error) {
	rows, err := t.query(q, args...)
	if err != nil {
		return nil, fmt.Errorf("changes before: %w", err)
	}
	defer rows.Close()
	var out []parley.Change
	for rows.Next() {
		var c parley.Change
		if err := rows.Scan(&c.Pos, &c.ConversationID, &c.UserID); err != nil {
			return nil, fmt.Errorf("scan change: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("changes before: %w", err)
	}
	return out, nil
}

// AgentsAmong implements parley.BusinessTx.
func (t *tx) AgentsAmong(userIDs []string) ([]string, error) {
	out := []string{}
	if len(userIDs) == 0 {
		return out, nil
	}
	rows, err := t.query(`SELECT DISTINCT user_id FROM agents WHERE active = 1 AND user_id IN (SELECT value FROM json_each(?))`, idList(userIDs))
	if err != nil {
		return nil, fmt.Errorf("agents among: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("scan agent: %w", err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("agents among: %w", err)
	}
	return out, nil
}

// AgentMembers implements parley.BusinessTx. It walks the smaller side:
// the fan-out asks it of groups of thousands, where looking each member
// up among the agents cost ~9 ms for 10,000 members, while a server has
// far fewer agents, each looked up among the members by the primary key.
// The planner has no statistics to tell the two apart, so the choice is
// made here: the agents are counted up to the conversation's member
// count, which bounds the count's cost by the cheaper plan's.
func (t *tx) AgentMembers(conversationID string) ([]string, error) {
	var members, agents int
	if err := t.queryRow(`SELECT member_count FROM conversations WHERE id = ?`, conversationID).Scan(&members); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("agent members: %w", err)
	}
	if err := t.queryRow(`SELECT COUNT(*) FROM (SELECT 1 FROM agents WHERE active = 1 LIMIT ?)`, members+1).Scan(&agents); err != nil {
		return nil, fmt.Errorf("agent members: %w", err)
	}
	q := `SELECT DISTINCT a.user_id FROM members m JOIN agents a ON a.user_id = m.user_id AND a.active = 1
		WHERE m.conversation_id = ?`
	if agents <= members {
		// CROSS JOIN keeps the order written: agents first.
		q = `SELECT DISTINCT a.user_id FROM agents a CROSS JOIN members m ON m.conversation_id = ? AND m.user_id = a.user_id
		WHERE a.active = 1`
	}
	rows, err := t.query(q, conversationID)
	if err != nil {
		return nil, fmt.Errorf("agent members: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("scan agent: %w", err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("agent members: %w", err)
	}
	return out, nil
}
