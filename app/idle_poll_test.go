package app_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/webhook"
)

// updateCounter is a store that counts the write batches asked of it.
type updateCounter struct {
	parley.Store
	updates atomic.Int64
}

func (c *updateCounter) Update(ctx context.Context, fn func(parley.Tx) error) error {
	c.updates.Add(1)
	return c.Store.Update(ctx, fn)
}

// TestIdlePollsTakeNoWriteBatch: the background workers' polls (channel
// sends, channel work, webhook deliveries) ask whether anything is due in
// a read transaction and take no write batch when nothing is; once
// something is due, the poll takes it.
func TestIdlePollsTakeNoWriteBatch(t *testing.T) {
	st := &updateCounter{Store: openStore(t)}
	rc := newReceiver(t)
	allow, err := webhook.ParseAllow([]string{strings.TrimPrefix(rc.srv.URL, "http://")})
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	a := app.New(st, app.Config{Password: cheap}, app.WithClock(clock.Now), app.WithWebhooks(app.WebhookOptions{CheckURL: allow.CheckURL}))
	e := &hookEnv{t: t, ctx: context.Background(), a: a, clock: clock, rc: rc}
	ann := e.register("ann", parley.KindPerson)
	bob := e.register("bob", parley.KindPerson)
	e.hook(ann, app.HookMessageCreated)
	conv := e.direct(bob, ann.User.Handle)

	poll := func(when string) (claims int) {
		t.Helper()
		for range 3 {
			if n, err := a.ChannelSendTick(e.ctx); err != nil || n != 0 {
				t.Fatalf("%s: channel send tick: %d, %v", when, n, err)
			}
			if n, err := a.ChannelWorkTick(e.ctx); err != nil || n != 0 {
				t.Fatalf("%s: channel work tick: %d, %v", when, n, err)
			}
			cs, err := a.ClaimWebhookDeliveries(e.ctx, 16, time.Minute)
			if err != nil {
				t.Fatalf("%s: claim webhook deliveries: %v", when, err)
			}
			claims += len(cs)
		}
		return claims
	}
	before := st.updates.Load()
	if n := poll("idle"); n != 0 {
		t.Fatalf("idle: %d webhook deliveries claimed", n)
	}
	if n := st.updates.Load() - before; n != 0 {
		t.Fatalf("9 idle polls took %d write batches, want none", n)
	}

	e.say(bob, conv, "hello ann")
	before = st.updates.Load()
	if n := poll("a delivery due"); n != 1 {
		t.Fatalf("a delivery due: %d claimed, want 1 (leased by the first poll)", n)
	}
	if n := st.updates.Load() - before; n != 1 {
		t.Fatalf("polls with one delivery due took %d write batches, want 1 (the claim)", n)
	}
}
