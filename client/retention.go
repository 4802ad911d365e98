package client

import (
	"context"
	"net/http"
	"time"
)

// Disappearing-message timers accepted by SetDisappearing.
const (
	DisappearOff     = 0
	Disappear5Min    = 5 * time.Minute
	Disappear1Hour   = time.Hour
	Disappear24Hours = 24 * time.Hour
	Disappear7Days   = 7 * 24 * time.Hour
	Disappear90Days  = 90 * 24 * time.Hour
)

// SetDisappearing sets the conversation's disappearing-message timer
// (one of the Disappear… values; 0 turns it off) and returns the
// conversation.
func (c *Client) SetDisappearing(ctx context.Context, id string, after time.Duration) (*Conversation, error) {
	return c.conversationCall(ctx, http.MethodPut, id, "/disappearing", map[string]int64{"disappear_after": int64(after / time.Second)})
}

// HoldInput places a legal hold on a conversation or a contact.
type HoldInput struct {
	// Scope is "conversation" or "contact".
	Scope  string `json:"scope"`
	Target string `json:"target"`
	Reason string `json:"reason,omitempty"`
}

// Hold is a legal hold: while Active, disappearing timers and retention
// leave its messages alone.
type Hold struct {
	ID         string     `json:"id"`
	Scope      string     `json:"scope"`
	TargetID   string     `json:"target_id"`
	BusinessID string     `json:"business_id,omitempty"`
	Reason     string     `json:"reason,omitempty"`
	CreatedBy  string     `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	Active     bool       `json:"active"`
	ReleasedBy string     `json:"released_by,omitempty"`
	ReleasedAt *time.Time `json:"released_at,omitempty"`
}

// RetentionPolicy is a business's retention, in days (0: keep), with the
// server's limits.
type RetentionPolicy struct {
	MaxAgeDays                int `json:"max_age_days"`
	AfterResolutionDays       int `json:"after_resolution_days"`
	ServerMaxAgeDays          int `json:"server_max_age_days"`
	ServerAfterResolutionDays int `json:"server_after_resolution_days"`
}

// RetentionJob is a retention run's progress.
type RetentionJob struct {
	ID     string `json:"id"`
	DryRun bool   `json:"dry_run"`
	// State is "running", "done" or "failed".
	State       string     `json:"state"`
	Scanned     int64      `json:"scanned"`
	Purged      int64      `json:"purged"`
	HeldSkipped int64      `json:"held_skipped"`
	Error       string     `json:"error,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	FinishedAt  *time.Time `json:"finished_at,omitempty"`
}

// Holds lists the business's legal holds (business admins).
func (b *Business) Holds(ctx context.Context) ([]Hold, error) {
	var out Page[Hold]
	_, err := b.c.call(ctx, http.MethodGet, b.path("/holds"), nil, nil, &out)
	return out.Items, err
}

// PlaceHold places a legal hold (business admins).
func (b *Business) PlaceHold(ctx context.Context, in HoldInput) (*Hold, error) {
	var out Hold
	_, err := b.c.call(ctx, http.MethodPost, b.path("/holds"), nil, in, &out)
	return ret(&out, err)
}

// ReleaseHold releases a legal hold and returns it, no longer active.
func (b *Business) ReleaseHold(ctx context.Context, id string) (*Hold, error) {
	var out Hold
	_, err := b.c.call(ctx, http.MethodDelete, b.path("/holds/"+esc(id)), nil, nil, &out)
	return ret(&out, err)
}

// Retention returns the business's retention policy.
func (b *Business) Retention(ctx context.Context) (*RetentionPolicy, error) {
	var out RetentionPolicy
	_, err := b.c.call(ctx, http.MethodGet, b.path("/retention"), nil, nil, &out)
	return ret(&out, err)
}

// SetRetention sets the business's retention, in days (0: keep).
func (b *Business) SetRetention(ctx context.Context, maxAgeDays, afterResolutionDays int) (*RetentionPolicy, error) {
	var out RetentionPolicy
	in := map[string]int{"max_age_days": maxAgeDays, "after_resolution_days": afterResolutionDays}
	_, err := b.c.call(ctx, http.MethodPut, b.path("/retention"), nil, in, &out)
	return ret(&out, err)
}

// StartRetention starts a retention run now; dryRun only counts.
func (b *Business) StartRetention(ctx context.Context, dryRun bool) (*RetentionJob, error) {
	var out RetentionJob
	_, err := b.c.call(ctx, http.MethodPost, b.path("/retention/jobs"), nil, map[string]bool{"dry_run": dryRun}, &out)
	return ret(&out, err)
}

// RetentionJob returns a retention run's progress.
func (b *Business) RetentionJob(ctx context.Context, id string) (*RetentionJob, error) {
	var out RetentionJob
	_, err := b.c.call(ctx, http.MethodGet, b.path("/retention/jobs/"+esc(id)), nil, nil, &out)
	return ret(&out, err)
}
