package server

import (
	"context"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestSlowConsumerIsCutOff: a client that never reads is disconnected once
// its socket buffers are full and a write waits past the write timeout;
// the server does not queue for it without bound, and other devices are
// unaffected.
func TestSlowConsumerIsCutOff(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.StreamWriteTimeout = 300 * time.Millisecond })
	alice, bob, conv := friends(ts, "alice", "bob")
	ctx := context.Background()
	stuck, _, err := websocket.Dial(ctx, "ws://"+ts.Addr()+"/api/v1/stream?since=now", &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + bob.Token}}})
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.CloseNow()
	healthy := ts.dial(t, ts.login(t, "bob", "phone"), 0)
	waitDevices(t, ts, 2)

	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	// About 30 MB of messages: far beyond what loopback socket buffers
	// hold for a reader that never reads.
	big := strings.Repeat("x", 9000)
	for i := 0; i < 3000 && ts.Hub.Devices() == 2; i++ {
		alice.do("POST", "/api/v1/conversations/"+conv+"/messages", map[string]string{"text": big})
	}
	waitDevices(t, ts, 1) // the stuck device is gone …
	alice.send(conv, "still flowing")
	healthy.until(isText("still flowing")) // … the healthy one still gets everything

	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	// The heap must not hold the undelivered backlog (tens of MB).
	if grew := int64(after.HeapInuse) - int64(before.HeapInuse); grew > 16<<20 {
		t.Errorf("heap grew by %d MiB while a client did not read", grew>>20)
	}
}

// waitDevices waits until the hub has n devices.
func waitDevices(t *testing.T, ts *testServer, n int) {
	t.Helper()
	deadline := time.Now().Add(liveness)
	for ts.Hub.Devices() != n {
		if time.Now().After(deadline) {
			t.Fatalf("hub has %d devices, want %d", ts.Hub.Devices(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSlowConsumerInGroupFanout: the same for a group's messages, which
// the hub's fan-out writes to idle devices on its own goroutine (without
// waiting: what a socket does not take is left to the device's writer):
// a member's device that never reads holds up neither the fan-out nor
// the other members, is cut off once a write waits past the timeout, and
// its backlog does not pile up in the heap.
func TestSlowConsumerInGroupFanout(t *testing.T) {
	ts := startServer(t, func(c *Config) {
		c.StreamWriteTimeout = 300 * time.Millisecond
		c.FanoutMin = 2
	})
	owner, ben, cid := ts.register("owner", "person"), ts.register("ben", "person"), ts.register("cid", "person")
	for _, u := range []*user{ben, cid} {
		must(t, u.do("PUT", "/api/v1/users/owner/follow", nil), http.StatusNoContent)
	}
	g := must(t, owner.do("POST", "/api/v1/conversations", map[string]any{"kind": "group", "title": "g", "members": []string{"ben", "cid"}}),
		http.StatusCreated).JSON()["id"].(string)
	ctx := context.Background()
	stuck, _, err := websocket.Dial(ctx, "ws://"+ts.Addr()+"/api/v1/stream?since=now", &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + ben.Token}}})
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.CloseNow()
	healthy := ts.dial(t, cid.Token, 0)
	waitDevices(t, ts, 2)

	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	pushed := ts.Hub.Pushed()
	big := strings.Repeat("x", 9000)
	sent := 0
	for ; sent < 3000 && ts.Hub.Devices() == 2; sent++ {
		owner.send(g, big)
	}
	waitDevices(t, ts, 1) // the stuck device is gone …
	owner.send(g, "still flowing")
	healthy.until(isText("still flowing")) // … the other member got everything
	if ts.Hub.Pushed() == pushed {
		t.Fatal("no message was pushed: the fan-out path was not taken")
	}

	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapInuse) - int64(before.HeapInuse); grew > 16<<20 {
		t.Errorf("heap grew by %d MiB while a member's device did not read (%d messages sent)", grew>>20, sent)
	}
}
