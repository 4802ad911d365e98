package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"time"
)

// BusinessMembership is a business the caller works for.
type BusinessMembership struct {
	Business *UserSummary `json:"business"`
	// Role is "admin", "agent" or "bot".
	Role string `json:"role"`
	Away bool   `json:"away"`
}

// ContactSummary names a customer inside an inbox item.
type ContactSummary struct {
	ID   string       `json:"id"`
	Name string       `json:"name"`
	User *UserSummary `json:"user,omitempty"`
}

// Contact is the business's profile of a customer.
type Contact struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	User       *UserSummary      `json:"user,omitempty"`
	Attributes map[string]string `json:"attributes"`
	Labels     []string          `json:"labels"`
	Notes      string            `json:"notes"`
	CreatedAt  time.Time         `json:"created_at"`
	// Conversations are the contact's conversations with the business
	// (Business.Contact only).
	Conversations []InboxItem `json:"conversations,omitempty"`
}

// Inbox item statuses, priorities and controls.
const (
	StatusOpen     = "open"
	StatusPending  = "pending"
	StatusSnoozed  = "snoozed"
	StatusResolved = "resolved"

	ControlBot   = "bot"
	ControlHuman = "human"
)

// InboxItem is a customer conversation as the business's team sees it.
type InboxItem struct {
	ConversationID string          `json:"conversation_id"`
	Contact        *ContactSummary `json:"contact"`
	// Status is open, pending, snoozed or resolved.
	Status       string     `json:"status"`
	SnoozedUntil *time.Time `json:"snoozed_until,omitempty"`
	// Priority is low, normal, high or urgent.
	Priority     string            `json:"priority"`
	Assignee     *UserSummary      `json:"assignee,omitempty"`
	TeamID       string            `json:"team_id,omitempty"`
	Labels       []string          `json:"labels"`
	Attributes   map[string]string `json:"attributes"`
	OpenedAt     *time.Time        `json:"opened_at,omitempty"`
	WaitingSince *time.Time        `json:"waiting_since,omitempty"`
	FirstReplyAt *time.Time        `json:"first_reply_at,omitempty"`
	ResolvedAt   *time.Time        `json:"resolved_at,omitempty"`
	FirstDueAt   *time.Time        `json:"first_due_at,omitempty"`
	ResolveDueAt *time.Time        `json:"resolve_due_at,omitempty"`
	// Control is who answers: ControlBot (the business's bot) or
	// ControlHuman (its people).
	Control     string    `json:"control"`
	Overdue     bool      `json:"overdue"`
	ActivityAt  time.Time `json:"activity_at"`
	LastMessage *Message  `json:"last_message,omitempty"`
}

// InboxDetail is one customer conversation with its item and contact.
type InboxDetail struct {
	Item         *InboxItem    `json:"item"`
	Conversation *Conversation `json:"conversation"`
	Contact      *Contact      `json:"contact,omitempty"`
}

// InboxQuery selects a page of the inbox.
type InboxQuery struct {
	// View is all (the default), mine, unassigned, team (with Team) or
	// overdue.
	View     string
	Status   string
	Team     string
	Label    string
	Assignee string // a handle
	Contact  string // a contact id
	Cursor   string
	Limit    int
}

// InboxCounts are the badges of the main views.
type InboxCounts struct {
	Mine       int `json:"mine"`
	Unassigned int `json:"unassigned"`
	Overdue    int `json:"overdue"`
	Open       int `json:"open"`
}

// ItemChange changes an inbox item; nil fields stay as they are.
type ItemChange struct {
	Status       *string    `json:"status,omitempty"`
	SnoozedUntil *time.Time `json:"snoozed_until,omitempty"`
	Priority     *string    `json:"priority,omitempty"`
	// Assignee is a team member's handle; "" unassigns.
	Assignee *string `json:"assignee,omitempty"`
	// Team is a team id; "" for none.
	Team   *string   `json:"team,omitempty"`
	Labels *[]string `json:"labels,omitempty"`
	// Attributes sets the given keys; a nil value deletes one.
	Attributes map[string]*string `json:"attributes,omitempty"`
}

