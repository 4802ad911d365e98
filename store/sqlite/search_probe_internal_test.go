package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

// TestProbeMore: the rest of a probe is read only when, at the density
// its first part showed, it would reach past an eighth of the searcher's
// ranges (TestSearchProbeFirstPart checks the results either way; this
// checks the decision).
func TestProbeMore(t *testing.T) {
	ranges := make([]searchRange, 500) // conversations 0, 400, …, 199,600
	for i := range ranges {
		ranges[i].num = int64(i) * 400
	}
	const first, probe = 1024, 8000 // the rest reads 7.8 times as far
	for _, c := range []struct {
		last int64
		want bool
	}{
		{100, false},   // a common word: the rest would judge 2 ranges
		{3100, false},  // 61 ranges, under an eighth
		{3199, true},   // 63 ranges, an eighth
		{20000, true},  // most of them
		{199600, true}, // the first part already reached the end
	} {
		if got := probeMore(ranges, c.last, first, probe); got != c.want {
			t.Errorf("last %d: probeMore = %v, want %v", c.last, got, c.want)
		}
	}
}

// TestScanPays: a scan is chosen when the matches the probe's first part
// saw, spread over the searcher's span of conversation numbers, come to
// at most searchScanPerVisit (500) per range (TestSearchScan checks the
// results).
func TestScanPays(t *testing.T) {
	ranges := make([]searchRange, 500) // conversations 1000, 1400, …, 200,600
	for i := range ranges {
		ranges[i].num = 1000 + int64(i)*400
	}
	for _, c := range []struct {
		last int64
		want bool
	}{
		{900, false},   // no range of the searcher reached: too common to tell
		{1000, false},  // 1024 in one conversation: ~200 million in the span
		{1816, false},  // ~250,300 in the span, over 500*500
		{1818, true},   // ~249,700
		{199600, true}, // the whole span in ~1,000
	} {
		if got := scanPays(ranges, c.last, 1024); got != c.want {
			t.Errorf("last %d: scanPays = %v, want %v", c.last, got, c.want)
		}
	}
	// TestSearchScan's conversations: the searcher's 30 around b0 (10).
	scan := make([]searchRange, 30)
	for i := range scan {
		scan[i].num = int64(i) + 1
		if i >= 10 {
			scan[i].num++
		}
	}
	if !scanPays(scan, 11, 1024) {
		t.Error("TestSearchScan's corpus does not scan")
	}
}

// TestProbePays: a probe goes on while the visits it saved (the ranges it
// judged empty, at the cost of a visit) are worth more than it cost; the
// cost of a visit follows the searches' walks.
func TestProbePays(t *testing.T) {
	ranges := []searchRange{{num: 1}, {num: 5}, {num: 9}, {num: 14}}
	found := map[int64]bool{5: true, 14: true}
	if n := absent(ranges, found, 10); n != 2 { // 1 and 9; 14 not reached
		t.Errorf("absent = %d, want 2", n)
	}
	if n := absent(ranges, found, 9); n != 1 { // 9 is reached, not judged whole
		t.Errorf("absent below 9 = %d, want 1", n)
	}
	for _, c := range []struct {
		spent  time.Duration
		absent int
		want   bool
	}{
		{time.Millisecond, 0, false},        // judged nothing empty
		{time.Millisecond, 20, false},       // 20 visits of 50 µs: even
		{time.Millisecond, 21, true},        // saved more than it cost
		{100 * time.Microsecond, 400, true}, // a cheap probe
		{14 * time.Millisecond, 46, false},  // two common words, rarely together
	} {
		if got := probePays(c.spent, c.absent, 50*time.Microsecond); got != c.want {
			t.Errorf("probePays(%v, %d) = %v, want %v", c.spent, c.absent, got, c.want)
		}
	}
	db := &DB{}
	if got := db.visitCosts(2); got != searchVisitAnd {
		t.Errorf("before any walk: %v, want %v", got, searchVisitAnd)
	}
	db.noteVisits(2, 10, time.Second) // too few visits to count
	if got := db.visitCosts(2); got != searchVisitAnd {
		t.Errorf("after 10 visits: %v, want %v", got, searchVisitAnd)
	}
	db.noteVisits(2, 100, 100*140*time.Microsecond) // 140 µs a visit
	if got, want := db.visitCosts(2), searchVisitAnd+(140*time.Microsecond-searchVisitAnd)/8; got != want {
		t.Errorf("after a walk at 140 µs: %v, want %v", got, want)
	}
	db.noteVisits(1, 100, time.Minute) // a stall: at most searchVisitMax a visit
	if got, want := db.visitCosts(1), searchVisitOne+(searchVisitMax-searchVisitOne)/8; got != want {
		t.Errorf("after a stalled walk: %v, want %v", got, want)
	}
	if got := db.visitCosts(3); got != db.visitCosts(2) {
		t.Errorf("three words: %v, want two words' %v", got, db.visitCosts(2))
	}
}

// TestCommonParts checks what rarePart remembers of common parts: a part
// counted past a bound is known common for that bound and any lower one,
// not a higher one, nor after searchCommonFor, and a full memory starts
// again rather than grow.
func TestCommonParts(t *testing.T) {
	var c commonParts
	if c.known(`"kiwi"`, 10) {
		t.Error("known before any note")
	}
	c.note(`"kiwi"`, 100)
	for most, want := range map[int]bool{50: true, 100: true, 101: false} {
		if got := c.known(`"kiwi"`, most); got != want {
			t.Errorf("known past %d: %v, want %v", most, got, want)
		}
	}
	if c.known(`"plum"`, 10) {
		t.Error("another part known")
	}
	c.parts[`"kiwi"`] = commonPart{most: 100, at: time.Now().Add(-searchCommonFor)}
	if c.known(`"kiwi"`, 10) {
		t.Error("known after searchCommonFor")
	}
	for i := range searchCommonMax + 1 {
		c.note(fmt.Sprint(i), 1)
	}
	if len(c.parts) > searchCommonMax {
		t.Errorf("%d parts kept, at most %d", len(c.parts), searchCommonMax)
	}
}

