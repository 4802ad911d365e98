package client

import (
	"encoding/json"
	"time"
)

// The types below mirror the JSON of the API (docs/api.md and the OpenAPI
// document at /api/v1/openapi.json). Unknown fields in answers are
// ignored, so a newer server does not break an older client.

// Page is one page of a list. NextCursor is empty on the last page; pass
// it back unchanged to get the next one.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// UserSummary names a user inside other objects.
type UserSummary struct {
	ID          string `json:"id"`
	Handle      string `json:"handle"`
	DisplayName string `json:"display_name"`
	// Kind is "person", "business" or "bot".
	Kind string `json:"kind"`
	// Deleted marks a deleted account: DisplayName is "Deleted account"
	// and Handle is empty.
	Deleted bool `json:"deleted,omitempty"`
}

// Me is the signed-in account.
type Me struct {
	UserSummary
	Bio string `json:"bio"`
	// DMPolicy is "open", "following" or "closed".
	DMPolicy     string    `json:"dm_policy"`
	ShowPresence bool      `json:"show_presence"`
	ReadReceipts bool      `json:"read_receipts"`
	CreatedAt    time.Time `json:"created_at"`
}

// Auth is the answer to Register and Login: the account and a fresh
// session token, shown only this once.
type Auth struct {
	User      Me     `json:"user"`
	Token     string `json:"token"`
	SessionID string `json:"session_id"`
	// SecondFactor is set instead (and Token empty) when Login's password
	// was right but the account has two-factor authentication: finish
	// with CompleteLogin.
	SecondFactor *SecondFactorChallenge `json:"second_factor,omitempty"`
}

// RegisterRequest creates an account.
type RegisterRequest struct {
	Handle      string `json:"handle"`
	Password    string `json:"password"`
	DisplayName string `json:"display_name,omitempty"`
	// Kind is "person" (the default), "business" or "bot".
	Kind string `json:"kind,omitempty"`
	// Device names the session, e.g. "faqbot on server-1".
	Device string `json:"device,omitempty"`
}

// LoginRequest opens a session.
type LoginRequest struct {
	Handle   string `json:"handle"`
	Password string `json:"password"`
	Device   string `json:"device,omitempty"`
}

// ProfileUpdate changes the signed-in account; nil fields stay as they are.
type ProfileUpdate struct {
	DisplayName  *string `json:"display_name,omitempty"`
	Bio          *string `json:"bio,omitempty"`
	DMPolicy     *string `json:"dm_policy,omitempty"`
	ShowPresence *bool   `json:"show_presence,omitempty"`
	ReadReceipts *bool   `json:"read_receipts,omitempty"`
}

