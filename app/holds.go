package app

import (
	"context"
	"strings"
	"time"

	"github.com/parleyhq/parley"
)

// A legal hold keeps a conversation's content from disappearing timers
// and retention until it is released: the reaper and retention jobs skip
// held conversations, and once the hold is released the next pass purges
// what is overdue. A hold covers one conversation, a business's contact
// (the contact's customer conversations with that business) or an account
// (every conversation it is a member of, in any status).

// holdSet is the active holds, loaded once per pass, with the answers
// already worked out per conversation.
type holdSet struct {
	convs    map[string]bool
	accounts []string
	contacts []*parley.LegalHold
	memo     map[string]bool
}

// loadHolds reads the active holds.
func loadHolds(tx parley.Tx) (*holdSet, error) {
	hs, err := tx.ActiveHolds()
	if err != nil {
		return nil, err
	}
	s := &holdSet{convs: map[string]bool{}, memo: map[string]bool{}}
	for _, h := range hs {
		switch h.Scope {
		case parley.HoldConversation:
			s.convs[h.TargetID] = true
		case parley.HoldAccount:
			s.accounts = append(s.accounts, h.TargetID)
		case parley.HoldContact:
			s.contacts = append(s.contacts, h)
		}
	}
	return s, nil
}

// held reports whether a hold covers the conversation.
func (s *holdSet) held(tx parley.Tx, convID string) (bool, error) {
	if s.convs[convID] {
		return true, nil
	}
	if len(s.accounts) == 0 && len(s.contacts) == 0 {
		return false, nil
	}
	if v, ok := s.memo[convID]; ok {
		return v, nil
	}
	v, err := s.heldByParty(tx, convID)
	if err != nil {
		return false, err
	}
	s.memo[convID] = v
	return v, nil
}

func (s *holdSet) heldByParty(tx parley.Tx, convID string) (bool, error) {
	for _, uid := range s.accounts {
		if _, err := tx.Member(convID, uid); err == nil {
			return true, nil
		} else if !parley.IsNotFound(err) {
			return false, err
		}
	}
	if len(s.contacts) == 0 {
		return false, nil
	}
	it, err := tx.InboxItem(convID)
	if parley.IsNotFound(err) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	for _, h := range s.contacts {
		if h.BusinessID == it.BusinessID && h.TargetID == it.ContactID {
			return true, nil
		}
	}
	return false, nil
}

// conversationHeld reports whether a hold covers one conversation.
func conversationHeld(tx parley.Tx, convID string) (bool, error) {
	s, err := loadHolds(tx)
	if err != nil {
		return false, err
	}
	return s.held(tx, convID)
}

