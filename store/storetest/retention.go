package storetest

import (
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

// mkExpiring stores a text message expiring at expires (nil: never).
func mkExpiring(t *testing.T, s parley.Store, convID, text string, when time.Time, expires *time.Time) *parley.Message {
	t.Helper()
	m := &parley.Message{ConversationID: convID, SenderID: "a", Kind: parley.MessageText, Text: text, CreatedAt: when, ExpiresAt: expires}
	update(t, s, func(tx parley.Tx) error {
		seq, err := tx.AllocSeq(convID, when)
		if err != nil {
			return err
		}
		m.ID, m.Seq = convID+"-"+text, seq
		return tx.CreateMessage(m)
	})
	return m
}

func ids(ms []*parley.Message) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

func testExpiredMessages(t *testing.T, s parley.Store) {
	mkConversation(t, s, "c1", "a")
	mkConversation(t, s, "c2", "a")
	late := mkExpiring(t, s, "c1", "late", at(1), ptr(at(100)))
	mkExpiring(t, s, "c1", "never", at(2), nil)
	early := mkExpiring(t, s, "c2", "early", at(3), ptr(at(50)))
	tie := mkExpiring(t, s, "c1", "tie", at(4), ptr(at(50)))
	gone := mkExpiring(t, s, "c2", "gone", at(5), ptr(at(10)))
	update(t, s, func(tx parley.Tx) error { return tx.PurgeMessage(gone.ID, at(11)) })

	got := view(t, s, func(tx parley.Tx) ([]*parley.Message, error) {
		return tx.ExpiredMessages(at(60), parley.ExpiryCursor{}, 10)
	})
	wantEqual(t, "due at 60", ids(got), []string{early.ID, tie.ID})
	if got[0].ExpiresAt == nil || !got[0].ExpiresAt.Equal(at(50)) {
		t.Errorf("ExpiresAt = %v, want %v", got[0].ExpiresAt, at(50))
	}
	// Pages: one at a time, the cursor breaking the tie by position.
	var all []string
	cur := parley.ExpiryCursor{}
	for {
		page := view(t, s, func(tx parley.Tx) ([]*parley.Message, error) { return tx.ExpiredMessages(at(100), cur, 1) })
		if len(page) == 0 {
			break
		}
		all = append(all, page[0].ID)
		cur = parley.ExpiryCursor{ExpiresAt: *page[0].ExpiresAt, Pos: page[0].Pos}
	}
	wantEqual(t, "paged", all, []string{early.ID, tie.ID, late.ID})

	update(t, s, func(tx parley.Tx) error { return tx.PurgeMessage(early.ID, at(61)) })
	got = view(t, s, func(tx parley.Tx) ([]*parley.Message, error) {
		return tx.ExpiredMessages(at(60), parley.ExpiryCursor{}, 10)
	})
	wantEqual(t, "after a purge", ids(got), []string{tie.ID})
}

func testRetentionCandidates(t *testing.T, s parley.Store) {
	mkConversation(t, s, "c1", "a")
	m1 := mkExpiring(t, s, "c1", "one", at(1), nil)
	m2 := mkExpiring(t, s, "c1", "two", at(2), nil)
	m3 := mkExpiring(t, s, "c1", "three", at(3), nil)
	mkExpiring(t, s, "c1", "four", at(40), nil)
	update(t, s, func(tx parley.Tx) error { return tx.PurgeMessage(m2.ID, at(5)) })
	got := view(t, s, func(tx parley.Tx) ([]*parley.Message, error) { return tx.RetentionCandidates(0, at(10), 10) })
	wantEqual(t, "before 10", ids(got), []string{m1.ID, m3.ID})
	got = view(t, s, func(tx parley.Tx) ([]*parley.Message, error) { return tx.RetentionCandidates(m1.Pos, at(10), 1) })
	wantEqual(t, "after m1", ids(got), []string{m3.ID})
}

func testMessageOpens(t *testing.T, s parley.Store) {
	mkConversation(t, s, "c1", "a")
	m := mkExpiring(t, s, "c1", "photo", at(1), nil)
	other := mkExpiring(t, s, "c1", "other", at(2), nil)
	for i, want := range []bool{true, false} {
		var first bool
		update(t, s, func(tx parley.Tx) error {
			var err error
			first, err = tx.RecordOpen(m.ID, "b", at(3+i))
			return err
		})
		if first != want {
			t.Errorf("open %d: first = %v, want %v", i, first, want)
		}
	}
	update(t, s, func(tx parley.Tx) error { _, err := tx.RecordOpen(m.ID, "c", at(9)); return err })
	got := view(t, s, func(tx parley.Tx) (map[string][]string, error) { return tx.MessageOpens([]string{m.ID, other.ID}) })
	wantEqual(t, "opens", got, map[string][]string{m.ID: {"b", "c"}})
}

func testConversationTimer(t *testing.T, s parley.Store) {
	c := newConversation("c1", "a")
	c.DisappearAfter = time.Hour
	update(t, s, func(tx parley.Tx) error { return tx.CreateConversation(c) })
	got := view(t, s, func(tx parley.Tx) (*parley.Conversation, error) { return tx.ConversationByID("c1") })
	if got.DisappearAfter != time.Hour {
		t.Fatalf("DisappearAfter = %v, want 1h", got.DisappearAfter)
	}
	update(t, s, func(tx parley.Tx) error {
		c, err := tx.ConversationByID("c1")
		if err != nil {
			return err
		}
		c.DisappearAfter = 5 * time.Minute
		if err := tx.UpdateConversation(c); err != nil {
			return err
		}
		// Read your writes inside the transaction too.
		if c, err = tx.ConversationByID("c1"); err != nil || c.DisappearAfter != 5*time.Minute {
			t.Errorf("in tx: %v, %v", c, err)
		}
		return nil
	})
	got = view(t, s, func(tx parley.Tx) (*parley.Conversation, error) { return tx.ConversationByID("c1") })
	if got.DisappearAfter != 5*time.Minute {
		t.Fatalf("DisappearAfter = %v, want 5m", got.DisappearAfter)
	}
	ms := []*parley.Message{{ID: "m", ConversationID: "c1", Seq: 1, SenderID: "a", Kind: parley.MessageImage,
		CreatedAt: at(1), ExpiresAt: ptr(at(301)), ViewOnce: true}}
	update(t, s, func(tx parley.Tx) error { return tx.CreateMessage(ms[0]) })
	m := view(t, s, func(tx parley.Tx) (*parley.Message, error) { return tx.MessageByID("m") })
	wantEqual(t, "message", m, ms[0])
}

func testLegalHolds(t *testing.T, s parley.Store) {
	h1 := &parley.LegalHold{ID: "h1", Scope: parley.HoldConversation, TargetID: "c1", Reason: "case 7", CreatedBy: "op", CreatedAt: at(1)}
	h2 := &parley.LegalHold{ID: "h2", Scope: parley.HoldContact, TargetID: "k1", BusinessID: "biz", CreatedBy: "boss", CreatedAt: at(2)}
	h3 := &parley.LegalHold{ID: "h3", Scope: parley.HoldAccount, TargetID: "u1", CreatedBy: "op", CreatedAt: at(3)}
	update(t, s, func(tx parley.Tx) error {
		for _, h := range []*parley.LegalHold{h1, h2, h3} {
			if err := tx.CreateHold(h); err != nil {
				return err
			}
		}
		return nil
	})
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error { return tx.CreateHold(h1) }), parley.EConflict)
	got := view(t, s, func(tx parley.Tx) (*parley.LegalHold, error) { return tx.Hold("h2") })
	wantEqual(t, "Hold", got, h2)
	wantNotFound(t, s, "Hold(nope)", func(tx parley.Tx) (*parley.LegalHold, error) { return tx.Hold("nope") })

	update(t, s, func(tx parley.Tx) error { return tx.ReleaseHold("h1", "op2", at(9)) })
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error { return tx.ReleaseHold("h1", "op2", at(10)) }), parley.ENotFound)
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error { return tx.ReleaseHold("nope", "op2", at(10)) }), parley.ENotFound)
	active := view(t, s, func(tx parley.Tx) ([]*parley.LegalHold, error) { return tx.ActiveHolds() })
	wantEqual(t, "active", active, []*parley.LegalHold{h2, h3})
	released := view(t, s, func(tx parley.Tx) (*parley.LegalHold, error) { return tx.Hold("h1") })
	if released.ReleasedBy != "op2" || released.ReleasedAt == nil || !released.ReleasedAt.Equal(at(9)) {
		t.Errorf("released: %s", show(released))
	}
	all := view(t, s, func(tx parley.Tx) ([]*parley.LegalHold, error) { return tx.Holds("", 0) })
	wantEqual(t, "all holds", holdIDs(all), []string{"h3", "h2", "h1"})
	biz := view(t, s, func(tx parley.Tx) ([]*parley.LegalHold, error) { return tx.Holds("biz", 10) })
	wantEqual(t, "business holds", holdIDs(biz), []string{"h2"})
}

