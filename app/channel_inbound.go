package app

// Inbound: the events of a channel's webhook applied to Parley — the
// person's account, contact and conversation on their first message,
// their messages, reactions, edits, unsends, receipts, referrals
// (ChannelWebhook in channels.go calls applyChannelEvent for each).

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/channel"
)

// externalHandle names the account of a person on a platform: the "~"
// keeps it out of the handles people can register or address.
func externalHandle(platform string) string { return "~" + platform[:2] + "." + newID()[:20] }

// channelThread returns the thread of the event's person, making their
// account, contact and conversation on their first message.
func (a *App) channelThread(w *writer, c *parley.Channel, ev channel.Event, create bool) (*parley.ChannelThread, error) {
	th, err := w.ChannelThread(c.ID, ev.UserID)
	if err == nil || !parley.IsNotFound(err) || !create {
		return th, err
	}
	biz, err := w.UserByID(c.BusinessID)
	if err != nil {
		return nil, err
	}
	name := strings.TrimSpace(ev.UserName)
	if name == "" {
		name = strings.ToUpper(c.Platform[:1]) + c.Platform[1:] + " user " + lastFour(ev.UserID)[len("…"):]
	}
	if utf8.RuneCountInString(name) > 100 {
		name = string([]rune(name)[:100])
	}
	u := &parley.User{ID: newID(), Handle: externalHandle(c.Platform), DisplayName: name, Kind: parley.KindExternal,
		DMPolicy: parley.PolicyClosed, HideReadReceipts: false, CreatedAt: w.now, UpdatedAt: w.now}
	if err := w.CreateUser(u); err != nil {
		return nil, err
	}
	conv := &parley.Conversation{ID: newID(), Kind: parley.ConversationDirect, CreatedBy: u.ID, CreatedAt: w.now,
		DirectKey: directKey(u.ID, biz.ID), LastActivityAt: w.now, MemberCount: 2}
	if err := w.CreateConversation(conv); err != nil {
		return nil, err
	}
	for _, id := range []string{u.ID, biz.ID} {
		if err := w.PutMember(&parley.Member{ConversationID: conv.ID, UserID: id, Role: parley.RoleMember, Status: parley.StatusActive,
			Folder: parley.FolderInbox, JoinedAt: w.now, UpdatedAt: w.now, JoinedPos: w.Position()}); err != nil {
			return nil, err
		}
	}
	if err := startInboxItem(w, conv, u, biz); err != nil {
		return nil, err
	}
	it, err := w.InboxItem(conv.ID)
	if err != nil {
		return nil, err
	}
	ct, err := w.Contact(c.BusinessID, it.ContactID)
	if err != nil {
		return nil, err
	}
	if ct.Attributes == nil {
		ct.Attributes = map[string]string{}
	}
	ct.Attributes["channel"] = c.Platform
	ct.Attributes[c.Platform+"_id"] = ev.UserID
	if err := w.PutContact(ct); err != nil {
		return nil, err
	}
	if err := w.event(&parley.Event{Type: parley.EventConversationCreated, ConversationID: conv.ID, ActorID: u.ID}); err != nil {
		return nil, err
	}
	th = &parley.ChannelThread{ChannelID: c.ID, ExternalUserID: ev.UserID, ContactID: ct.ID, UserID: u.ID, ConversationID: conv.ID, CreatedAt: w.now}
	return th, w.PutChannelThread(th)
}

// applyChannelEvent applies one event and reports whether it changed
// anything (a replay changes nothing).
func (a *App) applyChannelEvent(w *writer, c *parley.Channel, ev channel.Event) (bool, error) {
	if ev.Echo {
		// The business's own message coming back: Parley's sends are
		// linked already; one sent from the platform's app is not
		// brought in (docs/channels.md).
		return false, nil
	}
	switch ev.Kind {
	case channel.KindMessage, channel.KindStoryMention, channel.KindPostback:
		return a.channelInbound(w, c, ev)
	case channel.KindReferral:
		return a.channelReferral(w, c, ev)
	case channel.KindOptin:
		return a.channelOptin(w, c, ev)
	}
	th, err := a.channelThread(w, c, ev, false)
	if parley.IsNotFound(err) {
		return false, nil // about a conversation Parley never saw
	} else if err != nil {
		return false, err
	}
	switch ev.Kind {
	case channel.KindReaction:
		return a.channelReaction(w, c, th, ev)
	case channel.KindEdit:
		return a.channelEdit(w, c, th, ev)
	case channel.KindUnsend:
		return a.channelUnsend(w, c, th, ev)
	case channel.KindRead, channel.KindDelivery, channel.KindStatus:
		return a.channelReceipt(w, c, th, ev)
	}
	return false, nil
}

