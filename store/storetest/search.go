package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/parleyhq/parley"
)

// search runs SearchMessages and returns the ids found, in order.
func search(t *testing.T, s parley.Store, f parley.SearchFilter) []string {
	t.Helper()
	hits := view(t, s, func(tx parley.Tx) ([]parley.SearchHit, error) { return tx.SearchMessages(f) })
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = h.Message.ID
	}
	return ids
}

// wantFound fails unless the search finds exactly want, in any order.
func wantFound(t *testing.T, s parley.Store, what string, f parley.SearchFilter, want ...string) {
	t.Helper()
	got := search(t, s, f)
	slices.Sort(got)
	want = append([]string{}, want...)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s: found %v, want %v", what, got, want)
	}
}

// putMember stores a membership of one user in one conversation.
func putMember(t *testing.T, s parley.Store, convID, userID string, status parley.MemberStatus, joinedSeq, leftSeq int64) {
	t.Helper()
	m := newMember(convID, userID)
	m.Status, m.JoinedSeq, m.LeftSeq = status, joinedSeq, leftSeq
	update(t, s, func(tx parley.Tx) error { return tx.PutMember(m) })
}

// testSearchVisibility checks that a search finds only what its viewers
// may read: Member.CanRead, per status, and nothing of declined requests
// or of conversations they are not in.
func testSearchVisibility(t *testing.T, s parley.Store) {
	mkUsers(t, s, "a", "active", "late", "left", "removed", "invitee", "requested", "declined", "outsider")
	mkConversation(t, s, "c1", "a")
	var ids []string
	for i := 1; i <= 6; i++ {
		ids = append(ids, mkMessage(t, s, "c1", "a", "", fmt.Sprintf("apple number %d", i), at(i)).ID)
	}
	putMember(t, s, "c1", "a", parley.StatusActive, 0, 0)
	putMember(t, s, "c1", "active", parley.StatusActive, 0, 0)
	putMember(t, s, "c1", "late", parley.StatusActive, 2, 0)       // joined after message 2
	putMember(t, s, "c1", "left", parley.StatusLeft, 0, 3)         // left after message 3
	putMember(t, s, "c1", "removed", parley.StatusRemoved, 1, 4)   // saw messages 2 to 4
	putMember(t, s, "c1", "invitee", parley.StatusPending, 0, 1)   // group invite: previews message 1
	putMember(t, s, "c1", "requested", parley.StatusPending, 0, 0) // a message request
	putMember(t, s, "c1", "declined", parley.StatusDeclined, 0, 0)

	q := func(viewers ...string) parley.SearchFilter {
		return parley.SearchFilter{ViewerIDs: viewers, Query: "apple", Limit: 50}
	}
	wantFound(t, s, "active", q("active"), ids...)
	wantFound(t, s, "late", q("late"), ids[2:]...)
	wantFound(t, s, "left", q("left"), ids[:3]...)
	wantFound(t, s, "removed", q("removed"), ids[1:4]...)
	wantFound(t, s, "invitee", q("invitee"), ids[:1]...)
	wantFound(t, s, "requested", q("requested"), ids...)
	wantFound(t, s, "declined", q("declined"))
	wantFound(t, s, "outsider", q("outsider"))
	wantFound(t, s, "no viewers", q())
	// Several viewers see the union of what each sees, each message once.
	wantFound(t, s, "left+late", q("left", "late", "outsider"), ids...)
	wantFound(t, s, "invitee+removed", q("invitee", "removed"), ids[:4]...)
	if got := search(t, s, q("left", "late")); len(got) != len(ids) {
		t.Errorf("left+late: %d hits for %d messages", len(got), len(ids))
	}
}

