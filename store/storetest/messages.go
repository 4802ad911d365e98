package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

func testMessageCreateLookup(t *testing.T, s parley.Store) {
	mkConversation(t, s, "c1", "a")
	mkConversation(t, s, "c2", "a")
	m1 := mkMessage(t, s, "c1", "a", "k1", "hello", at(1))
	sys := &parley.Message{ID: "sys", ConversationID: "c1", Seq: 2, SenderID: "a", Kind: parley.MessageSystem,
		System: `{"action":"member_added","user":"b"}`, CreatedAt: at(2)}
	reply := &parley.Message{ID: "reply", ConversationID: "c1", Seq: 3, SenderID: "b", ClientID: "k1",
		Kind: parley.MessageText, Text: "hi back", ReplyTo: m1.ID, CreatedAt: at(3), EditedAt: ptr(at(4))}
	update(t, s, func(tx parley.Tx) error {
		if err := tx.CreateMessage(sys); err != nil {
			return err
		}
		return tx.CreateMessage(reply)
	})
	for _, want := range []*parley.Message{m1, sys, reply} {
		got := view(t, s, func(tx parley.Tx) (*parley.Message, error) { return tx.MessageByID(want.ID) })
		wantEqual(t, "MessageByID("+want.ID+")", got, want)
	}
	got := view(t, s, func(tx parley.Tx) (*parley.Message, error) { return tx.MessageByClientID("c1", "a", "k1") })
	wantEqual(t, "MessageByClientID", got, m1)
	got = view(t, s, func(tx parley.Tx) (*parley.Message, error) { return tx.MessageByClientID("c1", "b", "k1") })
	wantEqual(t, "MessageByClientID(other sender)", got, reply)

	for _, c := range [][3]string{{"c1", "a", "nope"}, {"c2", "a", "k1"}, {"c1", "c", "k1"}, {"c1", "a", ""}} {
		wantNotFound(t, s, fmt.Sprintf("MessageByClientID%q", c), func(tx parley.Tx) (*parley.Message, error) {
			return tx.MessageByClientID(c[0], c[1], c[2])
		})
	}
	wantNotFound(t, s, "MessageByID(nope)", func(tx parley.Tx) (*parley.Message, error) { return tx.MessageByID("nope") })
}

func testMessageConflicts(t *testing.T, s parley.Store) {
	mkConversation(t, s, "c1", "a")
	mkConversation(t, s, "c2", "a")
	msg := func(id, conv string, seq int64, sender, clientID string) *parley.Message {
		return &parley.Message{ID: id, ConversationID: conv, Seq: seq, SenderID: sender, ClientID: clientID,
			Kind: parley.MessageText, Text: id, CreatedAt: at(int(seq))}
	}
	create := func(m *parley.Message) error {
		return s.Update(ctx, func(tx parley.Tx) error { return tx.CreateMessage(m) })
	}
	cases := []struct {
		name string
		m    *parley.Message
		code string
	}{
		{"first", msg("m1", "c1", 1, "a", "k1"), ""},
		{"same client id", msg("m2", "c1", 2, "a", "k1"), parley.EConflict},
		{"same client id, other sender", msg("m3", "c1", 3, "b", "k1"), ""},
		{"same client id, other conversation", msg("m4", "c2", 1, "a", "k1"), ""},
		{"no client id", msg("m5", "c1", 5, "a", ""), ""},
		{"no client id again", msg("m6", "c1", 6, "a", ""), ""},
		{"same seq", msg("m7", "c1", 6, "b", "k7"), parley.EConflict},
		{"same id", msg("m1", "c1", 8, "a", "k8"), parley.EConflict},
	}
	for _, tc := range cases {
		wantCode(t, create(tc.m), tc.code)
	}
	wantNotFound(t, s, "m2", func(tx parley.Tx) (*parley.Message, error) { return tx.MessageByID("m2") })
	wantNotFound(t, s, "m7", func(tx parley.Tx) (*parley.Message, error) { return tx.MessageByID("m7") })
}

