package app_test

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// liveness bounds how long a test waits for what should happen at once;
// it is no timing claim (a loaded CI machine may take seconds).
const liveness = 30 * time.Second

// TestChannelSendsWokenAfterCommit: a reply queued for a channel goes out
// through the running worker at once, not at its next poll (an hour here):
// the worker is woken after the commit, when its read of what is due
// sees the reply. Woken from inside the transaction, it read before the
// commit, found nothing and slept until the poll.
func TestChannelSendsWokenAfterCommit(t *testing.T) {
	s, g, _, agent, conv := messengerThread(t)

	ctx, cancel := context.WithCancel(s.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.a.RunChannelSends(ctx, time.Hour)
	}()
	t.Cleanup(func() { cancel(); <-done })
	for i := range 5 {
		before := len(g.calls())
		if _, err := s.reply(agent, conv, fmt.Sprintf("reply %d", i)); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(liveness)
		for len(g.calls()) == before {
			if time.Now().After(deadline) {
				t.Fatalf("reply %d was not sent within %v of being queued (the worker polls hourly)", i, liveness)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}
