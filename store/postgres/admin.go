package postgres

import (
	"fmt"
	"strings"

	"github.com/parleyhq/parley"
)

// Users implements parley.AdminTx.
func (t *tx) Users(f parley.UserFilter) ([]*parley.User, error) {
	q := `SELECT ` + userCols + ` FROM users WHERE handle > ?`
	args := []any{strings.ToLower(f.AfterHandle)}
	if f.Kind != "" {
		q += ` AND kind = ?`
		args = append(args, string(f.Kind))
	}
	q += ` ORDER BY handle`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	return queryAll(t, "list users", scanUser, q, args...)
}

// Stats implements parley.AdminTx. It counts whole tables: an operator's
// question, not something a request path may call.
func (t *tx) Stats() (*parley.Stats, error) {
	st := &parley.Stats{
		Users:         map[parley.UserKind]int{parley.KindPerson: 0, parley.KindBusiness: 0, parley.KindBot: 0},
		Conversations: map[parley.ConversationKind]int{parley.ConversationDirect: 0, parley.ConversationGroup: 0},
	}
	counts := func(q string, fn func(key string, n int)) error {
		rows, err := t.query(q)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k string
			var n int
			if err := rows.Scan(&k, &n); err != nil {
				return err
			}
			fn(k, n)
		}
		return rows.Err()
	}
	if err := counts(`SELECT kind, COUNT(*) FROM users GROUP BY kind`, func(k string, n int) { st.Users[parley.UserKind(k)] = n }); err != nil {
		return nil, fmt.Errorf("stats: users: %w", err)
	}
	if err := counts(`SELECT kind, COUNT(*) FROM conversations GROUP BY kind`, func(k string, n int) {
		st.Conversations[parley.ConversationKind(k)] = n
	}); err != nil {
		return nil, fmt.Errorf("stats: conversations: %w", err)
	}
	if err := counts(`SELECT kind, COUNT(*) FROM sessions GROUP BY kind`, func(k string, n int) {
		if k == parley.SessionToken {
			st.Tokens += n
		} else {
			st.Sessions += n
		}
	}); err != nil {
		return nil, fmt.Errorf("stats: sessions: %w", err)
	}
	err := t.queryRow(`SELECT
		(SELECT COUNT(*) FROM users WHERE suspended != 0),
		(SELECT COUNT(*) FROM messages),
		(SELECT COUNT(*) FROM media),
		(SELECT COALESCE(SUM(size), 0) FROM (SELECT MAX(size) AS size FROM media GROUP BY blob_key) AS x)::bigint,
		(SELECT COUNT(DISTINCT business_id) FROM inbox_items),
		(SELECT COUNT(*) FROM inbox_items),
		(SELECT COUNT(*) FROM agents WHERE active = 1)`).Scan(&st.SuspendedUsers, &st.Messages, &st.MediaFiles,
		&st.MediaBytes, &st.BusinessInboxes, &st.InboxConversations, &st.Agents)
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	return st, nil
}
