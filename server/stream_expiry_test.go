package server

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/wsgateway"
)

// expiringToken makes an API token of u that may read and write and
// expires in a day by the server's clock.
func expiringToken(t *testing.T, u *user) string {
	t.Helper()
	r := must(t, u.do("POST", "/api/v1/tokens", map[string]any{"name": "expiring", "scopes": []string{"read", "messages:write"}, "expires_in_days": 1}), http.StatusCreated)
	return r.JSON()["token"].(string)
}

// rest returns the frames still to come until the stream closes, failing
// if it is not closed.
func (c *streamClient) rest() []streamEvent {
	c.t.Helper()
	var got []streamEvent
	for {
		select {
		case e, ok := <-c.frames:
			if !ok {
				return got
			}
			got = append(got, e)
		case <-time.After(liveness):
			var raw []string
			for _, e := range got {
				raw = append(raw, string(e.raw))
			}
			c.t.Fatalf("stream was not closed; got %s", strings.Join(raw, " "))
		}
	}
}

// TestStreamEndsAtTokenExpiry: a stream opened with an API token ends,
// as a revoked session's does (4001), once the token's expiry passes by
// the server's clock: nothing that happens after it reaches the stream,
// a send frame after it is refused and not stored, and a long-poll
// waiting with the token answers 401 instead of the change. A stream of a
// device session (no expiry) goes on.
func TestStreamEndsAtTokenExpiry(t *testing.T) {
	clock := &testClock{t: time.Now().UTC()}
	ts := startServer(t, func(c *Config) { c.Clock = clock.Now })
	alice, bob, conv := friends(ts, "alice", "bob")
	reader, sender, poller := expiringToken(t, bob), expiringToken(t, bob), expiringToken(t, bob)
	rd, sd, dev := ts.dial(t, reader, 0), ts.dial(t, sender, 0), ts.dial(t, bob.Token, 0)

	// Before the expiry the token works both ways.
	alice.send(conv, "before")
	rd.until(isText("before"))
	sd.send(sendFrame("s0", conv, map[string]any{"text": "mine, in time"}))
	if a := sd.answers("s0")["s0"]; a.Type != "sent" {
		t.Fatalf("a send in time answered %+v", a)
	}
	since := int64(must(t, ts.do(poller, "GET", "/api/v1/sync?since=now", nil), http.StatusOK).JSON()["next"].(float64))
	polled := make(chan *response, 1)
	go func() {
		polled <- ts.do(poller, "GET", fmt.Sprintf("/api/v1/sync?since=%d&timeout=50", since), nil)
	}()
	ts.eventually(t, "a long-poll in flight", func(s scrape) bool { return s.value(t, "parley_sync_polls_in_flight") == 1 })

	clock.Advance(24*time.Hour + time.Minute)
	// Nothing else happens meanwhile: the frame alone meets the expiry.
	sd.send(sendFrame("s1", conv, map[string]any{"client_id": "late-1", "text": "too late"}))
	for _, e := range sd.rest() {
		if e.Type == "sent" || isText("too late")(e) {
			t.Errorf("a send frame after the token expired was answered %s", e.raw)
		}
	}
	if code := <-sd.closed; code != wsgateway.CloseSessionEnded {
		t.Errorf("sender stream closed with %d, want %d", code, wsgateway.CloseSessionEnded)
	}
	alice.send(conv, "after")

	for name, c := range map[string]*streamClient{"reader": rd} {
		for _, e := range c.rest() {
			if e.Type == "sent" || isText("after")(e) || isText("too late")(e) {
				t.Errorf("%s stream got %s after its token expired", name, e.raw)
			}
		}
		if code := <-c.closed; code != wsgateway.CloseSessionEnded {
			t.Errorf("%s stream closed with %d, want %d", name, code, wsgateway.CloseSessionEnded)
		}
	}
	select {
	case r := <-polled:
		wantProblem(t, r, http.StatusUnauthorized, "unauthorized")
	case <-time.After(liveness):
		t.Fatal("the long-poll of an expired token did not answer")
	}
	// The frame sent after the expiry stored nothing; the device session
	// still hears everything.
	dev.until(isText("after"))
	for _, m := range must(t, alice.do("GET", "/api/v1/conversations/"+conv+"/messages", nil), http.StatusOK).Items() {
		if m["text"] == "too late" {
			t.Fatalf("a send frame after the token's expiry was stored: %v", m)
		}
	}
}

// offsetClock is the real clock moved by an offset: the server's time
// runs on, so a test brings a token's expiry a moment near instead of
// waiting a day.
type offsetClock struct{ off atomic.Int64 }

func (c *offsetClock) Now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())).UTC() }
func (c *offsetClock) Advance(d time.Duration) { c.off.Add(int64(d)) }

// TestStreamClosedAtTokenExpiry: an idle stream is closed when its
// token's expiry passes, with nothing else happening: no event, frame or
// recheck is needed.
func TestStreamClosedAtTokenExpiry(t *testing.T) {
	clock := &offsetClock{}
	ts := startServer(t, func(c *Config) { c.Clock = clock.Now })
	bob := ts.register("bob", "person")
	tok := expiringToken(t, bob)
	// The expiry a moment away (long enough for the dial to say hello).
	clock.Advance(24*time.Hour - 2*time.Second)
	c := ts.dial(t, tok, 0)
	if code := c.waitClosed(); code != wsgateway.CloseSessionEnded {
		t.Fatalf("closed with %d, want %d", code, wsgateway.CloseSessionEnded)
	}
	wantProblem(t, ts.do(tok, "GET", "/api/v1/me", nil), http.StatusUnauthorized, "unauthorized")
}
