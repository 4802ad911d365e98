package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Event types. Stored changes carry a position (Event.Pos); ephemeral
// ones (typing, presence, inbox.presence) do not.
const (
	EventMessageCreated      = "message.created"
	EventMessageEdited       = "message.edited"
	EventMessageUnsent       = "message.unsent"
	EventMessageUpdated      = "message.updated"
	EventReactionAdded       = "reaction.added"
	EventReactionRemoved     = "reaction.removed"
	EventRead                = "read"
	EventDelivered           = "delivered"
	EventMemberJoined        = "member.joined"
	EventMemberInvited       = "member.invited"
	EventMemberLeft          = "member.left"
	EventMemberRemoved       = "member.removed"
	EventMemberRole          = "member.role"
	EventConversationCreated = "conversation.created"
	EventConversationUpdated = "conversation.updated"
	EventConversationFolder  = "conversation.folder"
	EventRequestAccepted     = "request.accepted"
	EventTyping              = "typing"
	EventPresence            = "presence"
	EventInboxUpdated        = "inbox.updated"
	EventNoteCreated         = "note.created"
	EventInboxAgents         = "inbox.agents"
	EventInboxRemoved        = "inbox.removed"
	EventInboxPresence       = "inbox.presence"
	EventPostback            = "postback"
	EventHandover            = "handover"

	// EventLimited is not a server change but the stream's notice that
	// the position it was given was absent (0) or too old to replay:
	// reload the conversation list and history, then carry on. Next holds
	// the position the stream continues from.
	EventLimited = "limited"
)

// Event is one change as a device receives it from Sync or a Stream.
type Event struct {
	// Pos is the change's position; resume after it. 0 for ephemeral
	// events and EventLimited.
	Pos            int64           `json:"pos,omitempty"`
	Type           string          `json:"type"`
	ConversationID string          `json:"conversation_id,omitempty"`
	ActorID        string          `json:"actor_id,omitempty"`
	Seq            int64           `json:"seq,omitempty"`
	Message        *Message        `json:"message,omitempty"`
	Data           json.RawMessage `json:"data,omitempty"`
	CreatedAt      time.Time       `json:"created_at"`
	// As is set on the changes a team member (or a business's bot)
	// receives for a business they work for: the business's user id.
	As string `json:"as,omitempty"`
	// Next is set on EventLimited only.
	Next int64 `json:"-"`
}

// DecodeData decodes the event's Data into v (for example a
// PostbackData); it is a no-op when there is none.
func (e *Event) DecodeData(v any) error {
	if len(e.Data) == 0 {
		return nil
	}
	return json.Unmarshal(e.Data, v)
}

// PostbackData is the Data of a "postback" event: a user tapped a
// postback button; ActorID is who tapped.
type PostbackData struct {
	Payload   string `json:"payload"`
	Title     string `json:"title"`
	MessageID string `json:"message_id"`
}

// HandoverData is the Data of a "handover" event: Control is now "bot"
// or "human".
type HandoverData struct {
	Control string `json:"control"`
	Reason  string `json:"reason"`
}

// InboxUpdateData is the Data of an "inbox.updated" event. Assignee is a
// user id.
type InboxUpdateData struct {
	Status   string `json:"status"`
	Assignee string `json:"assignee"`
	Team     string `json:"team"`
	Priority string `json:"priority"`
	Control  string `json:"control"`
}

// SyncPage is a page of changes after a position.
type SyncPage struct {
	Events []Event `json:"events"`
	// Next is the position to ask from next time.
	Next int64 `json:"next"`
	// More is true when more changes wait: ask again at once.
	More bool `json:"more,omitempty"`
	// Limited is true when since was SinceNow or too far behind: Next is
	// the current head; reload conversations and history, then sync from
	// Next.
	Limited bool `json:"limited,omitempty"`
}

// SinceNow, as Sync's since, starts at the current head without
// replaying anything (the answer is Limited with the head).
const SinceNow int64 = -1

// Sync returns the caller's changes after position since. When there are
// none it waits up to wait (rounded up to whole seconds, at most a
// minute) for the first to arrive. since 0 starts from the beginning of
// what the caller may see (Limited with the head when that is more than
// the server replays); SinceNow answers Limited with the current head.
func (c *Client) Sync(ctx context.Context, since int64, wait time.Duration) (*SyncPage, error) {
	v := url.Values{}
	if since == SinceNow {
		v.Set("since", "now")
	} else {
		setInt(v, "since", since)
	}
	if wait > 0 {
		v.Set("timeout", strconv.FormatInt(int64((wait+time.Second-1)/time.Second), 10))
	}
	var out SyncPage
	_, err := c.call(ctx, http.MethodGet, "/sync", v, nil, &out)
	if err != nil {
		return nil, err
	}
	if out.Events == nil {
		out.Events = []Event{}
	}
	return &out, nil
}

// StreamTicket is a single-use ticket for opening the stream without an
// Authorization header (browsers), valid until ExpiresAt.
type StreamTicket struct {
	Ticket    string    `json:"ticket"`
	ExpiresAt time.Time `json:"expires_at"`
}

// NewStreamTicket issues a stream ticket (GET /api/v1/stream?ticket=…).
// Stream does not need one: it sends the token as a header.
func (c *Client) NewStreamTicket(ctx context.Context) (*StreamTicket, error) {
	var out StreamTicket
	_, err := c.call(ctx, http.MethodPost, "/stream/tickets", nil, struct{}{}, &out)
	return ret(&out, err)
}

// isTerminal reports whether an error means the stream can never work
// with this token: no valid session, or a token that may not read.
func isTerminal(err error) bool {
	var e *Error
	return errors.As(err, &e) && (e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden)
}

// OnlinePeers lists the ids of the caller's direct peers who are online
// now and show their presence: what a new stream gets as
// presence.snapshot, for a client that long-polls (presence events keep
// it current).
func (c *Client) OnlinePeers(ctx context.Context) ([]string, error) {
	var out struct {
		Online []string `json:"online"`
	}
	if _, err := c.call(ctx, http.MethodGet, "/presence", nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Online, nil
}
