// Command parley-wsmem measures the server's memory per idle WebSocket
// stream (issue 3, "Numbers": 10,000 connections, target ≤ 16 KiB each).
//
// It runs a real `parley serve` binary as a subprocess — so the client
// side of the sockets, which lives in this process, is not counted — on a
// free loopback port with a fresh data directory, and reads the server's
// resident memory (VmRSS in /proc/<pid>/status) before any stream is open
// and after N streams have been open and idle for a while:
//
//	go build -o /tmp/parley ./cmd/parley && go run ./cmd/parley-wsmem -bin /tmp/parley -n 10000
//
// Accounts are registered with the server's real argon2id cost (19 MiB per
// hash). That memory would stay in the server's heap and be reused by the
// streams, hiding their cost, so the server is restarted after the
// registrations: the baseline is a fresh process that has served no
// stream. Registration is not throttled but costly, so a few users are
// registered (-per-user streams share one token; the server does not limit
// streams per session) instead of one per stream.
//
// Reported: RSS before, at N/2 and at N streams; (RSS(N) - RSS(0)) / N,
// which includes one-off costs of the first streams (database
// connections, pools); and the marginal cost (RSS(N) - RSS(N/2)) / (N/2),
// which does not. Memory is sampled after -idle of quiet; a Go server does
// not return freed memory at once, and a GC cannot be forced from outside,
// so garbage from the handshakes may still be resident and counts.
//
// Everything stays on 127.0.0.1; the command stops itself after -timeout
// and always kills the server it started.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/parleyhq/parley/internal/loadkit"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"
)

type options struct {
	bin        string
	n          int
	perUser    int
	idle       time.Duration
	hold       time.Duration
	parallel   int
	regWorkers int
	timeout    time.Duration
	json       bool
	serverLog  bool
	sources    int
}

// sample is the server's memory at one point.
type sample struct {
	Streams  int   `json:"streams"`
	VmRSS    int64 `json:"vm_rss_bytes"`
	RssAnon  int64 `json:"rss_anon_bytes"`
	VmData   int64 `json:"vm_data_bytes"`
	Threads  int   `json:"threads"`
	Frames   int64 `json:"frames_received"`
	Closed   int64 `json:"streams_closed"`
	Measured int64 `json:"unix_ms"`
}

