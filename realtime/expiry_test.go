package realtime

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/app"
)

// offsetClock is the real clock moved by an offset: the app's time runs
// on, so a timer set for what is left of a token's life fires, and a test
// brings the expiry near by moving the offset instead of waiting a day.
type offsetClock struct{ off atomic.Int64 }

func (c *offsetClock) Now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *offsetClock) Advance(d time.Duration) { c.off.Add(int64(d)) }

// isRevoked reports whether d is revoked now.
func isRevoked(d *Device) bool {
	select {
	case <-d.Revoked():
		return true
	default:
		return false
	}
}

// revokedSoon waits for d to be revoked; within bounds a hang, not a speed.
func revokedSoon(d *Device, within time.Duration) bool {
	select {
	case <-d.Revoked():
		return true
	case <-time.After(within):
		return false
	}
}

// TestTokenExpiryRevokesDevice: a device opened with an API token is
// revoked when the token's expiry passes by the app's clock, by its own
// timer and without any recheck or activity; one whose timer is not due
// yet (the clock jumped) is ended by the first look (Ended); a device
// session, which has no expiry, stays; Unregister stops the timer.
func TestTokenExpiryRevokesDevice(t *testing.T) {
	clock := &offsetClock{}
	h, a := newHub(t, app.WithClock(clock.Now))
	ctx := context.Background()
	ann := actor(t, a, "ann")
	tok, err := a.CreateToken(ctx, ann, app.TokenInput{Name: "bot", Scopes: []string{app.ScopeRead}, ExpiresInDays: 1})
	if err != nil {
		t.Fatal(err)
	}
	api, err := a.Authenticate(ctx, tok.Token)
	if err != nil {
		t.Fatal(err)
	}
	device := h.Register(ann, nil, false)
	early := h.Register(api, nil, false) // its timer is a day away
	if early.Expired() || isRevoked(early) {
		t.Fatal("a device of a live token is revoked")
	}

	// The expiry comes near: a device registered now is timed for it.
	clock.Advance(api.ExpiresAt.Sub(clock.Now()) - 200*time.Millisecond)
	late := h.Register(api, nil, false)
	if !revokedSoon(late, 10*time.Second) {
		t.Fatal("the device outlived its token's expiry")
	}
	if !early.Expired() || !early.Ended() || !isRevoked(early) {
		t.Fatal("a device past its token's expiry is not ended")
	}
	if device.Expired() || device.Ended() {
		t.Fatal("the device session (no expiry) ended with the token")
	}
	h.Unregister(early)
	if early.expiry.Stop() {
		t.Fatal("Unregister left the expiry timer running")
	}
	h.Unregister(late)

	// Registered past its expiry: born revoked (SessionAlive).
	if again := h.Register(api, nil, false); !isRevoked(again) {
		t.Fatal("a device registered past its token's expiry is live")
	}
}
