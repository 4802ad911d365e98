package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/webhook"
)

// testClock is a settable clock for the server's rules. Webhook retries
// wait minutes to hours; the tests move this clock instead of waiting.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// arrival is one POST to the test receiver.
type arrival struct {
	ID, Type, Conv, Text, Path string
	Seq                        int64
	// OK is true when the receiver answered 2xx in time.
	OK       bool
	Verified bool
	Body     map[string]any
}

// hookReceiver is a webhook endpoint on loopback that can fail, time out
// and recover. behave returns the status to answer and how long to wait
// first.
type hookReceiver struct {
	srv      *httptest.Server
	mu       sync.Mutex
	arrivals []arrival
	secrets  map[string]string // path → secret
	behave   func(a arrival, n int) (status int, delay time.Duration)
	n        int
}

func newHookReceiver(t *testing.T) *hookReceiver {
	rc := &hookReceiver{secrets: map[string]string{}}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var p struct {
			ID   string `json:"id"`
			Type string `json:"type"`
			Data struct {
				ConversationID string `json:"conversation_id"`
				Seq            int64  `json:"seq"`
				Message        *struct {
					Text string `json:"text"`
				} `json:"message"`
			} `json:"data"`
		}
		var raw map[string]any
		_ = json.Unmarshal(body, &p)
		_ = json.Unmarshal(body, &raw)
		a := arrival{ID: p.ID, Type: p.Type, Conv: p.Data.ConversationID, Seq: p.Data.Seq, Path: r.URL.Path, Body: raw}
		if p.Data.Message != nil {
			a.Text = p.Data.Message.Text
		}
		rc.mu.Lock()
		a.Verified = webhook.Verify(rc.secrets[r.URL.Path], r.Header, body, time.Now(), 5*time.Minute) == nil &&
			r.Header.Get("webhook-id") == p.ID
		status, delay := 200, time.Duration(0)
		if rc.behave != nil {
			status, delay = rc.behave(a, rc.n)
		}
		rc.n++
		rc.mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
			}
		}
		a.OK = delay == 0 && status/100 == 2
		rc.mu.Lock()
		rc.arrivals = append(rc.arrivals, a)
		rc.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *hookReceiver) addr() string { return strings.TrimPrefix(rc.srv.URL, "http://") }

func (rc *hookReceiver) setBehave(f func(a arrival, n int) (int, time.Duration)) {
	rc.mu.Lock()
	rc.behave = f
	rc.mu.Unlock()
}

func (rc *hookReceiver) all() []arrival {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]arrival{}, rc.arrivals...)
}

// subscribe creates u's webhook at the receiver's /<handle> over the API.
func (rc *hookReceiver) subscribe(t *testing.T, u *user, events ...string) string {
	t.Helper()
	r := must(t, u.do("POST", "/api/v1/webhooks", map[string]any{"url": rc.srv.URL + "/" + u.Handle, "events": events,
		"description": "test receiver"}), http.StatusCreated)
	m := r.JSON()
	secret, _ := m["secret"].(string)
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("no secret in %s", r.Body)
	}
	rc.mu.Lock()
	rc.secrets["/"+u.Handle] = secret
	rc.mu.Unlock()
	return m["id"].(string)
}

// hookServer is a node whose webhooks may reach rc, on a fake clock,
// looking for due deliveries every 10 ms.
func hookServer(t *testing.T, rc *hookReceiver, clock *testClock) *testServer {
	return startServer(t, func(c *Config) {
		c.WebhookAllow = []string{rc.addr()}
		c.WebhookTimeout = 300 * time.Millisecond
		c.WebhookPoll = 10 * time.Millisecond
		c.Clock = clock.Now
	})
}

// eventually advances the clock by step and waits a little until done
// holds, failing after a real-time deadline.
func eventually(t *testing.T, clock *testClock, step time.Duration, what string, done func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !done() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		clock.Advance(step)
		time.Sleep(20 * time.Millisecond)
	}
}

