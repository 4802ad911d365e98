package app

import (
	"encoding/json"
	"time"

	"github.com/parleyhq/parley"
)

// The view types below are what clients see. Deciding what each viewer may
// see (blocked profiles, hidden read receipts, declined requests) is a rule,
// so it lives here rather than in a transport.

// UserSummary names a user inside other objects.
type UserSummary struct {
	ID          string `json:"id"`
	Handle      string `json:"handle"`
	DisplayName string `json:"display_name"`
	Kind        string `json:"kind"`
	// Deleted marks an account that was deleted: DisplayName is
	// "Deleted account" and Handle is empty.
	Deleted bool `json:"deleted,omitempty"`
}

func summarize(u *parley.User) *UserSummary {
	if u == nil {
		return nil
	}
	if accountGone(u) {
		return &UserSummary{ID: u.ID, DisplayName: DeletedAccountName, Kind: string(u.Kind), Deleted: true}
	}
	return &UserSummary{ID: u.ID, Handle: u.Handle, DisplayName: u.DisplayName, Kind: string(u.Kind)}
}

// Me is the signed-in user's own account.
type Me struct {
	UserSummary
	Bio          string    `json:"bio"`
	DMPolicy     string    `json:"dm_policy"`
	ShowPresence bool      `json:"show_presence"`
	ReadReceipts bool      `json:"read_receipts"`
	CreatedAt    time.Time `json:"created_at"`
	// ServerAdmin is set for the server's administrators (moderation).
	ServerAdmin bool `json:"server_admin,omitempty"`
	// WarnPhone: the sensitive-data guard warns before the user sends a
	// phone number.
	WarnPhone bool `json:"warn_phone"`
}

func meView(u *parley.User) *Me {
	return &Me{UserSummary: *summarize(u), Bio: u.Bio, DMPolicy: string(u.DMPolicy), ShowPresence: u.ShowPresence, ReadReceipts: !u.HideReadReceipts, CreatedAt: u.CreatedAt,
		ServerAdmin: u.ServerAdmin, WarnPhone: u.WarnPhone}
}

// Profile is another user as the viewer may see them. When either blocks
// the other only Handle (and BlockedByMe) are set.
type Profile struct {
	ID           string     `json:"id,omitempty"`
	Handle       string     `json:"handle"`
	DisplayName  string     `json:"display_name,omitempty"`
	Kind         string     `json:"kind,omitempty"`
	Bio          string     `json:"bio,omitempty"`
	CreatedAt    *time.Time `json:"created_at,omitempty"`
	Followers    *int       `json:"followers_count,omitempty"`
	Following    *int       `json:"following_count,omitempty"`
	FollowedByMe bool       `json:"followed_by_me"`
	FollowsMe    bool       `json:"follows_me"`
	BlockedByMe  bool       `json:"blocked_by_me"`
	// CanMessage says what starting a conversation would do: "inbox",
	// "requests" or "refused".
	CanMessage string `json:"can_message,omitempty"`
	// IceBreakers are a business's starter questions, offered before the
	// first message.
	IceBreakers []string `json:"ice_breakers,omitempty"`
}