// testSearchIndex checks that the index follows every change of a
// message: edits, unsends, system messages, and that only the live text
// is found.
func testSearchIndex(t *testing.T, s parley.Store) {
	mkUsers(t, s, "a")
	mkConversation(t, s, "c1", "a")
	putMember(t, s, "c1", "a", parley.StatusActive, 0, 0)
	q := func(query string) parley.SearchFilter {
		return parley.SearchFilter{ViewerIDs: []string{"a"}, Query: query, Limit: 50}
	}
	edited := mkMessage(t, s, "c1", "a", "", "meet at the harbour", at(1))
	unsent := mkMessage(t, s, "c1", "a", "", "my locker code is zebra", at(2))
	kept := mkMessage(t, s, "c1", "a", "", "zebra crossing near the harbour", at(3))
	sys := &parley.Message{ID: "sys", ConversationID: "c1", SenderID: "a", Kind: parley.MessageSystem,
		Text: "zebra joined", System: `{"action":"member_added"}`, CreatedAt: at(4)}
	update(t, s, func(tx parley.Tx) error {
		var err error
		if sys.Seq, err = tx.AllocSeq("c1", at(4)); err != nil {
			return err
		}
		return tx.CreateMessage(sys)
	})
	wantFound(t, s, "harbour", q("harbour"), edited.ID, kept.ID)
	wantFound(t, s, "zebra", q("zebra"), unsent.ID, kept.ID)

	update(t, s, func(tx parley.Tx) error {
		if err := tx.AddMessageEdit(&parley.MessageEdit{MessageID: edited.ID, Text: edited.Text, EditedAt: at(5)}); err != nil {
			return err
		}
		return tx.UpdateMessageText(edited.ID, "meet at the station", at(5))
	})
	wantFound(t, s, "old text after edit", q("harbour"), kept.ID)
	wantFound(t, s, "new text after edit", q("station"), edited.ID)
	// Editing again (same words) keeps one entry.
	update(t, s, func(tx parley.Tx) error { return tx.UpdateMessageText(edited.ID, "meet at the station", at(6)) })
	wantFound(t, s, "same text again", q("station"), edited.ID)

	update(t, s, func(tx parley.Tx) error { return tx.PurgeMessage(unsent.ID, at(7)) })
	wantFound(t, s, "unsent", q("locker"))
	wantFound(t, s, "unsent shares a word", q("zebra"), kept.ID)
	update(t, s, func(tx parley.Tx) error { return tx.PurgeMessage(unsent.ID, at(8)) })
	wantFound(t, s, "unsent twice", q("zebra"), kept.ID)

	// A media message is found by its caption; one without is not.
	img := &parley.Message{ID: "img", ConversationID: "c1", SenderID: "a", Kind: parley.MessageImage,
		Text: "sunset over the harbour", CreatedAt: at(9)}
	bare := &parley.Message{ID: "bare", ConversationID: "c1", SenderID: "a", Kind: parley.MessageImage, CreatedAt: at(10)}
	update(t, s, func(tx parley.Tx) error {
		for _, m := range []*parley.Message{img, bare} {
			var err error
			if m.Seq, err = tx.AllocSeq("c1", m.CreatedAt); err != nil {
				return err
			}
			if err := tx.CreateMessage(m); err != nil {
				return err
			}
		}
		return nil
	})
	wantFound(t, s, "caption", q("sunset"), img.ID)
	wantFound(t, s, "no word", q("  "))

	// Case folds in every script, both ways; Latin accents fold too.
	ru := mkMessage(t, s, "c1", "a", "", "ПРИВЕТ из Москвы", at(11))
	de := mkMessage(t, s, "c1", "a", "", "Grüße ÜBER alles", at(12))
	el := mkMessage(t, s, "c1", "a", "", "Καλημέρα ΑΘΗΝΑ", at(13))
	wantFound(t, s, "Cyrillic capitals, asked in lower case", q("привет"), ru.ID)
	wantFound(t, s, "Cyrillic lower case, asked in capitals", q("МОСКВЫ"), ru.ID)
	wantFound(t, s, "Latin capitals with an accent, asked without", q("uber"), de.ID)
	wantFound(t, s, "Latin, asked in capitals with the accent", q("GRÜßE"), de.ID)
	wantFound(t, s, "Greek capitals, asked in lower case", q("αθηνα"), el.ID)
	wantFound(t, s, "a prefix of Cyrillic capitals", q("прив"), ru.ID)
}

