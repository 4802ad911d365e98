package storetest

import (
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

func testUserModerationFlags(t *testing.T, s parley.Store) {
	update(t, s, func(tx parley.Tx) error {
		u := newUser("adm")
		u.ServerAdmin = true
		return tx.CreateUser(u)
	})
	got := view(t, s, func(tx parley.Tx) (*parley.User, error) { return tx.UserByID("adm") })
	if !got.ServerAdmin || got.Banned || got.MessagesHidden {
		t.Fatalf("created admin: %+v", got)
	}
	got.ServerAdmin, got.Banned, got.MessagesHidden = false, true, true
	update(t, s, func(tx parley.Tx) error { return tx.UpdateUser(got) })
	again := view(t, s, func(tx parley.Tx) (*parley.User, error) { return tx.UserByHandle("adm") })
	if again.ServerAdmin || !again.Banned || !again.MessagesHidden {
		t.Fatalf("updated flags: %+v", again)
	}
}

func testRequestScores(t *testing.T, s parley.Store) {
	mkListing(t, s, []listSpec{
		{"c1", "o", parley.StatusPending, parley.FolderRequests, 0, 10, true},
		{"c2", "o", parley.StatusPending, parley.FolderRequests, 0, 11, true},
		{"c3", "o", parley.StatusPending, parley.FolderRequests, 0, 12, true},
		{"c4", "o", parley.StatusPending, parley.FolderRequests, 0, 13, true},
		{"c5", "o", parley.StatusPending, parley.FolderRequests, 0, 14, false}, // empty: hidden
		{"c6", "o", parley.StatusDeclined, parley.FolderRequests, 0, 15, true}, // declined: hidden
		{"c7", "o", parley.StatusActive, parley.FolderInbox, 0, 16, true},      // accepted: hidden
	})
	put := func(conv string, score float64, filtered bool) {
		update(t, s, func(tx parley.Tx) error {
			return tx.PutRequestScore(&parley.RequestScore{ConversationID: conv, UserID: "u", SenderID: "o", Score: score,
				Filtered: filtered, Signals: `[{"name":"links"}]`, UpdatedAt: at(20)})
		})
	}
	put("c1", 0.5, false)
	put("c2", 0.1, false)
	put("c3", 0.95, true)
	put("c6", 0.01, false)
	put("c7", 0.01, false)
	// c4 has no score: it counts as 0.
	ids := func(rows []parley.ScoredRequest) []string {
		out := []string{}
		for _, r := range rows {
			out = append(out, r.Conversation.ID)
		}
		return out
	}
	list := func(f parley.RequestFilter) []parley.ScoredRequest {
		return view(t, s, func(tx parley.Tx) ([]parley.ScoredRequest, error) { return tx.Requests(f) })
	}
	rows := list(parley.RequestFilter{UserID: "u"})
	wantEqual(t, "requests", ids(rows), []string{"c4", "c2", "c1"})
	if rows[0].Score != nil || rows[1].Score == nil || rows[1].Score.Score != 0.1 || rows[1].Score.Signals != `[{"name":"links"}]` {
		t.Fatalf("scores: %s %s", show(rows[0].Score), show(rows[1].Score))
	}
	wantEqual(t, "filtered", ids(list(parley.RequestFilter{UserID: "u", Filtered: true})), []string{"c3"})
	// Pages.
	page := list(parley.RequestFilter{UserID: "u", Limit: 2})
	wantEqual(t, "page 1", ids(page), []string{"c4", "c2"})
	page = list(parley.RequestFilter{UserID: "u", Limit: 2, After: &parley.RequestCursor{Score: 0.1, ID: "c2"}})
	wantEqual(t, "page 2", ids(page), []string{"c1"})

	// Replace, read, learn flag, delete.
	update(t, s, func(tx parley.Tx) error {
		r, err := tx.RequestScore("c1", "u")
		if err != nil {
			return err
		}
		r.Score, r.Filtered, r.Learned = 0.99, true, "spam"
		return tx.PutRequestScore(r)
	})
	got := view(t, s, func(tx parley.Tx) (*parley.RequestScore, error) { return tx.RequestScore("c1", "u") })
	if got.Score != 0.99 || !got.Filtered || got.Learned != "spam" || got.SenderID != "o" || !got.UpdatedAt.Equal(at(20)) {
		t.Fatalf("replaced score: %+v", got)
	}
	wantEqual(t, "filtered after move", ids(list(parley.RequestFilter{UserID: "u", Filtered: true})), []string{"c3", "c1"})
	update(t, s, func(tx parley.Tx) error { return tx.DeleteRequestScore("c1", "u") })
	update(t, s, func(tx parley.Tx) error { return tx.DeleteRequestScore("c1", "u") }) // twice: fine
	wantNotFound(t, s, "deleted score", func(tx parley.Tx) (*parley.RequestScore, error) { return tx.RequestScore("c1", "u") })
}

func testSpamModel(t *testing.T, s parley.Store) {
	totals := func() [2]int64 {
		return view(t, s, func(tx parley.Tx) ([2]int64, error) {
			sp, hm, err := tx.SpamTotals()
			return [2]int64{sp, hm}, err
		})
	}
	wantEqual(t, "empty totals", totals(), [2]int64{0, 0})
	update(t, s, func(tx parley.Tx) error { return tx.LearnSpam([]string{"win", "money"}, true, 1) })
	update(t, s, func(tx parley.Tx) error { return tx.LearnSpam([]string{"win", "prize"}, true, 1) })
	update(t, s, func(tx parley.Tx) error { return tx.LearnSpam([]string{"lunch", "win"}, false, 1) })
	wantEqual(t, "totals", totals(), [2]int64{2, 1})
	counts := view(t, s, func(tx parley.Tx) (map[string]parley.TokenCounts, error) {
		return tx.SpamTokens([]string{"win", "money", "lunch", "unknown"})
	})
	wantEqual(t, "counts", counts, map[string]parley.TokenCounts{"win": {Spam: 2, Ham: 1}, "money": {Spam: 1, Ham: 0}, "lunch": {Spam: 0, Ham: 1}})
	// Forgetting takes back, never below zero.
	update(t, s, func(tx parley.Tx) error { return tx.LearnSpam([]string{"win", "money"}, true, -1) })
	update(t, s, func(tx parley.Tx) error { return tx.LearnSpam([]string{"lunch"}, false, -1) })
	update(t, s, func(tx parley.Tx) error { return tx.LearnSpam([]string{"lunch"}, false, -1) })
	wantEqual(t, "totals after forgetting", totals(), [2]int64{1, 0})
	counts = view(t, s, func(tx parley.Tx) (map[string]parley.TokenCounts, error) {
		return tx.SpamTokens([]string{"win", "money", "lunch"})
	})
	wantEqual(t, "counts after forgetting", counts, map[string]parley.TokenCounts{"win": {Spam: 1, Ham: 1}, "money": {Spam: 0, Ham: 0}, "lunch": {Spam: 0, Ham: 0}})
	empty := view(t, s, func(tx parley.Tx) (map[string]parley.TokenCounts, error) { return tx.SpamTokens(nil) })
	if len(empty) != 0 {
		t.Fatalf("no tokens: %v", empty)
	}
}

func testFingerprints(t *testing.T, s parley.Store) {
	count := func(sender, fp string, since time.Time) int {
		return view(t, s, func(tx parley.Tx) (int, error) { return tx.CountFingerprintRecipients(sender, fp, since, 100) })
	}
	add := func(sender, fp, to string, when, drop time.Time) {
		update(t, s, func(tx parley.Tx) error { return tx.AddFingerprint(sender, fp, to, when, drop) })
	}
	add("s", "fp1", "r1", at(10), at(0))
	add("s", "fp1", "r2", at(11), at(0))
	add("s", "fp1", "r2", at(12), at(0)) // same recipient again: counted once
	add("s", "fp2", "r3", at(12), at(0))
	add("x", "fp1", "r4", at(12), at(0)) // another sender
	wantEqual(t, "fp1", count("s", "fp1", at(0)), 2)
	wantEqual(t, "fp1 since 11", count("s", "fp1", at(11)), 1)
	wantEqual(t, "fp2", count("s", "fp2", at(0)), 1)
	wantEqual(t, "x fp1", count("x", "fp1", at(0)), 1)
	got := view(t, s, func(tx parley.Tx) (int, error) { return tx.CountFingerprintRecipients("s", "fp1", at(0), 1) })
	wantEqual(t, "capped", got, 1)
	// Adding drops the sender's old records, not others'.
	add("s", "fp3", "r1", at(100), at(12))
	wantEqual(t, "fp1 dropped", count("s", "fp1", at(0)), 1) // r2 at 12 stays
	wantEqual(t, "x kept", count("x", "fp1", at(0)), 1)
}

func testFollowOverlapAndReports(t *testing.T, s parley.Store) {
	mkUsers(t, s, "v", "u", "f1", "f2", "f3")
	update(t, s, func(tx parley.Tx) error {
		for _, p := range [][2]string{{"v", "f1"}, {"v", "f2"}, {"v", "f3"}, {"f1", "u"}, {"f2", "u"}, {"u", "f3"}} {
			if _, err := tx.SetFollow(p[0], p[1], true, at(1)); err != nil {
				return err
			}
		}
		return nil
	})
	n := view(t, s, func(tx parley.Tx) (int, error) { return tx.CountFollowOverlap("v", "u", 10) })
	wantEqual(t, "overlap", n, 2) // f1, f2 follow u; f3 is followed by u, which does not count
	n = view(t, s, func(tx parley.Tx) (int, error) { return tx.CountFollowOverlap("u", "v", 10) })
	wantEqual(t, "overlap reversed", n, 0)

	update(t, s, func(tx parley.Tx) error {
		for i, rep := range []string{"f1", "f2", "f3"} {
			if err := tx.CreateReport(&parley.Report{ID: "r" + rep, ReporterID: rep, TargetUserID: "u", Reason: "spam", CreatedAt: at(10 * (i + 1))}); err != nil {
				return err
			}
		}
		return nil
	})
	n = view(t, s, func(tx parley.Tx) (int, error) { return tx.CountReportsAgainst("u", at(15), 10) })
	wantEqual(t, "reports since 15", n, 2)
	n = view(t, s, func(tx parley.Tx) (int, error) { return tx.CountReportsAgainst("v", at(0), 10) })
	wantEqual(t, "reports against v", n, 0)
}

func testFilters(t *testing.T, s parley.Store) {
	mkUsers(t, s, "u")
	mk := func(id, owner, kind, pattern string, sec int) *parley.Filter {
		return &parley.Filter{ID: id, OwnerID: owner, Kind: kind, Pattern: pattern, Action: parley.FilterHide, CreatedBy: "u", CreatedAt: at(sec)}
	}
	update(t, s, func(tx parley.Tx) error {
		for _, f := range []*parley.Filter{
			mk("f2", "u", parley.FilterWord, "crypto", 2),
			mk("f1", "u", parley.FilterDomainDeny, "example.com", 1),
			mk("s1", "", parley.FilterRegex, "b.y now", 3),
		} {
			if err := tx.CreateFilter(f); err != nil {
				return err
			}
		}
		return nil
	})
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error {
		return tx.CreateFilter(mk("f3", "u", parley.FilterWord, "crypto", 4))
	}), parley.EConflict)
	// The same pattern for another owner is fine.
	update(t, s, func(tx parley.Tx) error { return tx.CreateFilter(mk("s2", "", parley.FilterWord, "crypto", 4)) })
	ids := func(owner string) []string {
		fs := view(t, s, func(tx parley.Tx) ([]*parley.Filter, error) { return tx.Filters(owner) })
		out := []string{}
		for _, f := range fs {
			out = append(out, f.ID)
		}
		return out
	}
	wantEqual(t, "account filters", ids("u"), []string{"f1", "f2"})
	wantEqual(t, "server filters", ids(""), []string{"s1", "s2"})
	fs := view(t, s, func(tx parley.Tx) ([]*parley.Filter, error) { return tx.Filters("u") })
	if f := fs[0]; f.Kind != parley.FilterDomainDeny || f.Pattern != "example.com" || f.Action != parley.FilterHide || !f.CreatedAt.Equal(at(1)) {
		t.Fatalf("filter: %+v", f)
	}
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error { return tx.DeleteFilter("", "f1") }), parley.ENotFound) // not the server's
	update(t, s, func(tx parley.Tx) error { return tx.DeleteFilter("u", "f1") })
	wantEqual(t, "after delete", ids("u"), []string{"f2"})
}

