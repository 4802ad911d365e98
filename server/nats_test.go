package server

import (
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/coder/websocket"

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

// twoNodes starts two nodes on one PostgreSQL database and one NATS
// server; it skips (loudly) without PostgreSQL.
func twoNodes(t *testing.T) (*testServer, *testServer) {
	dsn := pgtest.DSN(t)
	nats := natstest.Start(t)
	node := func() *testServer {
		dir := filepath.Join(t.TempDir(), "node")
		return startServer(t, func(c *Config) { c.DataDir, c.DatabaseURL, c.NATSURL = dir, dsn, nats.URL() })
	}
	return node(), node()
}

// TestTwoNodes runs two nodes on one PostgreSQL database and one NATS
// server: a device on one node receives in real time what a user of the
// other node sends, and sequence numbers are shared.
func TestTwoNodes(t *testing.T) {
	a, b := twoNodes(t)
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

// TestTwoNodesPresence: a user with a stream on each of two nodes who
// closes one is still online to their peers (the node they left knows the
// other still has them); closing the other announces offline, once; and
// closing both at once announces offline too, whichever node settles it
// (there, possibly twice).
func TestTwoNodesPresence(t *testing.T) {
	a, b := twoNodes(t)
	alice, bob, _ := friends(a, "alice", "bob")
	bd := a.dial(t, bob.Token, 0)
	isPresence := func(online bool) func(streamEvent) bool {
		return func(e streamEvent) bool {
			return e.Type == "presence" && e.ActorID == alice.ID && string(e.Data) == fmt.Sprintf(`{"online":%v}`, online)
		}
	}
	// onBoth opens a stream of alice on each node and waits until node a
	// knows of the one on node b (b's node.online, or its heartbeat).
	onBoth := func() (*streamClient, *streamClient) {
		t.Helper()
		da := a.dial(t, alice.Token, 0)
		bd.until(isPresence(true))
		db := b.dial(t, b.login(t, "alice", "laptop"), 0)
		for deadline := time.Now().Add(liveness); !a.Hub.OnlineElsewhere(alice.ID); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("node a never heard of alice's stream on node b")
			}
		}
		return da, db
	}
	da, db := onBoth()
	da.conn.Close(websocket.StatusNormalClosure, "")
	// Not offline (node b's own "online" for its first stream of alice
	// may still come: a repeat, which changes nothing for bob).
	bd.quiet(500*time.Millisecond, func(e streamEvent) bool { return !isPresence(false)(e) })
	db.conn.Close(websocket.StatusNormalClosure, "")
	bd.until(isPresence(false))
	// Once: node a, which left alice away, hears that node b told her
	// peers and says nothing more.
	bd.quiet(500*time.Millisecond, func(e streamEvent) bool { return !isPresence(false)(e) })

	da, db = onBoth()
	da.conn.Close(websocket.StatusNormalClosure, "")
	db.conn.Close(websocket.StatusNormalClosure, "")
	bd.until(isPresence(false))
}

// TestTwoNodesAgentsOnline: an agent whose stream is connected to one
// node counts as online on the other — the team list there says so, and a
// customer writing through that node is assigned to them — and as offline
// once the stream goes.
func TestTwoNodesAgentsOnline(t *testing.T) {
	a, b := twoNodes(t)
	biz := regNamed(a, "shop", "business", "Shop")
	ann := a.register("ann", "person")
	addAgent(t, biz, ann, "agent")
	settings := must(t, biz.do("GET", bz(biz, "/settings"), nil), http.StatusOK).JSON()
	settings["auto_assign"] = "round_robin"
	must(t, biz.do("PUT", bz(biz, "/settings"), settings), http.StatusOK)

	online := func() bool {
		t.Helper()
		for _, ag := range must(t, biz.do("GET", bz(biz, "/agents"), nil), http.StatusOK).Items() {
			if ag["user"].(map[string]any)["handle"] == "ann" {
				return ag["online"].(bool)
			}
		}
		t.Fatal("ann is not on the team")
		return false
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(liveness); !cond(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("node a never saw %s", what)
			}
		}
	}
	if online() {
		t.Fatal("ann online before any stream")
	}
	ann.ts = b
	d := b.dial(t, ann.Token, 0)
	waitFor("ann online on node b", online)

	cust := a.register("cust", "person")
	conv := cust.direct("shop")
	cust.send(conv, "hello, anyone there?")
	item, _ := must(t, biz.do("GET", bz(biz, "/conversations/"+conv), nil), http.StatusOK).JSON()["item"].(map[string]any)
	if as, _ := item["assignee"].(map[string]any); as == nil || as["handle"] != "ann" {
		t.Fatalf("assigned to %v, want ann (online on the other node)", item["assignee"])
	}

	d.conn.Close(websocket.StatusNormalClosure, "")
	waitFor("ann offline", func() bool { return !online() })
}