// testSearchFilters checks the conversation, sender, time, kind and
// position filters.
func testSearchFilters(t *testing.T, s parley.Store) {
	mkUsers(t, s, "a", "b", "biz", "agent")
	mkConversation(t, s, "c1", "a")
	mkConversation(t, s, "c2", "a")
	for _, c := range []string{"c1", "c2"} {
		putMember(t, s, c, "a", parley.StatusActive, 0, 0)
	}
	m1 := mkMessage(t, s, "c1", "a", "", "invoice for march", at(10))
	m2 := mkMessage(t, s, "c1", "b", "", "invoice for april", at(20))
	m3 := mkMessage(t, s, "c2", "a", "", "invoice for may", at(30))
	byAgent := &parley.Message{ID: "by-agent", ConversationID: "c2", SenderID: "biz", AgentID: "agent",
		Kind: parley.MessageText, Text: "invoice attached", CreatedAt: at(40)}
	file := &parley.Message{ID: "file", ConversationID: "c2", SenderID: "b", Kind: parley.MessageFile,
		Text: "invoice.pdf", CreatedAt: at(50)}
	update(t, s, func(tx parley.Tx) error {
		for _, m := range []*parley.Message{byAgent, file} {
			var err error
			if m.Seq, err = tx.AllocSeq("c2", m.CreatedAt); err != nil {
				return err
			}
			if err := tx.CreateMessage(m); err != nil {
				return err
			}
		}
		return nil
	})
	base := parley.SearchFilter{ViewerIDs: []string{"a"}, Query: "invoice", Limit: 50}
	with := func(fn func(f *parley.SearchFilter)) parley.SearchFilter {
		f := base
		fn(&f)
		return f
	}
	wantFound(t, s, "all", base, m1.ID, m2.ID, m3.ID, byAgent.ID, file.ID)
	wantFound(t, s, "conversation", with(func(f *parley.SearchFilter) { f.ConversationID = "c1" }), m1.ID, m2.ID)
	wantFound(t, s, "other conversation", with(func(f *parley.SearchFilter) { f.ConversationID = "nope" }))
	wantFound(t, s, "sender", with(func(f *parley.SearchFilter) { f.SenderID = "b" }), m2.ID, file.ID)
	wantFound(t, s, "agent", with(func(f *parley.SearchFilter) { f.SenderID = "agent" }), byAgent.ID)
	wantFound(t, s, "business", with(func(f *parley.SearchFilter) { f.SenderID = "biz" }), byAgent.ID)
	wantFound(t, s, "since", with(func(f *parley.SearchFilter) { f.Since = at(20) }), m2.ID, m3.ID, byAgent.ID, file.ID)
	wantFound(t, s, "until", with(func(f *parley.SearchFilter) { f.Until = at(20) }), m1.ID)
	wantFound(t, s, "since and until", with(func(f *parley.SearchFilter) { f.Since, f.Until = at(15), at(35) }), m2.ID, m3.ID)
	wantFound(t, s, "kinds", with(func(f *parley.SearchFilter) {
		f.Kinds = []parley.MessageKind{parley.MessageImage, parley.MessageFile}
	}), file.ID)
	wantFound(t, s, "max position", with(func(f *parley.SearchFilter) { f.MaxPos = m2.Pos }), m1.ID, m2.ID)
	wantFound(t, s, "all filters", with(func(f *parley.SearchFilter) {
		f.ConversationID, f.SenderID, f.Since, f.Until = "c2", "a", at(1), at(100)
	}), m3.ID)
}

