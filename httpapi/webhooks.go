package httpapi

import (
	"net/http"

	"github.com/parleyhq/parley/app"
)

// webhookRoutes are an account's webhooks (scope webhooks:write, reads
// included: the list shows where the account's events go).
func (s *Server) webhookRoutes() {
	s.auth("GET /api/v1/webhooks", func(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
		hs, err := s.app.Webhooks(r.Context(), actor)
		return reply(w, map[string]any{"items": hs}, err)
	})
	s.auth("POST /api/v1/webhooks", func(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
		var in app.WebhookInput
		if err := decode(w, r, &in); err != nil {
			return err
		}
		h, err := s.app.CreateWebhook(r.Context(), actor, in)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusCreated, h)
	})
	s.auth("GET /api/v1/webhooks/{id}", func(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
		h, err := s.app.Webhook(r.Context(), actor, r.PathValue("id"))
		return reply(w, h, err)
	})
	s.auth("PATCH /api/v1/webhooks/{id}", func(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
		var in app.WebhookChange
		if err := decode(w, r, &in); err != nil {
			return err
		}
		h, err := s.app.UpdateWebhook(r.Context(), actor, r.PathValue("id"), in)
		return reply(w, h, err)
	})
	s.auth("DELETE /api/v1/webhooks/{id}", func(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
		if err := s.app.DeleteWebhook(r.Context(), actor, r.PathValue("id")); err != nil {
			return err
		}
		return noContent(w)
	})
	s.auth("GET /api/v1/webhooks/{id}/deliveries", func(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
		limit, err := queryInt(r, "limit")
		if err != nil {
			return err
		}
		q := r.URL.Query()
		p, err := s.app.WebhookDeliveries(r.Context(), actor, r.PathValue("id"),
			app.DeliveryQuery{Status: q.Get("status"), Cursor: q.Get("cursor"), Limit: int(limit)})
		return reply(w, p, err)
	})
	s.auth("POST /api/v1/webhooks/{id}/deliveries/{did}/replay", func(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
		d, err := s.app.ReplayDelivery(r.Context(), actor, r.PathValue("id"), r.PathValue("did"))
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusAccepted, d)
	})
	s.auth("POST /api/v1/webhooks/{id}/test", func(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
		d, err := s.app.TestWebhook(r.Context(), actor, r.PathValue("id"))
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusAccepted, d)
	})
}
