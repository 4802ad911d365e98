package webhook_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/outbound"
	"github.com/parleyhq/parley/store/sqlite"
	"github.com/parleyhq/parley/webhook"
)

var cheap = app.PasswordParams{Time: 1, MemoryK: 1024, Threads: 1}

// BenchmarkDelivery measures webhook delivery throughput: b.N messages,
// from 500 customers to one account with a webhook, are queued first;
// then a worker posts them to a receiver on loopback that checks every
// signature, and the clock runs until the last is answered and recorded
// as delivered. Run it with a fixed count, e.g. -benchtime 20000x; it
// reports deliveries/s.
func BenchmarkDelivery(b *testing.B) {
	for _, convs := range []int{500, 5000} {
		b.Run(fmt.Sprintf("conversations=%d", convs), func(b *testing.B) { benchDelivery(b, convs) })
	}
}

func benchDelivery(b *testing.B, convs int) {
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(b.TempDir(), "parley.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()

	var got, bad atomic.Int64
	done := make(chan struct{})
	var secret atomic.Value
	var target int64
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if webhook.Verify(secret.Load().(string), r.Header, body, time.Now(), 5*time.Minute) != nil {
			bad.Add(1)
		}
		w.WriteHeader(http.StatusNoContent)
		if got.Add(1) == atomic.LoadInt64(&target) {
			close(done)
		}
	}))
	defer rc.Close()
	allow, _ := webhook.ParseAllow([]string{strings.TrimPrefix(rc.URL, "http://")})
	a := app.New(db, app.Config{Password: cheap}, app.WithWebhooks(app.WebhookOptions{CheckURL: allow.CheckURL}))
	register := func(h string) *app.Actor {
		auth, err := a.Register(ctx, app.Registration{Handle: h, Password: "correct horse battery"})
		if err != nil {
			b.Fatal(err)
		}
		actor, err := a.Authenticate(ctx, auth.Token)
		if err != nil {
			b.Fatal(err)
		}
		return actor
	}
	hub := register("hub")
	h, err := a.CreateWebhook(ctx, hub, app.WebhookInput{URL: rc.URL + "/hook", Events: []string{app.HookMessageCreated}})
	if err != nil {
		b.Fatal(err)
	}
	secret.Store(h.Secret)
	type peer struct {
		actor *app.Actor
		conv  string
	}
	peers := make([]peer, convs)
	for i := range peers {
		p := register(fmt.Sprintf("c%04d", i))
		if err := a.Follow(ctx, hub, p.User.Handle, true); err != nil {
			b.Fatal(err)
		}
		c, _, err := a.CreateDirect(ctx, p, "hub")
		if err != nil {
			b.Fatal(err)
		}
		peers[i] = peer{p, c.ID}
	}

	// The backlog: b.N messages, sent by many goroutines so that group
	// commit keeps this part short.
	atomic.StoreInt64(&target, int64(b.N))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				p := peers[i%int64(convs)]
				if _, _, err := a.Send(ctx, p.actor, p.conv, app.SendInput{ClientID: fmt.Sprint(i), Text: fmt.Sprintf("message %d", i)}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		return
	}

	opts := webhook.Options{}
	w := webhook.New(a, outbound.New(allow.ClientOptions(opts.ClientOptions(outbound.Options{}))), opts)
	runCtx, stop := context.WithCancel(ctx)
	var ran sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	ran.Go(func() { w.Run(runCtx) })
	select {
	case <-done:
	case <-time.After(10 * time.Minute):
		b.Fatalf("only %d of %d delivered", got.Load(), b.N)
	}
	// Delivered means recorded as delivered: wait for the last outcomes.
	for {
		p, err := a.WebhookDeliveries(ctx, hub, h.ID, app.DeliveryQuery{Status: "pending", Limit: 1})
		if err != nil {
			b.Fatal(err)
		}
		if len(p.Items) == 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	stop()
	ran.Wait()
	if bad.Load() > 0 || got.Load() != int64(b.N) {
		b.Fatalf("%d posts for %d messages, %d with a bad signature", got.Load(), b.N, bad.Load())
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(0, "ns/op")
	b.Logf("%d deliveries in %v on %d CPUs (%s)", b.N, elapsed.Round(time.Millisecond), runtime.NumCPU(), runtime.Version())
	_ = parley.DeliveryDelivered
}