// testSearchRelevance checks the order of a fixed corpus, prefixes,
// folding, and that no typed character acts as query syntax.
func testSearchRelevance(t *testing.T, s parley.Store) {
	mkUsers(t, s, "a")
	mkConversation(t, s, "c1", "a")
	putMember(t, s, "c1", "a", parley.StatusActive, 0, 0)
	msg := map[string]string{}
	for i, text := range []string{
		"the red car is parked near the house",                              // the phrase
		"a red bicycle and a blue car",                                      // scattered
		"red red red car car car, a red car again and the red car",          // many
		"cars are red sometimes",                                            // prefix on car only
		"nothing to see here",                                               // no match
		"Le café était fermé, mais le CAFÉ d'en face était ouvert",          // folding
		"ask about NEAR(one two) and \"quotes\" or -minus or col:on or a*b", // syntax
		"the zebra crossing",                                                // rare word
	} {
		msg[fmt.Sprint(i)] = mkMessage(t, s, "c1", "a", "", text, at(i+1)).ID
	}
	q := func(query string) parley.SearchFilter {
		return parley.SearchFilter{ViewerIDs: []string{"a"}, Query: query, Limit: 50, Order: parley.SearchRelevance}
	}
	got := search(t, s, q("red car"))
	// Every hit holds both words ("car" as a prefix: "cars").
	want := []string{msg["0"], msg["1"], msg["2"], msg["3"]}
	if g := slices.Sorted(slices.Values(got)); !slices.Equal(g, slices.Sorted(slices.Values(want))) {
		t.Fatalf("red car: found %v, want %v", got, want)
	}
	rank := func(id string) int { return slices.Index(got, id) }
	if rank(msg["0"]) > rank(msg["1"]) {
		t.Errorf("red car: the phrase (%s) ranks below scattered words (%s): %v", msg["0"], msg["1"], got)
	}
	if rank(msg["2"]) != 0 {
		t.Errorf("red car: the message saying it most often is not first: %v", got)
	}

	wantFound(t, s, "prefix on the last word", q("zeb"), msg["7"])
	wantFound(t, s, "no prefix on earlier words", q("zeb crossing"))
	wantFound(t, s, "short last word is whole", q("ca"))
	wantFound(t, s, "case and accents", q("Cafe"), msg["5"])
	wantFound(t, s, "accents in the query", q("FERMÉ"), msg["5"])
	for _, typed := range []string{`NEAR(one two)`, `"quotes`, `-minus`, `col:on`, `a*b`, `one OR two`, `*`, `"`, `(`, `'`, `AND`, `NOT near`} {
		if _, err := viewErr(s, func(tx parley.Tx) ([]parley.SearchHit, error) { return tx.SearchMessages(q(typed)) }); err != nil {
			t.Errorf("query %q: %v", typed, err)
		}
	}
	wantFound(t, s, "operators are words", q("near one two"), msg["6"])
	wantFound(t, s, "OR is a word", q("zebra OR house"))
	wantFound(t, s, "colon splits", q("col:on"), msg["6"])

	// Scores come back best first.
	hits := view(t, s, func(tx parley.Tx) ([]parley.SearchHit, error) { return tx.SearchMessages(q("red car")) })
	for i := 1; i < len(hits); i++ {
		if hits[i].Score > hits[i-1].Score {
			t.Errorf("scores not descending: %v then %v", hits[i-1].Score, hits[i].Score)
		}
	}
}

// testSearchPagination pages through both orders with cursors and checks
// that every hit comes once, in the order of one big page.
func testSearchPagination(t *testing.T, s parley.Store) {
	mkUsers(t, s, "a")
	mkConversation(t, s, "c1", "a")
	putMember(t, s, "c1", "a", parley.StatusActive, 0, 0)
	words := []string{"tea", "tea tea", "tea and cake", "green tea leaves", "tea"}
	var all []string
	for i := range 23 {
		// Repeated texts give equal scores: the position breaks the tie.
		all = append(all, mkMessage(t, s, "c1", "a", "", words[i%len(words)]+" time", at(i)).ID)
	}
	for _, order := range []parley.SearchOrder{parley.SearchRelevance, parley.SearchRecent} {
		f := parley.SearchFilter{ViewerIDs: []string{"a"}, Query: "tea", Order: order, Limit: 100}
		full := view(t, s, func(tx parley.Tx) ([]parley.SearchHit, error) { return tx.SearchMessages(f) })
		if len(full) != len(all) {
			t.Fatalf("%s: %d hits, want %d", order, len(full), len(all))
		}
		if order == parley.SearchRecent {
			for i := 1; i < len(full); i++ {
				if full[i].Message.Pos >= full[i-1].Message.Pos {
					t.Fatalf("recent: not newest first at %d", i)
				}
			}
		}
		for _, size := range []int{1, 4, 7} {
			f.Limit, f.After = size, nil
			var paged []parley.SearchHit
			for pages := 0; ; pages++ {
				if pages > len(all) {
					t.Fatalf("%s/%d: pagination does not end", order, size)
				}
				page := view(t, s, func(tx parley.Tx) ([]parley.SearchHit, error) { return tx.SearchMessages(f) })
				if len(page) > size {
					t.Fatalf("%s/%d: page of %d", order, size, len(page))
				}
				paged = append(paged, page...)
				if len(page) < size {
					break
				}
				last := page[len(page)-1]
				f.After = &parley.SearchCursor{Score: last.Score, Pos: last.Message.Pos}
			}
			if len(paged) != len(full) {
				t.Fatalf("%s/%d: paged %d hits, want %d", order, size, len(paged), len(full))
			}
			for i := range full {
				if paged[i].Message.ID != full[i].Message.ID {
					t.Fatalf("%s/%d: hit %d is %s, want %s", order, size, i, paged[i].Message.ID, full[i].Message.ID)
				}
			}
		}
	}
}