// HoldView is a legal hold as administrators see it.
type HoldView struct {
	ID         string     `json:"id"`
	Scope      string     `json:"scope"`
	TargetID   string     `json:"target_id"`
	BusinessID string     `json:"business_id,omitempty"`
	Reason     string     `json:"reason,omitempty"`
	CreatedBy  string     `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	Active     bool       `json:"active"`
	ReleasedBy string     `json:"released_by,omitempty"`
	ReleasedAt *time.Time `json:"released_at,omitempty"`
}

func holdView(h *parley.LegalHold) *HoldView {
	return &HoldView{ID: h.ID, Scope: string(h.Scope), TargetID: h.TargetID, BusinessID: h.BusinessID, Reason: h.Reason,
		CreatedBy: h.CreatedBy, CreatedAt: h.CreatedAt, Active: h.ReleasedAt == nil, ReleasedBy: h.ReleasedBy, ReleasedAt: h.ReleasedAt}
}

// HoldInput places a hold. Target is a conversation id, a contact id
// (for businesses) or, for the server's administrators, an account's
// handle.
type HoldInput struct {
	Scope  string `json:"scope"`
	Target string `json:"target"`
	Reason string `json:"reason"`
}

func (in *HoldInput) check() (string, error) {
	if !parley.HoldScope(in.Scope).Valid() {
		return "", parley.Invalid("scope", "scope is conversation, contact or account")
	}
	if in.Target == "" || len(in.Target) > 64 {
		return "", parley.Invalid("target", "target names the conversation, contact or account held")
	}
	return cleanText("reason", in.Reason, 500, false)
}

// PlaceHold places a legal hold as the server's administrator (the admin
// CLI): on any conversation, any account (by handle), or a business's
// contact (Target "business-handle/contact-id"). by names the operator.
func (a *App) PlaceHold(ctx context.Context, by string, in HoldInput) (*HoldView, error) {
	reason, err := in.check()
	if err != nil {
		return nil, err
	}
	var view *HoldView
	err = a.update(ctx, func(w *writer) error {
		h := &parley.LegalHold{ID: newID(), Scope: parley.HoldScope(in.Scope), Reason: reason, CreatedBy: operator(by), CreatedAt: w.now}
		switch h.Scope {
		case parley.HoldConversation:
			c, err := w.ConversationByID(in.Target)
			if err != nil {
				return err
			}
			h.TargetID = c.ID
		case parley.HoldAccount:
			u, err := userByHandle(w, in.Target)
			if err != nil {
				return err
			}
			h.TargetID = u.ID
		case parley.HoldContact:
			handle, contact, ok := strings.Cut(in.Target, "/")
			if !ok {
				return parley.Invalid("target", "a contact hold's target is business-handle/contact-id")
			}
			b, err := userByHandle(w, handle)
			if err != nil {
				return err
			}
			k, err := w.Contact(b.ID, contact)
			if err != nil {
				return err
			}
			h.BusinessID, h.TargetID = b.ID, k.ID
		}
		if err := w.CreateHold(h); err != nil {
			return err
		}
		if err := a.holdChanged(w, h, true); err != nil {
			return err
		}
		view = holdView(h)
		return nil
	})
	return view, err
}

// operator names a server administrator in a hold's CreatedBy and
// ReleasedBy, apart from the user ids of businesses' admins.
func operator(by string) string { return "operator:" + by }

// ReleaseHold releases a hold as the server's administrator.
func (a *App) ReleaseHold(ctx context.Context, by, id string) (*HoldView, error) {
	var view *HoldView
	err := a.update(ctx, func(w *writer) error {
		h, err := w.Hold(id)
		if err != nil {
			return err
		}
		if h, err = a.release(w, h, operator(by)); err != nil {
			return err
		}
		view = holdView(h)
		return nil
	})
	return view, err
}

func (a *App) release(w *writer, h *parley.LegalHold, by string) (*parley.LegalHold, error) {
	if h.ReleasedAt != nil {
		return nil, parley.Errorf(parley.EConflict, "the hold was released already")
	}
	if err := w.ReleaseHold(h.ID, by, w.now); err != nil {
		return nil, err
	}
	h.ReleasedBy, h.ReleasedAt = by, &w.now
	return h, a.holdChanged(w, h, false)
}

// Holds lists every hold, newest first (the admin CLI).
func (a *App) Holds(ctx context.Context) ([]*HoldView, error) {
	return a.listHolds(ctx, "")
}

func (a *App) listHolds(ctx context.Context, businessID string) ([]*HoldView, error) {
	out := []*HoldView{}
	err := a.view(ctx, func(tx parley.Tx) error {
		hs, err := tx.Holds(businessID, 1000)
		for _, h := range hs {
			out = append(out, holdView(h))
		}
		return err
	})
	return out, err
}

// The audit actions of holds and retention.
const (
	AuditHoldPlace       = "hold.place"
	AuditHoldRelease     = "hold.release"
	AuditRetentionPolicy = "retention.policy"
	AuditRetentionRun    = "retention.run"
)

// holdChanged records a hold's placing or release in the audit log and
// tells the members of the conversations a conversation or
// contact hold covers that their legal_hold flag changed. (An account
// hold can cover thousands of conversations; their members see the flag
// the next time they load the conversation.)
func (a *App) holdChanged(w *writer, h *parley.LegalHold, on bool) error {
	e := AuditEntry{ActorID: h.CreatedBy, Action: AuditHoldPlace, TargetType: "hold", TargetID: h.ID,
		Details: map[string]string{"scope": string(h.Scope), "target": h.TargetID, "reason": h.Reason}}
	if h.BusinessID != "" {
		e.Details["business"] = h.BusinessID
	}
	if !on {
		e.ActorID, e.Action = h.ReleasedBy, AuditHoldRelease
	}
	if err := a.audit(w, e); err != nil {
		return err
	}
	var convs []string
	switch h.Scope {
	case parley.HoldConversation:
		convs = []string{h.TargetID}
	case parley.HoldContact:
		items, err := w.InboxItems(parley.InboxFilter{BusinessID: h.BusinessID, ContactID: h.TargetID, Limit: 1000})
		if err != nil {
			return err
		}
		for _, it := range items {
			convs = append(convs, it.ConversationID)
		}
	}
	for _, id := range convs {
		if err := w.event(&parley.Event{Type: parley.EventConversationUpdated, ConversationID: id,
			Data: mustJSON(map[string]any{"legal_hold": on})}); err != nil {
			return err
		}
	}
	return nil
}

// PlaceBusinessHold places a hold on one of the business's customer
// conversations, or on one of its contacts (admins of the business).
func (a *App) PlaceBusinessHold(ctx context.Context, ba *BusinessActor, in HoldInput) (*HoldView, error) {
	if err := ba.requireAdmin(); err != nil {
		return nil, err
	}
	reason, err := in.check()
	if err != nil {
		return nil, err
	}
	var view *HoldView
	err = a.update(ctx, func(w *writer) error {
		h := &parley.LegalHold{ID: newID(), Scope: parley.HoldScope(in.Scope), BusinessID: ba.Business.ID, Reason: reason,
			CreatedBy: ba.agentID(), CreatedAt: w.now}
		switch h.Scope {
		case parley.HoldConversation:
			it, err := itemOf(w, ba, in.Target)
			if err != nil {
				return err
			}
			h.TargetID = it.ConversationID
		case parley.HoldContact:
			k, err := w.Contact(ba.Business.ID, in.Target)
			if parley.IsNotFound(err) {
				return parley.Errorf(parley.ENotFound, "contact not found")
			} else if err != nil {
				return err
			}
			h.TargetID = k.ID
		default:
			return parley.Invalid("scope", "a business holds a customer conversation or a contact")
		}
		if err := w.CreateHold(h); err != nil {
			return err
		}
		if err := a.holdChanged(w, h, true); err != nil {
			return err
		}
		view = holdView(h)
		return nil
	})
	return view, err
}

// ReleaseBusinessHold releases one of the business's holds (admins of the
// business). Holds the server's administrators placed are theirs to release.
func (a *App) ReleaseBusinessHold(ctx context.Context, ba *BusinessActor, id string) (*HoldView, error) {
	if err := ba.requireAdmin(); err != nil {
		return nil, err
	}
	var view *HoldView
	err := a.update(ctx, func(w *writer) error {
		h, err := w.Hold(id)
		if parley.IsNotFound(err) || (err == nil && h.BusinessID != ba.Business.ID) {
			return parley.Errorf(parley.ENotFound, "hold not found")
		} else if err != nil {
			return err
		}
		if strings.HasPrefix(h.CreatedBy, operator("")) {
			return parley.Errorf(parley.EForbidden, "the server's administrators placed this hold; they release it")
		}
		if h, err = a.release(w, h, ba.agentID()); err != nil {
			return err
		}
		view = holdView(h)
		return nil
	})
	return view, err
}

// BusinessHolds lists the business's holds, newest first (admins).
func (a *App) BusinessHolds(ctx context.Context, ba *BusinessActor) ([]*HoldView, error) {
	if err := ba.requireAdmin(); err != nil {
		return nil, err
	}
	return a.listHolds(ctx, ba.Business.ID)
}

// requireHoldAdmin lets the server's administrators manage holds and
// server-wide retention over the API.
func (a *App) requireHoldAdmin(actor *Actor) error {
	if !a.IsAdmin(actor) {
		return parley.Errorf(parley.EForbidden, "only the server's administrators do this")
	}
	return nil
}

// PlaceHoldAs is PlaceHold for a server administrator over the API.
func (a *App) PlaceHoldAs(ctx context.Context, actor *Actor, in HoldInput) (*HoldView, error) {
	if err := a.requireHoldAdmin(actor); err != nil {
		return nil, err
	}
	return a.PlaceHold(ctx, actor.User.Handle, in)
}

// ReleaseHoldAs is ReleaseHold for a server administrator over the API.
func (a *App) ReleaseHoldAs(ctx context.Context, actor *Actor, id string) (*HoldView, error) {
	if err := a.requireHoldAdmin(actor); err != nil {
		return nil, err
	}
	v, err := a.ReleaseHold(ctx, actor.User.Handle, id)
	if parley.IsNotFound(err) {
		return nil, parley.Errorf(parley.ENotFound, "hold not found")
	}
	return v, err
}

// HoldsAs is Holds for a server administrator over the API.
func (a *App) HoldsAs(ctx context.Context, actor *Actor) ([]*HoldView, error) {
	if err := a.requireHoldAdmin(actor); err != nil {
		return nil, err
	}
	return a.Holds(ctx)
}
