package postgres

import (
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/parleyhq/parley"
)

const convCols = `id, kind, title, created_by, created_at, direct_key, invite_policy, last_seq,
	last_activity_at, member_count, last_pos, disappear_after`

// convColsC is convCols qualified with the alias c.
const convColsC = `c.id, c.kind, c.title, c.created_by, c.created_at, c.direct_key, c.invite_policy,
	c.last_seq, c.last_activity_at, c.member_count, c.last_pos, c.disappear_after`

// scanConvDest returns the scan destinations of convCols; times and the
// direct key go to the extra arguments.
func scanConvDest(c *parley.Conversation, created, activity *int64, directKey *sql.NullString) []any {
	return []any{&c.ID, &c.Kind, &c.Title, &c.CreatedBy, created, directKey, &c.InvitePolicy,
		&c.LastSeq, activity, &c.MemberCount, &c.LastPos, (*durationSeconds)(&c.DisappearAfter)}
}

// durationSeconds scans a duration stored as whole seconds.
type durationSeconds time.Duration

// Scan implements sql.Scanner.
func (d *durationSeconds) Scan(v any) error {
	n, ok := v.(int64)
	if !ok {
		return fmt.Errorf("duration: %T is not an integer", v)
	}
	*d = durationSeconds(time.Duration(n) * time.Second)
	return nil
}

// scanConversation reads one row of convCols.
func scanConversation(s scanner) (*parley.Conversation, error) {
	var c parley.Conversation
	var created, activity int64
	var key sql.NullString
	if err := s.Scan(scanConvDest(&c, &created, &activity, &key)...); err != nil {
		return nil, err
	}
	c.CreatedAt, c.LastActivityAt, c.DirectKey = fromNanos(created), fromNanos(activity), key.String
	return &c, nil
}

const memberCols = `conversation_id, user_id, role, status, folder, pinned_at, muted_until, read_seq,
	joined_seq, left_seq, invited_by, joined_at, updated_at, joined_pos, left_pos, delivered_seq`

// memberColsM is memberCols qualified with the alias m.
const memberColsM = `m.conversation_id, m.user_id, m.role, m.status, m.folder, m.pinned_at, m.muted_until,
	m.read_seq, m.joined_seq, m.left_seq, m.invited_by, m.joined_at, m.updated_at, m.joined_pos, m.left_pos,
	m.delivered_seq`

// memberScan holds what scanning a member row needs besides the Member.
type memberScan struct {
	pinned, muted   sql.NullInt64
	joined, updated int64
}

// dest returns the scan destinations of memberCols.
func (ms *memberScan) dest(m *parley.Member) []any {
	return []any{&m.ConversationID, &m.UserID, &m.Role, &m.Status, &m.Folder, &ms.pinned, &ms.muted,
		&m.ReadSeq, &m.JoinedSeq, &m.LeftSeq, &m.InvitedBy, &ms.joined, &ms.updated, &m.JoinedPos, &m.LeftPos,
		&m.DeliveredSeq}
}

// finish converts the scanned times into m.
func (ms *memberScan) finish(m *parley.Member) {
	m.PinnedAt, m.MutedUntil = fromNullNanos(ms.pinned), fromNullNanos(ms.muted)
	m.JoinedAt, m.UpdatedAt = fromNanos(ms.joined), fromNanos(ms.updated)
}

// scanMember reads one row of memberCols.
func scanMember(s scanner) (*parley.Member, error) {
	var m parley.Member
	var ms memberScan
	if err := s.Scan(ms.dest(&m)...); err != nil {
		return nil, err
	}
	ms.finish(&m)
	return &m, nil
}

