package sqlite_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/store/sqlite"
)

// wordCorpus is a store of 50 conversations of 12 messages each (and
// whatever else its maker adds): the searcher a is in 40 of them, v in
// every third from its sixth message on and gone again after its tenth
// in every sixth, so that the search's plans meet more conversations
// than it visits without a probe, ranges that are parts of
// conversations, and several viewers' ranges merged.
type wordCorpus struct {
	db       *sqlite.DB
	texts    map[string]string // message id → text
	readable map[string]bool   // by a
	midPos   int64             // the 300th message's position
}

// newWordCorpus makes a wordCorpus whose messages hold words(r) each
// (shuffled), then for each of more's texts one message in conversation
// c00, then busy messages "plum kiwi" in a conversation of others.
func newWordCorpus(t *testing.T, seed uint64, words func(r *rand.Rand) []string, more []string, busy int) *wordCorpus {
	t.Helper()
	db := openAt(t, filepath.Join(t.TempDir(), "parley.db"))
	t.Cleanup(func() { db.Close() })
	wc := &wordCorpus{db: db, texts: map[string]string{}, readable: map[string]bool{}}
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	r := rand.New(rand.NewPCG(seed, seed+1))
	n := 0
	send := func(tx parley.Tx, conv, text string, mine bool) error {
		seq, err := tx.AllocSeq(conv, now)
		if err != nil {
			return err
		}
		n++
		m := &parley.Message{ID: fmt.Sprintf("m%04d", n), ConversationID: conv, Seq: seq, SenderID: "b",
			Kind: parley.MessageText, Text: text, CreatedAt: now.Add(time.Duration(n) * time.Second)}
		if err := tx.CreateMessage(m); err != nil {
			return err
		}
		wc.texts[m.ID], wc.readable[m.ID] = text, mine
		if n == 300 {
			wc.midPos = m.Pos
		}
		return nil
	}
	conv := func(tx parley.Tx, id string) error {
		return tx.CreateConversation(&parley.Conversation{ID: id, Kind: parley.ConversationGroup, CreatedBy: "b",
			CreatedAt: now, LastActivityAt: now})
	}
	err := db.Update(context.Background(), func(tx parley.Tx) error {
		for _, u := range []string{"a", "b", "v"} {
			if err := tx.CreateUser(&parley.User{ID: u, Handle: u, Kind: parley.KindPerson, DMPolicy: parley.PolicyOpen,
				CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
		}
		for c := range 50 {
			id := fmt.Sprintf("c%02d", c)
			mine := c%5 != 4 // 40 of the 50 are a's
			if err := conv(tx, id); err != nil {
				return err
			}
			if mine {
				if err := tx.PutMember(&parley.Member{ConversationID: id, UserID: "a", Role: parley.RoleMember,
					Status: parley.StatusActive, Folder: parley.FolderInbox, JoinedAt: now, UpdatedAt: now}); err != nil {
					return err
				}
			}
			if c%3 == 0 {
				v := &parley.Member{ConversationID: id, UserID: "v", Role: parley.RoleMember, Status: parley.StatusActive,
					Folder: parley.FolderInbox, JoinedAt: now, UpdatedAt: now, JoinedSeq: 6}
				if c%6 == 0 {
					v.Status, v.LeftSeq = parley.StatusLeft, 10
				}
				if err := tx.PutMember(v); err != nil {
					return err
				}
			}
			for range 12 {
				w := words(r)
				r.Shuffle(len(w), func(i, j int) { w[i], w[j] = w[j], w[i] })
				if err := send(tx, id, strings.Join(w, " "), mine); err != nil {
					return err
				}
			}
		}
		for _, text := range more {
			if err := send(tx, "c00", text, true); err != nil {
				return err
			}
		}
		if busy > 0 {
			if err := conv(tx, "busy"); err != nil {
				return err
			}
			for range busy {
				if err := send(tx, "busy", "plum kiwi", false); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return wc
}

// pages searches page by page and returns every page's ids.
func (wc *wordCorpus) pages(t *testing.T, f parley.SearchFilter) [][]string {
	t.Helper()
	var out [][]string
	for range 1000 {
		var hits []parley.SearchHit
		if err := wc.db.View(context.Background(), func(tx parley.Tx) error {
			var err error
			hits, err = tx.SearchMessages(f)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(hits) == 0 {
			return out
		}
		var ids []string
		for _, h := range hits {
			ids = append(ids, h.Message.ID)
		}
		out = append(out, ids)
		last := hits[len(hits)-1]
		f.After = &parley.SearchCursor{Score: last.Score, Pos: last.Message.Pos}
	}
	t.Fatalf("%+v: no end of pages", f)
	return nil
}

// check searches each query, newest first and by relevance: a's must
// find exactly what a check of each message's words finds, each message
// once, and every page, for two viewers (one who joined late or left
// some conversations), with small pages, cursors, a relevance window and
// a position bound, must be the one the search gives with a plan turned
// off (plan(false); plan(true) turns it on again).
func (wc *wordCorpus) check(t *testing.T, queries []string, plan func(on bool)) {
	t.Helper()
	holds := func(text, query string) bool {
		q := strings.Fields(query)
		w := strings.Fields(text)
		for i, term := range q {
			if !slices.ContainsFunc(w, func(x string) bool { return x == term || i == len(q)-1 && strings.HasPrefix(x, term) }) {
				return false
			}
		}
		return true
	}
	for _, q := range queries {
		var want []string
		for id, text := range wc.texts {
			if wc.readable[id] && holds(text, q) {
				want = append(want, id)
			}
		}
		slices.Sort(want)
		for _, order := range []parley.SearchOrder{parley.SearchRecent, parley.SearchRelevance} {
			var got []string
			for _, page := range wc.pages(t, parley.SearchFilter{ViewerIDs: []string{"a"}, Query: q, Order: order, Limit: 1000}) {
				got = append(got, page...)
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%q, %s: %d found %v, want %d %v", q, order, len(got), got, len(want), want)
			}
			for _, f := range []parley.SearchFilter{
				{ViewerIDs: []string{"a"}, Limit: 3},
				{ViewerIDs: []string{"a", "v"}, Limit: 4},
				{ViewerIDs: []string{"v"}, Limit: 2},
				{ViewerIDs: []string{"a", "v"}, Limit: 5, MaxPos: wc.midPos},
				{ViewerIDs: []string{"a"}, Limit: 2, Window: 7},
			} {
				f.Query, f.Order = q, order
				with := wc.pages(t, f)
				plan(false)
				without := wc.pages(t, f)
				plan(true)
				if !slices.EqualFunc(with, without, slices.Equal[[]string]) {
					t.Errorf("%q, %s, viewers %v, limit %d, window %d, max pos %d: pages %v, with the plan off %v",
						q, order, f.ViewerIDs, f.Limit, f.Window, f.MaxPos, with, without)
				}
			}
		}
	}
}

// TestSearchLastWordSplit checks searches whose long last word starts
// other words of the index: the words it starts beyond itself are rare
// here, so the search finds their matches in one pass and walks the
// conversations with the word alone (splitLast) — also for a message
// holding the word and a longer one, and one with the longer one only.
func TestSearchLastWordSplit(t *testing.T) {
	wc := newWordCorpus(t, 11, func(r *rand.Rand) []string {
		words := []string{"plum"}
		for _, w := range []string{"raltamigu", "berberpe", "kiwi"} {
			if r.IntN(3) == 0 {
				words = append(words, w)
			}
		}
		if r.IntN(100) == 0 { // rare: a few of a's messages
			words = append(words, []string{"berberpean", "berberpeek"}[r.IntN(2)])
		}
		return words
	}, []string{"raltamigu berberpe berberpean", "raltamigu berberpeek kiwi"}, 0)
	// Without rarePart, which would take most of these.
	sqlite.SetSearchRare(wc.db, false)
	_, splits := sqlite.SearchCounts(wc.db)
	wc.check(t, []string{"raltamigu berberpe", "berberpe", "kiwi berberpe", "raltamigu berberpea", "raltamigu kiwi berberpe"},
		func(on bool) { sqlite.SetSearchSplit(wc.db, on) })
	if _, after := sqlite.SearchCounts(wc.db); after == splits {
		t.Error("no search was split: the test does not test splitLast")
	}
}

// TestSearchRarePart checks searches of several words of which one is
// rare in the whole index (rarePart): its matches in a's conversations
// are read in one pass and checked one by one against the whole query
// ("quince", in one message in a hundred), or, when a's conversations
// holding it hold many ("fig", in every message of four conversations),
// only those conversations are visited. Beside them, a busy conversation
// of others makes "plum" (every message) and "kiwi" common.
func TestSearchRarePart(t *testing.T) {
	wc := newWordCorpus(t, 21, func(r *rand.Rand) []string {
		words := []string{"plum"}
		if r.IntN(3) == 0 {
			words = append(words, "kiwi")
		}
		if r.IntN(100) == 0 {
			words = append(words, "quince")
		}
		return words
	}, nil, 1000)
	// fig: every message of four conversations (three of them a's).
	err := wc.db.Update(context.Background(), func(tx parley.Tx) error {
		for id, text := range wc.texts {
			var c int
			if _, err := fmt.Sscanf(id, "m%04d", &c); err != nil || (c-1)/12%13 != 1 || c > 600 {
				continue
			}
			if err := tx.UpdateMessageText(id, text+" fig", time.Now()); err != nil {
				return err
			}
			wc.texts[id] = text + " fig"
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		queries []string
		checked bool // some search checked the rare part's matches one by one, or some walked
	}{
		{[]string{"plum quince", "kiwi quince", "quince plum kiwi", "fig quince", "plum qui"}, true},
		{[]string{"plum fig", "fig kiwi", "kiwi plum fig"}, false},
	} {
		plans, checked := sqlite.SearchRares(wc.db)
		wc.check(t, c.queries, func(on bool) { sqlite.SetSearchRare(wc.db, on) })
		p, ch := sqlite.SearchRares(wc.db)
		if c.checked && ch == checked || !c.checked && p-plans == ch-checked {
			t.Errorf("%q: %d searches by a rare part, %d of them checking its matches: the test does not test rarePart",
				c.queries, p-plans, ch-checked)
		}
	}
	// Both words common: no rare part.
	plans, _ := sqlite.SearchRares(wc.db)
	wc.check(t, []string{"kiwi plum"}, func(on bool) { sqlite.SetSearchRare(wc.db, on) })
	if p, _ := sqlite.SearchRares(wc.db); p != plans {
		t.Errorf("kiwi plum: %d searches by a rare part", p-plans)
	}
}
