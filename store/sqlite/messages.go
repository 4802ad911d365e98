package sqlite

import (
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/store/storeseal"
)

const messageCols = `id, conversation_id, seq, pos, sender_id, client_id, kind, body, reply_to, system,
	created_at, edited_at, deleted_at, card, agent_id, data, expires_at, view_once, redacted_at`

// messageColsM is messageCols qualified with the alias m.
const messageColsM = `m.id, m.conversation_id, m.seq, m.pos, m.sender_id, m.client_id, m.kind, m.body,
	m.reply_to, m.system, m.created_at, m.edited_at, m.deleted_at, m.card, m.agent_id, m.data, m.expires_at, m.view_once, m.redacted_at`

// scanMessage reads one row of messageCols.
func scanMessage(s scanner) (*parley.Message, error) {
	var m parley.Message
	var client sql.NullString
	var created int64
	var edited, deleted, expires, redacted sql.NullInt64
	if err := s.Scan(&m.ID, &m.ConversationID, &m.Seq, &m.Pos, &m.SenderID, &client, &m.Kind, &m.Text,
		&m.ReplyTo, &m.System, &created, &edited, &deleted, &m.Card, &m.AgentID, &m.Data, &expires, &m.ViewOnce, &redacted); err != nil {
		return nil, err
	}
	m.RedactedAt = fromNullNanos(redacted)
	m.ClientID, m.CreatedAt = client.String, fromNanos(created)
	m.EditedAt, m.DeletedAt = fromNullNanos(edited), fromNullNanos(deleted)
	m.ExpiresAt = fromNullNanos(expires)
	return &m, nil
}

// CreateMessage implements parley.MessageTx.
func (t *tx) CreateMessage(m *parley.Message) error {
	k := t.db.seal.Get()
	sc, err := storeseal.SealMessage(k, m)
	if err != nil {
		return fmt.Errorf("create message: %w", err)
	}
	pos := t.nextPos()
	_, err = t.exec(`INSERT INTO messages (`+messageCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, m.ConversationID, m.Seq, pos, m.SenderID, nullString(m.ClientID), string(m.Kind), sc.Body,
		m.ReplyTo, m.System, toNanos(m.CreatedAt), toNullNanos(m.EditedAt), toNullNanos(m.DeletedAt), sc.Card,
		m.AgentID, sc.Data, toNullNanos(m.ExpiresAt), m.ViewOnce, toNullNanos(m.RedactedAt))
	if isUnique(err) {
		switch msg := err.Error(); {
		case strings.Contains(msg, "client_id"):
			return parley.Errorf(parley.EConflict, "client id already used")
		case strings.Contains(msg, "seq"):
			return parley.Errorf(parley.EConflict, "sequence number taken")
		}
		return parley.Errorf(parley.EConflict, "message exists")
	} else if err != nil {
		return fmt.Errorf("create message: %w", err)
	}
	m.Pos = pos
	t.markUnindexed(1)                    // its search index entries follow at an index step (indexer.go)
	t.cacheLastPos(m.ConversationID, pos) // the row's was set by the INSERT's trigger (0031)
	return nil
}

// setLastPos records pos as the conversation's newest position. A
// message's is set by the trigger messages_last_pos (migration 0031).
func (t *tx) setLastPos(conversationID string, pos int64) error {
	if _, err := t.exec(`UPDATE conversations SET last_pos = ? WHERE id = ?`, pos, conversationID); err != nil {
		return fmt.Errorf("set last position: %w", err)
	}
	t.cacheLastPos(conversationID, pos)
	return nil
}

// cacheLastPos notes a conversation's new last position in the write
// cache, if the conversation is cached.
func (t *tx) cacheLastPos(conversationID string, pos int64) {
	if wc := t.cache(); wc != nil {
		if c, ok := wc.convs[conversationID]; ok {
			c.LastPos = pos
			wc.convs[conversationID] = c
		}
	}
}

