package server

import (
	"bytes"
	"context"
	"runtime"
	"testing"
	"time"
)

// gatewayGoroutines counts the goroutines running wsgateway code.
func gatewayGoroutines() int {
	buf := make([]byte, 8<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		if bytes.Contains(g, []byte("parley/wsgateway.")) {
			n++
		}
	}
	return n
}

// Idle streams on Linux hold no goroutine (the gateway's poller wakes a
// reader when a client sends), and still answer everything: the server's
// pings (every 20 ms here, so many ping/pong rounds pass), client pings at
// the WebSocket level and in frames, and new messages.
func TestIdleStreamsHoldNoGoroutine(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the poller is Linux only; elsewhere a stream reads on its own goroutine")
	}
	ts := startServer(t, func(c *Config) { c.StreamPingInterval = 20 * time.Millisecond })
	bob := ts.register("idle_bob", "person")
	alice := ts.register("idle_alice", "person")
	const n = 30
	streams := make([]*streamClient, n)
	for i := range streams {
		streams[i] = ts.dial(t, bob.Token, 0)
	}
	// Several ping rounds; a round briefly runs a writer and a woken
	// reader per stream, so take the least of a few samples.
	least := 1 << 30
	for range 20 {
		time.Sleep(30 * time.Millisecond)
		least = min(least, gatewayGoroutines())
	}
	if least >= n/2 {
		t.Errorf("%d idle streams run %d gateway goroutines; want far fewer than one each", n, least)
	}
	for i, c := range streams {
		ctx, cancel := context.WithTimeout(context.Background(), liveness)
		if err := c.conn.Ping(ctx); err != nil {
			t.Fatalf("stream %d: WebSocket ping: %v", i, err)
		}
		cancel()
		c.send(map[string]any{"type": "ping", "id": "p"})
		if e := c.until(func(e streamEvent) bool { return e.Type != "position" }); e[len(e)-1].Type != "pong" {
			t.Fatalf("stream %d: answer to a ping frame is %+v", i, e[len(e)-1])
		}
	}
	conv := alice.direct("idle_bob")
	alice.send(conv, "still there?")
	for i, c := range streams {
		got := c.until(isText("still there?"))
		if len(got) == 0 {
			t.Fatalf("stream %d got nothing", i)
		}
	}
	select {
	case code := <-streams[0].closed:
		t.Fatalf("an idle stream was closed with %d", code)
	default:
	}
}
