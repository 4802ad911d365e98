package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	"github.com/parleyhq/parley/bus/natsbus/natstest"
	"github.com/parleyhq/parley/store/postgres/pgtest"
)

// TestDirectPushIsWhatSyncGives: a new message of a direct conversation
// reaches caught-up devices as a frame rendered by the sending node (no
// sync), and every such frame is byte for byte, as JSON, what the
// device's sync from the same position returns — for the recipient and
// for the sender's own device (which sees its client id), replies
// included. It runs on one node, and on two nodes sharing PostgreSQL
// and NATS where the frame crosses nodes.
func TestDirectPushIsWhatSyncGives(t *testing.T) {
	t.Run("one node", func(t *testing.T) {
		ts := startServer(t)
		directPushMatchesSync(t, ts, ts)
	})
	t.Run("two nodes", func(t *testing.T) {
		dsn := pgtest.DSN(t) // skips (loudly) without PostgreSQL
		nats := natstest.Start(t)
		node := func() *testServer {
			dir := filepath.Join(t.TempDir(), "node")
			return startServer(t, func(c *Config) { c.DataDir, c.DatabaseURL, c.NATSURL = dir, dsn, nats.URL() })
		}
		directPushMatchesSync(t, node(), node())
	})
}

func directPushMatchesSync(t *testing.T, a, b *testServer) {
	alice, bob, conv := friends(a, "alice", "bob")
	bobOnB := &user{ts: b, Handle: bob.Handle, ID: bob.ID, Token: bob.Token}
	devA, devB := a.dial(t, alice.Token, 0), b.dial(t, bob.Token, 0)
	pushed := a.Hub.Pushed() + b.Hub.Pushed()
	posA, posB := devA.hello.Next, devB.hello.Next
	// A node short of time publishes without frames (its devices sync):
	// a loaded machine may need a few rounds before a push happens.
	for round := 0; round < 10 && a.Hub.Pushed()+b.Hub.Pushed() == pushed; round++ {
		first := alice.send(conv, fmt.Sprint("one ", round))
		alice.send(conv, "two")
		must(t, bobOnB.do("POST", "/api/v1/conversations/"+conv+"/messages",
			map[string]any{"client_id": fmt.Sprint("b-", round), "text": "a reply", "reply_to": first["id"]}), http.StatusCreated)
		for i := range 5 {
			must(t, alice.do("POST", "/api/v1/conversations/"+conv+"/messages",
				map[string]any{"client_id": fmt.Sprint("a-", round, "-", i), "text": fmt.Sprint("more ", i)}), http.StatusCreated)
		}
		posA = compareWithSync(t, "alice on A", devA, alice, posA, 8, int64(8*round))
		posB = compareWithSync(t, "bob on B", devB, bobOnB, posB, 8, int64(8*round))
	}
	if a.Hub.Pushed()+b.Hub.Pushed() == pushed {
		t.Error("no message was pushed: every device synced")
	}
}

// compareWithSync reads n new messages from dev and checks each against
// u's sync from since; it returns the position after them.
func compareWithSync(t *testing.T, name string, dev *streamClient, u *user, since int64, n int, seq0 int64) int64 {
	t.Helper()
	var got []streamEvent
	for len(got) < n {
		if e := dev.next(); e.Type == "message.created" {
			got = append(got, e)
		}
	}
	r := must(t, u.do("GET", "/api/v1/sync?since="+strconv.FormatInt(since, 10), nil), http.StatusOK)
	var page struct {
		Events []json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(r.Body, &page); err != nil {
		t.Fatal(err)
	}
	bySync := map[int64]any{}
	for _, raw := range page.Events {
		var e struct {
			Pos int64 `json:"pos"`
		}
		var v any
		json.Unmarshal(raw, &e)
		json.Unmarshal(raw, &v)
		bySync[e.Pos] = v
	}
	for k, e := range got {
		if e.Seq != seq0+int64(k+1) {
			t.Fatalf("%s: seq %d at %d", name, e.Seq, seq0+int64(k))
		}
		var v any
		if err := json.Unmarshal(e.raw, &v); err != nil {
			t.Fatal(err)
		}
		if want, ok := bySync[e.Pos]; !ok || !reflect.DeepEqual(v, want) {
			t.Errorf("%s: the stream gave\n%s\nsync gives\n%v", name, e.raw, want)
		}
	}
	return got[len(got)-1].Pos
}