// Session is one signed-in device.
type Session struct {
	ID         string    `json:"id"`
	Device     string    `json:"device"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	// Current marks the session making the call.
	Current bool `json:"current"`
}

// Token scopes.
const (
	ScopeRead          = "read"
	ScopeMessages      = "messages:write"
	ScopeConversations = "conversations:write"
	ScopeProfile       = "profile:write"
	ScopeMedia         = "media:write"
	ScopeBusiness      = "business:write"
)

// TokenRequest creates an API token.
type TokenRequest struct {
	Name   string   `json:"name"`
	Scopes []string `json:"scopes"`
	// ExpiresInDays is 0 for a token that never expires.
	ExpiresInDays int `json:"expires_in_days,omitempty"`
}

// Token is an API token. Token (the secret) is set only in the answer
// that created (or rotated) it.
type Token struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Scopes     []string   `json:"scopes"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt time.Time  `json:"last_used_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	Token      string     `json:"token,omitempty"`
}

// Profile is another user as the caller may see them. Across a block
// only Handle and the flags are set.
type Profile struct {
	ID             string     `json:"id,omitempty"`
	Handle         string     `json:"handle"`
	DisplayName    string     `json:"display_name,omitempty"`
	Kind           string     `json:"kind,omitempty"`
	Bio            string     `json:"bio,omitempty"`
	CreatedAt      *time.Time `json:"created_at,omitempty"`
	FollowersCount *int       `json:"followers_count,omitempty"`
	FollowingCount *int       `json:"following_count,omitempty"`
	FollowedByMe   bool       `json:"followed_by_me"`
	FollowsMe      bool       `json:"follows_me"`
	BlockedByMe    bool       `json:"blocked_by_me"`
	// CanMessage says what starting a conversation would do: "inbox",
	// "requests" or "refused".
	CanMessage string `json:"can_message,omitempty"`
}

// ReportRequest reports a user.
type ReportRequest struct {
	// Reason is spam, harassment, hate, violence, scam, nudity,
	// impersonation or other.
	Reason    string `json:"reason"`
	Detail    string `json:"detail,omitempty"`
	MessageID string `json:"message_id,omitempty"`
}

// Member is a member of a conversation.
type Member struct {
	User *UserSummary `json:"user"`
	// Role is "owner", "admin" or "member".
	Role string `json:"role"`
	// Status is "active", "pending", "left" or "removed".
	Status  string `json:"status"`
	ReadSeq int64  `json:"read_seq"`
}

// AddResult is what adding one handle to a group did: Result is "added",
// "invited", "already_member" or "refused" (with Code).
type AddResult struct {
	Handle string `json:"handle"`
	Result string `json:"result"`
	Code   string `json:"code,omitempty"`
}

// Conversation is a conversation as the caller sees it; Folder, Status,
// Role, Pinned, MutedUntil and ReadSeq are the caller's own.
type Conversation struct {
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
	// Request is true while the caller has not accepted it.
	Request     bool     `json:"request"`
	Members     []Member `json:"members,omitempty"`
	LastMessage *Message `json:"last_message,omitempty"`
	// DisappearAfter is the disappearing-message timer in seconds (0: off).
	DisappearAfter int64 `json:"disappear_after,omitempty"`
	// LegalHold is true while a legal hold keeps its messages.
	LegalHold bool `json:"legal_hold,omitempty"`
	// Added is set on a group just created: what happened to each handle.
	Added []AddResult `json:"added,omitempty"`
}

// GroupRequest creates a group.
type GroupRequest struct {
	Title   string   `json:"title,omitempty"`
	Members []string `json:"members,omitempty"`
	// InvitePolicy is "admins" (the default) or "members".
	InvitePolicy string `json:"invite_policy,omitempty"`
}

// GroupUpdate changes a group; nil fields stay as they are.
type GroupUpdate struct {
	Title        *string `json:"title,omitempty"`
	InvitePolicy *string `json:"invite_policy,omitempty"`
}

// ConversationQuery selects a page of the conversation list.
type ConversationQuery struct {
	// Folder is "inbox" (the default), "requests" or "archived".
	Folder string
	Cursor string
	Limit  int
}

// Mute says how long to mute; the zero value mutes for ever.
type Mute struct {
	Until           *time.Time `json:"until,omitempty"`
	DurationSeconds int64      `json:"duration_seconds,omitempty"`
}

// Reaction is one emoji's count on a message.
type Reaction struct {
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
}

// Thumbnail describes an image's thumbnail.
type Thumbnail struct {
	ContentType string `json:"content_type"`
	Width       int    `json:"width"`
	Height      int    `json:"height"`
}

// Attachment is a message's media. In a request the caller has not
// accepted only Kind and Hidden are set.
type Attachment struct {
	ID          string     `json:"id,omitempty"`
	Kind        string     `json:"kind"`
	ContentType string     `json:"content_type,omitempty"`
	Size        int64      `json:"size,omitempty"`
	Width       int        `json:"width,omitempty"`
	Height      int        `json:"height,omitempty"`
	DurationMS  int64      `json:"duration_ms,omitempty"`
	Thumbnail   *Thumbnail `json:"thumbnail,omitempty"`
	Hidden      bool       `json:"hidden,omitempty"`
}

// Media is an upload.
type Media struct {
	Attachment
	CreatedAt time.Time `json:"created_at"`
	// Sent is true once a message carries it.
	Sent bool `json:"sent"`
}

// LinkCard is the preview of a message's first link.
type LinkCard struct {
	URL         string `json:"url"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	SiteName    string `json:"site_name,omitempty"`
	Image       *struct {
		ID          string `json:"id"`
		ContentType string `json:"content_type"`
		Width       int    `json:"width"`
		Height      int    `json:"height"`
	} `json:"image,omitempty"`
}

// QuickReply is a tappable choice under a message; tapping it sends
// Title as text with QuickReply set to Payload (see SendRequest).
type QuickReply struct {
	Title   string `json:"title"`
	Payload string `json:"payload,omitempty"`
}

// Button is a postback button (tapping it sends the sender a "postback"
// event with Payload; see Client.Postback) or a link.
type Button struct {
	// Type is "postback" or "url".
	Type    string `json:"type"`
	Title   string `json:"title"`
	Payload string `json:"payload,omitempty"`
	URL     string `json:"url,omitempty"`
}

// PostbackButton returns a postback button.
func PostbackButton(title, payload string) Button {
	return Button{Type: "postback", Title: title, Payload: payload}
}

// URLButton returns a link button.
func URLButton(title, url string) Button { return Button{Type: "url", Title: title, URL: url} }

// Card is one element of a carousel.
type Card struct {
	Title    string   `json:"title"`
	Subtitle string   `json:"subtitle,omitempty"`
	Buttons  []Button `json:"buttons,omitempty"`
}

