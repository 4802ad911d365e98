package app

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyhq/parley"
	"golang.org/x/time/rate"
)

// The campaign worker. Its progress is the recipients' rows: a recipient
// is pending until the transaction that stores its message (or records
// why it was skipped or failed) says otherwise, and each message carries
// the client id "cmp.<campaign>.<contact>", so running the worker again
// after a crash, on any node, sends what is left and nothing twice.

// campaignRunner is the worker's in-memory state: throttles and wakes.
type campaignRunner struct {
	wake       chan struct{}
	mu         sync.Mutex
	limiters   map[string]*rate.Limiter
	progressAt map[string]time.Time
}

func (r *campaignRunner) init() {
	r.wake = make(chan struct{}, 1)
	r.limiters = map[string]*rate.Limiter{}
	r.progressAt = map[string]time.Time{}
}

// poke wakes the worker (a campaign was started or resumed).
func (r *campaignRunner) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// limiter returns the campaign's throttle at its current rate.
func (r *campaignRunner) limiter(id string, perSecond float64) *rate.Limiter {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.limiters[id]
	burst := max(1, min(int(perSecond/10), 1000))
	if l == nil {
		l = rate.NewLimiter(rate.Limit(perSecond), burst)
		r.limiters[id] = l
	} else if l.Limit() != rate.Limit(perSecond) {
		l.SetLimit(rate.Limit(perSecond))
		l.SetBurst(burst)
	}
	return l
}

func (r *campaignRunner) forget(id string) {
	r.mu.Lock()
	delete(r.limiters, id)
	delete(r.progressAt, id)
	r.mu.Unlock()
}

// RunCampaigns runs CampaignTick every interval, and at once when a
// campaign is started or resumed, until ctx ends.
func (a *App) RunCampaigns(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := a.CampaignTick(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("campaigns", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-a.campaigns.wake:
		}
	}
}

// maxCampaignChunk bounds a chunk (one write transaction). Most of a
// campaign message's cost on SQLite is the pages it dirties (its
// conversation's row, both members' rows and list-index entries, its
// message's indexes, its chain entry), each written to the log and again
// at the checkpoint; a chunk writes a page its messages share once, so
// bytes written per message fall as chunks grow (BENCHMARKS.md: about
// 40 KB at 256, 20 KB at 1,024 for 5,000 contacts). The price is the
// writer held longer: a chunk of 1,024 holds it for roughly a tenth of a
// second, and other sends committed in the same batch wait for it.
const maxCampaignChunk = 1024

// firstCampaignChunk is the size of a slice's first chunk; the next ones
// double up to maxCampaignChunk. Nothing commits before the first chunk
// is rendered, and rendering 1,024 recipients takes about half as long
// as committing them (BENCHMARKS.md, seventh session).
const firstCampaignChunk = 256

// campaignSlice is how long one campaign is served before the next gets
// its turn.
const campaignSlice = 2 * time.Second

// CampaignTick takes the audience of campaigns whose time has come and
// sends what is due of every running campaign (up to campaignSlice each).
func (a *App) CampaignTick(ctx context.Context) error {
	var cs []*parley.Campaign
	if err := a.view(ctx, func(tx parley.Tx) error {
		var err error
		cs, err = tx.CampaignsToRun(a.clock())
		return err
	}); err != nil {
		return err
	}
	for _, c := range cs {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if c.Status == parley.CampaignScheduled {
			if err := a.startCampaign(ctx, c); errors.Is(err, errCampaignHalted) {
				continue
			} else if err != nil {
				return err
			}
		}
		if err := a.deliverCampaign(ctx, c.BusinessID, c.ID); err != nil {
			return err
		}
	}
	return nil
}

