package parley

import "time"

// Platforms a business can connect as a channel.
const (
	PlatformMessenger = "messenger"
	PlatformInstagram = "instagram"
	PlatformWhatsApp  = "whatsapp"
)

// ValidPlatform reports whether p is a platform Parley connects.
func ValidPlatform(p string) bool {
	return p == PlatformMessenger || p == PlatformInstagram || p == PlatformWhatsApp
}

// Channel is a business's account on another platform (a Facebook Page,
// an Instagram professional account, a WhatsApp Cloud API phone number)
// whose direct messages come into the business's inbox. The secrets are
// stored sealed (app/seal.go): the store never sees them in the clear when
// the server has an encryption key.
type Channel struct {
	ID         string
	BusinessID string
	Platform   string
	Name       string
	// AccountID is the platform's id of the business's account: the Page
	// id (Messenger), the Instagram account id, or the WhatsApp phone
	// number id. Messages are sent from it.
	AccountID string
	AppID     string
	// AccessToken, AppSecret and VerifyToken are sealed; their Hint is
	// the last 4 characters of each, for display.
	AccessToken string
	AppSecret   string
	VerifyToken string
	Hint        string
	// Language is the WhatsApp template language code (e.g. "en_US").
	Language  string
	CreatedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
	// Health, recorded by the app where it happens (NoteChannel): the
	// last failure of a send, an attachment fetch or a webhook signature
	// or handshake, and the last webhook event and accepted send.
	LastError      string
	LastErrorAt    time.Time
	LastInboundAt  time.Time
	LastOutboundAt time.Time
	// DisabledAt is when an admin paused the channel (zero: it runs).
	// A paused channel still takes its webhooks; its outbox holds the
	// queued sends until it is resumed (DueChannelSends skips them).
	DisabledAt time.Time
}

// ChannelNote is what NoteChannel records on a channel: each non-zero
// time replaces an earlier one (never a later one); Error is recorded
// with ErrorAt.
type ChannelNote struct {
	Error      string
	ErrorAt    time.Time
	InboundAt  time.Time
	OutboundAt time.Time
}

// ChannelThread links one person on a platform (their page-scoped id,
// Instagram-scoped id or WhatsApp id) to the business's contact and the
// Parley conversation that holds their messages.
type ChannelThread struct {
	ChannelID      string
	ExternalUserID string
	ContactID      string
	// UserID is the Parley account standing for the external person
	// (KindExternal): it is the sender of their messages.
	UserID         string
	ConversationID string
	// LastInboundAt is when the person last wrote (the platform's
	// timestamp): the platforms' messaging windows run from it.
	LastInboundAt time.Time
	CreatedAt     time.Time
}

// Channel message directions and delivery states.
const (
	ChannelIn  = "in"
	ChannelOut = "out"

	ChannelQueued    = "queued"
	ChannelSent      = "sent"
	ChannelDelivered = "delivered"
	ChannelRead      = "read"
	ChannelFailed    = "failed"
)

