package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleyhq/parley/internal/tcpproxy"
)

// chaosProxy forwards TCP connections to a target and cuts each one,
// abruptly (no close frame, no FIN handshake on the WebSocket level),
// after a random 1–5 s: a phone walking out of Wi-Fi.
type chaosProxy struct {
	*tcpproxy.Proxy
	cuts atomic.Int64
}

func newChaosProxy(t *testing.T, target string, seed uint64) *chaosProxy {
	p := &chaosProxy{}
	rng := rand.New(rand.NewPCG(seed, 1))
	var rmu sync.Mutex
	p.Proxy = tcpproxy.Start(t, target, func(cut func() bool) {
		rmu.Lock()
		life := time.Second + time.Duration(rng.Int64N(int64(4*time.Second)))
		rmu.Unlock()
		time.AfterFunc(life, func() {
			if cut() {
				p.cuts.Add(1)
			}
		})
	})
	return p
}

// frame is what the churn test reads of a stream frame.
type frame struct {
	Type           string `json:"type"`
	Pos            int64  `json:"pos"`
	Next           int64  `json:"next"`
	Limited        bool   `json:"limited"`
	ConversationID string `json:"conversation_id"`
	Message        *struct {
		ID  string `json:"id"`
		Seq int64  `json:"seq"`
	} `json:"message"`
}

// device is one raw WebSocket client that resumes with since after every
// cut and checks, frame by frame, that the server never repeats or
// reorders a position.
type device struct {
	token, conv string
	mu          sync.Mutex
	last        int64
	got         []string // message ids in the order received
	seqs        []int64
	dups        int
	connects    int
	errs        []string
}

func (d *device) run(ctx context.Context, addr string) {
	for ctx.Err() == nil {
		d.mu.Lock()
		since := d.last
		d.connects++
		d.mu.Unlock()
		hdr := http.Header{"Authorization": {"Bearer " + d.token}}
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		conn, _, err := websocket.Dial(dctx, fmt.Sprintf("ws://%s/api/v1/stream?since=%d", addr, since), &websocket.DialOptions{HTTPHeader: hdr})
		cancel()
		if err != nil {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		conn.SetReadLimit(1 << 20)
		d.read(ctx, conn)
		conn.CloseNow()
		// Offline for a moment before coming back.
		time.Sleep(time.Duration(rand.IntN(200)) * time.Millisecond)
	}
}

func (d *device) read(ctx context.Context, conn *websocket.Conn) {
	for {
		_, b, err := conn.Read(ctx)
		if err != nil {
			return
		}
		var f frame
		if err := json.Unmarshal(b, &f); err != nil {
			d.fail("bad frame %q: %v", b, err)
			return
		}
		d.mu.Lock()
		switch {
		case f.Type == "hello":
			if f.Limited {
				d.errs = append(d.errs, fmt.Sprintf("resume from %d came back limited", d.last))
			}
		case f.Type == "position":
			d.last = max(d.last, f.Next)
		case f.Pos > 0:
			if f.Pos <= d.last {
				d.dups++
				d.errs = append(d.errs, fmt.Sprintf("position %d delivered again (last %d)", f.Pos, d.last))
				d.mu.Unlock()
				continue
			}
			d.last = f.Pos
			if f.Type == "message.created" && f.Message != nil {
				d.got = append(d.got, f.Message.ID)
				d.seqs = append(d.seqs, f.Message.Seq)
			}
		}
		d.mu.Unlock()
	}
}

func (d *device) fail(format string, args ...any) {
	d.mu.Lock()
	d.errs = append(d.errs, fmt.Sprintf(format, args...))
	d.mu.Unlock()
}

func (d *device) received() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.got)
}