// startCampaign takes a scheduled campaign's audience (its segment and
// its topic's opted-in contacts) as pending recipients, a page per
// transaction, then marks it running. Run again after a crash it adds
// only the recipients it lacks.
func (a *App) startCampaign(ctx context.Context, c *parley.Campaign) error {
	var seg Segment
	if err := json.Unmarshal([]byte(c.Segment), &seg); err != nil {
		return err
	}
	f, err := seg.filter(c.BusinessID, a.clock())
	if err != nil {
		return err
	}
	// The topic first: it is the index that drives the query.
	f.Topics = append([]string{c.TopicID}, slices.DeleteFunc(f.Topics, func(t string) bool { return t == c.TopicID })...)
	after := ""
	for {
		var ids []string
		if err := a.view(ctx, func(tx parley.Tx) error {
			var err error
			ids, err = tx.SegmentContacts(f, after, 5000)
			return err
		}); err != nil {
			return err
		}
		if len(ids) == 0 {
			break
		}
		if err := a.update(ctx, func(w *writer) error {
			cc, err := w.Campaign(c.BusinessID, c.ID)
			if err != nil {
				return err
			}
			if cc.Status != parley.CampaignScheduled {
				return errCampaignHalted
			}
			n, err := w.AddRecipients(c.ID, ids, w.now)
			if err != nil {
				return err
			}
			cc.Total += n
			cc.UpdatedAt = w.now
			return w.UpdateCampaign(cc)
		}); err != nil {
			return err
		}
		after = ids[len(ids)-1]
	}
	err = a.update(ctx, func(w *writer) error {
		cc, err := w.Campaign(c.BusinessID, c.ID)
		if err != nil {
			return err
		}
		if cc.Status != parley.CampaignScheduled {
			return errCampaignHalted
		}
		now := w.now
		cc.Status, cc.StartedAt, cc.UpdatedAt = parley.CampaignRunning, &now, now
		return w.UpdateCampaign(cc)
	})
	if err == nil {
		a.obs.CampaignStarted()
	}
	return err
}

// deliverCampaign sends a running campaign's due recipients, throttled to
// its rate, for up to campaignSlice; it ends the campaign when nobody is
// left pending.
func (a *App) deliverCampaign(ctx context.Context, businessID, id string) error {
	until := time.Now().Add(campaignSlice)
	// Chunks of up to a tenth of a second's sends, a transaction each
	// (campaign_batch.go), two in flight so that one renders while the
	// writer commits the other. The next recipients are read while the
	// last chunks are still in flight (no pause of the writer between
	// reads): their recipients are still pending then, so every
	// recipient handed to a chunk in this slice is left out of later
	// reads of the slice (sent, skipped, or tried again in the next
	// slice). That only saves work: a chunk's write transaction takes
	// only recipients still pending in it, and a message's client id
	// makes a repeat a no-op.
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	var halted atomic.Bool
	var inFlight atomic.Int64 // recipients handed to chunks not yet done
	seen := map[string]bool{}
	ramp := firstCampaignChunk
	defer wg.Wait()
	for time.Now().Before(until) && ctx.Err() == nil && !halted.Load() {
		var c *parley.Campaign
		var tp *parley.Template
		var biz *parley.User
		var due []*parley.CampaignRecipient
		flying := int(inFlight.Load())
		err := a.view(ctx, func(tx parley.Tx) error {
			var err error
			if c, err = tx.Campaign(businessID, id); err != nil {
				return err
			}
			if c.Status != parley.CampaignRunning {
				return nil
			}
			if biz, err = tx.UserByID(businessID); err != nil {
				return err
			}
			if tp, err = tx.Template(businessID, c.TemplateID); parley.IsNotFound(err) {
				tp, err = nil, nil
			} else if err != nil {
				return err
			}
			batch := max(64, min(2048, int(c.Rate*2)))
			if len(seen) == 0 {
				batch = min(batch, 3*firstCampaignChunk) // the first two chunks
			}
			due, err = tx.DueRecipients(id, a.clock(), batch+flying)
			return err
		})
		if err != nil {
			return err
		}
		if c.Status != parley.CampaignRunning {
			wg.Wait()
			a.campaignProgress(ctx, c, true)
			a.campaigns.forget(id)
			return nil
		}
		fresh := due[:0:0]
		for _, r := range due {
			if !seen[r.ContactID] {
				fresh = append(fresh, r)
			}
		}
		if len(fresh) == 0 {
			if flying > 0 {
				// Read again once the chunks in flight are done: only
				// then does the store say who is left.
				wg.Wait()
				continue
			}
			if len(due) == 0 {
				return a.maybeFinish(ctx, c)
			}
			return nil // only recipients this slice already tried: the next one
		}
		ba := &BusinessActor{Actor: &Actor{User: biz}, Business: biz, Role: parley.AgentRoleAdmin}
		lim := a.campaigns.limiter(id, c.Rate)
		size := max(1, min(maxCampaignChunk, int(c.Rate/10)))
	chunks:
		for i := 0; i < len(fresh) && !halted.Load(); {
			// The slice's first chunks are smaller (firstCampaignChunk,
			// then twice that, ...): the writer waits for the first
			// to render, and the next renders while it commits.
			n := size
			if ramp < size {
				n, ramp = ramp, ramp*2
			}
			chunk := fresh[i:min(i+n, len(fresh))]
			i += len(chunk)
			for range chunk {
				if lim.Wait(ctx) != nil {
					break chunks
				}
			}
			for _, r := range chunk {
				seen[r.ContactID] = true
			}
			sem <- struct{}{}
			inFlight.Add(int64(len(chunk)))
			wg.Add(1)
			go func() {
				defer func() { inFlight.Add(-int64(len(chunk))); <-sem; wg.Done() }()
				if tp == nil {
					for _, r := range chunk {
						if a.deliverOne(ctx, ba, tp, c, r) {
							halted.Store(true)
							return
						}
					}
					return
				}
				rest, h, err := a.deliverChunk(ctx, ba, tp, c, chunk)
				switch {
				case err != nil && ctx.Err() != nil:
					halted.Store(true)
					return
				case err != nil:
					// Nothing of the chunk was stored: one by one, each
					// recipient gets the same checks and its own outcome.
					a.log.Warn("campaign chunk", "campaign", c.ID, "err", err)
					rest = chunk
				case h:
					halted.Store(true)
					return
				}
				for _, r := range rest {
					if a.deliverOne(ctx, ba, tp, c, r) {
						halted.Store(true)
						return
					}
				}
			}()
		}
		a.campaignProgress(ctx, c, false)
	}
	wg.Wait()
	return nil
}

