package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

// chainEntry returns a sealed entry following (idx, head).
func chainEntry(conv, kind string, idx int64, head string, when time.Time) *parley.ChainEntry {
	e := &parley.ChainEntry{ConversationID: conv, Kind: kind, MessageID: "m", Seq: idx, ActorID: "a", SubjectID: "b", At: when,
		ContentHash: parley.TextHash(kind)}
	e.Seal(idx, head)
	return e
}

// appendNext appends an entry after the current head in tx.
func appendNext(tx parley.Tx, conv, kind string, when time.Time) (*parley.ChainEntry, error) {
	idx, head, err := tx.ChainHead(conv)
	if err != nil {
		return nil, err
	}
	e := chainEntry(conv, kind, idx, head, when)
	return e, tx.AppendChainEntry(e)
}

func testChainAppend(t *testing.T, s parley.Store) {
	idx, head := int64(-1), "x"
	update(t, s, func(tx parley.Tx) error {
		var err error
		idx, head, err = tx.ChainHead("c1")
		return err
	})
	if idx != 0 || head != "" {
		t.Fatalf("empty chain: head (%d, %q), want (0, \"\")", idx, head)
	}
	var want []*parley.ChainEntry
	update(t, s, func(tx parley.Tx) error {
		want = want[:0]
		// Two appends in one transaction: the second sees the first.
		for i, kind := range []string{parley.ChainCreate, parley.ChainMessage} {
			e, err := appendNext(tx, "c1", kind, at(i))
			if err != nil {
				return err
			}
			want = append(want, e)
		}
		// An entry without content hash stores none.
		e := &parley.ChainEntry{ConversationID: "c2", Kind: parley.ChainUnsend, ActorID: "a", At: at(3)}
		e.Seal(0, "")
		want = append(want, e)
		return tx.AppendChainEntry(e)
	})
	var third *parley.ChainEntry
	update(t, s, func(tx parley.Tx) error {
		var err error
		third, err = appendNext(tx, "c1", parley.ChainEdit, at(5))
		return err
	})
	if third.Index != 3 || third.PrevHash != want[1].Hash {
		t.Fatalf("third entry: index %d prev %s, want 3 after %s", third.Index, third.PrevHash, want[1].Hash)
	}
	got := view(t, s, func(tx parley.Tx) ([]*parley.ChainEntry, error) { return tx.ChainEntries("c1", 0, 100) })
	wantEqual(t, "ChainEntries(c1)", got, []*parley.ChainEntry{want[0], want[1], third})
	got = view(t, s, func(tx parley.Tx) ([]*parley.ChainEntry, error) { return tx.ChainEntries("c1", 1, 1) })
	wantEqual(t, "ChainEntries(c1, after 1, limit 1)", got, []*parley.ChainEntry{want[1]})
	got = view(t, s, func(tx parley.Tx) ([]*parley.ChainEntry, error) { return tx.ChainEntries("c2", 0, 100) })
	wantEqual(t, "ChainEntries(c2)", got, []*parley.ChainEntry{want[2]})
	// A read transaction sees the committed head.
	err := s.View(ctx, func(tx parley.Tx) error {
		idx, head, err := tx.ChainHead("c1")
		if err == nil && (idx != 3 || head != third.Hash) {
			t.Errorf("ChainHead in View: (%d, %s), want (3, %s)", idx, head, third.Hash)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// An index that exists is a conflict.
	err = s.Update(ctx, func(tx parley.Tx) error {
		return tx.AppendChainEntry(chainEntry("c1", parley.ChainEdit, 2, third.Hash, at(6)))
	})
	wantCode(t, err, parley.EConflict)
	// Many entries in one transaction, each after the one before.
	var long []*parley.ChainEntry
	update(t, s, func(tx parley.Tx) error {
		long = long[:0]
		for i := range 91 {
			e, err := appendNext(tx, "long", parley.ChainMessage, at(i))
			if err != nil {
				return err
			}
			long = append(long, e)
		}
		return nil
	})
	got = view(t, s, func(tx parley.Tx) ([]*parley.ChainEntry, error) { return tx.ChainEntries("long", 0, 100) })
	wantEqual(t, "ChainEntries(long)", got, long)
}

// testChainRollback checks that a failed update takes its entries and its
// view of the head with it, also when it shared a commit with others.
func testChainRollback(t *testing.T, s parley.Store) {
	update(t, s, func(tx parley.Tx) error {
		_, err := appendNext(tx, "c1", parley.ChainCreate, at(0))
		return err
	})
	err := s.Update(ctx, func(tx parley.Tx) error {
		if _, err := appendNext(tx, "c1", parley.ChainMessage, at(1)); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("failing update: %v", err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Update(ctx, func(tx parley.Tx) error {
				if _, err := appendNext(tx, "c1", parley.ChainMessage, at(2+i)); err != nil {
					return err
				}
				if i%2 == 1 {
					return errBoom
				}
				return nil
			})
		}()
	}
	wg.Wait()
	ok := 0
	for i, err := range errs {
		if i%2 == 1 && !errors.Is(err, errBoom) || i%2 == 0 && err != nil {
			t.Fatalf("update %d: %v", i, err)
		}
		if err == nil {
			ok++
		}
	}
	got := view(t, s, func(tx parley.Tx) ([]*parley.ChainEntry, error) { return tx.ChainEntries("c1", 0, 100) })
	if len(got) != 1+ok {
		t.Fatalf("%d entries, want %d", len(got), 1+ok)
	}
	prev := parley.ChainGenesis
	for i, e := range got {
		if e.Index != int64(i+1) || e.PrevHash != prev || e.Hash != e.ComputeHash() {
			t.Fatalf("entry %d: index %d, prev %s (want %s), hash ok %v", i, e.Index, e.PrevHash, prev, e.Hash == e.ComputeHash())
		}
		prev = e.Hash
	}
}

func testExportJobs(t *testing.T, s parley.Store) {
	j1 := &parley.ExportJob{ID: "j1", OwnerID: "a", Scope: parley.ExportConversation, ConversationID: "c1", State: parley.ExportQueued, CreatedAt: at(1)}
	j2 := &parley.ExportJob{ID: "j2", OwnerID: "a", Scope: parley.ExportAccount, State: parley.ExportRunning, Total: 10, CreatedAt: at(2)}
	j3 := &parley.ExportJob{ID: "j3", OwnerID: "b", Scope: parley.ExportConversation, ConversationID: "c1", BusinessID: "biz",
		State: parley.ExportDone, Done: 5, Total: 5, File: "j3.zip", Size: 99, CreatedAt: at(3),
		FinishedAt: at(4), ExpiresAt: at(100)}
	update(t, s, func(tx parley.Tx) error {
		for _, j := range []*parley.ExportJob{j1, j2, j3} {
			if err := tx.CreateExportJob(j); err != nil {
				return err
			}
		}
		return nil
	})
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error { return tx.CreateExportJob(j1) }), parley.EConflict)
	wantEqual(t, "ExportJobByID(j3)", view(t, s, func(tx parley.Tx) (*parley.ExportJob, error) { return tx.ExportJobByID("j3") }), j3)
	wantNotFound(t, s, "ExportJobByID(nope)", func(tx parley.Tx) (*parley.ExportJob, error) { return tx.ExportJobByID("nope") })

	j1.State, j1.Done, j1.Total, j1.Error, j1.File, j1.Size = parley.ExportDone, 7, 7, "", "j1.zip", 1234
	j1.FinishedAt, j1.ExpiresAt = at(5), at(50)
	update(t, s, func(tx parley.Tx) error { return tx.UpdateExportJob(j1) })
	wantEqual(t, "ExportJobByID(j1) after update", view(t, s, func(tx parley.Tx) (*parley.ExportJob, error) { return tx.ExportJobByID("j1") }), j1)
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error { return tx.UpdateExportJob(&parley.ExportJob{ID: "nope"}) }), parley.ENotFound)

	list := view(t, s, func(tx parley.Tx) ([]*parley.ExportJob, error) { return tx.ExportJobs("a", 10) })
	wantEqual(t, "ExportJobs(a)", list, []*parley.ExportJob{j2, j1})
	list = view(t, s, func(tx parley.Tx) ([]*parley.ExportJob, error) { return tx.ExportJobs("a", 1) })
	wantEqual(t, "ExportJobs(a, 1)", list, []*parley.ExportJob{j2})

	ids := func(js []*parley.ExportJob) []string {
		out := []string{}
		for _, j := range js {
			out = append(out, j.ID)
		}
		return out
	}
	list = view(t, s, func(tx parley.Tx) ([]*parley.ExportJob, error) { return tx.ExportJobsExpiredBefore(at(60), false, 10) })
	wantEqual(t, "expired before 60s", ids(list), []string{"j1"})
	list = view(t, s, func(tx parley.Tx) ([]*parley.ExportJob, error) { return tx.ExportJobsExpiredBefore(at(60), true, 10) })
	wantEqual(t, "expired before 60s or unfinished", ids(list), []string{"j1", "j2"})
	list = view(t, s, func(tx parley.Tx) ([]*parley.ExportJob, error) { return tx.ExportJobsExpiredBefore(at(200), false, 10) })
	wantEqual(t, "expired before 200s", ids(list), []string{"j1", "j3"})

	update(t, s, func(tx parley.Tx) error { return tx.DeleteExportJob("j1") })
	wantNotFound(t, s, "ExportJobByID(j1) after delete", func(tx parley.Tx) (*parley.ExportJob, error) { return tx.ExportJobByID("j1") })
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error { return tx.DeleteExportJob("j1") }), parley.ENotFound)
}

func testMemberships(t *testing.T, s parley.Store) {
	mkUsers(t, s, "a", "b")
	mkConversation(t, s, "c1", "a")
	mkConversation(t, s, "c2", "b")
	mkConversation(t, s, "c3", "b")
	m1, m2, m3 := newMember("c1", "a"), newMember("c2", "a"), newMember("c2", "b")
	m2.Status, m2.JoinedAt = parley.StatusLeft, at(1)
	update(t, s, func(tx parley.Tx) error {
		for _, m := range []*parley.Member{m1, m2, m3} {
			if err := tx.PutMember(m); err != nil {
				return err
			}
		}
		return nil
	})
	got := view(t, s, func(tx parley.Tx) ([]*parley.Member, error) { return tx.Memberships("a") })
	wantEqual(t, "Memberships(a)", got, []*parley.Member{m1, m2})
	got = view(t, s, func(tx parley.Tx) ([]*parley.Member, error) { return tx.Memberships("nobody") })
	wantEqual(t, "Memberships(nobody)", got, []*parley.Member{})
}