// channelText is the text an inbound event leaves in the conversation:
// the person's text, then one line per attachment.
func (a *App) channelText(ev channel.Event) string {
	var b strings.Builder
	switch ev.Kind {
	case channel.KindStoryMention:
		b.WriteString("Mentioned you in their story")
	case channel.KindPostback:
		b.WriteString(ev.Title)
		if ev.Title == "" {
			b.WriteString(ev.Payload)
		}
	default:
		b.WriteString(ev.Text)
	}
	for _, at := range ev.Attachments {
		if ev.Kind == channel.KindMessage && fetchable(at) {
			continue // fetched into Parley media (channel_media.go)
		}
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		// Attachments stay links: the platform's CDN serves them (for a
		// while) to whoever has the link; WhatsApp media need the
		// channel's token and are named by id.
		switch {
		case at.URL != "":
			b.WriteString("[" + at.Type + "] " + at.URL)
		case at.MediaID != "":
			b.WriteString("[" + at.Type + " " + at.MIME + "] whatsapp media " + at.MediaID)
			if at.Name != "" {
				b.WriteString(" (" + at.Name + ")")
			}
		default:
			b.WriteString("[" + at.Type + "]")
		}
	}
	text := strings.ToValidUTF8(b.String(), "\uFFFD")
	if text == "" && (ev.Kind != channel.KindMessage || len(fetchItems(ev)) == 0) {
		text = "[empty message]"
	}
	if utf8.RuneCountInString(text) > a.cfg.MaxTextLen {
		text = string([]rune(text)[:a.cfg.MaxTextLen])
	}
	return text
}

// channelInbound stores a person's message, once per platform id, and
// runs the inbox rules on it as on any customer message.
func (a *App) channelInbound(w *writer, c *parley.Channel, ev channel.Event) (bool, error) {
	mid := ev.MID
	if mid == "" {
		// Postbacks may come without one: their time and payload name them.
		mid = "pb:" + ev.UserID + ":" + ev.At.Format(time.RFC3339Nano) + ":" + ev.Payload
	}
	if _, err := w.ChannelMessageByMID(c.ID, mid); err == nil {
		return false, nil // a replay
	} else if !parley.IsNotFound(err) {
		return false, err
	}
	th, err := a.channelThread(w, c, ev, true)
	if err != nil {
		return false, err
	}
	conv, err := w.ConversationByID(th.ConversationID)
	if err != nil {
		return false, err
	}
	u, err := w.UserByID(th.UserID)
	if err != nil {
		return false, err
	}
	if name := strings.TrimSpace(ev.UserName); name != "" && name != u.DisplayName && utf8.RuneCountInString(name) <= 100 {
		u.DisplayName, u.UpdatedAt = name, w.now
		if err := w.UpdateUser(u); err != nil {
			return false, err
		}
	}
	seq, err := w.AllocSeq(conv.ID, w.now)
	if err != nil {
		return false, err
	}
	m := &parley.Message{ID: newSortableID(w.now), ConversationID: conv.ID, Seq: seq, SenderID: u.ID, Kind: parley.MessageText,
		Text: a.channelText(ev), CreatedAt: w.now, ExpiresAt: expiry(conv, w.now)}
	// Files are fetched into Parley media after the webhook is answered;
	// the message shows them as being fetched until then.
	work := &channelWork{}
	if ev.Kind == channel.KindMessage {
		var atts []channel.Attachment
		for _, at := range fetchItems(ev) {
			work.Fetch = append(work.Fetch, &fetchItem{Attachment: at, State: fetchPending})
			atts = append(atts, at)
		}
		if len(atts) > 0 {
			m.Kind = inboundKind(atts)
		}
	}
	if ev.Payload != "" && len(ev.Payload) <= maxPayload {
		// A postback or quick reply: bots and consent keywords read the
		// payload as they do a tapped quick reply.
		m.Data = (&messageData{QuickReply: ev.Payload}).encode()
	}
	if ev.ReplyTo != "" {
		if link, err := w.ChannelMessageByMID(c.ID, ev.ReplyTo); err == nil && link.ConversationID == conv.ID {
			m.ReplyTo = link.MessageID
		}
	}
	if err := w.CreateMessage(m); err != nil {
		return false, err
	}
	at := ev.At
	if at.IsZero() {
		at = w.now
	}
	link := &parley.ChannelMessage{MessageID: m.ID, ChannelID: c.ID, ConversationID: conv.ID, Direction: parley.ChannelIn,
		PlatformMID: mid, Status: parley.ChannelDelivered, PlatformAt: at, Data: work.encode(), CreatedAt: w.now, UpdatedAt: w.now}
	if len(work.Fetch) > 0 {
		link.WorkAt = w.now
	}
	if err := w.CreateChannelMessage(link); err != nil {
		return false, err
	}
	if at.After(th.LastInboundAt) {
		th.LastInboundAt = at
		if err := w.PutChannelThread(th); err != nil {
			return false, err
		}
	}
	if err := a.inboxOnSend(w, conv, m, &Actor{User: u}, nil); err != nil {
		return false, err
	}
	return true, w.messageCreated(m)
}