// maybeFinish ends a running campaign with no pending recipient.
func (a *App) maybeFinish(ctx context.Context, c *parley.Campaign) error {
	done := false
	err := a.update(ctx, func(w *writer) error {
		done = false
		if _, err := w.NextPending(c.ID); err == nil || !parley.IsNotFound(err) {
			return err // someone waits (quiet hours) or the store failed
		}
		cc, err := w.Campaign(c.BusinessID, c.ID)
		if err != nil || cc.Status != parley.CampaignRunning {
			return err
		}
		now := w.now
		cc.Status, cc.EndedAt, cc.UpdatedAt = parley.CampaignDone, &now, now
		done = true
		return w.UpdateCampaign(cc)
	})
	if err == nil && done {
		a.obs.CampaignFinished()
		c.Status = parley.CampaignDone
		a.campaignProgress(ctx, c, true)
		a.campaigns.forget(c.ID)
	}
	return err
}

// deliverOne sends the campaign's message to one recipient through Send
// and records the outcome; it reports whether the campaign halted.
func (a *App) deliverOne(ctx context.Context, ba *BusinessActor, tp *parley.Template, c *parley.Campaign, r *parley.CampaignRecipient) bool {
	if tp == nil {
		return a.settle(ctx, c, r.ContactID, parley.RecipientFailed, "template_deleted", time.Time{})
	}
	var it *parley.InboxItem
	var out *RenderedReply
	skip := ""
	load := func(tx parley.Tx) error {
		it, out, skip = nil, nil, ""
		ct, err := tx.Contact(c.BusinessID, r.ContactID)
		if parley.IsNotFound(err) {
			skip = "no_contact"
			return nil
		} else if err != nil {
			return err
		}
		if ct.MergedInto != "" {
			skip = "merged"
			return nil
		}
		if it, err = contactItem(tx, ct); err != nil {
			return err
		}
		if it.ConversationID == "" {
			return nil // opened below
		}
		out, err = renderTemplateItem(tx, ba, tp, it)
		return err
	}
	err := a.view(ctx, load)
	if err == nil && skip == "" && it.ConversationID == "" {
		// Opted in without ever writing: the opt-in opens the
		// conversation (campaign_open.go).
		var convID string
		convID, skip, err = a.openForCampaign(ctx, ba.Business, tp, r.ContactID)
		if err == nil && skip == "" {
			if err = a.view(ctx, load); err == nil && skip == "" && it.ConversationID != convID {
				skip = "no_conversation" // cannot happen: the conversation was just opened
			}
		}
		if code := parley.ErrorCode(err); err != nil && code != parley.EInternal {
			return a.refused(ctx, c, r.ContactID, err)
		}
	}
	switch {
	case err != nil && ctx.Err() != nil:
		return true // the worker is stopping
	case err != nil:
		a.log.Warn("campaign recipient", "campaign", c.ID, "contact", r.ContactID, "err", err)
		return a.settle(ctx, c, r.ContactID, parley.RecipientPending, "error", a.clock().Add(30*time.Second))
	case skip != "":
		return a.settle(ctx, c, r.ContactID, parley.RecipientSkipped, skip, time.Time{})
	case len(out.Missing) > 0:
		return a.settle(ctx, c, r.ContactID, parley.RecipientSkipped, parley.EUnresolvedVar, time.Time{})
	}
	_, created, err := a.Send(ctx, ba.Actor, it.ConversationID, SendInput{ClientID: "cmp." + c.ID + "." + r.ContactID, Text: out.Text,
		ConfirmSensitive: true, class: &sendClass{template: tp, params: out.params, header: out.header, buttons: out.buttons, campaign: &campaignMark{campaignID: c.ID, contactID: r.ContactID}}})
	switch {
	case err == nil && created:
		// The send marked the recipient sent in its own transaction.
		a.obs.CampaignRecipient(parley.RecipientSent)
		return false
	case err == nil:
		// Stored before, its recipient row not updated: cannot happen
		// (one transaction), but the message exists, so it was sent.
		return a.settle(ctx, c, r.ContactID, parley.RecipientSent, "", time.Time{})
	case errors.Is(err, errCampaignHalted):
		return true
	}
	return a.refused(ctx, c, r.ContactID, err)
}

