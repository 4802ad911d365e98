package httpapi

import (
	"net/http"

	"github.com/parleyhq/parley/app"
)

// retentionRoutes are disappearing messages, a business's legal holds and
// its retention policy and runs.
func (s *Server) retentionRoutes() {
	const b = "/api/v1/business/{business}"
	s.biz("GET "+b+"/holds", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		hs, err := s.app.BusinessHolds(r.Context(), ba)
		return reply(w, map[string]any{"items": hs}, err)
	})
	s.biz("POST "+b+"/holds", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		var in app.HoldInput
		if err := decode(w, r, &in); err != nil {
			return err
		}
		h, err := s.app.PlaceBusinessHold(r.Context(), ba, in)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusCreated, h)
	})
	s.biz("DELETE "+b+"/holds/{hold}", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		h, err := s.app.ReleaseBusinessHold(r.Context(), ba, r.PathValue("hold"))
		return reply(w, h, err)
	})
	s.biz("GET "+b+"/retention", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		p, err := s.app.RetentionPolicy(r.Context(), ba)
		return reply(w, p, err)
	})
	s.biz("PUT "+b+"/retention", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		var in struct {
			MaxAgeDays          int `json:"max_age_days"`
			AfterResolutionDays int `json:"after_resolution_days"`
		}
		if err := decode(w, r, &in); err != nil {
			return err
		}
		p, err := s.app.SetRetentionPolicy(r.Context(), ba, in.MaxAgeDays, in.AfterResolutionDays)
		return reply(w, p, err)
	})
	s.biz("POST "+b+"/retention/jobs", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		var in struct {
			DryRun bool `json:"dry_run"`
		}
		if err := decode(w, r, &in); err != nil {
			return err
		}
		j, err := s.app.StartBusinessRetention(r.Context(), ba, in.DryRun)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusAccepted, j)
	})
	s.biz("GET "+b+"/retention/jobs/{job}", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		j, err := s.app.BusinessRetentionJob(r.Context(), ba, r.PathValue("job"))
		return reply(w, j, err)
	})
}

// adminRetentionRoutes are the server administrators' holds and
// server-wide retention runs (the admin CLI does the same).
func (s *Server) adminRetentionRoutes() {
	s.auth("GET /api/v1/admin/holds", func(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
		hs, err := s.app.HoldsAs(r.Context(), actor)
		return reply(w, map[string]any{"items": hs}, err)
	})
	s.auth("POST /api/v1/admin/holds", func(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
		var in app.HoldInput
		if err := decode(w, r, &in); err != nil {
			return err
		}
		h, err := s.app.PlaceHoldAs(r.Context(), actor, in)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusCreated, h)
	})
	s.auth("DELETE /api/v1/admin/holds/{hold}", func(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
		h, err := s.app.ReleaseHoldAs(r.Context(), actor, r.PathValue("hold"))
		return reply(w, h, err)
	})
	s.auth("POST /api/v1/admin/retention/jobs", func(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
		var in struct {
			DryRun bool `json:"dry_run"`
		}
		if err := decode(w, r, &in); err != nil {
			return err
		}
		j, err := s.app.StartRetentionAs(r.Context(), actor, in.DryRun)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusAccepted, j)
	})
	s.auth("GET /api/v1/admin/retention/jobs/{job}", func(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
		j, err := s.app.RetentionJobAs(r.Context(), actor, r.PathValue("job"))
		return reply(w, j, err)
	})
}

// setDisappearing sets a conversation's disappearing-messages timer.
func (s *Server) setDisappearing(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	var in struct {
		DisappearAfter int64 `json:"disappear_after"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	v, err := s.app.SetDisappearing(r.Context(), actor, r.PathValue("id"), in.DisappearAfter)
	return reply(w, v, err)
}
