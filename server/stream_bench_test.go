package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleyhq/parley/app"
)

// Parameters of BenchmarkStreamLatency (issue 3, "Numbers").
const (
	streamBenchPairs    = 500              // 1,000 users, one device each
	streamBenchRate     = 1000             // messages offered per second, in total
	streamBenchLostWait = 10 * time.Second // a message not received by then is lost
	streamBenchDupGrace = time.Second      // how long to keep listening for duplicates
	streamBenchWarmup   = 3 * time.Second  // of the same load, before measuring
)

// BenchmarkStreamLatency measures send→receive latency over the WebSocket
// stream on the embedded default store: 500 pairs of users who follow each
// other, each pair with a direct conversation, every user with one device
// connected to GET /api/v1/stream (1,000 sockets). Sends are offered open
// loop at 1,000/s in total, each from a random member of a random pair to its
// peer through POST /api/v1/conversations/{id}/messages with a client_id.
// Every send has a due time fixed in advance (start + i ms); latency runs
// from that due time to the moment the recipient's socket hands over the
// message.created frame, so queueing anywhere (HTTP, commit, hub, socket,
// and the driver itself) counts — no coordinated omission. Three seconds of
// the same load warm the server up first and are not counted.
//
// The load driver (1,000 client sockets, their readers and the HTTP
// senders) runs in the same process and shares the machine's CPUs with the
// server it measures: the numbers include its cost.
//
// Run it with a fixed message count, e.g.
//
//	go test -run '^$' -bench StreamLatency -benchtime 10000x ./server
//
// PARLEY_BENCH_CPUPROFILE and PARLEY_BENCH_TRACE profile the measured
// part alone (benchProfile).
//
// PARLEY_BENCH_RATE=n offers n messages per second instead of 1,000.
//
// PARLEY_BENCH_DUMP=file.csv writes one line per message (due, ack and
// receive times in ms from the start) to see when latency builds up.
//
// Reported: sends/s (sustained), p50/p90/p99/p99.9/max latency in ms, lost
// (not received within 10 s) and dup (received more than once); the
// benchmark fails if lost or dup is not 0, or if a send fails.
func BenchmarkStreamLatency(b *testing.B) {
	// The garbage collector target parley serve uses (cmd/parley), unless
	// GOGC says otherwise.
	if os.Getenv("GOGC") == "" {
		old := debug.SetGCPercent(400)
		b.Cleanup(func() { debug.SetGCPercent(old) })
	}
	srv := startBenchServer(b)
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)

	users, convs := benchPairs(b, srv.App, streamBenchPairs)
	tr := &benchTracker{}
	for i, u := range users {
		u.index = i
	}
	// One device per user; wait until every socket has its hello.
	benchParallel(b, 32, len(users), func(i int) error {
		return tr.connect(ctx, srv.Addr(), users[i])
	})
	b.Cleanup(func() {
		for _, u := range users {
			if u.conn != nil {
				u.conn.CloseNow()
			}
		}
	})
	// Let the presence events of 1,000 new devices drain.
	time.Sleep(2 * time.Second)
	if n := srv.Hub.Devices(); n != len(users) {
		b.Fatalf("%d devices connected, want %d", n, len(users))
	}

	client := &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        512,
			MaxIdleConnsPerHost: 512,
			IdleConnTimeout:     time.Minute,
		},
	}
	b.Cleanup(client.CloseIdleConnections)
	base := "http://" + srv.Addr() + "/api/v1/conversations/"
	rate := streamBenchRate
	if v, err := strconv.Atoi(os.Getenv("PARLEY_BENCH_RATE")); err == nil && v > 0 {
		rate = v // a lower rate for a profile on a busy machine
	}
	interval := time.Second / time.Duration(rate)
	// Warm up (statement caches, page cache, heap size, connections) at
	// the same rate; these messages are not counted.
	warm := rand.New(rand.NewPCG(2, 4))
	warmStart := time.Now()
	var warmErrs atomic.Int64
	var warming sync.WaitGroup
	for n := range int(streamBenchWarmup / interval) {
		pair := warm.IntN(streamBenchPairs)
		if d := time.Until(warmStart.Add(time.Duration(n) * interval)); d > 0 {
			time.Sleep(d)
		}
		warming.Add(1)
		go func() {
			defer warming.Done()
			if err := benchPost(client, base+convs[pair]+"/messages", users[2*pair].token, "w"+strconv.Itoa(n), "warm-up message"); err != nil {
				warmErrs.Add(1)
			}
		}()
	}
	warming.Wait()
	if n := warmErrs.Load(); n > 0 {
		b.Fatalf("%d warm-up sends failed", n)
	}
	time.Sleep(time.Second)

	rng := rand.New(rand.NewPCG(1, 3)) // the same sequence of senders every run
	stopProfile := benchProfile(b)
	start, offeredEnd := openLoop(b, tr, rng, streamBenchPairs, interval, func(n, from, pair int) error {
		return benchSend(client, base+convs[pair]+"/messages", users[from].token, n)
	})
	stopProfile()
	cancel()

	st := tr.stats()
	if st.received > 0 {
		b.ReportMetric(float64(st.received)/st.lastRecv.Sub(start).Seconds(), "sends/s")
	}
	b.ReportMetric(ms(st.pct(0.50)), "p50-ms")
	b.ReportMetric(ms(st.pct(0.90)), "p90-ms")
	b.ReportMetric(ms(st.pct(0.99)), "p99-ms")
	b.ReportMetric(ms(st.pct(0.999)), "p999-ms")
	b.ReportMetric(ms(st.pct(1)), "max-ms")
	b.ReportMetric(float64(st.lost), "lost")
	b.ReportMetric(float64(st.dup), "dup")
	// The sender's acknowledgement (HTTP 201, after the commit), from the
	// same due time: what part of the latency the send path takes.
	b.ReportMetric(ms(st.ackPct(0.50)), "ack-p50-ms")
	b.ReportMetric(ms(st.ackPct(0.99)), "ack-p99-ms")
	b.Logf("%d messages offered in %v (%.0f/s), %d received, %d lost, %d duplicated, %d frames to a wrong device",
		st.total, offeredEnd.Sub(start).Round(time.Millisecond), float64(st.total)/offeredEnd.Sub(start).Seconds(),
		st.received, st.lost, st.dup, st.stray)
	if path := os.Getenv("PARLEY_BENCH_DUMP"); path != "" {
		if err := tr.dump(path, start); err != nil {
			b.Error(err)
		}
	}
	if st.lost > 0 || st.dup > 0 || st.stray > 0 {
		b.Fatalf("lost %d, duplicated %d, misdelivered %d of %d messages", st.lost, st.dup, st.stray, st.total)
	}
}