// TestSocketChurn sends about 1,000 messages a second into 20
// conversations while every device's WebSocket is cut every 1–5 s and
// resumes with since. No position may arrive twice or out of order, and in
// the end each device's view equals the server's history: every message
// once, in sequence order.
func TestSocketChurn(t *testing.T) {
	if testing.Short() {
		t.Skip("a 15 s load run; skipped with -short")
	}
	const (
		pairs    = 20
		rate     = 1000 // messages per second, all senders together
		duration = 15 * time.Second
	)
	n := &node{t: t, addr: freeAddr(t), dir: t.TempDir()}
	n.start()
	defer func() { n.kill() }()
	proxy := newChaosProxy(t, n.addr, uint64(time.Now().UnixNano()))
	defer proxy.Close()

	type pair struct {
		conv   string
		tokens [2]string
	}
	var ps []pair
	var devices []*device
	for i := 0; i < pairs; i++ {
		var p pair
		for j := range p.tokens {
			var out struct {
				Token string `json:"token"`
			}
			body := map[string]string{"handle": fmt.Sprintf("churn%02d_%d", i, j), "password": "churn test password"}
			if code, err := call(n.addr, "", "POST", "/api/v1/accounts", body, &out); err != nil || code != 201 {
				t.Fatalf("register: %d %v", code, err)
			}
			p.tokens[j] = out.Token
		}
		call(n.addr, p.tokens[1], "PUT", fmt.Sprintf("/api/v1/users/churn%02d_0/follow", i), nil, nil)
		var conv struct {
			ID string `json:"id"`
		}
		if code, err := call(n.addr, p.tokens[0], "POST", "/api/v1/conversations", map[string]string{"kind": "direct", "with": fmt.Sprintf("churn%02d_1", i)}, &conv); err != nil || code != 201 {
			t.Fatalf("conversation: %d %v", code, err)
		}
		p.conv = conv.ID
		ps = append(ps, p)
		for _, tok := range p.tokens {
			devices = append(devices, &device{token: tok, conv: conv.ID})
		}
	}
	// Each device starts at the current head, as a device that loaded
	// everything would.
	var head struct {
		Next int64 `json:"next"`
	}
	if code, err := call(n.addr, ps[0].tokens[0], "GET", "/api/v1/sync?since=now", nil, &head); err != nil || code != 200 {
		t.Fatalf("sync: %d %v", code, err)
	}
	ctx, stopDevices := context.WithCancel(context.Background())
	var dwg sync.WaitGroup
	for _, d := range devices {
		d.last = head.Next
		dwg.Add(1)
		go func() { defer dwg.Done(); d.run(ctx, proxy.Addr()) }()
	}

	// Open loop: every 10 ms, as many sends as are due by now at rate,
	// each on its own goroutine (at most 256 in flight) so that a slow
	// answer does not slow the rate.
	var sent, acked, failed atomic.Int64
	var swg sync.WaitGroup
	inflight := make(chan struct{}, 256)
	tick := time.NewTicker(10 * time.Millisecond)
	start := time.Now()
	k := 0
	for time.Since(start) < duration {
		<-tick.C
		due := int(time.Since(start).Seconds() * rate)
		for ; k < due; k++ {
			k, p, side := k, ps[k%pairs], (k/pairs)%2
			inflight <- struct{}{}
			swg.Add(1)
			sent.Add(1)
			go func() {
				defer func() { <-inflight; swg.Done() }()
				cid := fmt.Sprintf("churn-%d", k)
				code, err := call(n.addr, p.tokens[side], "POST", "/api/v1/conversations/"+p.conv+"/messages", map[string]string{"client_id": cid, "text": "hello " + cid}, nil)
				if err != nil || code != 201 {
					if failed.Add(1) <= 3 {
						t.Logf("send %s: %d %v", cid, code, err)
					}
					return
				}
				acked.Add(1)
			}()
		}
	}
	tick.Stop()
	swg.Wait()
	if failed.Load() > 0 {
		t.Errorf("%d of %d sends failed", failed.Load(), sent.Load())
	}

	// Wait (a liveness bound, not a timing claim) until every device has
	// caught up with its conversation's history.
	histories := map[string][]message{}
	for _, p := range ps {
		histories[p.conv] = history(t, n.addr, p.tokens[0], p.conv)
	}
	deadline := time.Now().Add(60 * time.Second)
	for _, d := range devices {
		for d.received() < len(histories[d.conv]) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
	}
	time.Sleep(200 * time.Millisecond) // let any stray repeat arrive and be counted
	stopDevices()
	dwg.Wait()

	var reconnects, dups, delivered int
	for _, d := range devices {
		d.mu.Lock()
		reconnects += d.connects - 1
		dups += d.dups
		delivered += len(d.got)
		want := histories[d.conv]
		if len(d.got) != len(want) {
			t.Errorf("device of %s received %d messages, history holds %d", d.conv, len(d.got), len(want))
		} else {
			for i := range want {
				if d.got[i] != want[i].ID || d.seqs[i] != want[i].Seq {
					t.Errorf("device of %s: message %d is %s/%d, history has %s/%d", d.conv, i, d.got[i], d.seqs[i], want[i].ID, want[i].Seq)
					break
				}
			}
		}
		for _, e := range d.errs[:min(len(d.errs), 3)] {
			t.Error(e)
		}
		d.mu.Unlock()
	}
	t.Logf("sent %d (acknowledged %d, failed %d), %.0f/s of %d/s asked; %d devices, %d connections cut, %d reconnects; %d messages delivered, %d repeated",
		sent.Load(), acked.Load(), failed.Load(), float64(sent.Load())/duration.Seconds(), rate, len(devices), proxy.cuts.Load(), reconnects, delivered, dups)
	if proxy.cuts.Load() < int64(len(devices)) {
		t.Errorf("only %d cuts for %d devices: the churn did not happen", proxy.cuts.Load(), len(devices))
	}
	if dups > 0 {
		t.Fatalf("%d positions delivered twice", dups)
	}
}
