package storetest

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/parleyhq/parley"
)

// listModel is what a test expects of one conversation in a user's list.
type listModel struct {
	id       string
	pinned   bool
	activity int
}

// wantListOrder fails unless the user's inbox lists exactly model, in
// list order, both in one page and page by page at several page sizes
// (each page after the previous page's last row).
func wantListOrder(t *testing.T, s parley.Store, userID string, model []listModel) {
	t.Helper()
	model = slices.Clone(model)
	slices.SortFunc(model, func(a, b listModel) int {
		bp, ap := 0, 0
		if a.pinned {
			ap = 1
		}
		if b.pinned {
			bp = 1
		}
		return cmp.Or(cmp.Compare(bp, ap), cmp.Compare(b.activity, a.activity), cmp.Compare(b.id, a.id))
	})
	want := []string{}
	for _, m := range model {
		want = append(want, m.id)
	}
	all := list(t, s, parley.ConversationFilter{UserID: userID, Folder: parley.FolderInbox})
	wantEqual(t, "one page", listIDs(all), want)
	for i, r := range all {
		if !r.Conversation.LastActivityAt.Equal(at(model[i].activity)) || (r.Member.PinnedAt != nil) != model[i].pinned {
			t.Fatalf("row %s: activity %v pinned %v, want %v %v", r.Conversation.ID, r.Conversation.LastActivityAt,
				r.Member.PinnedAt != nil, at(model[i].activity), model[i].pinned)
		}
	}
	for _, limit := range []int{1, 2, 3, 5} {
		var got []string
		f := parley.ConversationFilter{UserID: userID, Folder: parley.FolderInbox, Limit: limit}
		for page := 0; ; page++ {
			if page > len(want)+1 {
				t.Fatalf("limit %d: pagination does not end: %v", limit, got)
			}
			rows := list(t, s, f)
			if len(rows) > limit {
				t.Fatalf("limit %d: page %d has %d rows", limit, page, len(rows))
			}
			if len(rows) == 0 {
				break
			}
			got = append(got, listIDs(rows)...)
			last := rows[len(rows)-1]
			f.After = &parley.ConversationCursor{Pinned: last.Member.PinnedAt != nil,
				ActivityAt: last.Conversation.LastActivityAt, ID: last.Conversation.ID}
		}
		wantEqual(t, fmt.Sprintf("pages of %d joined", limit), got, want)
	}
}

