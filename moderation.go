package parley

import "time"

// ModerationTx stores what request triage, content filters and the
// server's moderators need: request scores, the spam model, sender
// fingerprints, filters and the reports queue.
type ModerationTx interface {
	// PutRequestScore inserts or replaces the score of one request.
	PutRequestScore(s *RequestScore) error
	// RequestScore returns the score of a request or ENotFound.
	RequestScore(conversationID, userID string) (*RequestScore, error)
	// DeleteRequestScore forgets a request's score (no error when none).
	DeleteRequestScore(conversationID, userID string) error
	// Requests lists a page of a user's pending requests (members with
	// status pending in the requests folder whose conversation has a
	// message or was created by the user) with Filtered as given, lowest
	// score first, then conversation id. Requests without a stored score
	// count as score 0, not filtered.
	Requests(f RequestFilter) ([]ScoredRequest, error)

	// SpamTotals returns how many documents the spam model learned per
	// class.
	SpamTotals() (spamDocs, hamDocs int64, err error)
	// SpamTokens returns, for the tokens the model knows, in how many
	// spam and ham documents each appeared. Unknown tokens are absent.
	SpamTokens(tokens []string) (map[string]TokenCounts, error)
	// LearnSpam adds delta (1 to learn, -1 to forget) to the class's
	// document total and to the count of each token (tokens must be
	// distinct). Counts never go below zero.
	LearnSpam(tokens []string, spam bool, delta int) error

	// AddFingerprint records that sender sent text with fingerprint fp to
	// recipient at at, and drops the sender's records older than
	// dropBefore.
	AddFingerprint(senderID, fp, recipientID string, at, dropBefore time.Time) error
	// CountFingerprintRecipients counts the distinct recipients a sender
	// sent fp to at or after since, stopping at max.
	CountFingerprintRecipients(senderID, fp string, since time.Time, max int) (int, error)
	// CountFollowOverlap counts the accounts viewerID follows that follow
	// userID, stopping at max.
	CountFollowOverlap(viewerID, userID string, max int) (int, error)
	// CountReportsAgainst counts the reports about userID filed at or
	// after since, stopping at max.
	CountReportsAgainst(userID string, since time.Time, max int) (int, error)

	// CreateFilter inserts f; EConflict when the owner has the same kind
	// and pattern.
	CreateFilter(f *Filter) error
	// Filters lists the filters of an owner ("" for the server's), oldest
	// first.
	Filters(ownerID string) ([]*Filter, error)
	// DeleteFilter deletes one filter of an owner; ENotFound if none.
	DeleteFilter(ownerID, id string) error

	// ReportByID returns a report or ENotFound.
	ReportByID(id string) (*Report, error)
	// Reports lists reports by status, newest first, before the cursor.
	Reports(f ReportFilter) ([]*Report, error)
	// ResolveReport saves a report's Status, Resolution, ResolvedBy,
	// ResolvedAt and Note; ENotFound if gone.
	ResolveReport(r *Report) error
	// SetReportDetail replaces a report's stored detail (sealed again
	// under a new data key); ENotFound if gone.
	SetReportDetail(id, detail string) error
}

// RequestScore is the triage of one message request for its recipient.
type RequestScore struct {
	ConversationID string
	UserID         string // the recipient
	SenderID       string
	// Score is the spam probability in [0, 1]; Filtered requests are shown
	// in the hidden "filtered" sub-folder.
	Score    float64
	Filtered bool
	// Signals is the JSON list of the signals and their contributions.
	Signals string
	// Learned is the class the spam model learned from this request ("",
	// "spam" or "ham"), so that it learns each request once.
	Learned   string
	UpdatedAt time.Time
}

// RequestFilter selects a page of one user's requests.
type RequestFilter struct {
	UserID   string
	Filtered bool
	// After is the last row of the previous page (nil for the first).
	After *RequestCursor
	Limit int
}

// RequestCursor is a position in a requests list.
type RequestCursor struct {
	Score float64
	ID    string
}

// ScoredRequest is one row of a requests list.
type ScoredRequest struct {
	Conversation *Conversation
	Member       *Member
	Score        *RequestScore // nil when never scored
}

// TokenCounts are the documents of each class a token appeared in.
type TokenCounts struct {
	Spam, Ham int64
}

// Filter kinds.
const (
	// FilterWord matches a word or phrase, ignoring case and diacritics,
	// on word boundaries.
	FilterWord = "word"
	// FilterRegex matches a regular expression (RE2 syntax).
	FilterRegex = "regex"
	// FilterDomainDeny matches links to a domain or its subdomains.
	FilterDomainDeny = "domain_deny"
	// FilterDomainAllow (server filters only) lets links to a domain and
	// its subdomains through; when any exist, links to other domains match.
	FilterDomainAllow = "domain_allow"
)

// Filter actions.
const (
	// FilterRefuse refuses a send (server filters).
	FilterRefuse = "refuse"
	// FilterFlag lets a send through and files a report for moderators
	// (server filters).
	FilterFlag = "flag"
	// FilterHide files a matching request under "filtered" (account
	// filters).
	FilterHide = "hide"
)

// Filter is one rule of an account's or the server's content filters.
type Filter struct {
	ID        string
	OwnerID   string // "" for the server
	Kind      string
	Pattern   string
	Action    string
	CreatedBy string
	CreatedAt time.Time
}

// Report statuses.
const (
	ReportOpen     = "open"
	ReportResolved = "resolved"
)

// ReportFilter selects a page of the reports queue.
type ReportFilter struct {
	Status string // ReportOpen or ReportResolved; "" for both
	// Before is the last report of the previous page (CreatedAt, ID).
	BeforeAt time.Time
	BeforeID string
	Limit    int
}
