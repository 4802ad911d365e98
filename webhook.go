package parley

import "time"

// Webhook is an account's subscription to some of its events, delivered by
// HTTPS POST to URL and signed with Secret (the Standard Webhooks scheme).
type Webhook struct {
	ID          string
	OwnerID     string
	URL         string
	Description string
	// Events are the public event names subscribed to, sorted.
	Events []string
	// Secret signs deliveries: "whsec_" and the base64 of the key.
	Secret string
	// PreviousSecret, until PreviousUntil, signs deliveries too, so that a
	// receiver keeps verifying while it moves to a rotated secret.
	PreviousSecret string
	PreviousUntil  *time.Time
	Enabled        bool
	// DisabledReason says why the webhook stopped ("" while enabled).
	DisabledReason string
	DisabledAt     *time.Time
	// FailingSince is the first failed attempt since the last success
	// (nil while the last attempt succeeded).
	FailingSince  *time.Time
	LastSuccessAt *time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// DeliveryStatus is where one delivery of an event to a webhook stands.
type DeliveryStatus string

// The delivery statuses. Queued and pending deliveries are unfinished;
// the others are final.
const (
	// DeliveryQueued waits for an earlier delivery of the same webhook
	// and conversation to finish: deliveries of a conversation go in order.
	DeliveryQueued DeliveryStatus = "queued"
	// DeliveryPending is the head of its queue, attempted at NextAt.
	DeliveryPending DeliveryStatus = "pending"
	// DeliveryDelivered was answered with a 2xx status.
	DeliveryDelivered DeliveryStatus = "delivered"
	// DeliveryDead failed on every attempt of the retry period.
	DeliveryDead DeliveryStatus = "dead"
	// DeliverySkipped was not sent: its owner may no longer see the event.
	DeliverySkipped DeliveryStatus = "skipped"
)

// Final reports whether s is a finished status.
func (s DeliveryStatus) Final() bool {
	return s == DeliveryDelivered || s == DeliveryDead || s == DeliverySkipped
}

// WebhookDelivery is one event to send to one webhook: the outbox row,
// written in the same transaction as the event, and its attempts.
type WebhookDelivery struct {
	// Seq orders the deliveries of a queue (the store assigns it; a
	// replay moves a delivery to the end).
	Seq int64
	// ID is the public id, sent as webhook-id on every attempt.
	ID        string
	WebhookID string
	// Pos is the event's position (0 for a ping).
	Pos int64
	// Type is the public event name.
	Type string
	// As is the business whose view of the event the delivery carries,
	// when the webhook's owner works for it ("": the owner's own view).
	As string
	// ConversationID is the queue within the webhook ("" for events of
	// no conversation).
	ConversationID string
	Status         DeliveryStatus
	Attempts       int
	// NextAt is when a pending delivery is due; a claim moves it past
	// the attempt (a lease), so that a crashed sender's claim runs out.
	NextAt         time.Time
	FirstAttemptAt *time.Time
	LastAttemptAt  *time.Time
	// LastStatus is the HTTP status of the last attempt (0: no answer).
	LastStatus  int
	LastError   string
	DeliveredAt *time.Time
	CreatedAt   time.Time
}

// DeliveryFilter selects a page of a webhook's deliveries, newest first.
type DeliveryFilter struct {
	WebhookID string
	// Statuses filter by status (none: all).
	Statuses []DeliveryStatus
	// Attempted keeps only deliveries attempted at least once.
	Attempted bool
	// BeforeSeq is the last Seq of the previous page (0: from the newest).
	BeforeSeq int64
	Limit     int
}

// WebhookTx stores webhooks and their outbox.
type WebhookTx interface {
	// CreateWebhook inserts h.
	CreateWebhook(h *Webhook) error
	// Webhook returns a webhook or ENotFound.
	Webhook(id string) (*Webhook, error)
	// Webhooks lists an account's webhooks, oldest first.
	Webhooks(ownerID string) ([]*Webhook, error)
	// EnabledWebhooks lists every enabled webhook.
	EnabledWebhooks() ([]*Webhook, error)
	// UpdateWebhook saves every field of h but ID, OwnerID and CreatedAt;
	// ENotFound if gone.
	UpdateWebhook(h *Webhook) error
	// DeleteWebhook deletes a webhook and its deliveries; ENotFound if none.
	DeleteWebhook(id string) error

	// EnqueueDeliveries inserts deliveries in order and sets their Seq and
	// Status: pending (due at NextAt) when their queue — webhook and
	// conversation — has no unfinished delivery, queued otherwise.
	EnqueueDeliveries(ds []*WebhookDelivery) error
	// ClaimDeliveries takes up to limit pending deliveries due at now of
	// enabled webhooks, earliest due first, and moves their NextAt to
	// until so that nobody else claims them meanwhile.
	ClaimDeliveries(now, until time.Time, limit int) ([]*WebhookDelivery, error)
	// DeliveriesDue reports whether ClaimDeliveries at now would take
	// anything. It writes nothing: an idle worker's poll asks it in a read
	// transaction instead of taking an empty write batch (on PostgreSQL,
	// the positions lock that every node's writes wait for).
	DeliveriesDue(now time.Time) (bool, error)
	// SaveDelivery saves Status, Attempts, NextAt, FirstAttemptAt,
	// LastAttemptAt, LastStatus, LastError and DeliveredAt of an
	// unfinished delivery; ENotFound if it is gone or already final.
	SaveDelivery(d *WebhookDelivery) error
	// QueuedDeliveries returns up to limit queued deliveries of a queue,
	// oldest first.
	QueuedDeliveries(webhookID, conversationID string, limit int) ([]*WebhookDelivery, error)
	// PromoteNext makes the oldest queued delivery of a queue pending,
	// due at at, when the queue has no pending one.
	PromoteNext(webhookID, conversationID string, at time.Time) error
	// RescheduleDeliveries sets NextAt of a webhook's pending deliveries.
	RescheduleDeliveries(webhookID string, at time.Time) error
	// Delivery returns a webhook's delivery by public id or ENotFound.
	Delivery(webhookID, id string) (*WebhookDelivery, error)
	// Deliveries lists a page of a webhook's deliveries, newest first.
	Deliveries(f DeliveryFilter) ([]*WebhookDelivery, error)
	// ReplayDelivery moves a final delivery to the end of its queue with
	// no attempts: pending due at at, or queued behind unfinished ones.
	// ENotFound if there is no such final delivery.
	ReplayDelivery(webhookID, id string, at time.Time) (*WebhookDelivery, error)
	// PruneDeliveries deletes up to limit deliveries with one of the
	// statuses created before a time, and returns how many went.
	PruneDeliveries(statuses []DeliveryStatus, before time.Time, limit int) (int, error)

	// EventsAt returns the messages and stored events at the given
	// positions, each list ordered by position; missing ones are left out.
	EventsAt(positions []int64) ([]*Message, []*Event, error)
	// MembersAmong returns the memberships of a conversation held by the
	// given users.
	MembersAmong(conversationID string, userIDs []string) ([]*Member, error)
	// PreviousEvent returns the newest event before position before of a
	// type, addressed to userID in a conversation, or ENotFound.
	PreviousEvent(userID, conversationID, typ string, before int64) (*Event, error)
}
