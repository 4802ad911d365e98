package main

// parley load: a load generator for a running Parley server (issue 12,
// "The load generator"). It registers users through the API, puts them
// into conversations of a chosen shape, connects one WebSocket stream per
// device, sends messages open loop (a fixed schedule) or closed loop, and
// matches every message.created frame to its send. See
// docs/benchmarking.md.

import (
	"bytes"
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
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/coder/websocket"
)

// loadConfig is what one run of the generator does.
type loadConfig struct {
	Target      string        // base URL of the server, e.g. http://127.0.0.1:8080
	AllowRemote bool          // allow a target that is not a loopback address
	Users       int           // users taking part in conversations
	Devices     int           // streams per user
	Shape       string        // pairs, group:N, biggroup or inbox
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

// latency is a summary of one HDR histogram, in milliseconds.
type latency struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p999_ms"`
	Max   float64 `json:"max_ms"`
	Mean  float64 `json:"mean_ms"`
}

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

// shapeSpec is a parsed -shape.
type shapeSpec struct {
	kind  string // pairs, group, inbox
	group int    // members per group (kind group)
}

func parseShape(s string, users int) (shapeSpec, error) {
	switch {
	case s == "pairs":
		if users < 2 {
			return shapeSpec{}, errors.New("shape pairs needs at least 2 users")
		}
		return shapeSpec{kind: "pairs"}, nil
	case s == "biggroup":
		if users < 2 {
			return shapeSpec{}, errors.New("shape biggroup needs at least 2 users")
		}
		return shapeSpec{kind: "group", group: users}, nil
	case s == "inbox":
		if users < 2 {
			return shapeSpec{}, errors.New("shape inbox needs at least 2 users (one business, one customer)")
		}
		return shapeSpec{kind: "inbox"}, nil
	case strings.HasPrefix(s, "group:"):
		n, err := strconv.Atoi(strings.TrimPrefix(s, "group:"))
		if err != nil || n < 2 {
			return shapeSpec{}, fmt.Errorf("shape %q: want group:N with N ≥ 2", s)
		}
		if users < n {
			return shapeSpec{}, fmt.Errorf("shape %q needs at least %d users", s, n)
		}
		return shapeSpec{kind: "group", group: n}, nil
	}
	return shapeSpec{}, fmt.Errorf("unknown shape %q (want pairs, group:N, biggroup or inbox)", s)
}

// loadUser is a registered user; its token opens all its devices.
type loadUser struct {
	handle string
	token  string
}