// testSearchWindow checks that a relevance search with a window ranks
// only the newest matches (other filters applied first), page after page,
// and says whether its window was full.
func testSearchWindow(t *testing.T, s parley.Store) {
	mkUsers(t, s, "a")
	mkConversation(t, s, "c1", "a")
	putMember(t, s, "c1", "a", parley.StatusActive, 0, 0)
	var ids []string
	for i := range 10 {
		// The oldest say it most: without the window they would rank first.
		text := "plum"
		for range 10 - i {
			text += " plum"
		}
		ids = append(ids, mkMessage(t, s, "c1", "a", "", text, at(i)).ID)
	}
	mkMessage(t, s, "c1", "a", "", "no fruit here", at(20))
	f := parley.SearchFilter{ViewerIDs: []string{"a"}, Query: "plum", Order: parley.SearchRelevance, Window: 4, Limit: 3}
	var got []string
	for pages := 0; pages < 5; pages++ {
		hits := view(t, s, func(tx parley.Tx) ([]parley.SearchHit, error) { return tx.SearchMessages(f) })
		for _, h := range hits {
			got = append(got, h.Message.ID)
		}
		if len(hits) < f.Limit {
			break
		}
		last := hits[len(hits)-1]
		f.After = &parley.SearchCursor{Score: last.Score, Pos: last.Message.Pos}
	}
	if want := []string{ids[6], ids[7], ids[8], ids[9]}; !slices.Equal(got, want) {
		t.Errorf("window of 4: %v, want %v (the newest four, the one saying it most first)", got, want)
	}
	// WindowFull: told on a first page whether the window was full (older
	// matches may exist), whatever the page's size.
	for _, c := range []struct {
		window, limit int
		want          bool
	}{{4, 3, true}, {10, 3, true}, {11, 20, false}, {50, 1, false}} {
		full := !c.want
		g := parley.SearchFilter{ViewerIDs: []string{"a"}, Query: "plum", Order: parley.SearchRelevance, Window: c.window, Limit: c.limit, WindowFull: &full}
		search(t, s, g)
		if full != c.want {
			t.Errorf("window of %d, page of %d: WindowFull %v, want %v", c.window, c.limit, full, c.want)
		}
	}
	f.After, f.Window, f.Limit = nil, 0, 20
	if got := search(t, s, f); len(got) != 10 || got[0] != ids[0] {
		t.Errorf("no window: %v", got)
	}
	f.Order, f.Window = parley.SearchRecent, 2
	if got := search(t, s, f); len(got) != 10 || got[0] != ids[9] {
		t.Errorf("the window is for relevance only: %v", got)
	}
}