// BusinessSendRequest is a message sent as the business: like
// SendRequest, or a saved reply instead of Text.
type BusinessSendRequest struct {
	ClientID     string       `json:"client_id,omitempty"`
	Kind         string       `json:"kind,omitempty"`
	Text         string       `json:"text,omitempty"`
	ReplyTo      string       `json:"reply_to,omitempty"`
	Attachments  []string     `json:"attachments,omitempty"`
	SavedReply   string       `json:"saved_reply,omitempty"`
	QuickReplies []QuickReply `json:"quick_replies,omitempty"`
	Buttons      []Button     `json:"buttons,omitempty"`
	Cards        []Card       `json:"cards,omitempty"`
	// SendMode chooses the platform send mode in a channel conversation
	// (a message tag such as "post_purchase_update"; see SendModes).
	SendMode string `json:"send_mode,omitempty"`
	// OptinRequest asks a person on Messenger to opt in to a topic's
	// notification messages (with SendMode "optin_request", nothing
	// else).
	OptinRequest *OptinRequest `json:"optin_request,omitempty"`
}

// OptinRequest is a notification messages opt-in request: a topic id,
// the title the person sees (at most 65 characters), the frequency
// (DAILY, WEEKLY or MONTHLY) and an optional uploaded image's media id.
type OptinRequest struct {
	Topic     string `json:"topic"`
	Title     string `json:"title"`
	Frequency string `json:"frequency"`
	Image     string `json:"image,omitempty"`
}

// Note is a private note of the team; it never reaches the customer.
type Note struct {
	ID             string        `json:"id"`
	ConversationID string        `json:"conversation_id"`
	Author         *UserSummary  `json:"author"`
	Text           string        `json:"text"`
	Mentions       []UserSummary `json:"mentions"`
	CreatedAt      time.Time     `json:"created_at"`
}

// SavedReply is a canned answer with variables such as
// {{contact.first_name}}.
type SavedReply struct {
	ID        string    `json:"id"`
	Shortcut  string    `json:"shortcut"`
	Title     string    `json:"title"`
	Body      string    `json:"body"`
	Variables []string  `json:"variables"`
	CreatedBy string    `json:"created_by"`
	UpdatedAt time.Time `json:"updated_at"`
}

// SavedReplyInput creates (Shortcut and Body needed) or changes a saved
// reply; nil fields stay as they are.
type SavedReplyInput struct {
	Shortcut *string `json:"shortcut,omitempty"`
	Title    *string `json:"title,omitempty"`
	Body     *string `json:"body,omitempty"`
}

// RenderedReply is a saved reply filled for one conversation; Missing
// lists variables without a value (sending it would be
// unresolved_variable).
type RenderedReply struct {
	Text    string   `json:"text"`
	Missing []string `json:"missing"`
}

// Agent is a member of a business's team.
type Agent struct {
	User      *UserSummary `json:"user"`
	Role      string       `json:"role"`
	Away      bool         `json:"away"`
	Online    bool         `json:"online"`
	MaxOpen   int          `json:"max_open"`
	Open      int          `json:"open"`
	Teams     []string     `json:"teams"`
	CreatedAt time.Time    `json:"created_at"`
}

// AgentChange adds a team member or changes one; nil fields stay as they
// are.
type AgentChange struct {
	// Role is "agent" or "admin".
	Role    *string `json:"role,omitempty"`
	Away    *bool   `json:"away,omitempty"`
	MaxOpen *int    `json:"max_open,omitempty"`
}

// Businesses lists the businesses the caller works for (a business
// account lists itself).
func (c *Client) Businesses(ctx context.Context) ([]BusinessMembership, error) {
	var out Page[BusinessMembership]
	_, err := c.call(ctx, http.MethodGet, "/business", nil, nil, &out)
	return out.Items, err
}

// Business is a business's team inbox, reached by its handle, acting as
// the business: as the business account itself, a team member or the
// business's bot (an API token with the read and business:write scopes).
type Business struct {
	c      *Client
	handle string
}

// Business returns the inbox of the business with this handle.
func (c *Client) Business(handle string) *Business {
	return &Business{c: c, handle: handle}
}

// Handle is the business's handle.
func (b *Business) Handle() string { return b.handle }

func (b *Business) path(p string) string { return "/business/" + esc(b.handle) + p }

func (b *Business) conv(id string) string { return b.path("/conversations/" + esc(id)) }

// Conversations lists customer conversations, newest activity first.
func (b *Business) Conversations(ctx context.Context, q InboxQuery) (*Page[InboxItem], error) {
	v := url.Values{}
	setString(v, "view", q.View)
	setString(v, "status", q.Status)
	setString(v, "team", q.Team)
	setString(v, "label", q.Label)
	setString(v, "assignee", q.Assignee)
	setString(v, "contact", q.Contact)
	setString(v, "cursor", q.Cursor)
	setInt(v, "limit", int64(q.Limit))
	var out Page[InboxItem]
	_, err := b.c.call(ctx, http.MethodGet, b.path("/conversations"), v, nil, &out)
	return ret(&out, err)
}

