package parley

import "time"

// MessageKind is what a message carries.
type MessageKind string

// The message kinds. A media message carries attachments of its kind (a
// file message may carry any); its text is an optional caption.
const (
	MessageText    MessageKind = "text"
	MessageSystem  MessageKind = "system"
	MessageImage   MessageKind = "image"
	MessageVideo   MessageKind = "video"
	MessageAudio   MessageKind = "audio" // voice notes and other sound
	MessageFile    MessageKind = "file"
	MessageGIF     MessageKind = "gif"
	MessageSticker MessageKind = "sticker"
)

// Message is one entry in a conversation's sequence. An unsent message stays
// as a tombstone: DeletedAt set, content purged.
type Message struct {
	ID             string
	ConversationID string
	Seq            int64
	// Pos is the message's place in the store-wide order of changes, shared
	// with Event.Pos: a new message is its own creation event.
	Pos      int64
	SenderID string
	ClientID string
	Kind     MessageKind
	Text     string
	ReplyTo  string // id of the message this one replies to
	// System is the machine-readable description of a system message, e.g.
	// {"action":"member_added","user":"…"}.
	System string
	// Card is the link preview of the first URL in Text, as JSON, filled
	// in after the send; "" when there is none.
	Card string
	// AgentID is the team member who wrote the message on behalf of a
	// business sender ("" otherwise).
	AgentID string
	// Data is structured content as JSON (quick replies), "" when none;
	// Text always reads well without it.
	Data      string
	CreatedAt time.Time
	EditedAt  *time.Time
	DeletedAt *time.Time
	// ExpiresAt is when a disappearing message is due for purging (nil:
	// never); the reaper purges it then unless a legal hold keeps it.
	ExpiresAt *time.Time
	// ViewOnce marks a media message each recipient may open once.
	ViewOnce bool
	// RedactedAt is when the message's owner (or a business admin)
	// redacted it: its content is gone and views show a placeholder.
	RedactedAt *time.Time
}

// MessageEdit is a previous version of an edited message.
type MessageEdit struct {
	MessageID string
	Text      string
	// EditedAt is when this version was replaced.
	EditedAt time.Time
}

// Reaction is one user's emoji on one message.
type Reaction struct {
	MessageID string
	UserID    string
	Emoji     string
	CreatedAt time.Time
}

// MessageRange selects messages of one conversation by sequence, ascending.
// Messages with seq in (AfterSeq, BeforeSeq) and in [MinSeq, MaxSeq] are
// returned; zero BeforeSeq and MaxSeq mean no upper bound. When Descending is
// set the page nearest BeforeSeq is taken (still returned ascending).
type MessageRange struct {
	ConversationID string
	AfterSeq       int64
	BeforeSeq      int64
	MinSeq         int64
	MaxSeq         int64
	Limit          int
	Descending     bool
}
