package client

import (
	"context"
	"net/http"
	"net/url"
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

// Report is a report in the server's moderation queue.
type Report struct {
	ID string `json:"id"`
	// Reason is a report reason, or "filter" for a flagging server filter.
	Reason    string    `json:"reason"`
	Detail    string    `json:"detail,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// Status is "open" or "resolved"; Resolution dismiss, suspend or ban.
	Status         string            `json:"status"`
	Resolution     string            `json:"resolution,omitempty"`
	ResolvedBy     *UserSummary      `json:"resolved_by,omitempty"`
	ResolvedAt     *time.Time        `json:"resolved_at,omitempty"`
	Note           string            `json:"note,omitempty"`
	Reporter       *UserSummary      `json:"reporter,omitempty"`
	Target         Account           `json:"target"`
	ConversationID string            `json:"conversation_id,omitempty"`
	Context        []ReportedMessage `json:"context,omitempty"`
}

// Account is an account as the server's administrators see it.
type Account struct {
	ID          string    `json:"id"`
	Handle      string    `json:"handle"`
	DisplayName string    `json:"display_name"`
	Kind        string    `json:"kind"`
	Suspended   bool      `json:"suspended"`
	Banned      bool      `json:"banned,omitempty"`
	ServerAdmin bool      `json:"server_admin,omitempty"`
	OwnerID     string    `json:"owner_id,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

// ReportedMessage is a message around a report; Reported marks the one
// it is about.
type ReportedMessage struct {
	ID        string      `json:"id"`
	Seq       int64       `json:"seq"`
	Sender    UserSummary `json:"sender"`
	Kind      string      `json:"kind"`
	Text      string      `json:"text"`
	CreatedAt time.Time   `json:"created_at"`
	Deleted   bool        `json:"deleted,omitempty"`
	Reported  bool        `json:"reported,omitempty"`
}

// ResolveRequest resolves a report.
type ResolveRequest struct {
	// Action is "dismiss", "suspend" or "ban".
	Action string `json:"action"`
	// HideMessages, with ban, hides the account's messages everywhere.
	HideMessages bool   `json:"hide_messages,omitempty"`
	Note         string `json:"note,omitempty"`
}

// Reports lists the moderation queue (server admins); status is "open",
// "resolved" or "" for both.
func (c *Client) Reports(ctx context.Context, status, cursor string, limit int) (*Page[Report], error) {
	v := url.Values{}
	setString(v, "status", status)
	setString(v, "cursor", cursor)
	setInt(v, "limit", int64(limit))
	var out Page[Report]
	_, err := c.call(ctx, http.MethodGet, "/admin/reports", v, nil, &out)
	return ret(&out, err)
}

// ResolveReport resolves a report (server admins).
func (c *Client) ResolveReport(ctx context.Context, id string, in ResolveRequest) (*Report, error) {
	var out Report
	_, err := c.call(ctx, http.MethodPost, "/admin/reports/"+esc(id)+"/resolve", nil, in, &out)
	return ret(&out, err)
}
