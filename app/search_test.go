package app_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
)

// found runs a search and returns the texts found, sorted, failing on error.
func (s *shop) found(actor *app.Actor, q app.SearchQuery) []string {
	s.t.Helper()
	page, err := s.a.Search(s.ctx, actor, q)
	if err != nil {
		s.t.Fatalf("Search(%+v): %v", q, err)
	}
	var out []string
	for _, r := range page.Items {
		out = append(out, r.Message.Text)
	}
	slices.Sort(out)
	return out
}

func (s *shop) wantSearch(who string, actor *app.Actor, q string, want ...string) {
	s.t.Helper()
	got := s.found(actor, app.SearchQuery{Q: q})
	slices.Sort(want)
	if !slices.Equal(got, want) {
		s.t.Errorf("%s searching %q: found %q, want %q", who, q, got, want)
	}
}

// TestSearchAuthorization is the matrix of who finds what: members,
// former members up to when they went, outsiders, declined requests,
// unsent and edited messages, a business's agents (not once removed), and
// a customer who never finds the team's notes.
func TestSearchAuthorization(t *testing.T) {
	s := newShop(t)
	alice := s.register("alice", "Alice", parley.KindPerson)
	bea := s.register("bea", "Bea", parley.KindPerson)
	carl := s.register("carl", "Carl", parley.KindPerson)
	dan := s.register("dan", "Dan", parley.KindPerson)
	eve := s.register("eve", "Eve", parley.KindPerson)
	for _, m := range []*app.Actor{bea, carl, dan} {
		if err := s.a.Follow(s.ctx, m, "alice", true); err != nil {
			t.Fatal(err)
		}
		if err := s.a.Follow(s.ctx, alice, m.User.Handle, true); err != nil {
			t.Fatal(err)
		}
	}
	group, _, err := s.a.CreateGroup(s.ctx, alice, app.GroupInput{Title: "Fruit", Members: []string{"bea", "carl", "dan"}})
	if err != nil {
		t.Fatal(err)
	}
	s.say(alice, group.ID, "pineapple one")
	if err := s.a.RemoveMember(s.ctx, alice, group.ID, "carl"); err != nil {
		t.Fatal(err)
	}
	s.say(alice, group.ID, "pineapple two")
	if err := s.a.Leave(s.ctx, dan, group.ID); err != nil {
		t.Fatal(err)
	}
	s.say(bea, group.ID, "pineapple three")

	unsent := s.say(alice, group.ID, "kiwi in the fridge")
	if err := s.a.Unsend(s.ctx, alice, group.ID, unsent.ID); err != nil {
		t.Fatal(err)
	}
	edited := s.say(alice, group.ID, "banana split tonight")
	if _, err := s.a.Edit(s.ctx, alice, group.ID, edited.ID, "cherry pie tonight"); err != nil {
		t.Fatal(err)
	}

	s.wantSearch("alice", alice, "pineapple", "pineapple one", "pineapple two", "pineapple three")
	s.wantSearch("bea", bea, "pineapple", "pineapple one", "pineapple two", "pineapple three")
	s.wantSearch("removed carl", carl, "pineapple", "pineapple one")
	s.wantSearch("dan who left", dan, "pineapple", "pineapple one", "pineapple two")
	s.wantSearch("outsider", eve, "pineapple")
	s.wantSearch("unsent", alice, "kiwi")
	s.wantSearch("edited, old text", bea, "banana")
	s.wantSearch("edited, new text", bea, "cherry", "cherry pie tonight")
	s.wantSearch("removed carl, later text", carl, "cherry")

	// A disappearing message is not found once it expired, before and
	// after the reaper purges it.
	if _, err := s.a.SetDisappearing(s.ctx, alice, group.ID, 3600); err != nil {
		t.Fatal(err)
	}
	s.say(alice, group.ID, "guava for an hour")
	s.wantSearch("before expiry", bea, "guava", "guava for an hour")
	s.clock.Advance(time.Hour)
	s.wantSearch("expired, not reaped", bea, "guava")
	if _, err := s.a.Reap(s.ctx); err != nil {
		t.Fatal(err)
	}
	s.wantSearch("expired, reaped", bea, "guava")
	if _, err := s.a.SetDisappearing(s.ctx, alice, group.ID, 0); err != nil {
		t.Fatal(err)
	}

	// A declined request: the sender still finds what they wrote, the
	// one who declined does not.
	frank := s.register("frank", "Frank", parley.KindPerson)
	req, _, err := s.a.CreateDirect(s.ctx, frank, "eve")
	if err != nil {
		t.Fatal(err)
	}
	s.say(frank, req.ID, "mango offer")
	s.wantSearch("eve, pending request", eve, "mango", "mango offer")
	if err := s.a.Decline(s.ctx, eve, req.ID); err != nil {
		t.Fatal(err)
	}
	s.wantSearch("eve, declined", eve, "mango")
	s.wantSearch("frank", frank, "mango", "mango offer")
	if _, err := s.a.Search(s.ctx, eve, app.SearchQuery{Q: "mango", Conversation: req.ID}); parley.ErrorCode(err) != parley.ENotFound {
		t.Errorf("eve searching in the declined conversation: %v, want not found", err)
	}

	// The business: agents find customers' messages as the business; a
	// removed agent finds nothing more; the customer never finds notes.
	ann, annBA := s.agent("ann", "Ann", true)
	bob, bobBA := s.agent("bob", "Bob", true)
	cust, conv := s.customer("Carol")
	s.say(cust, conv, "where is my parcel")
	if _, err := s.a.AddNote(s.ctx, annBA, conv, "parcel lost, refund secretly"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.reply(annBA, conv, "your parcel is on its way"); err != nil {
		t.Fatal(err)
	}
	page, err := s.a.Search(s.ctx, ann, app.SearchQuery{Q: "parcel", Sort: "recent"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 2 || page.Items[0].Message.Text != "your parcel is on its way" || page.Items[0].As != s.biz.User.ID ||
		page.Items[0].Message.Agent == nil || page.Items[0].Message.Agent.Handle != "ann" {
		t.Fatalf("ann: %+v", page.Items)
	}
	s.wantSearch("bob", bob, "parcel", "where is my parcel", "your parcel is on its way")
	s.wantSearch("customer", cust, "parcel", "where is my parcel", "your parcel is on its way")
	s.wantSearch("customer, a note's words", cust, "secretly")
	s.wantSearch("eve", eve, "parcel")
	if err := s.a.RemoveAgent(s.ctx, s.admin, "bob"); err != nil {
		t.Fatal(err)
	}
	s.wantSearch("removed bob", bob, "parcel")
	if _, err := s.a.ActAs(s.ctx, bob, "acme"); parley.ErrorCode(err) != parley.ENotFound {
		t.Errorf("removed bob acting as acme: %v", err)
	}
	bp, err := s.a.BusinessSearch(s.ctx, annBA, app.SearchQuery{Q: "parcel"})
	if err != nil || len(bp.Items) != 2 {
		t.Fatalf("business search: %+v, %v", bp, err)
	}
	if _, err := s.a.Search(s.ctx, ann, app.SearchQuery{Q: "parcel", Conversation: conv}); err != nil {
		t.Errorf("ann searching in the customer's conversation: %v", err)
	}
	_ = bobBA
}

// TestSearchMasksForTeam checks that snippets show the team what the
// conversation shows them: masked values, and that searching for a masked
// value finds nothing.
func TestSearchMasksForTeam(t *testing.T) {
	s := newShop(t)
	ann, _ := s.agent("ann", "Ann", true)
	cust, conv := s.customer("Carol")
	if _, _, err := s.a.Send(s.ctx, cust, conv, app.SendInput{ClientID: "card", Text: "my card 4111111111111111 was charged twice",
		ConfirmSensitive: true}); err != nil {
		t.Fatal(err)
	}
	page, err := s.a.Search(s.ctx, ann, app.SearchQuery{Q: "charged"})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("ann: %+v, %v", page, err)
	}
	r := page.Items[0]
	var snippet strings.Builder
	for _, p := range r.Snippet {
		snippet.WriteString(p.Text)
	}
	if !r.Message.Masked || strings.Contains(r.Message.Text, "4111111111111111") || strings.Contains(snippet.String(), "4111111111111111") ||
		!strings.Contains(snippet.String(), "••••1111") {
		t.Errorf("the team sees %q, snippet %q", r.Message.Text, snippet.String())
	}
	s.wantSearch("ann, the card number", ann, "4111111111111111")
	s.wantSearch("customer, the card number", cust, "4111111111111111", "my card 4111111111111111 was charged twice")
	s.settings(func(st *app.BusinessSettings) { st.ShowSensitive = true })
	s.wantSearch("ann, unmasked", ann, "4111111111111111", "my card 4111111111111111 was charged twice")
}

// TestSearchInput checks what a search refuses.
func TestSearchInput(t *testing.T) {
	s := newShop(t)
	alice := s.register("alice", "Alice", parley.KindPerson)
	for _, c := range []struct {
		q     app.SearchQuery
		field string
	}{
		{app.SearchQuery{}, "q"},
		{app.SearchQuery{Q: "   "}, "q"},
		{app.SearchQuery{Q: "?!*"}, "q"},
		{app.SearchQuery{Q: "x", After: "yesterday"}, "after"},
		{app.SearchQuery{Q: "x", Before: "2026-13-01"}, "before"},
		{app.SearchQuery{Q: "x", After: "2026-02-01", Before: "2026-01-01"}, "after"},
		{app.SearchQuery{Q: "x", Has: "links"}, "has"},
		{app.SearchQuery{Q: "x", Sort: "oldest"}, "sort"},
		{app.SearchQuery{Q: "x", Limit: app.MaxSearchLimit + 1}, "limit"},
		{app.SearchQuery{Q: "x", Cursor: "not-a-cursor"}, "cursor"},
		{app.SearchQuery{Q: "x", Cursor: "eyJzIjoxLCJwIjoxLCJtIjoxLCJvIjoicmVjZW50In0"}, "cursor"}, // a recent cursor for relevance
		{app.SearchQuery{Q: "x", From: "nobody"}, "from"},
	} {
		_, err := s.a.Search(s.ctx, alice, c.q)
		var pe *parley.Error
		if parley.ErrorCode(err) != parley.EInvalid || !errorsAs(err, &pe) || pe.Field != c.field {
			t.Errorf("%+v: %v, want invalid %s", c.q, err, c.field)
		}
	}
	if _, err := s.a.Search(s.ctx, alice, app.SearchQuery{Q: strings.Repeat("a", app.MaxSearchQuery+1)}); parley.ErrorCode(err) != parley.ETooLarge {
		t.Errorf("long q: %v", err)
	}
	if _, err := s.a.Search(s.ctx, alice, app.SearchQuery{Q: "x", Conversation: "nope"}); parley.ErrorCode(err) != parley.ENotFound {
		t.Errorf("unknown conversation: %v", err)
	}
	if _, err := s.a.Search(s.ctx, alice, app.SearchQuery{Q: "x", After: "2026-01-01T00:00:00Z", Before: "2026-01-02", Has: "media", Sort: "recent"}); err != nil {
		t.Errorf("good input: %v", err)
	}
}

// TestSearchPages checks that cursors walk the results once each.
// alicesDirect registers alice and bea, who follows her, and starts
// alice's direct conversation with bea.
func (s *shop) alicesDirect() (alice, bea *app.Actor, conv *app.ConversationView) {
	s.t.Helper()
	alice = s.register("alice", "Alice", parley.KindPerson)
	bea = s.register("bea", "Bea", parley.KindPerson)
	if err := s.a.Follow(s.ctx, bea, "alice", true); err != nil {
		s.t.Fatal(err)
	}
	conv, _, err := s.a.CreateDirect(s.ctx, alice, "bea")
	if err != nil {
		s.t.Fatal(err)
	}
	return alice, bea, conv
}

func TestSearchPages(t *testing.T) {
	s := newShop(t)
	alice, bea, conv := s.alicesDirect()
	want := map[string]bool{}
	for i := range 9 {
		want[s.say(alice, conv.ID, strings.Repeat("lemon ", i%3+1)+"tart").ID] = true
	}
	for _, sort := range []string{"relevance", "recent"} {
		before := maps.Clone(want)
		seen := map[string]bool{}
		q := app.SearchQuery{Q: "lemon", Sort: sort, Limit: 4}
		for pages := 0; ; pages++ {
			page, err := s.a.Search(s.ctx, bea, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page.Items {
				if seen[r.Message.ID] {
					t.Fatalf("%s: %s twice", sort, r.Message.ID)
				}
				seen[r.Message.ID] = true
			}
			if page.NextCursor == "" {
				break
			}
			// A message sent while paging does not join later pages.
			want[s.say(alice, conv.ID, "lemon sent later").ID] = true
			q.Cursor = page.NextCursor
		}
		if len(seen) != len(before) {
			t.Errorf("%s: saw %d of %d", sort, len(seen), len(before))
		}
		for id := range seen {
			if !before[id] {
				t.Errorf("%s: %s was sent after the first page", sort, id)
			}
		}
	}
}

// TestSearchTruncated: a relevance search says, on every page, when it
// ranked only the RelevanceWindow newest matches (older ones exist); one
// with fewer matches, and a newest-first one, do not.
func TestSearchTruncated(t *testing.T) {
	s := newShopConfig(t, app.Config{SendPerConversation: 1e6, SendBurst: 1e6})
	alice, bea, conv := s.alicesDirect()
	for i := range app.RelevanceWindow + 1 {
		s.say(alice, conv.ID, fmt.Sprint("lemon tart ", i))
	}
	for i := range 3 {
		s.say(alice, conv.ID, fmt.Sprint("lime pie ", i))
	}
	pages := func(q app.SearchQuery) (truncated []bool, n int) {
		for {
			page, err := s.a.Search(s.ctx, bea, q)
			if err != nil {
				t.Fatal(err)
			}
			truncated = append(truncated, page.Truncated)
			n += len(page.Items)
			if page.NextCursor == "" {
				return truncated, n
			}
			q.Cursor = page.NextCursor
		}
	}
	if tr, n := pages(app.SearchQuery{Q: "lemon", Limit: 40}); !slices.Equal(tr, []bool{true, true, true}) || n != app.RelevanceWindow {
		t.Errorf("lemon, relevance: truncated %v over %d results, want true on each of 3 pages, %d results", tr, n, app.RelevanceWindow)
	}
	if tr, n := pages(app.SearchQuery{Q: "lemon", Sort: "recent", Limit: 50}); slices.Contains(tr, true) || n != app.RelevanceWindow+1 {
		t.Errorf("lemon, recent: truncated %v over %d results, want none and %d", tr, n, app.RelevanceWindow+1)
	}
	if tr, n := pages(app.SearchQuery{Q: "lime"}); !slices.Equal(tr, []bool{false}) || n != 3 {
		t.Errorf("lime: truncated %v over %d results, want [false] and 3", tr, n)
	}
}

// TestSnippets checks the parts a snippet is cut into.
func TestSnippets(t *testing.T) {
	s := newShop(t)
	alice := s.register("alice", "Alice", parley.KindPerson)
	s.register("bea", "Bea", parley.KindPerson)
	conv, _, err := s.a.CreateDirect(s.ctx, alice, "bea")
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("filler words here ", 20) + "the Crème brûlée <b>was</b> great " + strings.Repeat("more filler ", 20)
	s.say(alice, conv.ID, long)
	s.say(alice, conv.ID, "short creme note")
	page, err := s.a.Search(s.ctx, alice, app.SearchQuery{Q: "creme bru", Sort: "recent"})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("%+v, %v", page, err)
	}
	parts := page.Items[0].Snippet
	var text strings.Builder
	var hits []string
	for _, p := range parts {
		text.WriteString(p.Text)
		if p.Hit {
			hits = append(hits, p.Text)
		}
	}
	if !slices.Equal(hits, []string{"Crème", "brûlée"}) {
		t.Errorf("hits %q", hits)
	}
	got := text.String()
	if !strings.HasPrefix(got, "…") || !strings.HasSuffix(got, "…") || len([]rune(got)) > 170 || !strings.Contains(got, "<b>was</b>") {
		t.Errorf("snippet %q", got)
	}
	if strings.Contains(got, "…ller") || strings.Contains(got, "fille…") {
		t.Errorf("a word cut in two: %q", got)
	}
}