func holdIDs(hs []*parley.LegalHold) []string {
	out := []string{}
	for _, h := range hs {
		out = append(out, h.ID)
	}
	return out
}

func testRetentionPolicies(t *testing.T, s parley.Store) {
	p1 := &parley.RetentionPolicy{BusinessID: "b1", Kind: parley.RetentionCustomer, MaxAge: 48 * time.Hour,
		AfterResolution: 24 * time.Hour, UpdatedBy: "u", UpdatedAt: at(1)}
	p2 := &parley.RetentionPolicy{BusinessID: "b2", Kind: parley.RetentionCustomer, MaxAge: time.Hour, UpdatedBy: "v", UpdatedAt: at(2)}
	update(t, s, func(tx parley.Tx) error {
		if err := tx.PutRetentionPolicy(p1); err != nil {
			return err
		}
		return tx.PutRetentionPolicy(p2)
	})
	got := view(t, s, func(tx parley.Tx) ([]*parley.RetentionPolicy, error) { return tx.RetentionPolicies("b1") })
	wantEqual(t, "b1", got, []*parley.RetentionPolicy{p1})
	p1.MaxAge = 0
	update(t, s, func(tx parley.Tx) error { return tx.PutRetentionPolicy(p1) })
	got = view(t, s, func(tx parley.Tx) ([]*parley.RetentionPolicy, error) { return tx.RetentionPolicies("") })
	wantEqual(t, "all", got, []*parley.RetentionPolicy{p1, p2})
	update(t, s, func(tx parley.Tx) error { return tx.DeleteRetentionPolicy("b2", parley.RetentionCustomer) })
	update(t, s, func(tx parley.Tx) error { return tx.DeleteRetentionPolicy("b2", parley.RetentionCustomer) })
	got = view(t, s, func(tx parley.Tx) ([]*parley.RetentionPolicy, error) { return tx.RetentionPolicies("") })
	wantEqual(t, "after delete", got, []*parley.RetentionPolicy{p1})
}

