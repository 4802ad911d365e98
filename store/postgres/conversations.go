package postgres

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/parleyhq/parley"
)

const convCols = `id, kind, title, created_by, created_at, direct_key, invite_policy, last_seq,
	last_activity_at, member_count, last_pos, disappear_after, list_from_conversation`

// convColsC is convCols qualified with the alias c.
const convColsC = `c.id, c.kind, c.title, c.created_by, c.created_at, c.direct_key, c.invite_policy,
	c.last_seq, c.last_activity_at, c.member_count, c.last_pos, c.disappear_after, c.list_from_conversation`

// scanConvDest returns the scan destinations of convCols; times and the
// direct key go to the extra arguments.
func scanConvDest(c *parley.Conversation, created, activity *int64, directKey *sql.NullString) []any {
	return []any{&c.ID, &c.Kind, &c.Title, &c.CreatedBy, created, directKey, &c.InvitePolicy,
		&c.LastSeq, activity, &c.MemberCount, &c.LastPos, (*durationSeconds)(&c.DisappearAfter), &c.ListFromConversation}
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
	_, err := t.guarded(`INSERT INTO conversations (`+convCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, string(c.Kind), c.Title, c.CreatedBy, toNanos(c.CreatedAt), nullString(c.DirectKey),
		c.InvitePolicy, c.LastSeq, toNanos(c.LastActivityAt), c.MemberCount, c.LastPos, int64(c.DisappearAfter/time.Second),
		c.ListFromConversation)
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
	t.touchConvRow(c.ID)
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
	t.touchConvRow(conversationID)
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
	// A new row takes its copy of the conversation's last activity,
	// unless the conversation is listed from its own row (migration 0019);
	// an existing row keeps its copy, which the conversation's writes keep.
	_, err := t.exec(`INSERT INTO members (`+memberCols+`, activity_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
			(SELECT CASE WHEN c.list_from_conversation = 0 THEN c.last_activity_at END FROM conversations c WHERE c.id = ?))
		ON CONFLICT (conversation_id, user_id) DO UPDATE SET role = excluded.role,
		joined_pos = excluded.joined_pos, left_pos = excluded.left_pos, delivered_seq = excluded.delivered_seq,
		status = excluded.status, folder = excluded.folder, pinned_at = excluded.pinned_at,
		muted_until = excluded.muted_until, read_seq = excluded.read_seq,
		joined_seq = excluded.joined_seq, left_seq = excluded.left_seq,
		invited_by = excluded.invited_by, joined_at = excluded.joined_at,
		updated_at = excluded.updated_at`,
		m.ConversationID, m.UserID, string(m.Role), string(m.Status), string(m.Folder),
		toNullNanos(m.PinnedAt), toNullNanos(m.MutedUntil), m.ReadSeq, m.JoinedSeq, m.LeftSeq,
		m.InvitedBy, toNanos(m.JoinedAt), toNanos(m.UpdatedAt), m.JoinedPos, m.LeftPos, m.DeliveredSeq, m.ConversationID)
	if err != nil {
		return fmt.Errorf("put member: %w", err)
	}
	t.touchConv(m.ConversationID)
	if wc := t.cache(); wc != nil {
		wc.dropMember(memberKey{m.ConversationID, m.UserID})
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

// ConversationMembers implements parley.ConversationTx.
func (t *tx) ConversationMembers(userID string, conversationIDs []string) (map[string]parley.MemberConversation, error) {
	out := make(map[string]parley.MemberConversation, len(conversationIDs))
	if len(conversationIDs) == 0 {
		return out, nil
	}
	// In a write transaction the committer's cache answers first.
	ask, wc := conversationIDs, t.cache()
	if wc != nil {
		ask = nil
		for _, id := range conversationIDs {
			c, okc := wc.convs[id]
			m, okm := wc.members[memberKey{id, userID}]
			if okc && okm {
				out[id] = parley.MemberConversation{Conversation: &c, Member: &m}
				continue
			}
			ask = append(ask, id)
		}
		if len(ask) == 0 {
			return out, nil
		}
	}
	rows, err := t.convList(`SELECT `+convColsC+`, `+memberColsM+` FROM members m
		JOIN conversations c ON c.id = m.conversation_id
		WHERE m.user_id = ? AND m.conversation_id IN (SELECT json_array_elements_text(?::json))`, userID, idList(ask))
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.Conversation.ID] = r
		if wc != nil {
			wc.putConv(r.Conversation)
			wc.putMember(r.Member)
		}
	}
	return out, nil
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

// Peers implements parley.ConversationTx: what the cache lacks in one
// statement.
func (t *tx) Peers(userID string, peers map[string]string) (map[string]parley.PeerMember, error) {
	out := make(map[string]parley.PeerMember, len(peers))
	wc := t.cache()
	var pairs [][2]string
	for conv, peer := range peers {
		if wc != nil {
			m, okm := wc.members[memberKey{conv, peer}]
			blocked, okb := wc.blocks[pair(userID, peer)]
			if okm && okb {
				out[conv] = parley.PeerMember{Member: &m, Blocked: blocked}
				continue
			}
		}
		pairs = append(pairs, [2]string{conv, peer})
	}
	if len(pairs) == 0 {
		return out, nil
	}
	list, err := json.Marshal(pairs)
	if err != nil {
		return nil, fmt.Errorf("peers: %w", err)
	}
	rows, err := t.query(`SELECT `+memberColsM+`, EXISTS (SELECT 1 FROM blocks
			WHERE (blocker_id = ?1 AND blocked_id = m.user_id) OR (blocker_id = m.user_id AND blocked_id = ?1))
		FROM json_array_elements(?2::json) p JOIN members m ON m.conversation_id = p ->> 0 AND m.user_id = p ->> 1`,
		userID, string(list))
	if err != nil {
		return nil, fmt.Errorf("peers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		m := &parley.Member{}
		var ms memberScan
		var blocked bool
		if err := rows.Scan(append(ms.dest(m), &blocked)...); err != nil {
			return nil, fmt.Errorf("peers: %w", err)
		}
		ms.finish(m)
		out[m.ConversationID] = parley.PeerMember{Member: m, Blocked: blocked}
		if wc != nil {
			wc.putMember(m)
			wc.putBlock(userID, m.UserID, blocked)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("peers: %w", err)
	}
	return out, nil
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

// MemberStates implements parley.ConversationTx: four columns of the
// conversation's range of the primary key, unsorted.
func (t *tx) MemberStates(conversationID string) ([]parley.MemberState, error) {
	rows, err := t.query(`SELECT user_id, status, joined_seq, left_seq FROM members WHERE conversation_id = ?`, conversationID)
	if err != nil {
		return nil, fmt.Errorf("member states: %w", err)
	}
	defer rows.Close()
	out := []parley.MemberState{}
	for rows.Next() {
		var m parley.MemberState
		if err := rows.Scan(&m.UserID, &m.Status, &m.JoinedSeq, &m.LeftSeq); err != nil {
			return nil, fmt.Errorf("scan member state: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("member states: %w", err)
	}
	return out, nil
}

// MembersRevision implements parley.ConversationTx: the column the
// triggers of migration 0042 bump, read from the database even in a
// write transaction (the write cache's conversation rows do not follow
// the triggers).
func (t *tx) MembersRevision(conversationID string) (int64, error) {
	var rev int64
	if err := t.queryRow(`SELECT members_rev FROM conversations WHERE id = ?`, conversationID).Scan(&rev); err != nil {
		return 0, rowErr(err, "conversation")
	}
	return rev, nil
}

// The conversation list: one member's rows in a folder, in the order
// pinned first, newest activity first, then id descending. Each of the
// two sections (pinned, then not) has two parts (migration 0019): the
// member rows that carry the sort key (activity_at, a copy of the
// conversation's last activity), read in order from the members_list
// index from the cursor on and stopping after the page, and the
// memberships of large groups (activity_at NULL), found through
// members_list_large and sorted by the conversation's own last activity
// — a user is in few of those. Conversations merges them. The pinned flag
// is an equality in each query, so that the cursor's (activity, id) is a
// range of the index rather than a filter over every row before it.
const (
	convListWhere = `
		WHERE m.user_id = ? AND m.folder = ? AND m.status != 'declined'
		AND (c.last_seq > 0 OR c.created_by = m.user_id) AND (m.pinned_at IS NOT NULL)::int = ?`
	convListSorted = `SELECT ` + convColsC + `, ` + memberColsM + `
		FROM members m JOIN conversations c ON c.id = m.conversation_id` + convListWhere + ` AND m.activity_at IS NOT NULL`
	convListSortedOrder = `
		ORDER BY m.activity_at DESC, m.conversation_id DESC LIMIT ?`
	// convListSortedAfter keeps the rows strictly after a cursor.
	convListSortedAfter = convListSorted + `
		AND (m.activity_at, m.conversation_id) < (?, ?)` + convListSortedOrder
	convListLarge = `SELECT ` + convColsC + `, ` + memberColsM + `
		FROM members m JOIN conversations c ON c.id = m.conversation_id` + convListWhere + ` AND m.activity_at IS NULL`
	convListLargeOrder = `
		ORDER BY c.last_activity_at DESC, c.id DESC LIMIT ?`
	convListLargeAfter = convListLarge + `
		AND (c.last_activity_at, c.id) < (?, ?)` + convListLargeOrder
)

// Conversations implements parley.ConversationTx. The default page size
// is 50.
func (t *tx) Conversations(f parley.ConversationFilter) ([]parley.MemberConversation, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	out := []parley.MemberConversation{}
	after := f.After
	if after == nil || after.Pinned {
		rows, err := t.convSection(f, 1, after, limit)
		if err != nil {
			return nil, err
		}
		out, after = append(out, rows...), nil
	}
	if len(out) < limit {
		rows, err := t.convSection(f, 0, after, limit-len(out))
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
	}
	return out, nil
}

// convSection lists up to limit rows of one section of the list (pinned
// 1 or 0) after the cursor (nil: from its start).
func (t *tx) convSection(f parley.ConversationFilter, pinned int, after *parley.ConversationCursor, limit int) ([]parley.MemberConversation, error) {
	var sorted, large []parley.MemberConversation
	var err error
	if after != nil {
		at := toNanos(after.ActivityAt)
		if sorted, err = t.convList(convListSortedAfter, f.UserID, string(f.Folder), pinned, at, after.ID, limit); err != nil {
			return nil, err
		}
		large, err = t.convList(convListLargeAfter, f.UserID, string(f.Folder), pinned, at, after.ID, limit)
	} else {
		if sorted, err = t.convList(convListSorted+convListSortedOrder, f.UserID, string(f.Folder), pinned, limit); err != nil {
			return nil, err
		}
		large, err = t.convList(convListLarge+convListLargeOrder, f.UserID, string(f.Folder), pinned, limit)
	}
	if err != nil {
		return nil, err
	}
	return mergeConvList(sorted, large, limit), nil
}

// convList runs one part of the conversation list.
func (t *tx) convList(query string, args ...any) ([]parley.MemberConversation, error) {
	rows, err := t.query(query, args...)
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

// mergeConvList merges the two ordered parts of a list page, up to limit.
// A member row's activity_at always equals its conversation's
// last_activity_at (the same transaction writes both), so both parts
// compare by the conversation's.
func mergeConvList(a, b []parley.MemberConversation, limit int) []parley.MemberConversation {
	if len(b) == 0 {
		return a
	}
	out := make([]parley.MemberConversation, 0, min(limit, len(a)+len(b)))
	for len(out) < limit && (len(a) > 0 || len(b) > 0) {
		if len(b) == 0 || (len(a) > 0 && convListBefore(a[0], b[0])) {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return out
}

// convListBefore reports whether x comes before y in the list order of
// one section.
func convListBefore(x, y parley.MemberConversation) bool {
	if ax, ay := x.Conversation.LastActivityAt, y.Conversation.LastActivityAt; !ax.Equal(ay) {
		return ax.After(ay)
	}
	return x.Conversation.ID > y.Conversation.ID
}

// SetListFromConversation implements parley.ConversationTx; the trigger
// of migration 0019 moves the member rows.
func (t *tx) SetListFromConversation(conversationID string, on bool) error {
	res, err := t.exec(`UPDATE conversations SET list_from_conversation = ? WHERE id = ?`, on, conversationID)
	if err != nil {
		return fmt.Errorf("set list from conversation: %w", err)
	}
	if wc := t.cache(); wc != nil {
		delete(wc.convs, conversationID)
	}
	t.touchConvRow(conversationID)
	return mustAffect(res, "conversation")
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
