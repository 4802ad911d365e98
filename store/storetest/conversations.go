package storetest

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/parleyhq/parley"
)

func testConversationCreateLookup(t *testing.T, s parley.Store) {
	c1 := mkConversation(t, s, "c1", "a")
	c2 := mkConversation(t, s, "c2", "b") // two groups: empty direct keys do not clash
	d := &parley.Conversation{
		ID: "d1", Kind: parley.ConversationDirect, CreatedBy: "a", CreatedAt: at(3),
		DirectKey: "a:b", LastActivityAt: at(4), MemberCount: 2,
	}
	update(t, s, func(tx parley.Tx) error { return tx.CreateConversation(d) })

	for _, want := range []*parley.Conversation{c1, c2, d} {
		got := view(t, s, func(tx parley.Tx) (*parley.Conversation, error) { return tx.ConversationByID(want.ID) })
		wantEqual(t, "ConversationByID("+want.ID+")", got, want)
	}
	got := view(t, s, func(tx parley.Tx) (*parley.Conversation, error) { return tx.DirectConversation("a:b") })
	wantEqual(t, "DirectConversation", got, d)

	wantNotFound(t, s, "ConversationByID(nope)", func(tx parley.Tx) (*parley.Conversation, error) {
		return tx.ConversationByID("nope")
	})
	wantNotFound(t, s, "DirectConversation(a:c)", func(tx parley.Tx) (*parley.Conversation, error) {
		return tx.DirectConversation("a:c")
	})
	wantNotFound(t, s, "DirectConversation(empty)", func(tx parley.Tx) (*parley.Conversation, error) {
		return tx.DirectConversation("")
	})
}

func testDirectKeyConflict(t *testing.T, s parley.Store) {
	direct := func(id string) *parley.Conversation {
		return &parley.Conversation{ID: id, Kind: parley.ConversationDirect, CreatedBy: "a",
			CreatedAt: at(0), DirectKey: "a:b", LastActivityAt: at(0), MemberCount: 2}
	}
	update(t, s, func(tx parley.Tx) error { return tx.CreateConversation(direct("d1")) })
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error { return tx.CreateConversation(direct("d2")) }), parley.EConflict)
	wantNotFound(t, s, "losing conversation", func(tx parley.Tx) (*parley.Conversation, error) {
		return tx.ConversationByID("d2")
	})
	got := view(t, s, func(tx parley.Tx) (*parley.Conversation, error) { return tx.DirectConversation("a:b") })
	wantEqual(t, "winner", got.ID, "d1")

	// Same id again: also a conflict.
	mkConversation(t, s, "c1", "a")
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error {
		return tx.CreateConversation(newConversation("c1", "b"))
	}), parley.EConflict)
}

func testConversationUpdate(t *testing.T, s parley.Store) {
	orig := mkConversation(t, s, "c1", "a")
	c := *orig
	c.Title, c.InvitePolicy, c.LastActivityAt, c.MemberCount = "new title", "admins", at(50), 7
	// Not saved by UpdateConversation:
	c.Kind, c.CreatedBy, c.CreatedAt, c.DirectKey, c.LastSeq = parley.ConversationDirect, "z", at(9), "x:y", 99
	update(t, s, func(tx parley.Tx) error { return tx.UpdateConversation(&c) })

	want := *orig
	want.Title, want.InvitePolicy, want.LastActivityAt, want.MemberCount = "new title", "admins", at(50), 7
	got := view(t, s, func(tx parley.Tx) (*parley.Conversation, error) { return tx.ConversationByID("c1") })
	wantEqual(t, "updated conversation", got, &want)

	gone := newConversation("nope", "a")
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error { return tx.UpdateConversation(gone) }), parley.ENotFound)
}

