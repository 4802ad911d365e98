package storetest

import (
	"errors"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/sealed"
	"github.com/parleyhq/parley/sealed/sealedtest"
)

// Keyringer is what a store implements to seal message text at rest. The
// suite runs the message and search tests again on stores that have it,
// with a keyring set, and checks that text is stored sealed.
type Keyringer interface {
	SetKeyring(k *sealed.Keyring)
}

// sealedTests are run a second time with a keyring: every path that
// writes or reads message text.
var sealedTests = map[string]bool{
	"Message/CreateAndLookup": true, "Message/Range": true, "Message/Edits": true, "Message/Purge": true,
	"Message/Card": true, "Search/Visibility": true, "Search/Index": true, "Search/Filters": true,
	"Search/Relevance": true, "Search/Pagination": true, "Message/Expired": true,
	"Message/RetentionCandidates": true, "Conversation/List": true,
}

// withKeyring gives s a fresh keyring, or skips the test when s cannot seal.
func withKeyring(t *testing.T, s parley.Store) parley.Store {
	kr, ok := s.(Keyringer)
	if !ok {
		t.Skip("the store does not seal message text")
	}
	r, _, _ := sealedtest.Keyring(t)
	kr.SetKeyring(r)
	return s
}

func testDataKeys(t *testing.T, s parley.Store) {
	keys := view(t, s, func(tx parley.Tx) ([]*parley.DataKey, error) { return tx.DataKeys() })
	if len(keys) != 0 {
		t.Fatalf("a new store has data keys: %s", show(keys))
	}
	k1 := &parley.DataKey{ID: 1, Wrapped: []byte{1, 2, 3, 0, 255}, CreatedAt: at(1)}
	k2 := &parley.DataKey{ID: 2, Wrapped: []byte{9}, CreatedAt: at(2)}
	update(t, s, func(tx parley.Tx) error {
		if err := tx.CreateDataKey(k2); err != nil {
			return err
		}
		return tx.CreateDataKey(k1)
	})
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error {
		return tx.CreateDataKey(&parley.DataKey{ID: 1, Wrapped: []byte{0}, CreatedAt: at(3)})
	}), parley.EConflict)
	keys = view(t, s, func(tx parley.Tx) ([]*parley.DataKey, error) { return tx.DataKeys() })
	wantEqual(t, "DataKeys", keys, []*parley.DataKey{k1, k2})
	k1.Wrapped = []byte{7, 7}
	update(t, s, func(tx parley.Tx) error { return tx.UpdateDataKey(k1) })
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error { return tx.UpdateDataKey(&parley.DataKey{ID: 9, Wrapped: []byte{1}}) }), parley.ENotFound)
	update(t, s, func(tx parley.Tx) error { return tx.DeleteDataKey(2) })
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error { return tx.DeleteDataKey(2) }), parley.ENotFound)
	keys = view(t, s, func(tx parley.Tx) ([]*parley.DataKey, error) { return tx.DataKeys() })
	wantEqual(t, "DataKeys after update and delete", keys, []*parley.DataKey{k1})
}