// CreateConversation implements parley.ConversationTx.
func (t *tx) CreateConversation(c *parley.Conversation) error {
	_, err := t.guarded(`INSERT INTO conversations (`+convCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, string(c.Kind), c.Title, c.CreatedBy, toNanos(c.CreatedAt), nullString(c.DirectKey),
		c.InvitePolicy, c.LastSeq, toNanos(c.LastActivityAt), c.MemberCount, c.LastPos, int64(c.DisappearAfter/time.Second))
	t.touchConv(c.ID)
	if isUnique(err) {
		if strings.Contains(constraint(err), "direct_key") {
			return parley.Errorf(parley.EConflict, "direct conversation exists")
		}
		return parley.Errorf(parley.EConflict, "conversation exists")
	} else if err != nil {
		return fmt.Errorf("create conversation: %w", err)
	}
	return nil
}

// ConversationByID implements parley.ConversationTx.
func (t *tx) ConversationByID(id string) (*parley.Conversation, error) {
	if wc := t.cache(); wc != nil {
		if c, ok := wc.convs[id]; ok {
			return &c, nil
		}
	}
	c, err := scanConversation(t.queryRow(`SELECT `+convCols+` FROM conversations WHERE id = ?`, id))
	if err != nil {
		return nil, rowErr(err, "conversation")
	}
	if wc := t.cache(); wc != nil {
		wc.putConv(c)
	}
	return c, nil
}

// DirectConversation implements parley.ConversationTx.
func (t *tx) DirectConversation(directKey string) (*parley.Conversation, error) {
	if directKey == "" {
		return nil, notFound("conversation")
	}
	c, err := scanConversation(t.queryRow(`SELECT `+convCols+` FROM conversations WHERE direct_key = ?`, directKey))
	if err != nil {
		return nil, rowErr(err, "conversation")
	}
	return c, nil
}

// UpdateConversation implements parley.ConversationTx.
func (t *tx) UpdateConversation(c *parley.Conversation) error {
	res, err := t.exec(`UPDATE conversations SET title = ?, invite_policy = ?, last_activity_at = ?,
		member_count = ?, disappear_after = ? WHERE id = ?`,
		c.Title, c.InvitePolicy, toNanos(c.LastActivityAt), c.MemberCount, int64(c.DisappearAfter/time.Second), c.ID)
	if err != nil {
		return fmt.Errorf("update conversation: %w", err)
	}
	t.touchConv(c.ID)
	if wc := t.cache(); wc != nil {
		delete(wc.convs, c.ID)
	}
	return mustAffect(res, "conversation")
}

// AllocSeq implements parley.ConversationTx.
//
// When the committer's cache holds the conversation, its last_seq is
// exact (the positions lock keeps every other writer out while the cache
// is valid): the next seq is counted here and the row is written later,
// by the message insert that uses it (one statement for both) or before
// the next statement of the transaction (see tx.flush).
func (t *tx) AllocSeq(conversationID string, at time.Time) (int64, error) {
	t.touchConv(conversationID)
	if wc := t.cache(); wc != nil {
		if c, ok := wc.convs[conversationID]; ok {
			c.LastSeq, c.LastActivityAt = c.LastSeq+1, fromNanos(toNanos(at))
			wc.convs[conversationID] = c
			if t.seqs == nil {
				t.seqs = map[string]pendingSeq{}
			}
			t.seqs[conversationID] = pendingSeq{c.LastSeq, toNanos(at)}
			return c.LastSeq, nil
		}
	}
	var seq int64
	err := t.queryRow(`UPDATE conversations SET last_seq = last_seq + 1, last_activity_at = ?
		WHERE id = ? RETURNING last_seq`, toNanos(at), conversationID).Scan(&seq)
	if err != nil {
		return 0, rowErr(err, "conversation")
	}
	if wc := t.cache(); wc != nil {
		if c, ok := wc.convs[conversationID]; ok {
			c.LastSeq, c.LastActivityAt = seq, fromNanos(toNanos(at))
			wc.convs[conversationID] = c
		}
	}
	return seq, nil
}