func testAllocSeq(t *testing.T, s parley.Store) {
	mkConversation(t, s, "c1", "a")
	mkConversation(t, s, "c2", "a")
	alloc := func(id string, when int) (int64, error) {
		var seq int64
		err := s.Update(ctx, func(tx parley.Tx) error {
			var err error
			seq, err = tx.AllocSeq(id, at(when))
			return err
		})
		return seq, err
	}
	for i, c := range []struct {
		id   string
		want int64
	}{{"c1", 1}, {"c1", 2}, {"c2", 1}, {"c1", 3}} {
		seq, err := alloc(c.id, 10+i)
		if err != nil || seq != c.want {
			t.Fatalf("AllocSeq(%s) #%d = %d, %v; want %d", c.id, i, seq, err, c.want)
		}
	}
	got := view(t, s, func(tx parley.Tx) (*parley.Conversation, error) { return tx.ConversationByID("c1") })
	if got.LastSeq != 3 || !got.LastActivityAt.Equal(at(13)) {
		t.Fatalf("after AllocSeq: LastSeq %d, LastActivityAt %v; want 3, %v", got.LastSeq, got.LastActivityAt, at(13))
	}
	_, err := alloc("nope", 1)
	wantCode(t, err, parley.ENotFound)
}

func testAllocSeqConcurrent(t *testing.T, s parley.Store) {
	const n = 50
	mkConversation(t, s, "c1", "a")
	var (
		mu   sync.Mutex
		seqs []int64
		wg   sync.WaitGroup
	)
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			err := s.Update(ctx, func(tx parley.Tx) error {
				seq, err := tx.AllocSeq("c1", at(i))
				if err != nil {
					return err
				}
				mu.Lock()
				seqs = append(seqs, seq)
				mu.Unlock()
				return nil
			})
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Update(AllocSeq): %v", err)
	}
	slices.Sort(seqs)
	want := make([]int64, n)
	for i := range want {
		want[i] = int64(i + 1)
	}
	wantEqual(t, "allocated seqs", seqs, want)
	got := view(t, s, func(tx parley.Tx) (*parley.Conversation, error) { return tx.ConversationByID("c1") })
	wantEqual(t, "LastSeq", got.LastSeq, int64(n))
}

// testAllocSeqAfterLookup allocates the way a send does, after looking
// the conversation up in the same update (a store may then count from
// what it knows and write the row later): a query of the same update
// sees the new last_seq, a failed update gives its seq back, and
// concurrent updates, half of them failing, leave a gap-free run.
func testAllocSeqAfterLookup(t *testing.T, s parley.Store) {
	c := newConversation("d1", "a")
	c.Kind, c.DirectKey, c.MemberCount = parley.ConversationDirect, "a|b", 2
	update(t, s, func(tx parley.Tx) error { return tx.CreateConversation(c) })
	alloc := func(when int, fail bool) (int64, error) {
		var seq int64
		err := s.Update(ctx, func(tx parley.Tx) error {
			if _, err := tx.ConversationByID("d1"); err != nil {
				return err
			}
			var err error
			if seq, err = tx.AllocSeq("d1", at(when)); err != nil {
				return err
			}
			// Another statement of the same update reads the row.
			got, err := tx.DirectConversation("a|b")
			if err != nil {
				return err
			}
			if got.LastSeq != seq || !got.LastActivityAt.Equal(at(when)) {
				return fmt.Errorf("in the update: LastSeq %d, LastActivityAt %v; want %d, %v", got.LastSeq, got.LastActivityAt, seq, at(when))
			}
			if fail {
				return errBoom
			}
			return nil
		})
		return seq, err
	}
	if seq, err := alloc(1, false); err != nil || seq != 1 {
		t.Fatalf("first: %d, %v", seq, err)
	}
	if _, err := alloc(2, true); !errors.Is(err, errBoom) {
		t.Fatalf("failing update: %v", err)
	}
	if seq, err := alloc(3, false); err != nil || seq != 2 {
		t.Fatalf("after a failed update: %d, %v; want 2", seq, err)
	}
	const n = 16
	var mu sync.Mutex
	var seqs []int64
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			seq, err := alloc(10+i, i%2 == 1)
			if i%2 == 1 {
				if !errors.Is(err, errBoom) {
					t.Errorf("update %d: %v", i, err)
				}
				return
			}
			if err != nil {
				t.Errorf("update %d: %v", i, err)
				return
			}
			mu.Lock()
			seqs = append(seqs, seq)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(seqs)
	want := make([]int64, n/2)
	for i := range want {
		want[i] = int64(3 + i)
	}
	wantEqual(t, "allocated seqs", seqs, want)
	got := view(t, s, func(tx parley.Tx) (*parley.Conversation, error) { return tx.ConversationByID("d1") })
	wantEqual(t, "LastSeq", got.LastSeq, int64(2+n/2))
}

