package httpapi

import (
	"net/http"

	"github.com/parleyhq/parley/app"
)

// Request triage, content filters and the reports queue (issue 9).

func (s *Server) reportSpam(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	if err := s.app.ReportSpam(r.Context(), actor, r.PathValue("id")); err != nil {
		return err
	}
	return noContent(w)
}

func (s *Server) bulkRequests(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	var in struct {
		Action string   `json:"action"`
		IDs    []string `json:"ids"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	res, err := s.app.BulkRequests(r.Context(), actor, in.Action, in.IDs)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"results": res})
}

// filters serves the actor's own filters (server false) or the server's.
func (s *Server) listFilters(server bool) authed {
	return func(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
		fs, err := s.app.Filters(r.Context(), actor, server)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, map[string]any{"items": fs})
	}
}

func (s *Server) addFilter(server bool) authed {
	return func(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
		var in app.FilterInput
		if err := decode(w, r, &in); err != nil {
			return err
		}
		f, err := s.app.AddFilter(r.Context(), actor, server, in)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusCreated, f)
	}
}

func (s *Server) deleteFilter(server bool) authed {
	return func(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
		if err := s.app.DeleteFilter(r.Context(), actor, server, r.PathValue("id")); err != nil {
			return err
		}
		return noContent(w)
	}
}

func (s *Server) listReports(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	status := q.Get("status")
	if !q.Has("status") {
		status = "open"
	}
	page, err := s.app.Reports(r.Context(), actor, status, q.Get("cursor"), int(limit))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page)
}

func (s *Server) resolveReport(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	var in app.ResolveInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	v, err := s.app.ResolveReport(r.Context(), actor, r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}
