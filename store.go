package parley

import (
	"context"
	"log/slog"
	"runtime/debug"
	"time"
)

// Store is Parley's source of truth. Every method of Tx runs inside the
// transaction given to Update or View.
//
// Errors: methods that look one thing up return an *Error with ENotFound
// when it does not exist, never a nil result with a nil error. Unique
// violations come back as EConflict (EHandleTaken for handles).
type Store interface {
	// Update runs fn in a read-write transaction and commits when fn
	// returns nil. Concurrent calls may share one commit (group commit);
	// Update returns only after the commit that holds fn's writes, so a
	// nil return means durable. When fn returns an error, or panics, its
	// writes are undone and the error returned; other callers sharing the
	// commit are not affected. fn may run on another goroutine and must not
	// keep tx or block on anything but the store. fn may be called more
	// than once (a shared batch is run again when another fn in it fails),
	// so it must only assign its results to outer variables, never
	// accumulate them.
	//
	// When ctx carries a function (WithCommitted), Update calls it once
	// fn's writes committed, before returning, on the store's committing
	// goroutine and in commit order: the updates of one commit in the
	// order they ran, after those of the commits before. It must be
	// quick and must not call the store.
	Update(ctx context.Context, fn func(tx Tx) error) error
	// View runs fn in a read-only transaction with a consistent snapshot.
	// fn may run more than once, each time in a new snapshot (SQLite runs
	// a search again after catching its index up).
	View(ctx context.Context, fn func(tx Tx) error) error
	// Ping reports whether the store can serve requests.
	Ping(ctx context.Context) error
	// Close releases the store; pending Updates finish first.
	Close() error
}

// Tx is what one transaction can do. It is split by subject below.
type Tx interface {
	UserTx
	SessionTx
	GraphTx
	ConversationTx
	MessageTx
	SearchTx
	EventTx
	MediaTx
	StickerTx
	BusinessTx
	WebhookTx
	AdminTx
	ChainTx
	ExportTx
	CampaignTx
	ModerationTx
	AuditLogTx
	TwoFactorTx
	RetentionTx
	ChannelTx
	KeyTx
}

// UserTx stores accounts.
type UserTx interface {
	// CreateUser inserts u; EHandleTaken if the handle is in use.
	CreateUser(u *User) error
	// UserByID returns the user or ENotFound.
	UserByID(id string) (*User, error)
	// UserByHandle returns the user or ENotFound. Handles are stored lower-case.
	UserByHandle(handle string) (*User, error)
	// UsersByIDs returns the users that exist, keyed by id.
	UsersByIDs(ids []string) (map[string]*User, error)
	// UpdateUser saves every field of u but ID, CreatedAt and OwnerID;
	// ENotFound if gone.
	UpdateUser(u *User) error
	// UsersByOwner lists the bots an account owns, oldest first.
	UsersByOwner(ownerID string) ([]*User, error)
}

// SessionTx stores sessions (device tokens).
type SessionTx interface {
	// CreateSession inserts s.
	CreateSession(s *Session) error
	// SessionByTokenHash returns the session or ENotFound.
	SessionByTokenHash(hash []byte) (*Session, error)
	// Sessions lists a user's sessions, newest first.
	Sessions(userID string) ([]*Session, error)
	// DeleteSession deletes one session of a user; ENotFound if none.
	DeleteSession(userID, id string) error
	// DeleteSessionsExcept deletes every session of the user but keepID
	// (which may be empty) and returns how many went.
	DeleteSessionsExcept(userID, keepID string) (int, error)
	// TouchSession records that a session was used at t.
	TouchSession(id string, t time.Time) error
}

