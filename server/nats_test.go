package server

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/parleyhq/parley/bus/natsbus/natstest"
	"github.com/parleyhq/parley/store/postgres/pgtest"
)

// receiveTexts reads a stream until it has every text in want, and fails
// on a text received twice.
func receiveTexts(t *testing.T, c *streamClient, want ...string) {
	t.Helper()
	seen := map[string]bool{}
	for len(seen) < len(want) {
		e := c.next()
		if e.Type != "message.created" {
			continue
		}
		s := e.text()
		if seen[s] {
			t.Fatalf("%q delivered twice", s)
		}
		if !slices.Contains(want, s) {
			t.Fatalf("unexpected message %q (want %v)", s, want)
		}
		seen[s] = true
	}
}

// TestNATSOutage: a node on NATS keeps accepting sends while the NATS
// server is down, and a device connected all along receives them once it
// is back — through sync, whether or not the notifications survived.
func TestNATSOutage(t *testing.T) {
	nats := natstest.Start(t)
	ts := startServer(t, func(c *Config) { c.NATSURL = nats.URL() })
	alice, bob, conv := friends(ts, "alice", "bob")
	dev := ts.dial(t, bob.Token, 0)
	alice.send(conv, "before")
	receiveTexts(t, dev, "before")

	nats.Stop()
	alice.send(conv, "during 1") // acknowledged: the store is the source of truth
	alice.send(conv, "during 2")
	nats.Restart()
	receiveTexts(t, dev, "during 1", "during 2")
	alice.send(conv, "after")
	receiveTexts(t, dev, "after")
}

// TestTwoNodes runs two nodes on one PostgreSQL database and one NATS
// server: a device on one node receives in real time what a user of the
// other node sends, and sequence numbers are shared.
func TestTwoNodes(t *testing.T) {
	dsn := pgtest.DSN(t) // skips (loudly) without PostgreSQL
	nats := natstest.Start(t)
	node := func() *testServer {
		dir := filepath.Join(t.TempDir(), "node")
		return startServer(t, func(c *Config) { c.DataDir, c.DatabaseURL, c.NATSURL = dir, dsn, nats.URL() })
	}
	a, b := node(), node()
	alice, bob, conv := friends(a, "alice", "bob")
	bob.ts = b
	dev := b.dial(t, bob.Token, 0)
	var want []string
	send := func(u *user, s string) {
		want = append(want, s)
		if m := u.send(conv, s); m["seq"].(float64) != float64(len(want)) {
			t.Fatalf("%q has seq %v, want %d", s, m["seq"], len(want))
		}
	}
	for i := range 20 {
		send(alice, fmt.Sprint("m", i))
		if i%5 == 4 { // the other node answers in the same conversation
			send(bob, fmt.Sprint("m", i, " reply"))
		}
	}
	receiveTexts(t, dev, want...)
	if got := lastSeq(t, bob, conv); got != float64(len(want)) {
		t.Fatalf("last_seq %v, want %d", got, len(want))
	}
}
