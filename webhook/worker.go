package webhook

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/outbound"
)

// Options tune a Worker. The zero value of a field means its default.
type Options struct {
	Logger *slog.Logger
	// Concurrency is how many deliveries are posted at once (default
	// 128). Deliveries of one conversation never overlap: only the oldest
	// unfinished one of each is ever claimed.
	Concurrency int
	// Timeout bounds one post, connection included (default 10 s).
	Timeout time.Duration
	// MaxResponse caps how much of an answer is read (default 4 KiB).
	MaxResponse int64
	// Poll is how often the worker looks for due retries when nothing
	// woke it (default 1 s).
	Poll time.Duration
	// KeepDelivered and KeepDead say how long delivered (and skipped)
	// deliveries and dead ones stay listed (defaults 3 and 30 days).
	KeepDelivered, KeepDead time.Duration
}

func (o *Options) setDefaults() {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 128
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.MaxResponse <= 0 {
		o.MaxResponse = 4 << 10
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.KeepDelivered <= 0 {
		o.KeepDelivered = 72 * time.Hour
	}
	if o.KeepDead <= 0 {
		o.KeepDead = 30 * 24 * time.Hour
	}
}

// ClientOptions are the outbound options a worker's client needs:
// answers to a POST are not followed elsewhere, and enough connections
// to one receiver stay open for the worker's concurrency.
func (o Options) ClientOptions(base outbound.Options) outbound.Options {
	o.setDefaults()
	base.Timeout = o.Timeout
	base.NoRedirects = true
	base.MaxConnsPerHost = o.Concurrency
	if base.UserAgent == "" {
		base.UserAgent = "Parley-Webhooks/1"
	}
	return base
}

// Worker posts the deliveries the app queues.
type Worker struct {
	app    *app.App
	client *outbound.Client
	opts   Options
}

// New returns a Worker that posts through client (make it with
// ClientOptions, and the operator's Allow).
func New(a *app.App, client *outbound.Client, opts Options) *Worker {
	opts.setDefaults()
	return &Worker{app: a, client: client, opts: opts}
}

// lease is how long a claim keeps a delivery: a post, and the commit of
// its outcome. Only a worker that died lets a lease run out.
func (w *Worker) lease() time.Duration { return w.opts.Timeout + 30*time.Second }

// Run delivers until ctx ends. It claims only as many deliveries as it
// has free senders, so that every claimed delivery is posted at once,
// well within its lease. At the end, posts in flight are cut off; their
// deliveries are posted again (with the same id) once the lease runs out,
// after a restart.
func (w *Worker) Run(ctx context.Context) {
	sendCtx, cancelSends := context.WithCancel(context.Background())
	defer cancelSends()
	go func() { <-ctx.Done(); cancelSends() }()

	jobs := make(chan *app.WebhookSend, w.opts.Concurrency)
	results := make(chan app.WebhookResult, w.opts.Concurrency)
	free := make(chan struct{}, 1) // a finished batch freed senders
	var slots sync.Mutex
	inFlight := 0
	release := func(n int) {
		slots.Lock()
		inFlight -= n
		slots.Unlock()
		select {
		case free <- struct{}{}:
		default:
		}
	}

	var senders sync.WaitGroup
	for range w.opts.Concurrency {
		senders.Go(func() {
			for s := range jobs {
				r := w.post(sendCtx, s)
				if sendCtx.Err() != nil {
					release(1) // cut off by shutdown: the lease brings it back
					continue
				}
				results <- r
			}
		})
	}
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		w.finish(results, release)
	}()

	lastPrune := time.Now()
	for ctx.Err() == nil {
		if time.Since(lastPrune) > time.Hour {
			lastPrune = time.Now()
			go w.prune(ctx)
		}
		slots.Lock()
		room := w.opts.Concurrency - inFlight
		slots.Unlock()
		var sends []*app.WebhookSend
		if room >= max(1, w.opts.Concurrency/8) {
			var err error
			sends, err = w.app.ClaimWebhooks(ctx, room, w.lease())
			if err != nil && ctx.Err() == nil {
				w.opts.Logger.Warn("webhooks: claim", "err", err)
			}
		}
		if len(sends) == 0 {
			select {
			case <-ctx.Done():
			case <-w.app.WebhooksQueued():
			case <-free:
			case <-time.After(w.opts.Poll):
			}
			continue
		}
		slots.Lock()
		inFlight += len(sends)
		slots.Unlock()
		for _, s := range sends {
			jobs <- s // never blocks: at most Concurrency are claimed and unfinished
		}
	}
	close(jobs)
	senders.Wait()
	close(results)
	<-finished
}