// MessageByID implements parley.MessageTx.
func (t *tx) MessageByID(id string) (*parley.Message, error) {
	m, err := scanMessage(t.queryRow(`SELECT `+messageCols+` FROM messages WHERE id = ?`, id))
	if err != nil {
		return nil, rowErr(err, "message")
	}
	return m, storeseal.OpenMessage(t.db.seal.Get(), m)
}

// MessageByClientID implements parley.MessageTx.
func (t *tx) MessageByClientID(conversationID, senderID, clientID string) (*parley.Message, error) {
	if clientID == "" {
		return nil, notFound("message")
	}
	m, err := scanMessage(t.queryRow(`SELECT `+messageCols+` FROM messages
		WHERE conversation_id = ? AND sender_id = ? AND client_id = ?`, conversationID, senderID, clientID))
	if err != nil {
		return nil, rowErr(err, "message")
	}
	return m, storeseal.OpenMessage(t.db.seal.Get(), m)
}

// Messages implements parley.MessageTx. The default page size is 50.
func (t *tx) Messages(r parley.MessageRange) ([]*parley.Message, error) {
	limit := r.Limit
	if limit <= 0 {
		limit = 50
	}
	// Fold the four bounds into one closed range [lo, hi] so that the
	// (conversation_id, seq) index serves it directly.
	lo := max(r.AfterSeq+1, r.MinSeq)
	hi := int64(math.MaxInt64)
	if r.BeforeSeq > 0 {
		hi = r.BeforeSeq - 1
	}
	if r.MaxSeq > 0 {
		hi = min(hi, r.MaxSeq)
	}
	out := []*parley.Message{}
	if lo > hi {
		return out, nil
	}
	q := `SELECT ` + messageCols + ` FROM messages WHERE conversation_id = ? AND seq BETWEEN ? AND ?
		ORDER BY seq ASC LIMIT ?`
	if r.Descending {
		q = `SELECT ` + messageCols + ` FROM messages WHERE conversation_id = ? AND seq BETWEEN ? AND ?
		ORDER BY seq DESC LIMIT ?`
	}
	out, err := t.scanMessages(q, r.ConversationID, lo, hi, limit)
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	if r.Descending {
		slices.Reverse(out)
	}
	return out, nil
}

// UpdateMessageText implements parley.MessageTx. A purged message cannot
// be edited: it is reported as not found.
func (t *tx) UpdateMessageText(id, text string, editedAt time.Time) error {
	body, err := storeseal.SealBody(t.db.seal.Get(), id, text)
	if err != nil {
		return fmt.Errorf("update message: %w", err)
	}
	res, err := t.exec(`UPDATE messages SET body = ?, edited_at = ? WHERE id = ? AND deleted_at IS NULL`,
		body, toNanos(editedAt), id)
	if err != nil {
		return fmt.Errorf("update message: %w", err)
	}
	return mustAffect(res, "message")
}

// AddMessageEdit implements parley.MessageTx; ENotFound if the message is
// missing or purged, so that no text outlives an unsend.
func (t *tx) AddMessageEdit(e *parley.MessageEdit) error {
	body, err := storeseal.SealEdit(t.db.seal.Get(), e)
	if err != nil {
		return fmt.Errorf("add message edit: %w", err)
	}
	res, err := t.exec(`INSERT INTO message_edits (message_id, body, edited_at)
		SELECT id, ?, ? FROM messages WHERE id = ? AND deleted_at IS NULL`,
		body, toNanos(e.EditedAt), e.MessageID)
	if err != nil {
		return fmt.Errorf("add message edit: %w", err)
	}
	return mustAffect(res, "message")
}

