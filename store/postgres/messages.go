package postgres

import (
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/sealed"
	"github.com/parleyhq/parley/store/storeseal"
)

const messageCols = `id, conversation_id, seq, pos, sender_id, client_id, kind, body, reply_to, system,
	created_at, edited_at, deleted_at, card, agent_id, data, expires_at, view_once, redacted_at`

// messageColsM is messageCols qualified with the alias m.
const messageColsM = `m.id, m.conversation_id, m.seq, m.pos, m.sender_id, m.client_id, m.kind, m.body,
	m.reply_to, m.system, m.created_at, m.edited_at, m.deleted_at, m.card, m.agent_id, m.data, m.expires_at, m.view_once, m.redacted_at`

// searchVector is the search column of a message whose body is sealed:
// the words of the plaintext (the second argument) when the first is
// "sealed". Otherwise it is NULL here and the trigger of migration 0017
// computes it from the plaintext body, or clears it for a tombstone.
const searchVector = `CASE WHEN ?::text = 'sealed' THEN to_tsvector('simple'::regconfig, parley_search_text(?::text)) END`

// sealedFlag is the first argument of searchVector.
func sealedFlag(body string) string {
	if sealed.IsSealedText(body) {
		return "sealed"
	}
	return ""
}

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
//
// In the committer's first run of a batch (no savepoints) the row is
// queued and written at the next flush, with every other message of the
// batch, in one multi-row INSERT (see tx.flush): a batch of sends then
// costs a few statements whatever its size. A taken client id or seq
// then fails the flush instead of this call, and the committer runs the
// batch again with a savepoint per update, where the insert is immediate
// (insertMessage) and a conflict comes back here as EConflict, which the
// app's idempotent send needs.
func (t *tx) CreateMessage(m *parley.Message) error {
	sc, err := storeseal.SealMessage(t.db.seal.Get(), m)
	if err != nil {
		return fmt.Errorf("create message: %w", err)
	}
	pos := t.nextPos()
	row := msgRow{id: m.ID, conv: m.ConversationID, seq: m.Seq, pos: pos, sender: m.SenderID, client: nullString(m.ClientID),
		kind: string(m.Kind), body: sc.Body, replyTo: m.ReplyTo, system: m.System, created: toNanos(m.CreatedAt),
		edited: toNullNanos(m.EditedAt), deleted: toNullNanos(m.DeletedAt), card: sc.Card, agent: m.AgentID, data: sc.Data,
		expires: toNullNanos(m.ExpiresAt), viewOnce: m.ViewOnce, redacted: toNullNanos(m.RedactedAt),
		sealed: sealedFlag(sc.Body), text: m.Text}
	if t.queueWrites {
		t.msgs = append(t.msgs, row)
		t.touchConvRow(m.ConversationID)
	} else if err := t.insertMessage(row); err != nil {
		t.db.pos-- // nothing holds it
		return err
	}
	m.Pos = pos
	if wc := t.cache(); wc != nil {
		if c, ok := wc.convs[m.ConversationID]; ok {
			c.LastPos = pos
			wc.convs[m.ConversationID] = c
		}
	}
	return nil
}

// msgRow is one messages row to write.
type msgRow struct {
	id, conv                    string
	seq, pos                    int64
	sender                      string
	client                      any // string or nil
	kind, body, replyTo, system string
	created                     int64
	edited, deleted             any // int64 or nil
	card, agent, data           string
	expires                     any
	viewOnce                    bool
	redacted                    any
	sealed, text                string // searchVector's arguments
}

