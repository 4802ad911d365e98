package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// AuditRecord is one row of the server-wide audit log (docs/records.md
// defines the fields and the hash chain).
type AuditRecord struct {
	Seq int64     `json:"seq"`
	At  time.Time `json:"at"`
	// ActorID is a user id, "operator" (the admin CLI) or empty
	// (anonymous).
	ActorID string `json:"actor_id"`
	// Action is e.g. "login.failure".
	Action     string            `json:"action"`
	TargetType string            `json:"target_type"`
	TargetID   string            `json:"target_id"`
	Details    map[string]string `json:"details"`
	Address    string            `json:"address"`
	UserAgent  string            `json:"user_agent"`
	// PrevHash and Hash are hex SHA-256: each row's Hash covers the
	// previous row's.
	PrevHash string `json:"prev_hash"`
	Hash     string `json:"hash"`
}

// AuditQuery filters the audit log; zero fields do not filter.
type AuditQuery struct {
	// Actor is a handle, a user id or "operator".
	Actor  string
	Action string
	Target string
	// From is inclusive, To exclusive.
	From, To time.Time
	// Cursor is the NextCursor of the previous page.
	Cursor string
	// Limit is 1 to 1000 (0: 1000).
	Limit int
}

func (q AuditQuery) values() url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("actor", q.Actor)
	set("action", q.Action)
	set("target", q.Target)
	set("cursor", q.Cursor)
	if !q.From.IsZero() {
		v.Set("from", q.From.Format(time.RFC3339Nano))
	}
	if !q.To.IsZero() {
		v.Set("to", q.To.Format(time.RFC3339Nano))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	return v
}

// AuditVerification is the outcome of checking the audit log's hash chain.
type AuditVerification struct {
	// Rows counts the rows that verify; Head is the last one's hash.
	Rows int64  `json:"rows"`
	Head string `json:"head"`
	OK   bool   `json:"ok"`
	// BrokenSeq is the first row that does not verify, Problem why.
	BrokenSeq int64  `json:"broken_seq,omitempty"`
	Problem   string `json:"problem,omitempty"`
}

// AuditLog returns a page of the server-wide audit log, oldest first
// (server admins, with a session token).
func (c *Client) AuditLog(ctx context.Context, q AuditQuery) (*Page[AuditRecord], error) {
	var out Page[AuditRecord]
	_, err := c.call(ctx, http.MethodGet, "/admin/audit-log", q.values(), nil, &out)
	return ret(&out, err)
}

// ExportAuditLog opens every matching row as JSON lines (one AuditRecord
// per line; Cursor and Limit are ignored); the caller closes its Body.
// An unfiltered export holds the whole chain, for `parley audit verify`.
func (c *Client) ExportAuditLog(ctx context.Context, q AuditQuery) (*Download, error) {
	q.Cursor, q.Limit = "", 0
	v := q.values()
	v.Set("format", "jsonl")
	return c.downloadURL(ctx, c.endpoint("/admin/audit-log", v), "/admin/audit-log")
}

// VerifyAuditLog has the server walk the whole audit log and check its
// hash chain (server admins).
func (c *Client) VerifyAuditLog(ctx context.Context) (*AuditVerification, error) {
	var out AuditVerification
	_, err := c.call(ctx, http.MethodGet, "/admin/audit-log/verify", nil, nil, &out)
	return ret(&out, err)
}
