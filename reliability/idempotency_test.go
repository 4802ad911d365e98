package reliability

import (
	"fmt"
	"sync"
	"testing"
)

// TestIdempotencyAcrossRestart sends one client_id 100 times at once, kills
// the server with SIGKILL, and sends it 100 times more: every answer names
// the same message, and the conversation holds it once.
func TestIdempotencyAcrossRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("kills processes; skipped with -short")
	}
	n := &node{t: t, addr: freeAddr(t), dir: t.TempDir()}
	n.start()
	defer func() { n.kill() }()
	var a, b struct {
		Token string `json:"token"`
	}
	for h, out := range map[string]any{"idem_a": &a, "idem_b": &b} {
		if code, err := call(n.addr, "", "POST", "/api/v1/accounts", map[string]string{"handle": h, "password": "idempotency test"}, out); err != nil || code != 201 {
			t.Fatalf("register: %d %v", code, err)
		}
	}
	call(n.addr, b.Token, "PUT", "/api/v1/users/idem_a/follow", nil, nil)
	var conv struct {
		ID string `json:"id"`
	}
	if code, err := call(n.addr, a.Token, "POST", "/api/v1/conversations", map[string]string{"kind": "direct", "with": "idem_b"}, &conv); err != nil || code != 201 {
		t.Fatalf("conversation: %d %v", code, err)
	}
	answers := map[string]int{}
	var mu sync.Mutex
	burst := func() {
		var wg sync.WaitGroup
		for range 100 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var m struct {
					ID  string `json:"id"`
					Seq int64  `json:"seq"`
				}
				code, err := call(n.addr, a.Token, "POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]string{"client_id": "the-one", "text": "once"}, &m)
				if err != nil || (code != 200 && code != 201) {
					t.Errorf("send: %d %v", code, err)
					return
				}
				mu.Lock()
				answers[fmt.Sprintf("%s/%d", m.ID, m.Seq)]++
				mu.Unlock()
			}()
		}
		wg.Wait()
	}
	burst()
	n.kill()
	n.start()
	burst()
	if len(answers) != 1 {
		t.Fatalf("200 sends of one client id got %d different answers: %v", len(answers), answers)
	}
	if msgs := history(t, n.addr, a.Token, conv.ID); len(msgs) != 1 || msgs[0].ClientID != "the-one" {
		t.Fatalf("the conversation holds %+v", msgs)
	}
	t.Logf("200 sends (100 before and 100 after a kill -9) → one message, one answer %v", answers)
}