// GraphTx stores follows, blocks and reports.
type GraphTx interface {
	// SetFollow makes follower follow (on) or unfollow followee and reports
	// whether anything changed.
	SetFollow(followerID, followeeID string, on bool, at time.Time) (bool, error)
	// IsFollowing reports whether follower follows followee.
	IsFollowing(followerID, followeeID string) (bool, error)
	// FollowCounts returns how many follow the user and how many it follows.
	FollowCounts(userID string) (followers, following int, err error)
	// SetBlock makes blocker block (on) or unblock blocked and reports
	// whether anything changed.
	SetBlock(blockerID, blockedID string, on bool, at time.Time) (bool, error)
	// IsBlocked reports whether blocker blocks blocked (one direction).
	IsBlocked(blockerID, blockedID string) (bool, error)
	// BlockedEither reports whether a blocks b or b blocks a.
	BlockedEither(a, b string) (bool, error)
	// Blocked lists the ids the user blocks, newest first.
	Blocked(userID string) ([]string, error)
	// BlocksAmong returns the ids among others that a block stands
	// between with the user, in either direction (each mapped to true).
	BlocksAmong(userID string, others []string) (map[string]bool, error)
	// CreateReport stores a report.
	CreateReport(r *Report) error
}

// ConversationTx stores conversations and memberships.
type ConversationTx interface {
	// CreateConversation inserts c; EConflict when c.DirectKey exists.
	CreateConversation(c *Conversation) error
	// ConversationByID returns the conversation or ENotFound.
	ConversationByID(id string) (*Conversation, error)
	// DirectConversation returns the direct conversation with that key or
	// ENotFound.
	DirectConversation(directKey string) (*Conversation, error)
	// UpdateConversation saves Title, InvitePolicy, LastActivityAt,
	// MemberCount and DisappearAfter; ENotFound if gone.
	UpdateConversation(c *Conversation) error
	// SetListFromConversation sets a conversation's ListFromConversation
	// and moves its member rows' copy of the last activity with it, in the
	// same transaction; ENotFound if gone.
	SetListFromConversation(conversationID string, on bool) error
	// AllocSeq atomically takes the next sequence number of a conversation,
	// sets LastSeq to it and LastActivityAt to at, and returns it.
	AllocSeq(conversationID string, at time.Time) (int64, error)
	// AllocSeqs does what AllocSeq does for each of conversationIDs (each
	// at most once; EInvalid otherwise) and returns the numbers taken,
	// keyed by conversation id, in one statement where the store can (the
	// campaign worker's chunks). ENotFound when any is missing; the caller
	// then abandons the transaction (some may be taken).
	AllocSeqs(conversationIDs []string, at time.Time) (map[string]int64, error)
	// PutMember inserts or replaces a membership.
	PutMember(m *Member) error
	// Member returns one membership or ENotFound.
	Member(conversationID, userID string) (*Member, error)
	// ConversationMember returns a conversation and one user's membership
	// of it in one lookup; ENotFound if either is missing.
	ConversationMember(conversationID, userID string) (*Conversation, *Member, error)
	// ConversationMembers returns, keyed by conversation id, each of the
	// given conversations that userID is a member of (any status), with
	// that membership; the others are absent.
	ConversationMembers(userID string, conversationIDs []string) (map[string]MemberConversation, error)
	// Peer returns another member of a conversation and whether either of
	// userID and that member blocks the other; ENotFound if not a member.
	Peer(conversationID, userID, peerID string) (peer *Member, blocked bool, err error)
	// Peers does what Peer does for several conversations in one read
	// where the store can: peers maps each conversation id to its peer's
	// user id; the answer is keyed by conversation id and omits those
	// whose peer is not a member.
	Peers(userID string, peers map[string]string) (map[string]PeerMember, error)
	// DirectPeers lists the users who share an active direct conversation
	// with userID (both members active).
	DirectPeers(userID string) ([]string, error)
	// Members lists every membership of a conversation, oldest first.
	Members(conversationID string) ([]*Member, error)
	// MemberStates lists the state of every membership of a conversation
	// (any status), in no order: Members without the rest of the rows and
	// the sort, for audiences of thousands.
	MemberStates(conversationID string) ([]MemberState, error)
	// MembersRevision returns the revision of a conversation's member
	// states: it grows with every write that adds or removes a membership
	// or changes its status, JoinedSeq or LeftSeq, and with nothing else,
	// so two reads that give the same revision give the same
	// MemberStates. ENotFound without the conversation.
	MembersRevision(conversationID string) (int64, error)
	// CountConversationsCreatedBy counts the conversations a user created
	// at or after since, stopping at max.
	CountConversationsCreatedBy(userID string, since time.Time, max int) (int, error)
	// Conversations lists a page of a user's conversations in one folder,
	// pinned first, then newest activity first, then id descending, after
	// f.After when set. Its cost follows the page, not the number of the
	// user's conversations, except for the large groups
	// (ListFromConversation) the user is in. It omits conversations
	// whose member status is declined, and conversations with no message
	// that the user did not create.
	Conversations(f ConversationFilter) ([]MemberConversation, error)
	// ConversationIDs returns, in id order, up to limit conversation ids
	// greater than afterID ("" for the first page).
	ConversationIDs(afterID string, limit int) ([]string, error)
}

