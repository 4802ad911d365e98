package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

func testAppendEvent(t *testing.T, s parley.Store) {
	var pos []int64
	appendEvents := func(n int) {
		update(t, s, func(tx parley.Tx) error {
			for i := range n {
				e := &parley.Event{Type: parley.EventMessageCreated, ConversationID: "c1", ActorID: "a",
					MessageID: fmt.Sprint("m", i), Seq: int64(i + 1), CreatedAt: at(i)}
				if i%2 == 1 {
					e.Type, e.UserID, e.Data = parley.EventFolderChanged, "a", json.RawMessage(`{"folder":"archived"}`)
				}
				if err := tx.AppendEvent(e); err != nil {
					return err
				}
				pos = append(pos, e.Pos)
			}
			return nil
		})
	}
	appendEvents(3)
	appendEvents(2)
	if len(pos) != 5 || pos[0] <= 0 {
		t.Fatalf("positions %v", pos)
	}
	for i := 1; i < len(pos); i++ {
		if pos[i] <= pos[i-1] {
			t.Fatalf("positions do not increase: %v", pos)
		}
	}
}

// userExists reports whether a user with id exists.
func userExists(t *testing.T, s parley.Store, id string) bool {
	t.Helper()
	_, err := viewErr(s, func(tx parley.Tx) (*parley.User, error) { return tx.UserByID(id) })
	if err != nil && !parley.IsNotFound(err) {
		t.Fatalf("UserByID(%s): %v", id, err)
	}
	return err == nil
}

// writeAll is an update function that writes a user, a conversation, a
// message and an event, all named after id.
func writeAll(tx parley.Tx, id string) error {
	if err := tx.CreateUser(newUser(id)); err != nil {
		return err
	}
	if err := tx.CreateConversation(newConversation("conv-"+id, id)); err != nil {
		return err
	}
	if err := tx.PutMember(newMember("conv-"+id, id)); err != nil {
		return err
	}
	seq, err := tx.AllocSeq("conv-"+id, at(1))
	if err != nil {
		return err
	}
	m := &parley.Message{ID: "msg-" + id, ConversationID: "conv-" + id, Seq: seq, SenderID: id,
		Kind: parley.MessageText, Text: "hi", CreatedAt: at(1)}
	if err := tx.CreateMessage(m); err != nil {
		return err
	}
	return tx.AppendEvent(&parley.Event{Type: parley.EventMessageCreated, ConversationID: "conv-" + id,
		MessageID: m.ID, Seq: seq, CreatedAt: at(1)})
}

// wantNothingOf fails if anything writeAll(id) writes exists.
func wantNothingOf(t *testing.T, s parley.Store, id string) {
	t.Helper()
	if userExists(t, s, id) {
		t.Errorf("user %s survived a failed update", id)
	}
	wantNotFound(t, s, "conversation of "+id, func(tx parley.Tx) (*parley.Conversation, error) {
		return tx.ConversationByID("conv-" + id)
	})
	wantNotFound(t, s, "member of "+id, func(tx parley.Tx) (*parley.Member, error) { return tx.Member("conv-"+id, id) })
	wantNotFound(t, s, "message of "+id, func(tx parley.Tx) (*parley.Message, error) { return tx.MessageByID("msg-" + id) })
}

// wantAllOf fails unless everything writeAll(id) writes exists.
func wantAllOf(t *testing.T, s parley.Store, id string) {
	t.Helper()
	if !userExists(t, s, id) {
		t.Errorf("user %s is missing", id)
	}
	c := view(t, s, func(tx parley.Tx) (*parley.Conversation, error) { return tx.ConversationByID("conv-" + id) })
	if c.LastSeq != 1 {
		t.Errorf("conversation of %s: LastSeq %d", id, c.LastSeq)
	}
	view(t, s, func(tx parley.Tx) (*parley.Message, error) { return tx.MessageByID("msg-" + id) })
}

func testErrorRollsBack(t *testing.T, s parley.Store) {
	err := s.Update(ctx, func(tx parley.Tx) error {
		if err := writeAll(tx, "x"); err != nil {
			return err
		}
		return fmt.Errorf("wrapped: %w", errBoom)
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Update returned %v, want the function's error", err)
	}
	wantNothingOf(t, s, "x")

	// The store still works, and the same writes now succeed.
	update(t, s, func(tx parley.Tx) error { return writeAll(tx, "x") })
	wantAllOf(t, s, "x")
}

func testPanicRollsBack(t *testing.T, s parley.Store) {
	err := s.Update(ctx, func(tx parley.Tx) error {
		if err := writeAll(tx, "x"); err != nil {
			return err
		}
		panic("kaboom")
	})
	if err == nil {
		t.Fatal("Update of a panicking function returned nil")
	}
	wantNothingOf(t, s, "x")
	update(t, s, func(tx parley.Tx) error { return writeAll(tx, "y") })
	wantAllOf(t, s, "y")
}

// testBatchIsolation queues failing and succeeding updates at once, so that
// a group-committing store runs them in one batch: the failures must undo
// only their own writes.
func testBatchIsolation(t *testing.T, s parley.Store) {
	mkUsers(t, s, "taken")
	release := make(chan struct{})
	started := make(chan struct{})
	var wg sync.WaitGroup
	errs := map[string]error{}
	var mu sync.Mutex
	run := func(id string, fn func(tx parley.Tx) error) {
		wg.Go(func() {
			err := s.Update(ctx, fn)
			mu.Lock()
			errs[id] = err
			mu.Unlock()
		})
	}
	// The first update holds the writer until the others are queued.
	run("first", func(tx parley.Tx) error {
		close(started)
		<-release
		return writeAll(tx, "first")
	})
	<-started
	run("ok1", func(tx parley.Tx) error { return writeAll(tx, "ok1") })
	run("err", func(tx parley.Tx) error {
		if err := writeAll(tx, "err"); err != nil {
			return err
		}
		return errBoom
	})
	run("ok2", func(tx parley.Tx) error { return writeAll(tx, "ok2") })
	run("panic", func(tx parley.Tx) error {
		if err := writeAll(tx, "panic"); err != nil {
			return err
		}
		panic("kaboom")
	})
	run("conflict", func(tx parley.Tx) error {
		if err := writeAll(tx, "conflict"); err != nil {
			return err
		}
		u := newUser("conflict2")
		u.Handle = "taken"
		return tx.CreateUser(u)
	})
	run("ok3", func(tx parley.Tx) error { return writeAll(tx, "ok3") })
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()

	for _, id := range []string{"first", "ok1", "ok2", "ok3"} {
		if errs[id] != nil {
			t.Errorf("update %s: %v", id, errs[id])
		}
		wantAllOf(t, s, id)
	}
	if !errors.Is(errs["err"], errBoom) {
		t.Errorf("update err returned %v", errs["err"])
	}
	if errs["panic"] == nil {
		t.Errorf("panicking update returned nil")
	}
	wantCode(t, errs["conflict"], parley.EHandleTaken)
	for _, id := range []string{"err", "panic", "conflict"} {
		wantNothingOf(t, s, id)
	}
	if userExists(t, s, "conflict2") {
		t.Errorf("conflicting user was stored")
	}
}

func testViewSeesCommitted(t *testing.T, s parley.Store) {
	for i := range 5 {
		id := fmt.Sprint("u", i)
		update(t, s, func(tx parley.Tx) error { return tx.CreateUser(newUser(id)) })
		if !userExists(t, s, id) {
			t.Fatalf("View does not see user %s after Update returned", id)
		}
	}
}