// testSealedAtRest: with a keyring, text is stored sealed (a store without
// the keyring cannot read it), reads give the plaintext back, rows stored
// before the keyring stay readable, and ResealMessages moves every row to
// a new data key so that the old one falls out of use.
func testSealedAtRest(t *testing.T, s parley.Store) {
	kr, ok := s.(Keyringer)
	if !ok {
		t.Skip("the store does not seal message text")
	}
	mkConversation(t, s, "c1", "a")
	plain := mkMessage(t, s, "c1", "a", "", "written before encryption", at(1))

	r, master, _ := sealedtest.Keyring(t)
	kr.SetKeyring(r)
	m := mkMessage(t, s, "c1", "a", "", "the harbour at dawn", at(2))
	update(t, s, func(tx parley.Tx) error {
		if _, err := tx.SetMessageCard(m.ID, `{"url":"https://example.com/secret"}`); err != nil {
			return err
		}
		if err := tx.AddMessageEdit(&parley.MessageEdit{MessageID: m.ID, Text: "the harbour at dawn", EditedAt: at(3)}); err != nil {
			return err
		}
		return tx.UpdateMessageText(m.ID, "the harbour at noon", at(3))
	})
	got := view(t, s, func(tx parley.Tx) (*parley.Message, error) { return tx.MessageByID(m.ID) })
	if got.Text != "the harbour at noon" || got.Card != `{"url":"https://example.com/secret"}` {
		t.Fatalf("read back %q %q", got.Text, got.Card)
	}
	if p := view(t, s, func(tx parley.Tx) (*parley.Message, error) { return tx.MessageByID(plain.ID) }); p.Text != plain.Text {
		t.Fatalf("plaintext row read back %q", p.Text)
	}
	used := view(t, s, func(tx parley.Tx) (bool, error) { return tx.DataKeyInUse(1) })
	if !used {
		t.Fatal("DataKeyInUse(1) = false after sealed writes")
	}
	if used := view(t, s, func(tx parley.Tx) (bool, error) { return tx.DataKeyInUse(2) }); used {
		t.Fatal("DataKeyInUse(2) = true: no key 2 yet")
	}

	// Without the keyring the sealed row does not read: it is stored sealed.
	kr.SetKeyring(nil)
	if _, err := viewErr(s, func(tx parley.Tx) (*parley.Message, error) { return tx.MessageByID(m.ID) }); !errors.Is(err, sealed.ErrNoKeyring) {
		t.Fatalf("sealed row without a keyring: %v", err)
	}
	if _, err := viewErr(s, func(tx parley.Tx) ([]*parley.MessageEdit, error) { return tx.MessageEdits(m.ID) }); !errors.Is(err, sealed.ErrNoKeyring) {
		t.Fatalf("sealed edit without a keyring: %v", err)
	}
	kr.SetKeyring(r)

	// Rotation: key 2 becomes current; ResealMessages moves every row.
	k2, err := sealed.NewDataKey(master, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Add(k2); err != nil {
		t.Fatal(err)
	}
	total := 0
	for after := int64(0); ; {
		var last int64
		var n int
		update(t, s, func(tx parley.Tx) error {
			var err error
			last, n, err = tx.ResealMessages(after, 1)
			return err
		})
		if last == 0 {
			break
		}
		total += n
		after = last
	}
	if total != 2 {
		t.Errorf("ResealMessages rewrote %d messages, want 2 (the plaintext one and the one under key 1)", total)
	}
	if used := view(t, s, func(tx parley.Tx) (bool, error) { return tx.DataKeyInUse(1) }); used {
		t.Error("key 1 still in use after resealing")
	}
	if used := view(t, s, func(tx parley.Tx) (bool, error) { return tx.DataKeyInUse(2) }); !used {
		t.Error("key 2 not in use after resealing")
	}
	// A keyring holding key 2 alone reads everything.
	only2, err := sealed.NewKeyring(master, []sealed.WrappedKey{k2})
	if err != nil {
		t.Fatal(err)
	}
	kr.SetKeyring(only2)
	got = view(t, s, func(tx parley.Tx) (*parley.Message, error) { return tx.MessageByID(m.ID) })
	edits := view(t, s, func(tx parley.Tx) ([]*parley.MessageEdit, error) { return tx.MessageEdits(m.ID) })
	p := view(t, s, func(tx parley.Tx) (*parley.Message, error) { return tx.MessageByID(plain.ID) })
	if got.Text != "the harbour at noon" || got.Card == "" || len(edits) != 1 || edits[0].Text != "the harbour at dawn" || p.Text != plain.Text {
		t.Fatalf("after rotation: %q %q %s %q", got.Text, got.Card, show(edits), p.Text)
	}
	// Search still finds the words of sealed bodies, old and new, and
	// not the words an edit replaced.
	mkUsers(t, s, "a")
	putMember(t, s, "c1", "a", parley.StatusActive, 0, 0)
	q := func(query string) parley.SearchFilter {
		return parley.SearchFilter{ViewerIDs: []string{"a"}, Query: query, Limit: 50}
	}
	wantFound(t, s, "noon", q("noon"), m.ID)
	wantFound(t, s, "dawn", q("dawn"))
	wantFound(t, s, "encryption", q("encryption"), plain.ID)
	// Unsending a sealed message removes it from the index.
	update(t, s, func(tx parley.Tx) error { return tx.PurgeMessage(m.ID, at(9)) })
	wantFound(t, s, "noon after unsend", q("noon"))
}
