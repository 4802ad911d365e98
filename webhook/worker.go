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

// renderers is how many claimed batches a Worker renders at once, each
// in a read transaction of its own.
const renderers = 4

// follow is how many deliveries queued behind a due one (same webhook and
// conversation) go with it: a conversation's backlog drains a batch per
// claim instead of one delivery.
const follow = 15

// lease is how long a claim keeps a delivery: a post, and the commit of
// its outcome. Only a worker that died lets a lease run out.
func (w *Worker) lease() time.Duration { return w.opts.Timeout + 30*time.Second }

// Run delivers until ctx ends. One claimer takes due deliveries, as many
// as there are idle senders, so that every claimed delivery is posted at
// once, well within its lease; renderers turn them into payloads in
// parallel, each with the deliveries queued behind it; a sender posts a
// chain in order; a finisher records the outcomes in batches. At the end,
// posts in flight are cut off; their deliveries are posted again (with
// the same id) once the lease runs out, after a restart.
func (w *Worker) Run(ctx context.Context) {
	sendCtx, cancelSends := context.WithCancel(context.Background())
	defer cancelSends()
	go func() { <-ctx.Done(); cancelSends() }()
	g := newGate(w.opts.Concurrency)

	claims := make(chan []*app.WebhookClaim, w.opts.Concurrency)
	jobs := make(chan app.WebhookChain, w.opts.Concurrency)
	results := make(chan []app.WebhookResult, w.opts.Concurrency)
	var rendering, senders sync.WaitGroup
	for range renderers {
		rendering.Go(func() {
			for cs := range claims {
				// Not ctx: a claim taken is worth sending, or it waits for
				// its lease.
				chains, err := w.app.RenderWebhooks(sendCtx, cs, follow)
				if err != nil && sendCtx.Err() == nil {
					w.opts.Logger.Warn("webhooks: render", "err", err)
				}
				g.release(len(cs) - len(chains)) // gone, or not rendered
				for _, c := range chains {
					jobs <- c // never blocks: at most Concurrency are in flight
				}
			}
		})
	}
	for range w.opts.Concurrency {
		senders.Go(func() {
			for c := range jobs {
				rs := w.postChain(sendCtx, c)
				if sendCtx.Err() != nil || len(rs) == 0 {
					g.release(1) // cut off by shutdown or the claim: the lease brings it back
					continue
				}
				results <- rs
			}
		})
	}
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		w.finish(results, g.release)
	}()
	go w.pruneHourly(ctx)

	// A claim is a write: claim in chunks worth a commit, and split them
	// for the renderers.
	chunk := max(1, w.opts.Concurrency/renderers)
	for ctx.Err() == nil {
		room, freed := g.room()
		if room < max(1, chunk/2) {
			select {
			case <-ctx.Done():
			case <-freed:
			}
			continue
		}
		cs, err := w.app.ClaimWebhookDeliveries(ctx, room, w.lease())
		if err != nil && ctx.Err() == nil {
			w.opts.Logger.Warn("webhooks: claim", "err", err)
		}
		if len(cs) == 0 {
			select {
			case <-ctx.Done():
			case <-w.app.WebhooksQueued():
			case <-time.After(w.opts.Poll):
			}
			continue
		}
		g.take(len(cs))
		for len(cs) > 0 {
			n := min(chunk, len(cs))
			claims <- cs[:n]
			cs = cs[n:]
		}
	}
	close(claims)
	rendering.Wait()
	close(jobs)
	senders.Wait()
	close(results)
	<-finished
}

// postChain posts a chain in order and stops at the first failure, or
// before a post that could outlast the claim on the chain: the rest stay
// queued (or, for the first, claimed until the claim runs out). Skipped
// deliveries are reported without a post.
func (w *Worker) postChain(ctx context.Context, c app.WebhookChain) []app.WebhookResult {
	rs := make([]app.WebhookResult, 0, len(c))
	for _, s := range c {
		if !w.app.Now().Add(w.opts.Timeout + 5*time.Second).Before(s.LeaseUntil) {
			break
		}
		if s.Skip {
			rs = append(rs, app.WebhookResult{Send: s})
			continue
		}
		r := w.post(ctx, s)
		rs = append(rs, r)
		if r.Err != "" {
			break
		}
	}
	return rs
}

// gate counts the chains claimed and not yet finished.
type gate struct {
	mu       sync.Mutex
	max, n   int
	released chan struct{} // closed at the next release
}

func newGate(max int) *gate { return &gate{max: max, released: make(chan struct{})} }

// room returns how many more may be claimed, and a channel closed when
// some are released.
func (g *gate) room() (int, <-chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.max - g.n, g.released
}

func (g *gate) take(n int) {
	g.mu.Lock()
	g.n += n
	g.mu.Unlock()
}

func (g *gate) release(n int) {
	if n <= 0 {
		return
	}
	g.mu.Lock()
	g.n -= n
	close(g.released)
	g.released = make(chan struct{})
	g.mu.Unlock()
}

func (w *Worker) pruneHourly(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.prune(ctx)
		}
	}
}

// finish records outcomes in batches of whole chains: whatever has
// arrived when the last batch is committed goes in the next, so that
// commits keep up with any rate without waiting to fill a batch.
func (w *Worker) finish(results <-chan []app.WebhookResult, release func(int)) {
	var batch []app.WebhookResult
	for rs := range results {
		batch = append(batch[:0], rs...)
		chains := 1
	more:
		for len(batch) < 4*w.opts.Concurrency {
			select {
			case rs, ok := <-results:
				if !ok {
					break more
				}
				batch, chains = append(batch, rs...), chains+1
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
		release(chains)
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
		chains, err := w.app.ClaimWebhooks(ctx, w.opts.Concurrency, follow, w.lease())
		if err != nil || len(chains) == 0 {
			return total, err
		}
		results := make([][]app.WebhookResult, len(chains))
		var wg sync.WaitGroup
		for i, c := range chains {
			wg.Go(func() { results[i] = w.postChain(ctx, c) })
		}
		wg.Wait()
		var all []app.WebhookResult
		for _, rs := range results {
			for _, r := range rs {
				if !r.Send.Skip {
					total++
				}
			}
			all = append(all, rs...)
		}
		if err := w.app.FinishWebhooks(ctx, all); err != nil {
			return total, err
		}
	}
}
