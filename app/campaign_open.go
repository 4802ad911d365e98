package app

import (
	"context"

	"github.com/parleyhq/parley"
)

// A campaign may reach a contact who has a Parley account but never wrote
// to the business: one who subscribed through the topic's link, or whom
// the team subscribed through the API. Their opt-in to the campaign's
// topic is the wish to get these messages, so the worker opens the
// business conversation for them, in their inbox rather than their
// requests, whatever their dm_policy (which governs strangers; the
// business is not one once they subscribed). A block either way still
// refuses, and the policy check (consent, STOP, cap, quiet hours) runs
// first, in the transaction that opens the conversation, so no empty
// conversation is opened for a contact the message could not reach.

// openForCampaign opens the direct conversation of the business with a
// contact's account for a campaign of promotional template tp and
// returns its id (an existing one when there is one). Refusals come back
// as the policy's errors (ENoConsent, EFrequencyCap, EQuietHours) or
// EDMNotAllowed for a block; skip is "no_account" for a contact without a
// usable account.
func (a *App) openForCampaign(ctx context.Context, biz *parley.User, tp *parley.Template, contactID string) (convID, skip string, err error) {
	err = a.update(ctx, func(w *writer) error {
		convID, skip = "", ""
		ct, err := w.Contact(biz.ID, contactID)
		if err != nil {
			return err
		}
		if ct.UserID == "" {
			skip = "no_account"
			return nil
		}
		other, err := w.UserByID(ct.UserID)
		if parley.IsNotFound(err) {
			skip = "no_account"
			return nil
		} else if err != nil {
			return err
		}
		if other.Kind != parley.KindPerson || other.Suspended {
			skip = "no_account"
			return nil
		}
		if c, err := w.DirectConversation(directKey(biz.ID, other.ID)); err == nil {
			convID = c.ID // opened meanwhile (the contact wrote, or another node)
			return nil
		} else if !parley.IsNotFound(err) {
			return err
		}
		// The policy's promotional checks, before anything is written.
		st, err := loadSettings(w, biz.ID)
		if err != nil {
			return err
		}
		r, err := w.Reach(biz.ID, ct.ID)
		if parley.IsNotFound(err) {
			r = &parley.Reach{BusinessID: biz.ID, ContactID: ct.ID}
		} else if err != nil {
			return err
		}
		if err := a.checkPromo(w, &parley.InboxItem{BusinessID: biz.ID, ContactID: ct.ID}, &st.Messaging, r, tp); err != nil {
			return err
		}
		blocked, err := blockedEither(w, biz.ID, other.ID)
		if err != nil {
			return err
		}
		if blocked {
			return parley.Errorf(parley.EDMNotAllowed, "you can't message this account")
		}
		c := &parley.Conversation{ID: newID(), Kind: parley.ConversationDirect, CreatedBy: biz.ID, CreatedAt: w.now,
			DirectKey: directKey(biz.ID, other.ID), LastActivityAt: w.now, MemberCount: 2}
		if err := w.CreateConversation(c); err != nil {
			return err
		}
		for _, uid := range []string{biz.ID, other.ID} {
			m := &parley.Member{ConversationID: c.ID, UserID: uid, Role: parley.RoleMember, Status: parley.StatusActive,
				Folder: parley.FolderInbox, JoinedAt: w.now, UpdatedAt: w.now, JoinedPos: w.Position()}
			if uid == other.ID {
				m.InvitedBy = biz.ID
			}
			if err := w.PutMember(m); err != nil {
				return err
			}
		}
		if err := startInboxItem(w, c, biz, other); err != nil {
			return err
		}
		if err := w.event(&parley.Event{Type: parley.EventConversationCreated, ConversationID: c.ID, ActorID: biz.ID}); err != nil {
			return err
		}
		convID = c.ID
		return nil
	})
	return convID, skip, err
}
