package app

import (
	"context"
	"slices"

	"github.com/parleyhq/parley"
)

// userByHandle finds a user by a handle as typed.
func userByHandle(tx parley.Tx, handle string) (*parley.User, error) {
	h, err := lookupHandle(handle)
	if err != nil {
		return nil, err
	}
	u, err := tx.UserByHandle(h)
	if accountGone(u) {
		return nil, parley.Errorf(parley.ENotFound, "user not found")
	}
	return u, err
}

// Profile returns another user as the actor may see them. A block in
// either direction leaves nothing but the handle.
func (a *App) Profile(ctx context.Context, actor *Actor, handle string) (*Profile, error) {
	var p *Profile
	err := a.view(ctx, func(tx parley.Tx) error {
		u, err := userByHandle(tx, handle)
		if err != nil {
			return err
		}
		p = &Profile{Handle: u.Handle}
		if u.ID == actor.User.ID {
			p.ID, p.DisplayName, p.Kind, p.Bio, p.CreatedAt = u.ID, u.DisplayName, string(u.Kind), u.Bio, &u.CreatedAt
			followers, following, err := tx.FollowCounts(u.ID)
			p.Followers, p.Following = &followers, &following
			return err
		}
		if p.BlockedByMe, err = tx.IsBlocked(actor.User.ID, u.ID); err != nil {
			return err
		}
		blockedMe, err := tx.IsBlocked(u.ID, actor.User.ID)
		if err != nil {
			return err
		}
		if p.BlockedByMe || blockedMe {
			return nil
		}
		p.ID, p.DisplayName, p.Kind, p.Bio, p.CreatedAt = u.ID, u.DisplayName, string(u.Kind), u.Bio, &u.CreatedAt
		followers, following, err := tx.FollowCounts(u.ID)
		if err != nil {
			return err
		}
		p.Followers, p.Following = &followers, &following
		if p.FollowedByMe, err = tx.IsFollowing(actor.User.ID, u.ID); err != nil {
			return err
		}
		if p.FollowsMe, err = tx.IsFollowing(u.ID, actor.User.ID); err != nil {
			return err
		}
		c := Contact{RecipientKind: u.Kind, RecipientPolicy: u.DMPolicy, RecipientFollowsSender: p.FollowsMe}
		p.CanMessage = string(RouteDM(c))
		if u.Kind == parley.KindBusiness {
			st, err := loadSettings(tx, u.ID)
			if err != nil {
				return err
			}
			p.IceBreakers = st.IceBreakers
		}
		return nil
	})
	return p, err
}

// Follow makes the actor follow handle. Following someone who blocks you,
// or whom you block, is refused.
func (a *App) Follow(ctx context.Context, actor *Actor, handle string, on bool) error {
	return a.update(ctx, func(w *writer) error {
		u, err := userByHandle(w, handle)
		if err != nil {
			return err
		}
		if u.ID == actor.User.ID {
			return parley.Invalid("handle", "you cannot follow yourself")
		}
		if on {
			if blocked, err := blockedEither(w, actor.User.ID, u.ID); err != nil {
				return err
			} else if blocked {
				return parley.Errorf(parley.EForbidden, "you can't follow this account")
			}
		}
		_, err = w.SetFollow(actor.User.ID, u.ID, on, w.now)
		return err
	})
}