// MessageTx stores messages, edits and reactions.
type MessageTx interface {
	// CreateMessage inserts m and sets m.Pos, the next position shared with
	// events; EConflict when (conversation, sender, client id) or
	// (conversation, seq) exists.
	CreateMessage(m *Message) error
	// CreateMessages inserts ms as CreateMessage does each, in order, and
	// sets their Pos; after an EConflict the caller abandons the
	// transaction (some may be stored). A store may write them in one
	// statement (the campaign worker's chunks), and may give a message
	// numbered by AllocSeqs in this transaction the position it took with
	// the number (in AllocSeqs' order); each conversation's last position
	// is its newest either way.
	CreateMessages(ms []*Message) error
	// MessageByID returns the message or ENotFound.
	MessageByID(id string) (*Message, error)
	// MessageByClientID finds a sender's message by client id or ENotFound.
	MessageByClientID(conversationID, senderID, clientID string) (*Message, error)
	// Messages returns messages in the range, ascending by seq.
	Messages(r MessageRange) ([]*Message, error)
	// LastMessages returns, by conversation id, the newest message of each
	// range's conversation with a seq in [MinSeq, MaxSeq] (absent when
	// there is none): a page of the conversation list in one query. Only
	// ConversationID, MinSeq and MaxSeq are read.
	LastMessages(ranges []MessageRange) (map[string]*Message, error)
	// UpdateMessageText sets a message's text and EditedAt.
	UpdateMessageText(id, text string, editedAt time.Time) error
	// AddMessageEdit stores a previous version.
	AddMessageEdit(e *MessageEdit) error
	// MessageEdits lists a message's previous versions, oldest first.
	MessageEdits(messageID string) ([]*MessageEdit, error)
	// PurgeMessage turns a message into a tombstone: text and reply link
	// cleared, edits and reactions deleted, DeletedAt set.
	PurgeMessage(id string, at time.Time) error
	// RedactMessage replaces a message's content by nothing: text, link
	// card and structured data cleared, edits deleted, EditedAt cleared
	// and RedactedAt set (the first time kept); ENotFound if gone.
	RedactMessage(id string, at time.Time) error
	// MessagesBySender returns, by Pos, up to limit of a sender's messages
	// (tombstones included) with Pos after afterPos, in every conversation.
	MessagesBySender(senderID string, afterPos int64, limit int) ([]*Message, error)
	// SetMessageCard stores a message's link card (JSON) unless the
	// message was unsent, and reports whether it did.
	SetMessageCard(id, card string) (bool, error)
	// CountMessagesBySender counts a sender's messages in a conversation.
	CountMessagesBySender(conversationID, senderID string) (int, error)
	// CountUnread counts messages after afterSeq not sent by userID and not
	// unsent, stopping at max. When expiredBy is set, disappearing messages
	// expired by then (which the reaper has not purged yet) do not count.
	CountUnread(conversationID, userID string, afterSeq int64, expiredBy time.Time, max int) (int, error)
	// SetReaction adds (on) or removes a reaction and reports whether
	// anything changed.
	SetReaction(r *Reaction, on bool) (bool, error)
	// CountUserReactions counts one user's reactions on a message.
	CountUserReactions(messageID, userID string) (int, error)
	// Reactions returns the reactions of the given messages keyed by
	// message id, oldest first.
	Reactions(messageIDs []string) (map[string][]*Reaction, error)
	// ExpiredMessages returns, by (ExpiresAt, Pos), up to limit messages
	// not yet purged whose ExpiresAt is at or before due and after the
	// cursor (zero cursor: from the start).
	ExpiredMessages(due time.Time, after ExpiryCursor, limit int) ([]*Message, error)
	// RetentionCandidates returns, by Pos, up to limit messages not yet
	// purged with Pos after afterPos that were created before createdBefore.
	RetentionCandidates(afterPos int64, createdBefore time.Time, limit int) ([]*Message, error)
	// RecordOpen records that a user opened a view-once message and
	// reports whether this was their first time.
	RecordOpen(messageID, userID string, at time.Time) (bool, error)
	// MessageOpens returns, keyed by message id, who opened each of the
	// given messages.
	MessageOpens(messageIDs []string) (map[string][]string, error)
}