// insertMessage writes one message now. The insert and the
// conversation's last_pos are one statement (one round trip of the
// committer). A conflict does not abort the transaction (ON CONFLICT DO
// NOTHING); a second look says which key was taken.
//
// A seq that AllocSeq counted without writing it (pending) is written by
// the same statement.
func (t *tx) insertMessage(r msgRow) error {
	args := []any{r.id, r.conv, r.seq, r.pos, r.sender, r.client, r.kind, r.body,
		r.replyTo, r.system, r.created, r.edited, r.deleted, r.card,
		r.agent, r.data, r.expires, r.viewOnce, r.redacted, r.sealed, r.text}
	set := `last_pos = m.pos`
	pending, withSeq := t.seqs[r.conv]
	if withSeq {
		delete(t.seqs, r.conv)
		set += `, last_seq = ?, last_activity_at = ?`
		args = append(args, pending.seq, pending.at)
	}
	// Not t.exec: the statement needs no pending write before it (its
	// own seq is in it, and it reads nothing else), so the chain entries
	// of a batch's sends stay pending and go out in one statement.
	t.wrote = true
	t.touchConvRow(r.conv)
	res, err := t.sqlTx.ExecContext(t.ctx, rebind(`WITH m AS (INSERT INTO messages (`+messageCols+`, search) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, `+searchVector+`)
		ON CONFLICT DO NOTHING RETURNING conversation_id, pos)
		UPDATE conversations c SET `+set+` FROM m WHERE c.id = m.conversation_id`), pgArgs(args)...)
	if err != nil {
		return fmt.Errorf("create message: %w", err)
	}
	if ok, err := affected(res); err != nil {
		return err
	} else if ok {
		return nil
	}
	if withSeq { // still to be written
		t.seqs[r.conv] = pending
	}
	var taken int
	if r.client != nil {
		if err := t.queryRow(`SELECT COUNT(*) FROM messages WHERE conversation_id = ? AND sender_id = ? AND client_id = ?`,
			r.conv, r.sender, r.client).Scan(&taken); err != nil {
			return fmt.Errorf("create message: %w", err)
		} else if taken > 0 {
			return parley.Errorf(parley.EConflict, "client id already used")
		}
	}
	if err := t.queryRow(`SELECT COUNT(*) FROM messages WHERE conversation_id = ? AND seq = ?`,
		r.conv, r.seq).Scan(&taken); err != nil {
		return fmt.Errorf("create message: %w", err)
	} else if taken > 0 {
		return parley.Errorf(parley.EConflict, "sequence number taken")
	}
	return parley.Errorf(parley.EConflict, "message exists")
}

// errQueuedConflict fails a flush whose statement met a taken key: the
// committer runs the batch again, where each insert says which.
var errQueuedConflict = errors.New("postgres: a queued message met a taken client id or seq")

// queuedStmt is the statement that writes the queued messages, the
// conversations' last_pos, last_seq and last_activity_at (the pending
// seqs) and the pending chain entries, as one. It has no ON CONFLICT: a
// taken key (a client id, a seq) fails the whole statement and so the
// transaction, which then cannot commit, even when the COMMIT was sent
// with it in one pipeline (saveAndCommit); the committer runs the batch
// again with savepoints, where each insert says which key was taken. The
// statement answers with the messages inserted, always all of them.
func (t *tx) queuedStmt(rows []msgRow, chains []chainRow) flushStmt {
	n := len(rows)
	ids, convs, senders, kinds, bodies := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	replies, systems, cards, agents, datas := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	sealedFl, texts := make([]string, n), make([]string, n)
	seqs, poss, created, viewOnce := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	clients := make([]*string, n)
	edited, deleted, expires, redacted := make([]*int64, n), make([]*int64, n), make([]*int64, n), make([]*int64, n)
	lastPos := map[string]int64{}
	for i, r := range rows {
		ids[i], convs[i], senders[i], kinds[i], bodies[i] = pgText(r.id), pgText(r.conv), pgText(r.sender), pgText(r.kind), pgText(r.body)
		replies[i], systems[i], cards[i], agents[i], datas[i] = pgText(r.replyTo), pgText(r.system), pgText(r.card), pgText(r.agent), pgText(r.data)
		sealedFl[i], texts[i] = r.sealed, pgText(r.text)
		seqs[i], poss[i], created[i] = r.seq, r.pos, r.created
		if r.viewOnce {
			viewOnce[i] = 1
		}
		if s, ok := r.client.(string); ok {
			s = pgText(s)
			clients[i] = &s
		}
		edited[i], deleted[i], expires[i], redacted[i] = nullInt(r.edited), nullInt(r.deleted), nullInt(r.expires), nullInt(r.redacted)
		lastPos[r.conv] = max(lastPos[r.conv], r.pos)
	}
	// Every conversation of a queued message gets its last_pos; those with
	// a pending seq get it too (and the others keep theirs).
	uconv := make([]string, 0, len(lastPos)+len(t.seqs))
	upos, useq, uat := []*int64{}, []*int64{}, []*int64{}
	for id, p := range lastPos {
		p := p
		uconv, upos = append(uconv, pgText(id)), append(upos, &p)
		if s, ok := t.seqs[id]; ok {
			useq, uat = append(useq, &s.seq), append(uat, &s.at)
			delete(t.seqs, id)
		} else {
			useq, uat = append(useq, nil), append(uat, nil)
		}
	}
	for id, s := range t.seqs {
		s := s
		uconv, upos, useq, uat = append(uconv, pgText(id)), append(upos, nil), append(useq, &s.seq), append(uat, &s.at)
	}
	t.seqs = nil
	t.wrote = true
	ch, chainArgs := chainInsert(chains, 26)
	args := []any{ids, convs, seqs, poss, senders, clients, kinds, bodies, replies, systems, created, edited, deleted, cards, agents, datas,
		expires, viewOnce, redacted, sealedFl, texts, uconv, upos, useq, uat}
	return flushStmt{what: "create messages", rows: n, args: append(args, chainArgs...), sql: `WITH v AS (
			SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[],
				$9::text[], $10::text[], $11::bigint[], $12::bigint[], $13::bigint[], $14::text[], $15::text[], $16::text[],
				$17::bigint[], $18::bigint[], $19::bigint[], $20::text[], $21::text[])
			AS v(id, conversation_id, seq, pos, sender_id, client_id, kind, body, reply_to, system, created_at, edited_at,
				deleted_at, card, agent_id, data, expires_at, view_once, redacted_at, sealed, plain)),
		m AS (INSERT INTO messages (` + messageCols + `, search)
			SELECT id, conversation_id, seq, pos, sender_id, client_id, kind, body, reply_to, system, created_at, edited_at,
				deleted_at, card, agent_id, data, expires_at, view_once, redacted_at,
				CASE WHEN sealed = 'sealed' THEN to_tsvector('simple'::regconfig, parley_search_text(plain)) END
			FROM v ORDER BY pos
			RETURNING 1),
		c AS (UPDATE conversations c SET last_pos = COALESCE(u.pos, c.last_pos), last_seq = COALESCE(u.seq, c.last_seq),
				last_activity_at = COALESCE(u.at, c.last_activity_at)
			FROM unnest($22::text[], $23::bigint[], $24::bigint[], $25::bigint[]) AS u(id, pos, seq, at) WHERE c.id = u.id)` + ch + `
		SELECT COUNT(*) FROM m`}
}

