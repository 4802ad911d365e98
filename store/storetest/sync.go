package storetest

import (
	"fmt"
	"testing"

	"github.com/parleyhq/parley"
)

// testSyncMessagesPages: SyncMessages pages through the user's messages
// after any position in position order, a page the first limit of them,
// whatever the page size and however the conversations interleave (one
// busy, some quiet), within each membership's range: after JoinedSeq, up
// to LeftSeq for a member who left or was removed, none for a declined
// one, none of a conversation the user is not in.
func testSyncMessagesPages(t *testing.T, s parley.Store) {
	mkUsers(t, s, "u", "p")
	members := map[string]*parley.Member{}
	for _, c := range []struct {
		id     string
		status parley.MemberStatus
		joined int64
		left   int64
	}{
		{"busy", parley.StatusActive, 0, 0},
		{"quiet", parley.StatusActive, 0, 0},
		{"joined", parley.StatusActive, 7, 0},
		{"left", parley.StatusLeft, 0, 9},
		{"removed", parley.StatusRemoved, 3, 12},
		{"declined", parley.StatusDeclined, 0, 0},
		{"pending", parley.StatusPending, 0, 0},
		{"other", "", 0, 0},
	} {
		mkConversation(t, s, c.id, "p")
		if c.status == "" {
			continue
		}
		m := newMember(c.id, "u")
		m.Status, m.JoinedSeq, m.LeftSeq = c.status, c.joined, c.left
		members[c.id] = m
		update(t, s, func(tx parley.Tx) error { return tx.PutMember(m) })
	}
	// 170 messages: the busy conversation writes most, the others in
	// bursts and alone, so that pages end inside bursts and between them.
	var all, want []*parley.Message
	order := []string{}
	for i := range 170 {
		switch {
		case i%17 == 5:
			order = append(order, "quiet")
		case i >= 60 && i < 90:
			order = append(order, []string{"joined", "left", "removed", "declined", "pending", "other"}[i%6])
		case i%5 == 1:
			order = append(order, "joined", "other")
		default:
			order = append(order, "busy")
		}
	}
	update(t, s, func(tx parley.Tx) error {
		for i, conv := range order {
			seq, err := tx.AllocSeq(conv, at(i))
			if err != nil {
				return err
			}
			m := &parley.Message{ID: fmt.Sprintf("%s-m%d", conv, seq), ConversationID: conv, Seq: seq, SenderID: "p",
				Kind: parley.MessageText, Text: fmt.Sprintf("message %d", i), CreatedAt: at(i)}
			if err := tx.CreateMessage(m); err != nil {
				return err
			}
			all = append(all, m)
		}
		return nil
	})
	for _, m := range all {
		if mb := members[m.ConversationID]; mb != nil && mb.Status != parley.StatusDeclined && m.Seq > mb.JoinedSeq &&
			(mb.LeftSeq == 0 || m.Seq <= mb.LeftSeq || mb.Status == parley.StatusActive) {
			want = append(want, m)
		}
	}
	ids := func(ms []*parley.Message) []string {
		out := []string{}
		for _, m := range ms {
			out = append(out, fmt.Sprintf("%s@%d", m.ID, m.Pos))
		}
		return out
	}
	after := func(pos int64) []*parley.Message {
		for i, m := range want {
			if m.Pos > pos {
				return want[i:]
			}
		}
		return nil
	}
	sync := func(since int64, limit int) []*parley.Message {
		return view(t, s, func(tx parley.Tx) ([]*parley.Message, error) { return tx.SyncMessages("u", since, limit) })
	}
	// From every position, one page of several sizes.
	for _, m := range all[:len(all)-1] {
		for _, limit := range []int{1, 4, 33} {
			exp := after(m.Pos)
			exp = exp[:min(limit, len(exp))]
			wantEqual(t, fmt.Sprintf("a page of %d after %d", limit, m.Pos), ids(sync(m.Pos, limit)), ids(exp))
		}
	}
	// Paging from the start gives every message once, in order.
	for _, limit := range []int{1, 7, 500} {
		var got []*parley.Message
		since := all[0].Pos - 1
		for {
			page := sync(since, limit)
			if len(page) == 0 {
				break
			}
			got = append(got, page...)
			since = page[len(page)-1].Pos
		}
		wantEqual(t, fmt.Sprintf("paged by %d", limit), ids(got), ids(after(all[0].Pos-1)))
	}
	if got := sync(all[len(all)-1].Pos, 10); len(got) != 0 {
		t.Fatalf("after the last message: %v", ids(got))
	}
	got := sync(all[0].Pos-1, 1000)
	if len(got) == 0 || got[0].Text == "" || got[0].CreatedAt.IsZero() || got[0].Kind != parley.MessageText {
		t.Fatalf("rows not read whole: %+v", got)
	}
}

