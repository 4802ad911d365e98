package server

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/app"
)

// fanoutSize is the size of the group BenchmarkGroupFanout sends to:
// 10,000, or PARLEY_BENCH_MEMBERS.
func fanoutSize() int {
	if v, err := strconv.Atoi(os.Getenv("PARLEY_BENCH_MEMBERS")); err == nil && v > 0 {
		return v
	}
	return 10000
}

// BenchmarkGroupFanout measures how long a message to a 10,000-member
// group takes to reach every online member (issue 12, "Fan-out": p99 ≤
// 200 ms). The group is built through the app (10,000 registrations with
// cheap argon2id, each member following the owner, members added 200 at a
// time) on the embedded store; then as many members as the process's file
// limit allows connect one WebSocket each (every socket is two descriptors
// in one process: with the usual hard limit of 20,000 that is 9,800
// members online). The owner sends through POST …/messages, one message at
// a time, and the next only when every online member has the previous one,
// so each message is measured alone; latency runs from the send to each
// member's socket handing over the message.created frame.
//
// The 9,800 client sockets and their readers run in the same process and
// share the machine's CPUs with the server: the numbers include their cost
// (a read system call and a frame parse per delivery, on Linux from two
// epoll sets rather than a goroutine per member: fanout_client_test.go;
// they look for the message's text without decoding the JSON). With PARLEY_BENCH_CPUPROFILE
// set, the measured loop alone is profiled, the readers labelled
// side=client; writes/delivery counts the process's write system calls
// per delivery.
//
//	go test -run '^$' -bench GroupFanout -benchtime 20x -timeout 30m ./server
//
// Reported: p50/p99/max over every delivery, and p99 of the time the last
// member got each message; the benchmark fails if any online member misses
// a message or gets one twice.
func BenchmarkGroupFanout(b *testing.B) {
	fanoutMembers := fanoutSize()
	online := min(fanoutMembers, raiseFileLimit(b)/2-100)
	srv := openServer(b, nil, func(c *Config) { c.App.MaxGroupMembers = fanoutMembers + 1 })
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	a := srv.App

	t0 := time.Now()
	ownerAuth, err := a.Register(ctx, app.Registration{Handle: "broadcaster", Password: "benchmark password"})
	if err != nil {
		b.Fatal(err)
	}
	owner, err := a.Authenticate(ctx, ownerAuth.Token)
	if err != nil {
		b.Fatal(err)
	}
	handles := make([]string, fanoutMembers)
	tokens := make([]string, fanoutMembers)
	benchParallel(b, 16, fanoutMembers, func(i int) error {
		handles[i] = fmt.Sprintf("member%05d", i)
		auth, err := a.Register(ctx, app.Registration{Handle: handles[i], Password: "benchmark password", Device: "bench"})
		if err != nil {
			return err
		}
		tokens[i] = auth.Token
		actor, err := a.Authenticate(ctx, auth.Token)
		if err != nil {
			return err
		}
		return a.Follow(ctx, actor, "broadcaster", true) // so the owner may add them
	})
	g, _, err := a.CreateGroup(ctx, owner, app.GroupInput{Title: "announcements", Members: handles[:app.MaxAddPerRequest], InvitePolicy: app.InviteAdmins})
	if err != nil {
		b.Fatal(err)
	}
	for lo := app.MaxAddPerRequest; lo < fanoutMembers; lo += app.MaxAddPerRequest {
		res, err := a.AddMembers(ctx, owner, g.ID, handles[lo:min(lo+app.MaxAddPerRequest, fanoutMembers)])
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range res {
			if r.Result != "added" {
				b.Fatalf("adding %s: %s %s", r.Handle, r.Result, r.Code)
			}
		}
	}
	b.Logf("group of %d built in %v", fanoutMembers, time.Since(t0).Round(time.Millisecond))

	// got[n*online+i] counts member i's copies of message n: by message
	// first, so that the readers of one message touch one contiguous run
	// (by member first, each delivery was a cache and TLB miss of the
	// harness's own, ~1.6 µs).
	const maxMsgs = 1001 // the most messages one run sends (-benchtime 1000x, and the warm-up)
	got := make([]atomic.Int32, maxMsgs*online)
	var (
		// lat[n][i] is member i's latency of message n, written by its
		// reader alone (no lock shared by the readers).
		lat      = make([][]time.Duration, maxMsgs)
		sentAt   = make([]time.Time, maxMsgs)
		pending  atomic.Int64 // deliveries of the current message still to come
		allThere = make(chan struct{}, 1)
	)
	// The members' reads (fanout_client_test.go): a delivery is handed
	// over with the time its read returned.
	onMessage := func(i int, data []byte, at time.Time) {
		// Find "fanout N " without decoding the whole frame.
		k := bytes.Index(data, []byte(`"fanout `))
		if k < 0 || !bytes.Contains(data, []byte(`"message.created"`)) {
			return
		}
		rest := data[k+len(`"fanout `):]
		end := bytes.IndexByte(rest, ' ')
		n, err := strconv.Atoi(string(rest[:max(end, 0)]))
		if err != nil || n < 0 || n >= maxMsgs {
			return
		}
		if got[n*online+i].Add(1) == 1 {
			lat[n][i] = at.Sub(sentAt[n])
			if pending.Add(-1) == 0 {
				select {
				case allThere <- struct{}{}:
				default:
				}
			}
		}
	}
	// Labelled, so that a profile (PARLEY_BENCH_CPUPROFILE) tells the
	// benchmark's readers from the server: -tagignore side=client (the
	// readers' goroutines inherit the label).
	var readers *memberReaders
	pprof.Do(ctx, pprof.Labels("side", "client"), func(context.Context) {
		readers, err = newMemberReaders(runtime.GOMAXPROCS(0), onMessage)
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(readers.close) // and the members' connections
	benchParallel(b, 32, online, func(i int) error {
		c, err := dialMember(srv.Addr(), tokens[i], i, time.Minute)
		if err != nil {
			return fmt.Errorf("member %d: %w", i, err)
		}
		if err := readers.add(c); err != nil {
			c.nc.Close()
			return err
		}
		return nil
	})
	if n := srv.Hub.Devices(); n != online {
		b.Fatalf("%d devices connected, want %d", n, online)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	url := "http://" + srv.Addr() + "/api/v1/conversations/" + g.ID + "/messages"
	n := 0
	// one sends message n and waits until every member has it; it
	// returns the last member's latency.
	one := func() time.Duration {
		if n == maxMsgs {
			b.Fatalf("run at most %dx", maxMsgs)
		}
		pending.Store(int64(online))
		lat[n] = make([]time.Duration, online)
		sentAt[n] = time.Now() // the readers see it: the send happens after
		if err := benchPost(client, url, ownerAuth.Token, "f"+strconv.Itoa(n), "fanout "+strconv.Itoa(n)+" doors open at eight"); err != nil {
			b.Fatal(err)
		}
		select {
		case <-allThere:
		case <-time.After(30 * time.Second):
			b.Fatalf("message %d: %d of %d members did not get it in 30 s", n, pending.Load(), online)
		}
		var last time.Duration
		for _, d := range lat[n] { // every reader's write is before its pending.Add
			last = max(last, d)
		}
		n++
		return last
	}
	// A first message warms up what 9,900 new connections have not used
	// yet — in a CPU profile of it, 113 ms more than a later message's in
	// the benchmark's own clients (buffers touched for the first time)
	// and 72 ms more in the server — and is checked like the others but
	// not counted: the target is the steady state of a group in use. Its
	// time is reported on its own (warmup-last-member-ms); it also pays
	// for reading the member states, which later messages find in the
	// fan-out's cache (app/membercache.go) until the membership changes.
	warm := one()
	b.Logf("the warm-up message (not counted): last member %d ms", int(ms(warm)))
	defer b.ReportMetric(ms(warm), "warmup-last-member-ms")
	var lastOne []time.Duration
	stopProfile := benchProfile(b)
	writes0 := writeSyscalls()
	b.ResetTimer()
	for b.Loop() {
		lastOne = append(lastOne, one())
	}
	b.StopTimer()
	writes := writeSyscalls() - writes0
	stopProfile()
	time.Sleep(time.Second) // late duplicates would show here
	for k := range n {
		for i := range online {
			if c := got[k*online+i].Load(); c != 1 {
				b.Fatalf("member %d got message %d %d times", i, k, c)
			}
		}
	}
	var all []time.Duration
	for _, l := range lat[1:n] { // not the warm-up's
		all = append(all, l...)
	}
	// In sending order, so that one slow message (the p99 of 20 is the
	// slowest) shows where it fell.
	lastMs := make([]string, len(lastOne))
	for i, d := range lastOne {
		lastMs[i] = strconv.Itoa(int(ms(d)))
	}
	b.Logf("last member per message, ms: %s", strings.Join(lastMs, " "))
	slices.Sort(all)
	slices.Sort(lastOne)
	pct := func(s []time.Duration, p float64) float64 { return ms(s[min(len(s)-1, int(float64(len(s))*p))]) }
	b.ReportMetric(float64(online), "online")
	b.ReportMetric(pct(all, 0.5), "p50-ms")
	b.ReportMetric(pct(all, 0.99), "p99-ms")
	b.ReportMetric(ms(all[len(all)-1]), "max-ms")
	b.ReportMetric(pct(lastOne, 0.99), "last-member-p99-ms")
	if writes >= 0 {
		b.ReportMetric(float64(writes)/float64((n-1)*online), "writes/delivery") // after the warm-up
	}
}

// benchProfile starts a CPU profile of the measured part of a benchmark
// into the file PARLEY_BENCH_CPUPROFILE names (-cpuprofile would include
// building the group), and an execution trace into the file
// PARLEY_BENCH_TRACE names (go tool trace: which goroutines ran when,
// scheduler latency), and heap profiles at its start and end into
// PARLEY_BENCH_MEMPROFILE.start and .end; the returned func stops them.
func benchProfile(b *testing.B) func() {
	var stops []func()
	if path := os.Getenv("PARLEY_BENCH_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
		stops = append(stops, func() {
			pprof.StopCPUProfile()
			f.Close()
		})
	}
	if path := os.Getenv("PARLEY_BENCH_TRACE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := trace.Start(f); err != nil {
			b.Fatal(err)
		}
		stops = append(stops, func() {
			trace.Stop()
			f.Close()
		})
	}
	if path := os.Getenv("PARLEY_BENCH_MEMPROFILE"); path != "" {
		// Two heap profiles, at the start and at the end: what the
		// measured part allocated is the difference
		// (go tool pprof -sample_index=alloc_space -base path.start path.end).
		writeHeap := func(name string) {
			f, err := os.Create(name)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
				b.Fatal(err)
			}
		}
		writeHeap(path + ".start")
		stops = append(stops, func() { writeHeap(path + ".end") })
	}
	return func() {
		for _, stop := range stops {
			stop()
		}
	}
}

// writeSyscalls returns how many write system calls the process has made
// (syscw in /proc/self/io), or -1 where that is not known. The clients
// in the benchmark only read, so the difference over the measured loop
// is the server's writes: frames, the send's HTTP answer.
func writeSyscalls() int64 {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "syscw: "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err == nil {
				return n
			}
		}
	}
	return -1
}
