package app

import (
	"context"
	"errors"
	"time"

	"github.com/parleyhq/parley"
)

// Campaign messages go out a chunk per transaction: one read transaction
// renders the chunk, one write transaction sends it. In the write, each
// recipient passes the same checks as any business message — membership
// and blocks (checkSend), then the messaging policy (checkPolicy: consent,
// STOP, the frequency cap, quiet hours, the window) — and either gets its
// message, its recipient row marked sent, or its row marked with why not;
// the campaign's counters are written once per chunk. Everything a chunk
// decides commits together or not at all, so a crash still neither skips
// nor repeats anyone. Recipients the chunk cannot take as they are (no
// conversation yet, a conversation that is a request or archived, a text a
// server filter flags) go through deliverOne, the message-by-message path.

// errChunkFallback rolls back a chunk so that its recipients go one by
// one.
var errChunkFallback = errors.New("campaign chunk falls back")

// recipientOutcome is what a refusal makes of a recipient: it waits
// (pending, until wait has passed), is skipped or failed, with the
// refusal's code as reason. ok is false for an internal error.
func recipientOutcome(err error) (state, reason string, wait time.Duration, ok bool) {
	code := parley.ErrorCode(err)
	switch {
	case code == parley.EQuietHours || code == parley.ERateLimited:
		var pe *parley.Error
		wait = time.Minute
		if errors.As(err, &pe) && pe.RetryAfter > 0 {
			wait = pe.RetryAfter
		}
		return parley.RecipientPending, code, wait, true
	case code == parley.ENoConsent || code == parley.EWindowClosed || code == parley.EFrequencyCap:
		return parley.RecipientSkipped, code, 0, true
	case code == parley.EInternal || code == parley.EStorageFull:
		return "", "", 0, false
	default:
		return parley.RecipientFailed, code, 0, true
	}
}

// chunkItem is one recipient of a chunk, rendered.
type chunkItem struct {
	r      *parley.CampaignRecipient
	convID string
	text   string
	params []string
	// skip, when set, settles the recipient without a send.
	skip string
}