// startBenchServer is startServer for benchmarks.
func startBenchServer(b *testing.B) *Server {
	b.Helper()
	return openServer(b, nil)
}

// benchUser is a registered user with one connected device.
type benchUser struct {
	index int
	token string
	conn  *websocket.Conn
}

// benchPairs registers pairs users who follow each other through the app
// (users 2i and 2i+1 form pair i) and opens each pair's direct
// conversation.
func benchPairs(b *testing.B, a *app.App, pairs int) ([]*benchUser, []string) {
	b.Helper()
	ctx := context.Background()
	users := make([]*benchUser, 2*pairs)
	convs := make([]string, pairs)
	benchParallel(b, 16, pairs, func(i int) error {
		var actors [2]*app.Actor
		for k := range actors {
			auth, err := a.Register(ctx, app.Registration{Handle: fmt.Sprintf("sb%04d_%d", i, k), Password: "benchmark password", Device: "bench"})
			if err != nil {
				return err
			}
			if actors[k], err = a.Authenticate(ctx, auth.Token); err != nil {
				return err
			}
			users[2*i+k] = &benchUser{token: auth.Token}
		}
		if err := a.Follow(ctx, actors[0], actors[1].User.Handle, true); err != nil {
			return err
		}
		if err := a.Follow(ctx, actors[1], actors[0].User.Handle, true); err != nil {
			return err
		}
		conv, _, err := a.CreateDirect(ctx, actors[0], actors[1].User.Handle)
		if err != nil {
			return err
		}
		convs[i] = conv.ID
		return nil
	})
	return users, convs
}

