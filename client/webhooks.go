package client

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// WebhookInput registers a webhook: an https URL and the event types it
// receives (docs/api.md lists them).
type WebhookInput struct {
	URL         string   `json:"url"`
	Events      []string `json:"events"`
	Description string   `json:"description,omitempty"`
}

// WebhookChange changes a webhook; nil fields are left as they are.
type WebhookChange struct {
	URL         *string  `json:"url,omitempty"`
	Events      []string `json:"events,omitempty"`
	Description *string  `json:"description,omitempty"`
	// Enabled re-enables (or disables) it.
	Enabled *bool `json:"enabled,omitempty"`
	// RotateSecret issues a new signing secret; the old one keeps
	// working until PreviousSecretUntil.
	RotateSecret bool `json:"rotate_secret,omitempty"`
}

// Webhook is a registered webhook. Secret is shown only when created or
// rotated.
type Webhook struct {
	ID                  string     `json:"id"`
	URL                 string     `json:"url"`
	Description         string     `json:"description"`
	Events              []string   `json:"events"`
	Enabled             bool       `json:"enabled"`
	DisabledReason      string     `json:"disabled_reason,omitempty"`
	DisabledAt          *time.Time `json:"disabled_at,omitempty"`
	FailingSince        *time.Time `json:"failing_since,omitempty"`
	LastSuccessAt       *time.Time `json:"last_success_at,omitempty"`
	PreviousSecretUntil *time.Time `json:"previous_secret_until,omitempty"`
	CreatedAt           time.Time  `json:"created_at"`
	UpdatedAt           time.Time  `json:"updated_at"`
	Secret              string     `json:"secret,omitempty"`
}

// Delivery is one webhook delivery.
type Delivery struct {
	ID             string `json:"id"`
	Type           string `json:"type"`
	ConversationID string `json:"conversation_id,omitempty"`
	// Status is queued, pending, delivered, dead or skipped.
	Status         string     `json:"status"`
	Attempts       int        `json:"attempts"`
	NextAttemptAt  *time.Time `json:"next_attempt_at,omitempty"`
	LastAttemptAt  *time.Time `json:"last_attempt_at,omitempty"`
	LastStatusCode int        `json:"last_status_code,omitempty"`
	LastError      string     `json:"last_error,omitempty"`
	DeliveredAt    *time.Time `json:"delivered_at,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
}

// DeliveryQuery pages through a webhook's deliveries, optionally of one
// Status.
type DeliveryQuery struct {
	Status string
	Cursor string
	Limit  int
}

// Webhooks lists the caller's webhooks.
func (c *Client) Webhooks(ctx context.Context) ([]Webhook, error) {
	var out Page[Webhook]
	_, err := c.call(ctx, http.MethodGet, "/webhooks", nil, nil, &out)
	return out.Items, err
}

// CreateWebhook registers a webhook; the answer's Secret signs its
// deliveries and is shown this once.
func (c *Client) CreateWebhook(ctx context.Context, in WebhookInput) (*Webhook, error) {
	var out Webhook
	_, err := c.call(ctx, http.MethodPost, "/webhooks", nil, in, &out)
	return ret(&out, err)
}

// Webhook returns one webhook.
func (c *Client) Webhook(ctx context.Context, id string) (*Webhook, error) {
	var out Webhook
	_, err := c.call(ctx, http.MethodGet, "/webhooks/"+esc(id), nil, nil, &out)
	return ret(&out, err)
}

// UpdateWebhook changes a webhook.
func (c *Client) UpdateWebhook(ctx context.Context, id string, in WebhookChange) (*Webhook, error) {
	var out Webhook
	_, err := c.call(ctx, http.MethodPatch, "/webhooks/"+esc(id), nil, in, &out)
	return ret(&out, err)
}

// DeleteWebhook removes a webhook.
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	return c.Do(ctx, http.MethodDelete, "/webhooks/"+esc(id), nil, nil)
}

// Deliveries lists a webhook's deliveries, newest first.
func (c *Client) Deliveries(ctx context.Context, id string, q DeliveryQuery) (*Page[Delivery], error) {
	v := url.Values{}
	setString(v, "status", q.Status)
	setString(v, "cursor", q.Cursor)
	setInt(v, "limit", int64(q.Limit))
	var out Page[Delivery]
	_, err := c.call(ctx, http.MethodGet, "/webhooks/"+esc(id)+"/deliveries", v, nil, &out)
	return ret(&out, err)
}

// ReplayDelivery queues a delivery again.
func (c *Client) ReplayDelivery(ctx context.Context, id, delivery string) (*Delivery, error) {
	var out Delivery
	_, err := c.call(ctx, http.MethodPost, "/webhooks/"+esc(id)+"/deliveries/"+esc(delivery)+"/replay", nil, nil, &out)
	return ret(&out, err)
}

// TestWebhook queues a test delivery ("ping").
func (c *Client) TestWebhook(ctx context.Context, id string) (*Delivery, error) {
	var out Delivery
	_, err := c.call(ctx, http.MethodPost, "/webhooks/"+esc(id)+"/test", nil, nil, &out)
	return ret(&out, err)
}
