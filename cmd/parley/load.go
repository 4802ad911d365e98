package main

// parley load: a load generator for a running Parley server (issue 12,
// "The load generator"). It registers users through the API, puts them
// into conversations of a chosen shape, connects one WebSocket stream per
// device, sends messages open loop (a fixed schedule) or closed loop, and
// matches every message.created frame to its send. See
// docs/benchmarking.md.

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/loadkit"
)

// loadConfig is what one run of the generator does.
type loadConfig struct {
	Target      string        // base URL of the server, e.g. http://127.0.0.1:8080
	AllowRemote bool          // allow a target that is not a loopback address
	Users       int           // users taking part in conversations
	Devices     int           // streams per user
	Shape       string        // pairs, group:N, biggroup or inbox
	Via         string        // how messages are sent: http (POST) or ws (send frames on the sender's stream)
	Rate        float64       // messages per second offered in total (open loop); 0 = closed loop
	Senders     int           // concurrent senders in closed loop
	Size        int           // bytes of message text
	Duration    time.Duration // measured part of the run
	Warmup      time.Duration // same load before it, not measured
	Drain       time.Duration // after the last send: how long to wait for deliveries
	Idle        int           // extra idle streams to hold (of users in no conversation)
	PID         int           // server process to sample from /proc; 0 = none
	Workers     int           // concurrent setup requests (registration hashes a password each)
	Seed        uint64        // of the sender choice; 0 = random
	Progress    io.Writer     // a progress line every second; nil = none
}

// Defaults of the flags.
const (
	defaultTarget   = "http://127.0.0.1:8080"
	idlePerUser     = 200  // idle streams opened with one user's token
	maxInFlight     = 2048 // open-loop sends waiting for an answer at once
	dupGrace        = time.Second
	settleTime      = time.Second // after connecting, before sending
	loadPassword    = "load generator password"
	histMaxMicros   = int64(time.Hour / time.Microsecond)
	histSignificant = 3
)

// procUsage is a process's memory and CPU as seen in /proc.
type procUsage struct {
	PID           int     `json:"pid"`
	RSSBefore     int64   `json:"rss_before_bytes"` // before setup
	RSSStart      int64   `json:"rss_start_bytes"`  // when measuring starts (after warm-up)
	RSSEnd        int64   `json:"rss_end_bytes"`    // when measuring ends
	CPUSeconds    float64 `json:"cpu_seconds"`      // utime+stime during the measured part
	CPUPercent    float64 `json:"cpu_percent"`      // of one core, during the measured part
	startTicks    int64
	measuredStart time.Time
}

// loadResult is everything a run reports; -json prints it as is.
type loadResult struct {
	Target        string  `json:"target"`
	Shape         string  `json:"shape"`
	Users         int     `json:"users"`
	Devices       int     `json:"devices_per_user"`
	Conversations int     `json:"conversations"`
	Streams       int     `json:"streams"`
	IdleStreams   int     `json:"idle_streams"`
	Mode          string  `json:"mode"` // open or closed
	Via           string  `json:"via"`  // http or ws
	Rate          float64 `json:"rate,omitempty"`
	Senders       int     `json:"senders,omitempty"`
	Size          int     `json:"size_bytes"`
	Warmup        float64 `json:"warmup_seconds"`
	Duration      float64 `json:"duration_seconds"`
	SetupSeconds  float64 `json:"setup_seconds"`

	// Measured part only (sends due after the warm-up).
	Sent            int64   `json:"sent"`
	Acked           int64   `json:"acked"`
	Failed          int64   `json:"failed"`
	AckedPerSecond  float64 `json:"acked_per_second"`
	DeliveredPerSec float64 `json:"delivered_per_second"`
	Ack             latency `json:"ack_latency"`
	Receive         latency `json:"receive_latency"`

	// Whole run, warm-up included: every expected delivery is checked.
	Expected           int64            `json:"expected_deliveries"`
	Received           int64            `json:"received_deliveries"`
	Lost               int64            `json:"lost"`
	Duplicated         int64            `json:"duplicated"`
	Misdelivered       int64            `json:"misdelivered"`
	DeliveredDespite   int64            `json:"delivered_after_failed_send"`
	Errors             map[string]int64 `json:"errors"`
	StreamsClosedEarly int64            `json:"streams_closed_early"`
	// StreamsResumed counts device streams the server ended during the
	// run that reconnected with since = their last position (as a client
	// does: nothing may be lost); ResumesLimited those of them the server
	// could not replay (too far behind: hello.limited).
	StreamsResumed int64 `json:"streams_resumed"`
	ResumesLimited int64 `json:"resumes_limited"`

	Server *procUsage `json:"server,omitempty"`
	Client *procUsage `json:"client,omitempty"`
}

