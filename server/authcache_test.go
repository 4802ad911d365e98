package server

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/bus/natsbus/natstest"
	"github.com/parleyhq/parley/store/postgres/pgtest"
)

// TestAuthCacheTwoNodes: a token that node B verified a moment ago (and
// so caches) is refused by B soon after node A ends its session, suspends
// its account or changes its profile — sooner than the cache's maximum
// age (5 s), so through the bus notification A publishes after commit.
func TestAuthCacheTwoNodes(t *testing.T) {
	dsn := pgtest.DSN(t) // skips (loudly) without PostgreSQL
	nats := natstest.Start(t)
	node := func() *testServer {
		dir := filepath.Join(t.TempDir(), "node")
		return startServer(t, func(c *Config) { c.DataDir, c.DatabaseURL, c.NATSURL = dir, dsn, nats.URL() })
	}
	a, b := node(), node()
	alice := a.register("alice", "person")
	laptop := a.login(t, "alice", "laptop")
	eve := a.register("eve", "person")
	tok, err := a.App.CreateTokenFor(context.Background(), "eve", app.TokenInput{Name: "ci", Scopes: []string{app.ScopeRead}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range []string{alice.Token, laptop, eve.Token, tok.Token} {
		must(t, b.do(tk, "GET", "/api/v1/me", nil), http.StatusOK) // cached on B
	}
	// refusedSoon waits for B to refuse token with status, well within
	// the cache's maximum age.
	refusedSoon := func(token string, status int, what string) {
		t.Helper()
		deadline := time.Now().Add(3 * time.Second)
		for {
			r := b.do(token, "GET", "/api/v1/me", nil)
			if r.Status == status {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("node B still answers %d after %s on node A", r.Status, what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	must(t, a.do(laptop, "DELETE", "/api/v1/sessions/current", nil), http.StatusNoContent)
	refusedSoon(laptop, http.StatusUnauthorized, "a logout")
	must(t, b.do(alice.Token, "GET", "/api/v1/me", nil), http.StatusOK) // the other device stays

	if _, err := a.App.Suspend(context.Background(), "eve", true); err != nil {
		t.Fatal(err)
	}
	refusedSoon(tok.Token, http.StatusForbidden, "a suspension")
	refusedSoon(eve.Token, http.StatusUnauthorized, "a suspension")

	must(t, b.do(alice.Token, "GET", "/api/v1/me", nil), http.StatusOK)
	must(t, alice.do("PATCH", "/api/v1/me", map[string]any{"display_name": "Alice B."}), http.StatusOK)
	deadline := time.Now().Add(3 * time.Second)
	for must(t, b.do(alice.Token, "GET", "/api/v1/me", nil), http.StatusOK).JSON()["display_name"] != "Alice B." {
		if time.Now().After(deadline) {
			t.Fatal("node B still shows the old display name")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