// nullInt is a nullable BIGINT argument (int64 or nil) as a pointer.
func nullInt(v any) *int64 {
	if n, ok := v.(int64); ok {
		return &n
	}
	return nil
}

// setLastPos records pos as the conversation's newest position.
func (t *tx) setLastPos(conversationID string, pos int64) error {
	t.touchConvRow(conversationID)
	if _, err := t.exec(`UPDATE conversations SET last_pos = ? WHERE id = ?`, pos, conversationID); err != nil {
		return fmt.Errorf("set last position: %w", err)
	}
	if wc := t.cache(); wc != nil {
		if c, ok := wc.convs[conversationID]; ok {
			c.LastPos = pos
			wc.convs[conversationID] = c
		}
	}
	return nil
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
	res, err := t.exec(`UPDATE messages SET body = ?, edited_at = ?, search = `+searchVector+` WHERE id = ? AND deleted_at IS NULL`,
		body, toNanos(editedAt), sealedFlag(body), text, id)
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
		ORDER BY edited_at, id`, messageID)
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
	var limit any = int64(max)
	if max <= 0 {
		limit = nil // LIMIT NULL: no limit
	}
	var by int64
	if !expiredBy.IsZero() {
		by = toNanos(expiredBy)
	}
	var n int
	err := t.queryRow(`SELECT COUNT(*) FROM (SELECT 1 FROM messages WHERE conversation_id = ? AND seq > ?
		AND sender_id != ? AND deleted_at IS NULL AND kind != 'system'
		AND (?::bigint = 0 OR expires_at IS NULL OR expires_at > ?) LIMIT ?) AS x`,
		conversationID, afterSeq, userID, by, by, limit).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count unread: %w", err)
	}
	return n, nil
}

// SetReaction implements parley.MessageTx.
func (t *tx) SetReaction(r *parley.Reaction, on bool) (bool, error) {
	if on {
		res, err := t.exec(`INSERT INTO reactions (message_id, user_id, emoji, created_at)
			VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`, r.MessageID, r.UserID, r.Emoji, toNanos(r.CreatedAt))
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
		WHERE message_id IN (SELECT json_array_elements_text(?::json))
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
	return next - 1, nil
}

// Position implements parley.EventTx.
func (t *tx) Position() int64 {
	if !t.write {
		panic("sqlite: Position in a read transaction")
	}
	return t.db.pos
}

// syncMessages finds the user's messages after a position. It starts from
// the user's memberships, skips conversations whose last_pos is not newer,
// and in each of the others reads the (conversation_id, seq) index from
// the first seq past the device's position: positions grow with seq inside
// a conversation. The per-conversation read is a LATERAL subquery ordered
// by seq, so the plan is an index range scan per membership whatever the
// planner's statistics say: with the join written flat, a young table
// (statistics from when it was nearly empty) got a hash join over a
// sequential scan of every message, ~4 ms a sync at a few thousand rows
// and growing with the table (BENCHMARKS.md, issue 11, eighth session).
// Each conversation gives at most limit rows: the first limit by pos
// overall are among them.
const syncMessages = `SELECT ` + messageColsM + ` FROM members mb
	JOIN conversations c ON c.id = mb.conversation_id
	CROSS JOIN LATERAL (SELECT ` + messageColsM + ` FROM messages m
		WHERE m.conversation_id = mb.conversation_id
		  AND m.seq > GREATEST(mb.joined_seq, COALESCE((SELECT x.seq FROM messages x WHERE x.conversation_id = mb.conversation_id
		      AND x.pos <= ?2 AND x.seq > mb.joined_seq ORDER BY x.seq DESC LIMIT 1), 0))
		  AND (mb.status = 'active' OR mb.status = 'pending' AND mb.left_seq = 0 OR m.seq <= mb.left_seq)
		ORDER BY m.seq LIMIT ?3) m
	WHERE mb.user_id = ?1 AND c.last_pos > ?2 AND mb.status != 'declined'
	ORDER BY m.pos LIMIT ?3`

// syncBacklogMessages counts syncMessages' rows without reading them:
// sequence numbers are gap-free inside a conversation, so each
// membership's count is the length of its range of unseen ones.
const syncBacklogMessages = `SELECT COALESCE(SUM(GREATEST(r.hi - r.lo, 0)), 0)::bigint FROM (SELECT
	GREATEST(mb.joined_seq, COALESCE((SELECT x.seq FROM messages x WHERE x.conversation_id = mb.conversation_id
	    AND x.pos <= ?2 AND x.seq > mb.joined_seq ORDER BY x.seq DESC LIMIT 1), 0)) AS lo,
	CASE WHEN mb.status = 'active' OR mb.status = 'pending' AND mb.left_seq = 0 THEN c.last_seq
	     ELSE LEAST(mb.left_seq, c.last_seq) END AS hi
	FROM members mb JOIN conversations c ON c.id = mb.conversation_id
	WHERE mb.user_id = ?1 AND c.last_pos > ?2 AND mb.status != 'declined') AS r`

// syncBacklogEvents counts syncEvents' rows, up to ?3.
const syncBacklogEvents = `SELECT count(*) FROM (
	SELECT 1 FROM events e WHERE e.user_id = ?1 AND e.user_id != '' AND e.pos > ?2
	UNION ALL
	SELECT 1 FROM members mb
	JOIN conversations c ON c.id = mb.conversation_id
	JOIN events e ON e.conversation_id = mb.conversation_id AND e.user_id = '' AND e.pos > ?2
	WHERE mb.user_id = ?1 AND c.last_pos > ?2 AND mb.status != 'declined'
	  AND e.pos >= mb.joined_pos
	  AND (mb.status IN ('active', 'pending') OR e.pos < mb.left_pos)
	LIMIT ?3) AS x`

// SyncBacklog implements parley.EventTx.
func (t *tx) SyncBacklog(userID string, since int64, limit int) (int, error) {
	var msgs int
	if err := t.queryRow(syncBacklogMessages, userID, since).Scan(&msgs); err != nil {
		return 0, fmt.Errorf("sync backlog: %w", err)
	}
	if msgs > limit {
		return msgs, nil
	}
	var evs int
	if err := t.queryRow(syncBacklogEvents, userID, since, limit-msgs+1).Scan(&evs); err != nil {
		return 0, fmt.Errorf("sync backlog: %w", err)
	}
	return msgs + evs, nil
}

// SyncMessages implements parley.EventTx.
func (t *tx) SyncMessages(userID string, since int64, limit int) ([]*parley.Message, error) {
	out, err := t.scanMessages(syncMessages, userID, since, limit)
	if err != nil {
		return nil, fmt.Errorf("sync messages: %w", err)
	}
	return out, nil
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
) AS x ORDER BY pos LIMIT ?3`

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

// CreateMessages implements parley.MessageTx, one CreateMessage each: on
// PostgreSQL a send's statements are already few (CreateMessage folds the
// sequence and position updates into its INSERT).
func (t *tx) CreateMessages(ms []*parley.Message) error {
	for _, m := range ms {
		if err := t.CreateMessage(m); err != nil {
			return err
		}
	}
	return nil
}
