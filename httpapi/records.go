package httpapi

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"net/http"
	"os"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/records"
)

// MaxVerifyBytes caps an export uploaded to be verified.
const MaxVerifyBytes = 1 << 30

// startExport queues an export: {scope, conversation_id, business}.
func (s *Server) startExport(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	var in struct {
		Scope          string `json:"scope"`
		ConversationID string `json:"conversation_id"`
		Business       string `json:"business"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	v, err := s.app.StartExport(r.Context(), actor, app.ExportInput{Scope: in.Scope, ConversationID: in.ConversationID, Business: in.Business})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, v)
}

func (s *Server) listExports(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	list, err := s.app.Exports(r.Context(), actor)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": list})
}

func (s *Server) getExport(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	v, err := s.app.Export(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

// downloadExport serves a finished export to whoever holds its signed,
// unexpired link (the owner got it; a browser follows it without a
// bearer token).
func (s *Server) downloadExport(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f, v, err := s.app.OpenExport(r.Context(), r.PathValue("id"), q.Get("expires"), q.Get("sig"))
	if err != nil {
		return err
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", "application/zip")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": "parley-export-" + v.ID + ".zip"}))
	http.ServeContent(w, r, "", f.ModTime(), f)
	return nil
}

// verifyExport checks an uploaded export (the ZIP as the body) against
// this server's key and reports where it breaks.
func (s *Server) verifyExport(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	tmp, err := os.CreateTemp("", "parley-verify-*.zip")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	n, err := io.Copy(tmp, http.MaxBytesReader(w, r.Body, MaxVerifyBytes))
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return parley.Errorf(parley.ETooLarge, "an export to verify has at most %d bytes", MaxVerifyBytes)
	} else if err != nil {
		return parley.Errorf(parley.EMalformed, "the body could not be read")
	}
	if n == 0 {
		return parley.Invalid("file", "send the export's ZIP as the body")
	}
	rep, err := s.app.VerifyExport(tmp, n)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rep)
}

// recordsKey publishes the public key that signs exports.
func (s *Server) recordsKey(w http.ResponseWriter, r *http.Request) error {
	pub := s.app.RecordsKey()
	if pub == nil {
		return parley.Errorf(parley.ENotFound, "this server does not sign exports")
	}
	return writeJSON(w, http.StatusOK, map[string]string{"algorithm": "ed25519",
		"public_key": base64.StdEncoding.EncodeToString(pub), "fingerprint": records.Fingerprint(ed25519.PublicKey(pub))})
}