// TestWebhooksThroughFailures: a receiver that fails, times out and
// recovers gets every acknowledged message at least once, each always with
// the same id and a valid signature, and a conversation's messages in
// order: none arrives before every earlier one was answered 2xx.
func TestWebhooksThroughFailures(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	rc := newHookReceiver(t)
	ts := hookServer(t, rc, clock)
	ann := ts.register("ann", "person")
	hookID := rc.subscribe(t, ann, "message.created")
	// One in three answers is a 500, one in seven never comes in time.
	rc.setBehave(func(a arrival, n int) (int, time.Duration) {
		switch {
		case n%3 == 1:
			return http.StatusInternalServerError, 0
		case n%7 == 3:
			return http.StatusOK, time.Second
		}
		return http.StatusNoContent, 0
	})
	var peers []*user
	var convs []string
	for _, h := range []string{"bob", "carl", "dave", "erin"} {
		p := ts.register(h, "person")
		must(t, ann.do("PUT", "/api/v1/users/"+h+"/follow", nil), http.StatusNoContent)
		peers = append(peers, p)
		convs = append(convs, p.direct("ann"))
	}
	type sent struct {
		conv string
		seq  int64
	}
	var mu sync.Mutex
	acked := map[string]sent{} // message id → where
	var wg sync.WaitGroup
	for i, p := range peers {
		wg.Go(func() {
			for k := range 15 {
				r := p.do("POST", "/api/v1/conversations/"+convs[i]+"/messages", map[string]string{"text": fmt.Sprintf("%s %d", p.Handle, k)})
				if r.Status != http.StatusCreated {
					continue
				}
				m := r.JSON()
				mu.Lock()
				acked[m["id"].(string)] = sent{convs[i], int64(m["seq"].(float64))}
				mu.Unlock()
			}
		})
	}
	wg.Wait()

	// Every acknowledged message is delivered (a 2xx in time) at least once.
	delivered := func() bool {
		ok := map[int64]map[string]bool{}
		for _, a := range rc.all() {
			if a.OK {
				if ok[a.Seq] == nil {
					ok[a.Seq] = map[string]bool{}
				}
				ok[a.Seq][a.Conv] = true
			}
		}
		for _, s := range acked {
			if !ok[s.seq][s.conv] {
				return false
			}
		}
		return true
	}
	eventually(t, clock, 10*time.Second, "every message delivered", delivered)

	arrivals := rc.all()
	idOf := map[string]string{} // conversation/seq → webhook id
	done := map[string]int64{}  // conversation → highest seq answered 2xx, in arrival order
	failures := 0
	for _, a := range arrivals {
		if !a.Verified {
			t.Fatalf("arrival without a valid signature: %+v", a)
		}
		key := fmt.Sprintf("%s/%d", a.Conv, a.Seq)
		if id, ok := idOf[key]; ok && id != a.ID {
			t.Fatalf("%s arrived as %s and as %s", key, id, a.ID)
		}
		idOf[key] = a.ID
		// In order: the next message only after the previous was answered.
		if a.Seq > done[a.Conv]+1 {
			t.Fatalf("seq %d of %s arrived before seq %d was delivered", a.Seq, a.Conv, done[a.Conv]+1)
		}
		if a.OK && a.Seq == done[a.Conv]+1 {
			done[a.Conv] = a.Seq
		}
		if !a.OK {
			failures++
		}
	}
	if failures == 0 {
		t.Fatal("the receiver never failed; the test proves nothing")
	}
	t.Logf("%d messages, %d arrivals, %d of them failed or timed out", len(acked), len(arrivals), failures)

	r := must(t, ann.do("GET", "/api/v1/webhooks/"+hookID+"/deliveries?status=delivered&limit=100", nil), http.StatusOK)
	if n := len(r.Items()); n != min(len(acked), 100) {
		t.Fatalf("%d delivered deliveries listed, want %d", n, len(acked))
	}
	for _, d := range r.Items() {
		if d["status"] != "delivered" || d["attempts"].(float64) < 1 || d["delivered_at"] == nil {
			t.Fatalf("delivery %v", d)
		}
	}
	list := must(t, ann.do("GET", "/api/v1/webhooks", nil), http.StatusOK).Items()
	if len(list) != 1 || list[0]["secret"] != nil || list[0]["enabled"] != true {
		t.Fatalf("webhooks %v", list)
	}
}