// benchParallel runs fn(0..n-1) on workers goroutines and fails b on the
// first error.
func benchParallel(b *testing.B, workers, n int, fn func(i int) error) {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
}

// benchText is the text of message n; the recipient finds n in it.
func benchText(n int) string {
	return "bench " + strconv.Itoa(n) + " hello, this is a benchmark message of ordinary length"
}

func benchSend(client *http.Client, url, token string, n int) error {
	return benchPost(client, url, token, "b"+strconv.Itoa(n), benchText(n))
}

func benchPost(client *http.Client, url, token, clientID, text string) error {
	body, _ := json.Marshal(map[string]string{"client_id": clientID, "text": text})
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	buf, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("send %s: status %d: %s", clientID, resp.StatusCode, buf)
	}
	return nil
}

// benchTracker records when each message was due and when its recipient's
// device received it.
type benchTracker struct {
	mu   sync.Mutex
	msgs []benchMsg
	left int // messages not received yet
	// stray counts message.created frames for a device that is neither
	// the sender's nor the recipient's.
	stray int
}

type benchMsg struct {
	due      time.Time
	from, to int
	recv     time.Time
	ack      time.Time
	count    int
}

func (t *benchTracker) acked(n int, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.msgs[n].ack = at
}

func (t *benchTracker) add(due time.Time, from, to int) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.msgs = append(t.msgs, benchMsg{due: due, from: from, to: to})
	t.left++
	return len(t.msgs) - 1
}

func (t *benchTracker) received(user, n int, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n < 0 || n >= len(t.msgs) {
		t.stray++
		return
	}
	m := &t.msgs[n]
	switch user {
	case m.to:
	case m.from:
		return // the sender's own device gets its message too
	default:
		t.stray++
		return
	}
	m.count++
	if m.count == 1 {
		m.recv = at
		t.left--
	}
}

func (t *benchTracker) allReceived() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.left == 0
}

func (t *benchTracker) lastDue() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.msgs) == 0 {
		return time.Now()
	}
	return t.msgs[len(t.msgs)-1].due
}

// connect opens u's device and starts its reader.
func (t *benchTracker) connect(ctx context.Context, addr string, u *benchUser) error {
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(dctx, "ws://"+addr+"/api/v1/stream?since=now",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + u.token}}})
	if err != nil {
		return fmt.Errorf("dial device %d: %w", u.index, err)
	}
	conn.SetReadLimit(1 << 20)
	_, hello, err := conn.Read(dctx)
	if err != nil {
		conn.CloseNow()
		return fmt.Errorf("device %d hello: %w", u.index, err)
	}
	if !bytes.Contains(hello, []byte(`"type":"hello"`)) {
		conn.CloseNow()
		return fmt.Errorf("device %d: first frame %s, want hello", u.index, hello)
	}
	u.conn = conn
	go t.read(ctx, u)
	return nil
}

// read takes u's frames until ctx ends; the time of a message.created is
// taken as soon as its frame is read, before decoding.
func (t *benchTracker) read(ctx context.Context, u *benchUser) {
	var f struct {
		Type    string `json:"type"`
		Message struct {
			Text string `json:"text"`
		} `json:"message"`
	}
	for {
		_, data, err := u.conn.Read(ctx)
		at := time.Now()
		if err != nil {
			return
		}
		if !bytes.Contains(data, []byte(`"message.created"`)) {
			continue // presence and the like
		}
		f.Type, f.Message.Text = "", ""
		if json.Unmarshal(data, &f) != nil || f.Type != "message.created" {
			continue
		}
		rest, ok := strings.CutPrefix(f.Message.Text, "bench ")
		if !ok {
			continue // a warm-up message
		}
		num, _, _ := strings.Cut(rest, " ")
		n, err := strconv.Atoi(num)
		if err != nil {
			n = -1
		}
		t.received(u.index, n, at)
	}
}

