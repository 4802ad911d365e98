package app_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/store/sqlite"
)

// TestReaperStoppedMidwayResumes stops the reaper right after its first
// batch commits (the process going down between batches), then runs it
// again on a store reopened from the same file: every expired message is
// purged exactly once — one message.expired event each — none is left,
// and a third pass does nothing.
func TestReaperStoppedMidwayResumes(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "parley.db")
	db, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	var mu sync.Mutex
	expiredEvents := map[string]int{}
	ctx, stop := context.WithCancel(context.Background())
	notify := func(evs []*parley.Event) {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range evs {
			if e.Type == parley.EventMessageExpired {
				expiredEvents[e.MessageID]++
				stop() // the first batch committed: go down now
			}
		}
	}
	a := app.New(db, app.Config{Password: cheap}, app.WithClock(clock.Now), app.WithNotify(notify))
	reg := func(h string) *app.Actor {
		auth, err := a.Register(context.Background(), app.Registration{Handle: h, Password: "correct horse battery"})
		if err != nil {
			t.Fatal(err)
		}
		actor, err := a.Authenticate(context.Background(), auth.Token)
		if err != nil {
			t.Fatal(err)
		}
		return actor
	}
	ann, _ := reg("ann"), reg("bob")
	conv, _, err := a.CreateDirect(context.Background(), ann, "bob")
	if err != nil {
		t.Fatal(err)
	}
	const n = 3*app.ReapBatch + 17
	sent, expires := clock.Now(), clock.Now().Add(time.Minute)
	if err := db.Update(context.Background(), func(tx parley.Tx) error {
		for i := 0; i < n; i++ {
			seq, err := tx.AllocSeq(conv.ID, sent)
			if err != nil {
				return err
			}
			if err := tx.CreateMessage(&parley.Message{ID: fmt.Sprintf("m%05d", i), ConversationID: conv.ID, Seq: seq, SenderID: ann.User.ID,
				Kind: parley.MessageText, Text: "gone soon", CreatedAt: sent, ExpiresAt: &expires}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	st, err := a.Reap(ctx)
	if err == nil || st.Purged != app.ReapBatch {
		t.Fatalf("first pass: %+v, %v; want stopped after one batch of %d", st, err, app.ReapBatch)
	}
	db.Close()

	db, err = sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a = app.New(db, app.Config{Password: cheap}, app.WithClock(clock.Now), app.WithNotify(notify))
	st, err = a.Reap(context.Background())
	if err != nil || st.Purged != n-app.ReapBatch {
		t.Fatalf("second pass: %+v, %v; want the other %d", st, err, n-app.ReapBatch)
	}
	if st, err := a.Reap(context.Background()); err != nil || st != (app.ReapStats{}) {
		t.Fatalf("third pass: %+v, %v", st, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(expiredEvents) != n {
		t.Fatalf("%d messages got a message.expired event, want %d", len(expiredEvents), n)
	}
	for id, k := range expiredEvents {
		if k != 1 {
			t.Fatalf("message %s got %d message.expired events", id, k)
		}
	}
	if err := db.View(context.Background(), func(tx parley.Tx) error {
		left, err := tx.ExpiredMessages(clock.Now(), parley.ExpiryCursor{}, 10)
		if err != nil {
			return err
		}
		if len(left) != 0 {
			t.Errorf("%d expired messages left", len(left))
		}
		ms, err := tx.Messages(parley.MessageRange{ConversationID: conv.ID, Limit: n + 10})
		if err != nil {
			return err
		}
		for i, m := range ms {
			if m.Seq != int64(i+1) || m.Text != "" || m.DeletedAt == nil {
				t.Fatalf("message %d after the passes: %+v", i, m)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
