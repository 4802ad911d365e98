package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/parleyhq/parley/app"
)

// auditCmds read the server-wide audit log (docs/records.md): list a page
// with filters, export every matching row as JSON lines, verify the chain.
var auditCmds = []adminCmd{
	{group: "audit", verb: "list", summary: "list audit log rows, oldest first, with filters",
		setup: func(fs *flag.FlagSet) adminRun {
			q := auditFilters(fs)
			limit := fs.Int("limit", 100, "at most this many rows (1 to 1000)")
			after := fs.Int64("after", 0, "start after this row (the next_cursor of the previous page)")
			return func(ctx context.Context, a *app.App, _ []string, _ io.Reader) (any, string, error) {
				aq, err := q()
				if err != nil {
					return nil, "", err
				}
				if *limit < 1 || *limit > 1000 {
					return nil, "", usagef("-limit: %d is out of range; write 1 to 1000", *limit)
				}
				aq.Limit, aq.After = *limit, *after
				rows, next, err := a.AuditLog(ctx, aq)
				if err != nil {
					return nil, "", err
				}
				page := struct {
					Items      []*app.AuditRecordView `json:"items"`
					NextCursor int64                  `json:"next_cursor,omitempty"`
				}{Items: rows, NextCursor: next}
				var b strings.Builder
				tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "SEQ\tAT\tACTOR\tACTION\tTARGET\tFROM\tDETAILS")
				for _, r := range rows {
					target := strings.Trim(r.TargetType+":"+r.TargetID, ":")
					d, _ := json.Marshal(r.Details)
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Seq, r.At.Format(time.RFC3339), r.ActorID, r.Action, target, r.Address, d)
				}
				tw.Flush()
				if next != 0 {
					fmt.Fprintf(&b, "more: parley audit list -after %d\n", next)
				}
				return page, b.String(), nil
			}
		}},
	{group: "audit", verb: "export", summary: "print every matching audit log row as one JSON line each",
		setup: func(fs *flag.FlagSet) adminRun {
			q := auditFilters(fs)
			return func(ctx context.Context, a *app.App, _ []string, _ io.Reader) (any, string, error) {
				aq, err := q()
				if err != nil {
					return nil, "", err
				}
				var b strings.Builder
				enc := json.NewEncoder(&b)
				all := []*app.AuditRecordView{}
				for {
					rows, next, err := a.AuditLog(ctx, aq)
					if err != nil {
						return nil, "", err
					}
					for _, r := range rows {
						if err := enc.Encode(r); err != nil {
							return nil, "", err
						}
					}
					all = append(all, rows...)
					if next == 0 {
						return all, b.String(), nil
					}
					aq.After = next
				}
			}
		}},
	{group: "audit", verb: "verify", summary: "check the audit log's hash chain; names the first broken row",
		setup: func(fs *flag.FlagSet) adminRun {
			return func(ctx context.Context, a *app.App, _ []string, _ io.Reader) (any, string, error) {
				v, err := a.VerifyAuditLog(ctx)
				if err != nil {
					return nil, "", err
				}
				if !v.OK {
					return nil, "", fmt.Errorf("audit log broken at row %d: %s (%d rows before it verify, head %s)", v.BrokenSeq, v.Problem, v.Rows, v.Head)
				}
				return v, fmt.Sprintf("audit log verifies: %d rows, head %s\n", v.Rows, v.Head), nil
			}
		}},
}

// auditFilters registers the filter flags of audit list and export.
func auditFilters(fs *flag.FlagSet) func() (app.AuditQuery, error) {
	actor := fs.String("actor", "", "only rows by this actor: a handle, a user id or \"operator\"")
	action := fs.String("action", "", "only rows of this action, e.g. login.failure")
	target := fs.String("target", "", "only rows about this target id")
	since := fs.String("since", "", "only rows at or after this time (RFC 3339, or a duration ago like 24h)")
	until := fs.String("until", "", "only rows before this time (RFC 3339, or a duration ago)")
	return func() (app.AuditQuery, error) {
		q := app.AuditQuery{Actor: *actor, Action: *action, Target: *target}
		var err error
		if q.From, err = parseWhen("since", *since); err != nil {
			return q, err
		}
		q.To, err = parseWhen("until", *until)
		return q, err
	}
}

// parseWhen reads an RFC 3339 time or a duration before now.
func parseWhen(flagName, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return time.Now().Add(-d), nil
	}
	return time.Time{}, usagef("-%s: %q is neither an RFC 3339 time (2026-01-02T15:04:05Z) nor a duration (24h)", flagName, s)
}
