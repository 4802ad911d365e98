package reliability

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/bus/natsbus/natstest"
	pclient "github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/records"
	"github.com/parleyhq/parley/store/postgres/pgtest"
)

// cluster is several parley serve processes on one PostgreSQL database
// and one NATS server, as docs/operations.md deploys them.
type cluster struct {
	t     *testing.T
	nodes []*node
	nats  *natstest.Server
	// alive[i] is false once node i was killed.
	mu    sync.Mutex
	alive []bool
}

// startCluster starts n nodes sharing a fresh database, a NATS server,
// the media directory (PARLEY_MEDIA_URL) and the records key; extra is
// added to every node's environment (and wins over those).
func startCluster(t *testing.T, n int, extra ...string) *cluster {
	dsn := pgtest.DSN(t) // skips loudly without PARLEY_TEST_POSTGRES
	c := &cluster{t: t, nats: natstest.Start(t)}
	shared := t.TempDir()
	env := append([]string{"PARLEY_DATABASE_URL=" + dsn, "PARLEY_NATS_URL=" + c.nats.URL(),
		"PARLEY_MEDIA_URL=file://" + shared,
		"PARLEY_RECORDS_KEY_FILE=" + writeRecordsKey(t, shared)}, extra...)
	// The first node makes the schema and the records key; the others
	// then start at once (migrations under an advisory lock).
	for i := 0; i < n; i++ {
		c.nodes = append(c.nodes, &node{t: t, addr: freeAddr(t), dir: t.TempDir(), env: env})
		c.alive = append(c.alive, true)
	}
	c.nodes[0].start()
	var wg sync.WaitGroup
	for _, nd := range c.nodes[1:] {
		wg.Add(1)
		go func() { defer wg.Done(); nd.start() }()
	}
	wg.Wait()
	t.Cleanup(func() {
		for i, nd := range c.nodes {
			if c.isAlive(i) {
				nd.kill()
			}
			if t.Failed() {
				t.Logf("node %d's log:\n%s", i, nd.logs)
			}
		}
	})
	return c
}

// writeRecordsKey writes an Ed25519 key for the nodes to share: every
// node signs exports and download links with it.
func writeRecordsKey(t *testing.T, dir string) string {
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "records-ed25519.key")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func (c *cluster) isAlive(i int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.alive[i]
}

// kill sends SIGKILL to node i.
func (c *cluster) kill(i int) {
	c.mu.Lock()
	c.alive[i] = false
	c.mu.Unlock()
	c.nodes[i].kill()
}

// url is node i's base URL.
func (c *cluster) url(i int) string { return "http://" + c.nodes[i].addr }

// home is the node a user with index u talks to: u modulo the node count,
// or, once that node is dead, the next live one.
func (c *cluster) home(u int) int {
	for k := 0; k < len(c.nodes); k++ {
		if i := (u + k) % len(c.nodes); c.isAlive(i) {
			return i
		}
	}
	c.t.Fatal("no live node")
	return -1
}

// nodeDevice is one user's WebSocket stream, reopened on another node when
// its node dies, resuming from the last position it handed over.
type nodeDevice struct {
	user    int
	token   string
	cl      *cluster
	mu      sync.Mutex
	pos     int64
	stream  *pclient.Stream
	node    int
	moves   int
	limited int // EventLimited after the first: a resume that lost its place
	// got holds, per conversation, the seqs of message.created events in
	// the order they arrived, and when each arrived by text.
	got  map[string][]int64
	recv map[string]time.Time
	// total counts message.created events.
	total atomic.Int64
	done  chan struct{}
}

func (d *nodeDevice) open(ctx context.Context) error {
	d.mu.Lock()
	since := d.pos
	d.node = d.cl.home(d.user)
	d.mu.Unlock()
	c := pclient.New(d.cl.url(d.node), d.token)
	s, err := c.Stream(ctx, since, &pclient.StreamOptions{Buffer: 1024, MinBackoff: 20 * time.Millisecond, MaxBackoff: 500 * time.Millisecond, FallbackAfter: -1, PingInterval: 2 * time.Second})
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.stream = s
	d.mu.Unlock()
	return nil
}

