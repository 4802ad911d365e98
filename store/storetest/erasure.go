package storetest

import (
	"fmt"
	"testing"

	"github.com/parleyhq/parley"
)

// testUserDeleted: DeletedAt round-trips through CreateUser and UpdateUser,
// and a deleted account's handle can be renamed away and taken again.
func testUserDeleted(t *testing.T, s parley.Store) {
	mkUsers(t, s, "u1")
	gone := newUser("u2")
	gone.DeletedAt = ptr(at(5))
	update(t, s, func(tx parley.Tx) error { return tx.CreateUser(gone) })
	got := view(t, s, func(tx parley.Tx) (*parley.User, error) { return tx.UserByID("u2") })
	wantEqual(t, "created deleted user", got, gone)

	u := newUser("u1")
	u.DisplayName, u.Bio, u.DeletedAt, u.UpdatedAt = "", "", ptr(at(7)), at(7)
	update(t, s, func(tx parley.Tx) error { return tx.UpdateUser(u) })
	got = view(t, s, func(tx parley.Tx) (*parley.User, error) { return tx.UserByID("u1") })
	wantEqual(t, "user marked deleted", got, u)

	// Releasing the handle: renamed, then the old one is free.
	u.Handle = "~u1"
	update(t, s, func(tx parley.Tx) error { return tx.UpdateUser(u) })
	wantNotFound(t, s, "released handle", func(tx parley.Tx) (*parley.User, error) { return tx.UserByHandle("u1") })
	fresh := newUser("u3")
	fresh.Handle = "u1"
	update(t, s, func(tx parley.Tx) error { return tx.CreateUser(fresh) })

	u.DeletedAt = nil
	update(t, s, func(tx parley.Tx) error { return tx.UpdateUser(u) })
	got = view(t, s, func(tx parley.Tx) (*parley.User, error) { return tx.UserByID("u1") })
	if got.DeletedAt != nil {
		t.Errorf("DeletedAt after clearing = %v", got.DeletedAt)
	}
}

// testMessageRedact: RedactMessage clears the content and the edits, keeps
// the frame and the reactions, sets RedactedAt once.
func testMessageRedact(t *testing.T, s parley.Store) {
	mkConversation(t, s, "c1", "a")
	first := mkMessage(t, s, "c1", "b", "", "first", at(1))
	m := mkMessage(t, s, "c1", "a", "k1", "card 4111 v2", at(2))
	other := mkMessage(t, s, "c1", "a", "", "keep me", at(3))
	update(t, s, func(tx parley.Tx) error {
		if err := tx.AddMessageEdit(&parley.MessageEdit{MessageID: m.ID, Text: "card 4111 v1", EditedAt: at(4)}); err != nil {
			return err
		}
		if err := tx.AddMessageEdit(&parley.MessageEdit{MessageID: other.ID, Text: "keep v1", EditedAt: at(4)}); err != nil {
			return err
		}
		if _, err := tx.SetMessageCard(m.ID, `{"url":"https://x.test"}`); err != nil {
			return err
		}
		_, err := tx.SetReaction(&parley.Reaction{MessageID: m.ID, UserID: "b", Emoji: "👍", CreatedAt: at(5)}, true)
		return err
	})
	update(t, s, func(tx parley.Tx) error { return tx.RedactMessage(m.ID, at(9)) })
	update(t, s, func(tx parley.Tx) error { return tx.RedactMessage(m.ID, at(10)) }) // the first time stays

	got := view(t, s, func(tx parley.Tx) (*parley.Message, error) { return tx.MessageByID(m.ID) })
	want := *m
	want.Text, want.RedactedAt = "", ptr(at(9))
	wantEqual(t, "redacted message", got, &want)
	if n := len(view(t, s, func(tx parley.Tx) ([]*parley.MessageEdit, error) { return tx.MessageEdits(m.ID) })); n != 0 {
		t.Errorf("%d edits survive the redaction", n)
	}
	if n := len(view(t, s, func(tx parley.Tx) ([]*parley.MessageEdit, error) { return tx.MessageEdits(other.ID) })); n != 1 {
		t.Errorf("another message's edits: %d, want 1", n)
	}
	if n := view(t, s, func(tx parley.Tx) (int, error) { return tx.CountUserReactions(m.ID, "b") }); n != 1 {
		t.Errorf("reactions after redaction = %d, want 1 (kept)", n)
	}
	wantEqual(t, "other message", view(t, s, func(tx parley.Tx) (*parley.Message, error) { return tx.MessageByID(other.ID) }), other)
	wantEqual(t, "first message", view(t, s, func(tx parley.Tx) (*parley.Message, error) { return tx.MessageByID(first.ID) }), first)
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error { return tx.RedactMessage("nope", at(9)) }), parley.ENotFound)
}

// testMessagesBySender pages through one sender's messages across
// conversations, by position, tombstones included.
func testMessagesBySender(t *testing.T, s parley.Store) {
	mkConversation(t, s, "c1", "a")
	mkConversation(t, s, "c2", "a")
	var want []string
	for i := 0; i < 5; i++ {
		conv := []string{"c1", "c2"}[i%2]
		m := mkMessage(t, s, conv, "a", "", fmt.Sprint("mine ", i), at(i))
		want = append(want, m.ID)
		mkMessage(t, s, conv, "b", "", fmt.Sprint("theirs ", i), at(i))
	}
	update(t, s, func(tx parley.Tx) error { return tx.PurgeMessage(want[1], at(9)) })
	var got []string
	var after int64
	for {
		page := view(t, s, func(tx parley.Tx) ([]*parley.Message, error) { return tx.MessagesBySender("a", after, 2) })
		for _, m := range page {
			if m.Pos <= after {
				t.Fatalf("position %d after cursor %d", m.Pos, after)
			}
			got = append(got, m.ID)
			after = m.Pos
		}
		if len(page) < 2 {
			break
		}
	}
	wantEqual(t, "MessagesBySender pages", got, want)
	none := view(t, s, func(tx parley.Tx) ([]*parley.Message, error) { return tx.MessagesBySender("nobody", 0, 10) })
	if len(none) != 0 {
		t.Errorf("messages of a user who sent none: %d", len(none))
	}
}

// testConversationIDs pages through every conversation in id order.
func testConversationIDs(t *testing.T, s parley.Store) {
	for _, id := range []string{"c3", "c1", "c5", "c2", "c4"} {
		mkConversation(t, s, id, "a")
	}
	var got []string
	after := ""
	for {
		page := view(t, s, func(tx parley.Tx) ([]string, error) { return tx.ConversationIDs(after, 2) })
		got = append(got, page...)
		if len(page) < 2 {
			break
		}
		after = page[len(page)-1]
	}
	wantEqual(t, "ConversationIDs pages", got, []string{"c1", "c2", "c3", "c4", "c5"})
}