// MessageEdits implements parley.MessageTx.
func (t *tx) MessageEdits(messageID string) ([]*parley.MessageEdit, error) {
	rows, err := t.query(`SELECT message_id, body, edited_at FROM message_edits WHERE message_id = ?
		ORDER BY edited_at, rowid`, messageID)
	if err != nil {
		return nil, fmt.Errorf("list message edits: %w", err)
	}
	defer rows.Close()
	out := []*parley.MessageEdit{}
	for rows.Next() {
		var e parley.MessageEdit
		var at int64
		if err := rows.Scan(&e.MessageID, &e.Text, &at); err != nil {
			return nil, fmt.Errorf("scan message edit: %w", err)
		}
		if err := storeseal.OpenEdit(t.db.seal.Get(), &e); err != nil {
			return nil, err
		}
		e.EditedAt = fromNanos(at)
		out = append(out, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list message edits: %w", err)
	}
	return out, nil
}

// PurgeMessage implements parley.MessageTx. The client id stays so that a
// resend with it finds the tombstone; purging twice keeps the first
// DeletedAt.
func (t *tx) PurgeMessage(id string, at time.Time) error {
	t.purged = true // the checkpointer truncates the log once this commits
	res, err := t.exec(`UPDATE messages SET body = '', reply_to = '', system = '', card = '', data = '', edited_at = NULL,
		deleted_at = COALESCE(deleted_at, ?) WHERE id = ?`, toNanos(at), id)
	if err != nil {
		return fmt.Errorf("purge message: %w", err)
	}
	if err := mustAffect(res, "message"); err != nil {
		return err
	}
	if _, err := t.exec(`DELETE FROM message_edits WHERE message_id = ?`, id); err != nil {
		return fmt.Errorf("purge message edits: %w", err)
	}
	if _, err := t.exec(`DELETE FROM reactions WHERE message_id = ?`, id); err != nil {
		return fmt.Errorf("purge reactions: %w", err)
	}
	return nil
}

// SetMessageCard implements parley.MessageTx.
func (t *tx) SetMessageCard(id, card string) (bool, error) {
	card, err := storeseal.SealCard(t.db.seal.Get(), id, card)
	if err != nil {
		return false, fmt.Errorf("set card: %w", err)
	}
	res, err := t.exec(`UPDATE messages SET card = ? WHERE id = ? AND deleted_at IS NULL`, card, id)
	if err != nil {
		return false, fmt.Errorf("set card: %w", err)
	}
	return affected(res)
}

// CountMessagesBySender implements parley.MessageTx. Tombstones count.
func (t *tx) CountMessagesBySender(conversationID, senderID string) (int, error) {
	var n int
	err := t.queryRow(`SELECT COUNT(*) FROM messages WHERE conversation_id = ? AND sender_id = ?`,
		conversationID, senderID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count messages: %w", err)
	}
	return n, nil
}

// CountUnread implements parley.MessageTx. System messages do not count;
// max <= 0 means no cap.
func (t *tx) CountUnread(conversationID, userID string, afterSeq int64, expiredBy time.Time, max int) (int, error) {
	limit := int64(max)
	if max <= 0 {
		limit = -1
	}
	var by int64
	if !expiredBy.IsZero() {
		by = toNanos(expiredBy)
	}
	var n int
	err := t.queryRow(`SELECT COUNT(*) FROM (SELECT 1 FROM messages WHERE conversation_id = ? AND seq > ?
		AND sender_id != ? AND deleted_at IS NULL AND kind != 'system'
		AND (? = 0 OR expires_at IS NULL OR expires_at > ?) LIMIT ?)`,
		conversationID, afterSeq, userID, by, by, limit).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count unread: %w", err)
	}
	return n, nil
}

// SetReaction implements parley.MessageTx.
func (t *tx) SetReaction(r *parley.Reaction, on bool) (bool, error) {
	if on {
		res, err := t.exec(`INSERT OR IGNORE INTO reactions (message_id, user_id, emoji, created_at)
			VALUES (?, ?, ?, ?)`, r.MessageID, r.UserID, r.Emoji, toNanos(r.CreatedAt))
		if err != nil {
			return false, fmt.Errorf("add reaction: %w", err)
		}
		return affected(res)
	}
	res, err := t.exec(`DELETE FROM reactions WHERE message_id = ? AND user_id = ? AND emoji = ?`,
		r.MessageID, r.UserID, r.Emoji)
	if err != nil {
		return false, fmt.Errorf("remove reaction: %w", err)
	}
	return affected(res)
}