// SessionView is one device session.
type SessionView struct {
	ID         string    `json:"id"`
	Device     string    `json:"device"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	Current    bool      `json:"current"`
}

// MemberView is a member as others see them.
type MemberView struct {
	User    *UserSummary `json:"user"`
	Role    string       `json:"role"`
	Status  string       `json:"status"`
	ReadSeq int64        `json:"read_seq"`
}

// ConversationView is a conversation from one member's point of view.
type ConversationView struct {
	ID             string     `json:"id"`
	Kind           string     `json:"kind"`
	Title          string     `json:"title,omitempty"`
	CreatedBy      string     `json:"created_by"`
	CreatedAt      time.Time  `json:"created_at"`
	InvitePolicy   string     `json:"invite_policy,omitempty"`
	LastSeq        int64      `json:"last_seq"`
	LastActivityAt time.Time  `json:"last_activity_at"`
	MemberCount    int        `json:"member_count"`
	Folder         string     `json:"folder"`
	Status         string     `json:"status"`
	Role           string     `json:"role"`
	Pinned         bool       `json:"pinned"`
	MutedUntil     *time.Time `json:"muted_until,omitempty"`
	ReadSeq        int64      `json:"read_seq"`
	UnreadCount    int        `json:"unread_count"`
	// Request is true while the viewer has not accepted this conversation:
	// clients show a limited preview (media hidden, links not clickable).
	Request bool `json:"request"`
	// Members lists the members (for groups in GET only, for direct always).
	Members     []MemberView `json:"members,omitempty"`
	LastMessage *MessageView `json:"last_message,omitempty"`
	// Triage is the spam score of a request and why, for its recipient
	// only.
	Triage *Triage `json:"triage,omitempty"`
	// DisappearAfter is the disappearing-messages timer in seconds (0: off).
	DisappearAfter int64 `json:"disappear_after"`
	// LegalHold is true while a legal hold keeps the conversation's
	// messages: timers and retention are frozen.
	LegalHold bool `json:"legal_hold"`
}

// ReactionCount is one emoji's count on a message.
type ReactionCount struct {
	Emoji string `json:"emoji"`
	Count int    `json:"count"`
	Me    bool   `json:"me"`
}

// ReplyPreview is the message a reply points at, shortened.
type ReplyPreview struct {
	ID       string `json:"id"`
	Seq      int64  `json:"seq,omitempty"`
	SenderID string `json:"sender_id,omitempty"`
	Text     string `json:"text,omitempty"`
	Deleted  bool   `json:"deleted,omitempty"`
	// Redacted is set when the replied-to message was redacted: Text is
	// the placeholder.
	Redacted bool `json:"redacted,omitempty"`
	// Hidden is set when a moderator hid the replied-to message's sender
	// (a ban with hide_messages): the preview carries no text.
	Hidden bool `json:"hidden,omitempty"`
}

// MessageView is a message as a member sees it.
type MessageView struct {
	ID             string          `json:"id"`
	ConversationID string          `json:"conversation_id"`
	Seq            int64           `json:"seq"`
	Sender         *UserSummary    `json:"sender"`
	ClientID       string          `json:"client_id,omitempty"`
	Kind           string          `json:"kind"`
	Text           string          `json:"text,omitempty"`
	System         json.RawMessage `json:"system,omitempty"`
	ReplyTo        *ReplyPreview   `json:"reply_to,omitempty"`
	CreatedAt      time.Time       `json:"created_at"`
	EditedAt       *time.Time      `json:"edited_at,omitempty"`
	Deleted        bool            `json:"deleted,omitempty"`
	DeletedAt      *time.Time      `json:"deleted_at,omitempty"`
	// Hidden is set when a moderator hid the sender's messages (a ban):
	// the content is gone for everyone but the sender.
	Hidden bool `json:"hidden,omitempty"`
	// Redacted is set when the sender (or a business admin) redacted the
	// message: Text is the placeholder RedactedText, the rest is gone.
	Redacted   bool            `json:"redacted,omitempty"`
	RedactedAt *time.Time      `json:"redacted_at,omitempty"`
	Reactions  []ReactionCount `json:"reactions,omitempty"`
	// Attachments are the media of image, video, audio, file and gif
	// messages, in order.
	Attachments []AttachmentView `json:"attachments,omitempty"`
	// Card is the link preview of the first URL of the text, when the
	// server could make one; it arrives after the send (message.updated).
	Card *CardView `json:"card,omitempty"`
	// Agent is the team member who wrote a business's message; only the
	// business's own side sees it. Customers see AgentName (a first name)
	// when the business shows agent names.
	Agent     *UserSummary `json:"agent,omitempty"`
	AgentName string       `json:"agent_name,omitempty"`
	// QuickReplies, Buttons and Cards are the parts of a structured
	// message; Text always reads well without them (it ends with a
	// fallback listing them), and Body is the text without that fallback,
	// for clients that draw the parts.
	QuickReplies []QuickReply `json:"quick_replies,omitempty"`
	Buttons      []Button     `json:"buttons,omitempty"`
	Cards        []Card       `json:"cards,omitempty"`
	Body         *string      `json:"body,omitempty"`
	// Automated marks messages no person wrote: sent by a bot, or by
	// the server for a business (away message, rating request, rules).
	Automated bool `json:"automated,omitempty"`
	// QuickReply is the payload of the quick reply this message answers.
	QuickReply string `json:"quick_reply,omitempty"`
	// OptinRequest is a notification messages opt-in request sent to a
	// person on Messenger (Text says it in words).
	OptinRequest *OptinRequestView `json:"optin_request,omitempty"`
	// Channel, in a channel conversation, is the platform delivery
	// status of the message (failures say why).
	Channel *ChannelDelivery `json:"channel,omitempty"`
	// Masked is true when the business's team sees card numbers, IBANs,
	// secrets or passwords of the customer's text masked.
	Masked bool `json:"masked,omitempty"`
	// ExpiresAt is when a disappearing message is purged (unless a legal
	// hold keeps it); Expired marks the tombstone of one that was.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	Expired   bool       `json:"expired,omitempty"`
	// ViewOnce media may be opened once by each recipient. Opened tells a
	// recipient they opened it, and the sender that someone did.
	ViewOnce bool `json:"view_once,omitempty"`
	Opened   bool `json:"opened,omitempty"`
}

// applyData fills the structured parts of a view from Message.Data.
func (v *MessageView) applyData(data string) {
	if data == "" {
		return
	}
	d := parseData(data)
	v.QuickReplies, v.Buttons, v.Cards, v.QuickReply, v.OptinRequest = d.QuickReplies, d.Buttons, d.Cards, d.QuickReply, d.Optin
	v.Automated = v.Automated || d.Automated
	if d.structured() {
		body := d.Body
		v.Body = &body
	}
}

// QuickReply is one tappable choice; tapping sends Payload as text.
type QuickReply struct {
	Title   string `json:"title"`
	Payload string `json:"payload"`
}

// EditView is a previous version of a message.
type EditView struct {
	Text     string    `json:"text"`
	EditedAt time.Time `json:"edited_at"`
}

// Page is a cursor-paginated list.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

const previewLen = 140

// messageViews hydrates messages for the viewer, a member of their
// conversation: senders, reply previews and reaction counts, in a handful of
// queries for the whole page. A reply to a message the viewer may not read
// (from before they joined) shows only that it is a reply.
func messageViews(tx parley.Tx, c *parley.Conversation, viewer *parley.Member, msgs []*parley.Message) ([]*MessageView, error) {
	if len(msgs) == 0 {
		return []*MessageView{}, nil
	}
	vs, err := messageViewsOf(tx, []convMessages{{c, viewer, msgs}})
	if err != nil {
		return nil, err
	}
	return vs[0], nil
}

// convMessages is the messages of one conversation to hydrate for one of
// its members.
type convMessages struct {
	c      *parley.Conversation
	viewer *parley.Member
	msgs   []*parley.Message
}

// messageViewsOf hydrates the messages of several conversations at once,
// each for its viewer, as messageViews does: what does not depend on the
// conversation (senders, reactions, attachments, view-once opens) is one
// query per kind for all of them, so that a sync page or a list page
// touching 50 conversations costs a handful of queries, not 50 handfuls.
// It returns the views of each group in order.
func messageViewsOf(tx parley.Tx, groups []convMessages) ([][]*MessageView, error) {
	var all []*parley.Message
	for i, g := range groups {
		msgs, err := hideExpired(tx, g.msgs)
		if err != nil {
			return nil, err
		}
		groups[i].msgs = msgs
		all = append(all, msgs...)
	}
	ids := make([]string, 0, len(all))
	userIDs := map[string]bool{}
	for _, g := range groups {
		userIDs[g.viewer.UserID] = true // whether a viewer may mask (maskForTeam)
	}
	for _, m := range all {
		ids = append(ids, m.ID)
		userIDs[m.SenderID] = true
		if m.AgentID != "" {
			userIDs[m.AgentID] = true
		}
	}
	var opens map[string][]string
	var err error
	if onceIDs := viewOnceIDs(all); len(onceIDs) > 0 {
		if opens, err = tx.MessageOpens(onceIDs); err != nil {
			return nil, err
		}
	}
	users := map[string]*parley.User{}
	if len(userIDs) > 0 {
		if users, err = tx.UsersByIDs(keys(userIDs)); err != nil {
			return nil, err
		}
	}
	var reactions map[string][]*parley.Reaction
	if len(ids) > 0 {
		if reactions, err = tx.Reactions(ids); err != nil {
			return nil, err
		}
	}
	var withMedia []string
	for _, m := range all {
		if (mediaKinds[m.Kind] || m.Kind == parley.MessageSticker) && m.DeletedAt == nil {
			withMedia = append(withMedia, m.ID)
		}
	}
	var attachments map[string][]*parley.Media
	if len(withMedia) > 0 {
		if attachments, err = tx.MediaOfMessages(withMedia); err != nil {
			return nil, err
		}
	}
	hidden, err := blockedPeers(tx, groups)
	if err != nil {
		return nil, err
	}
	out := make([][]*MessageView, len(groups))
	for i, g := range groups {
		if out[i], err = renderMessages(tx, g.c, g.viewer, g.msgs, hidden[i], users, reactions, attachments, opens); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// blockedPeers is blockedPeer for each group with messages, with the
// blocks between each viewer and the other members of their direct
// conversations read in one query per viewer (a sync page's 50 direct
// conversations are one query, not 50).
func blockedPeers(tx parley.Tx, groups []convMessages) ([]string, error) {
	out := make([]string, len(groups))
	others := map[string][]string{} // viewer → the other members
	peer := make([]string, len(groups))
	for i, g := range groups {
		if g.c.Kind != parley.ConversationDirect || len(g.msgs) == 0 {
			continue
		}
		other, err := directPeer(g.c, g.viewer.UserID)
		if err != nil {
			return nil, err
		}
		peer[i] = other
		others[g.viewer.UserID] = append(others[g.viewer.UserID], other)
	}
	blocks := map[string]map[string]bool{}
	for viewer, ids := range others {
		b, err := tx.BlocksAmong(viewer, ids)
		if err != nil {
			return nil, err
		}
		blocks[viewer] = b
	}
	for i, g := range groups {
		if peer[i] != "" && blocks[g.viewer.UserID][peer[i]] {
			out[i] = peer[i]
		}
	}
	return out, nil
}

// renderMessages builds the views of one conversation's messages from
// what messageViewsOf loaded; users gains the senders of reply targets.
// hidden is the other member of a direct conversation when a block
// stands between them and the viewer (blockedPeers).
func renderMessages(tx parley.Tx, c *parley.Conversation, viewer *parley.Member, msgs []*parley.Message, hidden string,
	users map[string]*parley.User, reactions map[string][]*parley.Reaction, attachments map[string][]*parley.Media,
	opens map[string][]string) ([]*MessageView, error) {
	viewerID := viewer.UserID
	ids := make([]string, 0, len(msgs))
	mine := map[string]*parley.User{} // this conversation's writers, for channelLinks
	for _, m := range msgs {
		ids = append(ids, m.ID)
		for _, id := range []string{m.SenderID, m.AgentID} {
			if u := users[id]; u != nil {
				mine[id] = u
			}
		}
	}
	links, err := channelLinks(tx, c, mine, ids)
	if err != nil {
		return nil, err
	}
	out := make([]*MessageView, 0, len(msgs))
	var showNames *bool     // the business's setting, loaded at its first agent-written message
	var maskCache *teamMask // what the viewer masks of its customers' data, for a business
	if u := users[viewerID]; u != nil && u.Kind != parley.KindBusiness {
		maskCache = &teamMask{} // only a business has customers (an inbox item names one)
	}
	for _, m := range msgs {
		v := &MessageView{
			ID: m.ID, ConversationID: m.ConversationID, Seq: m.Seq, Kind: string(m.Kind),
			Text: m.Text, CreatedAt: m.CreatedAt, EditedAt: m.EditedAt, DeletedAt: m.DeletedAt,
			Deleted: m.DeletedAt != nil, ExpiresAt: m.ExpiresAt, ViewOnce: m.ViewOnce,
			Expired: m.DeletedAt != nil && m.ExpiresAt != nil && !m.DeletedAt.Before(*m.ExpiresAt),
		}
		if m.RedactedAt != nil && m.DeletedAt == nil {
			v.Text, v.Redacted, v.RedactedAt = RedactedText, true, m.RedactedAt
		}
		if m.ViewOnce {
			for _, u := range opens[m.ID] {
				if u == viewerID || m.SenderID == viewerID {
					v.Opened = true
				}
			}
		}
		switch u := users[m.SenderID]; {
		case u == nil:
			v.Sender = &UserSummary{ID: m.SenderID}
		case u.ID == hidden:
			v.Sender = &UserSummary{ID: u.ID, Handle: u.Handle} // a block leaves the handle only
		default:
			v.Sender = summarize(u)
		}
		if m.SenderID == viewerID {
			v.ClientID = m.ClientID
		} else if hiddenFor(users[m.SenderID], viewerID) && m.DeletedAt == nil {
			v.Text, v.Hidden = "", true
			out = append(out, v)
			continue
		}
		if mask := maskForTeam(tx, c, viewer, m, &maskCache); mask.any() {
			v.Text = maskText(v.Text, mask)
			v.Masked = v.Text != m.Text
		}
		if m.AgentID != "" && m.DeletedAt == nil {
			if m.SenderID == viewerID {
				v.Agent = summarize(users[m.AgentID])
			} else {
				if showNames == nil {
					st, err := loadSettings(tx, m.SenderID)
					if err != nil {
						return nil, err
					}
					showNames = &st.ShowAgentNames
				}
				if *showNames && users[m.AgentID] != nil {
					v.AgentName = firstName(users[m.AgentID].DisplayName)
				}
			}
		}
		if l := links[m.ID]; l != nil && l.Direction == parley.ChannelOut {
			v.Channel = &ChannelDelivery{Platform: l.platform, Status: l.Status, Mode: l.Mode, Error: l.Error}
		} else if l != nil && m.DeletedAt == nil {
			if pa := pendingAttachments(l.ChannelMessage); len(pa) > 0 {
				v.Channel = &ChannelDelivery{Platform: l.platform, Status: l.Status, Attachments: pa}
			}
		}
		if m.DeletedAt == nil {
			v.applyData(m.Data)
			if u := users[m.SenderID]; u != nil && u.Kind == parley.KindBot {
				v.Automated = true
			}
			if u := users[m.AgentID]; m.AgentID != "" && u != nil && u.Kind == parley.KindBot {
				v.Automated = true
			}
		}
		if m.System != "" {
			v.System = json.RawMessage(m.System)
		}
		if m.ReplyTo != "" {
			r, err := tx.MessageByID(m.ReplyTo)
			if err != nil && !parley.IsNotFound(err) {
				return nil, err
			}
			if r != nil && expired(r, txNow(tx)) {
				if held, err := conversationHeld(tx, r.ConversationID); err != nil {
					return nil, err
				} else if !held {
					r = tombstone(r)
				}
			}
			if r != nil && viewer.CanRead(r.Seq) {
				v.ReplyTo = replyPreview(r)
				if _, ok := users[r.SenderID]; !ok {
					if users[r.SenderID], err = tx.UserByID(r.SenderID); err != nil && !parley.IsNotFound(err) {
						return nil, err
					}
				}
				if hiddenFor(users[r.SenderID], viewerID) {
					v.ReplyTo.Text, v.ReplyTo.Hidden = "", true
				}
				if mask := maskForTeam(tx, c, viewer, r, &maskCache); mask.any() {
					v.ReplyTo.Text = maskText(v.ReplyTo.Text, mask)
				}
			} else if r != nil {
				v.ReplyTo = &ReplyPreview{ID: r.ID}
			}
		}
		if m.DeletedAt == nil {
			v.Reactions = countReactions(reactions[m.ID], viewerID)
		}
		if !attachmentsHidden(viewer, m) {
			v.Card = cardView(m.Card)
		}
		for _, md := range attachments[m.ID] {
			if md.Position < 0 {
				continue // a link card's picture
			}
			if attachmentsHidden(viewer, m) {
				v.Attachments = append(v.Attachments, AttachmentView{Kind: string(md.Kind), Hidden: true})
			} else {
				v.Attachments = append(v.Attachments, attachmentView(md))
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// viewOnceIDs lists the view-once messages of msgs not purged.
func viewOnceIDs(msgs []*parley.Message) []string {
	var out []string
	for _, m := range msgs {
		if m.ViewOnce && m.DeletedAt == nil {
			out = append(out, m.ID)
		}
	}
	return out
}

// hiddenFor reports whether a moderator hid sender's messages from
// viewerID: a ban with hide_messages hides them from everyone but the
// sender. Every path that shows message content to another user (views,
// sync and the stream, search, exports, webhooks, inbox previews, reply
// previews) asks this.
func hiddenFor(sender *parley.User, viewerID string) bool {
	return sender != nil && sender.MessagesHidden && sender.ID != viewerID
}

func replyPreview(r *parley.Message) *ReplyPreview {
	p := &ReplyPreview{ID: r.ID, Seq: r.Seq, SenderID: r.SenderID, Text: truncate(r.Text, previewLen), Deleted: r.DeletedAt != nil}
	if r.RedactedAt != nil && r.DeletedAt == nil {
		p.Text, p.Redacted = RedactedText, true
	}
	return p
}

func countReactions(rs []*parley.Reaction, viewerID string) []ReactionCount {
	var out []ReactionCount
	idx := map[string]int{}
	for _, r := range rs {
		i, ok := idx[r.Emoji]
		if !ok {
			i = len(out)
			idx[r.Emoji] = i
			out = append(out, ReactionCount{Emoji: r.Emoji})
		}
		out[i].Count++
		if r.UserID == viewerID {
			out[i].Me = true
		}
	}
	return out
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