// testLastMessages: the newest message within each range, by
// conversation; none for a range without messages, an empty range or a
// conversation without any; rows read whole.
func testLastMessages(t *testing.T, s parley.Store) {
	mkUsers(t, s, "a", "b")
	for _, c := range []string{"c1", "c2", "c3", "c4"} {
		mkConversation(t, s, c, "a")
	}
	for i := range 5 {
		mkMessage(t, s, "c1", "a", fmt.Sprintf("x%d", i), fmt.Sprintf("one %d", i+1), at(i))
	}
	for i := range 3 {
		mkMessage(t, s, "c2", "b", fmt.Sprintf("y%d", i), fmt.Sprintf("two %d", i+1), at(10+i))
	}
	mkMessage(t, s, "c4", "b", "z", "four", at(20))
	last := func(rs ...parley.MessageRange) map[string]string {
		got := view(t, s, func(tx parley.Tx) (map[string]*parley.Message, error) { return tx.LastMessages(rs) })
		out := map[string]string{}
		for id, m := range got {
			if m.ConversationID != id || m.CreatedAt.IsZero() {
				t.Fatalf("LastMessages: %s → %+v", id, m)
			}
			out[id] = fmt.Sprintf("%d %s", m.Seq, m.Text)
		}
		return out
	}
	wantEqual(t, "last messages", last(
		parley.MessageRange{ConversationID: "c1", MinSeq: 2, MaxSeq: 4},
		parley.MessageRange{ConversationID: "c2", MinSeq: 1, MaxSeq: 10},
		parley.MessageRange{ConversationID: "c3", MinSeq: 1, MaxSeq: 5},
		parley.MessageRange{ConversationID: "c4", MinSeq: 2, MaxSeq: 9},
	), map[string]string{"c1": "4 one 4", "c2": "3 two 3"})
	wantEqual(t, "an empty range", last(parley.MessageRange{ConversationID: "c1", MinSeq: 4, MaxSeq: 3}), map[string]string{})
	wantEqual(t, "one seq", last(parley.MessageRange{ConversationID: "c1", MinSeq: 1, MaxSeq: 1}), map[string]string{"c1": "1 one 1"})
	wantEqual(t, "no ranges", last(), map[string]string{})
}

// testSyncBacklog: SyncBacklog counts exactly what SyncMessages and
// SyncEvents return after any position — messages within each
// membership's range of sequence numbers, the user's own events, and the
// conversation-wide events each membership lets the user see — and says
// "more than limit" with a count above limit when there is more.
func testSyncBacklog(t *testing.T, s parley.Store) {
	mkUsers(t, s, "u", "p")
	for _, c := range []struct {
		id     string
		status parley.MemberStatus
		joined int64
		left   int64
	}{
		{"busy", parley.StatusActive, 0, 0},
		{"joined", parley.StatusActive, 4, 0},
		{"left", parley.StatusLeft, 0, 6},
		{"declined", parley.StatusDeclined, 0, 0},
		{"pending", parley.StatusPending, 0, 0},
		{"other", "", 0, 0},
	} {
		mkConversation(t, s, c.id, "p")
		if c.status == "" {
			continue
		}
		m := newMember(c.id, "u")
		m.Status, m.JoinedSeq, m.LeftSeq = c.status, c.joined, c.left
		if c.status == parley.StatusLeft {
			m.LeftPos = 1 << 40 // set below, once positions are known
		}
		update(t, s, func(tx parley.Tx) error { return tx.PutMember(m) })
	}
	convs := []string{"busy", "joined", "left", "declined", "pending", "other"}
	var positions []int64
	update(t, s, func(tx parley.Tx) error {
		for i := range 60 {
			conv := convs[i%len(convs)]
			if i%4 == 3 {
				// Events: the user's own, and conversation-wide ones.
				e := &parley.Event{Type: parley.EventReactionAdded, ConversationID: convs[(i/4)%len(convs)], CreatedAt: at(i)}
				if i%12 == 7 {
					e.UserID = "u"
				}
				if err := tx.AppendEvent(e); err != nil {
					return err
				}
				positions = append(positions, e.Pos)
				continue
			}
			seq, err := tx.AllocSeq(conv, at(i))
			if err != nil {
				return err
			}
			m := &parley.Message{ID: fmt.Sprintf("%s-m%d", conv, seq), ConversationID: conv, Seq: seq, SenderID: "p",
				Kind: parley.MessageText, Text: fmt.Sprintf("message %d", i), CreatedAt: at(i)}
			if err := tx.CreateMessage(m); err != nil {
				return err
			}
			positions = append(positions, m.Pos)
		}
		return nil
	})
	// The member who left did so halfway: events after that are not theirs.
	left := view(t, s, func(tx parley.Tx) (*parley.Member, error) { return tx.Member("left", "u") })
	left.LeftPos = positions[len(positions)/2]
	update(t, s, func(tx parley.Tx) error { return tx.PutMember(left) })

	for _, since := range append([]int64{0}, positions...) {
		want := len(view(t, s, func(tx parley.Tx) ([]*parley.Message, error) { return tx.SyncMessages("u", since, 1000) })) +
			len(view(t, s, func(tx parley.Tx) ([]*parley.Event, error) { return tx.SyncEvents("u", since, 1000) }))
		got := view(t, s, func(tx parley.Tx) (int, error) { return tx.SyncBacklog("u", since, 1000) })
		wantEqual(t, fmt.Sprintf("backlog after %d", since), got, want)
		for _, limit := range []int{0, 1, want / 2, want - 1} {
			if limit < 0 || limit >= want {
				continue
			}
			if got := view(t, s, func(tx parley.Tx) (int, error) { return tx.SyncBacklog("u", since, limit) }); got <= limit {
				t.Fatalf("backlog after %d with limit %d: %d, want more than the limit (%d in all)", since, limit, got, want)
			}
		}
		if got := view(t, s, func(tx parley.Tx) (int, error) { return tx.SyncBacklog("u", since, want) }); got != want {
			t.Fatalf("backlog after %d with limit %d: %d", since, want, got)
		}
	}
	if got := view(t, s, func(tx parley.Tx) (int, error) { return tx.SyncBacklog("p", 0, 1000) }); got != 0 {
		t.Fatalf("a user in no conversation: backlog %d", got)
	}
}
