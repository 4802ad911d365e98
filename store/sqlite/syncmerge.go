package sqlite

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/parleyhq/parley"
)

// A sync page is a merge of the user's conversations' message streams by
// position. Sorting every message after the device's position to keep a
// page read and sorted everything still waiting on each page (a device
// 5,000 messages behind read ~27,500 positions over its 10 pages), so the
// merge is done here instead, reading about as many index entries as the
// page holds:
//
//  1. syncRanges: the range of sequence numbers the device has not seen in
//     each of the user's conversations that moved after the position,
//     within what the membership lets the user read;
//  2. syncWindow: a window of the next k sequence numbers of each range,
//     positions only, from the (conversation_id, seq) index (positions
//     grow with seq inside a conversation, and the index carries them);
//  3. the merge: the page is the smallest positions fetched, complete as
//     soon as every range that could still hold a smaller one is either
//     read to its end or read past the page's last position; the others'
//     windows double until then;
//  4. the page's rows, by position.

// syncRanges lists, for each conversation of the user that moved after
// ?2, the sequence numbers the user may still be sent: after the newest
// message at or before ?2 (the index walked backwards from the newest
// message, as far as the device's position) and after the member joined,
// up to where they left or the conversation's last seq.
const syncRanges = `SELECT mb.conversation_id,
	MAX(mb.joined_seq, COALESCE((SELECT x.seq FROM messages x WHERE x.conversation_id = mb.conversation_id
	    AND x.pos <= ?2 AND x.seq > mb.joined_seq ORDER BY x.seq DESC LIMIT 1), 0)),
	CASE WHEN mb.status = 'active' OR mb.status = 'pending' AND mb.left_seq = 0 THEN c.last_seq
	     ELSE MIN(mb.left_seq, c.last_seq) END
	FROM members mb JOIN conversations c ON c.id = mb.conversation_id
	WHERE mb.user_id = ?1 AND c.last_pos > ?2 AND mb.status != 'declined'`

// syncWindow reads the positions of the messages of each given
// conversation with a seq in (lo, hi]: index entries only.
const syncWindow = `SELECT j.key, m.seq, m.pos FROM json_each(?1) j
	JOIN messages m ON m.conversation_id = j.value ->> 0
	WHERE m.seq > j.value ->> 1 AND m.seq <= j.value ->> 2`

// syncRows reads the page's rows.
const syncRows = `SELECT ` + messageColsM + ` FROM messages m
	WHERE m.pos IN (SELECT value FROM json_each(?1)) ORDER BY m.pos`

// syncRange is one conversation's stream of unseen messages: seqs in
// (lo, hi], of which (lo, read] have been fetched.
type syncRange struct {
	conv     string
	lo, hi   int64
	read     int64 // the highest seq fetched so far
	frontier int64 // the position of the newest message fetched (0: none)
	k        int64 // the next window's length
}

func (r *syncRange) done() bool { return r.read >= r.hi }

// SyncMessages implements parley.EventTx.
func (t *tx) SyncMessages(userID string, since int64, limit int) ([]*parley.Message, error) {
	out, err := t.syncMessages(userID, since, limit)
	if err != nil {
		return nil, fmt.Errorf("sync messages: %w", err)
	}
	return out, nil
}

// syncBacklogMessages counts the messages of syncRanges: sequence numbers
// are gap-free inside a conversation, so a range's length is its count.
const syncBacklogMessages = `SELECT COALESCE(SUM(MAX(hi - lo, 0)), 0) FROM (SELECT mb.conversation_id,
	MAX(mb.joined_seq, COALESCE((SELECT x.seq FROM messages x WHERE x.conversation_id = mb.conversation_id
	    AND x.pos <= ?2 AND x.seq > mb.joined_seq ORDER BY x.seq DESC LIMIT 1), 0)) AS lo,
	CASE WHEN mb.status = 'active' OR mb.status = 'pending' AND mb.left_seq = 0 THEN c.last_seq
	     ELSE MIN(mb.left_seq, c.last_seq) END AS hi
	FROM members mb JOIN conversations c ON c.id = mb.conversation_id
	WHERE mb.user_id = ?1 AND c.last_pos > ?2 AND mb.status != 'declined')`

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
	LIMIT ?3)`

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

func (t *tx) syncMessages(userID string, since int64, limit int) ([]*parley.Message, error) {
	if limit <= 0 {
		return []*parley.Message{}, nil
	}
	ranges, err := t.syncRangesOf(userID, since)
	if err != nil {
		return nil, err
	}
	if len(ranges) == 0 {
		return []*parley.Message{}, nil
	}
	// A first window of twice the page's share per conversation: with
	// interleaved conversations one round is enough.
	k0 := int64(max(8, min(limit, (2*limit+len(ranges)-1)/len(ranges))))
	for _, r := range ranges {
		r.k = k0
	}
	var fetched []int64 // positions, unsorted
	for {
		want := pending(ranges, fetched, limit)
		if len(want) == 0 {
			break
		}
		got, err := t.syncWindowOf(want)
		if err != nil {
			return nil, err
		}
		fetched = append(fetched, got...)
	}
	slices.Sort(fetched)
	if len(fetched) > limit {
		fetched = fetched[:limit]
	}
	if len(fetched) == 0 {
		return []*parley.Message{}, nil
	}
	b, err := json.Marshal(fetched)
	if err != nil {
		return nil, err
	}
	return t.scanMessages(syncRows, string(b))
}

// pending returns the ranges that need another window before the page is
// known: those not read to their end whose newest fetched position is
// below the page's last position (the limit-th smallest fetched) — a
// message still unread in them could belong to the page.
func pending(ranges []*syncRange, fetched []int64, limit int) []*syncRange {
	last := int64(1<<63 - 1)
	if len(fetched) >= limit {
		s := slices.Clone(fetched)
		slices.Sort(s)
		last = s[limit-1]
	}
	var out []*syncRange
	for _, r := range ranges {
		if !r.done() && (r.frontier == 0 || r.frontier < last) {
			out = append(out, r)
		}
	}
	return out
}

// syncRangesOf runs syncRanges and keeps the ranges that are not empty.
func (t *tx) syncRangesOf(userID string, since int64) ([]*syncRange, error) {
	rows, err := t.query(syncRanges, userID, since)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*syncRange
	for rows.Next() {
		r := &syncRange{}
		if err := rows.Scan(&r.conv, &r.lo, &r.hi); err != nil {
			return nil, err
		}
		if r.hi > r.lo {
			r.read = r.lo
			out = append(out, r)
		}
	}
	return out, rows.Err()
}

// syncWindowOf reads the next window of each range, advances the ranges
// and returns the positions read.
func (t *tx) syncWindowOf(ranges []*syncRange) ([]int64, error) {
	var q strings.Builder
	q.WriteByte('[')
	ends := make([]int64, len(ranges))
	for i, r := range ranges {
		ends[i] = min(r.hi, r.read+r.k)
		if i > 0 {
			q.WriteByte(',')
		}
		c, _ := json.Marshal(r.conv)
		fmt.Fprintf(&q, "[%s,%d,%d]", c, r.read, ends[i])
	}
	q.WriteByte(']')
	rows, err := t.query(syncWindow, q.String())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var i int
		var seq, pos int64
		if err := rows.Scan(&i, &seq, &pos); err != nil {
			return nil, err
		}
		if i < 0 || i >= len(ranges) {
			return nil, fmt.Errorf("window row of range %d", i)
		}
		ranges[i].frontier = max(ranges[i].frontier, pos)
		out = append(out, pos)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i, r := range ranges {
		r.read = ends[i]
		r.k *= 2
	}
	return out, nil
}
