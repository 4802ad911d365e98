package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/webhook"
)

// TestKillNineDuringWebhooks kills the server with SIGKILL twice while
// clients send and the server posts their messages to a webhook (a slow
// receiver that sometimes fails), restarts it on the same data, and then
// waits: every acknowledged message reaches the receiver, each always
// under one id with a valid signature, and a conversation's messages in
// order. The outbox row of a message commits with the message, so a crash
// can repeat a delivery (the same id), never lose one; a delivery in
// flight at the kill goes again once its claim runs out.
func TestKillNineDuringWebhooks(t *testing.T) {
	if testing.Short() {
		t.Skip("kills processes; skipped with -short")
	}
	type arrival struct {
		id, conv string
		seq      int64
		ok       bool
	}
	var mu sync.Mutex
	var arrivals []arrival
	var secret string
	seen := map[string]bool{}
	bad := 0
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var p struct {
			ID   string `json:"id"`
			Data struct {
				ConversationID string `json:"conversation_id"`
				Seq            int64  `json:"seq"`
			} `json:"data"`
		}
		_ = json.Unmarshal(body, &p)
		mu.Lock()
		if webhook.Verify(secret, r.Header, body, time.Now(), 5*time.Minute) != nil || r.Header.Get("webhook-id") != p.ID {
			bad++
		}
		// Some first attempts fail; a retry (10 s later) succeeds.
		fail := !seen[p.ID] && rng.IntN(25) == 0
		seen[p.ID] = true
		mu.Unlock()
		time.Sleep(20 * time.Millisecond) // slow enough that posts are in flight at a kill
		status := http.StatusNoContent
		if fail {
			status = http.StatusServiceUnavailable
		}
		mu.Lock()
		arrivals = append(arrivals, arrival{p.ID, p.Data.ConversationID, p.Data.Seq, !fail})
		mu.Unlock()
		w.WriteHeader(status)
	}))
	defer rc.Close()

	n := &node{t: t, addr: freeAddr(t), dir: t.TempDir()}
	// The receiver is on loopback: the operator allows exactly it. A short
	// post timeout keeps claims short, so that deliveries cut by a kill
	// come back within a minute.
	t.Setenv("PARLEY_WEBHOOK_ALLOW", strings.TrimPrefix(rc.URL, "http://"))
	t.Setenv("PARLEY_WEBHOOK_TIMEOUT", "1s")
	n.start()
	defer func() { n.kill() }()

	register := func(h string) string {
		var out struct {
			Token string `json:"token"`
		}
		if code, err := call(n.addr, "", "POST", "/api/v1/accounts", map[string]string{"handle": h, "password": "crash test password"}, &out); err != nil || code != 201 {
			t.Fatalf("register %s: %d %v", h, code, err)
		}
		return out.Token
	}
	hub := register("hub")
	var hook struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	if code, err := call(n.addr, hub, "POST", "/api/v1/webhooks", map[string]any{"url": rc.URL + "/hook", "events": []string{"message.created"}}, &hook); err != nil || code != 201 {
		t.Fatalf("webhook: %d %v", code, err)
	}
	mu.Lock()
	secret = hook.Secret
	mu.Unlock()
	type peer struct{ token, conv string }
	var peers []peer
	for i := range 20 {
		h := fmt.Sprintf("peer%02d", i)
		tok := register(h)
		call(n.addr, hub, "PUT", "/api/v1/users/"+h+"/follow", nil, nil)
		var conv struct {
			ID string `json:"id"`
		}
		if code, err := call(n.addr, tok, "POST", "/api/v1/conversations", map[string]string{"kind": "direct", "with": "hub"}, &conv); err != nil || code != 201 {
			t.Fatalf("conversation: %d %v", code, err)
		}
		peers = append(peers, peer{tok, conv.ID})
	}

	type sent struct {
		conv string
		seq  int64
	}
	var ackMu sync.Mutex
	acked := map[sent]bool{}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i, p := range peers {
		wg.Go(func() {
			for k := 0; ctx.Err() == nil; k++ {
				var m struct {
					Seq int64 `json:"seq"`
				}
				code, err := call(n.addr, p.token, "POST", "/api/v1/conversations/"+p.conv+"/messages",
					map[string]string{"client_id": fmt.Sprintf("p%d-%d", i, k), "text": "hello"}, &m)
				if err != nil || code != 201 {
					time.Sleep(20 * time.Millisecond) // the server is restarting
					continue
				}
				ackMu.Lock()
				acked[sent{p.conv, m.Seq}] = true
				ackMu.Unlock()
				time.Sleep(30 * time.Millisecond)
			}
		})
	}
	for range 2 {
		mu.Lock() // the receiver draws from rng too
		wait := time.Duration(700+rng.IntN(800)) * time.Millisecond
		mu.Unlock()
		time.Sleep(wait)
		n.kill()
		n.start()
	}
	time.Sleep(500 * time.Millisecond)
	stop()
	wg.Wait()

	// Wait for every acknowledged message, then check what arrived.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		mu.Lock()
		ok := map[sent]bool{}
		for _, a := range arrivals {
			if a.ok {
				ok[sent{a.conv, a.seq}] = true
			}
		}
		mu.Unlock()
		missing := 0
		ackMu.Lock()
		for s := range acked {
			if !ok[s] {
				missing++
			}
		}
		total := len(acked)
		ackMu.Unlock()
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged messages never delivered", missing, total)
		}
		time.Sleep(200 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if bad > 0 {
		t.Fatalf("%d arrivals without a valid signature", bad)
	}
	idOf := map[sent]string{}
	done := map[string]int64{} // conversation → the highest seq delivered, in arrival order
	repeats, again := 0, 0
	delivered := map[sent]bool{}
	for _, a := range arrivals {
		s := sent{a.conv, a.seq}
		if delivered[s] {
			again++ // delivered before the kill, its outcome not yet recorded
		}
		delivered[s] = delivered[s] || a.ok
		if id, ok := idOf[s]; ok {
			repeats++
			if id != a.id {
				t.Fatalf("%v arrived as %s and as %s", s, id, a.id)
			}
		}
		idOf[s] = a.id
		if a.seq > done[a.conv]+1 {
			t.Fatalf("seq %d of %s arrived before seq %d was delivered", a.seq, a.conv, done[a.conv]+1)
		}
		if a.ok && a.seq == done[a.conv]+1 {
			done[a.conv] = a.seq
		}
	}
	t.Logf("%d messages acknowledged across 2 kills, %d arrivals (%d repeats of an id, %d of them after a success the kill kept from being recorded), all delivered in order",
		len(acked), len(arrivals), repeats, again)
}
