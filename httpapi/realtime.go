package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/realtime"
)

// Streamer serves the WebSocket stream for an authenticated request
// (wsgateway.Gateway).
type Streamer interface {
	Stream(w http.ResponseWriter, r *http.Request, actor *app.Actor, since int64) error
}

// querySince reads ?since=: a position this server gave, nothing or 0 for
// the beginning of what the user may see, or "now" to start at the head
// without a replay (app.SinceHead).
func querySince(r *http.Request) (int64, error) {
	if r.URL.Query().Get("since") == "now" {
		return app.SinceHead, nil
	}
	n, err := queryInt(r, "since")
	if err != nil || n < 0 {
		return 0, parley.Invalid("since", "since is a position this server gave, or now")
	}
	return n, nil
}

// MaxSyncTimeout caps how long a long-poll sync waits.
const MaxSyncTimeout = 60 * time.Second

// sync is the long-poll: changes after since at once, or else the first
// changes within timeout seconds.
func (s *Server) sync(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	since, err := querySince(r)
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
	var ephemeral []*app.SyncEvent
	for {
		if dev.Expired() {
			// The token expired while the poll waited: nothing more
			// (its timer revokes the device, maybe a moment later).
			result = PollSessionEnded
			return parley.Errorf(parley.EUnauthorized, "the session ended")
		}
		page, err := s.app.Sync(r.Context(), actor, since, int(limit))
		if err != nil {
			return err
		}
		// Ephemeral changes (typing, presence) that reached this poll
		// while it waited come with the page, after the stored ones; they
		// have no position and do not move next.
		ephemeral = append(ephemeral, drainEphemeral(dev)...)
		page.Events = append(page.Events, ephemeral...)
		if len(page.Events) > 0 || page.Limited || ctx.Err() != nil {
			result = PollChanges
			if len(page.Events) == 0 && !page.Limited {
				result = PollTimeout
			}
			return answer(page)
		}
		again, e := waitPoll(ctx, dev)
		if e != nil {
			ephemeral = append(ephemeral, e)
		}
		if !again {
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

// drainEphemeral takes the ephemeral events queued for a long-poll.
func drainEphemeral(dev *realtime.Device) []*app.SyncEvent {
	var out []*app.SyncEvent
	for {
		select {
		case e := <-dev.Pushed():
			out = append(out, e)
		default:
			return out
		}
	}
}

// waitPoll blocks until the long-poll should sync again — a stored change
// arrived, or an ephemeral one, which it returns — or it is revoked or ctx
// ends; it reports whether to sync.
func waitPoll(ctx context.Context, dev *realtime.Device) (bool, *app.SyncEvent) {
	select {
	case <-dev.Wake():
		return true, nil
	case e := <-dev.Pushed():
		return true, e
	case <-dev.Revoked():
		return false, nil
	case <-ctx.Done():
		return false, nil
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
	since, err := querySince(r)
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

// presence lists who among the caller's direct peers is online now: what
// a new WebSocket stream gets as presence.snapshot, for clients that
// long-poll.
func (s *Server) presence(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	online, err := s.app.OnlinePeers(r.Context(), actor.User.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string][]string{"online": online})
}
