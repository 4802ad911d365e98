package app

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parleyhq/parley"
)

// SendInput is a new message.
type SendInput struct {
	// ClientID makes the send idempotent: sending again with the same
	// ClientID returns the first message and stores nothing new.
	ClientID string
	Kind     parley.MessageKind
	Text     string
	ReplyTo  string
	// Attachments are media ids from Upload, for media kinds (1 to
	// MaxAttachments); the text is then an optional caption.
	Attachments []string
	// StickerID is the sticker of a sticker message.
	StickerID string
	// QuickReplies, Buttons and Cards make a structured message (bots and
	// businesses only); the stored text gets a readable fallback.
	QuickReplies []QuickReply
	Buttons      []Button
	Cards        []Card
	// QuickReply is the payload of the quick reply this message answers.
	QuickReply string
	// ConfirmSensitive sends text the sensitive-data guard flagged (a card
	// number, an IBAN, a secret, a password) after the sender was warned.
	ConfirmSensitive bool
	// Template is the id of an approved template to send (BusinessSend
	// only): its variables are filled in for the conversation.
	Template string
	// SendMode is the platform send mode a business chooses for a reply
	// in a channel conversation (BusinessSend only): a message tag such
	// as "post_purchase_update" ("" picks the first that fits).
	SendMode string
	// OptinRequest is the request of send mode optin_request
	// (BusinessSend only, Messenger): the text is made from it.
	OptinRequest *OptinRequestInput
	// class tells the messaging policy what a business message is (a
	// template, a campaign's); nil is a free-form message.
	class *sendClass
	// ViewOnce makes a media message (image, video, audio, file, gif)
	// that each recipient may open once.
	ViewOnce bool
}

// maxReactionsPerUser caps the distinct emoji one user puts on one message.
const maxReactionsPerUser = 20

func checkClientID(id string) error {
	if len(id) > 64 {
		return parley.Invalid("client_id", "client_id has at most 64 characters")
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return parley.Invalid("client_id", "client_id uses printable ASCII only")
		}
	}
	return nil
}

