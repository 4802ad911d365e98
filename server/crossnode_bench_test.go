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
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/parleyhq/parley/bus/natsbus/natstest"
	"github.com/parleyhq/parley/realtime"
	"github.com/parleyhq/parley/store/postgres/pgtest"
)

// Parameters of BenchmarkCrossNodeLatency (issue 11, "Numbers").
const (
	crossBenchPairs  = 100  // 200 users, one device each, on their own node
	crossBenchRate   = 1000 // messages offered per second, in total
	crossBenchWarmup = 2 * time.Second
)

// BenchmarkCrossNodeLatency measures send→receive latency across nodes:
// two nodes (A and B, each a whole Server in this process) on one
// PostgreSQL database and one NATS server. User 2i lives on A and user
// 2i+1 on B; each has one WebSocket device on its own node, and each pair
// shares a direct conversation, so every message is sent through one node
// and received on the other. Sends are offered open loop at 1,000/s, each
// from a random member of a random pair through that member's node, and
// latency runs from the send's due time to the moment the peer's socket
// hands over the message.created frame, as in BenchmarkStreamLatency.
//
// The breakdown uses three timestamps per message besides due and
// receive: the sender's acknowledgement (HTTP 201, after the commit), and
// the moment a NATS subscriber of the benchmark's own (a third
// connection, like another node's hub) sees the message's notification.
// So due→ack is HTTP and the commit on the sending node, due→notified
// adds the publish and NATS, and notified→receive is the receiving
// node's work: its hub, the device's sync read from PostgreSQL (or a
// push) and the frame write.
//
//	PARLEY_TEST_POSTGRES=postgres://… go test -run '^$' -bench CrossNode -benchtime 5000x ./server
//
// PARLEY_BENCH_RATE=n offers n messages per second instead.
// PARLEY_BENCH_CPUPROFILE and PARLEY_BENCH_TRACE profile the measured part
// alone (benchProfile).
//
// Reported: p50/p99 of each stage in ms, the messages published with
// their frames and the pushes queued to devices (per message; a device
// that is not caught up still syncs), lost and duplicated; the benchmark fails if a send
// fails or a message is lost or duplicated.
func BenchmarkCrossNodeLatency(b *testing.B) {
	dsn := pgtest.DSN(b)
	ns := natstest.Start(b)
	node := func() *Server {
		dir := filepath.Join(b.TempDir(), "node")
		return openServer(b, nil, func(c *Config) { c.DataDir, c.DatabaseURL, c.NATSURL = dir, dsn, ns.URL() })
	}
	nodes := []*Server{node(), node()}
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)

	// The benchmark's own look at the bus: when each new message's
	// notification went by.
	nc, err := nats.Connect(ns.URL())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	var notified sync.Map // message id → time.Time
	if _, err := nc.Subscribe("parley."+realtime.Subject, func(m *nats.Msg) {
		at := time.Now()
		var n struct {
			Type string `json:"t"`
			ID   string `json:"m"`
		}
		if json.Unmarshal(m.Data, &n) == nil && n.Type == "message.created" && n.ID != "" {
			notified.LoadOrStore(n.ID, at)
		}
	}); err != nil {
		b.Fatal(err)
	}

	users, convs := benchPairs(b, nodes[0].App, crossBenchPairs)
	tr := &benchTracker{}
	for i, u := range users {
		u.index = i
	}
	home := func(u int) *Server { return nodes[u%2] }
	benchParallel(b, 16, len(users), func(i int) error {
		return tr.connect(ctx, home(i).Addr(), users[i])
	})
	b.Cleanup(func() {
		for _, u := range users {
			if u.conn != nil {
				u.conn.CloseNow()
			}
		}
	})
	time.Sleep(time.Second) // presence of the new devices drains

	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 256}}
	b.Cleanup(client.CloseIdleConnections)
	url := func(u, pair int) string {
		return "http://" + home(u).Addr() + "/api/v1/conversations/" + convs[pair] + "/messages"
	}
	rate := crossBenchRate
	if v, err := strconv.Atoi(os.Getenv("PARLEY_BENCH_RATE")); err == nil && v > 0 {
		rate = v // to see the stages without queueing
	}
	interval := time.Second / time.Duration(rate)
	warm := rand.New(rand.NewPCG(5, 6))
	var warming sync.WaitGroup
	var warmErrs atomic.Int64
	warmStart := time.Now()
	for n := range int(crossBenchWarmup / interval) {
		// From both members, so that both nodes' committer caches hold
		// every conversation, as they do once a node has served it: a
		// warm-up through node A alone left B's first sends of the run
		// reading every conversation's rows under the positions lock
		// (4–5 statements a send, batches of 60 ms), and both nodes'
		// sends queued behind them.
		pair := warm.IntN(crossBenchPairs)
		from := 2*pair + n%2
		if d := time.Until(warmStart.Add(time.Duration(n) * interval)); d > 0 {
			time.Sleep(d)
		}
		warming.Add(1)
		go func() {
			defer warming.Done()
			if _, err := crossPost(client, url(from, pair), users[from].token, "w"+strconv.Itoa(n), "warm-up message"); err != nil {
				warmErrs.Add(1)
			}
		}()
	}
	warming.Wait()
	if n := warmErrs.Load(); n > 0 {
		b.Fatalf("%d warm-up sends failed", n)
	}
	time.Sleep(500 * time.Millisecond)
	pushedBefore := nodes[0].Hub.Pushed() + nodes[1].Hub.Pushed()
	renderedBefore := nodes[0].Hub.Rendered() + nodes[1].Hub.Rendered()

	rng := rand.New(rand.NewPCG(7, 8))
	stopProfile := benchProfile(b)
	var (
		idsMu sync.Mutex
		ids   = map[int]string{}
	)
	openLoop(b, tr, rng, crossBenchPairs, interval, func(n, from, pair int) error {
		id, err := crossPost(client, url(from, pair), users[from].token, "b"+strconv.Itoa(n), benchText(n))
		if err != nil {
			return err
		}
		idsMu.Lock()
		ids[n] = id
		idsMu.Unlock()
		return nil
	})
	stopProfile()
	cancel()

	st := tr.stats()
	tr.mu.Lock()
	var ack, note, recvB, total []time.Duration
	for n, m := range tr.msgs {
		if m.count == 0 || m.ack.IsZero() {
			continue
		}
		total = append(total, m.recv.Sub(m.due))
		ack = append(ack, m.ack.Sub(m.due))
		at, ok := notified.Load(ids[n])
		if !ok {
			continue
		}
		note = append(note, at.(time.Time).Sub(m.due))
		recvB = append(recvB, m.recv.Sub(at.(time.Time)))
	}
	tr.mu.Unlock()
	pct := func(d []time.Duration, p float64) float64 {
		if len(d) == 0 {
			return 0
		}
		slices.Sort(d)
		return ms(d[min(len(d)-1, int(float64(len(d))*p))])
	}
	b.ReportMetric(pct(total, 0.5), "p50-ms")
	b.ReportMetric(pct(total, 0.99), "p99-ms")
	b.ReportMetric(pct(ack, 0.5), "ack-p50-ms")
	b.ReportMetric(pct(ack, 0.99), "ack-p99-ms")
	b.ReportMetric(pct(note, 0.5), "notified-p50-ms")
	b.ReportMetric(pct(note, 0.99), "notified-p99-ms")
	b.ReportMetric(pct(recvB, 0.5), "receiver-p50-ms")
	b.ReportMetric(pct(recvB, 0.99), "receiver-p99-ms")
	pushed := nodes[0].Hub.Pushed() + nodes[1].Hub.Pushed() - pushedBefore
	b.ReportMetric(float64(pushed)/float64(max(1, st.total)), "pushed/msg")
	rendered := nodes[0].Hub.Rendered() + nodes[1].Hub.Rendered() - renderedBefore
	b.ReportMetric(float64(rendered)/float64(max(1, st.total)), "rendered/msg")
	b.ReportMetric(float64(st.lost), "lost")
	b.ReportMetric(float64(st.dup), "dup")
	b.Logf("%d messages, %d received, %d notifications seen; p99.9 %.1f ms, max %.1f ms",
		st.total, st.received, len(note), pct(total, 0.999), pct(total, 1))
	if st.lost > 0 || st.dup > 0 || st.stray > 0 {
		b.Fatalf("lost %d, duplicated %d, misdelivered %d of %d messages", st.lost, st.dup, st.stray, st.total)
	}
}

// crossPost sends a message and returns its id.
func crossPost(client *http.Client, url, token, clientID, text string) (string, error) {
	body, _ := json.Marshal(map[string]string{"client_id": clientID, "text": text})
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	buf, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("send %s: status %d: %s", clientID, resp.StatusCode, buf)
	}
	var m struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(buf, &m); err != nil {
		return "", err
	}
	return m.ID, nil
}