// Counts returns the badges of the main views.
func (b *Business) Counts(ctx context.Context) (*InboxCounts, error) {
	var out InboxCounts
	_, err := b.c.call(ctx, http.MethodGet, b.path("/counts"), nil, nil, &out)
	return ret(&out, err)
}

// Conversation returns one customer conversation: its item (status,
// assignee, Control …), the conversation and the contact.
func (b *Business) Conversation(ctx context.Context, id string) (*InboxDetail, error) {
	var out InboxDetail
	_, err := b.c.call(ctx, http.MethodGet, b.conv(id), nil, nil, &out)
	return ret(&out, err)
}

// UpdateConversation changes status, priority, assignment, team, labels
// or attributes of a customer conversation.
func (b *Business) UpdateConversation(ctx context.Context, id string, ch ItemChange) (*InboxItem, error) {
	var out InboxItem
	_, err := b.c.call(ctx, http.MethodPatch, b.conv(id), nil, ch, &out)
	return ret(&out, err)
}

// Send replies as the business, retried like Client.Send with the same
// client_id (filled when empty). A bot's send while people hold the
// conversation is refused with human_control (ErrHumanControl).
func (b *Business) Send(ctx context.Context, conversationID string, m BusinessSendRequest) (*Message, error) {
	if m.ClientID == "" {
		m.ClientID = NewClientID()
	}
	return b.c.sendMessage(ctx, b.conv(conversationID)+"/messages", m)
}

// Messages returns a page of a customer conversation's history as the
// business sees it.
func (b *Business) Messages(ctx context.Context, conversationID string, q HistoryQuery) (*Page[Message], error) {
	return b.c.history(ctx, b.conv(conversationID)+"/messages", q)
}

// MessagesAfter pages forward through a customer conversation from the
// message after seq, as Client.MessagesAfter.
func (b *Business) MessagesAfter(ctx context.Context, conversationID string, seq int64) iter.Seq2[*Message, error] {
	return b.c.historyAfter(ctx, b.conv(conversationID)+"/messages", seq)
}

// MarkRead moves the business's read marker.
func (b *Business) MarkRead(ctx context.Context, conversationID string, seq int64) (int64, error) {
	return b.c.markRead(ctx, b.conv(conversationID)+"/read", seq)
}

// Edit edits one of the business's messages.
func (b *Business) Edit(ctx context.Context, conversationID, messageID, text string) (*Message, error) {
	var out Message
	_, err := b.c.call(ctx, http.MethodPatch, b.conv(conversationID)+"/messages/"+esc(messageID), nil, map[string]string{"text": text}, &out)
	return ret(&out, err)
}

// Unsend unsends one of the business's messages.
func (b *Business) Unsend(ctx context.Context, conversationID, messageID string) error {
	return b.c.Do(ctx, http.MethodDelete, b.conv(conversationID)+"/messages/"+esc(messageID), nil, nil)
}

// Redact redacts a message of a customer conversation: an admin of the
// business any message, an agent the business's messages they wrote.
func (b *Business) Redact(ctx context.Context, conversationID, messageID string) (*Message, error) {
	var out Message
	_, err := b.c.call(ctx, http.MethodPost, b.conv(conversationID)+"/messages/"+esc(messageID)+"/redact", nil, map[string]any{}, &out)
	return ret(&out, err)
}

// React reacts as the business.
func (b *Business) React(ctx context.Context, conversationID, messageID, emoji string) error {
	return b.c.Do(ctx, http.MethodPut, b.conv(conversationID)+"/messages/"+esc(messageID)+"/reactions/"+esc(emoji), nil, nil)
}

// Unreact removes the business's reaction.
func (b *Business) Unreact(ctx context.Context, conversationID, messageID, emoji string) error {
	return b.c.Do(ctx, http.MethodDelete, b.conv(conversationID)+"/messages/"+esc(messageID)+"/reactions/"+esc(emoji), nil, nil)
}

// Presence tells the team what the caller does in a conversation:
// "viewing", "typing" (the customer sees the business typing) or "left".
func (b *Business) Presence(ctx context.Context, conversationID, state string) error {
	return b.c.Do(ctx, http.MethodPost, b.conv(conversationID)+"/presence", map[string]string{"state": state}, nil)
}