// refused records why a recipient's message was not sent: it waits
// (quiet hours, a rate limit, an error), is skipped (the policy) or
// failed; it reports whether the campaign halted.
func (a *App) refused(ctx context.Context, c *parley.Campaign, contactID string, err error) bool {
	state, reason, wait, ok := recipientOutcome(err)
	if !ok {
		if ctx.Err() != nil {
			return true
		}
		a.log.Warn("campaign send", "campaign", c.ID, "contact", contactID, "err", err)
		return a.settle(ctx, c, contactID, parley.RecipientPending, "error", a.clock().Add(30*time.Second))
	}
	nb := time.Time{}
	if wait > 0 {
		nb = a.clock().Add(wait)
	}
	return a.settle(ctx, c, contactID, state, reason, nb)
}

// settle records what became of a pending recipient (a pending state
// defers it to notBefore) and counts it; it reports whether the campaign
// halted.
func (a *App) settle(ctx context.Context, c *parley.Campaign, contactID, state, reason string, notBefore time.Time) bool {
	halted, settled := false, false
	err := a.update(ctx, func(w *writer) error {
		halted, settled = false, false
		cc, err := w.Campaign(c.BusinessID, c.ID)
		if err != nil {
			return err
		}
		if cc.Status != parley.CampaignRunning {
			halted = true
			return nil
		}
		r, err := w.Recipient(c.ID, contactID)
		if err != nil || r.State != parley.RecipientPending {
			return err
		}
		r.State, r.Reason, r.NotBefore, r.UpdatedAt = state, reason, notBefore, w.now
		if err := w.PutRecipient(r); err != nil {
			return err
		}
		settled = true
		switch state {
		case parley.RecipientPending:
			return nil
		case parley.RecipientSent:
			cc.Sent++
		case parley.RecipientFailed:
			cc.Failed++
		case parley.RecipientSkipped:
			if cc.Skipped == nil {
				cc.Skipped = map[string]int{}
			}
			cc.Skipped[reason]++
		}
		cc.UpdatedAt = w.now
		return w.UpdateCampaign(cc)
	})
	if err != nil && ctx.Err() == nil {
		a.log.Warn("campaign recipient", "campaign", c.ID, "contact", contactID, "err", err)
	}
	if err == nil && settled {
		a.obs.CampaignRecipient(state)
	}
	return halted || ctx.Err() != nil
}

// campaignProgress tells the business's team how a campaign stands: at
// most once a second, and always at its end (force).
func (a *App) campaignProgress(ctx context.Context, c *parley.Campaign, force bool) {
	now := time.Now()
	a.campaigns.mu.Lock()
	last := a.campaigns.progressAt[c.ID]
	if !force && now.Sub(last) < time.Second {
		a.campaigns.mu.Unlock()
		return
	}
	a.campaigns.progressAt[c.ID] = now
	a.campaigns.mu.Unlock()
	var v *CampaignView
	var audience []string
	err := a.view(ctx, func(tx parley.Tx) error {
		cc, err := tx.Campaign(c.BusinessID, c.ID)
		if err != nil {
			return err
		}
		if v, err = campaignView(tx, cc); err != nil {
			return err
		}
		team, err := activeAgentIDs(tx, c.BusinessID)
		audience = append(team, c.BusinessID)
		return err
	})
	if err != nil {
		return
	}
	a.notify([]*parley.Event{{Type: EventCampaignProgress, ActorID: c.BusinessID, Data: mustJSON(v), CreatedAt: a.clock(),
		Audience: audience, As: c.BusinessID}})
}