// loadConv is a conversation and its members (user indexes).
type loadConv struct {
	id      string
	members []int
	slot    map[int]int // user index → position in members
	url     string      // of its messages
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
	switch {
	case cfg.Devices < 1:
		return nil, errors.New("-devices must be at least 1")
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
		IdleStreams: cfg.Idle, Errors: map[string]int64{},
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
	if err := raiseFileLimit(uint64(streams) + 4096); err != nil {
		return nil, err
	}

	lc := &loadClient{
		base: base.String() + "/api/v1",
		http: &http.Client{Transport: &http.Transport{
			MaxIdleConns:        maxInFlight,
			MaxIdleConnsPerHost: maxInFlight,
			IdleConnTimeout:     time.Minute,
		}},
	}
	defer lc.http.CloseIdleConnections()
	setupStart := time.Now()

	// Users: the ones in conversations, then the idle ones.
	idleUsers := (cfg.Idle + idlePerUser - 1) / idlePerUser
	prefix := "l" + randomBase36(7)
	runID := randomBase36(6)
	users := make([]loadUser, cfg.Users+idleUsers)
	logf("registering %d users (%s_*, %d at a time)", len(users), prefix, cfg.Workers)
	err = parallel(ctx, cfg.Workers, len(users), func(i int) error {
		kind := "person"
		if shape.kind == "inbox" && i == 0 {
			kind = "business"
		}
		handle := prefix + "_" + strconv.Itoa(i)
		var a struct {
			Token string `json:"token"`
		}
		err := lc.call(ctx, "POST", "/accounts", "", map[string]string{
			"handle": handle, "password": loadPassword, "kind": kind, "device": "parley load",
		}, http.StatusCreated, &a)
		if err != nil {
			return fmt.Errorf("register %s: %w", handle, err)
		}
		users[i] = loadUser{handle: handle, token: a.Token}
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
	err = parallel(ctx, 32, streams, func(k int) error {
		if k < cfg.Users*cfg.Devices {
			user, dev := k/cfg.Devices, k%cfg.Devices
			conn, err := dialStream(ctx, wsBase, users[user].token)
			if err != nil {
				return fmt.Errorf("device %d of user %d: %w", dev, user, err)
			}
			conns.add(conn)
			go tr.read(runCtx, conn, user, dev, &conns)
			return nil
		}
		i := k - cfg.Users*cfg.Devices
		conn, err := dialStream(ctx, wsBase, users[cfg.Users+i/idlePerUser].token)
		if err != nil {
			return fmt.Errorf("idle stream %d: %w", i, err)
		}
		conns.add(conn)
		go discard(runCtx, conn, &conns)
		return nil
	})
	if err != nil {
		return nil, err
	}
	res.Streams = streams
	if err := sleepCtx(ctx, settleTime); err != nil { // let the presence events of the new devices pass
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
		code, err := lc.send(sendCtx, c.url, users[user].token, clientID, tr.text(n, cfg.Size))
		if err != nil {
			tr.failed(n, code)
			return
		}
		tr.acked(n, time.Now())
	}

	var sampleOnce sync.Once
	sampleStart := func() {
		sampleOnce.Do(func() {
			now := time.Now()
			for _, p := range []struct {
				u   *procUsage
				pid string
			}{{res.Server, strconv.Itoa(cfg.PID)}, {res.Client, "self"}} {
				if p.u == nil {
					continue
				}
				p.u.RSSStart, p.u.startTicks, _ = readProc(p.pid)
				p.u.measuredStart = now
			}
		})
	}
	var sampleEnd sync.Once
	finishSample := func() {
		sampleEnd.Do(func() {
			now := time.Now()
			for _, p := range []struct {
				u   *procUsage
				pid string
			}{{res.Server, strconv.Itoa(cfg.PID)}, {res.Client, "self"}} {
				if p.u == nil {
					continue
				}
				rss, ticks, err := readProc(p.pid)
				if err != nil {
					continue
				}
				p.u.RSSEnd = rss
				p.u.CPUSeconds = float64(ticks-p.u.startTicks) / clockTicks
				if d := now.Sub(p.u.measuredStart).Seconds(); d > 0 {
					p.u.CPUPercent = 100 * p.u.CPUSeconds / d
				}
			}
		})
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
				if sleepCtx(ctx, d) != nil {
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
	if err := sleepCtx(ctx, time.Until(end)); err != nil {
		return nil, err
	}
	finishSample()
	// Wait for the outstanding deliveries, then a little longer for
	// duplicates.
	for tr.outstanding() > 0 && time.Now().Before(end.Add(cfg.Drain)) && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	if err := sleepCtx(ctx, dupGrace); err != nil {
		return nil, err
	}
	cancelRun()
	<-progressDone
	conns.closeAll()
	tr.finish(res)
	res.StreamsClosedEarly = conns.closedEarly.Load()
	if res.StreamsClosedEarly > 0 {
		res.Errors["stream_closed"] += res.StreamsClosedEarly
	}
	return res, ctx.Err()
}

// setupConversations makes the follows and conversations of the shape.
func setupConversations(ctx context.Context, lc *loadClient, shape shapeSpec, users []loadUser, workers int, logf func(string, ...any)) ([]*loadConv, error) {
	var convs []*loadConv
	newConv := func(members []int) *loadConv {
		c := &loadConv{members: members, slot: map[int]int{}}
		for i, u := range members {
			c.slot[u] = i
		}
		return c
	}
	follow := func(from, to int) error {
		return lc.call(ctx, "PUT", "/users/"+users[to].handle+"/follow", users[from].token, nil, http.StatusNoContent, nil)
	}
	direct := func(c *loadConv) error {
		var v struct {
			ID string `json:"id"`
		}
		a, b := c.members[0], c.members[1]
		if err := lc.call(ctx, "POST", "/conversations", users[a].token, map[string]string{"kind": "direct", "with": users[b].handle}, http.StatusCreated, &v); err != nil {
			return fmt.Errorf("direct conversation %s → %s: %w", users[a].handle, users[b].handle, err)
		}
		c.id = v.ID
		return nil
	}
	switch shape.kind {
	case "pairs":
		for i := 0; i+1 < len(users); i += 2 {
			convs = append(convs, newConv([]int{i, i + 1}))
		}
		logf("setting up %d pairs (mutual follows, direct conversations)", len(convs))
		return convs, parallel(ctx, workers, len(convs), func(i int) error {
			c := convs[i]
			a, b := c.members[0], c.members[1]
			if err := follow(a, b); err != nil {
				return err
			}
			if err := follow(b, a); err != nil { // so that a's conversation lands in b's inbox
				return err
			}
			return direct(c)
		})
	case "inbox":
		for i := 1; i < len(users); i++ {
			convs = append(convs, newConv([]int{i, 0})) // the customer starts it
		}
		logf("setting up an inbox: business %s, %d customers", users[0].handle, len(convs))
		return convs, parallel(ctx, workers, len(convs), func(i int) error { return direct(convs[i]) })
	}
	// Groups of shape.group members; a remainder of one joins the last group.
	for i := 0; i < len(users); i += shape.group {
		members := make([]int, 0, shape.group)
		for u := i; u < min(i+shape.group, len(users)); u++ {
			members = append(members, u)
		}
		if len(members) == 1 && len(convs) > 0 {
			last := convs[len(convs)-1]
			last.slot[members[0]] = len(last.members)
			last.members = append(last.members, members[0])
			continue
		}
		convs = append(convs, newConv(members))
	}
	logf("setting up %d groups of about %d (members follow the owner, then are added)", len(convs), shape.group)
	// Members follow their group's owner, so that adds join at once.
	type edge struct{ from, to int }
	var follows []edge
	for _, c := range convs {
		for _, u := range c.members[1:] {
			follows = append(follows, edge{u, c.members[0]})
		}
	}
	if err := parallel(ctx, workers, len(follows), func(i int) error { return follow(follows[i].from, follows[i].to) }); err != nil {
		return nil, err
	}
	return convs, parallel(ctx, workers, len(convs), func(i int) error {
		c := convs[i]
		owner := users[c.members[0]].token
		handles := make([]string, 0, len(c.members)-1)
		for _, u := range c.members[1:] {
			handles = append(handles, users[u].handle)
		}
		type addResult struct {
			Handle string `json:"handle"`
			Result string `json:"result"`
			Code   string `json:"code"`
		}
		check := func(rs []addResult) error {
			for _, r := range rs {
				if r.Result != "added" {
					return fmt.Errorf("adding %s to a group: %s %s", r.Handle, r.Result, r.Code)
				}
			}
			return nil
		}
		const perRequest = 200 // the server's limit of handles per add
		first := handles[:min(perRequest, len(handles))]
		var v struct {
			ID    string      `json:"id"`
			Added []addResult `json:"added"`
		}
		if err := lc.call(ctx, "POST", "/conversations", owner, map[string]any{"kind": "group", "title": "load test", "members": first}, http.StatusCreated, &v); err != nil {
			return fmt.Errorf("create group: %w", err)
		}
		if err := check(v.Added); err != nil {
			return err
		}
		c.id = v.ID
		for rest := handles[len(first):]; len(rest) > 0; {
			chunk := rest[:min(perRequest, len(rest))]
			rest = rest[len(chunk):]
			var r struct {
				Items []addResult `json:"items"`
			}
			if err := lc.call(ctx, "POST", "/conversations/"+url.PathEscape(c.id)+"/members", owner, map[string]any{"members": chunk}, http.StatusOK, &r); err != nil {
				return fmt.Errorf("add group members: %w", err)
			}
			if err := check(r.Items); err != nil {
				return err
			}
		}
		return nil
	})
}

// loadClient makes the API calls.
type loadClient struct {
	base string // …/api/v1
	http *http.Client
}

// apiError is a non-success answer; code is the problem's code.
type apiError struct {
	status int
	code   string
	detail string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("status %d %s: %s", e.status, e.code, e.detail)
}

// call makes one setup request and decodes the answer into out.
func (lc *loadClient) call(ctx context.Context, method, path, token string, body any, want int, out any) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, lc.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := lc.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return problem(resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

func problem(status int, body []byte) *apiError {
	var p struct {
		Code   string `json:"code"`
		Detail string `json:"detail"`
	}
	_ = json.Unmarshal(body, &p)
	if p.Code == "" {
		p.Code = "http_" + strconv.Itoa(status)
	}
	return &apiError{status: status, code: p.Code, detail: p.Detail}
}

// send posts one message; on failure code names it: the problem's code,
// "timeout", or "transport".
func (lc *loadClient) send(ctx context.Context, path, token, clientID, text string) (string, error) {
	body, _ := json.Marshal(map[string]string{"client_id": clientID, "text": text})
	req, err := http.NewRequestWithContext(ctx, "POST", lc.base+path, bytes.NewReader(body))
	if err != nil {
		return "transport", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := lc.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return "timeout", err
		}
		return "transport", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "transport", err
	}
	if resp.StatusCode != http.StatusCreated {
		p := problem(resp.StatusCode, b)
		if resp.StatusCode == http.StatusOK {
			p.code = "repeated_client_id"
		}
		return p.code, p
	}
	return "", nil
}

// dialStream opens a device stream and waits for its hello.
func dialStream(ctx context.Context, wsURL, token string) (*websocket.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(dctx, wsURL, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
	if err != nil {
		return nil, err
	}
	conn.SetReadLimit(1 << 20)
	_, hello, err := conn.Read(dctx)
	if err != nil {
		conn.CloseNow()
		return nil, fmt.Errorf("waiting for hello: %w", err)
	}
	if !bytes.Contains(hello, []byte(`"type":"hello"`)) {
		conn.CloseNow()
		return nil, fmt.Errorf("first frame %.200s, want hello", hello)
	}
	return conn, nil
}

// connSet is the streams held open.
type connSet struct {
	mu          sync.Mutex
	conns       []*websocket.Conn
	closing     atomic.Bool
	closedEarly atomic.Int64 // streams that ended before we closed them
}

func (s *connSet) add(c *websocket.Conn) {
	s.mu.Lock()
	s.conns = append(s.conns, c)
	s.mu.Unlock()
}

func (s *connSet) lost(ctx context.Context) {
	if ctx.Err() == nil && !s.closing.Load() {
		s.closedEarly.Add(1)
	}
}

func (s *connSet) closeAll() {
	s.closing.Store(true)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.CloseNow()
	}
	s.conns = nil
}

// discard reads an idle stream until it ends, so that pings are answered.
func discard(ctx context.Context, conn *websocket.Conn, set *connSet) {
	for {
		if _, _, err := conn.Read(ctx); err != nil {
			set.lost(ctx)
			return
		}
	}
}

// tracker matches deliveries to sends.
type tracker struct {
	convs       []*loadConv
	devices     int
	runID       string
	prefix      string // of every message text of this run
	measureFrom time.Time

	mu           sync.Mutex
	msgs         []loadMsg
	left         int64 // expected deliveries not seen yet, of messages not failed
	nSent        int64
	nAcked       int64
	errors       map[string]int64
	expected     int64
	received     int64
	dups         int64
	misdelivered int64
	afterFail    int64
	ack          *hdrhistogram.Histogram // measured sends
	recv         *hdrhistogram.Histogram // measured deliveries
	window       *hdrhistogram.Histogram // deliveries in the last second, for progress
	firstAcked   time.Time
	measuredSent int64
	measuredAck  int64
	measuredFail int64
	measuredRecv int64
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

func newTracker(convs []*loadConv, devices int, runID string) *tracker {
	return &tracker{
		convs: convs, devices: devices, runID: runID, prefix: "plt " + runID + " ",
		errors: map[string]int64{},
		ack:    hdrhistogram.New(1, histMaxMicros, histSignificant),
		recv:   hdrhistogram.New(1, histMaxMicros, histSignificant),
		window: hdrhistogram.New(1, histMaxMicros, histSignificant),
	}
}

// text is message n's text: the match token, padded to size bytes.
func (t *tracker) text(n, size int) string {
	s := t.prefix + strconv.Itoa(n)
	if len(s)+1 < size {
		s += " " + strings.Repeat("x", size-len(s)-1)
	}
	return s
}

// add records a send due at due into conversation ci and returns its number.
func (t *tracker) add(due time.Time, ci int) int {
	exp := len(t.convs[ci].members) * t.devices
	t.mu.Lock()
	defer t.mu.Unlock()
	warm := due.Before(t.measureFrom)
	t.msgs = append(t.msgs, loadMsg{due: due, conv: int32(ci), warm: warm, got: make([]uint64, (exp+63)/64), expect: int32(exp)})
	t.left += int64(exp)
	t.expected += int64(exp)
	t.nSent++
	if !warm {
		t.measuredSent++
	}
	return len(t.msgs) - 1
}

func micros(d time.Duration) int64 { return max(1, min(int64(d/time.Microsecond), histMaxMicros)) }

func (t *tracker) acked(n int, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := &t.msgs[n]
	m.state = msgAcked
	t.nAcked++
	if !m.warm {
		t.measuredAck++
		_ = t.ack.RecordValue(micros(at.Sub(m.due)))
	}
}

func (t *tracker) failed(n int, code string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failedLocked(n, code)
}

func (t *tracker) failedLocked(n int, code string) {
	m := &t.msgs[n]
	m.state = msgFailed
	t.errors[code]++
	if !m.warm {
		t.measuredFail++
	}
	// Its deliveries are no longer expected.
	t.left -= int64(m.expect - m.seen)
	t.expected -= int64(m.expect)
	t.received -= int64(m.seen)
	t.afterFail += int64(m.seen)
}

// delivered records message n reaching device dev of user.
func (t *tracker) delivered(n int, convID string, user, dev int, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n < 0 || n >= len(t.msgs) {
		t.misdelivered++
		return
	}
	m := &t.msgs[n]
	c := t.convs[m.conv]
	pos, ok := c.slot[user]
	if !ok || convID != c.id {
		t.misdelivered++
		return
	}
	slot := pos*t.devices + dev
	if m.got[slot/64]&(1<<(slot%64)) != 0 {
		t.dups++
		return
	}
	m.got[slot/64] |= 1 << (slot % 64)
	m.seen++
	if m.state == msgFailed {
		t.afterFail++
		return
	}
	t.left--
	t.received++
	lat := micros(at.Sub(m.due))
	_ = t.window.RecordValue(lat)
	if !m.warm {
		t.measuredRecv++
		_ = t.recv.RecordValue(lat)
	}
}

func (t *tracker) outstanding() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.left
}

type progressSnap struct {
	sent, acked, received, expected, errors int64
	p99                                     float64
}

// progress returns the counters and the p99 of the deliveries since the
// previous call.
func (t *tracker) progress() progressSnap {
	t.mu.Lock()
	defer t.mu.Unlock()
	var errs int64
	for _, n := range t.errors {
		errs += n
	}
	p := progressSnap{sent: t.nSent, acked: t.nAcked, received: t.received, expected: t.expected, errors: errs,
		p99: float64(t.window.ValueAtQuantile(99)) / 1000}
	t.window.Reset()
	return p
}

// read takes one device's frames until ctx ends.
func (t *tracker) read(ctx context.Context, conn *websocket.Conn, user, dev int, set *connSet) {
	var f struct {
		Type           string `json:"type"`
		ConversationID string `json:"conversation_id"`
		Message        struct {
			Text string `json:"text"`
		} `json:"message"`
	}
	for {
		_, data, err := conn.Read(ctx)
		at := time.Now()
		if err != nil {
			set.lost(ctx)
			return
		}
		if !bytes.Contains(data, []byte(`"message.created"`)) {
			continue // presence, system messages' companions and the like
		}
		f.Type, f.ConversationID, f.Message.Text = "", "", ""
		if json.Unmarshal(data, &f) != nil || f.Type != "message.created" {
			continue
		}
		rest, ok := strings.CutPrefix(f.Message.Text, t.prefix)
		if !ok {
			continue // a system message, or not of this run
		}
		num, _, _ := strings.Cut(rest, " ")
		n, err := strconv.Atoi(num)
		if err != nil {
			n = -1
		}
		t.delivered(n, f.ConversationID, user, dev, at)
	}
}

// finish fills in res from the tracker.
func (t *tracker) finish(res *loadResult) {
	t.mu.Lock()
	defer t.mu.Unlock()
	// Sends that never got an answer count as failed.
	for n := range t.msgs {
		if t.msgs[n].state == msgPending {
			t.failedLocked(n, "no_answer")
		}
	}
	res.Sent, res.Acked, res.Failed = t.measuredSent, t.measuredAck, t.measuredFail
	res.Expected, res.Received = t.expected, t.received
	res.Lost = t.expected - t.received
	res.Duplicated, res.Misdelivered, res.DeliveredDespite = t.dups, t.misdelivered, t.afterFail
	for k, v := range t.errors {
		res.Errors[k] += v
	}
	res.Ack, res.Receive = summarize(t.ack), summarize(t.recv)
	if res.Duration > 0 {
		res.AckedPerSecond = float64(t.measuredAck) / res.Duration
		res.DeliveredPerSec = float64(t.measuredRecv) / res.Duration
	}
}

func summarize(h *hdrhistogram.Histogram) latency {
	ms := func(v int64) float64 { return float64(v) / 1000 }
	return latency{
		Count: h.TotalCount(),
		P50:   ms(h.ValueAtQuantile(50)), P90: ms(h.ValueAtQuantile(90)),
		P99: ms(h.ValueAtQuantile(99)), P999: ms(h.ValueAtQuantile(99.9)),
		Max: ms(h.Max()), Mean: h.Mean() / 1000,
	}
}

func printLoadTable(w io.Writer, r *loadResult) {
	mode := fmt.Sprintf("open loop at %g msg/s", r.Rate)
	if r.Mode == "closed" {
		mode = fmt.Sprintf("closed loop, %d senders", r.Senders)
	}
	fmt.Fprintf(w, "parley load against %s: shape %s, %d users × %d devices, %d conversations, %d streams (+%d idle)\n",
		r.Target, r.Shape, r.Users, r.Devices, r.Conversations, r.Streams-r.IdleStreams, r.IdleStreams)
	fmt.Fprintf(w, "%s, %d-byte messages, %gs measured after %gs warm-up (setup took %.1fs)\n\n", mode, r.Size, r.Duration, r.Warmup, r.SetupSeconds)
	fmt.Fprintf(w, "%-10s %9s %9s %9s %9s %9s %9s %9s\n", "latency", "count", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "mean ms")
	for _, l := range []struct {
		name string
		l    latency
	}{{"send→ack", r.Ack}, {"send→recv", r.Receive}} {
		fmt.Fprintf(w, "%-10s %9d %9.2f %9.2f %9.2f %9.2f %9.2f %9.2f\n", l.name, l.l.Count, l.l.P50, l.l.P90, l.l.P99, l.l.P999, l.l.Max, l.l.Mean)
	}
	fmt.Fprintf(w, "\nsent %d, acked %d (%.0f/s), failed %d; deliveries %.0f/s\n", r.Sent, r.Acked, r.AckedPerSecond, r.Failed, r.DeliveredPerSec)
	fmt.Fprintf(w, "deliveries (warm-up included): expected %d, received %d, lost %d, duplicated %d, misdelivered %d, after a failed send %d\n",
		r.Expected, r.Received, r.Lost, r.Duplicated, r.Misdelivered, r.DeliveredDespite)
	if len(r.Errors) == 0 {
		fmt.Fprintln(w, "errors: none")
	} else {
		codes := make([]string, 0, len(r.Errors))
		for k := range r.Errors {
			codes = append(codes, k)
		}
		sort.Strings(codes)
		fmt.Fprint(w, "errors:")
		for _, k := range codes {
			fmt.Fprintf(w, " %s=%d", k, r.Errors[k])
		}
		fmt.Fprintln(w)
	}
	for _, p := range []struct {
		name string
		u    *procUsage
	}{{"server", r.Server}, {"generator", r.Client}} {
		if p.u == nil {
			continue
		}
		fmt.Fprintf(w, "%-9s pid %d: RSS %s before setup, %s at start, %s at end; CPU %.2fs (%.0f%% of a core) while measuring\n",
			p.name, p.u.PID, mib(p.u.RSSBefore), mib(p.u.RSSStart), mib(p.u.RSSEnd), p.u.CPUSeconds, p.u.CPUPercent)
	}
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat;
// it is 100 on every Linux architecture Go supports.
const clockTicks = 100

// readProc returns a process's resident memory (VmRSS) and its CPU time
// (utime+stime, in clock ticks); pid may be "self".
func readProc(pid string) (rss, ticks int64, err error) {
	status, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			if f := strings.Fields(v); len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				rss = kb * 1024
			}
		}
	}
	stat, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// The command name may hold spaces and parentheses: fields start
	// after the last ')'. utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("/proc/%s/stat: unexpected format", pid)
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("/proc/%s/stat: unexpected format", pid)
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return rss, ut + st, nil
}

// raiseFileLimit lifts the soft limit on open files to at least want, if
// the hard limit allows.
func raiseFileLimit(want uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if lim.Cur >= want {
		return nil
	}
	if lim.Max < want {
		return fmt.Errorf("open file limit %d (hard) is below the %d streams need; lower -users, -devices or -idle", lim.Max, want)
	}
	lim.Cur = lim.Max
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
}

// parallel runs fn(0..n-1) on workers goroutines and returns the first
// error.
func parallel(ctx context.Context, workers, n int, fn func(i int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { first = err })
					next.Store(int64(n)) // stop the others
					return
				}
			}
		}()
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func randomBase36(n int) string {
	const digits = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = digits[int(b[i])%len(digits)]
	}
	return string(b)
}