// runLoadCmd is `parley load [flags]`.
func runLoadCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg loadConfig
	var asJSON, quiet bool
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: parley load [flags]\n\nDrives a running Parley server with registered users, WebSocket devices and messages,\nand reports throughput, latency, loss and duplication. See docs/benchmarking.md.\n\nFlags:")
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.Target, "target", defaultTarget, "base URL of the server")
	fs.BoolVar(&cfg.AllowRemote, "allow-remote", false, "allow a target that is not a loopback address")
	fs.IntVar(&cfg.Users, "users", 100, "users taking part in conversations")
	fs.IntVar(&cfg.Devices, "devices", 1, "WebSocket devices (streams) per user")
	fs.StringVar(&cfg.Shape, "shape", "pairs", "conversations: pairs, group:N (groups of N), biggroup (everyone in one group) or inbox (one business, the rest its customers)")
	fs.StringVar(&cfg.Via, "via", "http", "how messages are sent: http (POST …/messages) or ws (send frames on the sender's first device stream)")
	fs.Float64Var(&cfg.Rate, "rate", 100, "messages per second offered in total, on a fixed schedule (open loop); 0 = closed loop")
	fs.IntVar(&cfg.Senders, "senders", 16, "concurrent senders in closed loop (-rate 0), each sending again after its ack")
	fs.IntVar(&cfg.Size, "size", 64, "message text size in bytes (at least the ~20-byte match token, at most 10000)")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "measured part of the run")
	fs.DurationVar(&cfg.Warmup, "warmup", 2*time.Second, "same load before measuring, not counted in latency or throughput")
	fs.DurationVar(&cfg.Drain, "drain", 5*time.Second, "after the last send, how long to wait for outstanding answers and deliveries")
	fs.IntVar(&cfg.Idle, "idle", 0, "extra idle WebSocket streams to hold open (of extra users in no conversation)")
	fs.IntVar(&cfg.PID, "pid", 0, "server process id, to report its RSS and CPU from /proc (same machine only)")
	fs.IntVar(&cfg.Workers, "workers", 8, "concurrent setup requests (each registration hashes a password on the server)")
	fs.Uint64Var(&cfg.Seed, "seed", 0, "seed of the sender choice (0 = random)")
	fs.BoolVar(&asJSON, "json", false, "print the result as one JSON object instead of a table")
	fs.BoolVar(&quiet, "quiet", false, "no progress lines on stderr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("load: unexpected arguments: %v", fs.Args())
	}
	if !quiet {
		cfg.Progress = stderr
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := runLoad(ctx, cfg)
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		printLoadTable(stdout, res)
	}
	if res.Lost > 0 || res.Duplicated > 0 || res.Misdelivered > 0 {
		return fmt.Errorf("load: %d deliveries lost, %d duplicated, %d misdelivered (all must be 0)", res.Lost, res.Duplicated, res.Misdelivered)
	}
	if res.Acked == 0 {
		return errors.New("load: no message was acknowledged")
	}
	return nil
}