// testMemberStates: every membership of the conversation, any status,
// with the four fields that decide what it may read, and nothing of other
// conversations.
func testMemberStates(t *testing.T, s parley.Store) {
	mkUsers(t, s, "a", "b", "c", "d")
	mkConversation(t, s, "c1", "a")
	mkConversation(t, s, "c2", "a")
	a := newMember("c1", "a")
	a.JoinedSeq = 3
	b := newMember("c1", "b")
	b.Status, b.JoinedSeq, b.LeftSeq = parley.StatusPending, 4, 5
	c := newMember("c1", "c")
	c.Status, c.JoinedSeq, c.LeftSeq = parley.StatusRemoved, 1, 9
	update(t, s, func(tx parley.Tx) error {
		for _, m := range []*parley.Member{a, b, c, newMember("c2", "d")} {
			if err := tx.PutMember(m); err != nil {
				return err
			}
		}
		return nil
	})
	got := view(t, s, func(tx parley.Tx) ([]parley.MemberState, error) { return tx.MemberStates("c1") })
	slices.SortFunc(got, func(x, y parley.MemberState) int { return cmp.Compare(x.UserID, y.UserID) })
	wantEqual(t, "MemberStates(c1)", got, []parley.MemberState{
		{UserID: "a", Status: parley.StatusActive, JoinedSeq: 3},
		{UserID: "b", Status: parley.StatusPending, JoinedSeq: 4, LeftSeq: 5},
		{UserID: "c", Status: parley.StatusRemoved, JoinedSeq: 1, LeftSeq: 9},
	})
	none := view(t, s, func(tx parley.Tx) ([]parley.MemberState, error) { return tx.MemberStates("nowhere") })
	wantEqual(t, "MemberStates of no conversation", none, []parley.MemberState{})

	// The revision grows with every change of what MemberStates returns,
	// and only then; a write transaction reads it as it stands.
	rev := func(conv string) int64 {
		t.Helper()
		return view(t, s, func(tx parley.Tx) (int64, error) { return tx.MembersRevision(conv) })
	}
	r1, r2 := rev("c1"), rev("c2")
	change := func(what string, m parley.Member, grows bool) {
		t.Helper()
		var inTx int64
		update(t, s, func(tx parley.Tx) error {
			if err := tx.PutMember(&m); err != nil {
				return err
			}
			var err error
			inTx, err = tx.MembersRevision("c1")
			return err
		})
		got := rev("c1")
		if grows && got <= r1 || !grows && got != r1 {
			t.Fatalf("%s: revision %d after %d, want it to grow: %v", what, got, r1, grows)
		}
		if inTx != got {
			t.Fatalf("%s: the write transaction read revision %d, then %d", what, inTx, got)
		}
		r1 = got
	}
	a2 := *a
	a2.ReadSeq, a2.Folder, a2.PinnedAt, a2.UpdatedAt = 7, parley.FolderArchived, ptr(at(3)), at(30)
	change("read marker, folder and pin", a2, false)
	b2 := *b
	b2.Status, b2.LeftSeq = parley.StatusActive, 0
	change("request accepted", b2, true)
	a2.LeftSeq, a2.Status = 8, parley.StatusLeft
	change("left", a2, true)
	a2.JoinedSeq, a2.LeftSeq, a2.Status = 9, 0, parley.StatusActive
	change("joined again", a2, true)
	change("a new member", *newMember("c1", "d"), true)
	change("the same row again", *newMember("c1", "d"), false)
	if got := rev("c2"); got != r2 {
		t.Fatalf("c2's revision moved with c1's members: %d → %d", r2, got)
	}
	if _, err := viewErr(s, func(tx parley.Tx) (int64, error) { return tx.MembersRevision("nowhere") }); !parley.IsNotFound(err) {
		t.Fatalf("MembersRevision of no conversation: %v, want ENotFound", err)
	}
}