func seqs(ms []*parley.Message) []int64 {
	out := []int64{}
	for _, m := range ms {
		out = append(out, m.Seq)
	}
	return out
}

func testMessageRange(t *testing.T, s parley.Store) {
	mkConversation(t, s, "c1", "a")
	mkConversation(t, s, "c2", "a")
	for i := 1; i <= 10; i++ {
		mkMessage(t, s, "c1", []string{"a", "b"}[i%2], "", fmt.Sprint("text ", i), at(i))
	}
	for i := 1; i <= 3; i++ {
		mkMessage(t, s, "c2", "a", "", "other", at(i))
	}
	r := func(after, before, minSeq, maxSeq int64, limit int, desc bool) parley.MessageRange {
		return parley.MessageRange{ConversationID: "c1", AfterSeq: after, BeforeSeq: before,
			MinSeq: minSeq, MaxSeq: maxSeq, Limit: limit, Descending: desc}
	}
	cases := []struct {
		name string
		r    parley.MessageRange
		want []int64
	}{
		{"all, default limit", r(0, 0, 0, 0, 0, false), []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{"after", r(3, 0, 0, 0, 4, false), []int64{4, 5, 6, 7}},
		{"after the end", r(10, 0, 0, 0, 4, false), []int64{}},
		{"newest page", r(0, 0, 0, 0, 3, true), []int64{8, 9, 10}},
		{"before, descending", r(0, 8, 0, 0, 3, true), []int64{5, 6, 7}},
		{"before, ascending", r(0, 8, 0, 0, 3, false), []int64{1, 2, 3}},
		{"between", r(2, 6, 0, 0, 0, false), []int64{3, 4, 5}},
		{"before the start", r(0, 1, 0, 0, 0, true), []int64{}},
		{"min and max", r(0, 0, 4, 6, 10, false), []int64{4, 5, 6}},
		{"min, before, descending", r(0, 9, 4, 0, 2, true), []int64{7, 8}},
		{"min above after", r(2, 0, 5, 0, 2, false), []int64{5, 6}},
		{"after above min", r(6, 0, 2, 0, 2, false), []int64{7, 8}},
		{"max, descending", r(0, 0, 0, 3, 10, true), []int64{1, 2, 3}},
		{"max below before", r(0, 9, 0, 4, 2, true), []int64{3, 4}},
		{"before below max", r(0, 5, 0, 8, 10, false), []int64{1, 2, 3, 4}},
		{"empty window", r(0, 0, 7, 6, 10, false), []int64{}},
	}
	for _, tc := range cases {
		got := view(t, s, func(tx parley.Tx) ([]*parley.Message, error) { return tx.Messages(tc.r) })
		wantEqual(t, tc.name, seqs(got), tc.want)
		for _, m := range got {
			if m.ConversationID != "c1" || m.Text != fmt.Sprint("text ", m.Seq) {
				t.Fatalf("%s: wrong message %s", tc.name, show(m))
			}
		}
	}
	got := view(t, s, func(tx parley.Tx) ([]*parley.Message, error) {
		return tx.Messages(parley.MessageRange{ConversationID: "nope"})
	})
	if len(got) != 0 {
		t.Fatalf("Messages(nope) = %v", seqs(got))
	}
}

func testMessageEdits(t *testing.T, s parley.Store) {
	mkConversation(t, s, "c1", "a")
	m := mkMessage(t, s, "c1", "a", "", "v1", at(1))
	other := mkMessage(t, s, "c1", "a", "", "other", at(2))
	for i, text := range []string{"v2", "v3"} {
		update(t, s, func(tx parley.Tx) error {
			if err := tx.AddMessageEdit(&parley.MessageEdit{MessageID: m.ID, Text: []string{"v1", "v2"}[i], EditedAt: at(10 * (i + 1))}); err != nil {
				return err
			}
			return tx.UpdateMessageText(m.ID, text, at(10*(i+1)))
		})
	}
	got := view(t, s, func(tx parley.Tx) (*parley.Message, error) { return tx.MessageByID(m.ID) })
	want := *m
	want.Text, want.EditedAt = "v3", ptr(at(20))
	wantEqual(t, "edited message", got, &want)
	edits := view(t, s, func(tx parley.Tx) ([]*parley.MessageEdit, error) { return tx.MessageEdits(m.ID) })
	wantEqual(t, "MessageEdits", edits, []*parley.MessageEdit{
		{MessageID: m.ID, Text: "v1", EditedAt: at(10)},
		{MessageID: m.ID, Text: "v2", EditedAt: at(20)},
	})
	edits = view(t, s, func(tx parley.Tx) ([]*parley.MessageEdit, error) { return tx.MessageEdits(other.ID) })
	if len(edits) != 0 {
		t.Fatalf("MessageEdits(unedited) = %s", show(edits))
	}
}

func testMessagePurge(t *testing.T, s parley.Store) {
	const secret = "the secret"
	mkConversation(t, s, "c1", "a")
	first := mkMessage(t, s, "c1", "b", "", "first", at(1))
	m := &parley.Message{ID: "m", ConversationID: "c1", SenderID: "a", ClientID: "k1", Kind: parley.MessageText,
		Text: secret + " v2", ReplyTo: first.ID, CreatedAt: at(2)}
	update(t, s, func(tx parley.Tx) error {
		var err error
		if m.Seq, err = tx.AllocSeq("c1", at(2)); err != nil {
			return err
		}
		return tx.CreateMessage(m)
	})
	other := mkMessage(t, s, "c1", "b", "", "keep me", at(3))
	update(t, s, func(tx parley.Tx) error {
		if err := tx.AddMessageEdit(&parley.MessageEdit{MessageID: m.ID, Text: secret + " v1", EditedAt: at(4)}); err != nil {
			return err
		}
		if err := tx.UpdateMessageText(m.ID, secret+" v2", at(4)); err != nil {
			return err
		}
		for _, r := range []*parley.Reaction{
			{MessageID: m.ID, UserID: "a", Emoji: "👍", CreatedAt: at(5)},
			{MessageID: m.ID, UserID: "b", Emoji: "🔥", CreatedAt: at(5)},
			{MessageID: other.ID, UserID: "a", Emoji: "👍", CreatedAt: at(5)},
		} {
			if _, err := tx.SetReaction(r, true); err != nil {
				return err
			}
		}
		return nil
	})

	update(t, s, func(tx parley.Tx) error { return tx.PurgeMessage(m.ID, at(9)) })

	got := view(t, s, func(tx parley.Tx) (*parley.Message, error) { return tx.MessageByID(m.ID) })
	if got.Text != "" || got.ReplyTo != "" || got.System != "" {
		t.Errorf("tombstone keeps content: %s", show(got))
	}
	if got.DeletedAt == nil || !got.DeletedAt.Equal(at(9)) {
		t.Errorf("tombstone DeletedAt = %v, want %v", got.DeletedAt, at(9))
	}
	if got.ID != m.ID || got.ConversationID != "c1" || got.Seq != m.Seq || got.SenderID != "a" ||
		got.ClientID != "k1" || got.Kind != m.Kind || !got.CreatedAt.Equal(m.CreatedAt) {
		t.Errorf("tombstone lost its frame: %s, want frame of %s", show(got), show(m))
	}
	byClient := view(t, s, func(tx parley.Tx) (*parley.Message, error) { return tx.MessageByClientID("c1", "a", "k1") })
	if byClient.ID != m.ID || byClient.DeletedAt == nil {
		t.Errorf("resend lookup finds %s, want the tombstone", show(byClient))
	}
	if n := view(t, s, func(tx parley.Tx) (int, error) { return tx.CountUserReactions(m.ID, "a") }); n != 0 {
		t.Errorf("CountUserReactions after purge = %d", n)
	}

	// Nothing readable through the store still holds the text.
	type dump struct {
		msgs      []*parley.Message
		edits     []*parley.MessageEdit
		reactions map[string][]*parley.Reaction
	}
	d := view(t, s, func(tx parley.Tx) (dump, error) {
		var d dump
		var err error
		if d.msgs, err = tx.Messages(parley.MessageRange{ConversationID: "c1", Limit: 100}); err != nil {
			return d, err
		}
		var ids []string
		for _, msg := range d.msgs {
			ids = append(ids, msg.ID)
			edits, err := tx.MessageEdits(msg.ID)
			if err != nil {
				return d, err
			}
			d.edits = append(d.edits, edits...)
		}
		d.reactions, err = tx.Reactions(ids)
		return d, err
	})
	wantEqual(t, "messages after purge", seqs(d.msgs), []int64{1, 2, 3})
	for _, msg := range d.msgs {
		if strings.Contains(msg.Text, secret) || strings.Contains(msg.System, secret) {
			t.Errorf("message %s still holds the text", show(msg))
		}
	}
	for _, e := range d.edits {
		if e.MessageID == m.ID || strings.Contains(e.Text, secret) {
			t.Errorf("edit %s survived the purge", show(e))
		}
	}
	if rs := d.reactions[m.ID]; len(rs) != 0 {
		t.Errorf("reactions survived the purge: %s", show(rs))
	}
	if rs := d.reactions[other.ID]; len(rs) != 1 || rs[0].UserID != "a" {
		t.Errorf("reactions of another message: %s", show(rs))
	}
	kept := view(t, s, func(tx parley.Tx) (*parley.Message, error) { return tx.MessageByID(other.ID) })
	wantEqual(t, "other message", kept, other)
}

func testCountBySender(t *testing.T, s parley.Store) {
	mkConversation(t, s, "c1", "a")
	mkConversation(t, s, "c2", "a")
	for i, sender := range []string{"a", "b", "a", "a"} {
		mkMessage(t, s, "c1", sender, "", "x", at(i))
	}
	mkMessage(t, s, "c2", "a", "", "x", at(9))
	for _, c := range []struct {
		conv, sender string
		want         int
	}{{"c1", "a", 3}, {"c1", "b", 1}, {"c1", "c", 0}, {"c2", "a", 1}, {"nope", "a", 0}} {
		got := view(t, s, func(tx parley.Tx) (int, error) { return tx.CountMessagesBySender(c.conv, c.sender) })
		if got != c.want {
			t.Errorf("CountMessagesBySender(%s, %s) = %d, want %d", c.conv, c.sender, got, c.want)
		}
	}
}

func testCountUnread(t *testing.T, s parley.Store) {
	mkConversation(t, s, "c1", "a")
	mkConversation(t, s, "c2", "a")
	// seq:    1  2  3  4         5          6  7  8
	// sender: a  b  b  b(unsent) b(system)  b  a  b
	for i, sender := range []string{"a", "b", "b", "b", "b", "b", "a", "b"} {
		seq := int64(i + 1)
		update(t, s, func(tx parley.Tx) error {
			if _, err := tx.AllocSeq("c1", at(i)); err != nil {
				return err
			}
			m := &parley.Message{ID: fmt.Sprint("m", seq), ConversationID: "c1", Seq: seq, SenderID: sender,
				Kind: parley.MessageText, Text: "x", CreatedAt: at(i)}
			if seq == 5 {
				m.Kind, m.Text, m.System = parley.MessageSystem, "", `{"action":"renamed"}`
			}
			if err := tx.CreateMessage(m); err != nil {
				return err
			}
			if seq == 4 {
				return tx.PurgeMessage(m.ID, at(i))
			}
			return nil
		})
	}
	mkMessage(t, s, "c2", "b", "", "elsewhere", at(20))
	cases := []struct {
		user  string
		after int64
		max   int
		want  int
	}{
		{"a", 0, 100, 4},
		{"a", 3, 100, 2},
		{"a", 0, 3, 3},
		{"a", 0, 1, 1},
		{"a", 8, 100, 0},
		{"b", 0, 100, 2},
		{"b", 7, 100, 0},
		{"c", 0, 100, 6},
	}
	for _, c := range cases {
		got := view(t, s, func(tx parley.Tx) (int, error) { return tx.CountUnread("c1", c.user, c.after, time.Time{}, c.max) })
		if got != c.want {
			t.Errorf("CountUnread(c1, %s, %d, %d) = %d, want %d", c.user, c.after, c.max, got, c.want)
		}
	}
	// A disappearing message past its expiry, not purged yet, counts only
	// when expiredBy is zero (a legal hold keeps it visible).
	update(t, s, func(tx parley.Tx) error {
		if _, err := tx.AllocSeq("c1", at(9)); err != nil {
			return err
		}
		exp := at(10)
		return tx.CreateMessage(&parley.Message{ID: "m9", ConversationID: "c1", Seq: 9, SenderID: "b",
			Kind: parley.MessageText, Text: "gone soon", CreatedAt: at(9), ExpiresAt: &exp})
	})
	for _, c := range []struct {
		by   time.Time
		want int
	}{{time.Time{}, 5}, {at(9), 5}, {at(10), 4}, {at(11), 4}} {
		got := view(t, s, func(tx parley.Tx) (int, error) { return tx.CountUnread("c1", "a", 0, c.by, 100) })
		if got != c.want {
			t.Errorf("CountUnread(c1, a, 0, expired by %v) = %d, want %d", c.by, got, c.want)
		}
	}
}

func testReactions(t *testing.T, s parley.Store) {
	mkConversation(t, s, "c1", "a")
	m1 := mkMessage(t, s, "c1", "a", "", "one", at(1))
	m2 := mkMessage(t, s, "c1", "b", "", "two", at(2))
	steps := []struct {
		msg, user, emoji string
		on, want         bool
	}{
		{m1.ID, "a", "👍", true, true},
		{m1.ID, "a", "👍", true, false},
		{m1.ID, "a", "❤️", true, true},
		{m1.ID, "b", "👍", true, true},
		{m2.ID, "a", "😂", true, true},
		{m1.ID, "a", "❤️", false, true},
		{m1.ID, "a", "❤️", false, false},
		{m1.ID, "a", "🎉", true, true},
		{m1.ID, "c", "👍", false, false},
	}
	for i, st := range steps {
		var changed bool
		update(t, s, func(tx parley.Tx) error {
			var err error
			changed, err = tx.SetReaction(&parley.Reaction{MessageID: st.msg, UserID: st.user, Emoji: st.emoji, CreatedAt: at(i)}, st.on)
			return err
		})
		if changed != st.want {
			t.Fatalf("step %d SetReaction(%s, %s, %s, %v) changed = %v, want %v",
				i, st.msg, st.user, st.emoji, st.on, changed, st.want)
		}
	}
	for _, c := range []struct {
		msg, user string
		want      int
	}{{m1.ID, "a", 2}, {m1.ID, "b", 1}, {m2.ID, "b", 0}, {m2.ID, "a", 1}} {
		got := view(t, s, func(tx parley.Tx) (int, error) { return tx.CountUserReactions(c.msg, c.user) })
		if got != c.want {
			t.Errorf("CountUserReactions(%s, %s) = %d, want %d", c.msg, c.user, got, c.want)
		}
	}
	got := view(t, s, func(tx parley.Tx) (map[string][]*parley.Reaction, error) {
		return tx.Reactions([]string{m1.ID, m2.ID, "none", m1.ID})
	})
	wantEqual(t, "Reactions(m1)", got[m1.ID], []*parley.Reaction{
		{MessageID: m1.ID, UserID: "a", Emoji: "👍", CreatedAt: at(0)},
		{MessageID: m1.ID, UserID: "b", Emoji: "👍", CreatedAt: at(3)},
		{MessageID: m1.ID, UserID: "a", Emoji: "🎉", CreatedAt: at(7)},
	})
	wantEqual(t, "Reactions(m2)", got[m2.ID], []*parley.Reaction{
		{MessageID: m2.ID, UserID: "a", Emoji: "😂", CreatedAt: at(4)},
	})
	if len(got["none"]) != 0 || len(got) > 3 {
		t.Errorf("Reactions has extra entries: %v", got)
	}
	empty := view(t, s, func(tx parley.Tx) (map[string][]*parley.Reaction, error) { return tx.Reactions(nil) })
	if len(empty) != 0 {
		t.Errorf("Reactions(nil) = %v", empty)
	}
}

// testPositions checks that messages and events share one growing order of
// positions, which a failed update does not set back.
func testPositions(t *testing.T, s parley.Store) {
	mkUsers(t, s, "a")
	mkConversation(t, s, "c1", "a")
	var last int64
	next := func(what string, p int64) {
		t.Helper()
		if p <= last {
			t.Fatalf("%s got position %d after %d", what, p, last)
		}
		last = p
	}
	for i := 0; i < 3; i++ {
		m := mkMessage(t, s, "c1", "a", fmt.Sprint("p", i), "hello", at(i))
		next("message", m.Pos)
		stored := view(t, s, func(tx parley.Tx) (*parley.Message, error) { return tx.MessageByID(m.ID) })
		if stored.Pos != m.Pos {
			t.Fatalf("stored pos %d, returned %d", stored.Pos, m.Pos)
		}
		e := &parley.Event{Type: parley.EventReactionAdded, ConversationID: "c1", CreatedAt: at(i)}
		update(t, s, func(tx parley.Tx) error { return tx.AppendEvent(e) })
		next("event", e.Pos)
	}
	_ = s.Update(ctx, func(tx parley.Tx) error {
		if err := tx.AppendEvent(&parley.Event{Type: parley.EventReactionAdded, ConversationID: "c1", CreatedAt: at(9)}); err != nil {
			return err
		}
		return fmt.Errorf("roll back")
	})
	e := &parley.Event{Type: parley.EventReactionAdded, ConversationID: "c1", CreatedAt: at(10)}
	update(t, s, func(tx parley.Tx) error { return tx.AppendEvent(e) })
	next("event after a rollback", e.Pos)
}

// testMessageLastPos: a conversation's last position is its newest
// message's or event's, seen inside the update that wrote it (whether the
// conversation was read before or not) and after commit; a rolled-back
// message leaves it as it was.
func testMessageLastPos(t *testing.T, s parley.Store) {
	mkUsers(t, s, "a")
	mkConversation(t, s, "c1", "a")
	mkConversation(t, s, "c2", "a")
	// Inside an update only t.Errorf: the function runs on the store's
	// writer, where t.Fatal would stop the writer instead of the test.
	lastPos := func(tx parley.Tx, conv string) int64 {
		t.Helper()
		c, err := tx.ConversationByID(conv)
		if err != nil {
			t.Errorf("ConversationByID(%s): %v", conv, err)
			return -1
		}
		return c.LastPos
	}
	inUpdate := func(what string, got, want int64) {
		t.Helper()
		if got != want {
			t.Errorf("%s: got %d, want %d", what, got, want)
		}
	}
	msg := func(id, conv string, seq int64) *parley.Message {
		return &parley.Message{ID: id, ConversationID: conv, Seq: seq, SenderID: "a", ClientID: id,
			Kind: parley.MessageText, Text: "text of " + id, CreatedAt: at(int(seq))}
	}
	m1, m2, m3 := msg("m1", "c1", 1), msg("m2", "c2", 1), msg("m3", "c1", 2)
	update(t, s, func(tx parley.Tx) error {
		lastPos(tx, "c1") // c1 read before its message, c2 not
		for _, m := range []*parley.Message{m1, m2, m3} {
			if err := tx.CreateMessage(m); err != nil {
				return err
			}
		}
		inUpdate("c1's last position in the update", lastPos(tx, "c1"), m3.Pos)
		inUpdate("c2's last position in the update", lastPos(tx, "c2"), m2.Pos)
		return nil
	})
	committed := func(conv string) int64 {
		return view(t, s, func(tx parley.Tx) (int64, error) { return lastPos(tx, conv), nil })
	}
	wantEqual(t, "c1's last position", committed("c1"), m3.Pos)
	wantEqual(t, "c2's last position", committed("c2"), m2.Pos)
	e := &parley.Event{Type: parley.EventReactionAdded, ConversationID: "c2", CreatedAt: at(5)}
	update(t, s, func(tx parley.Tx) error { return tx.AppendEvent(e) })
	wantEqual(t, "c2's last position after an event", committed("c2"), e.Pos)
	if err := s.Update(ctx, func(tx parley.Tx) error {
		if err := tx.CreateMessage(msg("m4", "c1", 3)); err != nil {
			return err
		}
		return fmt.Errorf("roll back")
	}); err == nil {
		t.Fatal("failing update returned nil")
	}
	wantEqual(t, "c1's last position after a rollback", committed("c1"), m3.Pos)
	update(t, s, func(tx parley.Tx) error {
		inUpdate("c1's last position in an update after a rollback", lastPos(tx, "c1"), m3.Pos)
		return nil
	})
}

// testCreateMessages: CreateMessages stores each message as CreateMessage
// does, positions in order, each conversation's last position its newest
// message's; a taken client id fails the call with EConflict.
func testCreateMessages(t *testing.T, s parley.Store) {
	mkUsers(t, s, "a")
	mkConversation(t, s, "c1", "a")
	mkConversation(t, s, "c2", "a")
	msg := func(id, conv string, seq int64, clientID string) *parley.Message {
		return &parley.Message{ID: id, ConversationID: conv, Seq: seq, SenderID: "a", ClientID: clientID,
			Kind: parley.MessageText, Text: "text of " + id, CreatedAt: at(int(seq))}
	}
	ms := []*parley.Message{msg("m1", "c1", 1, "k1"), msg("m2", "c2", 1, "k2"), msg("m3", "c1", 2, "")}
	update(t, s, func(tx parley.Tx) error {
		if err := tx.CreateMessages(nil); err != nil {
			return err
		}
		return tx.CreateMessages(ms)
	})
	for i, m := range ms {
		if i > 0 && m.Pos <= ms[i-1].Pos {
			t.Fatalf("positions out of order: %d after %d", m.Pos, ms[i-1].Pos)
		}
		wantEqual(t, "stored "+m.ID, view(t, s, func(tx parley.Tx) (*parley.Message, error) { return tx.MessageByID(m.ID) }), m)
	}
	for conv, want := range map[string]int64{"c1": ms[2].Pos, "c2": ms[1].Pos} {
		c := view(t, s, func(tx parley.Tx) (*parley.Conversation, error) { return tx.ConversationByID(conv) })
		wantEqual(t, "last position of "+conv, c.LastPos, want)
	}
	wantEqual(t, "range", len(view(t, s, func(tx parley.Tx) ([]*parley.Message, error) {
		return tx.Messages(parley.MessageRange{ConversationID: "c1", Limit: 10})
	})), 2)
	err := s.Update(ctx, func(tx parley.Tx) error {
		return tx.CreateMessages([]*parley.Message{msg("m4", "c2", 2, "k4"), msg("m5", "c1", 3, "k1")})
	})
	wantCode(t, err, parley.EConflict)
	wantNotFound(t, s, "message of a failed call", func(tx parley.Tx) (*parley.Message, error) { return tx.MessageByID("m4") })
	// Searchable like CreateMessage's (the index is the store's to keep).
	putMember(t, s, "c1", "a", parley.StatusActive, 0, 0)
	putMember(t, s, "c2", "a", parley.StatusActive, 0, 0)
	wantFound(t, s, "search", parley.SearchFilter{ViewerIDs: []string{"a"}, Query: "text", Limit: 10}, "m1", "m2", "m3")
}
