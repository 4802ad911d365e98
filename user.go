package parley

import "time"

// UserKind says what an account is for.
type UserKind string

// The kinds of account.
const (
	KindPerson   UserKind = "person"
	KindBusiness UserKind = "business"
	KindBot      UserKind = "bot"
	// KindExternal stands for a person on another platform (Instagram,
	// Messenger, WhatsApp) writing to a business through a channel: it
	// has no password, cannot sign in, and nobody can start a
	// conversation with it. It is never a valid kind to register.
	KindExternal UserKind = "external"
)

// Valid reports whether k is a known kind.
func (k UserKind) Valid() bool {
	return k == KindPerson || k == KindBusiness || k == KindBot
}

// DMPolicy says who may start a conversation with a user.
type DMPolicy string

// The DM policies of DESIGN.md §1.
const (
	// PolicyOpen lets anyone start a conversation; strangers land in requests.
	PolicyOpen DMPolicy = "open"
	// PolicyFollowing lets only people the user follows start one.
	PolicyFollowing DMPolicy = "following"
	// PolicyClosed lets nobody start a new conversation.
	PolicyClosed DMPolicy = "closed"
)

// Valid reports whether p is a known policy.
func (p DMPolicy) Valid() bool {
	return p == PolicyOpen || p == PolicyFollowing || p == PolicyClosed
}

// User is an account: a person, a business or a bot.
type User struct {
	ID           string
	Handle       string
	DisplayName  string
	Bio          string
	Kind         UserKind
	DMPolicy     DMPolicy
	PasswordHash string
	// ShowPresence lets others see when the user is online.
	ShowPresence bool
	// HideReadReceipts keeps the user's read markers to themselves — and,
	// in return, hides others' from them.
	HideReadReceipts bool
	// WarnPhone makes the sensitive-data guard warn the user before they
	// send a phone number (other kinds always warn).
	WarnPhone bool
	// OwnerID is the account that created and controls a bot ("" for
	// people and businesses).
	OwnerID string
	// Suspended accounts cannot sign in or use their sessions and tokens;
	// an administrator sets it (parley user suspend).
	Suspended bool
	// ServerAdmin accounts moderate the server: the reports queue, bans
	// and server filters (parley user create --admin, parley user promote).
	ServerAdmin bool
	// Banned accounts are suspended for good: restoring them is refused.
	Banned bool
	// MessagesHidden hides the account's messages from everyone else (a
	// ban may set it).
	MessagesHidden bool
	CreatedAt      time.Time
	UpdatedAt      time.Time
	// DeletedAt is when the account was deleted (nil: live). A deleted
	// account keeps its row, profile wiped, so that messages kept under
	// the anonymise policy or a legal hold still have a sender; it can
	// neither sign in nor use a token.
	DeletedAt *time.Time
}

// Session kinds.
const (
	// SessionDevice is a signed-in device: it may do everything.
	SessionDevice = "device"
	// SessionToken is an API token: it may do what its scopes allow, and
	// never manage the account's sessions, tokens or password.
	SessionToken = "token"
)

// Session is one signed-in device or API token. The token itself is never
// stored: only its SHA-256 hash.
type Session struct {
	ID         string
	UserID     string
	TokenHash  []byte
	Device     string // a name the client gave, e.g. "Firefox on Linux"
	CreatedAt  time.Time
	LastUsedAt time.Time
	// Kind is SessionDevice or SessionToken.
	Kind string
	// Name, Scopes and ExpiresAt describe an API token.
	Name      string
	Scopes    []string
	ExpiresAt *time.Time
}

// Report is a complaint about a user or a message, stored for admins.
type Report struct {
	ID             string
	ReporterID     string
	TargetUserID   string
	ConversationID string // set when a message is reported
	MessageID      string
	Reason         string // one of ReportReasons
	Detail         string
	CreatedAt      time.Time
	// Status is ReportOpen until a moderator resolves it.
	Status string
	// Resolution is what the moderator did: "dismiss", "suspend" or "ban".
	Resolution string
	ResolvedBy string
	ResolvedAt *time.Time
	Note       string
}

// ReportReasons are the accepted values of Report.Reason.
var ReportReasons = []string{"spam", "harassment", "hate", "violence", "scam", "nudity", "impersonation", "other"}