func testRetentionJobs(t *testing.T, s parley.Store) {
	j1 := &parley.RetentionJob{ID: "j1", State: parley.JobRunning, CreatedBy: "op", CreatedAt: at(1)}
	j2 := &parley.RetentionJob{ID: "j2", BusinessID: "b1", DryRun: true, State: parley.JobRunning, CreatedAt: at(2)}
	j3 := &parley.RetentionJob{ID: "j3", State: parley.JobRunning, CreatedAt: at(3)}
	update(t, s, func(tx parley.Tx) error {
		for _, j := range []*parley.RetentionJob{j1, j2, j3} {
			if err := tx.CreateRetentionJob(j); err != nil {
				return err
			}
		}
		return nil
	})
	j1.State, j1.Scanned, j1.Purged, j1.HeldSkipped, j1.Cursor, j1.FinishedAt = parley.JobDone, 10, 7, 2, 99, ptr(at(5))
	update(t, s, func(tx parley.Tx) error { return tx.UpdateRetentionJob(j1) })
	got := view(t, s, func(tx parley.Tx) (*parley.RetentionJob, error) { return tx.RetentionJob("j1") })
	wantEqual(t, "job", got, j1)
	wantNotFound(t, s, "RetentionJob(nope)", func(tx parley.Tx) (*parley.RetentionJob, error) { return tx.RetentionJob("nope") })
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error {
		return tx.UpdateRetentionJob(&parley.RetentionJob{ID: "nope", State: parley.JobDone})
	}), parley.ENotFound)
	server := view(t, s, func(tx parley.Tx) ([]*parley.RetentionJob, error) { return tx.RetentionJobs("", 10) })
	wantEqual(t, "server jobs", server, []*parley.RetentionJob{j3, j1})
	biz := view(t, s, func(tx parley.Tx) ([]*parley.RetentionJob, error) { return tx.RetentionJobs("b1", 10) })
	wantEqual(t, "business jobs", biz, []*parley.RetentionJob{j2})
	running := view(t, s, func(tx parley.Tx) ([]*parley.RetentionJob, error) { return tx.RunningRetentionJobs() })
	wantEqual(t, "running", running, []*parley.RetentionJob{j2, j3})
}