// Send appends a message to a conversation and returns it once it is
// committed. created is false when ClientID repeated an earlier send.
func (a *App) Send(ctx context.Context, actor *Actor, convID string, in SendInput) (view *MessageView, created bool, err error) {
	defer a.observeSend()(&created, &err)
	if in.Kind == "" {
		in.Kind = parley.MessageText
	}
	withMedia := mediaKinds[in.Kind]
	sticker := in.Kind == parley.MessageSticker
	if in.Kind != parley.MessageText && !withMedia && !sticker {
		return nil, false, parley.Invalid("kind", "kind %q cannot be sent here", in.Kind)
	}
	if err := checkClientID(in.ClientID); err != nil {
		return nil, false, err
	}
	if in.Template != "" && in.class == nil {
		return nil, false, parley.Invalid("template", "templates are sent by a business from its inbox")
	}
	if in.SendMode != "" && in.class == nil {
		return nil, false, parley.Invalid("send_mode", "send_mode is for a business's replies in a channel conversation")
	}
	text, err := cleanText("text", in.Text, a.cfg.MaxTextLen, true)
	if err != nil {
		return nil, false, err
	}
	switch {
	case sticker && (in.StickerID == "" || len(in.Attachments) > 0 || strings.TrimSpace(text) != ""):
		return nil, false, parley.Invalid("sticker_id", "a sticker message has a sticker_id and nothing else")
	case !sticker && in.StickerID != "":
		return nil, false, parley.Invalid("sticker_id", "sticker_id goes with kind sticker")
	case sticker:
	case !withMedia && len(in.Attachments) > 0:
		return nil, false, parley.Invalid("attachments", "a text message has no attachments; send kind image, video, audio, file or gif")
	case !withMedia && strings.TrimSpace(text) == "":
		return nil, false, parley.Invalid("text", "a message needs text")
	case withMedia && len(in.Attachments) == 0:
		return nil, false, parley.Invalid("attachments", "a %s message needs attachments", in.Kind)
	case len(in.Attachments) > MaxAttachments:
		return nil, false, parley.Invalid("attachments", "a message has at most %d attachments", MaxAttachments)
	case in.ViewOnce && (!withMedia || len(in.Attachments) != 1):
		return nil, false, parley.Invalid("view_once", "view_once goes with a media message of one attachment")
	}
	if !in.ConfirmSensitive {
		if err := sensitiveWarning(text, actor.User, "send"); err != nil {
			// A retry of a send that was confirmed went through already.
			if in.ClientID != "" {
				if v, err := a.sentMessage(ctx, actor, convID, in.ClientID); err == nil {
					return v, false, nil
				}
			}
			return nil, false, err
		}
	}
	// The server's filters: a refusing match stops the send here; a
	// flagging one files a report with the message.
	filters, flags, err := a.checkServerFilters(ctx, text)
	if err != nil {
		return nil, false, err
	}
	var data *messageData
	if len(in.QuickReplies)+len(in.Buttons)+len(in.Cards) > 0 {
		if in.Kind != parley.MessageText {
			return nil, false, parley.Invalid("kind", "quick replies, buttons and cards go with kind text")
		}
		if actor.User.Kind == parley.KindPerson {
			return nil, false, parley.Invalid("buttons", "quick replies, buttons and cards are for bots and businesses")
		}
		if data, text, err = structure(text, in.QuickReplies, in.Buttons, in.Cards); err != nil {
			return nil, false, err
		}
		if utf8.RuneCountInString(text) > a.cfg.MaxTextLen {
			return nil, false, parley.Errorf(parley.ETooLarge, "the message with its text fallback is over %d characters", a.cfg.MaxTextLen)
		}
	}
	if in.class != nil && in.class.optin != nil {
		data = &messageData{Optin: in.class.optin}
	}
	if in.QuickReply != "" {
		if len(in.QuickReply) > maxPayload || data != nil {
			return nil, false, parley.Invalid("quick_reply", "quick_reply is the payload (at most %d bytes) of the choice tapped", maxPayload)
		}
		data = &messageData{QuickReply: in.QuickReply}
	}
	if err := a.botLimit(ctx, actor, convID); err != nil {
		return nil, false, err
	}
	if in.ClientID != "" {
		unlock, waited, err := a.repeats.lock(ctx, actor.User.ID+"/"+convID+"/"+in.ClientID)
		if err != nil {
			return nil, false, err
		}
		defer unlock() // after done below: a token given back is there for the next copy
		if waited {
			// Another copy of this send ran here first: when it went
			// through, this one is its repeat (repeatLocks).
			if v, err := a.sentMessage(ctx, actor, convID, in.ClientID); err == nil {
				return v, false, nil
			}
		}
	}
	// The per-conversation limit counts created messages only: a retry of
	// a send that went through is answered, never refused, and a send
	// that creates nothing gives its token back.
	ok, wait, done := a.sendPerConv.Reserve(ctx, actor.User.ID+"/"+convID)
	if !ok {
		if in.ClientID != "" {
			if v, err := a.sentMessage(ctx, actor, convID, in.ClientID); err == nil {
				return v, false, nil
			}
		}
		return nil, false, &parley.Error{Code: parley.ERateLimited, Message: "you are sending too fast in this conversation", RetryAfter: wait}
	}
	defer func() { done(created && err == nil) }()
	err = a.updateKeepingFrames(ctx, func(w *writer) error {
		view, created = nil, false // the store may run this more than once
		// Before any read: an update that may change the message's frame
		// and runs after this one moves the count (directpush.go).
		frames := a.frameWrites.Load()
		c, me, err := membership(w, convID, actor.User.ID)
		if err != nil {
			return err
		}
		request, other, err := a.checkSend(w, c, me, actor)
		if err != nil {
			// A retry of a send that was acknowledged before the rules
			// changed (a block, the request limit) still gets its message.
			if in.ClientID != "" {
				if _, err := w.MessageByClientID(c.ID, actor.User.ID, in.ClientID); err == nil {
					return errDuplicateSend
				}
			}
			return err
		}
		var reply *parley.Message
		if in.ReplyTo != "" {
			reply, err = w.MessageByID(in.ReplyTo)
			if parley.IsNotFound(err) || (err == nil && (reply.ConversationID != c.ID || !me.CanRead(reply.Seq))) {
				return parley.Invalid("reply_to", "reply_to is not a message of this conversation")
			} else if err != nil {
				return err
			}
		}
		seq, err := w.AllocSeq(c.ID, w.now)
		if err != nil {
			return err
		}
		m := &parley.Message{ID: newSortableID(w.now), ConversationID: c.ID, Seq: seq, SenderID: actor.User.ID, ClientID: in.ClientID,
			Kind: in.Kind, Text: text, ReplyTo: in.ReplyTo, CreatedAt: w.now, ExpiresAt: expiry(c, w.now), ViewOnce: in.ViewOnce}
		if actor.Agent != nil {
			m.AgentID = actor.Agent.ID
		}
		if data != nil {
			m.Data = data.encode()
		}
		if err := w.CreateMessage(m); parley.ErrorCode(err) == parley.EConflict && in.ClientID != "" {
			// Idempotency rides on the unique index rather than a lookup
			// before every insert: the savepoint undoes the seq taken.
			return errDuplicateSend
		} else if err != nil {
			return err
		}
		var atts []AttachmentView
		if sticker {
			atts, err = attachSticker(w, actor, m, in.StickerID)
		} else {
			atts, err = attach(w, actor, m, in.Attachments)
		}
		if err != nil {
			return err
		}
		if in.class != nil && in.class.optin != nil && in.class.optin.Image != "" {
			// The request's image is the message's: the team sees it and
			// the platform fetches it by the channel's signed link.
			img, err := attach(w, actor, &parley.Message{ID: m.ID, ConversationID: m.ConversationID, Kind: parley.MessageImage}, []string{in.class.optin.Image})
			if err != nil {
				return parley.Invalid("optin_request.image", "%s", strings.Replace(parley.ErrorMessage(err), "attachments", "image", 1))
			}
			atts = append(atts, img...)
		}
		if err := a.inboxOnSend(w, c, m, actor, in.class); err != nil {
			return err
		}
		if request != nil {
			if _, err := a.scoreRequest(w, c, request, actor.User, m.Text, filters); err != nil {
				return err
			}
		}
		if len(flags) > 0 {
			if err := a.fileFilterReport(w, m, flags[0]); err != nil {
				return err
			}
		}
		if err := w.messageCreated(m); err != nil {
			return err
		}
		if other != nil {
			if err := w.handOver(frames, c, m, me, other); err != nil {
				return err
			}
		}
		created = true
		view = &MessageView{ID: m.ID, ConversationID: c.ID, Seq: seq, Sender: summarize(actor.User), ClientID: m.ClientID,
			Kind: string(m.Kind), Text: m.Text, CreatedAt: m.CreatedAt, Attachments: atts, ExpiresAt: m.ExpiresAt, ViewOnce: m.ViewOnce,
			Automated: actor.User.Kind == parley.KindBot || (actor.Agent != nil && actor.Agent.Kind == parley.KindBot)}
		view.applyData(m.Data)
		if reply != nil {
			view.ReplyTo = replyPreview(reply)
			if reply.SenderID != actor.User.ID {
				rs, err := w.UserByID(reply.SenderID)
				if err != nil && !parley.IsNotFound(err) {
					return err
				}
				if hiddenFor(rs, actor.User.ID) {
					view.ReplyTo.Text, view.ReplyTo.Hidden = "", true
				}
			}
		}
		if actor.Agent != nil {
			view.Agent = summarize(actor.Agent)
		}
		return nil
	})
	if errors.Is(err, errDuplicateSend) {
		view, err = a.sentMessage(ctx, actor, convID, in.ClientID)
	}
	if err == nil && created {
		a.maybeFetchCard(view, actor.User.ID)
	}
	return view, created, err
}

