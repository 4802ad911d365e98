package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/store/sqlite"
)

// entry is a message's chain entry of conv after the head (idx, head).
func entry(conv string, idx int64, head string) *parley.ChainEntry {
	e := &parley.ChainEntry{ConversationID: conv, Kind: parley.ChainMessage, MessageID: "m", Seq: idx, ActorID: "a",
		At: time.Unix(1700000000, 0).UTC(), ContentHash: parley.TextHash(conv)}
	e.Seal(idx, head)
	return e
}

// TestChainTakenIndexInBatch: the store writes a batch's chain entries at
// its end, in one statement; an update whose entry takes an index that
// exists fails alone, and the entries of the updates that shared its
// commit are stored.
func TestChainTakenIndexInBatch(t *testing.T) {
	db := openAt(t, filepath.Join(t.TempDir(), "parley.db"))
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	first := entry("c1", 0, "")
	if err := db.Update(ctx, func(tx parley.Tx) error { return tx.AppendChainEntry(first) }); err != nil {
		t.Fatal(err)
	}
	for round := range 20 {
		var wg sync.WaitGroup
		errs := make([]error, 16)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = db.Update(ctx, func(tx parley.Tx) error {
					if i == 5 {
						return tx.AppendChainEntry(entry("c1", 0, "")) // index 1 exists
					}
					conv := fmt.Sprintf("r%d-%d", round, i)
					idx, head, err := tx.ChainHead(conv)
					if err != nil {
						return err
					}
					return tx.AppendChainEntry(entry(conv, idx, head))
				})
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if i == 5 {
				if parley.ErrorCode(err) != parley.EConflict {
					t.Fatalf("taken index: %v, want %s", err, parley.EConflict)
				}
				continue
			}
			if err != nil {
				t.Fatalf("update %d beside a taken index: %v", i, err)
			}
			var got []*parley.ChainEntry
			err := db.View(ctx, func(tx parley.Tx) (err error) {
				got, err = tx.ChainEntries(fmt.Sprintf("r%d-%d", round, i), 0, 10)
				return err
			})
			if err != nil || len(got) != 1 || got[0].Index != 1 {
				t.Fatalf("chain of update %d beside a taken index: %+v, %v", i, got, err)
			}
		}
	}
}

// TestChainHeadsCacheForgotten: ChainHeads reads the heads the committer's
// cache lacks from the store, including entries appended earlier in the
// same update that the store has not written yet (due at the batch's end).
func TestChainHeadsCacheForgotten(t *testing.T) {
	ctx := context.Background()
	db := openAt(t, filepath.Join(t.TempDir(), "parley.db"))
	t.Cleanup(func() { db.Close() })
	a1 := entry("c1", 0, "")
	if err := db.Update(ctx, func(tx parley.Tx) error { return tx.AppendChainEntry(a1) }); err != nil {
		t.Fatal(err)
	}
	a2, b1 := entry("c1", 1, a1.Hash), entry("c2", 0, "")
	err := db.Update(ctx, func(tx parley.Tx) error {
		for _, e := range []*parley.ChainEntry{a2, b1} {
			if err := tx.AppendChainEntry(e); err != nil {
				return err
			}
		}
		sqlite.ForgetWriteCache(tx)
		got, err := tx.ChainHeads([]string{"c1", "c2", "c3"})
		if err != nil {
			return err
		}
		want := map[string]parley.ChainHead{"c1": {Index: 2, Hash: a2.Hash}, "c2": {Index: 1, Hash: b1.Hash}, "c3": {}}
		if !reflect.DeepEqual(got, want) {
			return fmt.Errorf("heads after the cache was emptied: %v, want %v", got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