// Message is a message as the caller sees it.
type Message struct {
	ID             string       `json:"id"`
	ConversationID string       `json:"conversation_id"`
	Seq            int64        `json:"seq"`
	Sender         *UserSummary `json:"sender"`
	// ClientID is the sender's idempotency key (the sender sees it only).
	ClientID string `json:"client_id,omitempty"`
	// Kind is text, image, video, audio, file, gif, sticker or system.
	Kind string `json:"kind"`
	// Text always reads well alone: for structured messages it ends with
	// a fallback listing the choices; Body is the text without it.
	Text      string          `json:"text,omitempty"`
	System    json.RawMessage `json:"system,omitempty"`
	ReplyTo   *ReplyPreview   `json:"reply_to,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
	EditedAt  *time.Time      `json:"edited_at,omitempty"`
	Deleted   bool            `json:"deleted,omitempty"`
	DeletedAt *time.Time      `json:"deleted_at,omitempty"`
	// Redacted is set when the sender (or a business admin) redacted the
	// message: Text is the placeholder, the rest is gone.
	Redacted    bool         `json:"redacted,omitempty"`
	RedactedAt  *time.Time   `json:"redacted_at,omitempty"`
	Reactions   []Reaction   `json:"reactions,omitempty"`
	Attachments []Attachment `json:"attachments,omitempty"`
	Card        *LinkCard    `json:"card,omitempty"`
	// Agent is the team member who wrote a business's message (the
	// business's side only); customers see AgentName when shown.
	Agent        *UserSummary `json:"agent,omitempty"`
	AgentName    string       `json:"agent_name,omitempty"`
	QuickReplies []QuickReply `json:"quick_replies,omitempty"`
	Buttons      []Button     `json:"buttons,omitempty"`
	Cards        []Card       `json:"cards,omitempty"`
	Body         *string      `json:"body,omitempty"`
	// Automated marks messages no person wrote (bots, away messages).
	Automated bool `json:"automated,omitempty"`
	// QuickReply is the payload of the quick reply this message answers.
	QuickReply string `json:"quick_reply,omitempty"`
	// OptinRequest is a notification messages opt-in request sent to a
	// person on Messenger.
	OptinRequest *OptinRequestView `json:"optin_request,omitempty"`
}

// OptinRequestView is an opt-in request as its message shows it.
type OptinRequestView struct {
	TopicID   string `json:"topic_id"`
	Topic     string `json:"topic"`
	Title     string `json:"title"`
	Frequency string `json:"frequency"`
	TimeZone  string `json:"time_zone,omitempty"`
	Image     string `json:"image,omitempty"`
}

// SendRequest is a message to send. Send fills ClientID when empty.
type SendRequest struct {
	// ClientID makes the send idempotent: up to 64 printable ASCII
	// characters, unique per sender and conversation.
	ClientID string `json:"client_id,omitempty"`
	// Kind is "text" (the default), image, video, audio, file, gif or
	// sticker.
	Kind        string   `json:"kind,omitempty"`
	Text        string   `json:"text,omitempty"`
	ReplyTo     string   `json:"reply_to,omitempty"`
	Attachments []string `json:"attachments,omitempty"`
	StickerID   string   `json:"sticker_id,omitempty"`
	// QuickReplies, Buttons and Cards make a structured message (bots
	// and businesses only).
	QuickReplies []QuickReply `json:"quick_replies,omitempty"`
	Buttons      []Button     `json:"buttons,omitempty"`
	Cards        []Card       `json:"cards,omitempty"`
	// QuickReply is the payload of the quick reply the user tapped (Text
	// is then its title).
	QuickReply string `json:"quick_reply,omitempty"`
}

// HistoryQuery selects a page of a conversation's history. The zero
// value asks for the newest messages. Items always come in ascending seq.
type HistoryQuery struct {
	// AfterSeq asks for the oldest messages after it, paging forward;
	// with Forward, 0 means from the very first message.
	AfterSeq int64
	Forward  bool
	// BeforeSeq asks for the messages just before it, paging backward.
	BeforeSeq int64
	// Cursor is a previous page's NextCursor; it replaces the above.
	Cursor string
	// Limit is 1–200 (0: the server's default, 50).
	Limit int
}

// Edit is a previous version of a message.
type Edit struct {
	Text     string    `json:"text"`
	EditedAt time.Time `json:"edited_at"`
}

// Sticker is one sticker of a pack.
type Sticker struct {
	ID          string `json:"id"`
	PackID      string `json:"pack_id"`
	Emoji       string `json:"emoji,omitempty"`
	ContentType string `json:"content_type"`
	Width       int    `json:"width"`
	Height      int    `json:"height"`
}

// StickerPack is a pack with its stickers.
type StickerPack struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	Stickers  []Sticker `json:"stickers"`
}

// Bot is a bot as its owner sees it.
type Bot struct {
	User      *UserSummary `json:"user"`
	Owner     *UserSummary `json:"owner"`
	Bio       string       `json:"bio"`
	CreatedAt time.Time    `json:"created_at"`
	// Tokens is how many tokens the bot has.
	Tokens int `json:"tokens"`
}

// BotRequest creates a bot or changes its profile (Handle only on
// creation; empty fields stay as they are on update).
type BotRequest struct {
	Handle      string `json:"handle,omitempty"`
	DisplayName string `json:"display_name,omitempty"`
	Bio         string `json:"bio,omitempty"`
}