// attach sends the actor's uploads with m, in order: each must be the
// actor's, not sent before, and of the message's kind (a file message
// takes any).
func attach(w *writer, actor *Actor, m *parley.Message, ids []string) ([]AttachmentView, error) {
	var out []AttachmentView
	seen := map[string]bool{}
	for i, id := range ids {
		if seen[id] {
			return nil, parley.Invalid("attachments", "media %s is listed twice", id)
		}
		seen[id] = true
		md, err := w.MediaByID(id)
		if parley.IsNotFound(err) || (err == nil && md.OwnerID != actor.User.ID && (actor.Agent == nil || md.OwnerID != actor.Agent.ID)) {
			return nil, parley.Invalid("attachments", "no upload %q of yours", id)
		} else if err != nil {
			return nil, err
		}
		if md.MessageID != "" {
			return nil, parley.Invalid("attachments", "media %s was already sent; upload it again", id)
		}
		if m.Kind != parley.MessageFile && md.Kind != m.Kind {
			return nil, parley.Invalid("attachments", "media %s is %s, not %s", id, md.Kind, m.Kind)
		}
		if err := w.AttachMedia(id, m.ConversationID, m.ID, i); err != nil {
			return nil, err
		}
		md.ConversationID, md.MessageID, md.Position = m.ConversationID, m.ID, i
		out = append(out, attachmentView(md))
	}
	return out, nil
}

