package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
)

// Streamer serves the WebSocket stream for an authenticated request
// (wsgateway.Gateway).
type Streamer interface {
	Stream(w http.ResponseWriter, r *http.Request, actor *app.Actor, since int64) error
}

// MaxSyncTimeout caps how long a long-poll sync waits.
const MaxSyncTimeout = 60 * time.Second

// sync is the long-poll: changes after since at once, or else the first
// changes within timeout seconds.
func (s *Server) sync(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	since, err := queryInt(r, "since")
	if err != nil {
		return err
	}
	timeout, err := queryInt(r, "timeout")
	if err != nil {
		return err
	}
	if timeout < 0 || time.Duration(timeout)*time.Second > MaxSyncTimeout {
		return parley.Invalid("timeout", "timeout is 0 to %d seconds", int(MaxSyncTimeout.Seconds()))
	}
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	answer := func(page *app.SyncPage) error {
		s.obs.Synced(len(page.Events))
		return writeJSON(w, http.StatusOK, page)
	}
	if s.hub == nil || timeout == 0 {
		page, err := s.app.Sync(r.Context(), actor, since, int(limit))
		if err != nil {
			return err
		}
		return answer(page)
	}
	// Register first, so that a change committed between the first query
	// and the wait still wakes us.
	dev := s.hub.Register(actor, nil, true)
	defer s.hub.Unregister(dev)
	result := PollError
	s.obs.PollStarted()
	defer func() { s.obs.PollEnded(result) }()
	ctx, cancel := context.WithTimeout(r.Context(), time.Duration(timeout)*time.Second)
	defer cancel()
	for {
		page, err := s.app.Sync(r.Context(), actor, since, int(limit))
		if err != nil {
			return err
		}
		if len(page.Events) > 0 || page.Limited || ctx.Err() != nil {
			result = PollChanges
			if len(page.Events) == 0 && !page.Limited {
				result = PollTimeout
			}
			return answer(page)
		}
		if !dev.Wait(ctx) {
			select {
			case <-dev.Revoked():
				if dev.ShuttingDown() {
					result = PollShutdown
					return answer(page) // retry elsewhere or later
				}
				result = PollSessionEnded
				return parley.Errorf(parley.EUnauthorized, "the session ended")
			default:
			}
			if r.Context().Err() != nil {
				result = PollClientGone
				return nil // the client went away
			}
			result = PollTimeout
			return answer(page) // timeout: nothing new
		}
	}
}

// issueTicket gives a browser a single-use ticket to open the stream.
func (s *Server) issueTicket(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	if s.hub == nil {
		return parley.Errorf(parley.ENotFound, "streaming is not enabled")
	}
	// The body is optional; one that is sent must be an empty object.
	if r.ContentLength != 0 {
		if err := decode(w, r, &struct{}{}); err != nil {
			return err
		}
	}
	t, exp, err := s.hub.IssueTicket(actor)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"ticket": t, "expires_at": exp})
}

// stream authenticates (bearer token or ticket) and hands over to the
// Streamer.
func (s *Server) stream(w http.ResponseWriter, r *http.Request) error {
	if s.streamer == nil || s.hub == nil {
		return parley.Errorf(parley.ENotFound, "streaming is not enabled")
	}
	since, err := queryInt(r, "since")
	if err != nil {
		return err
	}
	var actor *app.Actor
	if t := r.URL.Query().Get("ticket"); t != "" && !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		a, ok := s.hub.RedeemTicket(t)
		if !ok {
			return parley.Errorf(parley.EUnauthorized, "the ticket is unknown, used or expired")
		}
		actor = a
	} else if actor, err = s.authenticate(r); err != nil {
		return err
	}
	// Like sync, the stream needs the read scope (found by the
	// authorization matrix: a messages:write-only token could open one).
	if err := actor.RequireScope(app.ScopeRead); err != nil {
		return err
	}
	return s.streamer.Stream(w, r, actor, since)
}
