package app_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/app"
)

var cheap = app.PasswordParams{Time: 1, MemoryK: 1024, Threads: 1}

// newApp returns an App on a fresh store (see openStore).
func newApp(tb testing.TB) *app.App {
	tb.Helper()
	db := openStore(tb)
	// Benchmarks send far faster per conversation than a person may.
	return app.New(db, app.Config{Password: cheap, SendPerConversation: 1e9, SendBurst: 1e9})
}

// pair registers two users who follow each other and opens their direct
// conversation; it returns the first user's actor and the conversation id.
func pair(tb testing.TB, a *app.App, i int) (*app.Actor, string) {
	tb.Helper()
	ctx := context.Background()
	s, r := registerActor(tb, a, fmt.Sprintf("sender%04d", i)), registerActor(tb, a, fmt.Sprintf("rcpt%04d", i))
	if err := a.Follow(ctx, r, s.User.Handle, true); err != nil {
		tb.Fatal(err)
	}
	conv, _, err := a.CreateDirect(ctx, s, r.User.Handle)
	if err != nil {
		tb.Fatal(err)
	}
	return s, conv.ID
}

// pairs opens n direct conversations and returns their senders and ids.
func pairs(tb testing.TB, a *app.App, n int) ([]*app.Actor, []string) {
	actors := make([]*app.Actor, n)
	convs := make([]string, n)
	for i := range n {
		actors[i], convs[i] = pair(tb, a, i)
	}
	return actors, convs
}

// BenchmarkSend measures acknowledged sends through app.Send — privacy
// checks, idempotency, sequence allocation, event — with 1, 16 and 256
// concurrent senders, each in its own direct conversation. Every
// acknowledged send is committed with synchronous=FULL.
func BenchmarkSend(b *testing.B) {
	for _, senders := range []int{1, 16, 256} {
		b.Run(fmt.Sprintf("senders=%d", senders), func(b *testing.B) {
			st, batches := openCountingStore(b)
			a := app.New(st, app.Config{Password: cheap, SendPerConversation: 1e9, SendBurst: 1e9})
			actors, convs := pairs(b, a, senders)
			ctx := context.Background()
			// One send each first, untimed: a sender's first send reads
			// its conversation into the committer's cache, and 256 of
			// them at once on PostgreSQL took ~250 ms — about 1 % of a
			// 3 s run, which alone made the p99 (BENCHMARKS.md).
			var warm sync.WaitGroup
			for i := range senders {
				warm.Go(func() {
					if _, _, err := a.Send(ctx, actors[i], convs[i], app.SendInput{ClientID: "warm", Text: "hello"}); err != nil {
						b.Error(err)
					}
				})
			}
			warm.Wait()
			var next atomic.Int64
			lat := make([][]time.Duration, senders)
			b.ResetTimer()
			start := time.Now()
			batches.start(b)
			var wg sync.WaitGroup
			for i := range senders {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						n := next.Add(1)
						if n > int64(b.N) {
							return
						}
						t0 := time.Now()
						_, _, err := a.Send(ctx, actors[i], convs[i], app.SendInput{ClientID: fmt.Sprint(n), Text: "hello, this is a benchmark message of ordinary length"})
						if err != nil {
							b.Error(err)
							return
						}
						lat[i] = append(lat[i], time.Since(t0))
					}
				}()
			}
			wg.Wait()
			reportLatency(b, time.Since(start), lat)
			batches.report(b)
		})
	}
}

// BenchmarkSendOpenLoop offers sends at a fixed rate (10,000/s) to 256
// senders, as real traffic arrives, and measures each ack from the moment
// the send was due — so queueing behind a slow commit counts (no
// coordinated omission). A closed loop with 256 senders in flight always
// shows 256/throughput of latency by Little's law; this is the number a
// user sees at a given load.
func BenchmarkSendOpenLoop(b *testing.B) {
	const senders, rate = 256, 10000
	a := newApp(b)
	actors, convs := pairs(b, a, senders)
	ctx := context.Background()
	type job struct {
		n   int
		due time.Time
	}
	jobs := make(chan job, b.N)
	lat := make([][]time.Duration, senders)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for i := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				_, _, err := a.Send(ctx, actors[i], convs[i], app.SendInput{ClientID: fmt.Sprint(j.n), Text: "hello, this is a benchmark message of ordinary length"})
				if err != nil {
					b.Error(err)
					return
				}
				lat[i] = append(lat[i], time.Since(j.due))
			}
		}()
	}
	interval := time.Second / rate
	for n := 0; n < b.N; n++ {
		due := start.Add(time.Duration(n) * interval)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		jobs <- job{n, due}
	}
	close(jobs)
	wg.Wait()
	reportLatency(b, time.Since(start), lat)
}

// reportLatency reports throughput and ack latency percentiles of the
// sends each sender recorded.
func reportLatency(b *testing.B, elapsed time.Duration, lat [][]time.Duration) {
	b.StopTimer()
	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) == 0 {
		return
	}
	pct := func(p float64) float64 {
		return float64(all[min(len(all)-1, int(float64(len(all))*p))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "sends/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(pct(0.999), "p999-ms")
}