func testMembers(t *testing.T, s parley.Store) {
	mkUsers(t, s, "a", "b", "c")
	mkConversation(t, s, "c1", "a")
	a := newMember("c1", "a")
	a.Role, a.PinnedAt, a.MutedUntil = parley.RoleOwner, ptr(at(7)), ptr(at(8))
	a.ReadSeq, a.JoinedSeq, a.InvitedBy, a.UpdatedAt = 4, 1, "x", at(9)
	b := newMember("c1", "b")
	b.JoinedAt, b.Status, b.Folder = at(2), parley.StatusPending, parley.FolderRequests
	c := newMember("c1", "c")
	c.JoinedAt = at(1)
	update(t, s, func(tx parley.Tx) error {
		for _, m := range []*parley.Member{a, b, c} {
			if err := tx.PutMember(m); err != nil {
				return err
			}
		}
		return nil
	})
	got := view(t, s, func(tx parley.Tx) (*parley.Member, error) { return tx.Member("c1", "a") })
	wantEqual(t, "Member(a)", got, a)
	list := view(t, s, func(tx parley.Tx) ([]*parley.Member, error) { return tx.Members("c1") })
	wantEqual(t, "Members oldest first", list, []*parley.Member{a, c, b})

	// Replace: every field is overwritten, including nil times.
	a2 := *a
	a2.Role, a2.Status, a2.Folder = parley.RoleAdmin, parley.StatusLeft, parley.FolderArchived
	a2.PinnedAt, a2.MutedUntil, a2.LeftSeq, a2.ReadSeq, a2.UpdatedAt = nil, nil, 5, 5, at(20)
	update(t, s, func(tx parley.Tx) error { return tx.PutMember(&a2) })
	got = view(t, s, func(tx parley.Tx) (*parley.Member, error) { return tx.Member("c1", "a") })
	wantEqual(t, "replaced Member(a)", got, &a2)
	list = view(t, s, func(tx parley.Tx) ([]*parley.Member, error) { return tx.Members("c1") })
	if len(list) != 3 {
		t.Fatalf("Members after replace: %d rows", len(list))
	}

	// ConversationMember joins the two; Peer adds the block between users.
	type cm struct {
		C *parley.Conversation
		M *parley.Member
	}
	gotCM := view(t, s, func(tx parley.Tx) (cm, error) {
		c, m, err := tx.ConversationMember("c1", "c")
		return cm{c, m}, err
	})
	wantConv := view(t, s, func(tx parley.Tx) (*parley.Conversation, error) { return tx.ConversationByID("c1") })
	wantEqual(t, "ConversationMember(c1, c)", gotCM, cm{wantConv, c})
	_, err := viewErr(s, func(tx parley.Tx) (*parley.Member, error) {
		_, m, err := tx.ConversationMember("c1", "nobody")
		return m, err
	})
	wantCode(t, err, parley.ENotFound)
	type peer struct {
		M       *parley.Member
		Blocked bool
	}
	peerOf := func(user, other string) peer {
		return view(t, s, func(tx parley.Tx) (peer, error) {
			m, blocked, err := tx.Peer("c1", user, other)
			return peer{m, blocked}, err
		})
	}
	wantEqual(t, "Peer(c1, b, c)", peerOf("b", "c"), peer{c, false})
	update(t, s, func(tx parley.Tx) error { _, err := tx.SetBlock("c", "b", true, at(30)); return err })
	wantEqual(t, "Peer(c1, b, c) after c blocks b", peerOf("b", "c"), peer{c, true})
	wantEqual(t, "Peer(c1, c, b) after c blocks b", peerOf("c", "b"), peer{b, true})
	_, err = viewErr(s, func(tx parley.Tx) (*parley.Member, error) {
		m, _, err := tx.Peer("c1", "b", "nobody")
		return m, err
	})
	wantCode(t, err, parley.ENotFound)

	wantNotFound(t, s, "Member(c1, nobody)", func(tx parley.Tx) (*parley.Member, error) { return tx.Member("c1", "nobody") })
	wantNotFound(t, s, "Member(nope, a)", func(tx parley.Tx) (*parley.Member, error) { return tx.Member("nope", "a") })
	list = view(t, s, func(tx parley.Tx) ([]*parley.Member, error) { return tx.Members("nope") })
	if len(list) != 0 {
		t.Fatalf("Members(nope) = %s", show(list))
	}
}