// TestRarePartChooses checks rarePart's plan on a corpus of known
// counts: the searcher a in 20 conversations of 10 messages ("plum" in
// each, "kiwi" in every other), a busy conversation of others making both
// common (600 and 500 matches, over the bound of 20 ranges × 16), "quince"
// in three of a's messages and "fig" in every message of two of a's
// conversations.
func TestRarePartChooses(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "parley.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	quince := map[string]int64{"c02": 3, "c05": 7, "c11": 1} // conversation → seq
	fig := map[string]bool{"c04": true, "c09": true}
	err = db.Update(context.Background(), func(tx parley.Tx) error {
		for _, u := range []string{"a", "b"} {
			if err := tx.CreateUser(&parley.User{ID: u, Handle: u, Kind: parley.KindPerson, DMPolicy: parley.PolicyOpen,
				CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
		}
		n := 0
		send := func(conv, text string) error {
			seq, err := tx.AllocSeq(conv, now)
			if err != nil {
				return err
			}
			n++
			if quince[conv] == seq {
				text += " quince"
			}
			if fig[conv] {
				text += " fig"
			}
			return tx.CreateMessage(&parley.Message{ID: fmt.Sprint("m", n), ConversationID: conv, Seq: seq, SenderID: "b",
				Kind: parley.MessageText, Text: text, CreatedAt: now})
		}
		for c := range 21 {
			id := fmt.Sprintf("c%02d", c)
			if c == 20 {
				id = "busy"
			}
			if err := tx.CreateConversation(&parley.Conversation{ID: id, Kind: parley.ConversationGroup, CreatedBy: "b",
				CreatedAt: now, LastActivityAt: now}); err != nil {
				return err
			}
			if id == "busy" {
				for range 400 {
					if err := send(id, "plum kiwi"); err != nil {
						return err
					}
				}
				continue
			}
			if err := tx.PutMember(&parley.Member{ConversationID: id, UserID: "a", Role: parley.RoleMember,
				Status: parley.StatusActive, Folder: parley.FolderInbox, JoinedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
			for i := range 10 {
				text := "plum"
				if i%2 == 0 {
					text += " kiwi"
				}
				if err := send(id, text); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A search first, which has View bring the index up to date.
	if err := db.View(context.Background(), func(tx parley.Tx) error {
		_, err := tx.SearchMessages(parley.SearchFilter{ViewerIDs: []string{"a"}, Query: "zzz"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// plan runs rarePart for query as a, after the search's own steps,
	// and returns the conversations of the ranges it kept, the matches
	// the scan found (nil: none) and whether it checks them one by one.
	plan := func(query string) (ok bool, convs []string, seqs map[int64][]int64, checked bool) {
		t.Helper()
		err := db.View(context.Background(), func(ptx parley.Tx) error {
			tx := ptx.(*tx)
			ranges, err := tx.searchRanges([]string{"a"}, "")
			if err != nil {
				return err
			}
			if len(ranges) != 20 {
				t.Fatalf("%d ranges, want 20", len(ranges))
			}
			sq := newSearchQuery(query)
			if err := tx.expandLast(&sq); err != nil {
				return err
			}
			kept, sc, rare, err := tx.rarePart(sq, ranges)
			if err != nil {
				return err
			}
			ok = rare
			for _, r := range kept {
				convs = append(convs, r.conv)
			}
			if sc != nil {
				seqs, checked = sc.seqs, sc.check != nil
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(convs)
		return ok, convs, seqs, checked
	}
	bound := 20 * searchRarePerRange
	for _, c := range []struct {
		query   string
		ok      bool
		convs   []string
		checked bool
	}{
		{"plum quince", true, []string{"c02", "c05", "c11"}, true},
		{"fig quince", true, []string{"c02", "c05", "c11"}, true}, // the rarer of two rare words
		{"plum fig", true, []string{"c04", "c09"}, false},         // 20 matches in 2 ranges: walked
		{"kiwi plum qui", true, []string{"c02", "c05", "c11"}, true},
		{"plum zzz", true, nil, true}, // a word of no message: nothing left
	} {
		ok, convs, seqs, checked := plan(c.query)
		if ok != c.ok || !slices.Equal(convs, c.convs) || checked != c.checked {
			t.Errorf("%q: ok %v, ranges of %v, checked %v; want %v, %v, %v", c.query, ok, convs, checked, c.ok, c.convs, c.checked)
		}
		if c.checked && len(c.convs) == 3 {
			n := 0
			for _, s := range seqs {
				n += len(s)
			}
			if n != 3 {
				t.Errorf("%q: the scan found %d matches in a's ranges, want quince's 3", c.query, n)
			}
		}
	}
	// Both common: no plan, the ranges as they were, and both remembered.
	if ok, convs, _, _ := plan("kiwi plum"); ok || len(convs) != 20 {
		t.Errorf("kiwi plum: ok %v, %d ranges kept; want no plan, 20", ok, len(convs))
	}
	for _, part := range []string{`"kiwi"`, `"plum"`} {
		if !db.common.known(part, bound) {
			t.Errorf("%s not known common", part)
		}
	}
	// A part known common is not counted: quince (the last word, so a
	// prefix), said to be, leaves no rare part in "plum quince".
	db.common.note(`"quince"*`, bound)
	if ok, _, _, _ := plan("plum quince"); ok {
		t.Error("plum quince: a plan although both parts are known common")
	}
}