// checkTarget parses the target URL and refuses a host that is not a
// loopback address unless remote targets are allowed. Names other than
// localhost are not resolved: they count as remote.
func checkTarget(target string, allowRemote bool) (*url.URL, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("target %q: want http://host:port or https://host:port", target)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	if allowRemote {
		return u, nil
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() || strings.EqualFold(host, "localhost") {
		return u, nil
	}
	return nil, fmt.Errorf("target %q is not a loopback address; pass -allow-remote to load a remote server", target)
}

// runLoad runs the generator against cfg.Target and returns what it saw.
func runLoad(ctx context.Context, cfg loadConfig) (*loadResult, error) {
	base, err := checkTarget(cfg.Target, cfg.AllowRemote)
	if err != nil {
		return nil, err
	}
	shape, err := parseShape(cfg.Shape, cfg.Users)
	if err != nil {
		return nil, err
	}
	if cfg.Via == "" {
		cfg.Via = "http"
	}
	switch {
	case cfg.Devices < 1:
		return nil, errors.New("-devices must be at least 1")
	case cfg.Via != "http" && cfg.Via != "ws":
		return nil, errors.New("-via is http or ws")
	case cfg.Rate < 0 || math.IsInf(cfg.Rate, 0) || math.IsNaN(cfg.Rate):
		return nil, errors.New("-rate must be ≥ 0")
	case cfg.Rate == 0 && cfg.Senders < 1:
		return nil, errors.New("closed loop (-rate 0) needs -senders ≥ 1")
	case cfg.Size > 10000:
		return nil, errors.New("-size is at most 10000 (the server's text limit)")
	case cfg.Duration <= 0:
		return nil, errors.New("-duration must be positive")
	case cfg.Warmup < 0 || cfg.Drain < 0 || cfg.Idle < 0:
		return nil, errors.New("-warmup, -drain and -idle must not be negative")
	}
	if cfg.Workers < 1 {
		cfg.Workers = 8
	}
	logf := func(format string, args ...any) {
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
		}
	}
	res := &loadResult{
		Target: base.String(), Shape: cfg.Shape, Users: cfg.Users, Devices: cfg.Devices,
		Size: cfg.Size, Warmup: cfg.Warmup.Seconds(), Duration: cfg.Duration.Seconds(),
		IdleStreams: cfg.Idle, Errors: map[string]int64{}, Via: cfg.Via,
	}
	if cfg.Rate > 0 {
		res.Mode, res.Rate = "open", cfg.Rate
	} else {
		res.Mode, res.Senders = "closed", cfg.Senders
	}
	if cfg.PID > 0 {
		rss, _, err := readProc(strconv.Itoa(cfg.PID))
		if err != nil {
			return nil, fmt.Errorf("-pid %d: %w", cfg.PID, err)
		}
		res.Server = &procUsage{PID: cfg.PID, RSSBefore: rss}
	}
	if rss, _, err := readProc("self"); err == nil {
		res.Client = &procUsage{PID: os.Getpid(), RSSBefore: rss}
	}
	streams := cfg.Users*cfg.Devices + cfg.Idle
	if err := loadkit.RaiseFileLimit(uint64(streams)+4096, "lower -users, -devices or -idle"); err != nil {
		return nil, err
	}

	lc := newLoadClient(base.String(), &http.Client{Transport: &http.Transport{
		MaxIdleConns:        maxInFlight,
		MaxIdleConnsPerHost: maxInFlight,
		IdleConnTimeout:     time.Minute,
	}})
	defer lc.http.CloseIdleConnections()
	setupStart := time.Now()

	// Users: the ones in conversations, then the idle ones.
	idleUsers := (cfg.Idle + idlePerUser - 1) / idlePerUser
	prefix := "l" + randomBase36(7)
	runID := randomBase36(6)
	users := make([]loadUser, cfg.Users+idleUsers)
	logf("registering %d users (%s_*, %d at a time)", len(users), prefix, cfg.Workers)
	err = loadkit.Parallel(ctx, cfg.Workers, len(users), func(i int) error {
		kind := "person"
		if shape.kind == "inbox" && i == 0 {
			kind = "business"
		}
		handle := prefix + "_" + strconv.Itoa(i)
		a, err := lc.api.Register(ctx, client.RegisterRequest{
			Handle: handle, Password: loadPassword, Kind: kind, Device: "parley load",
		})
		if err != nil {
			return fmt.Errorf("register %s: %w", handle, err)
		}
		users[i] = loadUser{handle: handle, token: a.Token, conn: new(atomic.Pointer[devConn])}
		return nil
	})
	if err != nil {
		return nil, err
	}

	convs, err := setupConversations(ctx, lc, shape, users[:cfg.Users], cfg.Workers, logf)
	if err != nil {
		return nil, err
	}
	res.Conversations = len(convs)
	for _, c := range convs {
		c.url = "/conversations/" + url.PathEscape(c.id) + "/messages"
	}
	// Senders: every member of every conversation, as (conversation, user).
	var senders [][2]int
	for ci, c := range convs {
		for _, u := range c.members {
			senders = append(senders, [2]int{ci, u})
		}
	}

	// Streams.
	runCtx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()
	tr := newTracker(convs, cfg.Devices, runID)
	wsBase := "ws" + strings.TrimPrefix(base.String(), "http") + "/api/v1/stream"
	var conns connSet
	defer conns.closeAll()
	logf("connecting %d device streams and %d idle streams", cfg.Users*cfg.Devices, cfg.Idle)
	err = loadkit.Parallel(ctx, 32, streams, func(k int) error {
		if k < cfg.Users*cfg.Devices {
			user, dev := k/cfg.Devices, k%cfg.Devices
			conn, hello, err := dialStream(ctx, wsBase+"?since=now", users[user].token)
			if err != nil {
				return fmt.Errorf("device %d of user %d: %w", dev, user, err)
			}
			conns.add(conn)
			dc := &devConn{conn: conn, dead: make(chan struct{})}
			onConn := func(*devConn) {}
			if dev == 0 { // where its sends go with -via ws
				onConn = users[user].conn.Store
				onConn(dc)
			}
			go tr.follow(runCtx, wsBase, users[user].token, dc, hello.Next, user, dev, &conns, onConn)
			return nil
		}
		i := k - cfg.Users*cfg.Devices
		conn, _, err := dialStream(ctx, wsBase+"?since=now", users[cfg.Users+i/idlePerUser].token)
		if err != nil {
			return fmt.Errorf("idle stream %d: %w", i, err)
		}
		conns.add(conn)
		go discard(runCtx, conn, &conns, tr)
		return nil
	})
	if err != nil {
		return nil, err
	}
	res.Streams = streams
	if err := loadkit.Sleep(ctx, settleTime); err != nil { // let the presence events of the new devices pass
		return nil, err
	}
	res.SetupSeconds = time.Since(setupStart).Seconds()
	logf("setup done in %.1f s: %d users, %d conversations, %d streams; sending for %v (+%v warm-up)",
		res.SetupSeconds, cfg.Users, len(convs), streams, cfg.Duration, cfg.Warmup)

	// The run.
	t0 := time.Now()
	measureFrom := t0.Add(cfg.Warmup)
	end := measureFrom.Add(cfg.Duration)
	tr.measureFrom = measureFrom
	sendCtx, cancelSends := context.WithDeadline(ctx, end.Add(cfg.Drain))
	defer cancelSends()
	seed := cfg.Seed
	if seed == 0 {
		seed = mrand.Uint64()
	}
	send := func(n int, ci, user int) {
		c := convs[ci]
		clientID := runID + "-" + strconv.Itoa(n)
		var code string
		var err error
		if cfg.Via == "ws" {
			code, err = tr.sendFrame(sendCtx, users[user].conn.Load(), n, c.id, clientID, tr.text(n, cfg.Size))
		} else {
			code, err = lc.send(sendCtx, c.url, users[user].token, clientID, tr.text(n, cfg.Size))
		}
		if err != nil {
			tr.failed(n, code)
			return
		}
		tr.acked(n, time.Now())
	}

	// sample reads the server's and this process's /proc figures once at
	// the start of the measured window and once at its end.
	sample := func(at func(u *procUsage, rss, ticks int64, now time.Time)) func() {
		var once sync.Once
		return func() {
			once.Do(func() {
				now := time.Now()
				for _, p := range []struct {
					u   *procUsage
					pid string
				}{{res.Server, strconv.Itoa(cfg.PID)}, {res.Client, "self"}} {
					if p.u == nil {
						continue
					}
					if rss, ticks, err := readProc(p.pid); err == nil {
						at(p.u, rss, ticks, now)
					}
				}
			})
		}
	}
	sampleStart := sample(func(u *procUsage, rss, ticks int64, now time.Time) {
		u.RSSStart, u.startTicks, u.measuredStart = rss, ticks, now
	})
	finishSampleOnce := sample(func(u *procUsage, rss, ticks int64, now time.Time) {
		u.RSSEnd = rss
		u.CPUSeconds = float64(ticks-u.startTicks) / clockTicks
		if d := now.Sub(u.measuredStart).Seconds(); d > 0 {
			u.CPUPercent = 100 * u.CPUSeconds / d
		}
	})
	// The end sample reads what the start sample wrote, on other timer
	// goroutines: taking the start first (a no-op once it ran) orders the
	// two, and the final finishSample below orders both before the report.
	finishSample := func() {
		sampleStart()
		finishSampleOnce()
	}
	startTimer := time.AfterFunc(time.Until(measureFrom), sampleStart)
	defer startTimer.Stop()
	endTimer := time.AfterFunc(time.Until(end), finishSample)
	defer endTimer.Stop()

	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-runCtx.Done():
				return
			case now := <-tick.C:
				p := tr.progress()
				phase := "measuring"
				switch {
				case now.Before(measureFrom):
					phase = "warm-up"
				case !now.Before(end):
					phase = "draining"
				}
				logf("%-9s %5.0fs  sent %d  acked %d  received %d/%d  errors %d  p99 %.2f ms (last second)",
					phase, now.Sub(t0).Seconds(), p.sent, p.acked, p.received, p.expected, p.errors, p.p99)
			}
		}
	}()

	var wg sync.WaitGroup
	rng := mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	if cfg.Rate > 0 {
		sem := make(chan struct{}, maxInFlight)
		for i := 0; ; i++ {
			due := t0.Add(time.Duration(float64(i) * float64(time.Second) / cfg.Rate))
			if !due.Before(end) {
				break
			}
			if d := time.Until(due); d > 0 {
				if loadkit.Sleep(ctx, d) != nil {
					break
				}
			}
			s := senders[rng.IntN(len(senders))]
			n := tr.add(due, s[0])
			select {
			case sem <- struct{}{}: // when full, the schedule slips and the wait counts as latency
			case <-sendCtx.Done():
				tr.failed(n, "not_sent")
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				send(n, s[0], s[1])
			}()
		}
	} else {
		var mu sync.Mutex // guards rng
		for range cfg.Senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					mu.Lock()
					s := senders[rng.IntN(len(senders))]
					mu.Unlock()
					now := time.Now()
					if !now.Before(end) {
						return
					}
					send(tr.add(now, s[0]), s[0], s[1])
				}
			}()
		}
	}
	wg.Wait() // every send answered, failed or cut off at end+drain
	if err := loadkit.Sleep(ctx, time.Until(end)); err != nil {
		return nil, err
	}
	finishSample()
	// Wait for the outstanding deliveries, then a little longer for
	// duplicates.
	for tr.outstanding() > 0 && time.Now().Before(end.Add(cfg.Drain)) && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	if err := loadkit.Sleep(ctx, dupGrace); err != nil {
		return nil, err
	}
	cancelRun()
	<-progressDone
	conns.closeAll()
	tr.finish(res)
	res.StreamsClosedEarly = conns.closedEarly.Load()
	res.StreamsResumed, res.ResumesLimited = conns.resumed.Load(), conns.limited.Load()
	if res.StreamsClosedEarly > 0 {
		res.Errors["stream_closed"] += res.StreamsClosedEarly
	}
	return res, ctx.Err()
}

type loadMsg struct {
	due    time.Time
	conv   int32
	state  uint8 // msgPending, msgAcked, msgFailed
	warm   bool
	got    []uint64 // bit per device slot of the conversation
	seen   int32
	expect int32
}

const (
	msgPending = iota
	msgAcked
	msgFailed
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat;
// it is 100 on every Linux architecture Go supports.
const clockTicks = 100

func randomBase36(n int) string {
	const digits = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = digits[int(b[i])%len(digits)]
	}
	return string(b)
}