// listSpec is one conversation of a listing test, seen by user "u".
type listSpec struct {
	id, createdBy string
	status        parley.MemberStatus // "" means u is not a member
	folder        parley.Folder
	pinned        int // pinned at at(pinned) when > 0
	activity      int
	messages      bool // whether the conversation has a message
}

// mkListing creates users u and o and the conversations of specs; o is
// an active member of every one.
func mkListing(t *testing.T, s parley.Store, specs []listSpec) {
	t.Helper()
	mkUsers(t, s, "u", "o")
	update(t, s, func(tx parley.Tx) error {
		for _, sp := range specs {
			c := newConversation(sp.id, sp.createdBy)
			c.LastActivityAt = at(sp.activity)
			if err := tx.CreateConversation(c); err != nil {
				return err
			}
			if sp.messages {
				if _, err := tx.AllocSeq(sp.id, at(sp.activity)); err != nil {
					return err
				}
			}
			if err := tx.PutMember(newMember(sp.id, "o")); err != nil {
				return err
			}
			if sp.status == "" {
				continue
			}
			m := newMember(sp.id, "u")
			m.Status, m.Folder = sp.status, sp.folder
			if sp.pinned > 0 {
				m.PinnedAt = ptr(at(sp.pinned))
			}
			if err := tx.PutMember(m); err != nil {
				return err
			}
		}
		return nil
	})
}

func listIDs(rows []parley.MemberConversation) []string {
	ids := []string{}
	for _, r := range rows {
		ids = append(ids, r.Conversation.ID)
	}
	return ids
}

func list(t *testing.T, s parley.Store, f parley.ConversationFilter) []parley.MemberConversation {
	t.Helper()
	return view(t, s, func(tx parley.Tx) ([]parley.MemberConversation, error) { return tx.Conversations(f) })
}

func testConversationList(t *testing.T, s parley.Store) {
	const (
		active   = parley.StatusActive
		inbox    = parley.FolderInbox
		requests = parley.FolderRequests
		archived = parley.FolderArchived
	)
	mkListing(t, s, []listSpec{
		{"c01", "o", active, inbox, 0, 10, true},
		{"c02", "o", active, inbox, 1, 5, true},
		{"c03", "o", active, inbox, 0, 20, true},
		{"c04", "u", active, inbox, 0, 30, false},                  // empty but mine: shown
		{"c05", "o", active, inbox, 0, 40, false},                  // empty, not mine: hidden
		{"c06", "o", parley.StatusDeclined, inbox, 0, 50, true},    // declined: hidden
		{"c07", "o", parley.StatusPending, requests, 0, 15, true},  // a request
		{"c08", "o", active, archived, 0, 25, true},                // archived
		{"c09", "o", active, inbox, 0, 20, true},                   // ties with c03: higher id first
		{"c10", "o", active, inbox, 2, 1, true},                    // pinned, older activity
		{"c11", "o", parley.StatusLeft, inbox, 0, 12, true},        // left: still listed
		{"c12", "o", "", inbox, 0, 60, true},                       // not a member: hidden
		{"c13", "o", parley.StatusDeclined, requests, 0, 70, true}, // declined request: hidden
		{"c14", "u", active, archived, 0, 3, false},                // archived, mine
		{"c15", "o", parley.StatusPending, requests, 0, 16, false}, // empty request: hidden
		{"c16", "o", parley.StatusRemoved, inbox, 3, 2, true},      // removed, pinned: listed
	})
	cases := []struct {
		folder parley.Folder
		want   []string
	}{
		{inbox, []string{"c02", "c16", "c10", "c04", "c09", "c03", "c11", "c01"}},
		{requests, []string{"c07"}},
		{archived, []string{"c08", "c14"}},
	}
	for _, tc := range cases {
		rows := list(t, s, parley.ConversationFilter{UserID: "u", Folder: tc.folder})
		wantEqual(t, fmt.Sprintf("Conversations(%s)", tc.folder), listIDs(rows), tc.want)
		for _, r := range rows {
			if r.Member == nil || r.Member.UserID != "u" || r.Member.ConversationID != r.Conversation.ID {
				t.Fatalf("row %s carries member %s", r.Conversation.ID, show(r.Member))
			}
		}
	}

	rows := list(t, s, parley.ConversationFilter{UserID: "u", Folder: inbox, Limit: 1})
	want := newConversation("c02", "o")
	want.LastSeq, want.LastActivityAt = 1, at(5)
	wantEqual(t, "first row conversation", rows[0].Conversation, want)
	m := newMember("c02", "u")
	m.PinnedAt = ptr(at(1))
	wantEqual(t, "first row member", rows[0].Member, m)

	rows = list(t, s, parley.ConversationFilter{UserID: "nobody", Folder: inbox})
	if len(rows) != 0 {
		t.Fatalf("Conversations(nobody) = %v", listIDs(rows))
	}
}