// errDuplicateSend rolls back a send whose client id was used before.
var errDuplicateSend = errors.New("duplicate client id")

// sentMessage returns the actor's earlier message with clientID.
func (a *App) sentMessage(ctx context.Context, actor *Actor, convID, clientID string) (*MessageView, error) {
	var view *MessageView
	err := a.view(ctx, func(tx parley.Tx) error {
		c, me, err := membership(tx, convID, actor.User.ID)
		if err != nil {
			return err
		}
		m, err := tx.MessageByClientID(convID, actor.User.ID, clientID)
		if err != nil {
			return err
		}
		vs, err := messageViews(tx, c, me, []*parley.Message{m})
		if err != nil {
			return err
		}
		view = vs[0]
		return nil
	})
	return view, err
}

// checkSend applies the rules for sending into c: blocks, requests and
// their limit, group membership. Replying to a request accepts it; a new
// message brings an archived direct conversation back to the recipient's
// inbox unless they muted it.
// It returns the recipient's membership when the message goes into a
// direct request (the recipient has not accepted), for triage, and the
// other member of a direct conversation as it now stands (no block
// stands between the two).
func (a *App) checkSend(w *writer, c *parley.Conversation, me *parley.Member, actor *Actor) (request, other *parley.Member, err error) {
	if c.Kind == parley.ConversationGroup {
		if me.Status != parley.StatusActive {
			_, _, err := activeMembership(w, c.ID, actor.User.ID)
			return nil, nil, err
		}
		return nil, nil, nil
	}
	other, blocked, err := otherMember(w, c, actor.User.ID)
	if err != nil {
		return nil, nil, err
	}
	if blocked {
		return nil, nil, parley.Errorf(parley.EDMNotAllowed, "you can't message this account")
	}
	if me.Status == parley.StatusPending {
		if err := acceptRequest(w, c, me); err != nil {
			return nil, nil, err
		}
	}
	switch other.Status {
	case parley.StatusLeft, parley.StatusRemoved:
		// Only account deletion takes a member out of a direct conversation.
		return nil, nil, parley.Errorf(parley.EDMNotAllowed, "this account was deleted")
	case parley.StatusPending, parley.StatusDeclined:
		if other.Status == parley.StatusPending {
			request = other
		}
		n, err := w.CountMessagesBySender(c.ID, actor.User.ID)
		if err != nil {
			return nil, nil, err
		}
		if n >= a.cfg.RequestLimit {
			return nil, nil, parley.Errorf(parley.ERequestLimit, "you can send %d messages until they accept your request", a.cfg.RequestLimit)
		}
	case parley.StatusActive:
		if other.Folder == parley.FolderArchived && (other.MutedUntil == nil || other.MutedUntil.Before(w.now)) {
			other.Folder, other.UpdatedAt = parley.FolderInbox, w.now
			if err := w.PutMember(other); err != nil {
				return nil, nil, err
			}
			if err := w.event(&parley.Event{Type: parley.EventFolderChanged, ConversationID: c.ID, UserID: other.UserID, ActorID: actor.User.ID,
				Data: mustJSON(map[string]any{"folder": other.Folder})}); err != nil {
				return nil, nil, err
			}
		}
	}
	return request, other, nil
}

// HistoryQuery pages through a conversation by sequence number. With
// AfterSeq the page after it is returned (AfterSeq 0: from the start); with
// BeforeSeq the page before it; with neither the newest messages. Items are
// ascending either way.
type HistoryQuery struct {
	AfterSeq  *int64
	BeforeSeq *int64
	Cursor    string
	Limit     int
}

// encodeHistoryCursor names the page after seq ("a12") or before it ("b12").
func encodeHistoryCursor(after bool, seq int64) string {
	if after {
		return "a" + strconv.FormatInt(seq, 10)
	}
	return "b" + strconv.FormatInt(seq, 10)
}

