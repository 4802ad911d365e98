package app

import (
	"context"
	"testing"
	"time"
)

// TestRepeatLocks: a second holder of a key waits for the first and says
// it waited; other keys do not wait; a waiter whose context ends leaves
// with its error; and no entry outlives its holders and waiters.
func TestRepeatLocks(t *testing.T) {
	var r repeatLocks
	ctx := context.Background()
	unlock, waited, err := r.lock(ctx, "a")
	if err != nil || waited {
		t.Fatalf("first lock: waited %v, err %v", waited, err)
	}
	if u, waited, err := r.lock(ctx, "b"); err != nil || waited {
		t.Fatalf("another key waited (%v) or failed (%v)", waited, err)
	} else {
		u()
	}

	got := make(chan bool)
	go func() {
		u, waited, err := r.lock(ctx, "a")
		if err != nil {
			t.Error(err)
		}
		got <- waited
		u()
	}()
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, _, err := r.lock(short, "a"); err == nil {
		t.Fatal("a lock held elsewhere was taken, or the wait outlived its context")
	}
	// Once the goroutine waits (the key has two refs: it and the
	// holder), the holder lets go.
	for {
		r.mu.Lock()
		refs := r.m["a"].refs
		r.mu.Unlock()
		if refs == 2 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case <-got:
		t.Fatal("the second holder did not wait for the first")
	default:
	}
	unlock()
	if !<-got {
		t.Fatal("the second holder did not say it waited")
	}
	if n := r.size(); n != 0 {
		t.Fatalf("%d entries left after every holder unlocked", n)
	}
}