// channelReferral records how the person came (an ad, a link) on their
// contact's attributes.
func (a *App) channelReferral(w *writer, c *parley.Channel, ev channel.Event) (bool, error) {
	th, err := a.channelThread(w, c, ev, true)
	if err != nil {
		return false, err
	}
	ct, err := w.Contact(c.BusinessID, th.ContactID)
	if err != nil {
		return false, err
	}
	if ct.Attributes == nil {
		ct.Attributes = map[string]string{}
	}
	set := func(k, v string) {
		if v = strings.TrimSpace(v); v != "" {
			if len(v) > 200 {
				v = v[:200]
			}
			ct.Attributes[k] = strings.ToValidUTF8(v, "")
		}
	}
	set("referral_ref", ev.Ref)
	set("referral_source", ev.Source)
	set("referral_type", ev.Type)
	set("referral_url", ev.Payload)
	ct.UpdatedAt = w.now
	return true, w.PutContact(ct)
}

// channelTarget finds the Parley message a platform id names in the
// thread's conversation.
func channelTarget(w *writer, c *parley.Channel, th *parley.ChannelThread, mid string) (*parley.Message, error) {
	link, err := w.ChannelMessageByMID(c.ID, mid)
	if err != nil {
		return nil, err
	}
	if link.ConversationID != th.ConversationID {
		return nil, parley.Errorf(parley.ENotFound, "message not found")
	}
	return w.MessageByID(link.MessageID)
}

func (a *App) channelReaction(w *writer, c *parley.Channel, th *parley.ChannelThread, ev channel.Event) (bool, error) {
	m, err := channelTarget(w, c, th, ev.TargetMID)
	if parley.IsNotFound(err) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if m.DeletedAt != nil {
		return false, nil
	}
	// The platforms keep one reaction per person and message: a new one
	// replaces the old, an empty one removes it.
	rs, err := w.Reactions([]string{m.ID})
	if err != nil {
		return false, err
	}
	changed := false
	for _, r := range rs[m.ID] {
		if r.UserID != th.UserID || r.Emoji == ev.Emoji {
			continue
		}
		if ok, err := w.SetReaction(&parley.Reaction{MessageID: m.ID, UserID: th.UserID, Emoji: r.Emoji}, false); err != nil {
			return false, err
		} else if ok {
			changed = true
			if err := w.event(&parley.Event{Type: parley.EventReactionRemoved, ConversationID: m.ConversationID, ActorID: th.UserID,
				MessageID: m.ID, Seq: m.Seq, Data: mustJSON(map[string]string{"emoji": r.Emoji})}); err != nil {
				return false, err
			}
		}
	}
	if ev.Emoji != "" && checkEmoji(ev.Emoji) == nil {
		ok, err := w.SetReaction(&parley.Reaction{MessageID: m.ID, UserID: th.UserID, Emoji: ev.Emoji, CreatedAt: w.now}, true)
		if err != nil {
			return false, err
		}
		if ok {
			changed = true
			if err := w.event(&parley.Event{Type: parley.EventReactionAdded, ConversationID: m.ConversationID, ActorID: th.UserID,
				MessageID: m.ID, Seq: m.Seq, Data: mustJSON(map[string]string{"emoji": ev.Emoji})}); err != nil {
				return false, err
			}
		}
	}
	return changed, nil
}

