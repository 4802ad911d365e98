package client

import (
	"context"
	"net/http"
)

// AdminHoldInput places a server-wide legal hold (server admins).
type AdminHoldInput struct {
	// Scope is "conversation", "account" or "contact".
	Scope string `json:"scope"`
	// Target is a conversation id, an account's handle, or
	// business-handle/contact-id.
	Target string `json:"target"`
	Reason string `json:"reason,omitempty"`
}

// AdminHolds lists every legal hold on the server (server admins).
func (c *Client) AdminHolds(ctx context.Context) ([]Hold, error) {
	var out Page[Hold]
	_, err := c.call(ctx, http.MethodGet, "/admin/holds", nil, nil, &out)
	return out.Items, err
}

// AdminPlaceHold places a legal hold (server admins).
func (c *Client) AdminPlaceHold(ctx context.Context, in AdminHoldInput) (*Hold, error) {
	var out Hold
	_, err := c.call(ctx, http.MethodPost, "/admin/holds", nil, in, &out)
	return ret(&out, err)
}

// AdminReleaseHold releases a legal hold (server admins).
func (c *Client) AdminReleaseHold(ctx context.Context, id string) (*Hold, error) {
	var out Hold
	_, err := c.call(ctx, http.MethodDelete, "/admin/holds/"+esc(id), nil, nil, &out)
	return ret(&out, err)
}

// AdminStartRetention starts a server-wide retention run; dryRun only
// counts (server admins).
func (c *Client) AdminStartRetention(ctx context.Context, dryRun bool) (*RetentionJob, error) {
	var out RetentionJob
	_, err := c.call(ctx, http.MethodPost, "/admin/retention/jobs", nil, map[string]bool{"dry_run": dryRun}, &out)
	return ret(&out, err)
}

// AdminRetentionJob returns a server-wide retention run's progress.
func (c *Client) AdminRetentionJob(ctx context.Context, id string) (*RetentionJob, error) {
	var out RetentionJob
	_, err := c.call(ctx, http.MethodGet, "/admin/retention/jobs/"+esc(id), nil, nil, &out)
	return ret(&out, err)
}
