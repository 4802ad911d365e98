package parley

import "time"

// Export scopes.
const (
	ExportConversation = "conversation" // one conversation, as its owner sees it
	ExportAccount      = "account"      // every conversation of the owner, and their profile
	ExportBusiness     = "business"     // every conversation of a business, as it sees them (its admins)
)

// Export job states.
const (
	ExportQueued  = "queued"
	ExportRunning = "running"
	ExportDone    = "done"
	ExportFailed  = "failed"
)

// ExportJob is an export asked for by a user: what it covers, how far it
// got, and the file it made.
type ExportJob struct {
	ID      string
	OwnerID string
	Scope   string
	// ConversationID is the conversation of a conversation export.
	ConversationID string
	// BusinessID is set when a business admin exported as the business.
	BusinessID string
	State      string
	Done       int64
	Total      int64
	Error      string
	// File is the ZIP's name in the server's export directory.
	File       string
	Size       int64
	CreatedAt  time.Time
	FinishedAt time.Time
	// ExpiresAt is when the download link stops working and the file is
	// deleted (zero until done).
	ExpiresAt time.Time
	// LeaseUntil is how long the node building a queued or running job
	// vouches for it: the node renews it while it works, and a job whose
	// lease ran out (its node stopped) is failed by any node's cleanup.
	LeaseUntil time.Time
}

// ExportTx stores export jobs and reads what an export needs.
type ExportTx interface {
	// CreateExportJob inserts j.
	CreateExportJob(j *ExportJob) error
	// ExportJobByID returns the job or ENotFound.
	ExportJobByID(id string) (*ExportJob, error)
	// UpdateExportJob saves State, Done, Total, Error, File,
	// Size, FinishedAt, ExpiresAt and LeaseUntil; ENotFound if gone.
	UpdateExportJob(j *ExportJob) error
	// ExportJobs lists a user's jobs, newest first, at most limit.
	ExportJobs(ownerID string, limit int) ([]*ExportJob, error)
	// ExportJobsExpiredBefore lists up to limit jobs whose ExpiresAt is
	// set and before t, and, when unfinished is set, jobs left queued or
	// running whose LeaseUntil is before t (their node stopped).
	ExportJobsExpiredBefore(t time.Time, unfinished bool, limit int) ([]*ExportJob, error)
	// RenewExportLease sets LeaseUntil of a job that is still queued or
	// running (and nothing else); ENotFound if there is no such job.
	RenewExportLease(id string, until time.Time) error
	// DeleteExportJob deletes a job row; ENotFound if gone.
	DeleteExportJob(id string) error
	// Memberships lists every membership of a user (any status), oldest
	// first.
	Memberships(userID string) ([]*Member, error)
}
