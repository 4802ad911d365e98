package client

import (
	"context"
	"net/http"
	"time"
)

// FilterInput adds a content filter.
type FilterInput struct {
	// Kind is "word", "regex", "domain_deny" or "domain_allow" (server
	// filters only).
	Kind    string `json:"kind"`
	Pattern string `json:"pattern"`
	// Action is "hide" for account filters (the default); "refuse" or
	// "flag" for server filters.
	Action string `json:"action,omitempty"`
}

// Filter is a content filter.
type Filter struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Pattern   string    `json:"pattern"`
	Action    string    `json:"action"`
	CreatedAt time.Time `json:"created_at"`
}

// Filters lists the caller's own filters, oldest first.
func (c *Client) Filters(ctx context.Context) ([]Filter, error) {
	var out Page[Filter]
	_, err := c.call(ctx, http.MethodGet, "/me/filters", nil, nil, &out)
	return out.Items, err
}

// AddFilter adds a filter that hides matching messages from the caller.
func (c *Client) AddFilter(ctx context.Context, in FilterInput) (*Filter, error) {
	var out Filter
	_, err := c.call(ctx, http.MethodPost, "/me/filters", nil, in, &out)
	return ret(&out, err)
}

// DeleteFilter removes one of the caller's filters.
func (c *Client) DeleteFilter(ctx context.Context, id string) error {
	return c.Do(ctx, http.MethodDelete, "/me/filters/"+esc(id), nil, nil)
}

// ServerFilters lists the server-wide filters (server admins).
func (c *Client) ServerFilters(ctx context.Context) ([]Filter, error) {
	var out Page[Filter]
	_, err := c.call(ctx, http.MethodGet, "/admin/filters", nil, nil, &out)
	return out.Items, err
}

// AddServerFilter adds a server-wide filter (server admins).
func (c *Client) AddServerFilter(ctx context.Context, in FilterInput) (*Filter, error) {
	var out Filter
	_, err := c.call(ctx, http.MethodPost, "/admin/filters", nil, in, &out)
	return ret(&out, err)
}

// DeleteServerFilter removes a server-wide filter (server admins).
func (c *Client) DeleteServerFilter(ctx context.Context, id string) error {
	return c.Do(ctx, http.MethodDelete, "/admin/filters/"+esc(id), nil, nil)
}

// ReportSpam reports a message request as spam and declines it.
func (c *Client) ReportSpam(ctx context.Context, id string) error {
	return c.Do(ctx, http.MethodPost, "/conversations/"+esc(id)+"/report-spam", nil, nil)
}

// BulkResult is what happened to one request of BulkRequests; Code and
// Detail say why when OK is false.
type BulkResult struct {
	ID     string `json:"id"`
	OK     bool   `json:"ok"`
	Code   string `json:"code,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// BulkRequests applies action ("accept", "decline", "delete" or "spam")
// to several message requests at once.
func (c *Client) BulkRequests(ctx context.Context, action string, ids []string) ([]BulkResult, error) {
	var out struct {
		Results []BulkResult `json:"results"`
	}
	_, err := c.call(ctx, http.MethodPost, "/conversations/requests/bulk", nil, map[string]any{"action": action, "ids": ids}, &out)
	return out.Results, err
}