// TestWebhooksDeadLettersAndDisable: a conversation whose deliveries keep
// failing fills the dead-letter list after 24 h; a replay sends the
// delivery again with its id. A webhook whose every delivery fails for
// 24 h is disabled, its owner is told in sync, and it can be enabled
// again.
func TestWebhooksDeadLettersAndDisable(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	rc := newHookReceiver(t)
	ts := hookServer(t, rc, clock)
	ann, bob, carl, erin := ts.register("ann", "person"), ts.register("bob", "person"), ts.register("carl", "person"), ts.register("erin", "person")
	for _, f := range [][2]*user{{ann, bob}, {ann, carl}, {erin, bob}} {
		must(t, f[0].do("PUT", "/api/v1/users/"+f[1].Handle+"/follow", nil), http.StatusNoContent)
	}
	annHook := rc.subscribe(t, ann, "message.created")
	erinHook := rc.subscribe(t, erin, "message.created")
	ab, ac, eb := bob.direct("ann"), carl.direct("ann"), bob.direct("erin")
	var mu sync.Mutex
	carlDown := true
	rc.setBehave(func(a arrival, _ int) (int, time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		if a.Path == "/erin" || a.Conv == ac && carlDown {
			return http.StatusBadGateway, 0
		}
		return http.StatusOK, 0
	})
	head := int64(must(t, erin.do("GET", "/api/v1/sync?since=now", nil), http.StatusOK).JSON()["next"].(float64))
	lost := carl.send(ac, "this one dies")["id"].(string)
	bob.send(eb, "erin never gets this")
	deadList := func(u *user, hook string) []map[string]any {
		return must(t, u.do("GET", "/api/v1/webhooks/"+hook+"/deliveries?status=dead", nil), http.StatusOK).Items()
	}
	n := 0
	eventually(t, clock, time.Hour, "a dead letter", func() bool {
		n++
		bob.send(ab, fmt.Sprintf("keeps ann's webhook healthy %d", n))
		return len(deadList(ann, annHook)) == 1
	})
	d := deadList(ann, annHook)[0]
	if d["attempts"].(float64) < 9 || !strings.Contains(d["last_error"].(string), "502") || d["last_status_code"].(float64) != 502 {
		t.Fatalf("dead delivery %v", d)
	}
	// Nothing more of that conversation was sent while it was failing.
	var deadID string
	for _, a := range rc.all() {
		if a.Conv == ac {
			if a.Text != "this one dies" {
				t.Fatalf("%q arrived during the retries", a.Text)
			}
			deadID = a.ID
		}
	}
	if deadID != d["id"] {
		t.Fatalf("dead %v, arrivals with id %s", d["id"], deadID)
	}
	must(t, ann.do("GET", "/api/v1/webhooks/"+annHook, nil), http.StatusOK)
	if v := must(t, ann.do("GET", "/api/v1/webhooks/"+annHook, nil), http.StatusOK).JSON(); v["enabled"] != true {
		t.Fatalf("ann's webhook had successes, yet: %v", v)
	}

	// Replay, once carl's conversation works again: the same id arrives.
	mu.Lock()
	carlDown = false
	mu.Unlock()
	r := must(t, ann.do("POST", "/api/v1/webhooks/"+annHook+"/deliveries/"+deadID+"/replay", nil), http.StatusAccepted)
	if r.JSON()["status"] != "pending" {
		t.Fatalf("replayed: %s", r.Body)
	}
	eventually(t, clock, time.Second, "the replay", func() bool {
		for _, a := range rc.all() {
			if a.ID == deadID && a.OK {
				return true
			}
		}
		return false
	})
	wantProblem(t, ann.do("POST", "/api/v1/webhooks/"+annHook+"/deliveries/msg_nothing/replay", nil), http.StatusNotFound, "not_found")
	if lost == "" {
		t.Fatal("carl's message was not acknowledged")
	}

	// erin's webhook never succeeded: disabled after 24 h, with a notice.
	eventually(t, clock, time.Hour, "erin's webhook disabled", func() bool {
		return must(t, erin.do("GET", "/api/v1/webhooks/"+erinHook, nil), http.StatusOK).JSON()["enabled"] == false
	})
	v := must(t, erin.do("GET", "/api/v1/webhooks/"+erinHook, nil), http.StatusOK).JSON()
	if v["disabled_reason"] == "" || v["disabled_at"] == nil || v["failing_since"] == nil {
		t.Fatalf("disabled webhook %v", v)
	}
	evs := must(t, erin.do("GET", fmt.Sprintf("/api/v1/sync?since=%d", head), nil), http.StatusOK).JSON()["events"].([]any)
	found := false
	for _, e := range evs {
		if e.(map[string]any)["type"] == "webhook.disabled" {
			found = strings.Contains(fmt.Sprint(e), erinHook)
		}
	}
	if !found {
		t.Fatalf("no webhook.disabled in erin's sync: %v", evs)
	}
	wantProblem(t, erin.do("POST", "/api/v1/webhooks/"+erinHook+"/test", nil), http.StatusConflict, "conflict")
	if dead := deadList(erin, erinHook); len(dead) != 1 {
		t.Fatalf("erin's dead letters: %v", dead)
	} else {
		wantProblem(t, erin.do("POST", "/api/v1/webhooks/"+erinHook+"/deliveries/"+dead[0]["id"].(string)+"/replay", nil), http.StatusConflict, "conflict")
	}
	v = must(t, erin.do("PATCH", "/api/v1/webhooks/"+erinHook, map[string]any{"enabled": true}), http.StatusOK).JSON()
	if v["enabled"] != true || v["failing_since"] != nil || v["disabled_reason"] != nil {
		t.Fatalf("enabled again: %v", v)
	}
	must(t, erin.do("POST", "/api/v1/webhooks/"+erinHook+"/test", nil), http.StatusAccepted)
}

