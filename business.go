package parley

import (
	"encoding/json"
	"time"
)

// AgentRole is what a team member may do in a business's inbox.
type AgentRole string

// The agent roles. The business account itself acts as an admin.
const (
	// AgentRoleAgent answers conversations.
	AgentRoleAgent AgentRole = "agent"
	// AgentRoleAdmin also manages members, teams, saved replies and settings.
	AgentRoleAdmin AgentRole = "admin"
	// AgentRoleBot is a bot account answering for the business while it
	// holds control of a conversation; it is never assigned conversations.
	AgentRoleBot AgentRole = "bot"
)

// Valid reports whether r is a role people may be given.
func (r AgentRole) Valid() bool { return r == AgentRoleAgent || r == AgentRoleAdmin }

// Agent is a user's membership of a business's team: they act on behalf
// of the business. A removed agent keeps its row (for reports and the
// audit) with Active false.
type Agent struct {
	BusinessID string
	UserID     string
	Role       AgentRole
	Active     bool
	// Away agents get no automatic assignments.
	Away bool
	// MaxOpen caps the open conversations automatic assignment gives the
	// agent (0: the business's default).
	MaxOpen int
	// LastAssignedAt orders round-robin assignment.
	LastAssignedAt time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Team groups agents of one business.
type Team struct {
	ID         string
	BusinessID string
	Name       string
	// Assign is how new conversations of the team are assigned: "" (by
	// hand), "round_robin" or "least_load".
	Assign string
	// Hours, as JSON, are the team's business hours (empty: always open).
	Hours     json.RawMessage
	CreatedAt time.Time
	UpdatedAt time.Time
}

// InboxStatus is where a customer conversation stands for the business.
type InboxStatus string

// The inbox statuses.
const (
	InboxOpen     InboxStatus = "open"
	InboxPending  InboxStatus = "pending"
	InboxSnoozed  InboxStatus = "snoozed"
	InboxResolved InboxStatus = "resolved"
)

// Valid reports whether s is a known status.
func (s InboxStatus) Valid() bool {
	return s == InboxOpen || s == InboxPending || s == InboxSnoozed || s == InboxResolved
}

// InboxItem is the business's record of one customer conversation: its
// status, assignment, labels and the times SLAs and reports need.
type InboxItem struct {
	ConversationID string
	BusinessID     string
	ContactID      string
	Status         InboxStatus
	SnoozedUntil   *time.Time
	// Priority is "low", "normal", "high" or "urgent".
	Priority   string
	AssigneeID string
	TeamID     string
	Labels     []string
	// Attributes are the business's custom fields for the conversation.
	Attributes map[string]string
	// OpenedAt starts the current cycle (the first customer message after
	// the conversation was created or resolved).
	OpenedAt time.Time
	// WaitingSince is the oldest customer message not yet answered by
	// the business (nil when the business spoke last).
	WaitingSince *time.Time
	// FirstReplyAt is the business's first reply of the current cycle.
	FirstReplyAt *time.Time
	AssignedAt   *time.Time
	ResolvedAt   *time.Time
	// FirstDueAt and ResolveDueAt are the SLA targets of the cycle.
	FirstDueAt   *time.Time
	ResolveDueAt *time.Time
	// AwaySentAt is when the away message last went out.
	AwaySentAt *time.Time
	// CSATMessageID is the rating request waiting for an answer.
	CSATMessageID string
	// Control is who answers: ControlBot (the business's bot) or
	// ControlHuman ("" is human too).
	Control    string
	ActivityAt time.Time
	UpdatedAt  time.Time
}

// Handover states of an inbox item.
const (
	ControlBot   = "bot"
	ControlHuman = "human"
)

// InboxFilter selects a page of a business's inbox, newest activity first.
// Empty fields do not filter.
type InboxFilter struct {
	BusinessID string
	Statuses   []InboxStatus
	// AssigneeID filters by assignee; Unassigned selects items with none.
	AssigneeID string
	Unassigned bool
	TeamID     string
	Label      string
	ContactID  string
	// OverdueAt selects unresolved items with an SLA target before it.
	OverdueAt *time.Time
	// After is the last item of the previous page.
	After *InboxCursor
	Limit int
}

// InboxCursor is a position in an inbox listing.
type InboxCursor struct {
	ActivityAt     time.Time
	ConversationID string
}

// Note is a private note of a business's team in a conversation; it is
// never visible to the customer.
type Note struct {
	ID             string
	BusinessID     string
	ConversationID string
	AuthorID       string
	Text           string
	Mentions       []string
	CreatedAt      time.Time
}

// SavedReply is a canned answer with {{variables}}.
type SavedReply struct {
	ID         string
	BusinessID string
	Shortcut   string
	Title      string
	Body       string
	CreatedBy  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// InboxAudit is one recorded action in a business's inbox: assignment,
// status change, note, reply times and ratings, with who and when. Reports
// are computed from it.
type InboxAudit struct {
	ID             int64
	BusinessID     string
	ConversationID string
	ActorID        string
	Action         string
	// AgentID and TeamID are whom the action concerns (an assignee, the
	// agent who replied).
	AgentID string
	TeamID  string
	// Value is a duration in milliseconds (reply and resolution times) or
	// a rating.
	Value int64
	Data  json.RawMessage
	At    time.Time
}

// The audit actions.
const (
	AuditAssigned      = "assigned"
	AuditStatus        = "status"
	AuditPriority      = "priority"
	AuditLabels        = "labels"
	AuditNote          = "note"
	AuditOpened        = "opened"
	AuditFirstResponse = "first_response"
	AuditResolved      = "resolved"
	AuditCSAT          = "csat"
	AuditAway          = "away_message"
	AuditSLABreach     = "sla_breach"
	AuditMember        = "member"
)

// AuditFilter selects audit rows of one business.
type AuditFilter struct {
	BusinessID     string
	ConversationID string
	Actions        []string
	From, To       time.Time // To excluded; zero: unbounded
	AfterID        int64
	Limit          int
}

// Contact is a business's profile of one customer.
type Contact struct {
	BusinessID string
	ID         string
	UserID     string // the customer's account ("" for an external contact)
	Name       string
	Attributes map[string]string
	Labels     []string
	Notes      string
	MergedInto string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	LastSeenAt time.Time
}

// BusinessTx stores business inboxes.
type BusinessTx interface {
	// PutAgent inserts or replaces a business membership.
	PutAgent(a *Agent) error
	// Agent returns one membership (active or not) or ENotFound.
	Agent(businessID, userID string) (*Agent, error)
	// Agents lists a business's memberships, oldest first.
	Agents(businessID string) ([]*Agent, error)
	// AgentOf lists the active memberships of a user.
	AgentOf(userID string) ([]*Agent, error)
	// AgentsAmong returns, in no order, the users among userIDs who are
	// active agents of some business.
	AgentsAmong(userIDs []string) ([]string, error)
	// AgentMembers returns, in no order, the members (any status) of a
	// conversation who are active agents of some business: AgentsAmong
	// of its members, without sending their ids.
	AgentMembers(conversationID string) ([]string, error)

	// CreateTeam inserts t; UpdateTeam saves Name, Assign, Hours.
	CreateTeam(t *Team) error
	UpdateTeam(t *Team) error
	// DeleteTeam deletes a team and its memberships; ENotFound if none.
	DeleteTeam(businessID, id string) error
	// Team returns a team of a business or ENotFound.
	Team(businessID, id string) (*Team, error)
	// Teams lists a business's teams by name.
	Teams(businessID string) ([]*Team, error)
	// SetTeamMember adds (on) or removes a user and reports whether
	// anything changed.
	SetTeamMember(teamID, userID string, on bool) (bool, error)
	// TeamMembers lists the user ids of a team.
	TeamMembers(teamID string) ([]string, error)

	// PutInboxItem inserts or replaces an item, labels included.
	PutInboxItem(it *InboxItem) error
	// InboxItem returns the item of a conversation or ENotFound.
	InboxItem(conversationID string) (*InboxItem, error)
	// InboxItems lists a page of a business's items.
	InboxItems(f InboxFilter) ([]*InboxItem, error)
	// CountInbox counts the items a filter selects (Limit and After
	// ignored), stopping at max.
	CountInbox(f InboxFilter, max int) (int, error)
	// OpenLoads counts, per assignee, the business's unresolved items.
	OpenLoads(businessID string) (map[string]int, error)
	// DueSnoozes lists up to limit snoozed items whose time has come.
	DueSnoozes(now time.Time, limit int) ([]*InboxItem, error)
	// Unanswered lists up to limit assigned open items of any business
	// waiting for a reply since before t.
	Unanswered(before time.Time, limit int) ([]*InboxItem, error)

	// CreateNote inserts n; Notes lists a conversation's notes, oldest first.
	CreateNote(n *Note) error
	Notes(businessID, conversationID string) ([]*Note, error)

	// CreateSavedReply inserts r (EConflict when the shortcut is taken);
	// UpdateSavedReply saves Shortcut, Title, Body; DeleteSavedReply
	// deletes; both ENotFound when r is not the business's.
	CreateSavedReply(r *SavedReply) error
	UpdateSavedReply(r *SavedReply) error
	DeleteSavedReply(businessID, id string) error
	SavedReply(businessID, id string) (*SavedReply, error)
	// SavedReplies lists a business's saved replies by shortcut; with
	// query, only those whose shortcut or title contains it.
	SavedReplies(businessID, query string) ([]*SavedReply, error)

	// PutContact inserts or replaces a contact; Contact returns one
	// (ENotFound if none); ContactByUser finds a business's contact of an
	// account.
	PutContact(c *Contact) error
	Contact(businessID, id string) (*Contact, error)
	ContactByUser(businessID, userID string) (*Contact, error)
	// Contacts lists a page of a business's contacts (not merged ones) by
	// name; with query, those whose name contains it.
	Contacts(businessID, query string, afterName, afterID string, limit int) ([]*Contact, error)
	// MoveContactItems re-points a contact's inbox items to another.
	MoveContactItems(businessID, fromID, toID string) error

	// BusinessSettings returns a business's settings as JSON (nil when
	// never set); PutBusinessSettings saves them.
	BusinessSettings(businessID string) (json.RawMessage, error)
	PutBusinessSettings(businessID string, settings json.RawMessage, at time.Time) error

	// AppendAudit inserts a and sets a.ID; Audit lists rows, oldest first.
	AppendAudit(a *InboxAudit) error
	Audit(f AuditFilter) ([]*InboxAudit, error)
}
