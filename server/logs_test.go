package server

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// lockedBuffer collects log output written from many goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestLogsHoldNoSecrets runs a scenario with every log level on (JSON, as
// in production) — registrations, a failed login, API and stream tokens,
// sends, an edit, a private note, a webhook whose receiver fails — and
// then checks the log: every line is JSON with a level and a message,
// every request is logged with the request id its client got, and no
// message body, note, password, session or API token, stream ticket or
// webhook secret appears anywhere.
func TestLogsHoldNoSecrets(t *testing.T) {
	var logs lockedBuffer
	rc := newHookReceiver(t)
	rc.setBehave(func(arrival, int) (int, time.Duration) { return http.StatusInternalServerError, 0 })
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := openServer(t, log, func(c *Config) {
		c.WebhookAllow = []string{rc.addr()}
		c.WebhookPoll = 10 * time.Millisecond
	})
	ts := &testServer{Server: s, t: t, client: &http.Client{Timeout: 30 * time.Second}}

	const body, edited, note = "zebra-body-7f3a the parcel code is 4711", "zebra-edit-91c2 changed my mind", "zebra-note-55d0 customer is a VIP"
	ann := ts.register("ann", "person")
	ben := ts.register("ben", "person")
	secrets := []string{body, edited, note, "correct horse battery", ann.Token, ben.Token}

	wrong := "zebra-wrong-password-0c1"
	secrets = append(secrets, wrong)
	wantProblem(t, ts.do("", "POST", "/api/v1/sessions", map[string]string{"handle": "ann", "password": wrong}), http.StatusUnauthorized, "bad_credentials")
	bogus := "prl_zebraBogusToken0000000000000000000000000"
	secrets = append(secrets, bogus)
	wantProblem(t, ts.do(bogus, "GET", "/api/v1/me", nil), http.StatusUnauthorized, "unauthorized")

	api := must(t, ann.do("POST", "/api/v1/tokens", map[string]any{"name": "ci", "scopes": []string{"read"}}), http.StatusCreated).JSON()["token"].(string)
	secrets = append(secrets, api)
	rc.subscribe(t, ann, "message.created")
	secrets = append(secrets, rc.secrets["/ann"])

	must(t, ben.do("PUT", "/api/v1/users/ann/follow", nil), http.StatusNoContent)
	conv := ben.direct("ann")
	ticket := must(t, ann.do("POST", "/api/v1/stream/tickets", map[string]any{}), http.StatusCreated).JSON()["ticket"].(string)
	secrets = append(secrets, ticket)
	ctx := t.Context()
	conn, _, err := websocket.Dial(ctx, "ws://"+ts.Addr()+"/api/v1/stream?ticket="+ticket, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()

	sent := ts.do(ben.Token, "POST", "/api/v1/conversations/"+conv+"/messages", map[string]string{"text": body})
	must(t, sent, http.StatusCreated)
	rid := sent.Header.Get("X-Request-Id")
	mid := sent.JSON()["id"].(string)
	must(t, ben.do("PATCH", "/api/v1/conversations/"+conv+"/messages/"+mid, map[string]string{"text": edited}), http.StatusOK)
	must(t, ts.do(api, "GET", "/api/v1/conversations/"+conv+"/messages", nil), http.StatusOK)

	shop := regNamed(ts, "shop", "business", "Shop")
	secrets = append(secrets, shop.Token)
	cust := ann.direct("shop")
	ann.send(cust, body)
	must(t, shop.do("POST", bz(shop, "/conversations/"+cust+"/notes"), map[string]string{"text": note}), http.StatusCreated)

	// The webhook was attempted (and failed) with the body in its payload:
	// ann's message to the shop (ben's, edited at once, may be rendered
	// with its new text, as ann sees it when it goes out).
	deadline := time.Now().Add(liveness)
	for !slices.ContainsFunc(rc.all(), func(a arrival) bool { return a.Text == body }) {
		if time.Now().After(deadline) {
			t.Fatalf("no webhook attempt carried the body: %d attempts", len(rc.all()))
		}
		time.Sleep(10 * time.Millisecond)
	}
	conn.Close(websocket.StatusNormalClosure, "")

	out := logs.String()
	requests := 0
	rids := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("a log line is not JSON: %q", line)
		}
		if rec["level"] == nil || rec["msg"] == nil || rec["time"] == nil {
			t.Errorf("a log line without time, level or msg: %q", line)
		}
		if rec["msg"] == "request" {
			requests++
			r, _ := rec["rid"].(string)
			if r == "" || rec["status"] == nil || rec["path"] == nil {
				t.Errorf("a request logged without its id, status or path: %q", line)
			}
			rids[r] = true
		}
	}
	if requests < 15 {
		t.Fatalf("only %d requests logged: %s", requests, out)
	}
	if !rids[rid] {
		t.Errorf("the send's request id %s is not in the log", rid)
	}
	for _, s := range secrets {
		if s == "" {
			t.Fatal("an empty secret: the scenario is broken")
		}
		if strings.Contains(out, s) {
			t.Errorf("the log holds %q", s)
		}
	}
	// The secrets were real: the wait above saw the receiver get the body
	// the log must not hold.
}