// CountUserReactions implements parley.MessageTx.
func (t *tx) CountUserReactions(messageID, userID string) (int, error) {
	var n int
	err := t.queryRow(`SELECT COUNT(*) FROM reactions WHERE message_id = ? AND user_id = ?`,
		messageID, userID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count reactions: %w", err)
	}
	return n, nil
}

// Reactions implements parley.MessageTx. Messages without reactions have
// no key in the map.
func (t *tx) Reactions(messageIDs []string) (map[string][]*parley.Reaction, error) {
	out := map[string][]*parley.Reaction{}
	rows, err := t.query(`SELECT message_id, user_id, emoji, created_at FROM reactions
		WHERE message_id IN (SELECT value FROM json_each(?))
		ORDER BY message_id, created_at, user_id, emoji`, idList(messageIDs))
	if err != nil {
		return nil, fmt.Errorf("load reactions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r parley.Reaction
		var at int64
		if err := rows.Scan(&r.MessageID, &r.UserID, &r.Emoji, &at); err != nil {
			return nil, fmt.Errorf("scan reaction: %w", err)
		}
		r.CreatedAt = fromNanos(at)
		out[r.MessageID] = append(out[r.MessageID], &r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load reactions: %w", err)
	}
	return out, nil
}

// AppendEvent implements parley.EventTx. A nil Data is stored as {}.
func (t *tx) AppendEvent(e *parley.Event) error {
	data := "{}"
	if len(e.Data) > 0 {
		data = string(e.Data)
	}
	pos := t.nextPos()
	_, err := t.exec(`INSERT INTO events (pos, type, conversation_id, user_id, actor_id, message_id, seq, data,
		created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		pos, e.Type, e.ConversationID, e.UserID, e.ActorID, e.MessageID, e.Seq, data, toNanos(e.CreatedAt))
	if err != nil {
		return fmt.Errorf("append event: %w", err)
	}
	e.Pos = pos
	if e.ConversationID != "" && e.UserID == "" {
		return t.setLastPos(e.ConversationID, pos)
	}
	return nil
}

// Head implements parley.EventTx.
func (t *tx) Head() (int64, error) {
	var next int64
	if err := t.queryRow(`SELECT next FROM positions WHERE id = 1`).Scan(&next); err != nil {
		return 0, fmt.Errorf("head: %w", err)
	}
	if t.caughtUp {
		// A search's run after an index step reads as of the index's
		// watermark (SearchMessages); its Head says so, so that the
		// pages after the first keep to the same messages.
		mark, err := t.indexedBelow()
		if err != nil {
			return 0, fmt.Errorf("head: %w", err)
		}
		next = min(next, mark)
	}
	return next - 1, nil
}

// Position implements parley.EventTx.
func (t *tx) Position() int64 {
	if !t.write {
		panic("sqlite: Position in a read transaction")
	}
	return t.db.pos
}

// scanMessages runs a query of messageCols and reads every row.
func (t *tx) scanMessages(query string, args ...any) ([]*parley.Message, error) {
	rows, err := t.query(query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	k := t.db.seal.Get()
	out := []*parley.Message{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		if err := storeseal.OpenMessage(k, m); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

const eventCols = `pos, type, conversation_id, user_id, actor_id, message_id, seq, data, created_at`

// syncEvents finds the events after a position that concern the user:
// their own, and those of conversations they may see at that position.
const syncEvents = `SELECT ` + eventCols + ` FROM (
	SELECT e.* FROM events e WHERE e.user_id = ?1 AND e.user_id != '' AND e.pos > ?2
	UNION ALL
	SELECT e.* FROM members mb
	JOIN conversations c ON c.id = mb.conversation_id
	JOIN events e ON e.conversation_id = mb.conversation_id AND e.user_id = '' AND e.pos > ?2
	WHERE mb.user_id = ?1 AND c.last_pos > ?2 AND mb.status != 'declined'
	  AND e.pos >= mb.joined_pos
	  AND (mb.status IN ('active', 'pending') OR e.pos < mb.left_pos)
) ORDER BY pos LIMIT ?3`

// SyncEvents implements parley.EventTx.
func (t *tx) SyncEvents(userID string, since int64, limit int) ([]*parley.Event, error) {
	rows, err := t.query(syncEvents, userID, since, limit)
	if err != nil {
		return nil, fmt.Errorf("sync events: %w", err)
	}
	defer rows.Close()
	out := []*parley.Event{}
	for rows.Next() {
		var e parley.Event
		var data string
		var created int64
		if err := rows.Scan(&e.Pos, &e.Type, &e.ConversationID, &e.UserID, &e.ActorID, &e.MessageID, &e.Seq, &data, &created); err != nil {
			return nil, fmt.Errorf("scan event: %w", err)
		}
		e.Data, e.CreatedAt = []byte(data), fromNanos(created)
		out = append(out, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sync events: %w", err)
	}
	return out, nil
}

// CreateMessages implements parley.MessageTx: one INSERT of every row
// (its trigger sets the conversations' last positions); their search
// index entries are written with the batch's (flush.go).
func (t *tx) CreateMessages(ms []*parley.Message) error {
	if len(ms) == 0 {
		return nil
	}
	if len(ms) > maxMessagesPerInsert {
		if err := t.CreateMessages(ms[:maxMessagesPerInsert]); err != nil {
			return err
		}
		return t.CreateMessages(ms[maxMessagesPerInsert:])
	}
	k := t.db.seal.Get()
	var q strings.Builder
	q.WriteString(`INSERT INTO messages (` + messageCols + `) VALUES `)
	args := make([]any, 0, len(ms)*19)
	pos := make([]int64, len(ms))
	last := map[string]int64{}
	for i, m := range ms {
		sc, err := storeseal.SealMessage(k, m)
		if err != nil {
			return fmt.Errorf("create messages: %w", err)
		}
		if i > 0 {
			q.WriteString(`, `)
		}
		q.WriteString(`(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if r, ok := t.reserved[m.ConversationID]; ok && r.seq == m.Seq {
			// AllocSeqs took this position with the number and wrote it
			// as the conversation's last; a later message of the
			// conversation here takes a newer one below.
			pos[i] = r.pos
			delete(t.reserved, m.ConversationID)
		} else {
			pos[i] = t.nextPos()
			last[m.ConversationID] = pos[i]
		}
		args = append(args, m.ID, m.ConversationID, m.Seq, pos[i], m.SenderID, nullString(m.ClientID), string(m.Kind), sc.Body,
			m.ReplyTo, m.System, toNanos(m.CreatedAt), toNullNanos(m.EditedAt), toNullNanos(m.DeletedAt), sc.Card,
			m.AgentID, sc.Data, toNullNanos(m.ExpiresAt), m.ViewOnce, toNullNanos(m.RedactedAt))
	}
	// Not t.exec: a statement per row count would fill the statement
	// cache; parsing one per chunk costs little.
	if _, err := t.sqlTx.ExecContext(t.ctx, q.String(), args...); isUnique(err) {
		return parley.Errorf(parley.EConflict, "a message exists (client id or sequence number taken)")
	} else if err != nil {
		return fmt.Errorf("create messages: %w", err)
	}
	// The conversations' last positions were set by the INSERT's
	// trigger (migration 0031); a reserved position was already the
	// last (AllocSeqs).
	t.markUnindexed(len(ms)) // their search index entries follow at an index step (indexer.go)
	for i, m := range ms {
		m.Pos = pos[i]
	}
	for id, p := range last {
		t.cacheLastPos(id, p)
	}
	return nil
}

// maxMessagesPerInsert keeps an INSERT of CreateMessages under SQLite's
// 32,766 bound parameters (19 a row).
const maxMessagesPerInsert = 1000
