package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
)

// auditQuery reads the audit log filters of a request.
func auditQuery(r *http.Request) (app.AuditQuery, error) {
	v := r.URL.Query()
	q := app.AuditQuery{Actor: v.Get("actor"), Action: v.Get("action"), Target: v.Get("target")}
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		if s := v.Get(f.name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return q, parley.Invalid(f.name, "%s is an RFC 3339 time, e.g. 2026-01-02T15:04:05Z", f.name)
			}
			*f.dst = t
		}
	}
	if s := v.Get("cursor"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return q, parley.Invalid("cursor", "cursor is the next_cursor of the previous page")
		}
		q.After = n
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return q, parley.Invalid("limit", "limit is 1 to 1000")
		}
		q.Limit = n
	}
	return q, nil
}

// listAuditLog answers a page of the audit log, or with format=jsonl
// every matching row as JSON lines (an export).
func (s *Server) listAuditLog(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	q, err := auditQuery(r)
	if err != nil {
		return err
	}
	switch r.URL.Query().Get("format") {
	case "", "json":
		rows, next, err := s.app.AuditLogAs(r.Context(), actor, q)
		if err != nil {
			return err
		}
		page := app.Page[*app.AuditRecordView]{Items: rows}
		if next != 0 {
			page.NextCursor = strconv.FormatInt(next, 10)
		}
		return writeJSON(w, http.StatusOK, page)
	case "jsonl":
	default:
		return parley.Invalid("format", "format is json (a page) or jsonl (every matching row)")
	}
	q.Limit = 1000
	rows, next, err := s.app.AuditLogAs(r.Context(), actor, q)
	if err != nil {
		return err // nothing written yet: a proper problem
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Content-Disposition", `attachment; filename="parley-audit.jsonl"`)
	enc := json.NewEncoder(w)
	for {
		for _, row := range rows {
			if err := enc.Encode(row); err != nil {
				return nil // the client went away
			}
		}
		if next == 0 {
			return nil
		}
		q.After = next
		if rows, next, err = s.app.AuditLogAs(r.Context(), actor, q); err != nil {
			// Mid-stream: the status is sent; cut the export short so
			// that a verifier sees it incomplete.
			s.log.Error("audit log export", "err", err)
			panic(http.ErrAbortHandler)
		}
	}
}

func (s *Server) verifyAuditLog(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	v, err := s.app.VerifyAuditLogAs(r.Context(), actor)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}
