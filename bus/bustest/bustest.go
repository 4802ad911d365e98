// Package bustest is the conformance suite every parley.Bus passes: the
// in-process bus and the NATS bus run the same tests.
package bustest

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

// Run runs the suite; open returns a fresh bus for each test, and
// queueLimit is how many messages a subscriber may have waiting before the
// bus drops (the slow-consumer test publishes well past it).
func Run(t *testing.T, open func(t *testing.T) parley.Bus, queueLimit int) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b parley.Bus)
	}{
		{"FanOutInOrder", func(t *testing.T, b parley.Bus) { testFanOutInOrder(t, b, queueLimit) }},
		{"SubjectsAreSeparate", testSubjects},
		{"Unsubscribe", testUnsubscribe},
		{"SlowSubscriber", func(t *testing.T, b parley.Bus) { testSlowSubscriber(t, b, queueLimit) }},
		{"Close", testClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

var ctx = context.Background()

// collector records what a subscriber receives; nil marks a gap.
type collector struct {
	mu   sync.Mutex
	got  []string
	gaps int
	n    chan struct{}
}

func newCollector() *collector { return &collector{n: make(chan struct{}, 1<<20)} }

func (c *collector) handle(data []byte) {
	c.mu.Lock()
	if data == nil {
		c.gaps++
	} else {
		c.got = append(c.got, string(data))
	}
	c.mu.Unlock()
	c.n <- struct{}{}
}

// wait waits until the collector has n messages (gaps not counted), or
// fails after a generous deadline: a liveness bound, not a timing claim.
func (c *collector) wait(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		c.mu.Lock()
		if len(c.got) >= n {
			got := append([]string(nil), c.got...)
			c.mu.Unlock()
			return got
		}
		have := len(c.got)
		c.mu.Unlock()
		select {
		case <-c.n:
		case <-deadline:
			t.Fatalf("received %d of %d messages", have, n)
		}
	}
}

func subscribe(t *testing.T, b parley.Bus, subject string, c *collector) parley.Subscription {
	t.Helper()
	s, err := b.Subscribe(subject, c.handle)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func publish(t *testing.T, b parley.Bus, subject string, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		if err := b.Publish(ctx, subject, []byte(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
}

func inOrder(t *testing.T, got []string, from, to int) {
	t.Helper()
	if len(got) != to-from {
		t.Fatalf("got %d messages, want %d", len(got), to-from)
	}
	for i, g := range got {
		if g != strconv.Itoa(from+i) {
			t.Fatalf("message %d is %q, want %d", i, g, from+i)
		}
	}
}

// publishPaced publishes from..to in chunks of half a queue, waiting for
// each chunk to reach the collectors that keep up, so that only a stuck
// subscriber can overflow.
func publishPaced(t *testing.T, b parley.Bus, subject string, from, to, queueLimit int, keepUp ...*collector) {
	t.Helper()
	chunk := max(1, queueLimit/2)
	for i := from; i < to; i += chunk {
		end := min(to, i+chunk)
		publish(t, b, subject, i, end)
		for _, c := range keepUp {
			c.wait(t, end-from)
		}
	}
}

func testFanOutInOrder(t *testing.T, b parley.Bus, queueLimit int) {
	n := 10*queueLimit + 7
	cs := []*collector{newCollector(), newCollector(), newCollector()}
	for _, c := range cs {
		subscribe(t, b, "events", c)
	}
	publishPaced(t, b, "events", 0, n, queueLimit, cs...)
	for i, c := range cs {
		got := c.wait(t, n)
		inOrder(t, got, 0, n)
		if c.gaps != 0 {
			t.Errorf("subscriber %d saw %d gaps", i, c.gaps)
		}
	}
}

func testSubjects(t *testing.T, b parley.Bus) {
	a, z := newCollector(), newCollector()
	subscribe(t, b, "a", a)
	subscribe(t, b, "z", z)
	publish(t, b, "a", 0, 10)
	publish(t, b, "z", 100, 103)
	inOrder(t, a.wait(t, 10), 0, 10)
	inOrder(t, z.wait(t, 3), 100, 103)
}

func testUnsubscribe(t *testing.T, b parley.Bus) {
	c, other := newCollector(), newCollector()
	s := subscribe(t, b, "events", c)
	subscribe(t, b, "events", other)
	publish(t, b, "events", 0, 10)
	c.wait(t, 10)
	if err := s.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	publish(t, b, "events", 10, 20)
	other.wait(t, 20) // the others still get everything …
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.got) != 10 { // … and the unsubscribed one nothing more
		t.Errorf("got %d messages after unsubscribing, want 10", len(c.got))
	}
}

// testSlowSubscriber blocks one subscriber while far more than its queue
// is published: the publisher is not held up, the fast subscriber gets
// everything, and the slow one gets a gap report instead of unbounded
// memory, then the newest messages in order.
func testSlowSubscriber(t *testing.T, b parley.Bus, queueLimit int) {
	n := 4*queueLimit + 1000
	release := make(chan struct{})
	slow := newCollector()
	first := true
	_, err := b.Subscribe("events", func(data []byte) {
		if first {
			first = false
			<-release // stuck until the flood is over
		}
		slow.handle(data)
	})
	if err != nil {
		t.Fatal(err)
	}
	fast := newCollector()
	subscribe(t, b, "events", fast)
	publishPaced(t, b, "events", 0, n, queueLimit, fast) // must not block on the stuck subscriber
	inOrder(t, fast.wait(t, n), 0, n)
	close(release)
	// Once unstuck, the slow subscriber drains what was queued and learns
	// of the gap even though nothing follows it yet …
	deadline := time.After(30 * time.Second)
	for {
		slow.mu.Lock()
		gaps := slow.gaps
		slow.mu.Unlock()
		if gaps > 0 {
			break
		}
		select {
		case <-slow.n:
		case <-deadline:
			t.Fatal("slow subscriber was never told of the dropped messages")
		}
	}
	// … and receives what is published after.
	publish(t, b, "events", n, n+1)
	for {
		slow.mu.Lock()
		last := ""
		if len(slow.got) > 0 {
			last = slow.got[len(slow.got)-1]
		}
		got, gaps := append([]string(nil), slow.got...), slow.gaps
		slow.mu.Unlock()
		if last == strconv.Itoa(n) {
			if gaps == 0 {
				t.Fatalf("slow subscriber got %d of %d messages and no gap report", len(got), n+1)
			}
			if len(got) > n {
				t.Fatalf("slow subscriber got all %d messages: nothing was bounded", n+1)
			}
			prev := -1
			for _, g := range got {
				v, _ := strconv.Atoi(g)
				if v <= prev {
					t.Fatalf("out of order: %d after %d", v, prev)
				}
				prev = v
			}
			return
		}
		select {
		case <-slow.n:
		case <-deadline:
			t.Fatalf("slow subscriber stuck at %q after %d messages", last, len(got))
		}
	}
}

func testClose(t *testing.T, b parley.Bus) {
	c := newCollector()
	subscribe(t, b, "events", c)
	publish(t, b, "events", 0, 5)
	c.wait(t, 5)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, "events", []byte("late")); err == nil {
		t.Error("publish after close succeeded")
	}
	if _, err := b.Subscribe("events", func([]byte) {}); err == nil {
		t.Error("subscribe after close succeeded")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.got) != 5 {
		t.Errorf("got %v", c.got)
	}
}