// result is the -json output.
type result struct {
	Streams           int      `json:"streams"`
	Users             int      `json:"users"`
	Idle              string   `json:"idle"`
	Samples           []sample `json:"samples"`
	PerStreamBytes    float64  `json:"per_stream_bytes"`
	MarginalBytes     float64  `json:"marginal_per_stream_bytes"`
	AnonPerStreamByte float64  `json:"anon_per_stream_bytes"`
	ConnectSeconds    float64  `json:"connect_seconds"`
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "", "path of a built parley binary (required; go build -o /tmp/parley ./cmd/parley)")
	flag.IntVar(&o.n, "n", 10000, "idle streams to open")
	flag.IntVar(&o.perUser, "per-user", 200, "streams opened with each user's token")
	flag.DurationVar(&o.idle, "idle", 5*time.Second, "quiet time before each memory sample")
	flag.DurationVar(&o.hold, "hold", 0, "keep the streams open this long after measuring (to inspect the server)")
	flag.IntVar(&o.parallel, "parallel", 64, "streams opened concurrently")
	flag.IntVar(&o.regWorkers, "register-workers", 2, "registrations in flight (each hashes a password with argon2id)")
	flag.DurationVar(&o.timeout, "timeout", 9*time.Minute, "give up after this long")
	flag.BoolVar(&o.json, "json", false, "print the result as JSON")
	flag.BoolVar(&o.serverLog, "server-log", false, "pass the server's log through to stderr")
	flag.IntVar(&o.sources, "sources", 0, "source addresses 127.0.0.1 … 127.0.0.<sources> to spread the streams over (one address has ~28,000 ephemeral ports); 0: one per 20,000 streams")
	flag.Parse()
	if o.sources == 0 {
		o.sources = (o.n + 19999) / 20000
	}
	if o.bin == "" || o.n <= 0 || o.sources < 1 || o.sources > 254 || o.perUser <= 0 || o.parallel <= 0 || o.regWorkers <= 0 {
		fmt.Fprintln(os.Stderr, "usage: parley-wsmem -bin /path/to/parley [-n 10000] [-json]")
		flag.PrintDefaults()
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o, os.Stdout)
	stop()
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "parley-wsmem:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, stdout io.Writer) error {
	// This process holds the client end of every stream, and the server
	// (which inherits the limit) the other: both need a descriptor each.
	if err := loadkit.RaiseFileLimit(uint64(o.n)+1024, "lower -n, or raise the hard limit (ulimit -Hn; docs/operations.md)"); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "parley-wsmem-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	users := (o.n + o.perUser - 1) / o.perUser

	// Phase 1: register the users, then stop the server.
	progress("registering %d users (argon2id at the server's cost, %d at a time)", users, o.regWorkers)
	srv, err := startServer(ctx, o, dir, addr)
	if err != nil {
		return err
	}
	tokens, err := register(ctx, "http://"+addr, users, o.regWorkers)
	if err != nil {
		srv.kill()
		return err
	}
	if err := srv.stop(); err != nil {
		return fmt.Errorf("stop after registrations: %w", err)
	}

	// Phase 2: a fresh server; baseline, then the streams.
	srv, err = startServer(ctx, o, dir, addr)
	if err != nil {
		return err
	}
	defer srv.kill()
	cl := &clients{}
	defer cl.closeAll()
	var samples []sample
	measure := func(streams int) error {
		if err := loadkit.Sleep(ctx, o.idle); err != nil {
			return err
		}
		s, err := readStatus(srv.cmd.Process.Pid)
		if err != nil {
			return err
		}
		s.Streams, s.Frames, s.Closed = streams, cl.frames.Load(), cl.closed.Load()
		s.Measured = time.Now().UnixMilli()
		samples = append(samples, s)
		progress("%6d streams: VmRSS %s, RssAnon %s, %d threads", streams, kib(s.VmRSS), kib(s.RssAnon), s.Threads)
		return nil
	}
	if err := measure(0); err != nil {
		return err
	}
	start := time.Now()
	half := o.n / 2
	cl.sources = o.sources
	if err := cl.open(ctx, addr, tokens, 0, half, o.parallel); err != nil {
		return err
	}
	if err := measure(half); err != nil {
		return err
	}
	if err := cl.open(ctx, addr, tokens, half, o.n, o.parallel); err != nil {
		return err
	}
	connectTime := time.Since(start) - o.idle
	if err := measure(o.n); err != nil {
		return err
	}
	if c := cl.closed.Load(); c > 0 {
		return fmt.Errorf("%d streams were closed by the server while idle", c)
	}
	if err := srv.alive(); err != nil {
		return err
	}

	base, mid, last := samples[0], samples[1], samples[2]
	r := result{
		Streams: o.n, Users: users, Idle: o.idle.String(), Samples: samples,
		PerStreamBytes:    float64(last.VmRSS-base.VmRSS) / float64(o.n),
		AnonPerStreamByte: float64(last.RssAnon-base.RssAnon) / float64(o.n),
		ConnectSeconds:    connectTime.Seconds(),
	}
	if o.n-half > 0 {
		r.MarginalBytes = float64(last.VmRSS-mid.VmRSS) / float64(o.n-half)
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return err
		}
	} else {
		printTable(stdout, r)
	}
	if o.hold > 0 {
		progress("holding %d streams for %v (server pid %d, %s)", o.n, o.hold, srv.cmd.Process.Pid, addr)
		if err := loadkit.Sleep(ctx, o.hold); err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	return nil
}

func printTable(w io.Writer, r result) {
	fmt.Fprintf(w, "parley server memory, %d idle WebSocket streams (%d users), sampled after %s idle\n\n", r.Streams, r.Users, r.Idle)
	fmt.Fprintf(w, "%10s  %12s  %12s  %8s\n", "streams", "VmRSS", "RssAnon", "threads")
	for _, s := range r.Samples {
		fmt.Fprintf(w, "%10d  %12s  %12s  %8d\n", s.Streams, kib(s.VmRSS), kib(s.RssAnon), s.Threads)
	}
	fmt.Fprintf(w, "\nper stream (0 → %d):          %6.1f KiB  (RssAnon %.1f KiB)\n", r.Streams, r.PerStreamBytes/1024, r.AnonPerStreamByte/1024)
	fmt.Fprintf(w, "marginal (%d → %d):       %6.1f KiB\n", r.Streams/2, r.Streams, r.MarginalBytes/1024)
	fmt.Fprintf(w, "streams opened in %.1f s\n", r.ConnectSeconds)
}

func kib(b int64) string { return strconv.FormatInt(b/1024, 10) + " KiB" }

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// freeAddr returns a loopback address with a port that was free a moment
// ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// server is the parley subprocess.
type server struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
	log  *bytes.Buffer // the last of its output, for errors
}

func startServer(ctx context.Context, o options, dir, addr string) (*server, error) {
	cmd := exec.Command(o.bin, "serve")
	cmd.Env = append(os.Environ(),
		"PARLEY_DATA_DIR="+filepath.Join(dir, "data"),
		"PARLEY_LISTEN="+addr,
		"PARLEY_LOG_LEVEL=warn",
		"PARLEY_CONFIG=",
		"PARLEY_DATABASE_URL=",
	)
	s := &server{cmd: cmd, done: make(chan struct{}), log: &bytes.Buffer{}}
	var out io.Writer = &tailWriter{buf: s.log}
	if o.serverLog {
		out = io.MultiWriter(out, os.Stderr)
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", o.bin, err)
	}
	go func() {
		s.err = cmd.Wait()
		close(s.done)
	}()
	// Wait until it answers.
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("server exited: %v\n%s", s.err, s.log)
		case <-ctx.Done():
			s.kill()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.kill()
			return nil, fmt.Errorf("server did not answer on %s within 30 s\n%s", addr, s.log)
		}
	}
}

