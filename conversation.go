package parley

import "time"

// ConversationKind separates one-to-one from group conversations.
type ConversationKind string

// The conversation kinds.
const (
	ConversationDirect ConversationKind = "direct"
	ConversationGroup  ConversationKind = "group"
)

// Conversation is a direct (exactly two members) or group conversation.
type Conversation struct {
	ID        string
	Kind      ConversationKind
	Title     string // groups only
	CreatedBy string
	CreatedAt time.Time
	// DirectKey is the two member ids, sorted and joined by ":", for direct
	// conversations; it makes "one conversation per pair" a unique index.
	DirectKey string
	// InvitePolicy is who may add members to a group: "admins" or "members".
	InvitePolicy string
	// LastSeq is the sequence number of the newest message (0 when empty).
	LastSeq int64
	// LastActivityAt orders conversation lists.
	LastActivityAt time.Time
	// MemberCount counts members that are active or invited.
	MemberCount int
	// LastPos is the position of the newest message or conversation-wide
	// event; sync skips conversations with nothing after a device's position.
	LastPos int64
	// DisappearAfter is the disappearing-messages timer (0: off): a message
	// sent while it is on expires that long after it was sent.
	DisappearAfter time.Duration
	// ListFromConversation marks a large group: its members' conversation
	// lists find it through this row's LastActivityAt, where every other
	// conversation keeps a copy of it on each member row (the list's index)
	// that each message updates. The app sets it above a group size, so
	// that a message to a large group does not update a row per member.
	ListFromConversation bool
}

// Role is a member's role in a group. Direct members are all RoleMember.
type Role string

// The group roles.
const (
	RoleOwner  Role = "owner"
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
)

// MemberStatus is where a member stands in a conversation.
type MemberStatus string

// The member statuses.
const (
	// StatusActive members read and write.
	StatusActive MemberStatus = "active"
	// StatusPending members have a message request or a group invite they
	// have not accepted: they may preview, not take part.
	StatusPending MemberStatus = "pending"
	// StatusDeclined members declined the request; it is hidden from them.
	StatusDeclined MemberStatus = "declined"
	// StatusLeft members left; they keep history up to LeftSeq.
	StatusLeft MemberStatus = "left"
	// StatusRemoved members were removed by an admin; history up to LeftSeq.
	StatusRemoved MemberStatus = "removed"
)

// Folder is where a conversation is filed for one member.
type Folder string

// The folders.
const (
	FolderInbox    Folder = "inbox"
	FolderRequests Folder = "requests"
	FolderArchived Folder = "archived"
)

// Valid reports whether f is a listable folder.
func (f Folder) Valid() bool {
	return f == FolderInbox || f == FolderRequests || f == FolderArchived
}

// Member is one user's membership of a conversation, with their own view of
// it: folder, pin, mute and read position.
type Member struct {
	ConversationID string
	UserID         string
	Role           Role
	Status         MemberStatus
	Folder         Folder
	PinnedAt       *time.Time
	MutedUntil     *time.Time
	// ReadSeq is the highest sequence number the member has read; it never
	// moves backwards.
	ReadSeq int64
	// JoinedSeq is the conversation's LastSeq when the member joined: group
	// members see messages after it.
	JoinedSeq int64
	// LeftSeq, for left and removed members, is the last message they may
	// see; for a pending group invitee, the last message of the preview.
	LeftSeq   int64
	InvitedBy string
	JoinedAt  time.Time
	UpdatedAt time.Time
	// JoinedPos and LeftPos bound the events the member sees: positions
	// from JoinedPos on, and (once left) before LeftPos.
	JoinedPos int64
	LeftPos   int64
	// DeliveredSeq is the highest sequence number delivered to one of the
	// member's devices; it never moves backwards.
	DeliveredSeq int64
}

// SeesEvent reports whether the member may see a conversation-wide event
// at position pos.
func (m *Member) SeesEvent(pos int64) bool {
	switch m.Status {
	case StatusActive, StatusPending:
		return pos >= m.JoinedPos
	case StatusLeft, StatusRemoved:
		return pos >= m.JoinedPos && pos < m.LeftPos
	}
	return false
}

// CanRead reports whether the member may read the message with sequence seq.
// A pending member with LeftSeq set (a group invitee) previews only up to
// it: the invite, not the group's traffic.
func (m *Member) CanRead(seq int64) bool {
	return m.State().CanRead(seq)
}

// State returns the part of the membership that says what its user may
// read.
func (m *Member) State() MemberState {
	return MemberState{UserID: m.UserID, Status: m.Status, JoinedSeq: m.JoinedSeq, LeftSeq: m.LeftSeq}
}

// MemberState is the part of a membership that decides who hears of a
// conversation and which of its messages they may read: what an audience
// or the fan-out of a large group needs of each of thousands of members,
// without the rest of the row.
type MemberState struct {
	UserID    string
	Status    MemberStatus
	JoinedSeq int64
	LeftSeq   int64
}

// CanRead is Member.CanRead.
func (m MemberState) CanRead(seq int64) bool {
	switch m.Status {
	case StatusActive:
		return seq > m.JoinedSeq
	case StatusPending:
		return seq > m.JoinedSeq && (m.LeftSeq == 0 || seq <= m.LeftSeq)
	case StatusLeft, StatusRemoved:
		return seq > m.JoinedSeq && seq <= m.LeftSeq
	}
	return false
}

// Departed reports whether the member left or was removed: their view
// of the conversation stops at LeftSeq.
func (m *Member) Departed() bool { return m.Status == StatusLeft || m.Status == StatusRemoved }

// MaxReadable returns the highest sequence number the member may read in a
// conversation whose newest message is lastSeq.
func (m *Member) MaxReadable(lastSeq int64) int64 {
	if m.LeftSeq > 0 && m.Status != StatusActive {
		return min(lastSeq, m.LeftSeq)
	}
	return lastSeq
}

// ConversationCursor is a position in a member's conversation list, which is
// ordered pinned first, then by last activity, newest first.
type ConversationCursor struct {
	Pinned     bool
	ActivityAt time.Time
	ID         string
}

// ConversationFilter selects a page of one user's conversations.
type ConversationFilter struct {
	UserID string
	Folder Folder
	After  *ConversationCursor
	Limit  int
}

// MemberConversation is one row of a conversation list: the conversation and
// the listing user's membership.
type MemberConversation struct {
	Conversation *Conversation
	Member       *Member
}

// PeerMember is a conversation's other member and whether either of the
// two users blocks the other (ConversationTx.Peers).
type PeerMember struct {
	Member  *Member
	Blocked bool
}