// decodeHistoryCursor reads a cursor of encodeHistoryCursor: exactly one of
// after and before is set, to a sequence number ≥ 0. Only the canonical
// spelling is accepted ("a+5" and "a05" are not), so a cursor names one page.
func decodeHistoryCursor(s string) (after, before *int64, err error) {
	bad := parley.Invalid("cursor", "cursor is not one this server gave")
	if len(s) < 2 || (s[0] != 'a' && s[0] != 'b') {
		return nil, nil, bad
	}
	n, perr := strconv.ParseInt(s[1:], 10, 64)
	if perr != nil || n < 0 || strconv.FormatInt(n, 10) != s[1:] {
		return nil, nil, bad
	}
	if s[0] == 'a' {
		return &n, nil, nil
	}
	return nil, &n, nil
}

// Messages returns a page of a conversation's history the actor may see.
func (a *App) Messages(ctx context.Context, actor *Actor, convID string, q HistoryQuery) (*Page[*MessageView], error) {
	if q.Cursor != "" {
		after, before, err := decodeHistoryCursor(q.Cursor)
		if err != nil {
			return nil, err
		}
		q.AfterSeq, q.BeforeSeq = after, before
	}
	if q.AfterSeq != nil && q.BeforeSeq != nil {
		return nil, parley.Invalid("after_seq", "give after_seq or before_seq, not both")
	}
	var after, before int64
	if q.AfterSeq != nil {
		after = *q.AfterSeq
	}
	if q.BeforeSeq != nil {
		before = *q.BeforeSeq
	}
	if after < 0 || after == math.MaxInt64 {
		return nil, parley.Invalid("after_seq", "after_seq is a sequence number")
	} else if before < 0 {
		return nil, parley.Invalid("before_seq", "sequence numbers are not negative")
	}
	limit, err := pageLimit(q.Limit, 50)
	if err != nil {
		return nil, err
	}
	page := &Page[*MessageView]{}
	err = a.view(ctx, func(tx parley.Tx) error {
		c, me, err := membership(tx, convID, actor.User.ID)
		if err != nil {
			return err
		}
		r := parley.MessageRange{ConversationID: c.ID, AfterSeq: after, BeforeSeq: before, MinSeq: me.JoinedSeq + 1,
			MaxSeq: me.MaxReadable(c.LastSeq), Limit: limit + 1}
		r.Descending = q.AfterSeq == nil
		msgs, err := tx.Messages(r)
		if err != nil {
			return err
		}
		if len(msgs) > limit {
			if r.Descending {
				msgs = msgs[1:]
				page.NextCursor = encodeHistoryCursor(false, msgs[0].Seq)
			} else {
				msgs = msgs[:limit]
				page.NextCursor = encodeHistoryCursor(true, msgs[len(msgs)-1].Seq)
			}
		}
		page.Items, err = messageViews(tx, c, me, msgs)
		return err
	})
	return page, err
}

// ownMessage loads a message of the actor's in a conversation they are an
// active member of.
func ownMessage(w *writer, actor *Actor, convID, msgID string) (*parley.Conversation, *parley.Member, *parley.Message, error) {
	c, me, err := activeMembership(w, convID, actor.User.ID)
	if err != nil {
		return nil, nil, nil, err
	}
	m, err := w.MessageByID(msgID)
	if parley.IsNotFound(err) || (err == nil && (m.ConversationID != c.ID || !me.CanRead(m.Seq))) {
		return nil, nil, nil, parley.Errorf(parley.ENotFound, "message not found")
	} else if err != nil {
		return nil, nil, nil, err
	}
	if m.SenderID != actor.User.ID || m.Kind == parley.MessageSystem {
		return nil, nil, nil, parley.Errorf(parley.EForbidden, "you can only change your own messages")
	}
	if actor.Agent != nil && m.AgentID != actor.Agent.ID {
		// For a business: its author, or an admin of the team.
		if ag, err := w.Agent(actor.User.ID, actor.Agent.ID); err != nil || ag.Role != parley.AgentRoleAdmin {
			return nil, nil, nil, parley.Errorf(parley.EForbidden, "only its author or an admin may change this message")
		}
	}
	return c, me, m, nil
}

// refuseIfBlocked refuses an action in a direct conversation whose two
// members are separated by a block: both directions go silent.
func refuseIfBlocked(tx parley.Tx, c *parley.Conversation, userID string) error {
	if c.Kind != parley.ConversationDirect {
		return nil
	}
	_, blocked, err := otherMember(tx, c, userID)
	if err != nil {
		return err
	}
	if blocked {
		return parley.Errorf(parley.EDMNotAllowed, "you can't message this account")
	}
	return nil
}