// alive reports an error if the server has exited.
func (s *server) alive() error {
	select {
	case <-s.done:
		return fmt.Errorf("server exited: %v\n%s", s.err, s.log)
	default:
		return nil
	}
}

// stop asks the server to shut down and waits for it.
func (s *server) stop() error {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		return nil
	case <-time.After(15 * time.Second):
		s.kill()
		return errors.New("server did not stop within 15 s of SIGTERM")
	}
}

// kill ends the server now (it is safe to call more than once).
func (s *server) kill() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Kill()
	<-s.done
}

// tailWriter keeps the last 16 KiB written.
type tailWriter struct {
	mu  sync.Mutex
	buf *bytes.Buffer
}

func (w *tailWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if over := w.buf.Len() - 16<<10; over > 0 {
		w.buf.Next(over)
	}
	return len(p), nil
}

// register creates users accounts and returns their tokens.
func register(ctx context.Context, base string, users, workers int) ([]string, error) {
	client := &http.Client{Timeout: time.Minute}
	tokens := make([]string, users)
	prefix := "m" + strconv.FormatInt(time.Now().UnixNano()%1e6, 36)
	err := loadkit.Parallel(ctx, workers, users, func(i int) error {
		body, _ := json.Marshal(map[string]string{
			"handle": fmt.Sprintf("%s_%05d", prefix, i), "password": "memory measurement password", "device": "parley-wsmem",
		})
		req, err := http.NewRequestWithContext(ctx, "POST", base+"/api/v1/accounts", bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("register: status %d: %s", resp.StatusCode, b)
		}
		var a struct {
			Token string `json:"token"`
		}
		if err := json.Unmarshal(b, &a); err != nil || a.Token == "" {
			return fmt.Errorf("register: no token in %s", b)
		}
		tokens[i] = a.Token
		return nil
	})
	return tokens, err
}

// clients are the streams this process holds open.
type clients struct {
	mu     sync.Mutex
	conns  []*websocket.Conn
	frames atomic.Int64 // frames after the hello (presence and the like)
	closed atomic.Int64 // streams that ended while we held them
	ending atomic.Bool
	// sources is how many loopback source addresses the streams are
	// spread over: one address pair has only the ephemeral port range
	// (~28,000 by default) for connections to one server port.
	sources int
	httpc   []*http.Client
}

// client returns the HTTP client dialing from 127.0.0.<1 + i % sources>.
func (c *clients) client(i int) *http.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.httpc == nil {
		for k := range max(c.sources, 1) {
			d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+k))}, Timeout: 30 * time.Second}
			c.httpc = append(c.httpc, &http.Client{Transport: &http.Transport{DialContext: d.DialContext}})
		}
	}
	return c.httpc[i%len(c.httpc)]
}

// open dials streams from..to-1; stream i uses the token of user i/per-user
// (spread evenly over the tokens).
func (c *clients) open(ctx context.Context, addr string, tokens []string, from, to, workers int) error {
	u := "ws://" + addr + "/api/v1/stream?since=now"
	return loadkit.Parallel(ctx, workers, to-from, func(k int) error {
		i := from + k
		token := tokens[i%len(tokens)]
		dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		conn, _, err := websocket.Dial(dctx, u, &websocket.DialOptions{HTTPClient: c.client(i), HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
		if err != nil {
			return fmt.Errorf("stream %d: %w", i, err)
		}
		_, hello, err := conn.Read(dctx)
		if err != nil || !bytes.Contains(hello, []byte(`"hello"`)) {
			conn.CloseNow()
			return fmt.Errorf("stream %d: no hello (%v): %s", i, err, hello)
		}
		c.mu.Lock()
		c.conns = append(c.conns, conn)
		c.mu.Unlock()
		// Keep reading, so that pings are answered and closes are seen.
		go func() {
			for {
				if _, _, err := conn.Read(context.Background()); err != nil {
					if !c.ending.Load() {
						c.closed.Add(1)
					}
					return
				}
				c.frames.Add(1)
			}
		}()
		return nil
	})
}

func (c *clients) closeAll() {
	c.ending.Store(true)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.conns {
		conn.CloseNow()
	}
	c.conns = nil
}

// readStatus reads a process's memory figures from /proc/<pid>/status.
func readStatus(pid int) (sample, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return sample{}, err
	}
	defer f.Close()
	var s sample
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(val)
		if len(fields) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(fields[0], 10, 64)
		switch key {
		case "VmRSS":
			s.VmRSS = n * 1024
		case "RssAnon":
			s.RssAnon = n * 1024
		case "VmData":
			s.VmData = n * 1024
		case "Threads":
			s.Threads = int(n)
		}
	}
	if s.VmRSS == 0 {
		return s, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
	}
	return s, sc.Err()
}
