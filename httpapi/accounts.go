package httpapi

import (
	"net/http"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
)

func (s *Server) register(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Handle      string `json:"handle"`
		Password    string `json:"password"`
		DisplayName string `json:"display_name"`
		Kind        string `json:"kind"`
		Device      string `json:"device"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	auth, err := s.app.Register(r.Context(), app.Registration{Handle: in.Handle, Password: in.Password, DisplayName: in.DisplayName, Kind: parley.UserKind(in.Kind), Device: in.Device, Address: s.clientAddress(r)})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, auth)
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Handle   string `json:"handle"`
		Password string `json:"password"`
		Device   string `json:"device"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	auth, err := s.app.Login(r.Context(), in.Handle, in.Password, in.Device, s.clientAddress(r))
	if err != nil {
		return err
	}
	if auth.SecondFactor != nil {
		// Not signed in yet: the code goes to POST /api/v1/sessions/second-factor.
		return writeJSON(w, http.StatusOK, map[string]any{"second_factor": auth.SecondFactor})
	}
	return writeJSON(w, http.StatusCreated, auth)
}

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	ss, err := s.app.Sessions(r.Context(), actor)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, app.Page[app.SessionView]{Items: ss})
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	if err := s.app.Logout(r.Context(), actor); err != nil {
		return err
	}
	return noContent(w)
}

func (s *Server) logoutEverywhere(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	if _, err := s.app.LogoutEverywhere(r.Context(), actor); err != nil {
		return err
	}
	return noContent(w)
}

func (s *Server) revokeSession(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	if err := s.app.RevokeSession(r.Context(), actor, r.PathValue("id")); err != nil {
		return err
	}
	return noContent(w)
}

func (s *Server) getMe(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	return writeJSON(w, http.StatusOK, s.app.Me(actor))
}

// deleteMe deletes the caller's account (app.DeleteAccount) and answers
// what happened to its content.
func (s *Server) deleteMe(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	var in app.DeleteAccountInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	res, err := s.app.DeleteAccount(r.Context(), actor, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

func (s *Server) patchMe(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	var in struct {
		DisplayName  *string `json:"display_name"`
		Bio          *string `json:"bio"`
		DMPolicy     *string `json:"dm_policy"`
		ShowPresence *bool   `json:"show_presence"`
		ReadReceipts *bool   `json:"read_receipts"`
		WarnPhone    *bool   `json:"warn_phone"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	p := app.ProfileUpdate{DisplayName: in.DisplayName, Bio: in.Bio, ShowPresence: in.ShowPresence, ReadReceipts: in.ReadReceipts, WarnPhone: in.WarnPhone}
	if in.DMPolicy != nil {
		p.DMPolicy = ptr(parley.DMPolicy(*in.DMPolicy))
	}
	me, err := s.app.UpdateProfile(r.Context(), actor, p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, me)
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	var in struct {
		Current string `json:"current_password"`
		New     string `json:"new_password"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if err := s.app.ChangePassword(r.Context(), actor, in.Current, in.New); err != nil {
		return err
	}
	return noContent(w)
}

func (s *Server) listBlocks(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	us, err := s.app.Blocked(r.Context(), actor)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, app.Page[*app.UserSummary]{Items: us})
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	p, err := s.app.Profile(r.Context(), actor, r.PathValue("handle"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

func (s *Server) follow(on bool) authed {
	return func(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
		if err := s.app.Follow(r.Context(), actor, r.PathValue("handle"), on); err != nil {
			return err
		}
		return noContent(w)
	}
}

func (s *Server) block(on bool) authed {
	return func(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
		if err := s.app.Block(r.Context(), actor, r.PathValue("handle"), on); err != nil {
			return err
		}
		return noContent(w)
	}
}

func (s *Server) report(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	var in struct {
		Reason    string `json:"reason"`
		Detail    string `json:"detail"`
		MessageID string `json:"message_id"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	id, err := s.app.Report(r.Context(), actor, r.PathValue("handle"), app.ReportInput{Reason: in.Reason, Detail: in.Detail, MessageID: in.MessageID})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]string{"id": id})
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	ts, err := s.app.Tokens(r.Context(), actor)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": ts, "scopes": app.TokenScopes})
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	var in app.TokenInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	t, err := s.app.CreateToken(r.Context(), actor, in)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusCreated, t)
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	if err := s.app.RevokeToken(r.Context(), actor, r.PathValue("id")); err != nil {
		return err
	}
	return noContent(w)
}
