package httpapi

import (
	"net/http"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
)

func (s *Server) createConversation(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	var in struct {
		Kind         string   `json:"kind"`
		With         string   `json:"with"`
		Title        string   `json:"title"`
		Members      []string `json:"members"`
		InvitePolicy string   `json:"invite_policy"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	switch parley.ConversationKind(in.Kind) {
	case parley.ConversationDirect:
		if in.With == "" {
			return parley.Invalid("with", "a direct conversation needs with: the other handle")
		}
		if in.Title != "" || len(in.Members) > 0 {
			return parley.Invalid("kind", "a direct conversation takes with, not title or members")
		}
		v, created, err := s.app.CreateDirect(r.Context(), actor, in.With)
		if err != nil {
			return err
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		return writeJSON(w, status, v)
	case parley.ConversationGroup:
		if in.With != "" {
			return parley.Invalid("with", "a group takes members, not with")
		}
		v, results, err := s.app.CreateGroup(r.Context(), actor, app.GroupInput{Title: in.Title, Members: in.Members, InvitePolicy: in.InvitePolicy})
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusCreated, struct {
			*app.ConversationView
			Added []app.AddResult `json:"added"`
		}{v, results})
	}
	return parley.Invalid("kind", "kind is direct or group")
}

func (s *Server) listConversations(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	var page *app.Page[*app.ConversationView]
	switch f := q.Get("filtered"); {
	case f == "true" && q.Get("folder") == string(parley.FolderRequests):
		page, err = s.app.Requests(r.Context(), actor, true, q.Get("cursor"), int(limit))
	case f != "" && f != "false":
		return parley.Invalid("filtered", "filtered is true (with folder=requests) or false")
	default:
		page, err = s.app.Conversations(r.Context(), actor, parley.Folder(q.Get("folder")), q.Get("cursor"), int(limit))
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page)
}

func (s *Server) getConversation(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	v, err := s.app.Conversation(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *Server) patchConversation(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	var in struct {
		Title        *string `json:"title"`
		InvitePolicy *string `json:"invite_policy"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	v, err := s.app.UpdateGroup(r.Context(), actor, r.PathValue("id"), app.GroupUpdate{Title: in.Title, InvitePolicy: in.InvitePolicy})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *Server) accept(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	v, err := s.app.Accept(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *Server) decline(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	if err := s.app.Decline(r.Context(), actor, r.PathValue("id")); err != nil {
		return err
	}
	return noContent(w)
}

func (s *Server) file(change func(*http.Request) (app.FolderChange, error)) authed {
	return func(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
		ch, err := change(r)
		if err != nil {
			return err
		}
		v, err := s.app.File(r.Context(), actor, r.PathValue("id"), ch)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, v)
	}
}

// muteForever is what an empty mute body means.
var muteForever = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)

// mute takes {"until": RFC 3339} or {"duration_seconds": n}; an empty body
// mutes for ever (muted_until 2200-01-01).
func (s *Server) mute(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	return s.file(func(r *http.Request) (app.FolderChange, error) {
		var in struct {
			Until           *time.Time `json:"until"`
			DurationSeconds *int64     `json:"duration_seconds"`
		}
		if r.ContentLength != 0 {
			if err := decode(w, r, &in); err != nil {
				return app.FolderChange{}, err
			}
		}
		until := muteForever
		switch {
		case in.Until != nil && in.DurationSeconds != nil:
			return app.FolderChange{}, parley.Invalid("until", "give until or duration_seconds, not both")
		case in.Until != nil:
			if in.Until.Before(time.Now()) || in.Until.After(muteForever) {
				return app.FolderChange{}, parley.Invalid("until", "until is between now and 2200-01-01")
			}
			until = *in.Until
		case in.DurationSeconds != nil:
			if *in.DurationSeconds <= 0 || *in.DurationSeconds > 10*365*24*3600 {
				return app.FolderChange{}, parley.Invalid("duration_seconds", "duration_seconds is between 1 and ten years")
			}
			until = time.Now().Add(time.Duration(*in.DurationSeconds) * time.Second)
		}
		return app.FolderChange{MutedUntil: &until}, nil
	})(w, r, actor)
}

func (s *Server) addMembers(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	var in struct {
		Members []string `json:"members"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	results, err := s.app.AddMembers(r.Context(), actor, r.PathValue("id"), in.Members)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, app.Page[app.AddResult]{Items: results})
}

func (s *Server) removeMember(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	if err := s.app.RemoveMember(r.Context(), actor, r.PathValue("id"), r.PathValue("handle")); err != nil {
		return err
	}
	return noContent(w)
}

func (s *Server) setRole(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	var in struct {
		Role string `json:"role"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if err := s.app.SetRole(r.Context(), actor, r.PathValue("id"), r.PathValue("handle"), parley.Role(in.Role)); err != nil {
		return err
	}
	return noContent(w)
}

func (s *Server) leave(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	if err := s.app.Leave(r.Context(), actor, r.PathValue("id")); err != nil {
		return err
	}
	return noContent(w)
}

func (s *Server) markRead(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	var in struct {
		Seq int64 `json:"seq"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	seq, err := s.app.MarkRead(r.Context(), actor, r.PathValue("id"), in.Seq)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]int64{"read_seq": seq})
}

// markDelivered moves the delivered marker: what the stream's
// "delivered" frame does, for clients on long-poll.
func (s *Server) markDelivered(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	var in struct {
		Seq int64 `json:"seq"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	seq, err := s.app.Delivered(r.Context(), actor, r.PathValue("id"), in.Seq)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]int64{"delivered_seq": seq})
}

// typingInterval is how often one user may announce "typing" in one
// conversation over HTTP; a repeat within it is answered and ignored.
const typingInterval = 2 * time.Second

// typingNow announces typing (or stopped typing): what the stream's
// "typing" frame does, for clients on long-poll.
func (s *Server) typingNow(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	var in struct {
		Typing *bool `json:"typing"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.Typing == nil {
		return parley.Invalid("typing", "typing is true or false")
	}
	conv := r.PathValue("id")
	allow := func() bool {
		// Checked after the membership, so that a stranger's repeat is
		// refused like the first; a stop always goes out and takes no
		// token.
		if !*in.Typing {
			return true
		}
		ok, _ := s.typing.Allow(r.Context(), actor.User.ID+"/"+conv)
		return ok
	}
	if err := s.app.TypingIf(r.Context(), actor, conv, *in.Typing, allow); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