func testConversationListPagination(t *testing.T, s parley.Store) {
	const n = 23
	var specs []listSpec
	for i := range n {
		sp := listSpec{id: fmt.Sprintf("c%02d", i), createdBy: "o", status: parley.StatusActive,
			folder: parley.FolderInbox, activity: i % 5, messages: true}
		if i%7 == 0 {
			sp.pinned = i + 1
		}
		specs = append(specs, sp)
	}
	mkListing(t, s, specs)

	// The expected order, computed here.
	slices.SortFunc(specs, func(a, b listSpec) int {
		return cmp.Or(
			cmp.Compare(min(b.pinned, 1), min(a.pinned, 1)),
			cmp.Compare(b.activity, a.activity),
			cmp.Compare(b.id, a.id))
	})
	var want []string
	for _, sp := range specs {
		want = append(want, sp.id)
	}
	all := list(t, s, parley.ConversationFilter{UserID: "u", Folder: parley.FolderInbox})
	wantEqual(t, "full listing (default limit)", listIDs(all), want)

	for _, limit := range []int{1, 2, 3, 5, 22, 23, 24} {
		t.Run(fmt.Sprint("limit", limit), func(t *testing.T) {
			var got []string
			f := parley.ConversationFilter{UserID: "u", Folder: parley.FolderInbox, Limit: limit}
			for page := 0; ; page++ {
				if page > n+1 {
					t.Fatalf("pagination does not end: %v", got)
				}
				rows := list(t, s, f)
				if len(rows) > limit {
					t.Fatalf("page %d has %d rows, limit %d", page, len(rows), limit)
				}
				if len(rows) == 0 {
					break
				}
				got = append(got, listIDs(rows)...)
				last := rows[len(rows)-1]
				f.After = &parley.ConversationCursor{
					Pinned:     last.Member.PinnedAt != nil,
					ActivityAt: last.Conversation.LastActivityAt,
					ID:         last.Conversation.ID,
				}
			}
			wantEqual(t, "pages joined", got, want)
		})
	}
}

