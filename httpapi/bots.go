package httpapi

import (
	"net/http"

	"github.com/parleyhq/parley/app"
)

func (s *Server) botRoutes() {
	s.auth("GET /api/v1/bots", func(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
		bs, err := s.app.Bots(r.Context(), actor)
		return reply(w, map[string]any{"items": bs}, err)
	})
	s.auth("POST /api/v1/bots", func(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
		var in app.BotInput
		if err := decode(w, r, &in); err != nil {
			return err
		}
		b, err := s.app.CreateBot(r.Context(), actor, in)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusCreated, b)
	})
	s.auth("PATCH /api/v1/bots/{handle}", func(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
		var in app.BotInput
		if err := decode(w, r, &in); err != nil {
			return err
		}
		b, err := s.app.UpdateBot(r.Context(), actor, r.PathValue("handle"), in)
		return reply(w, b, err)
	})
	s.auth("DELETE /api/v1/bots/{handle}", func(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
		if err := s.app.RetireBot(r.Context(), actor, r.PathValue("handle")); err != nil {
			return err
		}
		return noContent(w)
	})
	s.auth("GET /api/v1/bots/{handle}/tokens", func(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
		ts, err := s.app.BotTokens(r.Context(), actor, r.PathValue("handle"))
		return reply(w, map[string]any{"items": ts, "scopes": app.TokenScopes}, err)
	})
	s.auth("POST /api/v1/bots/{handle}/tokens", func(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
		var in app.TokenInput
		if err := decode(w, r, &in); err != nil {
			return err
		}
		t, err := s.app.CreateBotToken(r.Context(), actor, r.PathValue("handle"), in)
		if err != nil {
			return err
		}
		w.Header().Set("Cache-Control", "no-store")
		return writeJSON(w, http.StatusCreated, t)
	})
	s.auth("POST /api/v1/bots/{handle}/tokens/{id}/rotate", func(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
		t, err := s.app.RotateBotToken(r.Context(), actor, r.PathValue("handle"), r.PathValue("id"))
		if err != nil {
			return err
		}
		w.Header().Set("Cache-Control", "no-store")
		return writeJSON(w, http.StatusCreated, t)
	})
	s.auth("DELETE /api/v1/bots/{handle}/tokens/{id}", func(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
		if err := s.app.RevokeBotToken(r.Context(), actor, r.PathValue("handle"), r.PathValue("id")); err != nil {
			return err
		}
		return noContent(w)
	})
	s.auth("POST /api/v1/conversations/{id}/messages/{mid}/postback", func(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
		var in struct {
			Payload string `json:"payload"`
		}
		if err := decode(w, r, &in); err != nil {
			return err
		}
		if err := s.app.Postback(r.Context(), actor, r.PathValue("id"), r.PathValue("mid"), in.Payload); err != nil {
			return err
		}
		return noContent(w)
	})
	s.biz("POST /api/v1/business/{business}/rules/test", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		var in app.RuleTest
		if err := decode(w, r, &in); err != nil {
			return err
		}
		res, err := s.app.TestRules(r.Context(), ba, in)
		return reply(w, res, err)
	})
	s.biz("POST /api/v1/business/{business}/conversations/{id}/handover", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		var in struct {
			To     string `json:"to"`
			Reason string `json:"reason"`
		}
		if err := decode(w, r, &in); err != nil {
			return err
		}
		v, err := s.app.Handover(r.Context(), ba, r.PathValue("id"), in.To, in.Reason)
		return reply(w, v, err)
	})
}