// Block makes the actor block (on) or unblock handle. Blocking also drops
// follows both ways and ends a pending request between the two.
//
// In real time: the actor's devices get a private conversation.updated
// for the direct conversation between the two (data.blocked), so that
// every device shows the block at once; the blocked side is not told.
// Neither sees the other's presence any more, so when they were direct
// peers who saw it, each is shown the other going offline rather than
// online for good — only then: to anyone else a presence event would
// tell of the block.
func (a *App) Block(ctx context.Context, actor *Actor, handle string, on bool) error {
	// offline holds, for each side whose presence the other saw (direct
	// peers, shown, online), the event to send the other.
	var offline []*parley.Event
	err := a.update(ctx, func(w *writer) error {
		offline = nil
		u, err := userByHandle(w, handle)
		if err != nil {
			return err
		}
		if u.ID == actor.User.ID {
			return parley.Invalid("handle", "you cannot block yourself")
		}
		changed, err := w.SetBlock(actor.User.ID, u.ID, on, w.now)
		if err != nil || !changed {
			return err
		}
		if on {
			if _, err := w.SetFollow(actor.User.ID, u.ID, false, w.now); err != nil {
				return err
			}
			if _, err := w.SetFollow(u.ID, actor.User.ID, false, w.now); err != nil {
				return err
			}
		}
		c, err := w.DirectConversation(directKey(actor.User.ID, u.ID))
		if parley.IsNotFound(err) {
			return nil
		} else if err != nil {
			return err
		}
		if err := w.event(&parley.Event{Type: parley.EventConversationUpdated, ConversationID: c.ID, UserID: actor.User.ID,
			ActorID: actor.User.ID, Data: mustJSON(map[string]bool{"blocked": on})}); err != nil {
			return err
		}
		if !on {
			return nil
		}
		m, err := w.Member(c.ID, actor.User.ID)
		if err != nil {
			return err
		}
		them, err := w.Member(c.ID, u.ID)
		if err != nil && !parley.IsNotFound(err) {
			return err
		}
		if them != nil && m.Status == parley.StatusActive && them.Status == parley.StatusActive {
			me, err := w.UserByID(actor.User.ID)
			if err != nil {
				return err
			}
			gone := mustJSON(map[string]bool{"online": false})
			for _, p := range [][2]*parley.User{{me, u}, {u, me}} {
				if p[0].ShowPresence && a.isOnline(p[0].ID) {
					offline = append(offline, &parley.Event{Type: parley.EventPresence, ActorID: p[0].ID, Data: gone,
						CreatedAt: w.now, Audience: []string{p[1].ID}})
				}
			}
		}
		if m.Status == parley.StatusPending {
			return setStatus(w, m, parley.StatusDeclined)
		}
		return nil
	})
	if err == nil && len(offline) > 0 {
		a.notify(offline)
	}
	return err
}

// Blocked lists the accounts the actor blocks.
func (a *App) Blocked(ctx context.Context, actor *Actor) ([]*UserSummary, error) {
	var out []*UserSummary
	err := a.view(ctx, func(tx parley.Tx) error {
		ids, err := tx.Blocked(actor.User.ID)
		if err != nil {
			return err
		}
		users, err := tx.UsersByIDs(ids)
		if err != nil {
			return err
		}
		out = make([]*UserSummary, 0, len(ids))
		for _, id := range ids {
			if u := users[id]; u != nil {
				out = append(out, summarize(u))
			}
		}
		return nil
	})
	return out, err
}

// ReportInput is a complaint about a user, optionally about one message.
type ReportInput struct {
	Reason         string
	Detail         string
	ConversationID string
	MessageID      string
}

// Report stores a report about handle for admins. A reported message must be
// one the actor can see and one that handle sent.
func (a *App) Report(ctx context.Context, actor *Actor, handle string, in ReportInput) (string, error) {
	if !slices.Contains(parley.ReportReasons, in.Reason) {
		return "", parley.Invalid("reason", "reason is one of %v", parley.ReportReasons)
	}
	detail, err := cleanText("detail", in.Detail, 2000, true)
	if err != nil {
		return "", err
	}
	r := &parley.Report{ID: newID(), ReporterID: actor.User.ID, Reason: in.Reason, Detail: detail}
	err = a.update(ctx, func(w *writer) error {
		u, err := userByHandle(w, handle)
		if err != nil {
			return err
		}
		r.TargetUserID, r.CreatedAt = u.ID, w.now
		if in.MessageID != "" {
			m, err := w.MessageByID(in.MessageID)
			if err != nil {
				return err
			}
			me, err := w.Member(m.ConversationID, actor.User.ID)
			if parley.IsNotFound(err) || (err == nil && !me.CanRead(m.Seq)) || m.SenderID != u.ID {
				return parley.Errorf(parley.ENotFound, "message not found")
			} else if err != nil {
				return err
			}
			r.ConversationID, r.MessageID = m.ConversationID, m.ID
		}
		if err := a.createReport(w, r); err != nil {
			return err
		}
		if r.Reason != "spam" {
			return nil
		}
		// Reporting the sender of a request as spam teaches the model.
		c, err := w.DirectConversation(directKey(actor.User.ID, u.ID))
		if parley.IsNotFound(err) {
			return nil
		} else if err != nil {
			return err
		}
		if me, err := w.Member(c.ID, actor.User.ID); err != nil {
			return err
		} else if me.Status == parley.StatusPending || me.Status == parley.StatusDeclined {
			return a.learnRequest(w, c, actor.User.ID, u.ID, true)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return r.ID, nil
}