// testConversationListLarge checks the list when it mixes conversations
// whose members carry the sort key with large groups listed from the
// conversation row (ListFromConversation): one order across both, cursors
// that cross from one to the other, activity written by AllocSeq,
// messages and UpdateConversation, members who join after the activity,
// and conversations moved from one way of listing to the other.
func testConversationListLarge(t *testing.T, s parley.Store) {
	mkUsers(t, s, "u", "o", "v")
	var model []listModel
	update(t, s, func(tx parley.Tx) error {
		for i := range 12 {
			id := fmt.Sprintf("c%02d", i)
			c := newConversation(id, "o")
			c.ListFromConversation = i%2 == 0
			c.LastActivityAt = at(i % 4) // ties across the two kinds
			if err := tx.CreateConversation(c); err != nil {
				return err
			}
			if _, err := tx.AllocSeq(id, at(i%4)); err != nil {
				return err
			}
			for _, uid := range []string{"o", "u"} {
				m := newMember(id, uid)
				if uid == "u" && (i == 3 || i == 4) {
					m.PinnedAt = ptr(at(i))
				}
				if err := tx.PutMember(m); err != nil {
					return err
				}
			}
			model = append(model, listModel{id, i == 3 || i == 4, i % 4})
		}
		return nil
	})
	got := view(t, s, func(tx parley.Tx) (*parley.Conversation, error) { return tx.ConversationByID("c00") })
	if !got.ListFromConversation {
		t.Fatal("ListFromConversation was not stored")
	}
	wantListOrder(t, s, "u", model)

	// New activity moves a conversation up, whichever way it is listed:
	// a message (AllocSeq and CreateMessage in one transaction), a bare
	// AllocSeq, and UpdateConversation.
	mkMessage(t, s, "c05", "o", "m1", "hello", at(100))
	model[5].activity = 100
	update(t, s, func(tx parley.Tx) error {
		_, err := tx.AllocSeq("c06", at(101))
		return err
	})
	model[6].activity = 101
	update(t, s, func(tx parley.Tx) error {
		c, err := tx.ConversationByID("c07")
		if err != nil {
			return err
		}
		c.LastActivityAt = at(99)
		return tx.UpdateConversation(c)
	})
	model[7].activity = 99
	wantListOrder(t, s, "u", model)

	// Moving conversations between the two ways keeps the order, and the
	// activity written after the move counts.
	update(t, s, func(tx parley.Tx) error {
		if err := tx.SetListFromConversation("c05", true); err != nil {
			return err
		}
		return tx.SetListFromConversation("c06", false)
	})
	got = view(t, s, func(tx parley.Tx) (*parley.Conversation, error) { return tx.ConversationByID("c06") })
	if got.ListFromConversation {
		t.Fatal("SetListFromConversation(c06, false) did not stick")
	}
	wantListOrder(t, s, "u", model)
	mkMessage(t, s, "c06", "o", "m2", "again", at(200))
	mkMessage(t, s, "c05", "o", "m3", "and again", at(201))
	model[5].activity, model[6].activity = 201, 200
	wantListOrder(t, s, "u", model)

	// A member who joins after the activity lists each conversation at
	// its current activity.
	update(t, s, func(tx parley.Tx) error {
		for _, id := range []string{"c05", "c06", "c09"} {
			if err := tx.PutMember(newMember(id, "v")); err != nil {
				return err
			}
		}
		return nil
	})
	wantListOrder(t, s, "v", []listModel{model[5], model[6], model[9]})

	// A rolled-back move changes nothing.
	err := s.Update(ctx, func(tx parley.Tx) error {
		if err := tx.SetListFromConversation("c06", true); err != nil {
			return err
		}
		return errBoom
	})
	if err != errBoom {
		t.Fatalf("Update: %v, want errBoom", err)
	}
	mkMessage(t, s, "c06", "o", "m4", "once more", at(300))
	model[6].activity = 300
	wantListOrder(t, s, "u", model)

	err = s.Update(ctx, func(tx parley.Tx) error { return tx.SetListFromConversation("nope", true) })
	wantCode(t, err, parley.ENotFound)
}

// testConversationMembers checks the batched membership lookup: only the
// conversations the user belongs to (whatever the status), each with the
// user's own membership, and nothing for none asked.
func testConversationMembers(t *testing.T, s parley.Store) {
	mkUsers(t, s, "u", "o")
	update(t, s, func(tx parley.Tx) error {
		for i, st := range []parley.MemberStatus{parley.StatusActive, parley.StatusLeft, "", parley.StatusDeclined} {
			id := fmt.Sprintf("c%d", i)
			if err := tx.CreateConversation(newConversation(id, "o")); err != nil {
				return err
			}
			if err := tx.PutMember(newMember(id, "o")); err != nil {
				return err
			}
			if st == "" {
				continue
			}
			m := newMember(id, "u")
			m.Status, m.ReadSeq = st, int64(i)
			if err := tx.PutMember(m); err != nil {
				return err
			}
		}
		_, err := tx.AllocSeq("c1", at(7))
		return err
	})
	got := view(t, s, func(tx parley.Tx) (map[string]parley.MemberConversation, error) {
		return tx.ConversationMembers("u", []string{"c0", "c1", "c2", "c3", "nope"})
	})
	ids := []string{}
	for id, r := range got {
		ids = append(ids, id)
		if r.Member.UserID != "u" || r.Member.ConversationID != id || r.Conversation.ID != id {
			t.Fatalf("%s: row %s / %s", id, show(r.Conversation), show(r.Member))
		}
	}
	slices.Sort(ids)
	wantEqual(t, "conversations", ids, []string{"c0", "c1", "c3"})
	want := newMember("c1", "u")
	want.Status, want.ReadSeq = parley.StatusLeft, 1
	wantEqual(t, "c1 member", got["c1"].Member, want)
	wantc := newConversation("c1", "o")
	wantc.LastSeq, wantc.LastActivityAt = 1, at(7)
	wantEqual(t, "c1 conversation", got["c1"].Conversation, wantc)
	got = view(t, s, func(tx parley.Tx) (map[string]parley.MemberConversation, error) {
		return tx.ConversationMembers("u", nil)
	})
	if len(got) != 0 {
		t.Fatalf("no ids: %v", got)
	}
	// In an update (where a store's cache may answer), after point reads
	// and after a write of a member row, the same as row by row.
	asked := []string{"c0", "c1", "c2", "c3", "nope"}
	oneByOne := func(tx parley.Tx) (map[string]parley.MemberConversation, error) {
		out := map[string]parley.MemberConversation{}
		for _, id := range asked {
			c, m, err := tx.ConversationMember(id, "u")
			if parley.IsNotFound(err) {
				continue
			} else if err != nil {
				return nil, err
			}
			out[id] = parley.MemberConversation{Conversation: c, Member: m}
		}
		return out, nil
	}
	update(t, s, func(tx parley.Tx) error {
		for round := range 2 {
			if round == 1 {
				m := newMember("c0", "u")
				m.ReadSeq, m.Folder = 5, parley.FolderArchived
				if err := tx.PutMember(m); err != nil {
					return err
				}
			}
			want, err := oneByOne(tx)
			if err != nil {
				return err
			}
			got, err := tx.ConversationMembers("u", asked)
			if err != nil {
				return err
			}
			if !reflect.DeepEqual(got, want) || len(got) != 3 || (round == 1) != (got["c0"].Member.ReadSeq == 5) {
				return fmt.Errorf("round %d in an update:\n got %s\nwant %s", round, show(got), show(want))
			}
		}
		return nil
	})
}