func (a *App) channelEdit(w *writer, c *parley.Channel, th *parley.ChannelThread, ev channel.Event) (bool, error) {
	m, err := channelTarget(w, c, th, ev.TargetMID)
	if parley.IsNotFound(err) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	text := a.channelText(channel.Event{Kind: channel.KindMessage, Text: ev.Text})
	if m.SenderID != th.UserID || m.DeletedAt != nil || m.Text == text {
		return false, nil // a replay, or not the person's message
	}
	if err := w.AddMessageEdit(&parley.MessageEdit{MessageID: m.ID, Text: m.Text, EditedAt: w.now}); err != nil {
		return false, err
	}
	if err := w.UpdateMessageText(m.ID, text, w.now); err != nil {
		return false, err
	}
	return true, w.event(&parley.Event{Type: parley.EventMessageEdited, ConversationID: m.ConversationID, ActorID: th.UserID, MessageID: m.ID, Seq: m.Seq})
}

func (a *App) channelUnsend(w *writer, c *parley.Channel, th *parley.ChannelThread, ev channel.Event) (bool, error) {
	m, err := channelTarget(w, c, th, ev.TargetMID)
	if parley.IsNotFound(err) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if m.SenderID != th.UserID || m.DeletedAt != nil {
		return false, nil
	}
	if err := w.PurgeMessage(m.ID, w.now); err != nil {
		return false, err
	}
	return true, w.event(&parley.Event{Type: parley.EventMessageUnsent, ConversationID: m.ConversationID, ActorID: th.UserID, MessageID: m.ID, Seq: m.Seq})
}

// channelReceipt moves the delivery status of the business's messages
// forward (never back) and the person's read marker with it.
func (a *App) channelReceipt(w *writer, c *parley.Channel, th *parley.ChannelThread, ev channel.Event) (bool, error) {
	status := parley.ChannelDelivered
	switch {
	case ev.Kind == channel.KindRead, ev.Status == "read":
		status = parley.ChannelRead
	case ev.Kind == channel.KindStatus && ev.Status == "failed":
		status = parley.ChannelFailed
	case ev.Kind == channel.KindStatus && ev.Status != "delivered":
		return false, nil // "sent": the Send API said so already
	}
	mids := ev.MIDs
	if ev.TargetMID != "" {
		mids = append(mids, ev.TargetMID)
	}
	changed := false
	var upTo int64
	for _, mid := range mids {
		link, err := w.ChannelMessageByMID(c.ID, mid)
		if parley.IsNotFound(err) {
			continue
		} else if err != nil {
			return false, err
		}
		if link.Direction != parley.ChannelOut || link.ConversationID != th.ConversationID || !laterStatus(link.Status, status) {
			continue
		}
		link.Status, link.UpdatedAt = status, w.now
		if status == parley.ChannelFailed {
			link.Error = clipError(ev.Error)
		}
		if err := w.UpdateChannelMessage(link); err != nil {
			return false, err
		}
		if err := deliveryEvent(w, c.BusinessID, link); err != nil {
			return false, err
		}
		changed = true
		if m, err := w.MessageByID(link.MessageID); err == nil && m.Seq > upTo {
			upTo = m.Seq
		}
	}
	if status == parley.ChannelFailed {
		return changed, nil
	}
	conv, me, err := w.ConversationMember(th.ConversationID, th.UserID)
	if err != nil {
		return changed, err
	}
	if len(mids) == 0 && !ev.Watermark.IsZero() {
		upTo = conv.LastSeq // Messenger's watermark: everything before it
	}
	marker := &me.DeliveredSeq
	typ := parley.EventDelivered
	if status == parley.ChannelRead {
		marker, typ = &me.ReadSeq, parley.EventRead
	}
	if upTo <= *marker {
		return changed, nil
	}
	*marker = upTo
	me.DeliveredSeq = max(me.DeliveredSeq, me.ReadSeq)
	me.UpdatedAt = w.now
	if err := w.PutMember(me); err != nil {
		return changed, err
	}
	return true, w.event(&parley.Event{Type: typ, ConversationID: conv.ID, ActorID: th.UserID, Seq: upTo})
}

// laterStatus reports whether to is further along than from.
func laterStatus(from, to string) bool {
	rank := map[string]int{parley.ChannelQueued: 0, parley.ChannelSent: 1, parley.ChannelDelivered: 2, parley.ChannelRead: 3}
	if from == parley.ChannelFailed {
		return false
	}
	if to == parley.ChannelFailed {
		return true
	}
	return rank[to] > rank[from]
}
