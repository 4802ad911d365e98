package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleyhq/parley/bus/natsbus/natstest"
	"github.com/parleyhq/parley/server"
	"github.com/parleyhq/parley/store/postgres/pgtest"
)

// TestAdminOnSharedDatabaseTellsNodes: an admin command run against a
// PostgreSQL database shared by nodes, from a machine with no node of its
// own, reaches the running nodes over their NATS bus. The node here
// remembers verified tokens for an hour, so the suspended user's token is
// refused only if the node heard of the suspension.
func TestAdminOnSharedDatabaseTellsNodes(t *testing.T) {
	dsn := pgtest.DSN(t) // skips (loudly) without PostgreSQL
	ns := natstest.Start(t)

	node := startNode(t, func(cfg *server.Config) {
		cfg.DatabaseURL, cfg.NATSURL = dsn, ns.URL()
		cfg.AuthMaxAge = time.Hour
	})

	// The admin's own data directory: no node there, so the command
	// works on the shared database itself.
	c := newCLI(t)
	c.extra = map[string]string{"PARLEY_DATABASE_URL": dsn, "PARLEY_NATS_URL": ns.URL()}
	c.ok(nil, "", "user", "create", "bob")
	var tok struct {
		Token string `json:"token"`
	}
	c.ok(&tok, "", "token", "create", "bob", "--scopes", "read")

	me := func() (int, string) {
		req, _ := http.NewRequest("GET", node.URL()+"/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var p struct {
			Code string `json:"code"`
		}
		json.NewDecoder(resp.Body).Decode(&p)
		return resp.StatusCode, p.Code
	}
	if code, _ := me(); code != http.StatusOK {
		t.Fatalf("before the suspension: %d", code) // and the node now remembers the token
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(node.URL(), "http")+"/api/v1/stream?since=now",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + tok.Token}}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	closed := make(chan error, 1)
	go func() {
		for {
			if _, _, err := ws.Read(ctx); err != nil {
				closed <- err
				return
			}
		}
	}()

	c.ok(nil, "", "user", "suspend", "bob")
	// The stream on the node is cut with 4001 (session ended).
	if err := <-closed; websocket.CloseStatus(err) != 4001 {
		t.Fatalf("the suspended user's stream ended with %v, want close code 4001", err)
	}
	// The notification is on its way when the command returns; the
	// deadline is far below the node's hour of remembering.
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, pc := me()
		if code == http.StatusForbidden && pc == "account_suspended" {
			break
		}
		if code != http.StatusOK {
			t.Fatalf("after the suspension: %d %s, want 403 account_suspended", code, pc)
		}
		if time.Now().After(deadline) {
			t.Fatal("the node still takes the suspended user's token: it never heard of the suspension")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
