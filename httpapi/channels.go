package httpapi

import (
	"errors"
	"io"
	"net/http"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/channel"
)

// maxHookBody caps a platform webhook body: Meta batches many events in
// one call, each a few hundred bytes.
const maxHookBody = 2 << 20

// channelRoutes are a business's channels (Messenger, Instagram,
// WhatsApp) and the platforms' webhook.
func (s *Server) channelRoutes() {
	const b = "/api/v1/business/{business}"
	s.biz("GET "+b+"/channels", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		cs, err := s.app.Channels(r.Context(), ba)
		return reply(w, map[string]any{"items": cs}, err)
	})
	s.biz("POST "+b+"/channels", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		var in app.ChannelInput
		if err := decode(w, r, &in); err != nil {
			return err
		}
		c, err := s.app.ConnectChannel(r.Context(), ba, in)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusCreated, c)
	})
	s.biz("GET "+b+"/channels/{channel}", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		c, err := s.app.Channel(r.Context(), ba, r.PathValue("channel"))
		return reply(w, c, err)
	})
	s.biz("PATCH "+b+"/channels/{channel}", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		var in app.ChannelChange
		if err := decode(w, r, &in); err != nil {
			return err
		}
		c, err := s.app.UpdateChannel(r.Context(), ba, r.PathValue("channel"), in)
		return reply(w, c, err)
	})
	s.biz("DELETE "+b+"/channels/{channel}", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		if err := s.app.DisconnectChannel(r.Context(), ba, r.PathValue("channel")); err != nil {
			return err
		}
		return noContent(w)
	})
	s.biz("GET "+b+"/conversations/{id}/send-modes", func(w http.ResponseWriter, r *http.Request, ba *app.BusinessActor) error {
		v, err := s.app.SendModes(r.Context(), ba, r.PathValue("id"))
		return reply(w, v, err)
	})

	// The platforms' webhook: no bearer token; the signature of the raw
	// body with the channel's app secret is the authentication.
	s.handle("GET /hooks/meta/{channel}", func(w http.ResponseWriter, r *http.Request) error {
		q := r.URL.Query()
		challenge, err := s.app.VerifyChannelWebhook(r.Context(), r.PathValue("channel"), q.Get("hub.mode"), q.Get("hub.verify_token"), q.Get("hub.challenge"))
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, err = io.WriteString(w, challenge)
		return err
	})
	// A file of an outbound message, fetched by the platform through the
	// signed link the Send API call gave it (app.OpenChannelMedia).
	s.handle("GET /hooks/meta/{channel}/media/{media}", func(w http.ResponseWriter, r *http.Request) error {
		q := r.URL.Query()
		f, err := s.app.OpenChannelMedia(r.Context(), r.PathValue("channel"), r.PathValue("media"), q.Get("exp"), q.Get("sig"))
		if err != nil {
			return err
		}
		defer f.Close()
		serveFile(w, r, f)
		return nil
	})
	s.handle("POST /hooks/meta/{channel}", func(w http.ResponseWriter, r *http.Request) error {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxHookBody))
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return parley.Errorf(parley.ETooLarge, "a webhook body has at most %d bytes", maxHookBody)
		} else if err != nil {
			return parley.Errorf(parley.EMalformed, "the body could not be read")
		}
		n, err := s.app.ChannelWebhook(r.Context(), r.PathValue("channel"), body, r.Header.Get(channel.SignatureHeader))
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, map[string]int{"applied": n})
	})
}
