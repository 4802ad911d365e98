package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/client"
)

// fast reconnects, for tests.
var fast = &client.StreamOptions{MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}

// pair is two users with a direct conversation Bob accepted (he follows
// Alice), so that Alice may send freely.
func pair(t *testing.T, anon *client.Client) (alice, bob *client.Client, conv string) {
	t.Helper()
	ctx := testContext(t)
	alice = register(t, anon, "alice", "")
	bob = register(t, anon, "bob", "")
	if err := bob.Follow(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	c, err := alice.StartDirect(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	return alice, bob, c.ID
}

func TestStreamFromANewDevice(t *testing.T) {
	_, anon := start(t)
	alice, bob, conv := pair(t, anon)
	ctx := testContext(t)
	s, err := bob.Stream(ctx, 0, fast)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Without a position the stream starts at the head and says so.
	first := next(t, s, nil)
	if first.Type != client.EventLimited || first.Next <= 0 || s.Position() != first.Next {
		t.Fatalf("first event %+v, position %d", first, s.Position())
	}
	for i := 1; i <= 3; i++ {
		if _, err := alice.Send(ctx, conv, client.SendRequest{Text: fmt.Sprint("live ", i)}); err != nil {
			t.Fatal(err)
		}
	}
	var last int64
	for i := 1; i <= 3; i++ {
		e := next(t, s, messageIn(conv))
		if e.Message.Text != fmt.Sprint("live ", i) || e.Pos <= last || e.Seq != int64(i) {
			t.Fatalf("event %d: %+v", i, e)
		}
		last = e.Pos
	}
	if s.Transport() != client.TransportWebSocket || s.Position() < last {
		t.Fatalf("transport %q, position %d after %d", s.Transport(), s.Position(), last)
	}
	s.Close()
	if _, ok := <-s.Events(); ok {
		t.Fatal("events after Close")
	}
	if s.Err() != nil {
		t.Fatalf("Err after Close: %v", s.Err())
	}
}

func TestStreamResumesAcrossARestart(t *testing.T) {
	n, anon := start(t)
	alice, bob, conv := pair(t, anon)
	ctx := testContext(t)
	head, err := bob.Sync(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	s, err := bob.Stream(ctx, head.Next, fast)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := map[int64]int{}
	var order []int64
	var lastPos int64
	receive := func(upTo int64) {
		t.Helper()
		for len(order) == 0 || order[len(order)-1] < upTo {
			e := next(t, s, messageIn(conv))
			if e.Pos <= lastPos {
				t.Fatalf("position %d after %d", e.Pos, lastPos)
			}
			lastPos = e.Pos
			got[e.Seq]++
			order = append(order, e.Seq)
		}
	}
	send := func(from, to int) {
		t.Helper()
		for i := from; i <= to; i++ {
			if _, err := alice.Send(ctx, conv, client.SendRequest{Text: fmt.Sprint("m", i)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	send(1, 5)
	receive(5)

	// Stop the server: the stream loses its connection and keeps trying.
	addr, dir := n.Addr(), n.dir
	n.stop()
	eventually(t, "the stream notices", func() bool { return s.Transport() == "" })
	// A new server on the same data and port; messages sent before the
	// stream is back must arrive too.
	n2 := startNode(t, dir, addr)
	if n2.Addr() != addr {
		t.Fatalf("restarted on %s, want %s", n2.Addr(), addr)
	}
	send(6, 10)
	receive(10)
	send(11, 12)
	receive(12)

	want := make([]string, 12)
	for i := range want {
		want[i] = fmt.Sprint(i + 1)
	}
	gotOrder := make([]string, len(order))
	for i, q := range order {
		gotOrder[i] = fmt.Sprint(q)
	}
	if strings.Join(gotOrder, " ") != strings.Join(want, " ") {
		t.Fatalf("received seqs %v, want 1..12 once each in order", gotOrder)
	}
	for seq, k := range got {
		if k != 1 {
			t.Fatalf("seq %d received %d times", seq, k)
		}
	}
	if s.Position() < lastPos {
		t.Fatalf("position %d behind the last event %d", s.Position(), lastPos)
	}
}

// noWebSocket answers 404 to the stream's handshake, as a server or proxy
// without WebSockets would, and passes everything else.
type noWebSocket struct{}

func (noWebSocket) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path == "/api/v1/stream" {
		return &http.Response{StatusCode: 404, Status: "404 Not Found", Request: r,
			Header: http.Header{"Content-Type": {"application/problem+json"}},
			Body:   io.NopCloser(strings.NewReader(`{"status":404,"code":"not_found","detail":"streaming is not enabled"}`))}, nil
	}
	return http.DefaultTransport.RoundTrip(r)
}

func TestStreamFallsBackToLongPoll(t *testing.T) {
	_, anon := start(t)
	alice, bob, conv := pair(t, anon)
	ctx := testContext(t)
	head, err := bob.Sync(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Send(ctx, conv, client.SendRequest{Text: "before"}); err != nil {
		t.Fatal(err)
	}
	polling := bob.WithToken(bob.Token)
	polling.HTTP = &http.Client{Transport: noWebSocket{}}
	s, err := polling.Stream(ctx, head.Next, &client.StreamOptions{MinBackoff: 10 * time.Millisecond, PollWait: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if e := next(t, s, messageIn(conv)); e.Message.Text != "before" || e.Seq != 1 {
		t.Fatalf("backlog %+v", e)
	}
	eventually(t, "long-poll mode", func() bool { return s.Transport() == client.TransportPoll })
	for i := 2; i <= 4; i++ {
		if _, err := alice.Send(ctx, conv, client.SendRequest{Text: fmt.Sprint("live ", i)}); err != nil {
			t.Fatal(err)
		}
		if e := next(t, s, messageIn(conv)); e.Seq != int64(i) {
			t.Fatalf("live %d: %+v", i, e)
		}
	}

	// PollOnly never tries the WebSocket, and starts a new device with
	// EventLimited too.
	p, err := bob.Stream(ctx, 0, &client.StreamOptions{PollOnly: true, PollWait: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if e := next(t, p, nil); e.Type != client.EventLimited {
		t.Fatalf("first %+v", e)
	}
	if _, err := alice.Send(ctx, conv, client.SendRequest{Text: "polled"}); err != nil {
		t.Fatal(err)
	}
	if e := next(t, p, messageIn(conv)); e.Message.Text != "polled" || p.Transport() != client.TransportPoll {
		t.Fatalf("polled %+v over %q", e, p.Transport())
	}
}

func TestStreamEndsWithTheSession(t *testing.T) {
	_, anon := start(t)
	_, bob, _ := pair(t, anon)
	ctx := testContext(t)
	s, err := bob.Stream(ctx, 0, fast)
	if err != nil {
		t.Fatal(err)
	}
	next(t, s, nil) // limited
	if err := bob.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	for range s.Events() {
	}
	if !errors.Is(s.Err(), client.ErrUnauthorized) {
		t.Fatalf("stream ended with %v", s.Err())
	}
	// A token that no longer works is refused at once.
	if _, err := bob.Stream(ctx, 0, fast); !errors.Is(err, client.ErrUnauthorized) {
		t.Fatalf("stream with a dead token: %v", err)
	}
	// So is a stream whose context ends.
	cctx, cancel := context.WithCancel(ctx)
	alice := register(t, anon, "carol", "")
	s, err = alice.Stream(cctx, 0, fast)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	for range s.Events() {
	}
	if !errors.Is(s.Err(), context.Canceled) {
		t.Fatalf("after cancel: %v", s.Err())
	}
}

// countingPosts counts POSTs of messages that reach the server.
type countingPosts struct {
	next http.RoundTripper
	n    atomic.Int64
}

func (c *countingPosts) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/messages") {
		c.n.Add(1)
	}
	return c.next.RoundTrip(req)
}

// TestStreamSend: Stream.Send goes on the WebSocket (no request), is
// stored once per client_id, answers refusals like Client.Send, and goes
// over HTTP when the stream long-polls.
func TestStreamSend(t *testing.T) {
	_, anon := start(t)
	alice, bob, conv := pair(t, anon)
	posts := &countingPosts{next: alice.HTTP.Transport}
	alice.HTTP = &http.Client{Transport: posts}
	ctx := testContext(t)
	s, err := alice.Stream(ctx, 0, fast)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	next(t, s, nil) // the limited event: the stream is greeted
	m, err := s.Send(ctx, conv, client.SendRequest{ClientID: "k-1", Text: "on the socket"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Text != "on the socket" || m.ClientID != "k-1" || m.Seq != 1 || posts.n.Load() != 0 {
		t.Fatalf("sent %+v with %d POSTs", m, posts.n.Load())
	}
	again, err := s.Send(ctx, conv, client.SendRequest{ClientID: "k-1", Text: "on the socket"})
	if err != nil || again.ID != m.ID {
		t.Fatalf("repeat: %+v, %v", again, err)
	}
	page, err := bob.Messages(ctx, conv, client.HistoryQuery{})
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != m.ID {
		t.Fatalf("bob's history %+v, %v", page, err)
	}
	// Many at once from goroutines: each gets its own answer.
	var wg sync.WaitGroup
	seqs := make([]int64, 20)
	for i := range seqs {
		wg.Go(func() {
			m, err := s.Send(ctx, conv, client.SendRequest{Text: fmt.Sprint("n", i)})
			if err != nil {
				t.Error(err)
				return
			}
			if m.Text != fmt.Sprint("n", i) {
				t.Errorf("send %d answered %+v", i, m)
			}
			seqs[i] = m.Seq
		})
	}
	wg.Wait()
	slices.Sort(seqs)
	for i, seq := range seqs {
		if seq != int64(i+2) {
			t.Fatalf("seqs %v", seqs)
		}
	}
	// A refusal is Client.Send's error, asked again over HTTP.
	_, err = s.Send(ctx, conv, client.SendRequest{Text: ""})
	if e := client.AsError(err); e == nil || e.Status != http.StatusUnprocessableEntity || e.Code != client.CodeInvalid {
		t.Fatalf("empty text: %v", err)
	}
	if n := posts.n.Load(); n != 1 {
		t.Fatalf("%d POSTs, want 1 (the refusal)", n)
	}
	// Long-polling, the stream sends over HTTP.
	ps, err := alice.Stream(ctx, 0, &client.StreamOptions{PollOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	if m, err := ps.Send(ctx, conv, client.SendRequest{Text: "by request"}); err != nil || m.Seq != 22 || posts.n.Load() != 2 {
		t.Fatalf("poll-only send: %+v, %v, %d POSTs", m, err, posts.n.Load())
	}
}

// TestStreamSendFromTheEventLoop: a bot that answers each event from the
// goroutine reading Events must not wait for an answer that its own
// reading holds up behind the events before it.
func TestStreamSendFromTheEventLoop(t *testing.T) {
	_, anon := start(t)
	alice, bob, conv := pair(t, anon)
	ctx := testContext(t)
	s, err := bob.Stream(ctx, 0, &client.StreamOptions{Buffer: 4, MinBackoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	next(t, s, nil) // greeted
	const n = 40
	go func() {
		for i := range n {
			if _, err := alice.Send(ctx, conv, client.SendRequest{Text: fmt.Sprint("ping ", i)}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	replies := 0
	for e := range s.Events() {
		if e.Type != client.EventMessageCreated || e.Message == nil || !strings.HasPrefix(e.Message.Text, "ping ") {
			continue
		}
		if _, err := s.Send(ctx, conv, client.SendRequest{Text: "pong for " + e.Message.Text}); err != nil {
			t.Fatal(err)
		}
		if replies++; replies == n {
			break
		}
	}
	if replies != n {
		t.Fatalf("%d replies, stream: %v", replies, s.Err())
	}
}