// ExpiryCursor is a place in the order of ExpiredMessages.
type ExpiryCursor struct {
	ExpiresAt time.Time
	Pos       int64
}

// EventTx stores the event log and finds what a device has not seen.
type EventTx interface {
	// Head returns the highest committed position (0 when empty).
	Head() (int64, error)
	// Position returns the position the next message or event of this
	// write transaction will take; members record it when they join or
	// leave. Only write transactions may call it.
	Position() int64
	// SyncMessages returns, oldest first, up to limit messages with a
	// position after since in conversations the user belongs to (declined
	// ones excepted), within the member's visible range of sequence numbers.
	SyncMessages(userID string, since int64, limit int) ([]*Message, error)
	// SyncEvents returns, oldest first, up to limit events after since
	// that concern the user: events addressed to them, and conversation-wide
	// events of their conversations (declined ones excepted) between the
	// member's JoinedPos and LeftPos.
	SyncEvents(userID string, since int64, limit int) ([]*Event, error)
	// SyncBacklog counts what SyncMessages and SyncEvents would return
	// after since with no limit, but stops counting events once the count
	// is past limit: a result above limit means "more than limit". It
	// decides whether a device far behind may replay or must reload, so it
	// reads index entries only, never the rows.
	SyncBacklog(userID string, since int64, limit int) (int, error)
	// AppendEvent inserts e and sets e.Pos. Positions only grow and are
	// never reused; they may have gaps.
	AppendEvent(e *Event) error
	// ChangesBefore returns, newest first, where the newest messages and
	// events with a position below before sit (up to limit): not what
	// they say. The hub uses it to tell which devices a change may skip.
	ChangesBefore(before int64, limit int) ([]Change, error)
}

// Change is where one stored change sits in the order of positions.
type Change struct {
	Pos            int64
	ConversationID string
	// UserID is set for an event addressed to one user only; messages
	// and conversation-wide events have none.
	UserID string
}

// Locker is a store's cluster-wide named locks: a lock held through one
// handle excludes every other handle on the same database — other nodes
// on a shared PostgreSQL, other goroutines of this node. The app uses it
// for work only one node may do at a time (media collection) and to
// order blob writes against their deletion. A holder that dies (its
// connection drops) loses its locks. Stores for one node (SQLite) lock
// within the process.
type Locker interface {
	// Lock waits until it holds the lock name, or ctx ends (ctx's error).
	// unlock releases it; calling it twice is harmless.
	Lock(ctx context.Context, name string) (unlock func(), err error)
	// TryLock takes the lock name if no one holds it; ok is false (and
	// unlock nil) when someone does.
	TryLock(ctx context.Context, name string) (unlock func(), ok bool, err error)
}

type committedKey struct{}

// WithCommitted returns ctx carrying f, which Store.Update calls in
// commit order once the update committed (see Update). The app publishes
// an update's events there, so that two updates of one group commit are
// announced in the order of their positions and not in the order their
// callers happen to wake up in.
func WithCommitted(ctx context.Context, f func()) context.Context {
	return context.WithValue(ctx, committedKey{}, f)
}

// Committed returns the function WithCommitted put in ctx, or nil.
func Committed(ctx context.Context) func() {
	f, _ := ctx.Value(committedKey{}).(func())
	return f
}

// RunCommitted is what a store calls for each update that committed: the
// function WithCommitted put in ctx, if any. A panic in it is logged and
// goes no further, so that it can neither stop the store's committer nor
// leave the rest of a batch unanswered.
func RunCommitted(ctx context.Context) {
	f := Committed(ctx)
	if f == nil {
		return
	}
	defer func() {
		if p := recover(); p != nil {
			slog.Error("the function run after a commit panicked", "panic", p, "stack", string(debug.Stack()))
		}
	}()
	f()
}
