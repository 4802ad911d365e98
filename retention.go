package parley

import "time"

// HoldScope is what a legal hold covers.
type HoldScope string

// The hold scopes.
const (
	// HoldConversation keeps one conversation.
	HoldConversation HoldScope = "conversation"
	// HoldContact keeps a business's conversations with one of its contacts.
	HoldContact HoldScope = "contact"
	// HoldAccount keeps every conversation an account is a member of.
	HoldAccount HoldScope = "account"
)

// Valid reports whether s is a known scope.
func (s HoldScope) Valid() bool {
	return s == HoldConversation || s == HoldContact || s == HoldAccount
}

// LegalHold keeps content from disappearing timers and retention until it
// is released.
type LegalHold struct {
	ID    string
	Scope HoldScope
	// TargetID is the conversation, contact or user the hold covers.
	TargetID string
	// BusinessID is the business of a contact hold, and of any hold a
	// business set; "" for holds set by the server's administrators.
	BusinessID string
	Reason     string
	CreatedBy  string
	CreatedAt  time.Time
	ReleasedBy string
	ReleasedAt *time.Time
}

// RetentionPolicy is how long one kind of conversation keeps its messages.
// Zero durations mean "not by this rule".
type RetentionPolicy struct {
	// BusinessID is the business whose customer conversations the policy
	// covers ("" for a server policy, which comes from configuration).
	BusinessID string
	// Kind is "direct", "group" or "customer".
	Kind string
	// MaxAge purges messages that long after they were sent.
	MaxAge time.Duration
	// AfterResolution purges a resolved customer conversation's messages
	// that long after it was resolved.
	AfterResolution time.Duration
	UpdatedBy       string
	UpdatedAt       time.Time
}

// The conversation kinds retention tells apart: a customer conversation is
// a direct conversation in a business's inbox.
const (
	RetentionDirect   = "direct"
	RetentionGroup    = "group"
	RetentionCustomer = "customer"
)

// RetentionJob is one run of retention and its progress.
type RetentionJob struct {
	ID         string
	BusinessID string // "" for a server-wide run
	DryRun     bool
	// State is "running", "done" or "failed".
	State       string
	Scanned     int64
	Purged      int64 // for a dry run: would be purged
	HeldSkipped int64
	// Cursor is the position of the last message scanned.
	Cursor     int64
	Error      string
	CreatedBy  string
	CreatedAt  time.Time
	FinishedAt *time.Time
}

// The retention job states.
const (
	JobRunning = "running"
	JobDone    = "done"
	JobFailed  = "failed"
)

// RetentionTx stores legal holds, retention policies and retention jobs.
type RetentionTx interface {
	// CreateHold inserts h.
	CreateHold(h *LegalHold) error
	// Hold returns a hold or ENotFound.
	Hold(id string) (*LegalHold, error)
	// ReleaseHold releases an active hold; ENotFound if there is no
	// active hold with that id.
	ReleaseHold(id, by string, at time.Time) error
	// ActiveHolds lists the holds not released, oldest first.
	ActiveHolds() ([]*LegalHold, error)
	// Holds lists holds, released ones too, newest first: a business's
	// when businessID is set, every hold otherwise.
	Holds(businessID string, limit int) ([]*LegalHold, error)

	// PutRetentionPolicy inserts or replaces a business's policy for a kind.
	PutRetentionPolicy(p *RetentionPolicy) error
	// DeleteRetentionPolicy deletes one; deleting none is not an error.
	DeleteRetentionPolicy(businessID, kind string) error
	// RetentionPolicies lists a business's policies, or every business's
	// when businessID is "", by business and kind.
	RetentionPolicies(businessID string) ([]*RetentionPolicy, error)

	// CreateRetentionJob inserts j.
	CreateRetentionJob(j *RetentionJob) error
	// UpdateRetentionJob saves State, the counts, Cursor, Error and
	// FinishedAt; ENotFound if gone.
	UpdateRetentionJob(j *RetentionJob) error
	// RetentionJob returns a job or ENotFound.
	RetentionJob(id string) (*RetentionJob, error)
	// RetentionJobs lists a business's jobs ("" for server-wide ones),
	// newest first.
	RetentionJobs(businessID string, limit int) ([]*RetentionJob, error)
	// RunningRetentionJobs lists every job still running, oldest first
	// (to resume them after a restart).
	RunningRetentionJobs() ([]*RetentionJob, error)
}