// testPeers checks the batched Peer: for each conversation its peer's
// membership and the block either way, as Peer answers it one by one, in
// a view and in an update (whose answers may come from a cache), after a
// block and a change of the member row in the same transaction; nothing
// for a peer who is not a member, nor for none asked.
func testPeers(t *testing.T, s parley.Store) {
	mkUsers(t, s, "u", "p0", "p1", "p2")
	update(t, s, func(tx parley.Tx) error {
		for i := range 3 {
			id, peer := fmt.Sprintf("c%d", i), fmt.Sprintf("p%d", i)
			if err := tx.CreateConversation(newConversation(id, "u")); err != nil {
				return err
			}
			if err := tx.PutMember(newMember(id, "u")); err != nil {
				return err
			}
			if i == 2 {
				continue // p2 is not a member of c2
			}
			m := newMember(id, peer)
			m.ReadSeq = int64(i + 1)
			if err := tx.PutMember(m); err != nil {
				return err
			}
		}
		_, err := tx.SetBlock("p1", "u", true, at(3))
		return err
	})
	asked := map[string]string{"c0": "p0", "c1": "p1", "c2": "p2", "nope": "p0"}
	one := func(tx parley.Tx) (map[string]parley.PeerMember, error) {
		out := map[string]parley.PeerMember{}
		for conv, peer := range asked {
			m, blocked, err := tx.Peer(conv, "u", peer)
			if parley.IsNotFound(err) {
				continue
			} else if err != nil {
				return nil, err
			}
			out[conv] = parley.PeerMember{Member: m, Blocked: blocked}
		}
		return out, nil
	}
	want := view(t, s, one)
	if len(want) != 2 || !want["c1"].Blocked || want["c0"].Blocked || want["c1"].Member.ReadSeq != 2 {
		t.Fatalf("Peer one by one: %s", show(want))
	}
	wantEqual(t, "Peers in a view", view(t, s, func(tx parley.Tx) (map[string]parley.PeerMember, error) {
		return tx.Peers("u", asked)
	}), want)
	update(t, s, func(tx parley.Tx) error {
		got, err := tx.Peers("u", asked)
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(got, want) {
			return fmt.Errorf("Peers in an update:\n got %s\nwant %s", show(got), show(want))
		}
		// Changes in the same transaction show in the next answer.
		if _, err := tx.SetBlock("u", "p0", true, at(4)); err != nil {
			return err
		}
		m := newMember("c0", "p0")
		m.ReadSeq, m.Folder = 9, parley.FolderArchived
		if err := tx.PutMember(m); err != nil {
			return err
		}
		if got, err = tx.Peers("u", asked); err != nil {
			return err
		}
		w, err := one(tx)
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(got, w) || !got["c0"].Blocked || got["c0"].Member.ReadSeq != 9 {
			return fmt.Errorf("Peers after changes:\n got %s\nwant %s", show(got), show(w))
		}
		return nil
	})
	got := view(t, s, func(tx parley.Tx) (map[string]parley.PeerMember, error) { return tx.Peers("u", nil) })
	if len(got) != 0 {
		t.Fatalf("none asked: %s", show(got))
	}
}
