package parley

import (
	"encoding/json"
	"time"
)

// Event types. An event is written in the same transaction as the change it
// describes; its Pos orders all events of a store. EventMessageCreated is
// never stored: the message row itself, with its Pos, is that event.
const (
	EventMessageCreated      = "message.created"
	EventMessageEdited       = "message.edited"
	EventMessageUnsent       = "message.unsent"
	EventMessageUpdated      = "message.updated"  // the server added to a message (a link card)
	EventMessageExpired      = "message.expired"  // a disappearing message reached its expiry and was purged
	EventMessageOpened       = "message.opened"   // a recipient opened a view-once message
	EventMessageErased       = "message.erased"   // the author's account was deleted and the message's content purged
	EventMessageRedacted     = "message.redacted" // the owner (or a business admin) replaced the content by a placeholder
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
	EventRequestAccepted     = "request.accepted"
	EventFolderChanged       = "conversation.folder"
	// Ephemeral events are never stored and carry no position.
	EventTyping   = "typing"
	EventPresence = "presence"
	// EventPresenceSnapshot, ephemeral, is the first word on presence a
	// new stream gets: data.online lists the user's direct peers online
	// now (those who show their presence, no block between them).
	EventPresenceSnapshot = "presence.snapshot"
)

// Event is one change that devices learn about. Events of a conversation have
// an empty UserID and concern every member who may see them; events with a
// UserID concern that user only (folder moves, pins). Events never hold
// message content: a message event names the message, and readers load it, so
// unsending purges content everywhere at once.
type Event struct {
	Pos            int64
	Type           string
	ConversationID string
	UserID         string
	ActorID        string
	MessageID      string
	Seq            int64
	Data           json.RawMessage
	CreatedAt      time.Time
	// Audience, for ephemeral events only, lists the users they go to.
	Audience []string
	// As, for ephemeral events to a business's team, is the business the
	// audience acts for (devices see it as SyncEvent.As).
	As string
	// Hand, on the node that committed the event only, is what its
	// transaction had in hand for the notifier (the app's; nil when it
	// had nothing to give). It never leaves the process: what travels on
	// the bus is built from the other fields.
	Hand any
}