// testReadYourWrites checks that reads inside an update see that update's
// writes and those of earlier updates, and never a rolled-back write: a
// store that caches rows for its writer must keep them exact.
func testReadYourWrites(t *testing.T, s parley.Store) {
	mkUsers(t, s, "a", "b")
	mkConversation(t, s, "c1", "a")
	update(t, s, func(tx parley.Tx) error {
		for _, u := range []string{"a", "b"} {
			if err := tx.PutMember(newMember("c1", u)); err != nil {
				return err
			}
		}
		return nil
	})
	// Warm any cache, then change every cached thing in the same update.
	update(t, s, func(tx parley.Tx) error {
		c, m, err := tx.ConversationMember("c1", "a")
		if err != nil {
			return err
		}
		if _, _, err := tx.Peer("c1", "a", "b"); err != nil {
			return err
		}
		m.Status, m.ReadSeq = parley.StatusLeft, 9 // changing the copy changes nothing stored
		seq, err := tx.AllocSeq("c1", at(50))
		if err != nil {
			return err
		}
		c2, m2, err := tx.ConversationMember("c1", "a")
		if err != nil {
			return err
		}
		if c2.LastSeq != seq || c2.LastSeq == c.LastSeq || !c2.LastActivityAt.Equal(at(50)) {
			t.Errorf("after AllocSeq: last_seq %d activity %v", c2.LastSeq, c2.LastActivityAt)
		}
		if m2.Status != parley.StatusActive || m2.ReadSeq != 0 {
			t.Errorf("a caller's edit of a returned member leaked into the store: %+v", m2)
		}
		m2.ReadSeq = 3
		if err := tx.PutMember(m2); err != nil {
			return err
		}
		if _, m3, err := tx.ConversationMember("c1", "a"); err != nil || m3.ReadSeq != 3 {
			t.Errorf("after PutMember: %+v %v", m3, err)
		}
		if _, err := tx.SetBlock("b", "a", true, at(51)); err != nil {
			return err
		}
		if _, blocked, err := tx.Peer("c1", "a", "b"); err != nil || !blocked {
			t.Errorf("Peer after SetBlock: blocked=%v err=%v", blocked, err)
		}
		c2.Title, c2.MemberCount = "renamed", 7
		if err := tx.UpdateConversation(c2); err != nil {
			return err
		}
		if c3, err := tx.ConversationByID("c1"); err != nil || c3.Title != "renamed" || c3.MemberCount != 7 {
			t.Errorf("ConversationByID after update: %+v %v", c3, err)
		}
		return nil
	})
	// A failed update's writes are not seen by the next one.
	err := s.Update(ctx, func(tx parley.Tx) error {
		_, m, err := tx.ConversationMember("c1", "a")
		if err != nil {
			return err
		}
		m.ReadSeq = 99
		if err := tx.PutMember(m); err != nil {
			return err
		}
		if _, err := tx.SetBlock("b", "a", false, at(52)); err != nil {
			return err
		}
		if _, err := tx.AllocSeq("c1", at(53)); err != nil {
			return err
		}
		if _, _, err := tx.ConversationMember("c1", "a"); err != nil { // re-cache the doomed rows
			return err
		}
		if _, _, err := tx.Peer("c1", "a", "b"); err != nil {
			return err
		}
		return errors.New("roll me back")
	})
	if err == nil {
		t.Fatal("failing update returned nil")
	}
	update(t, s, func(tx parley.Tx) error {
		c, m, err := tx.ConversationMember("c1", "a")
		if err != nil {
			return err
		}
		if m.ReadSeq != 3 || c.LastSeq != 1 {
			t.Errorf("rolled-back writes visible: read_seq %d last_seq %d", m.ReadSeq, c.LastSeq)
		}
		if _, blocked, err := tx.Peer("c1", "a", "b"); err != nil || !blocked {
			t.Errorf("rolled-back unblock visible: blocked=%v err=%v", blocked, err)
		}
		return nil
	})
}

func testCountConversationsCreatedBy(t *testing.T, s parley.Store) {
	update(t, s, func(tx parley.Tx) error {
		for i := range 5 {
			c := newConversation(fmt.Sprint("c", i), "a")
			c.CreatedAt = at(i * 10)
			if err := tx.CreateConversation(c); err != nil {
				return err
			}
		}
		return tx.CreateConversation(newConversation("b1", "b"))
	})
	for _, tc := range []struct {
		since, max, want int
	}{{0, 100, 5}, {10, 100, 4}, {41, 100, 0}, {0, 3, 3}} {
		got := view(t, s, func(tx parley.Tx) (int, error) { return tx.CountConversationsCreatedBy("a", at(tc.since), tc.max) })
		if got != tc.want {
			t.Errorf("CountConversationsCreatedBy(a, %d, max %d) = %d, want %d", tc.since, tc.max, got, tc.want)
		}
	}
}