type benchStats struct {
	total, received, lost, dup, stray int
	lat, ack                          []time.Duration // sorted
	lastRecv                          time.Time
}

func (s benchStats) pct(p float64) time.Duration {
	if len(s.lat) == 0 {
		return 0
	}
	return s.lat[min(len(s.lat)-1, int(float64(len(s.lat))*p))]
}

func (s benchStats) ackPct(p float64) time.Duration {
	if len(s.ack) == 0 {
		return 0
	}
	return s.ack[min(len(s.ack)-1, int(float64(len(s.ack))*p))]
}

func (t *benchTracker) stats() benchStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := benchStats{total: len(t.msgs), stray: t.stray}
	for _, m := range t.msgs {
		if !m.ack.IsZero() {
			s.ack = append(s.ack, m.ack.Sub(m.due))
		}
		if m.count == 0 {
			s.lost++
			continue
		}
		if m.count > 1 {
			s.dup++
		}
		d := m.recv.Sub(m.due)
		if d > streamBenchLostWait {
			s.lost++
			continue
		}
		s.received++
		s.lat = append(s.lat, d)
		if m.recv.After(s.lastRecv) {
			s.lastRecv = m.recv
		}
	}
	slices.Sort(s.lat)
	slices.Sort(s.ack)
	return s
}

// dump writes due, ack and receive times (ms since start; -1 if missing)
// of every message as CSV.
func (t *benchTracker) dump(path string, start time.Time) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	var buf bytes.Buffer
	buf.WriteString("n,due_ms,ack_ms,recv_ms\n")
	at := func(x time.Time) float64 {
		if x.IsZero() {
			return -1
		}
		return ms(x.Sub(start))
	}
	for n, m := range t.msgs {
		fmt.Fprintf(&buf, "%d,%.3f,%.3f,%.3f\n", n, at(m.due), at(m.ack), at(m.recv))
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// openLoop offers b.N sends between random pairs (either direction), one
// per interval from the first: each on a goroutine of its own, so that a
// slow send does not delay the next and its latency counts from its due
// time. It fails b if any send failed, then waits for every message (or
// the lost deadline) and a little more for duplicates, and returns when
// the offered period started and ended.
func openLoop(b *testing.B, tr *benchTracker, rng *rand.Rand, pairs int, interval time.Duration, send func(n, from, pair int) error) (start, offeredEnd time.Time) {
	var (
		sendErrs atomic.Int64
		firstErr atomic.Value
		sends    sync.WaitGroup
		i        int
	)
	for b.Loop() {
		if i == 0 {
			start = time.Now()
		}
		pair := rng.IntN(pairs)
		from, to := 2*pair, 2*pair+1
		if rng.IntN(2) == 1 {
			from, to = to, from
		}
		due := start.Add(time.Duration(i) * interval)
		n := tr.add(due, from, to)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		sends.Add(1)
		go func() {
			defer sends.Done()
			if err := send(n, from, pair); err != nil {
				if sendErrs.Add(1) == 1 {
					firstErr.Store(err)
				}
				return
			}
			tr.acked(n, time.Now())
		}()
		i++
	}
	offeredEnd = time.Now()
	sends.Wait()
	if n := sendErrs.Load(); n > 0 {
		b.Fatalf("%d sends failed, first: %v", n, firstErr.Load())
	}
	deadline := tr.lastDue().Add(streamBenchLostWait)
	for !tr.allReceived() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(streamBenchDupGrace)
	return start, offeredEnd
}
