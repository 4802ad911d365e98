package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// AuditEntry is one row of a business's audit: what happened to a
// conversation or the team, and who did it.
type AuditEntry struct {
	// ID ascends; pass the last one as after for the next page.
	ID             int64        `json:"id"`
	ConversationID string       `json:"conversation_id,omitempty"`
	Actor          *UserSummary `json:"actor"`
	// Action is e.g. assigned, status, priority, labels, note, opened,
	// first_response, resolved, csat, rule.
	Action string `json:"action"`
	// Agent is the agent the row is about (the assignee, the responder).
	Agent  *UserSummary `json:"agent,omitempty"`
	TeamID string       `json:"team_id,omitempty"`
	// Value is milliseconds for first_response and resolved, the rating
	// for csat.
	Value int64           `json:"value,omitempty"`
	Data  json.RawMessage `json:"data,omitempty"`
	At    time.Time       `json:"at"`
}

// Audit lists the business's audit log, oldest first, after the row id
// after (0: from the start); limit 0 means the server's default (admins).
func (b *Business) Audit(ctx context.Context, after int64, limit int) ([]AuditEntry, error) {
	return b.audit(ctx, b.path("/audit"), after, limit)
}

// ConversationAudit lists what happened to one conversation, oldest
// first (any team member).
func (b *Business) ConversationAudit(ctx context.Context, conversationID string, after int64, limit int) ([]AuditEntry, error) {
	return b.audit(ctx, b.conv(conversationID)+"/audit", after, limit)
}

func (b *Business) audit(ctx context.Context, path string, after int64, limit int) ([]AuditEntry, error) {
	q := url.Values{}
	if after > 0 {
		q.Set("after", strconv.FormatInt(after, 10))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out Page[AuditEntry]
	_, err := b.c.call(ctx, http.MethodGet, path, q, nil, &out)
	return out.Items, err
}

// ReportQuery selects an inbox report's period and buckets. Zero values
// take the server's defaults: the 7 days before To, To now, daily
// buckets, UTC.
type ReportQuery struct {
	From, To time.Time
	// Bucket is "hour" or "day".
	Bucket string
	// TimeZone is the IANA zone of the bucket boundaries.
	TimeZone string
}

func (q ReportQuery) values(format string) url.Values {
	v := url.Values{}
	if !q.From.IsZero() {
		v.Set("from", q.From.Format(time.RFC3339))
	}
	if !q.To.IsZero() {
		v.Set("to", q.To.Format(time.RFC3339))
	}
	if q.Bucket != "" {
		v.Set("bucket", q.Bucket)
	}
	if q.TimeZone != "" {
		v.Set("tz", q.TimeZone)
	}
	if format != "" {
		v.Set("format", format)
	}
	return v
}

// InboxReport is a business's inbox activity over [From, To), computed
// from its audit log.
type InboxReport struct {
	From     time.Time      `json:"from"`
	To       time.Time      `json:"to"`
	Bucket   string         `json:"bucket"`
	TimeZone string         `json:"time_zone"`
	Volume   []VolumeBucket `json:"volume"`
	Totals   ReportRow      `json:"totals"`
	Agents   []ReportRow    `json:"agents"`
	Teams    []ReportRow    `json:"teams"`
	// OverdueNow counts conversations past an SLA target now.
	OverdueNow    int    `json:"overdue_now"`
	CSATHistogram [5]int `json:"csat_histogram"`
}

// VolumeBucket counts conversations opened and resolved in one hour or day.
type VolumeBucket struct {
	Start    time.Time `json:"start"`
	Opened   int       `json:"opened"`
	Resolved int       `json:"resolved"`
}

// ReportRow holds the measures of the whole business, an agent or a
// team. Times are milliseconds; percentiles are nearest-rank.
type ReportRow struct {
	Agent              *UserSummary `json:"agent,omitempty"`
	TeamID             string       `json:"team_id,omitempty"`
	TeamName           string       `json:"team_name,omitempty"`
	Opened             int          `json:"opened"`
	Resolved           int          `json:"resolved"`
	FirstResponses     int          `json:"first_responses"`
	FirstResponseP50   int64        `json:"first_response_p50_ms"`
	FirstResponseP90   int64        `json:"first_response_p90_ms"`
	ResolutionP50      int64        `json:"resolution_p50_ms"`
	ResolutionP90      int64        `json:"resolution_p90_ms"`
	FirstResponseBreak int          `json:"first_response_breaches"`
	ResolutionBreaches int          `json:"resolution_breaches"`
	CSATCount          int          `json:"csat_count"`
	CSATAverage        float64      `json:"csat_average"`
	CSATHistogram      [5]int       `json:"csat_histogram"`
	Assigned           int          `json:"assigned"`
}

// Report returns the business's inbox report (admins).
func (b *Business) Report(ctx context.Context, q ReportQuery) (*InboxReport, error) {
	var out InboxReport
	_, err := b.c.call(ctx, http.MethodGet, b.path("/reports"), q.values(""), nil, &out)
	return ret(&out, err)
}

// ReportCSV opens the same report as a CSV file (one row per agent, team
// and the totals, times in seconds); the caller closes its Body.
func (b *Business) ReportCSV(ctx context.Context, q ReportQuery) (*Download, error) {
	p := b.path("/reports")
	return b.c.downloadURL(ctx, b.c.endpoint(p, q.values("csv")), p)
}
