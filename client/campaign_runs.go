package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"
)

// CampaignInput creates a campaign from an approved template with a
// topic. Without SendNow or ScheduledAt it stays a draft.
type CampaignInput struct {
	Name     string   `json:"name"`
	Template string   `json:"template"`
	Segment  *Segment `json:"segment,omitempty"`
	// Rate is messages per second (0: the server's default).
	Rate        float64    `json:"rate,omitempty"`
	ScheduledAt *time.Time `json:"scheduled_at,omitempty"`
	SendNow     bool       `json:"send_now,omitempty"`
}

// Campaign is a campaign and its progress.
type Campaign struct {
	ID       string        `json:"id"`
	Name     string        `json:"name"`
	Template *Template     `json:"template"`
	Topic    *TopicSummary `json:"topic"`
	Segment  Segment       `json:"segment"`
	// Status is draft, scheduled, running, paused, done or cancelled.
	Status      string     `json:"status"`
	ScheduledAt *time.Time `json:"scheduled_at"`
	Rate        float64    `json:"rate"`
	CreatedBy   string     `json:"created_by"`
	CreatedAt   time.Time  `json:"created_at"`
	StartedAt   *time.Time `json:"started_at"`
	EndedAt     *time.Time `json:"ended_at"`
	Total       int        `json:"total"`
	Sent        int        `json:"sent"`
	Failed      int        `json:"failed"`
	// Skipped counts recipients by reason (no_consent, frequency_cap …).
	Skipped map[string]int `json:"skipped"`
	Pending int            `json:"pending"`
}

// Recipient is one contact of a campaign and what happened to it.
type Recipient struct {
	// Contact is the contact as the server describes it.
	Contact json.RawMessage `json:"contact"`
	// State is pending, sent, skipped or failed.
	State     string     `json:"state"`
	Reason    string     `json:"reason,omitempty"`
	MessageID string     `json:"message_id,omitempty"`
	NotBefore *time.Time `json:"not_before,omitempty"`
	UpdatedAt time.Time  `json:"updated_at"`
}

// RecipientQuery pages through a campaign's recipients, optionally of
// one State.
type RecipientQuery struct {
	State  string
	Cursor string
	Limit  int
}

// Campaigns lists the business's campaigns.
func (b *Business) Campaigns(ctx context.Context) ([]Campaign, error) {
	var out Page[Campaign]
	_, err := b.c.call(ctx, http.MethodGet, b.path("/campaigns"), nil, nil, &out)
	return out.Items, err
}

// CreateCampaign creates a campaign.
func (b *Business) CreateCampaign(ctx context.Context, in CampaignInput) (*Campaign, error) {
	var out Campaign
	_, err := b.c.call(ctx, http.MethodPost, b.path("/campaigns"), nil, in, &out)
	return ret(&out, err)
}

// Campaign returns one campaign with its progress.
func (b *Business) Campaign(ctx context.Context, id string) (*Campaign, error) {
	var out Campaign
	_, err := b.c.call(ctx, http.MethodGet, b.path("/campaigns/"+esc(id)), nil, nil, &out)
	return ret(&out, err)
}

// SetCampaignStatus schedules (at scheduledAt), starts, pauses or cancels
// a campaign: status is "scheduled", "running", "paused" or "cancelled".
func (b *Business) SetCampaignStatus(ctx context.Context, id, status string, scheduledAt *time.Time) (*Campaign, error) {
	in := struct {
		Status      string     `json:"status"`
		ScheduledAt *time.Time `json:"scheduled_at,omitempty"`
	}{status, scheduledAt}
	var out Campaign
	_, err := b.c.call(ctx, http.MethodPut, b.path("/campaigns/"+esc(id)+"/status"), nil, in, &out)
	return ret(&out, err)
}

// CampaignRecipients lists a campaign's recipients.
func (b *Business) CampaignRecipients(ctx context.Context, id string, q RecipientQuery) (*Page[Recipient], error) {
	v := url.Values{}
	setString(v, "state", q.State)
	setString(v, "cursor", q.Cursor)
	setInt(v, "limit", int64(q.Limit))
	var out Page[Recipient]
	_, err := b.c.call(ctx, http.MethodGet, b.path("/campaigns/"+esc(id)+"/recipients"), v, nil, &out)
	return ret(&out, err)
}

// CampaignPoint is what happened to a campaign's recipients in one bucket
// of time (At its start), or over the whole campaign (At nil).
type CampaignPoint struct {
	At        *time.Time `json:"at,omitempty"`
	Sent      int        `json:"sent"`
	Delivered int        `json:"delivered"`
	Read      int        `json:"read"`
	Replied   int        `json:"replied"`
	OptedOut  int        `json:"opted_out"`
	Failed    int        `json:"failed"`
	// Skipped counts recipients by reason.
	Skipped map[string]int `json:"skipped"`
}

// CampaignStats is a campaign's outcome: totals and a series over time.
type CampaignStats struct {
	Campaign         string          `json:"campaign"`
	Status           string          `json:"status"`
	Total            int             `json:"total"`
	Pending          int             `json:"pending"`
	BucketSeconds    int             `json:"bucket_seconds"`
	AttributionHours int             `json:"attribution_hours"`
	Totals           CampaignPoint   `json:"totals"`
	Series           []CampaignPoint `json:"series"`
}

// CampaignStats returns a campaign's statistics; bucket is the width of
// a point of the series (0: the server picks one; else 1m, 5m, 15m, 1h,
// 6h or 24h).
func (b *Business) CampaignStats(ctx context.Context, id string, bucket time.Duration) (*CampaignStats, error) {
	v := url.Values{}
	setInt(v, "bucket", int64(bucket/time.Second))
	var out CampaignStats
	_, err := b.c.call(ctx, http.MethodGet, b.path("/campaigns/"+esc(id)+"/stats"), v, nil, &out)
	return ret(&out, err)
}
