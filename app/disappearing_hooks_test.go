package app_test

import (
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/app"
)

// TestExpiredContentNeverReachesWebhooks: a delivery rendered after the
// message expired carries a tombstone, not the text, and the reaper's
// purge arrives as message.expired.
func TestExpiredContentNeverReachesWebhooks(t *testing.T) {
	e := newHookEnv(t)
	ann := e.register("ann", "person")
	bob := e.register("bob", "person")
	if err := e.a.Follow(e.ctx, bob, "ann", true); err != nil {
		t.Fatal(err)
	}
	e.hook(bob, app.HookMessageCreated, app.HookMessageExpired)
	conv := e.direct(ann, "bob")
	if _, err := e.a.SetDisappearing(e.ctx, ann, conv, 300); err != nil {
		t.Fatal(err)
	}
	e.deliver() // the system line
	e.say(ann, conv, "burn after reading")
	e.clock.Advance(10 * time.Minute) // expired before the worker got to it
	got := e.deliver()
	if len(got) != 1 || got[0].Type != app.HookMessageCreated || got[0].Text != "" {
		t.Fatalf("deliveries after expiry: %v", texts(got))
	}
	if _, err := e.a.Reap(e.ctx); err != nil {
		t.Fatal(err)
	}
	got = e.deliver()
	if len(got) != 1 || got[0].Type != app.HookMessageExpired {
		t.Fatalf("after the reaper: %v", texts(got))
	}
	for _, r := range got {
		if strings.Contains(r.Text, "burn") {
			t.Fatalf("expired text in a webhook: %+v", r)
		}
	}
}