// finish records outcomes in batches: whatever has arrived when the last
// batch is committed goes in the next, so that commits keep up with any
// rate without waiting to fill a batch.
func (w *Worker) finish(results <-chan app.WebhookResult, release func(int)) {
	var batch []app.WebhookResult
	for r := range results {
		batch = append(batch[:0], r)
	more:
		for len(batch) < 4*w.opts.Concurrency {
			select {
			case r, ok := <-results:
				if !ok {
					break more
				}
				batch = append(batch, r)
			default:
				break more
			}
		}
		// Not the run's context: outcomes that came back are worth
		// keeping even while the server stops.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := w.app.FinishWebhooks(ctx, batch); err != nil {
			// The leases run out and the deliveries go again.
			w.opts.Logger.Warn("webhooks: recording outcomes", "err", err, "deliveries", len(batch))
		}
		cancel()
		release(len(batch))
	}
}

func (w *Worker) prune(ctx context.Context) {
	if n, err := w.app.PruneWebhooks(ctx, w.opts.KeepDelivered, w.opts.KeepDead); err != nil && ctx.Err() == nil {
		w.opts.Logger.Warn("webhooks: pruning deliveries", "err", err)
	} else if n > 0 {
		w.opts.Logger.Info("webhooks: pruned deliveries", "deleted", n)
	}
}

// post signs and sends one delivery. A 2xx answer delivers it; anything
// else, or no answer within the timeout, is a failed attempt.
func (w *Worker) post(ctx context.Context, s *app.WebhookSend) app.WebhookResult {
	r := app.WebhookResult{Send: s}
	// The timestamp is the real time of this attempt: receivers check it
	// against their own clocks.
	h, err := Headers(s.Secrets, s.ID, time.Now(), s.Body)
	if err != nil {
		r.Err = err.Error()
		return r
	}
	ctx, cancel := context.WithTimeout(ctx, w.opts.Timeout)
	defer cancel()
	resp, err := w.client.Post(ctx, s.URL, h, s.Body, w.opts.MaxResponse)
	if err != nil {
		r.Err = err.Error()
		return r
	}
	r.Status = resp.Status
	if resp.Status < 200 || resp.Status > 299 {
		r.Err = fmt.Sprintf("status %d", resp.Status)
		if b := strings.TrimSpace(strings.ToValidUTF8(string(resp.Body), "")); b != "" {
			if utf8.RuneCountInString(b) > 200 {
				b = string([]rune(b)[:200]) + "…"
			}
			r.Err += ": " + b
		}
	}
	return r
}

// DeliverDue posts everything due now and records the outcomes before it
// returns, repeating while deliveries are due (a finished one lets the
// next of its conversation go). Tests drive delivery with it, with the
// app on a fake clock; it returns how many posts were made.
func (w *Worker) DeliverDue(ctx context.Context) (int, error) {
	total := 0
	for {
		sends, err := w.app.ClaimWebhooks(ctx, w.opts.Concurrency, w.lease())
		if err != nil || len(sends) == 0 {
			return total, err
		}
		results := make([]app.WebhookResult, len(sends))
		var wg sync.WaitGroup
		for i, s := range sends {
			wg.Go(func() { results[i] = w.post(ctx, s) })
		}
		wg.Wait()
		total += len(sends)
		if err := w.app.FinishWebhooks(ctx, results); err != nil {
			return total, err
		}
	}
}