// deliverChunk sends a chunk of due recipients of a running campaign. It
// returns the recipients left for deliverOne and whether the campaign
// halted (paused or cancelled). On an error nothing of the chunk was
// stored.
func (a *App) deliverChunk(ctx context.Context, ba *BusinessActor, tp *parley.Template, c *parley.Campaign,
	due []*parley.CampaignRecipient) (rest []*parley.CampaignRecipient, halted bool, err error) {
	start := time.Now()
	items := make([]*chunkItem, 0, len(due))
	err = a.view(ctx, func(tx parley.Tx) error {
		items, rest = items[:0], rest[:0]
		for _, r := range due {
			ct, err := tx.Contact(c.BusinessID, r.ContactID)
			if parley.IsNotFound(err) {
				items = append(items, &chunkItem{r: r, skip: "no_contact"})
				continue
			} else if err != nil {
				return err
			}
			if ct.MergedInto != "" {
				items = append(items, &chunkItem{r: r, skip: "merged"})
				continue
			}
			it, err := contactItem(tx, ct)
			if err != nil {
				return err
			}
			if it.ConversationID == "" {
				rest = append(rest, r)
				continue
			}
			out, err := renderItem(tx, ba, tp.Body, it)
			if err != nil {
				return err
			}
			if len(out.Missing) > 0 {
				items = append(items, &chunkItem{r: r, skip: parley.EUnresolvedVar})
				continue
			}
			items = append(items, &chunkItem{r: r, convID: it.ConversationID, text: out.Text, params: out.params})
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	// The server's filters, as Send applies them: a refusing match fails
	// the recipient; a flagging one files a report, which deliverOne does.
	sendable := items[:0]
	for _, it := range items {
		if it.skip == "" {
			text, err := cleanText("text", it.text, a.cfg.MaxTextLen, true)
			if err != nil {
				it.skip = parley.ErrorCode(err)
			} else if _, flags, err := a.checkServerFilters(ctx, text); err != nil && parley.ErrorCode(err) == parley.EInternal {
				return nil, false, err
			} else if err != nil {
				it.skip = parley.ErrorCode(err)
			} else if len(flags) > 0 {
				rest = append(rest, it.r)
				continue
			}
			it.text = text
		}
		sendable = append(sendable, it)
	}
	items = sendable
	var created []*MessageView
	var later []*parley.CampaignRecipient
	var outcomes []string // the state each recipient was given, for the metrics
	err = a.update(ctx, func(w *writer) error {
		created, later, outcomes, halted = created[:0], later[:0], outcomes[:0], false
		cc, err := w.Campaign(c.BusinessID, c.ID)
		if err != nil {
			return err
		}
		if cc.Status != parley.CampaignRunning {
			halted = true
			return nil
		}
		st, err := loadSettings(w, c.BusinessID)
		if err != nil {
			return err
		}
		settle := func(r *parley.CampaignRecipient, state, reason string, notBefore time.Time) error {
			r.State, r.Reason, r.NotBefore, r.UpdatedAt = state, reason, notBefore, w.now
			if err := w.PutRecipient(r); err != nil {
				return err
			}
			outcomes = append(outcomes, state)
			switch state {
			case parley.RecipientFailed:
				cc.Failed++
			case parley.RecipientSkipped:
				if cc.Skipped == nil {
					cc.Skipped = map[string]int{}
				}
				cc.Skipped[reason]++
			}
			return nil
		}
		for _, item := range items {
			r, err := w.Recipient(c.ID, item.r.ContactID)
			if err != nil {
				return err
			}
			if r.State != parley.RecipientPending {
				continue // settled meanwhile (another node)
			}
			if item.skip != "" {
				state := parley.RecipientSkipped
				if item.skip != "no_contact" && item.skip != "merged" && item.skip != parley.EUnresolvedVar {
					state = parley.RecipientFailed
				}
				if err := settle(r, state, item.skip, time.Time{}); err != nil {
					return err
				}
				continue
			}
			m, refusal, err := a.chunkSend(w, ba, tp, st, c, item)
			switch {
			case errors.Is(err, errChunkFallback):
				later = append(later, item.r)
				continue
			case err != nil:
				return err
			case refusal != nil:
				state, reason, wait, ok := recipientOutcome(refusal)
				if !ok {
					return refusal
				}
				nb := time.Time{}
				if wait > 0 {
					nb = w.now.Add(wait)
				}
				if err := settle(r, state, reason, nb); err != nil {
					return err
				}
				continue
			}
			r.State, r.Reason, r.MessageID, r.NotBefore, r.UpdatedAt = parley.RecipientSent, "", m.ID, time.Time{}, w.now
			if err := w.PutRecipient(r); err != nil {
				return err
			}
			cc.Sent++
			outcomes = append(outcomes, parley.RecipientSent)
			created = append(created, &MessageView{ID: m.ID, ConversationID: m.ConversationID, Seq: m.Seq, Sender: summarize(ba.Business),
				ClientID: m.ClientID, Kind: string(m.Kind), Text: m.Text, CreatedAt: m.CreatedAt, ExpiresAt: m.ExpiresAt})
		}
		cc.UpdatedAt = w.now
		return w.UpdateCampaign(cc)
	})
	if err != nil {
		return nil, false, err
	}
	for _, v := range created {
		a.maybeFetchCard(v, ba.Business.ID)
	}
	for range created {
		a.obs.MessageSent(sendResult(true, nil), time.Since(start))
	}
	for _, state := range outcomes {
		a.obs.CampaignRecipient(state)
	}
	return append(rest, later...), halted, nil
}

// chunkSend stores one campaign message in a chunk's transaction, after
// the checks every business message passes, in an order that writes
// nothing before the last of them: membership and blocks (checkSend), then
// the messaging policy (checkPolicy, which counts the promotion against
// the cap as it passes). refusal is a check's answer; errChunkFallback
// sends the recipient through deliverOne (a conversation that is a
// request or archived: Send's way of handling them writes first).
func (a *App) chunkSend(w *writer, ba *BusinessActor, tp *parley.Template, st *BusinessSettings, c *parley.Campaign,
	item *chunkItem) (m *parley.Message, refusal error, err error) {
	conv, me, err := membership(w, item.convID, ba.Business.ID)
	if err != nil {
		return nil, err, nil
	}
	if conv.Kind != parley.ConversationDirect || me.Status != parley.StatusActive {
		return nil, nil, errChunkFallback
	}
	other, _, err := otherMember(w, conv, ba.Business.ID)
	if err != nil {
		return nil, nil, err
	}
	if other.Status != parley.StatusActive || other.Folder == parley.FolderArchived {
		return nil, nil, errChunkFallback
	}
	if _, err := a.checkSend(w, conv, me, ba.Actor); err != nil {
		return nil, err, nil
	}
	it, err := w.InboxItem(conv.ID)
	if err != nil {
		return nil, nil, err
	}
	if it.ContactID != item.r.ContactID {
		return nil, nil, errChunkFallback // the conversation moved to another contact (a merge)
	}
	sc := &sendClass{template: tp, params: item.params, campaign: &campaignMark{campaignID: c.ID, contactID: item.r.ContactID}}
	if err := a.checkPolicy(w, it, st, ba.Actor, sc); err != nil {
		if parley.ErrorCode(err) == parley.EInternal {
			return nil, nil, err
		}
		return nil, err, nil
	}
	seq, err := w.AllocSeq(conv.ID, w.now)
	if err != nil {
		return nil, nil, err
	}
	m = &parley.Message{ID: newSortableID(w.now), ConversationID: conv.ID, Seq: seq, SenderID: ba.Business.ID,
		ClientID: "cmp." + c.ID + "." + item.r.ContactID, Kind: parley.MessageText, Text: item.text, CreatedAt: w.now,
		ExpiresAt: expiry(conv, w.now)}
	if err := w.CreateMessage(m); err != nil {
		return nil, nil, err // a duplicate client id cannot be: the recipient was pending in this transaction
	}
	if err := w.messageCreated(m); err != nil {
		return nil, nil, err
	}
	return m, nil, nil
}
