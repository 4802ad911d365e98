package app

import (
	"context"
	"strconv"

	"github.com/parleyhq/parley"
)

// RedactedText is what a redacted message shows in place of its content,
// in every view (history, sync, the stream, webhooks, reply and inbox
// previews). The stored text is empty: search never finds the placeholder.
const RedactedText = "This message was redacted"

// AuditMessageRedact is the audit action of a redaction. Its details name
// the conversation, the sequence number and the sender, never the content.
const AuditMessageRedact = "message.redact"

// AuditMessageRedactRefused is the audit action of a redaction a legal
// hold refused (details as for AuditMessageRedact, and reason legal_hold).
const AuditMessageRedactRefused = "message.redact_refused"

// errLegalHold refuses to redact held content.
var errLegalHold = parley.Errorf(parley.ELegalHold, "a legal hold covers this conversation: its content is kept as it is until the hold is released, so the message cannot be redacted now")

// Redact replaces a message's content by a placeholder for everyone (issue
// 9, the sensitive-data guard): its text, structured data, link card,
// attachments (blobs no other message uses are deleted) and edit history
// go, the search index drops it, a message.redacted event updates open
// views, the hash chain gets a "redact" entry holding the redacted
// content's hash, and the audit log records who redacted what and when.
// Reactions and the message's place stay. While a legal hold covers the
// conversation (directly, through the customer's contact or through a
// member's account) the redaction is refused with legal_hold and the
// refusal audited; once the hold is released it goes through. Its sender may redact it while
// an active member, like unsending (for a business's message: its author
// or an admin of the team); an admin of a business may redact any message
// of the business's customer conversations. Redacting twice changes
// nothing.
func (a *App) Redact(ctx context.Context, actor *Actor, convID, msgID string) (*MessageView, error) {
	var view *MessageView
	var keys []string
	var refused *AuditEntry
	err := a.update(ctx, func(w *writer) error {
		keys, refused = nil, nil
		c, me, err := activeMembership(w, convID, actor.User.ID)
		if err != nil {
			return err
		}
		m, err := w.MessageByID(msgID)
		if parley.IsNotFound(err) || (err == nil && (m.ConversationID != c.ID || !me.CanRead(m.Seq))) {
			return parley.Errorf(parley.ENotFound, "message not found")
		} else if err != nil {
			return err
		}
		if err := a.mayRedact(w, actor, c, m); err != nil {
			return err
		}
		if m.DeletedAt != nil {
			return parley.Errorf(parley.EConflict, "the message's content is gone already (unsent, expired or erased)")
		}
		if m.RedactedAt == nil {
			// A legal hold keeps content as it is: the redaction is refused
			// (and the refusal audited) until the hold is released.
			if held, err := conversationHeld(w, c.ID); err != nil {
				return err
			} else if held {
				refused = &AuditEntry{ActorID: actor.User.ID, Action: AuditMessageRedactRefused, TargetType: "message", TargetID: m.ID,
					Details: map[string]string{"conversation": c.ID, "seq": strconv.FormatInt(m.Seq, 10), "sender": m.SenderID, "reason": "legal_hold"}}
				if actor.Agent != nil {
					refused.ActorID, refused.Details["business"] = actor.Agent.ID, actor.User.ID
				}
				return errLegalHold
			}
			if err := w.RedactMessage(m.ID, w.now); err != nil {
				return err
			}
			// Attachments go before the event, so that the chain's redact
			// entry hashes the content as it now is: without them.
			if keys, err = deleteAttachments(w, []string{m.ID}); err != nil {
				return err
			}
			if err := w.event(&parley.Event{Type: parley.EventMessageRedacted, ConversationID: c.ID, ActorID: actor.User.ID, MessageID: m.ID, Seq: m.Seq}); err != nil {
				return err
			}
			by := actor.User.ID
			details := map[string]string{"conversation": c.ID, "seq": strconv.FormatInt(m.Seq, 10), "sender": m.SenderID}
			if actor.Agent != nil {
				by, details["business"] = actor.Agent.ID, actor.User.ID
			}
			if err := a.audit(w, AuditEntry{ActorID: by, Action: AuditMessageRedact, TargetType: "message", TargetID: m.ID, Details: details}); err != nil {
				return err
			}
			if m, err = w.MessageByID(m.ID); err != nil {
				return err
			}
		}
		vs, err := messageViews(w, c, me, []*parley.Message{m})
		if err != nil {
			return err
		}
		view = vs[0]
		return nil
	})
	if refused != nil && parley.ErrorCode(err) == parley.ELegalHold {
		// The refusal's own transaction: the refused one rolled back.
		if aerr := a.update(ctx, func(w *writer) error { return a.audit(w, *refused) }); aerr != nil {
			a.log.Warn("redact: audit the refusal", "err", aerr)
		}
	}
	if err != nil {
		return nil, err
	}
	if _, err := a.dropBlobs(ctx, keys); err != nil {
		a.log.Warn("redact: delete blobs", "err", err) // CollectMedia's sweep finds them later
	}
	return view, nil
}

// mayRedact says whether the actor may redact m in c.
func (a *App) mayRedact(w *writer, actor *Actor, c *parley.Conversation, m *parley.Message) error {
	if m.Kind == parley.MessageSystem {
		return parley.Errorf(parley.EForbidden, "system messages cannot be redacted")
	}
	// The business itself, signed in, is its own admin.
	teamAdmin := actor.Agent == nil && actor.User.Kind == parley.KindBusiness
	if actor.Agent != nil {
		ag, err := w.Agent(actor.User.ID, actor.Agent.ID)
		if err != nil && !parley.IsNotFound(err) {
			return err
		}
		teamAdmin = err == nil && ag.Active && ag.Role == parley.AgentRoleAdmin
	}
	if m.SenderID == actor.User.ID && (actor.Agent == nil || m.AgentID == actor.Agent.ID || teamAdmin) {
		return nil
	}
	if teamAdmin {
		// A business admin: any message of the business's customer
		// conversations.
		it, err := w.InboxItem(c.ID)
		if err != nil && !parley.IsNotFound(err) {
			return err
		}
		if err == nil && it.BusinessID == actor.User.ID {
			return nil
		}
	}
	return parley.Errorf(parley.EForbidden, "only the message's sender (or an admin of the business, in its customer conversations) may redact it")
}