// TestWebhookSSRF: webhooks to loopback, private and link-local addresses
// are refused when created, and a host the operator no longer allows is
// refused when posting: the receiver never hears from Parley.
func TestWebhookSSRF(t *testing.T) {
	rc := newHookReceiver(t)
	ts := startServer(t, func(c *Config) { c.OutboundAllowLoopback = true }) // link previews only: webhooks ignore it
	ann := ts.register("ann", "person")
	for _, u := range []string{
		rc.srv.URL + "/hook", // http://127.0.0.1:port
		"https://" + rc.addr() + "/hook",
		"https://10.1.2.3/hook",
		"https://192.168.0.10/hook",
		"https://169.254.169.254/latest/meta-data/",
		"https://[::1]/hook",
		"https://[::ffff:127.0.0.1]/hook",
		"https://0x7f.0.0.1/hook",
		"https://2130706433/hook",
		"https://localhost/hook",
		"http://example.com/hook", // plain HTTP to the internet
		"file:///etc/passwd",
	} {
		r := ann.do("POST", "/api/v1/webhooks", map[string]any{"url": u, "events": []string{"message.created"}})
		wantProblem(t, r, http.StatusUnprocessableEntity, "invalid")
	}
	must(t, ann.do("POST", "/api/v1/webhooks", map[string]any{"url": "https://example.com/hook", "events": []string{"read"}}), http.StatusCreated)

	// A receiver the operator allowed, then no longer: posting refuses it.
	dir := filepath.Join(t.TempDir(), "data")
	open := func(allow []string) *testServer {
		cfg := Defaults()
		cfg.Listen, cfg.DataDir, cfg.App.Password = "127.0.0.1:0", dir, cheapPasswords
		cfg.WebhookAllow, cfg.WebhookPoll = allow, 10*time.Millisecond
		s, err := Open(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		go s.Serve()
		return &testServer{Server: s, t: t, client: &http.Client{Timeout: 30 * time.Second}}
	}
	stop := func(s *testServer) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
	}
	a := open([]string{rc.addr()})
	zoe, yan := a.register("zoe", "person"), a.register("yan", "person")
	must(t, zoe.do("PUT", "/api/v1/users/yan/follow", nil), http.StatusNoContent)
	hook := rc.subscribe(t, zoe, "message.created")
	conv := yan.direct("zoe")
	stop(a)

	b := open(nil)
	t.Cleanup(func() { stop(b) })
	zoe.ts, yan.ts = b, b
	yan.send(conv, "to a receiver no longer allowed")
	deadline := time.Now().Add(30 * time.Second)
	for {
		items := must(t, zoe.do("GET", "/api/v1/webhooks/"+hook+"/deliveries?status=failed", nil), http.StatusOK).Items()
		if len(items) == 1 {
			if e := items[0]["last_error"].(string); !strings.Contains(e, "not public") {
				t.Fatalf("failed with %q, want the SSRF refusal", e)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the delivery was never attempted")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := rc.all(); len(got) != 0 {
		t.Fatalf("the receiver was reached: %+v", got)
	}
}

// TestWebhookScopes: the webhook routes, reads included, need a device or
// a token with webhooks:write.
func TestWebhookScopes(t *testing.T) {
	ts := startServer(t)
	ann := ts.register("ann", "person")
	token := func(scopes ...string) string {
		r := must(t, ann.do("POST", "/api/v1/tokens", map[string]any{"name": strings.Join(scopes, "+"), "scopes": scopes}), http.StatusCreated)
		return r.JSON()["token"].(string)
	}
	reader, hooks := token("read", "messages:write"), token("webhooks:write")
	body := map[string]any{"url": "https://example.com/hook", "events": []string{"message.created"}}
	wantProblem(t, ts.do(reader, "GET", "/api/v1/webhooks", nil), http.StatusForbidden, "insufficient_scope")
	wantProblem(t, ts.do(reader, "POST", "/api/v1/webhooks", body), http.StatusForbidden, "insufficient_scope")
	id := must(t, ts.do(hooks, "POST", "/api/v1/webhooks", body), http.StatusCreated).JSON()["id"].(string)
	for _, p := range []string{"/api/v1/webhooks/" + id, "/api/v1/webhooks/" + id + "/deliveries"} {
		wantProblem(t, ts.do(reader, "GET", p, nil), http.StatusForbidden, "insufficient_scope")
		must(t, ts.do(hooks, "GET", p, nil), http.StatusOK)
	}
	wantProblem(t, ts.do(reader, "POST", "/api/v1/webhooks/"+id+"/test", nil), http.StatusForbidden, "insufficient_scope")
	wantProblem(t, ts.do(reader, "DELETE", "/api/v1/webhooks/"+id, nil), http.StatusForbidden, "insufficient_scope")
	must(t, ts.do(hooks, "POST", "/api/v1/webhooks/"+id+"/test", nil), http.StatusAccepted)
	// Another account's webhook is not found.
	bob := ts.register("bob", "person")
	wantProblem(t, bob.do("GET", "/api/v1/webhooks/"+id, nil), http.StatusNotFound, "not_found")
	wantProblem(t, bob.do("DELETE", "/api/v1/webhooks/"+id, nil), http.StatusNotFound, "not_found")
	must(t, ts.do(hooks, "DELETE", "/api/v1/webhooks/"+id, nil), http.StatusNoContent)
	wantProblem(t, ann.do("GET", "/api/v1/webhooks/"+id, nil), http.StatusNotFound, "not_found")
}
