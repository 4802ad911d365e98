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

	first := alice.send(conv, "one")
	alice.send(conv, "two")
	must(t, bobOnB.do("POST", "/api/v1/conversations/"+conv+"/messages",
		map[string]any{"client_id": "b-1", "text": "a reply", "reply_to": first["id"]}), http.StatusCreated)
	for i := range 5 {
		must(t, alice.do("POST", "/api/v1/conversations/"+conv+"/messages",
			map[string]any{"client_id": fmt.Sprint("a-", i), "text": fmt.Sprint("more ", i)}), http.StatusCreated)
	}
	const total = 8
	for _, c := range []struct {
		name string
		dev  *streamClient
		u    *user
	}{{"alice on A", devA, alice}, {"bob on B", devB, bobOnB}} {
		var got []streamEvent
		for len(got) < total {
			if e := c.dev.next(); e.Type == "message.created" {
				got = append(got, e)
			}
		}
		r := must(t, c.u.do("GET", "/api/v1/sync?since="+strconv.FormatInt(c.dev.hello.Next, 10), nil), http.StatusOK)
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
			if e.Seq != int64(k+1) {
				t.Fatalf("%s: seq %d at %d", c.name, e.Seq, k)
			}
			var v any
			if err := json.Unmarshal(e.raw, &v); err != nil {
				t.Fatal(err)
			}
			if want, ok := bySync[e.Pos]; !ok || !reflect.DeepEqual(v, want) {
				t.Errorf("%s: the stream gave\n%s\nsync gives\n%v", c.name, e.raw, want)
			}
		}
	}
	if a.Hub.Pushed()+b.Hub.Pushed() == pushed {
		t.Error("no message was pushed: every device synced")
	}
}
