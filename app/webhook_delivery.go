package app

import (
	"cmp"
	"context"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley"
)

// webhookBackoff is the wait after each failed attempt; the last step
// repeats until the delivery has been retried for RetryFor. Each wait is
// spread by ±10 % so that the retries of an outage do not arrive at once.
var webhookBackoff = []time.Duration{10 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute,
	30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour}

// WebhookBackoff returns the wait after the attempt-th failed attempt, before jitter.
func WebhookBackoff(attempt int) time.Duration {
	return webhookBackoff[min(max(attempt, 1), len(webhookBackoff))-1]
}

func jitter(d time.Duration) time.Duration {
	return d + time.Duration((rand.Float64()*0.2-0.1)*float64(d))
}

// WebhookSend is a delivery ready to be posted.
type WebhookSend struct {
	// ID is sent as webhook-id; it is the same on every attempt.
	ID        string
	WebhookID string
	URL       string
	// Secrets sign the delivery, each giving one signature (two while a
	// rotated-out secret still signs).
	Secrets []string
	// Body is the JSON payload.
	Body []byte
	// Attempt is this attempt's number, from 1.
	Attempt int
	// LeaseUntil is when the claim on the delivery's chain runs out, by
	// the app's clock (App.Now): another claim may then take it, so no
	// post may start that could end later.
	LeaseUntil time.Time
	// Skip is set when the delivery is not to be posted: its owner may no
	// longer see the event (they left, a request was declined, the event
	// is gone). Report it like the others, with an empty result.
	Skip bool

	d *parley.WebhookDelivery
}

// WebhookChain is deliveries of one conversation (one queue), oldest
// first: the first was due, the others were queued behind it. Post them
// in order and stop at the first failure; report the outcomes of all that
// were attempted (or skipped) together, in one FinishWebhooks call.
type WebhookChain []*WebhookSend

// WebhookResult is the outcome of posting a WebhookSend.
type WebhookResult struct {
	Send *WebhookSend
	// Status is the HTTP status answered (0 when none came).
	Status int
	// Err says why the attempt failed; "" when it was delivered (a 2xx
	// status) or skipped.
	Err string
}

// WebhookPayload is the JSON body of a delivery.
type WebhookPayload struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	CreatedAt time.Time `json:"created_at"`
	// Data is the event as its owner receives it from sync (a
	// SyncEvent), or, for a ping, the webhook's id.
	Data any `json:"data"`
}

// WebhookClaim is a delivery claimed for posting, not yet rendered.
type WebhookClaim struct {
	d *parley.WebhookDelivery
}

// Now is the time by the app's clock (a test's, or the real one).
func (a *App) Now() time.Time { return a.clock() }

// ClaimWebhooks takes up to limit due deliveries for lease and renders
// them, each with up to follow deliveries queued behind it (see
// RenderWebhooks).
func (a *App) ClaimWebhooks(ctx context.Context, limit, follow int, lease time.Duration) ([]WebhookChain, error) {
	cs, err := a.ClaimWebhookDeliveries(ctx, limit, lease)
	if err != nil || len(cs) == 0 {
		return nil, err
	}
	return a.RenderWebhooks(ctx, cs, follow)
}

