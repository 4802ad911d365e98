package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/store/sqlite"
	"github.com/parleyhq/parley/store/storetest"
)

func openAt(tb testing.TB, path string) *sqlite.DB {
	tb.Helper()
	db, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	return db
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) parley.Store {
		db := openAt(t, filepath.Join(t.TempDir(), "parley.db"))
		t.Cleanup(func() { db.Close() })
		return db
	})
}

// TestReopen checks that data survives Close and that opening an existing
// database applies no migration twice.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "parley.db")
	now := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	for round := range 3 {
		db := openAt(t, path)
		id := fmt.Sprint("u", round)
		err := db.Update(ctx, func(tx parley.Tx) error {
			if err := tx.CreateUser(&parley.User{ID: id, Handle: id, Kind: parley.KindPerson,
				DMPolicy: parley.PolicyOpen, CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
			if round == 0 {
				if err := tx.CreateConversation(&parley.Conversation{ID: "c1", Kind: parley.ConversationGroup,
					CreatedBy: id, CreatedAt: now, LastActivityAt: now}); err != nil {
					return err
				}
			}
			seq, err := tx.AllocSeq("c1", now)
			if err != nil {
				return err
			}
			if err := tx.CreateMessage(&parley.Message{ID: fmt.Sprint("m", seq), ConversationID: "c1", Seq: seq,
				SenderID: id, Kind: parley.MessageText, Text: "hi", CreatedAt: now}); err != nil {
				return err
			}
			// The newest position is an event that is then deleted.
			return tx.AppendEvent(&parley.Event{Type: parley.EventReactionAdded, ConversationID: "c1", CreatedAt: now})
		})
		// The store may be writing (a search index step when its writer is
		// idle): a second writer waits its turn.
		raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec(`DELETE FROM events`); err != nil {
			t.Fatal(err)
		}
		raw.Close()
		if err != nil {
			t.Fatalf("round %d: Update: %v", round, err)
		}
		err = db.View(ctx, func(tx parley.Tx) error {
			for r := 0; r <= round; r++ {
				u, err := tx.UserByID(fmt.Sprint("u", r))
				if err != nil {
					return err
				}
				if !u.CreatedAt.Equal(now) {
					return fmt.Errorf("user %s CreatedAt %v", u.ID, u.CreatedAt)
				}
			}
			ms, err := tx.Messages(parley.MessageRange{ConversationID: "c1"})
			if err != nil {
				return err
			}
			if len(ms) != round+1 || ms[round].Seq != int64(round+1) {
				return fmt.Errorf("%d messages, want %d", len(ms), round+1)
			}
			// Positions keep growing across restarts, even past an
			// event that was deleted by hand (as retention will).
			// Each round's message is followed by an event at the next
			// position, deleted before the reopen: that position is never
			// handed out again.
			if round > 0 && ms[round].Pos <= ms[round-1].Pos+1 {
				return fmt.Errorf("position %d reused after the event holding it was deleted", ms[round].Pos)
			}
			for i := 1; i < len(ms); i++ {
				if ms[i].Pos <= ms[i-1].Pos {
					return fmt.Errorf("position went back after reopen: %d then %d", ms[i-1].Pos, ms[i].Pos)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("round %d: View: %v", round, err)
		}
		if err := db.Close(); err != nil {
			t.Fatalf("round %d: Close: %v", round, err)
		}
	}
}

// TestColdCacheNoDeadlock runs the first statements of a store, which
// are not prepared yet, in Updates and in concurrent Views on a pool of one
// read connection: preparing must not wait for a connection the caller holds.
func TestColdCacheNoDeadlock(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "parley.db"), sqlite.Options{ReadConns: 1, MaxBatch: 1})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := range 4 {
			wg.Go(func() {
				errs <- db.Update(ctx, func(tx parley.Tx) error {
					_, _, err := tx.FollowCounts(fmt.Sprint("u", i))
					return err
				})
			})
			wg.Go(func() {
				errs <- db.View(ctx, func(tx parley.Tx) error {
					_, _, err := tx.FollowCounts(fmt.Sprint("u", i))
					return err
				})
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		// Closing would wait for the stuck committer: leak the store.
		t.Fatal("deadlock: the store did not answer in 30s")
	}
}

// BenchmarkUpdateParallel measures how many messages per second concurrent
// senders store, each message being one Update with AllocSeq, CreateMessage
// and AppendEvent.
func BenchmarkUpdateParallel(b *testing.B) {
	ctx := context.Background()
	db := openAt(b, filepath.Join(b.TempDir(), "parley.db"))
	defer db.Close()
	const convs = 16
	now := time.Now()
	err := db.Update(ctx, func(tx parley.Tx) error {
		for i := range convs {
			err := tx.CreateConversation(&parley.Conversation{ID: fmt.Sprint("c", i), Kind: parley.ConversationGroup,
				CreatedBy: "bench", CreatedAt: now, LastActivityAt: now})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			conv := fmt.Sprint("c", i%convs)
			err := db.Update(ctx, func(tx parley.Tx) error {
				at := time.Now()
				seq, err := tx.AllocSeq(conv, at)
				if err != nil {
					return err
				}
				m := &parley.Message{ID: fmt.Sprint("m", i), ConversationID: conv, Seq: seq, SenderID: "bench",
					ClientID: fmt.Sprint("k", i), Kind: parley.MessageText, Text: "hello, benchmark", CreatedAt: at}
				if err := tx.CreateMessage(m); err != nil {
					return err
				}
				return tx.AppendEvent(&parley.Event{Type: parley.EventMessageCreated, ConversationID: conv,
					ActorID: "bench", MessageID: m.ID, Seq: seq, CreatedAt: at})
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
