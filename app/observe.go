package app

import (
	"time"

	"github.com/parleyhq/parley"
)

// Observer is told what the rules did, for metrics (package metrics
// implements it with Prometheus; app itself stays free of any metrics
// library). Its methods run on hot paths, some inside a caller's request:
// they must be quick and must not block. An implementation embeds
// NopObserver so that methods added later need no change to it.
type Observer interface {
	// MessageSent reports the end of a Send (also a business reply):
	// result is SendCreated, SendRepeat, SendRefused or SendFailed, d the
	// whole call, commit included.
	MessageSent(result string, d time.Duration)
	// MarkerMoved reports an accepted delivered or read marker (an ack):
	// kind is "delivered" or "read".
	MarkerMoved(kind string)
	// LoginFailed reports a login refused for a wrong handle or password.
	LoginFailed()
	// RateLimited reports a refusal by the named limiter.
	RateLimited(limiter string)
	// InboxTick reports one run of the business inbox timers: snoozes
	// ended and conversations reassigned; err is the run's error, if any.
	InboxTick(snoozesEnded, reassigned int, err error)
	// NoteAdded reports a private note added to a customer conversation.
	NoteAdded()
	// ReadBatch reports a batch of short reads that shared one read
	// transaction.
	ReadBatch(size int)
	// WebhookAttempted reports the committed outcome of one delivery
	// attempt: result is WebhookDelivered, WebhookFailed (retried later),
	// WebhookDead (given up) or WebhookSkipped (no longer visible to its
	// owner, not posted).
	WebhookAttempted(result string)
	// WebhookDisabled reports a webhook disabled after failing for too long.
	WebhookDisabled()
	// CampaignStarted and CampaignFinished report a campaign taking its
	// audience and starting to send, and ending with nobody left pending.
	CampaignStarted()
	CampaignFinished()
	// CampaignRecipient reports what became of one campaign recipient:
	// parley.RecipientSent, RecipientSkipped or RecipientFailed, or
	// RecipientPending when it was deferred (quiet hours, a rate limit,
	// an error to retry).
	CampaignRecipient(state string)
	// ChannelEvent reports one event of a platform's webhook (kind is
	// channel.KindMessage ...); changed is false for a replay or an
	// event about nothing Parley knows.
	ChannelEvent(platform, kind string, changed bool)
	// ChannelSend reports one Send API attempt: result is "sent",
	// "retry" (rate limited or temporary) or "failed" (final).
	ChannelSend(platform, result string)
}

// Outcomes of a webhook delivery attempt, as reported to
// Observer.WebhookAttempted.
const (
	WebhookDelivered = "delivered" // answered 2xx
	WebhookFailed    = "failed"    // no 2xx in time; retried with backoff
	WebhookDead      = "dead"      // failed for too long: given up
	WebhookSkipped   = "skipped"   // its owner may no longer see the event
)

// Results of a send, as reported to Observer.MessageSent.
const (
	SendCreated = "created" // a new message was committed
	SendRepeat  = "repeat"  // the client_id repeated an earlier send
	SendRefused = "refused" // a rule or the input said no
	SendFailed  = "error"   // an internal error
)

// NopObserver observes nothing. Embed it to implement part of Observer.
type NopObserver struct{}

// MessageSent implements Observer.
func (NopObserver) MessageSent(string, time.Duration) {}

// MarkerMoved implements Observer.
func (NopObserver) MarkerMoved(string) {}

// LoginFailed implements Observer.
func (NopObserver) LoginFailed() {}

// RateLimited implements Observer.
func (NopObserver) RateLimited(string) {}

// InboxTick implements Observer.
func (NopObserver) InboxTick(int, int, error) {}

// NoteAdded implements Observer.
func (NopObserver) NoteAdded() {}

// ReadBatch implements Observer.
func (NopObserver) ReadBatch(int) {}

// WebhookAttempted implements Observer.
func (NopObserver) WebhookAttempted(string) {}

// WebhookDisabled implements Observer.
func (NopObserver) WebhookDisabled() {}

// CampaignStarted implements Observer.
func (NopObserver) CampaignStarted() {}

// CampaignFinished implements Observer.
func (NopObserver) CampaignFinished() {}

// CampaignRecipient implements Observer.
func (NopObserver) CampaignRecipient(string) {}

// ChannelEvent implements Observer.
func (NopObserver) ChannelEvent(string, string, bool) {}

// ChannelSend implements Observer.
func (NopObserver) ChannelSend(string, string) {}

var _ Observer = NopObserver{}

// WithObserver sets the observer told about sends, acks, refusals and the
// inbox timers.
func WithObserver(o Observer) Option { return func(a *App) { a.obs = o } }

// sendResult classifies the outcome of a send for the observer.
func sendResult(created bool, err error) string {
	switch {
	case err == nil && created:
		return SendCreated
	case err == nil:
		return SendRepeat
	case parley.ErrorCode(err) == parley.EInternal:
		return SendFailed
	}
	return SendRefused
}

// observeSend starts timing a send. Defer a call of the function it
// returns with the send's results.
func (a *App) observeSend() func(created *bool, err *error) {
	start := time.Now()
	return func(created *bool, err *error) {
		a.obs.MessageSent(sendResult(*created, *err), time.Since(start))
	}
}

// observeMarker reports an accepted delivered or read marker.
func (a *App) observeMarker(read bool, err error) {
	if err != nil {
		return
	}
	if read {
		a.obs.MarkerMoved("read")
	} else {
		a.obs.MarkerMoved("delivered")
	}
}