// Notes lists a conversation's private notes.
func (b *Business) Notes(ctx context.Context, conversationID string) ([]Note, error) {
	var out Page[Note]
	_, err := b.c.call(ctx, http.MethodGet, b.conv(conversationID)+"/notes", nil, nil, &out)
	return out.Items, err
}

// AddNote writes a private note; @handle of a team member mentions them.
func (b *Business) AddNote(ctx context.Context, conversationID, text string) (*Note, error) {
	var out Note
	_, err := b.c.call(ctx, http.MethodPost, b.conv(conversationID)+"/notes", nil, map[string]string{"text": text}, &out)
	return ret(&out, err)
}

// Handover passes control of a conversation: to ControlHuman (a bot
// handing over, with a reason for the team) or to ControlBot (people
// giving it back). A bot cannot take control (forbidden).
func (b *Business) Handover(ctx context.Context, conversationID, to, reason string) (*InboxItem, error) {
	var out InboxItem
	_, err := b.c.call(ctx, http.MethodPost, b.conv(conversationID)+"/handover", nil, map[string]string{"to": to, "reason": reason}, &out)
	return ret(&out, err)
}

// SavedReplies lists saved replies, filtered by q (shortcut or title)
// when not empty.
func (b *Business) SavedReplies(ctx context.Context, q string) ([]SavedReply, error) {
	v := url.Values{}
	setString(v, "q", q)
	var out Page[SavedReply]
	_, err := b.c.call(ctx, http.MethodGet, b.path("/saved-replies"), v, nil, &out)
	return out.Items, err
}

// CreateSavedReply creates a saved reply.
func (b *Business) CreateSavedReply(ctx context.Context, in SavedReplyInput) (*SavedReply, error) {
	var out SavedReply
	_, err := b.c.call(ctx, http.MethodPost, b.path("/saved-replies"), nil, in, &out)
	return ret(&out, err)
}

// UpdateSavedReply changes a saved reply (its author or an admin).
func (b *Business) UpdateSavedReply(ctx context.Context, id string, in SavedReplyInput) (*SavedReply, error) {
	var out SavedReply
	_, err := b.c.call(ctx, http.MethodPatch, b.path("/saved-replies/"+esc(id)), nil, in, &out)
	return ret(&out, err)
}

// DeleteSavedReply deletes a saved reply (its author or an admin).
func (b *Business) DeleteSavedReply(ctx context.Context, id string) error {
	return b.c.Do(ctx, http.MethodDelete, b.path("/saved-replies/"+esc(id)), nil, nil)
}

// RenderSavedReply previews a saved reply filled for a conversation.
func (b *Business) RenderSavedReply(ctx context.Context, id, conversationID string) (*RenderedReply, error) {
	v := url.Values{"conversation": {conversationID}}
	var out RenderedReply
	_, err := b.c.call(ctx, http.MethodGet, b.path("/saved-replies/"+esc(id)+"/render"), v, nil, &out)
	return ret(&out, err)
}

// Agents lists the business's team.
func (b *Business) Agents(ctx context.Context) ([]Agent, error) {
	var out Page[Agent]
	_, err := b.c.call(ctx, http.MethodGet, b.path("/agents"), nil, nil, &out)
	return out.Items, err
}

// SetAgent adds a team member or changes one (admins; agents their own
// Away).
func (b *Business) SetAgent(ctx context.Context, handle string, ch AgentChange) (*Agent, error) {
	var out Agent
	_, err := b.c.call(ctx, http.MethodPut, b.path("/agents/"+esc(handle)), nil, ch, &out)
	return ret(&out, err)
}

// RemoveAgent removes a team member (admins, or the member themself).
func (b *Business) RemoveAgent(ctx context.Context, handle string) error {
	return b.c.Do(ctx, http.MethodDelete, b.path("/agents/"+esc(handle)), nil, nil)
}

// Contacts lists the business's contacts, filtered by q when not empty.
func (b *Business) Contacts(ctx context.Context, q, cursor string, limit int) (*Page[Contact], error) {
	v := url.Values{}
	setString(v, "q", q)
	setString(v, "cursor", cursor)
	setInt(v, "limit", int64(limit))
	var out Page[Contact]
	_, err := b.c.call(ctx, http.MethodGet, b.path("/contacts"), v, nil, &out)
	return ret(&out, err)
}

// Contact returns one contact with their conversations.
func (b *Business) Contact(ctx context.Context, id string) (*Contact, error) {
	var out Contact
	_, err := b.c.call(ctx, http.MethodGet, b.path("/contacts/"+esc(id)), nil, nil, &out)
	return ret(&out, err)
}
