package httpapi

import (
	"net/http"

	"github.com/parleyhq/parley/app"
)

func (s *Server) send(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	var in app.SendBody
	if err := decode(w, r, &in); err != nil {
		return err
	}
	m, created, err := s.app.Send(r.Context(), actor, r.PathValue("id"), in.Input())
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return writeJSON(w, status, m)
}

func (s *Server) listMessages(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	var q app.HistoryQuery
	for name, dst := range map[string]**int64{"after_seq": &q.AfterSeq, "before_seq": &q.BeforeSeq} {
		if r.URL.Query().Has(name) {
			n, err := queryInt(r, name)
			if err != nil {
				return err
			}
			*dst = &n
		}
	}
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	q.Limit, q.Cursor = int(limit), r.URL.Query().Get("cursor")
	page, err := s.app.Messages(r.Context(), actor, r.PathValue("id"), q)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page)
}

func (s *Server) editMessage(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	var in struct {
		Text string `json:"text"`
		// ConfirmSensitive saves text the sensitive-data guard warned about.
		ConfirmSensitive bool `json:"confirm_sensitive"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	m, err := s.app.EditMessage(r.Context(), actor, r.PathValue("id"), r.PathValue("mid"), app.EditInput{Text: in.Text, ConfirmSensitive: in.ConfirmSensitive})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, m)
}

func (s *Server) unsend(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	if err := s.app.Unsend(r.Context(), actor, r.PathValue("id"), r.PathValue("mid")); err != nil {
		return err
	}
	return noContent(w)
}

// redact replaces a message's content by a placeholder (app.Redact).
func (s *Server) redact(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	m, err := s.app.Redact(r.Context(), actor, r.PathValue("id"), r.PathValue("mid"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, m)
}

func (s *Server) editHistory(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	edits, err := s.app.EditHistory(r.Context(), actor, r.PathValue("id"), r.PathValue("mid"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, app.Page[app.EditView]{Items: edits})
}

func (s *Server) react(on bool) authed {
	return func(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
		if err := s.app.React(r.Context(), actor, r.PathValue("id"), r.PathValue("mid"), r.PathValue("emoji"), on); err != nil {
			return err
		}
		return noContent(w)
	}
}
