package httpapi

import (
	"net/http"

	"github.com/parleyhq/parley/app"
)

func (s *Server) completeLogin(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Challenge string `json:"challenge"`
		Code      string `json:"code"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	auth, err := s.app.CompleteLogin(r.Context(), in.Challenge, in.Code, s.clientAddress(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, auth)
}

func (s *Server) twoFactorStatus(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	st, err := s.app.TwoFactorStatus(r.Context(), actor)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, st)
}

func (s *Server) setupTwoFactor(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	var in struct {
		Password string `json:"password"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	setup, err := s.app.SetupTwoFactor(r.Context(), actor, in.Password)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, setup)
}

func (s *Server) confirmTwoFactor(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	var in struct {
		Code string `json:"code"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	codes, err := s.app.ConfirmTwoFactor(r.Context(), actor, in.Code)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, codes)
}

func (s *Server) disableTwoFactor(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	var in struct {
		Password string `json:"password"`
		Code     string `json:"code"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if err := s.app.DisableTwoFactor(r.Context(), actor, in.Password, in.Code); err != nil {
		return err
	}
	return noContent(w)
}

func (s *Server) regenerateRecoveryCodes(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	var in struct {
		Password string `json:"password"`
		Code     string `json:"code"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	codes, err := s.app.RegenerateRecoveryCodes(r.Context(), actor, in.Password, in.Code)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, codes)
}
