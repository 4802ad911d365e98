package server

import (
	"fmt"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/parleyhq/parley/bus/natsbus/natstest"
	"github.com/parleyhq/parley/store/postgres/pgtest"
)

// TestRateLimitsAcrossNodes: a client whose requests are spread over two
// nodes on one PostgreSQL database gets each limit once, not once per
// node (issue 11): sends into one conversation up to the burst, then
// 429 rate_limited with Retry-After, whichever node they reach; and
// login attempts per handle. The limits refill slowly enough here that
// no token comes back while the test runs.
func TestRateLimitsAcrossNodes(t *testing.T) {
	dsn := pgtest.DSN(t) // skips (loudly) without PostgreSQL
	nats := natstest.Start(t)
	const burst = 8
	node := func() *testServer {
		dir := filepath.Join(t.TempDir(), "node")
		return startServer(t, func(c *Config) {
			c.DataDir, c.DatabaseURL, c.NATSURL = dir, dsn, nats.URL()
			c.App.SendPerConversation, c.App.SendBurst = 0.001, burst
			c.App.LoginPerHandle = 4 // a minute's attempts
		})
	}
	nodes := []*testServer{node(), node()}
	ann := nodes[0].register("ann", "person")
	ben := nodes[0].register("ben", "person")
	must(t, ben.do("PUT", "/api/v1/users/ann/follow", nil), http.StatusNoContent)
	conv := ann.direct("ben")

	created, limited := 0, 0
	for i := range 3 * burst {
		r := nodes[i%2].do(ann.Token, "POST", "/api/v1/conversations/"+conv+"/messages",
			map[string]string{"text": fmt.Sprint("m", i), "client_id": fmt.Sprint("c", i)})
		switch r.Status {
		case http.StatusCreated:
			created++
		case http.StatusTooManyRequests:
			wantProblem(t, r, http.StatusTooManyRequests, "rate_limited")
			if r.Header.Get("Retry-After") == "" {
				t.Errorf("send %d through node %d: 429 without Retry-After", i, i%2)
			}
			limited++
		default:
			t.Fatalf("send %d through node %d: %d %s", i, i%2, r.Status, r.Body)
		}
	}
	if created != burst || limited != 2*burst {
		t.Errorf("%d sends over two nodes: %d created, %d limited; want the burst %d created once", 3*burst, created, limited, burst)
	}
	// A repeat of a stored send is answered even now, and costs nothing.
	r := nodes[1].do(ann.Token, "POST", "/api/v1/conversations/"+conv+"/messages", map[string]string{"text": "m0", "client_id": "c0"})
	must(t, r, http.StatusOK)

	// Wrong passwords for one handle, alternating nodes: the fifth is
	// refused whichever node it reaches.
	refused := 0
	for i := range 8 {
		r := nodes[i%2].do("", "POST", "/api/v1/sessions", map[string]string{"handle": "ben", "password": "wrong password!"})
		switch r.Status {
		case http.StatusUnauthorized:
		case http.StatusTooManyRequests:
			refused++
		default:
			t.Fatalf("login attempt %d: %d %s", i, r.Status, r.Body)
		}
	}
	if refused < 3 {
		t.Errorf("8 wrong logins over two nodes at 4 a minute: %d refused, want at least 3", refused)
	}
}
