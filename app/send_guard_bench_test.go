package app_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/app"
)

// BenchmarkSendGuard compares acknowledged sends with the sensitive-data
// guard on and off (ConfirmSensitive skips it: the only difference), for
// a message the guard must parse (a phone number: the costliest path that
// still sends) and an ordinary chat line, with 16 concurrent senders. It
// reports sends/s and the process's CPU time per send (cpu-ns/op), which
// holds up better than wall time on a loaded machine.
func BenchmarkSendGuard(b *testing.B) {
	texts := map[string]string{
		"phone": "Hello, I ordered a blue jacket last week (order 123456) and it has not arrived yet; can you check? My phone is +49 30 1234567.",
		"chat":  "Sounds good, see you at the station around 7 then. I'll bring the tickets and some snacks for the ride!",
	}
	const senders = 16
	for _, text := range []string{"phone", "chat"} {
		for _, guard := range []bool{true, false} {
			b.Run(fmt.Sprintf("text=%s/guard=%v", text, guard), func(b *testing.B) {
				a := newApp(b)
				actors, convs := pairs(b, a, senders)
				ctx := context.Background()
				var next atomic.Int64
				b.ResetTimer()
				cpu0, start := cpuTime(b), time.Now()
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
							in := app.SendInput{ClientID: fmt.Sprint(n), Text: texts[text], ConfirmSensitive: !guard}
							if _, _, err := a.Send(ctx, actors[i], convs[i], in); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				cpu, wall := cpuTime(b)-cpu0, time.Since(start)
				b.StopTimer()
				b.ReportMetric(float64(b.N)/wall.Seconds(), "sends/s")
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
			})
		}
	}
}
