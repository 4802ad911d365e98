package natsbus_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/bus/bustest"
	"github.com/parleyhq/parley/bus/natsbus"
	"github.com/parleyhq/parley/bus/natsbus/natstest"
	"github.com/parleyhq/parley/internal/tcpproxy"
)

func TestBus(t *testing.T) {
	const queue = 256
	bustest.Run(t, func(t *testing.T) parley.Bus {
		srv := natstest.Start(t)
		b, err := natsbus.Open(srv.URL(), natsbus.Options{Queue: queue})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return b
	}, queue)
}

// TestNodesShareNotifications: what one connection publishes, another
// connection's subscriber receives, as between two nodes.
func TestNodesShareNotifications(t *testing.T) {
	srv := natstest.Start(t)
	a, err := natsbus.Open(srv.URL(), natsbus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := natsbus.Open(srv.URL(), natsbus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	got := make(chan []byte, 10)
	if _, err := b.Subscribe("events", func(d []byte) { got <- d }); err != nil {
		t.Fatal(err)
	}
	flush(t, b)
	if err := a.Publish(context.Background(), "events", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if d := recv(t, got); string(d) != "hello" {
		t.Fatalf("got %q", d)
	}
}

// TestOutageReportsGap stops the NATS server under two connected buses:
// publishing meanwhile does not fail the caller's work, and once the
// server is back every subscriber is told that notifications may have been
// lost (nil), then receives new ones again.
func TestOutageReportsGap(t *testing.T) {
	srv := natstest.Start(t)
	pub, err := natsbus.Open(srv.URL(), natsbus.Options{ReconnectWait: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	sub, err := natsbus.Open(srv.URL(), natsbus.Options{ReconnectWait: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	got := make(chan []byte, 100)
	if _, err := sub.Subscribe("events", func(d []byte) { got <- d }); err != nil {
		t.Fatal(err)
	}
	flush(t, sub)

	srv.Stop()
	waitFor(t, func() bool { return !sub.Connected() && !pub.Connected() })
	if err := sub.Ready(); err != nil {
		t.Errorf("Ready while reconnecting: %v (NATS only notifies; a node without it still serves)", err)
	}
	pub.Publish(context.Background(), "events", []byte("during")) // buffered or lost: either is allowed
	srv.Restart()
	waitFor(t, func() bool { return sub.Connected() && pub.Connected() })

	sawGap := false
	deadline := time.After(30 * time.Second)
	for !sawGap {
		select {
		case d := <-got:
			if d == nil {
				sawGap = true
			}
		case <-deadline:
			t.Fatal("no gap report after the outage")
		}
	}
	flush(t, sub)
	flush(t, pub) // the queue drains once the path flows
	if err := pub.Publish(context.Background(), "events", []byte("after")); err != nil {
		t.Fatal(err)
	}
	for {
		d := recv(t, got)
		if string(d) == "after" {
			return
		}
	}
}

// flush waits until the bus's subscriptions are known to the server.
func flush(t *testing.T, b *natsbus.Bus) {
	t.Helper()
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
}

func recv(t *testing.T, c chan []byte) []byte {
	t.Helper()
	select {
	case d := <-c:
		return d
	case <-time.After(30 * time.Second): // a liveness bound
		t.Fatal("nothing received")
		return nil
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 30s")
		}
	}
}

// TestPublishNeverWaitsForNATS: with the path to the NATS server stalled
// (nothing read: the client's socket buffers fill), publishing many
// messages still returns — the publisher of a node is its store's
// committer, which must not wait for the bus — dropping what the queue
// cannot hold; once the path flows again, a subscriber elsewhere is told
// that messages were lost (nil) and then receives new ones.
func TestPublishNeverWaitsForNATS(t *testing.T) {
	srv := natstest.Start(t)
	proxy := tcpproxy.Start(t, strings.TrimPrefix(srv.URL(), "nats://"), nil)
	pub, err := natsbus.Open("nats://"+proxy.Addr(), natsbus.Options{PublishQueue: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	sub, err := natsbus.Open(srv.URL(), natsbus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	got := make(chan []byte, 100000)
	if _, err := sub.Subscribe("events", func(d []byte) { got <- d }); err != nil {
		t.Fatal(err)
	}
	flush(t, sub)
	flush(t, pub)

	proxy.Stall()
	// 64 MiB in 64 KiB messages: far more than the sockets between the
	// publisher and the stalled proxy hold.
	payload := make([]byte, 64<<10)
	published := make(chan int, 1)
	go func() {
		dropped := 0
		for range 1024 {
			if pub.Publish(context.Background(), "events", payload) != nil {
				dropped++
			}
		}
		published <- dropped
	}()
	var dropped int
	select {
	case dropped = <-published:
	case <-time.After(30 * time.Second):
		proxy.Resume()
		t.Fatal("Publish waited for a NATS server that does not read")
	}
	proxy.Resume()
	if dropped == 0 {
		t.Fatal("64 MiB went through a stalled path without a drop: the test stalled nothing")
	}
	flush(t, pub) // the queue drains once the path flows
	if err := pub.Publish(context.Background(), "events", []byte("after")); err != nil {
		t.Fatal(err)
	}
	sawGap := false
	for {
		d := recv(t, got)
		if d == nil {
			sawGap = true
		}
		if string(d) == "after" {
			break
		}
	}
	if !sawGap {
		t.Fatalf("%d of 1024 messages dropped, and the subscriber was not told", dropped)
	}
}