// testSearchConversations checks a search over many conversations with
// different views of each: the newest-first order across them, pages,
// the relevance window (the newest matches of all of them), a long last
// word matched as a prefix, and that several viewers see each message once.
func testSearchConversations(t *testing.T, s parley.Store) {
	mkUsers(t, s, "a", "b")
	type conv struct {
		id                 string
		status             parley.MemberStatus
		joinedSeq, leftSeq int64
	}
	var convs []conv
	for i := range 30 { // the viewer sees 20: more than the SQLite store's probe threshold
		c := conv{id: fmt.Sprintf("c%02d", i), status: parley.StatusActive}
		switch i % 6 {
		case 1:
			c.joinedSeq = 3 // joined late
		case 2:
			c.status, c.leftSeq = parley.StatusLeft, 4
		case 3:
			c.status = parley.StatusDeclined
		case 4:
			c.status = "" // not a member
		}
		convs = append(convs, c)
		mkConversation(t, s, c.id, "b")
		putMember(t, s, c.id, "b", parley.StatusActive, 0, 0)
		if c.status != "" {
			putMember(t, s, c.id, "a", c.status, c.joinedSeq, c.leftSeq)
		}
	}
	texts := []string{"kumquat jam", "kumquats in season", "a kumquit is not a fruit", "plain toast", "kumquat kumquat tart"}
	type sent struct {
		m    *parley.Message
		conv conv
	}
	var all []sent
	for i := range 150 {
		c := convs[(i*7)%len(convs)]
		all = append(all, sent{mkMessage(t, s, c.id, "b", "", texts[i%len(texts)], at(i)), c})
	}
	// want: what a should find for a query, newest first, by brute force.
	want := func(holds func(string) bool) []string {
		var ids []string
		for i := len(all) - 1; i >= 0; i-- {
			e := all[i]
			mb := parley.Member{Status: e.conv.status, JoinedSeq: e.conv.joinedSeq, LeftSeq: e.conv.leftSeq}
			if holds(e.m.Text) && mb.CanRead(e.m.Seq) {
				ids = append(ids, e.m.ID)
			}
		}
		return ids
	}
	kumquat := want(func(s string) bool { return strings.Contains(s, "kumquat") })
	if len(kumquat) < 40 {
		t.Fatalf("the corpus is too small: %d visible matches", len(kumquat))
	}
	f := parley.SearchFilter{ViewerIDs: []string{"a"}, Query: "kumqua", Order: parley.SearchRecent, Limit: 200}
	if got := search(t, s, f); !slices.Equal(got, kumquat) {
		t.Fatalf("recent, long prefix: %v\nwant %v", got, kumquat)
	}
	if got := search(t, s, parley.SearchFilter{ViewerIDs: []string{"a"}, Query: "kumquit", Limit: 200}); len(got) != len(want(func(s string) bool {
		return strings.Contains(s, "kumquit")
	})) {
		t.Errorf("kumquit: %d hits", len(got))
	}
	// Pages of 7 give the same order.
	var paged []string
	f.Limit = 7
	for range 50 {
		hits := view(t, s, func(tx parley.Tx) ([]parley.SearchHit, error) { return tx.SearchMessages(f) })
		for _, h := range hits {
			paged = append(paged, h.Message.ID)
		}
		if len(hits) < f.Limit {
			break
		}
		f.After = &parley.SearchCursor{Pos: hits[len(hits)-1].Message.Pos}
	}
	if !slices.Equal(paged, kumquat) {
		t.Fatalf("recent in pages of 7: %v\nwant %v", paged, kumquat)
	}
	// The window ranks the 10 newest matches of all the conversations.
	f = parley.SearchFilter{ViewerIDs: []string{"a"}, Query: "kumquat", Order: parley.SearchRelevance, Window: 10, Limit: 50}
	got := search(t, s, f)
	if g, w := slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(kumquat[:10])); !slices.Equal(g, w) {
		t.Fatalf("window of 10: %v, want %v", g, w)
	}
	// Two viewers: each message once, the union of what they see.
	f = parley.SearchFilter{ViewerIDs: []string{"a", "b"}, Query: "toast", Order: parley.SearchRecent, Limit: 200}
	if got := search(t, s, f); len(got) != 30 {
		t.Errorf("a and b: %d hits for toast, want the 30 sent", len(got))
	}
}