// PutMember implements parley.ConversationTx.
func (t *tx) PutMember(m *parley.Member) error {
	_, err := t.exec(`INSERT INTO members (`+memberCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (conversation_id, user_id) DO UPDATE SET role = excluded.role,
		joined_pos = excluded.joined_pos, left_pos = excluded.left_pos, delivered_seq = excluded.delivered_seq,
		status = excluded.status, folder = excluded.folder, pinned_at = excluded.pinned_at,
		muted_until = excluded.muted_until, read_seq = excluded.read_seq,
		joined_seq = excluded.joined_seq, left_seq = excluded.left_seq,
		invited_by = excluded.invited_by, joined_at = excluded.joined_at,
		updated_at = excluded.updated_at`,
		m.ConversationID, m.UserID, string(m.Role), string(m.Status), string(m.Folder),
		toNullNanos(m.PinnedAt), toNullNanos(m.MutedUntil), m.ReadSeq, m.JoinedSeq, m.LeftSeq,
		m.InvitedBy, toNanos(m.JoinedAt), toNanos(m.UpdatedAt), m.JoinedPos, m.LeftPos, m.DeliveredSeq)
	if err != nil {
		return fmt.Errorf("put member: %w", err)
	}
	t.touchConv(m.ConversationID)
	if wc := t.cache(); wc != nil {
		delete(wc.members, memberKey{m.ConversationID, m.UserID})
	}
	return nil
}

// Member implements parley.ConversationTx.
func (t *tx) Member(conversationID, userID string) (*parley.Member, error) {
	wc := t.cache()
	if wc != nil {
		if m, ok := wc.members[memberKey{conversationID, userID}]; ok {
			return &m, nil
		}
	}
	m, err := scanMember(t.queryRow(`SELECT `+memberCols+` FROM members
		WHERE conversation_id = ? AND user_id = ?`, conversationID, userID))
	if err != nil {
		return nil, rowErr(err, "member")
	}
	if wc != nil {
		wc.putMember(m)
	}
	return m, nil
}

// ConversationMember implements parley.ConversationTx.
func (t *tx) ConversationMember(conversationID, userID string) (*parley.Conversation, *parley.Member, error) {
	wc := t.cache()
	if wc != nil {
		c, okc := wc.convs[conversationID]
		m, okm := wc.members[memberKey{conversationID, userID}]
		if okc && okm {
			return &c, &m, nil
		}
	}
	var c parley.Conversation
	var created, activity int64
	var key sql.NullString
	var m parley.Member
	var ms memberScan
	dest := append(scanConvDest(&c, &created, &activity, &key), ms.dest(&m)...)
	err := t.queryRow(`SELECT `+convColsC+`, `+memberColsM+` FROM members m
		JOIN conversations c ON c.id = m.conversation_id
		WHERE m.conversation_id = ? AND m.user_id = ?`, conversationID, userID).Scan(dest...)
	if err != nil {
		return nil, nil, rowErr(err, "member")
	}
	c.CreatedAt, c.LastActivityAt, c.DirectKey = fromNanos(created), fromNanos(activity), key.String
	ms.finish(&m)
	if wc != nil {
		wc.putConv(&c)
		wc.putMember(&m)
	}
	return &c, &m, nil
}

// Peer implements parley.ConversationTx.
func (t *tx) Peer(conversationID, userID, peerID string) (*parley.Member, bool, error) {
	wc := t.cache()
	if wc != nil {
		m, okm := wc.members[memberKey{conversationID, peerID}]
		blocked, okb := wc.blocks[pair(userID, peerID)]
		if okm && okb {
			return &m, blocked, nil
		}
	}
	var m parley.Member
	var ms memberScan
	var blocked bool
	err := t.queryRow(`SELECT `+memberCols+`, EXISTS (SELECT 1 FROM blocks
			WHERE (blocker_id = ?2 AND blocked_id = ?3) OR (blocker_id = ?3 AND blocked_id = ?2))
		FROM members WHERE conversation_id = ?1 AND user_id = ?3`, conversationID, userID, peerID).Scan(append(ms.dest(&m), &blocked)...)
	if err != nil {
		return nil, false, rowErr(err, "member")
	}
	ms.finish(&m)
	if wc != nil {
		wc.putMember(&m)
		wc.putBlock(userID, peerID, blocked)
	}
	return &m, blocked, nil
}

// DirectPeers implements parley.ConversationTx.
func (t *tx) DirectPeers(userID string) ([]string, error) {
	rows, err := t.query(`SELECT o.user_id FROM members me
		JOIN conversations c ON c.id = me.conversation_id AND c.kind = 'direct'
		JOIN members o ON o.conversation_id = me.conversation_id AND o.user_id != me.user_id
		WHERE me.user_id = ? AND me.status = 'active' AND o.status = 'active'`, userID)
	if err != nil {
		return nil, fmt.Errorf("direct peers: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// Members implements parley.ConversationTx.
func (t *tx) Members(conversationID string) ([]*parley.Member, error) {
	return queryAll(t, "list members", scanMember, `SELECT `+memberCols+` FROM members WHERE conversation_id = ?
		ORDER BY joined_at, user_id`, conversationID)
}

// The conversation list: one member's rows in a folder, in the order
// pinned first, newest activity first, then id descending.
const (
	convListFrom = `SELECT ` + convColsC + `, ` + memberColsM + `
		FROM members m JOIN conversations c ON c.id = m.conversation_id
		WHERE m.user_id = ? AND m.folder = ? AND m.status != 'declined'
		AND (c.last_seq > 0 OR c.created_by = m.user_id)`
	convListOrder = `
		ORDER BY (m.pinned_at IS NOT NULL) DESC, c.last_activity_at DESC, c.id DESC
		LIMIT ?`
	convListFirst = convListFrom + convListOrder
	// convListAfter keeps the rows strictly after a cursor (p, a, id) in
	// list order.
	convListAfter = convListFrom + `
		AND ((m.pinned_at IS NOT NULL)::int < ?
			OR ((m.pinned_at IS NOT NULL)::int = ? AND (c.last_activity_at < ?
				OR (c.last_activity_at = ? AND c.id < ?))))` + convListOrder
)

// Conversations implements parley.ConversationTx. The default page size
// is 50.
func (t *tx) Conversations(f parley.ConversationFilter) ([]parley.MemberConversation, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	var rows *sql.Rows
	var err error
	if a := f.After; a != nil {
		p, at := 0, toNanos(a.ActivityAt)
		if a.Pinned {
			p = 1
		}
		rows, err = t.query(convListAfter, f.UserID, string(f.Folder), p, p, at, at, a.ID, limit)
	} else {
		rows, err = t.query(convListFirst, f.UserID, string(f.Folder), limit)
	}
	if err != nil {
		return nil, fmt.Errorf("list conversations: %w", err)
	}
	defer rows.Close()
	out := []parley.MemberConversation{}
	for rows.Next() {
		var c parley.Conversation
		var m parley.Member
		var created, activity int64
		var key sql.NullString
		var ms memberScan
		dest := append(scanConvDest(&c, &created, &activity, &key), ms.dest(&m)...)
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("scan conversation: %w", err)
		}
		c.CreatedAt, c.LastActivityAt, c.DirectKey = fromNanos(created), fromNanos(activity), key.String
		ms.finish(&m)
		out = append(out, parley.MemberConversation{Conversation: &c, Member: &m})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list conversations: %w", err)
	}
	return out, nil
}

// CountConversationsCreatedBy implements parley.ConversationTx.
func (t *tx) CountConversationsCreatedBy(userID string, since time.Time, max int) (int, error) {
	var n int
	err := t.queryRow(`SELECT COUNT(*) FROM (SELECT 1 FROM conversations WHERE created_by = ? AND created_at >= ? LIMIT ?) AS x`,
		userID, toNanos(since), max).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count conversations: %w", err)
	}
	return n, nil
}