// run reads the device's streams until ctx ends.
func (d *nodeDevice) run(ctx context.Context) {
	defer close(d.done)
	first := true
	for ctx.Err() == nil {
		d.mu.Lock()
		s := d.stream
		d.mu.Unlock()
		for e := range s.Events() {
			now := time.Now()
			d.mu.Lock()
			switch {
			case e.Type == pclient.EventLimited:
				if !first {
					d.limited++
				}
				first = false
				d.pos = e.Next
			case e.Pos > 0:
				d.pos = e.Pos
			}
			if e.Type == "message.created" && e.Message != nil {
				d.got[e.ConversationID] = append(d.got[e.ConversationID], e.Seq)
				d.recv[e.Message.Text] = now
				d.total.Add(1)
			}
			d.mu.Unlock()
		}
		if ctx.Err() != nil {
			return
		}
		// The stream was closed because its node died: carry on elsewhere.
		for ctx.Err() == nil {
			if err := d.open(ctx); err == nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		d.mu.Lock()
		d.moves++
		d.mu.Unlock()
	}
}

// move closes the stream of a device whose node died; run reopens it on
// a live node from the last position it handed over.
func (d *nodeDevice) move(dead int) {
	d.mu.Lock()
	s, on := d.stream, d.node
	d.mu.Unlock()
	if on == dead {
		s.Close()
	}
}

// TestMultiNode runs three parley serve processes on one PostgreSQL
// database and one NATS server. Users spread over the nodes exchange
// messages (10,000; PARLEY_MULTINODE_MESSAGES for a longer run), each
// through its own node, so that nearly every message crosses nodes. A
// fifth of the way in, one node is killed with SIGKILL: its senders go on
// through another node with the same client ids, and its devices reconnect
// to another node and resume from their last position. Later NATS is down
// for 10 s and comes back on the same port. In the end every device must
// have received every message of its conversations exactly once, in seq
// order without gaps, and every acknowledged message must be stored once.
// It logs send→receive latency across nodes at 1,000 messages/s (never
// asserted).
func TestMultiNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three servers and kills one; skipped with -short")
	}
	total := envInt(t, "PARLEY_MULTINODE_MESSAGES", 10000, 3000)
	const (
		users    = 24
		rate     = 1000 // messages per second, outside the NATS outage
		outRate  = 150  // during it
		outage   = 10 * time.Second
		victim   = 2 // the node killed
		nodesNum = 3
	)
	killAt, outageAt := total/5, total*3/10
	outageEnd := outageAt + int(outRate*outage/time.Second)

	cl := startCluster(t, nodesNum)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// Users: user u lives on node u%3; pairs (2k, 2k+1) share a direct
	// conversation, so the two ends are always on different nodes.
	tokens := make([]string, users)
	for u := range users {
		a, err := pclient.New(cl.url(u%nodesNum), "").Register(ctx, pclient.RegisterRequest{Handle: fmt.Sprintf("mn%02d", u), Password: "multi node test password"})
		if err != nil {
			t.Fatalf("register %d: %v", u, err)
		}
		tokens[u] = a.Token
	}
	convs := make([]string, users/2)
	for k := range convs {
		a, b := 2*k, 2*k+1
		if err := pclient.New(cl.url(b%nodesNum), tokens[b]).Follow(ctx, fmt.Sprintf("mn%02d", a)); err != nil {
			t.Fatal(err)
		}
		c, err := pclient.New(cl.url(a%nodesNum), tokens[a]).StartDirect(ctx, fmt.Sprintf("mn%02d", b))
		if err != nil {
			t.Fatal(err)
		}
		convs[k] = c.ID
	}

	devices := make([]*nodeDevice, users)
	for u := range users {
		d := &nodeDevice{user: u, token: tokens[u], cl: cl, got: map[string][]int64{}, recv: map[string]time.Time{}, done: make(chan struct{})}
		if err := d.open(ctx); err != nil {
			t.Fatal(err)
		}
		devices[u] = d
		go d.run(ctx)
	}
	// Each device first gets EventLimited with the head: wait for all.
	waitUntil(t, 30*time.Second, "devices ready", func() bool {
		for _, d := range devices {
			d.mu.Lock()
			p := d.pos
			d.mu.Unlock()
			if p == 0 {
				return false
			}
		}
		return true
	})

	// Sends, open loop: message i is due at its slot of the schedule and
	// goes to conversation i%12 from a random member, through the
	// sender's node. A failed send is retried with the same client id
	// through the sender's node of the moment until it is acknowledged.
	type sent struct {
		due, acked time.Time
		conv       string
		seq        int64
		id         string
	}
	log := make([]sent, total)
	var retries atomic.Int64
	jobs := make(chan int, 4096)
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(rand.Uint64(), 1))
			for i := range jobs {
				k := i % len(convs)
				u := 2*k + rng.IntN(2)
				cid := "mn-" + strconv.Itoa(i)
				for attempt := 0; ; attempt++ {
					c := pclient.New(cl.url(cl.home(u)), tokens[u])
					c.MaxRetries = -1
					c.HTTP = &http.Client{Timeout: 10 * time.Second}
					m, err := c.Send(ctx, convs[k], pclient.SendRequest{ClientID: cid, Text: "m" + strconv.Itoa(i)})
					if err == nil {
						log[i].acked, log[i].conv, log[i].seq, log[i].id = time.Now(), m.ConversationID, m.Seq, m.ID
						break
					}
					if ctx.Err() != nil {
						return
					}
					var pe *pclient.Error
					if errors.As(err, &pe) && pe.Status < 500 && pe.Status != 429 {
						t.Errorf("send %d refused: %v", i, err)
						break
					}
					retries.Add(1)
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}

	start := time.Now()
	due := start
	var killedAt, outageStart, outageStop time.Time
	for i := 0; i < total; i++ {
		switch i {
		case killAt:
			killedAt = time.Now()
			cl.kill(victim)
			for _, d := range devices {
				d.move(victim)
			}
		case outageAt:
			outageStart = time.Now()
			cl.nats.Stop()
		case outageEnd:
			cl.nats.Restart()
			outageStop = time.Now()
		}
		step := time.Second / rate
		if i >= outageAt && i < outageEnd {
			step = time.Second / outRate
		}
		due = due.Add(step)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		log[i].due = due
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	sendTime := time.Since(start)
	if t.Failed() {
		t.FailNow()
	}

	// Every device must get every message of its conversation.
	perConv := map[string]int64{}
	for _, s := range log {
		perConv[s.conv]++
	}
	want := func(u int) int64 { return perConv[convs[u/2]] }
	waitUntil(t, 60*time.Second, "every nodeDevice received every message", func() bool {
		for u, d := range devices {
			if d.total.Load() < want(u) {
				return false
			}
		}
		return true
	})
	cancel()
	for _, d := range devices {
		<-d.done
	}

	// Once, in order, without gaps, on every device.
	for u, d := range devices {
		seqs := d.got[convs[u/2]]
		if len(d.got) != 1 {
			t.Errorf("nodeDevice %d got messages of %d conversations", u, len(d.got))
		}
		for k, s := range seqs {
			if s != int64(k+1) {
				t.Fatalf("nodeDevice %d (moved %d times): seq %d at position %d of %d (want %d)", u, d.moves, s, k, len(seqs), k+1)
			}
		}
		if int64(len(seqs)) != want(u) {
			t.Errorf("nodeDevice %d got %d messages, want %d", u, len(seqs), want(u))
		}
		if d.limited > 0 {
			t.Errorf("nodeDevice %d lost its place %d times (EventLimited on resume)", u, d.limited)
		}
	}
	// Acknowledged means stored once, with the seq of the ack.
	live := cl.home(0)
	stored := 0
	for k, conv := range convs {
		hist := history(t, cl.nodes[live].addr, tokens[2*k], conv)
		stored += len(hist)
		bySeq := map[int64]string{}
		for _, m := range hist {
			bySeq[m.Seq] = m.ID
		}
		for i, s := range log {
			if s.conv == conv && bySeq[s.seq] != s.id {
				t.Errorf("message %d acknowledged as %s seq %d, stored %q there", i, s.id, s.seq, bySeq[s.seq])
			}
		}
	}
	if stored != total {
		t.Errorf("%d messages stored, %d acknowledged", stored, total)
	}

	// Latency across nodes, from due time to the recipient's socket.
	quiet := func(i int) bool { return i < killAt || i >= outageEnd+total/10 }
	var lat, all []time.Duration
	for i, s := range log {
		k := slices.Index(convs, s.conv)
		text := "m" + strconv.Itoa(i)
		for _, u := range []int{2 * k, 2*k + 1} {
			r, ok := devices[u].recv[text]
			if !ok {
				continue
			}
			all = append(all, r.Sub(s.due))
			if quiet(i) {
				lat = append(lat, r.Sub(s.due))
			}
		}
	}
	moves := 0
	for _, d := range devices {
		moves += d.moves
	}
	t.Logf("%d messages in %v (%d send retries), %d devices on %d nodes; node %d killed after %v (%d devices moved), NATS down %v–%v",
		total, sendTime.Round(time.Millisecond), retries.Load(), users, nodesNum, victim, killedAt.Sub(start).Round(time.Millisecond),
		moves, outageStart.Sub(start).Round(time.Millisecond), outageStop.Sub(start).Round(time.Millisecond))
	t.Logf("send→receive at %d msg/s, steady (%d deliveries, outside the kill and outage): %s", rate, len(lat), percentiles(lat))
	t.Logf("send→receive, whole run (%d deliveries): %s", len(all), percentiles(all))
}

// percentiles formats p50, p90, p99, p99.9 and max.
func percentiles(d []time.Duration) string {
	if len(d) == 0 {
		return "no samples"
	}
	slices.Sort(d)
	p := func(q float64) time.Duration {
		return d[min(len(d)-1, int(q*float64(len(d))))].Round(10 * time.Microsecond)
	}
	return strings.Join([]string{"p50 " + p(0.5).String(), "p90 " + p(0.9).String(), "p99 " + p(0.99).String(),
		"p99.9 " + p(0.999).String(), "max " + d[len(d)-1].Round(10*time.Microsecond).String()}, ", ")
}

// waitUntil polls cond until it holds or the timeout passes.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestNodesShareMediaAndExports: with media in a shared place, a file
// uploaded through one node downloads through another, and an export
// built by one node downloads (same bytes, signed with the shared key)
// through another. It runs on a shared directory (file://, the disk
// store) and on a gocloud.dev bucket (fileblob://, the code path of
// s3://).
func TestNodesShareMediaAndExports(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers; skipped with -short")
	}
	for _, scheme := range []string{"file", "fileblob"} {
		t.Run(scheme, func(t *testing.T) {
			var extra []string
			if scheme == "fileblob" {
				extra = append(extra, "PARLEY_MEDIA_URL=fileblob://"+t.TempDir())
			}
			cl := startCluster(t, 2, extra...)
			ctx := context.Background()
			a, err := pclient.New(cl.url(0), "").Register(ctx, pclient.RegisterRequest{Handle: "sharer", Password: "shared media password"})
			if err != nil {
				t.Fatal(err)
			}
			b, err := pclient.New(cl.url(1), "").Register(ctx, pclient.RegisterRequest{Handle: "viewer", Password: "shared media password"})
			if err != nil {
				t.Fatal(err)
			}
			onA, onB := pclient.New(cl.url(0), a.Token), pclient.New(cl.url(1), b.Token)
			if err := onB.Follow(ctx, "sharer"); err != nil {
				t.Fatal(err)
			}
			conv, err := onA.StartDirect(ctx, "viewer")
			if err != nil {
				t.Fatal(err)
			}
			content := "a file uploaded to node A, " + strings.Repeat("read on node B. ", 64)
			up, err := onA.Upload(ctx, "file", "notes.txt", strings.NewReader(content))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := onA.Send(ctx, conv.ID, pclient.SendRequest{Kind: "file", Text: "see attached", Attachments: []string{up.ID}}); err != nil {
				t.Fatal(err)
			}
			dl, err := onB.Download(ctx, up.ID)
			if err != nil {
				t.Fatalf("download on node B: %v", err)
			}
			got, err := io.ReadAll(dl.Body)
			dl.Body.Close()
			if err != nil || string(got) != content {
				t.Fatalf("node B served %d bytes (%v), want the %d uploaded on A", len(got), err, len(content))
			}

			job, err := onA.StartExport(ctx, pclient.ExportRequest{Scope: "conversation", ConversationID: conv.ID})
			if err != nil {
				t.Fatal(err)
			}
			waitUntil(t, 60*time.Second, "export done", func() bool {
				if job, err = onA.Export(ctx, job.ID); err != nil {
					t.Fatal(err)
				}
				if job.State == "failed" {
					t.Fatalf("export failed: %s", job.Error)
				}
				return job.State == "done"
			})
			zdl, err := onB.WithToken(a.Token).DownloadExport(ctx, job)
			if err != nil {
				t.Fatalf("export built on A, downloaded from B: %v", err)
			}
			data, err := io.ReadAll(zdl.Body)
			zdl.Body.Close()
			if err != nil || int64(len(data)) != job.Size {
				t.Fatalf("export download: %d bytes (%v), job says %d", len(data), err, job.Size)
			}
			rep, err := records.Verify(bytes.NewReader(data), int64(len(data)), records.Options{})
			if err != nil || !rep.OK {
				t.Fatalf("the export does not verify: %v %+v", err, rep)
			}
			// The attachment, read from the shared store by the node that
			// built the export, is in it.
			zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, f := range zr.File {
				if rc, err := f.Open(); err == nil {
					b, _ := io.ReadAll(rc)
					rc.Close()
					found = found || string(b) == content
				}
			}
			if !found {
				t.Fatal("the export lacks the attachment's bytes")
			}
		})
	}
}