func testReportsQueue(t *testing.T, s parley.Store) {
	mkUsers(t, s, "a", "b", "mod")
	update(t, s, func(tx parley.Tx) error {
		for i, id := range []string{"r1", "r2", "r3", "r4"} {
			if err := tx.CreateReport(&parley.Report{ID: id, ReporterID: "a", TargetUserID: "b", Reason: "spam", CreatedAt: at(i + 1)}); err != nil {
				return err
			}
		}
		// A report the server files itself has no reporter.
		return tx.CreateReport(&parley.Report{ID: "r5", TargetUserID: "b", Reason: "other", Detail: "filter", CreatedAt: at(5)})
	})
	r := view(t, s, func(tx parley.Tx) (*parley.Report, error) { return tx.ReportByID("r5") })
	if r.Status != parley.ReportOpen || r.ReporterID != "" || r.ResolvedAt != nil {
		t.Fatalf("new report: %+v", r)
	}
	wantNotFound(t, s, "report", func(tx parley.Tx) (*parley.Report, error) { return tx.ReportByID("nope") })
	r.Status, r.Resolution, r.ResolvedBy, r.ResolvedAt, r.Note = parley.ReportResolved, "dismiss", "mod", ptr(at(9)), "fine"
	update(t, s, func(tx parley.Tx) error { return tx.ResolveReport(r) })
	got := view(t, s, func(tx parley.Tx) (*parley.Report, error) { return tx.ReportByID("r5") })
	if got.Status != parley.ReportResolved || got.Resolution != "dismiss" || got.ResolvedBy != "mod" || got.ResolvedAt == nil ||
		!got.ResolvedAt.Equal(at(9)) || got.Note != "fine" {
		t.Fatalf("resolved: %+v", got)
	}
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error { return tx.ResolveReport(&parley.Report{ID: "nope", Status: "resolved"}) }), parley.ENotFound)
	// The detail is rewritten alone (a reseal under a new data key).
	update(t, s, func(tx parley.Tx) error { return tx.SetReportDetail("r5", "filter, resealed") })
	got = view(t, s, func(tx parley.Tx) (*parley.Report, error) { return tx.ReportByID("r5") })
	if got.Detail != "filter, resealed" || got.Status != parley.ReportResolved || got.Note != "fine" {
		t.Fatalf("after a new detail: %+v", got)
	}
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error { return tx.SetReportDetail("nope", "x") }), parley.ENotFound)
	ids := func(f parley.ReportFilter) []string {
		rs := view(t, s, func(tx parley.Tx) ([]*parley.Report, error) { return tx.Reports(f) })
		out := []string{}
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	wantEqual(t, "open", ids(parley.ReportFilter{Status: parley.ReportOpen}), []string{"r4", "r3", "r2", "r1"})
	wantEqual(t, "resolved", ids(parley.ReportFilter{Status: parley.ReportResolved}), []string{"r5"})
	wantEqual(t, "all", ids(parley.ReportFilter{}), []string{"r5", "r4", "r3", "r2", "r1"})
	wantEqual(t, "page", ids(parley.ReportFilter{Status: parley.ReportOpen, Limit: 2, BeforeAt: at(3), BeforeID: "r3"}), []string{"r2", "r1"})
}