// ClaimWebhookDeliveries takes up to limit due deliveries, the oldest due
// first, for lease: nobody claims them again until it runs out. Each is
// the oldest unfinished delivery of its conversation.
func (a *App) ClaimWebhookDeliveries(ctx context.Context, limit int, lease time.Duration) ([]*WebhookClaim, error) {
	now := a.clock()
	if due, err := a.anyDue(ctx, func(tx parley.Tx) (bool, error) { return tx.DeliveriesDue(now) }); err != nil || !due {
		return nil, err
	}
	var ds []*parley.WebhookDelivery
	// A webhook delivery's lease is nothing a message's view shows: the
	// frames of sends rendered from their hands hold (directhand.go).
	err := a.updateKeepingFrames(ctx, func(w *writer) error {
		var err error
		ds, err = w.ClaimDeliveries(now, now.Add(lease), limit)
		return err
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(ds, func(x, y *parley.WebhookDelivery) int { return cmp.Compare(x.Seq, y.Seq) })
	cs := make([]*WebhookClaim, len(ds))
	for i, d := range ds {
		cs[i] = &WebhookClaim{d: d}
	}
	return cs, nil
}

// RenderWebhooks renders claimed deliveries in one read transaction, each
// as a chain with up to follow of the deliveries queued behind it (they
// are nobody else's to take while the first is claimed), and each as its
// owner sees the event now.
func (a *App) RenderWebhooks(ctx context.Context, cs []*WebhookClaim, follow int) ([]WebhookChain, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	now := a.clock()
	var chains []WebhookChain
	err := a.view(ctx, func(tx parley.Tx) error {
		var ds []*parley.WebhookDelivery
		heads := map[int64]bool{}
		for _, c := range cs {
			ds = append(ds, c.d)
			heads[c.d.Seq] = true
			if follow > 0 {
				more, err := tx.QueuedDeliveries(c.d.WebhookID, c.d.ConversationID, follow)
				if err != nil {
					return err
				}
				ds = append(ds, more...)
			}
		}
		sends, err := a.renderDeliveries(tx, ds, now)
		if err != nil {
			return err
		}
		chains = nil
		for _, s := range sends {
			if heads[s.d.Seq] {
				chains = append(chains, WebhookChain{s})
			} else {
				chains[len(chains)-1] = append(chains[len(chains)-1], s)
			}
			s.LeaseUntil = chains[len(chains)-1][0].d.NextAt
		}
		return nil
	})
	return chains, err
}

// renderDeliveries builds the payloads of deliveries, in their order,
// grouped by viewer so that each viewer's events are hydrated together.
// Deliveries of a webhook deleted meanwhile are left out.
func (a *App) renderDeliveries(tx parley.Tx, ds []*parley.WebhookDelivery, now time.Time) ([]*WebhookSend, error) {
	hooks := map[string]*parley.Webhook{}
	var positions []int64
	for _, d := range ds {
		if _, ok := hooks[d.WebhookID]; !ok {
			h, err := tx.Webhook(d.WebhookID)
			if err != nil && !parley.IsNotFound(err) {
				return nil, err
			}
			hooks[d.WebhookID] = h // nil when deleted meanwhile: its rows went with it
		}
		if d.Pos > 0 {
			positions = append(positions, d.Pos)
		}
	}
	msgs, evs, err := tx.EventsAt(positions)
	if err != nil {
		return nil, err
	}
	msgAt := map[int64]*parley.Message{}
	for _, m := range msgs {
		msgAt[m.Pos] = m
	}
	evAt := map[int64]*parley.Event{}
	for _, e := range evs {
		evAt[e.Pos] = e
	}
	// The views, per viewer (the owner, or the business they work for).
	views := map[string]map[int64]*SyncEvent{}
	byViewer := map[string]map[int64]bool{}
	for _, d := range ds {
		if h := hooks[d.WebhookID]; h != nil && d.Pos > 0 {
			v := h.OwnerID
			if d.As != "" {
				v = d.As
			}
			if byViewer[v] == nil {
				byViewer[v] = map[int64]bool{}
			}
			byViewer[v][d.Pos] = true
		}
	}
	for viewer, ps := range byViewer {
		views[viewer] = map[int64]*SyncEvent{}
		// New messages, by conversation: sync's rule (the member's
		// readable range) and one hydration per conversation, with the
		// membership loaded once.
		byConv := map[string][]*parley.Message{}
		var ve []*parley.Event
		for _, m := range msgs {
			if ps[m.Pos] {
				byConv[m.ConversationID] = append(byConv[m.ConversationID], m)
			}
		}
		for _, e := range evs {
			if !ps[e.Pos] {
				continue
			}
			if ok, err := hookVisible(tx, viewer, e); err != nil {
				return nil, err
			} else if ok {
				ve = append(ve, e)
			}
		}
		for convID, ms := range byConv {
			c, me, err := tx.ConversationMember(convID, viewer)
			if parley.IsNotFound(err) {
				continue
			} else if err != nil {
				return nil, err
			}
			ms = slices.DeleteFunc(ms, func(m *parley.Message) bool { return !me.CanRead(m.Seq) })
			vs, err := messageViews(tx, c, me, ms)
			if err != nil {
				return nil, err
			}
			for i, m := range ms {
				views[viewer][m.Pos] = &SyncEvent{Pos: m.Pos, Type: parley.EventMessageCreated, ConversationID: m.ConversationID,
					ActorID: m.SenderID, Seq: m.Seq, Message: vs[i], CreatedAt: m.CreatedAt}
			}
		}
		// Other events through hydrate, like sync.
		out, err := a.hydrate(tx, viewer, nil, ve)
		if err != nil {
			return nil, err
		}
		for _, se := range out {
			views[viewer][se.Pos] = se
		}
	}
	working := map[[2]string]bool{} // owner, business: whether the owner still works for it
	var sends []*WebhookSend
	for _, d := range ds {
		h := hooks[d.WebhookID]
		if h == nil {
			continue
		}
		s := &WebhookSend{ID: d.ID, WebhookID: h.ID, URL: h.URL, Attempt: d.Attempts + 1, d: d}
		sends = append(sends, s)
		p := WebhookPayload{ID: d.ID, Type: d.Type, CreatedAt: d.CreatedAt}
		if d.Pos == 0 {
			p.Data = map[string]string{"webhook_id": h.ID}
		} else {
			viewer := h.OwnerID
			if d.As != "" {
				viewer = d.As
				k := [2]string{h.OwnerID, d.As}
				ok, seen := working[k]
				if !seen {
					ag, err := tx.Agent(d.As, h.OwnerID)
					if err != nil && !parley.IsNotFound(err) {
						return nil, err
					}
					ok = err == nil && ag.Active
					working[k] = ok
				}
				if !ok {
					s.Skip = true
					continue
				}
			}
			se := views[viewer][d.Pos]
			if se == nil {
				s.Skip = true
				continue
			}
			if d.As != "" {
				c := *se
				c.As = d.As
				se = &c
			}
			p.CreatedAt, p.Data = se.CreatedAt, se
		}
		body, err := json.Marshal(p)
		if err != nil {
			return nil, err
		}
		s.Body, s.Secrets = body, []string{h.Secret}
		if h.PreviousSecret != "" && h.PreviousUntil != nil && h.PreviousUntil.After(now) {
			s.Secrets = append(s.Secrets, h.PreviousSecret)
		}
	}
	return sends, nil
}

// hookVisible applies sync's rule of who sees what (the query of
// SyncEvents) to one stored event: an event addressed to someone is
// theirs; a conversation-wide one needs a membership whose positions
// show it.
func hookVisible(tx parley.Tx, viewer string, e *parley.Event) (bool, error) {
	if e.UserID != "" && e.UserID != viewer {
		return false, nil
	}
	if e.UserID != "" && e.MessageID == "" || e.ConversationID == "" {
		return e.UserID == viewer, nil
	}
	m, err := tx.Member(e.ConversationID, viewer)
	if parley.IsNotFound(err) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if e.UserID != "" { // about a message: hydrate reads it as a member
		return m.Status != parley.StatusDeclined, nil
	}
	return m.SeesEvent(e.Pos) && (e.MessageID == "" || m.CanRead(e.Seq)), nil
}

// FinishWebhooks records the outcomes of attempts, in order (a chain's
// together): delivered; or retried after a backoff, until the delivery has
// failed for RetryFor and is dead; or skipped. A finished delivery lets
// the next one of its conversation go. A webhook that has failed without a
// success for DisableAfter is disabled, and its owner told by a
// webhook.disabled event.
func (a *App) FinishWebhooks(ctx context.Context, results []WebhookResult) error {
	if len(results) == 0 {
		return nil
	}
	now := a.clock()
	opts := &a.webhooks.opts
	// The outcomes, told to the observer once they are committed (the
	// update may run twice: they are counted afresh each time).
	var outcomes []string
	disabled := 0
	err := a.update(ctx, func(w *writer) error {
		outcomes, disabled = outcomes[:0], 0
		hooks := map[string]*parley.Webhook{}
		var changed []*parley.Webhook
		for _, r := range results {
			d := *r.Send.d
			h, ok := hooks[d.WebhookID]
			if !ok {
				var err error
				if h, err = w.Webhook(d.WebhookID); parley.IsNotFound(err) {
					h = nil
				} else if err != nil {
					return err
				}
				hooks[d.WebhookID] = h
				if h != nil {
					changed = append(changed, h)
				}
			}
			if h == nil {
				continue // deleted, with its deliveries
			}
			t := now
			switch {
			case r.Send.Skip:
				d.Status = parley.DeliverySkipped
			case r.Err == "":
				d.Status, d.DeliveredAt, d.LastError = parley.DeliveryDelivered, &t, ""
				h.FailingSince, h.LastSuccessAt = nil, &t
			default:
				d.LastError = cleanError(r.Err)
				if d.FirstAttemptAt == nil {
					d.FirstAttemptAt = &t
				}
				// A delivery that was queued behind one just delivered is
				// now the head of its conversation.
				d.Status = parley.DeliveryPending
				if now.Sub(*d.FirstAttemptAt) >= opts.retryFor() {
					d.Status = parley.DeliveryDead
				} else {
					d.NextAt = now.Add(jitter(WebhookBackoff(d.Attempts + 1)))
					if !h.Enabled {
						d.NextAt = never
					}
				}
				if h.FailingSince == nil {
					h.FailingSince = &t
				}
			}
			if !r.Send.Skip {
				d.Attempts++
				d.LastAttemptAt, d.LastStatus = &t, r.Status
				if d.FirstAttemptAt == nil {
					d.FirstAttemptAt = &t
				}
			}
			if err := w.SaveDelivery(&d); parley.IsNotFound(err) {
				continue
			} else if err != nil {
				return err
			}
			outcomes = append(outcomes, webhookOutcome(d.Status))
			if d.Status.Final() {
				due := now
				if !h.Enabled {
					due = never
				}
				if err := w.PromoteNext(d.WebhookID, d.ConversationID, due); err != nil {
					return err
				}
				w.webhooks.queued = true
			}
		}
		for _, h := range changed {
			if h.Enabled && h.FailingSince != nil && now.Sub(*h.FailingSince) >= opts.disableAfter() {
				t := now
				h.Enabled, h.DisabledAt = false, &t
				h.DisabledReason = "every delivery failed for " + opts.disableAfter().String() + "; fix the endpoint, then enable the webhook again"
				if err := w.RescheduleDeliveries(h.ID, never); err != nil {
					return err
				}
				if err := w.event(&parley.Event{Type: EventWebhookDisabled, UserID: h.OwnerID, ActorID: h.OwnerID,
					Data: mustJSON(map[string]string{"webhook_id": h.ID, "url": h.URL, "reason": h.DisabledReason})}); err != nil {
					return err
				}
				w.webhooks.owners = append(w.webhooks.owners, h.OwnerID)
				a.log.Warn("webhook disabled", "webhook", h.ID, "owner", h.OwnerID, "failing_since", h.FailingSince)
				disabled++
			}
			h.UpdatedAt = now
			if err := w.UpdateWebhook(h); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, o := range outcomes {
		a.obs.WebhookAttempted(o)
	}
	for range disabled {
		a.obs.WebhookDisabled()
	}
	return nil
}

// webhookOutcome names a saved delivery's status for the observer.
func webhookOutcome(s parley.DeliveryStatus) string {
	switch s {
	case parley.DeliveryDelivered:
		return WebhookDelivered
	case parley.DeliverySkipped:
		return WebhookSkipped
	case parley.DeliveryDead:
		return WebhookDead
	}
	return WebhookFailed
}

// cleanError keeps an error short and printable for the deliveries list.
func cleanError(s string) string {
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if utf8.RuneCountInString(s) > 300 {
		s = truncate(s, 300)
	}
	return s
}

// PruneWebhooks deletes old final deliveries: delivered and skipped ones
// after keepDone, dead ones (the dead-letter list) after keepDead. It
// deletes in small transactions so that sends are not held up, and
// returns how many went.
func (a *App) PruneWebhooks(ctx context.Context, keepDone, keepDead time.Duration) (int, error) {
	now := a.clock()
	total := 0
	for _, p := range []struct {
		statuses []parley.DeliveryStatus
		keep     time.Duration
	}{{[]parley.DeliveryStatus{parley.DeliveryDelivered, parley.DeliverySkipped}, keepDone}, {[]parley.DeliveryStatus{parley.DeliveryDead}, keepDead}} {
		for {
			var n int
			err := a.update(ctx, func(w *writer) error {
				var err error
				n, err = w.PruneDeliveries(p.statuses, now.Add(-p.keep), 1000)
				return err
			})
			if err != nil {
				return total, err
			}
			total += n
			if n < 1000 || ctx.Err() != nil {
				break
			}
		}
	}
	return total, nil
}

// ---- The deliveries list, replay and test ----

// DeliveryView is one delivery as the webhook's owner sees it.
type DeliveryView struct {
	ID             string `json:"id"`
	Type           string `json:"type"`
	ConversationID string `json:"conversation_id,omitempty"`
	// Status is queued (behind an earlier delivery of its conversation),
	// pending, delivered, dead or skipped.
	Status        string     `json:"status"`
	Attempts      int        `json:"attempts"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	LastAttemptAt *time.Time `json:"last_attempt_at,omitempty"`
	// LastStatusCode is the HTTP status of the last attempt (absent when
	// no answer came).
	LastStatusCode int        `json:"last_status_code,omitempty"`
	LastError      string     `json:"last_error,omitempty"`
	DeliveredAt    *time.Time `json:"delivered_at,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
}

func deliveryView(d *parley.WebhookDelivery) *DeliveryView {
	v := &DeliveryView{ID: d.ID, Type: d.Type, ConversationID: d.ConversationID, Status: string(d.Status), Attempts: d.Attempts,
		LastAttemptAt: d.LastAttemptAt, LastStatusCode: d.LastStatus, LastError: d.LastError, DeliveredAt: d.DeliveredAt,
		CreatedAt: d.CreatedAt}
	if d.Status == parley.DeliveryPending && d.NextAt.Before(never) {
		t := d.NextAt
		v.NextAttemptAt = &t
	}
	return v
}

// DeliveryQuery selects a page of a webhook's deliveries. Status is
// "failed" (being retried), "dead", "delivered", "pending" (not yet
// delivered: queued or pending), "skipped", or "" for all.
type DeliveryQuery struct {
	Status string
	Cursor string
	Limit  int
}

// WebhookDeliveries lists a webhook's recent deliveries, newest first.
func (a *App) WebhookDeliveries(ctx context.Context, actor *Actor, id string, q DeliveryQuery) (*Page[*DeliveryView], error) {
	if err := actor.RequireScope(ScopeWebhooks); err != nil {
		return nil, err
	}
	f := parley.DeliveryFilter{WebhookID: id, Limit: q.Limit}
	switch q.Status {
	case "":
	case "failed":
		f.Statuses, f.Attempted = []parley.DeliveryStatus{parley.DeliveryPending}, true
	case "pending":
		f.Statuses = []parley.DeliveryStatus{parley.DeliveryPending, parley.DeliveryQueued}
	case "dead", "delivered", "skipped":
		f.Statuses = []parley.DeliveryStatus{parley.DeliveryStatus(q.Status)}
	default:
		return nil, parley.Invalid("status", "status is failed, dead, delivered, pending or skipped")
	}
	if f.Limit <= 0 || f.Limit > 100 {
		f.Limit = 50
	}
	if q.Cursor != "" {
		n, err := strconv.ParseInt(q.Cursor, 10, 64)
		if err != nil || n <= 0 {
			return nil, parley.Invalid("cursor", "cursor is a next_cursor this server gave")
		}
		f.BeforeSeq = n
	}
	page := &Page[*DeliveryView]{Items: []*DeliveryView{}}
	err := a.view(ctx, func(tx parley.Tx) error {
		if _, err := ownWebhook(tx, actor, id); err != nil {
			return err
		}
		f.Limit++
		ds, err := tx.Deliveries(f)
		if err != nil {
			return err
		}
		if len(ds) == f.Limit {
			ds = ds[:f.Limit-1]
			page.NextCursor = strconv.FormatInt(ds[len(ds)-1].Seq, 10)
		}
		for _, d := range ds {
			page.Items = append(page.Items, deliveryView(d))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}

// ReplayDelivery sends a finished delivery (dead, or delivered) again,
// with the same id, after the unfinished deliveries of its conversation.
func (a *App) ReplayDelivery(ctx context.Context, actor *Actor, id, deliveryID string) (*DeliveryView, error) {
	if err := actor.RequireScope(ScopeWebhooks); err != nil {
		return nil, err
	}
	var view *DeliveryView
	err := a.update(ctx, func(w *writer) error {
		h, err := ownWebhook(w, actor, id)
		if err != nil {
			return err
		}
		if !h.Enabled {
			return parley.Errorf(parley.EConflict, "the webhook is disabled; enable it first")
		}
		d, err := w.ReplayDelivery(h.ID, deliveryID, w.now)
		if parley.IsNotFound(err) {
			if _, err := w.Delivery(h.ID, deliveryID); err == nil {
				return parley.Errorf(parley.EConflict, "the delivery is not finished yet; only delivered, dead or skipped ones can be replayed")
			}
			return parley.Errorf(parley.ENotFound, "delivery not found")
		} else if err != nil {
			return err
		}
		w.webhooks.queued = true
		view = deliveryView(d)
		return nil
	})
	return view, err
}

// TestWebhook queues a ping to the webhook.
func (a *App) TestWebhook(ctx context.Context, actor *Actor, id string) (*DeliveryView, error) {
	if err := actor.RequireScope(ScopeWebhooks); err != nil {
		return nil, err
	}
	var view *DeliveryView
	err := a.update(ctx, func(w *writer) error {
		h, err := ownWebhook(w, actor, id)
		if err != nil {
			return err
		}
		if !h.Enabled {
			return parley.Errorf(parley.EConflict, "the webhook is disabled; enable it first")
		}
		d := &parley.WebhookDelivery{ID: "msg_" + newSortableID(w.now), WebhookID: h.ID, Type: HookPing, NextAt: w.now, CreatedAt: w.now}
		if err := w.EnqueueDeliveries([]*parley.WebhookDelivery{d}); err != nil {
			return err
		}
		w.webhooks.queued = true
		view = deliveryView(d)
		return nil
	})
	return view, err
}
