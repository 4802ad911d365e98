package app_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
)

// BenchmarkDirectFrames measures the rendering of one new direct
// message's frames right after its commit (the realtime publisher's
// work at 1,000 msg/s, where each run holds a message or two): "hands"
// with what the send had in hand (DirectFrames), "store" reading
// everything back as before (and as for another node's messages). The
// sends are not timed.
func BenchmarkDirectFrames(b *testing.B) {
	for _, mode := range []string{"hands", "store"} {
		b.Run(mode, func(b *testing.B) {
			var mu sync.Mutex
			var last []*parley.Event
			a := app.New(openStore(b), app.Config{Password: cheap, SendPerConversation: 1e9, SendBurst: 1e9},
				app.WithNotify(func(evs []*parley.Event) {
					mu.Lock()
					last = evs
					mu.Unlock()
				}))
			ctx := context.Background()
			senders, convs := pairs(b, a, 50)
			render := a.DirectFrames
			if mode == "store" {
				render = a.DirectFramesFromStore
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				k := i % len(convs)
				if _, _, err := a.Send(ctx, senders[k], convs[k], app.SendInput{ClientID: fmt.Sprint("b", i), Text: "hello there"}); err != nil {
					b.Fatal(err)
				}
				mu.Lock()
				evs := last
				mu.Unlock()
				b.StartTimer()
				frames, err := render(ctx, evs)
				if err != nil {
					b.Fatal(err)
				}
				if len(frames) != 1 {
					b.Fatalf("frames for %d messages", len(frames))
				}
			}
		})
	}
}