// Edit replaces the text of the actor's own message within the edit window,
// keeping the previous version: EditMessage without confirm_sensitive.
func (a *App) Edit(ctx context.Context, actor *Actor, convID, msgID, text string) (*MessageView, error) {
	return a.EditMessage(ctx, actor, convID, msgID, EditInput{Text: text})
}

// EditInput is a message's new text.
type EditInput struct {
	Text string
	// ConfirmSensitive saves text the sensitive-data guard flagged, after
	// the sender was warned (as on a send).
	ConfirmSensitive bool
}

// EditMessage replaces the text of the actor's own message within the
// edit window, keeping the previous version. The new text goes through
// the sensitive-data guard and the server's filters like a send.
func (a *App) EditMessage(ctx context.Context, actor *Actor, convID, msgID string, in EditInput) (*MessageView, error) {
	confirm := in.ConfirmSensitive
	text, err := cleanText("text", in.Text, a.cfg.MaxTextLen, true)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(text) == "" {
		return nil, parley.Invalid("text", "a message needs text; unsend it instead")
	}
	// The guard looks at the edit as a whole: an edit that keeps a value
	// the sender confirmed at send time warns again, which is the safe
	// side (the client shows the same dialog).
	if !confirm {
		if err := sensitiveWarning(text, actor.User, "edit"); err != nil {
			return nil, err
		}
	}
	// An edit may not bring in what the server's filters refuse.
	if _, _, err := a.checkServerFilters(ctx, text); err != nil {
		return nil, err
	}
	var view *MessageView
	err = a.update(ctx, func(w *writer) error {
		c, me, m, err := ownMessage(w, actor, convID, msgID)
		if err != nil {
			return err
		}
		if err := refuseIfBlocked(w, c, actor.User.ID); err != nil {
			return err
		}
		if m.DeletedAt != nil {
			return parley.Errorf(parley.EConflict, "the message was unsent")
		}
		if w.now.Sub(m.CreatedAt) > a.cfg.EditWindow {
			return parley.Errorf(parley.EEditWindow, "messages can be edited for %s after sending", a.cfg.EditWindow)
		}
		if err := a.channelOnEdit(w, m); err != nil {
			return err
		}
		if m.Text != text {
			if err := w.AddMessageEdit(&parley.MessageEdit{MessageID: m.ID, Text: m.Text, EditedAt: w.now}); err != nil {
				return err
			}
			if err := w.UpdateMessageText(m.ID, text, w.now); err != nil {
				return err
			}
			m.Text, m.EditedAt = text, &w.now
			if err := w.event(&parley.Event{Type: parley.EventMessageEdited, ConversationID: c.ID, ActorID: actor.User.ID, MessageID: m.ID, Seq: m.Seq}); err != nil {
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
	return view, err
}

// Unsend deletes the actor's own message for everyone: its content, edits
// and reactions are purged; a tombstone keeps its place in the sequence.
func (a *App) Unsend(ctx context.Context, actor *Actor, convID, msgID string) error {
	return a.update(ctx, func(w *writer) error {
		c, _, m, err := ownMessage(w, actor, convID, msgID)
		if err != nil {
			return err
		}
		if m.DeletedAt != nil {
			return nil
		}
		if err := a.channelOnUnsend(w, m); err != nil {
			return err
		}
		if err := w.PurgeMessage(m.ID, w.now); err != nil {
			return err
		}
		return w.event(&parley.Event{Type: parley.EventMessageUnsent, ConversationID: c.ID, ActorID: actor.User.ID, MessageID: m.ID, Seq: m.Seq})
	})
}

// EditHistory lists the previous versions of a message the actor can see.
func (a *App) EditHistory(ctx context.Context, actor *Actor, convID, msgID string) ([]EditView, error) {
	var out []EditView
	err := a.view(ctx, func(tx parley.Tx) error {
		c, me, err := membership(tx, convID, actor.User.ID)
		if err != nil {
			return err
		}
		m, err := tx.MessageByID(msgID)
		if parley.IsNotFound(err) || (err == nil && (m.ConversationID != c.ID || !me.CanRead(m.Seq))) {
			return parley.Errorf(parley.ENotFound, "message not found")
		} else if err != nil {
			return err
		}
		edits, err := tx.MessageEdits(m.ID)
		if err != nil {
			return err
		}
		var cache *teamMask
		mask := maskForTeam(tx, c, me, m, &cache) // earlier versions are masked like the message
		out = make([]EditView, 0, len(edits))
		for _, e := range edits {
			out = append(out, EditView{Text: maskText(e.Text, mask), EditedAt: e.EditedAt})
		}
		return nil
	})
	return out, err
}

// React adds (on) or removes the actor's emoji on a message. Adding twice or
// removing what is not there changes nothing.
func (a *App) React(ctx context.Context, actor *Actor, convID, msgID, emoji string, on bool) error {
	if err := checkEmoji(emoji); err != nil {
		return err
	}
	return a.update(ctx, func(w *writer) error {
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
		if m.DeletedAt != nil || m.Kind == parley.MessageSystem {
			return parley.Errorf(parley.EConflict, "this message takes no reactions")
		}
		if err := refuseIfBlocked(w, c, actor.User.ID); err != nil {
			return err
		}
		if on {
			n, err := w.CountUserReactions(m.ID, actor.User.ID)
			if err != nil {
				return err
			}
			if n >= maxReactionsPerUser {
				return parley.Errorf(parley.EConflict, "at most %d reactions per message", maxReactionsPerUser)
			}
		}
		changed, err := w.SetReaction(&parley.Reaction{MessageID: m.ID, UserID: actor.User.ID, Emoji: emoji, CreatedAt: w.now}, on)
		if err != nil || !changed {
			return err
		}
		if err := a.channelOnReact(w, m, actor, emoji, on); err != nil {
			return err
		}
		typ := parley.EventReactionAdded
		if !on {
			typ = parley.EventReactionRemoved
		}
		return w.event(&parley.Event{Type: typ, ConversationID: c.ID, ActorID: actor.User.ID, MessageID: m.ID, Seq: m.Seq, Data: mustJSON(map[string]string{"emoji": emoji})})
	})
}

// MarkRead moves the actor's read marker up to seq; it never moves back.
// Reading implies delivery. While the actor has not accepted a request, or
// a block stands between the two members of a direct conversation, the
// marker stays private to the actor's own devices.
func (a *App) MarkRead(ctx context.Context, actor *Actor, convID string, seq int64) (int64, error) {
	return a.moveMarker(ctx, actor, convID, seq, true)
}

// moveMarker moves the read (or delivered) marker forward.
func (a *App) moveMarker(ctx context.Context, actor *Actor, convID string, seq int64, read bool) (int64, error) {
	if seq <= 0 {
		return 0, parley.Invalid("seq", "seq is a positive sequence number")
	}
	var result int64
	// A marker is no part of any message's view.
	err := a.updateKeepingFrames(ctx, func(w *writer) error {
		c, me, err := membership(w, convID, actor.User.ID)
		if err != nil {
			return err
		}
		seq := min(seq, me.MaxReadable(c.LastSeq))
		current := &me.DeliveredSeq
		typ := parley.EventDelivered
		if read {
			current, typ = &me.ReadSeq, parley.EventRead
		}
		result = *current
		if seq <= *current {
			return nil
		}
		*current, result = seq, seq
		delivered := me.DeliveredSeq
		me.DeliveredSeq = max(me.DeliveredSeq, me.ReadSeq)
		me.UpdatedAt = w.now
		if err := w.PutMember(me); err != nil {
			return err
		}
		e := &parley.Event{Type: typ, ConversationID: c.ID, ActorID: actor.User.ID, Seq: seq}
		private := me.Status != parley.StatusActive || refuseIfBlocked(w, c, actor.User.ID) != nil
		if private || (read && actor.User.HideReadReceipts) {
			e.UserID = actor.User.ID // the marker stays private
		}
		if err := w.event(e); err != nil {
			return err
		}
		// Reading implies delivery: with read receipts off, the sender
		// still learns that the message reached a device (a read that
		// overtook the device's delivered frame would otherwise leave
		// the sender at "Sent").
		if read && !private && actor.User.HideReadReceipts && me.DeliveredSeq > delivered {
			return w.event(&parley.Event{Type: parley.EventDelivered, ConversationID: c.ID, ActorID: actor.User.ID, Seq: me.DeliveredSeq})
		}
		return nil
	})
	a.observeMarker(read, err)
	return result, err
}