// ChannelMessage links a Parley message to its platform message. An
// outbound one is also the durable outbox row of its Send API call.
type ChannelMessage struct {
	MessageID      string
	ChannelID      string
	ConversationID string
	Direction      string
	// PlatformMID is the platform's message id ("" until an outbound
	// message is accepted by the platform).
	PlatformMID string
	// Mode is how an outbound message goes: "standard", "human_agent"
	// (Messenger and Instagram's HUMAN_AGENT tag) or "template".
	Mode string
	// Template is the WhatsApp template name of a template message.
	Template string
	Status   string
	Error    string
	Attempts int
	// NextAttemptAt is when a queued outbound message is due.
	NextAttemptAt time.Time
	// PlatformAt is the platform's timestamp of an inbound message.
	PlatformAt time.Time
	// Data is what the channel workers need besides the send, owned by
	// the app (JSON): an inbound message's attachments still to fetch,
	// an outbound message's media and template parameters, the
	// business's reaction to forward. The store keeps it as given.
	Data string
	// WorkAt is when work on Data is due (attachments to fetch, a
	// reaction to forward); zero when there is none.
	WorkAt    time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ChannelTx stores channels, their threads and the link between Parley
// and platform messages.
type ChannelTx interface {
	// CreateChannel inserts c; EConflict when the platform's account is
	// connected already (to any business).
	CreateChannel(c *Channel) error
	// UpdateChannel saves Name, AppID, the secrets, Hint, Language,
	// DisabledAt and UpdatedAt; ENotFound if gone.
	UpdateChannel(c *Channel) error
	// Channel returns a channel by id or ENotFound.
	Channel(id string) (*Channel, error)
	// Channels lists a business's channels, oldest first.
	Channels(businessID string) ([]*Channel, error)
	// ChannelsAfter lists up to limit channels of every business with an
	// id after afterID, by id (the encryption pass walks them).
	ChannelsAfter(afterID string, limit int) ([]*Channel, error)
	// NoteChannel records n on a channel's health columns; a channel
	// gone meanwhile is no error.
	NoteChannel(id string, n ChannelNote) error
	// QueuedChannelSends counts a channel's queued outbound messages.
	QueuedChannelSends(channelID string) (int, error)
	// DeleteChannel deletes a business's channel with its threads and
	// message links (the conversations stay); ENotFound if none.
	DeleteChannel(businessID, id string) error

	// PutChannelThread inserts or replaces a thread.
	PutChannelThread(t *ChannelThread) error
	// ChannelThread returns the thread of a platform user or ENotFound.
	ChannelThread(channelID, externalUserID string) (*ChannelThread, error)
	// ChannelThreadByConversation returns the thread a conversation
	// belongs to or ENotFound.
	ChannelThreadByConversation(conversationID string) (*ChannelThread, error)

	// CreateChannelMessage inserts m; EConflict when the message is
	// linked already or the channel has its PlatformMID already.
	CreateChannelMessage(m *ChannelMessage) error
	// UpdateChannelMessage saves PlatformMID, Status, Error, Attempts,
	// NextAttemptAt, Data, WorkAt and UpdatedAt; ENotFound if gone.
	UpdateChannelMessage(m *ChannelMessage) error
	// ChannelMessage returns the link of a Parley message or ENotFound.
	ChannelMessage(messageID string) (*ChannelMessage, error)
	// ChannelMessageByMID returns the link of a platform message or
	// ENotFound.
	ChannelMessageByMID(channelID, mid string) (*ChannelMessage, error)
	// ChannelMessages returns the links of the given messages that exist,
	// keyed by message id.
	ChannelMessages(messageIDs []string) (map[string]*ChannelMessage, error)
	// DueChannelSends lists up to limit queued outbound messages with
	// NextAttemptAt at or before due, earliest first, leaving out those
	// of a paused channel (DisabledAt set): they wait for its resume.
	DueChannelSends(due time.Time, limit int) ([]*ChannelMessage, error)
	// DueChannelWork lists up to limit links (of any status) whose
	// WorkAt is set and at or before due, earliest first.
	DueChannelWork(due time.Time, limit int) ([]*ChannelMessage, error)

	// PutChannelOptin inserts or replaces the opt-in of a person of a
	// channel to a topic (one per channel, person and topic).
	PutChannelOptin(o *ChannelOptin) error
	// ChannelOptins lists a person's opt-ins on a channel, by topic id.
	ChannelOptins(channelID, externalUserID string) ([]*ChannelOptin, error)
}

// Channel opt-in states.
const (
	OptinActive  = "active"
	OptinStopped = "stopped"
)

// ChannelOptin is a person's opt-in, on the platform, to the business's
// messages of one topic outside the messaging window: Messenger's
// notification messages (recurring notifications, "Marketing Messages").
// The platform gives a token for it, valid until ExpiresAt, that allows
// one message per Frequency period.
type ChannelOptin struct {
	ChannelID      string
	ExternalUserID string
	// TopicID is the business's topic (parley.Topic) the person opted in
	// to.
	TopicID string
	// Token is the platform's notification_messages_token. It is kept
	// as given: it sends nothing without the channel's access token,
	// which is sealed.
	Token string
	// Frequency is the platform's DAILY, WEEKLY or MONTHLY.
	Frequency string
	Timezone  string
	// Status is OptinActive, or OptinStopped after the person stopped
	// the notifications.
	Status    string
	ExpiresAt time.Time
	// LastSentAt is when the last message went out with the token.
	LastSentAt time.Time
	CreatedAt  time.Time
	// UpdatedAt is the platform's time of the last opt-in event applied:
	// an older one (a replay, a late delivery) changes nothing.
	UpdatedAt time.Time
}
