package parley

import (
	"errors"
	"fmt"
	"syscall"
	"time"
)

// Error codes are stable, machine-readable strings that clients may switch on.
// The list is append-only: a code, once shipped, keeps its meaning.
const (
	EInternal           = "internal"            // a bug or an outage; the cause is logged, never shown
	EInvalid            = "invalid"             // the request is malformed or a field is wrong
	ENotFound           = "not_found"           // no such thing, or the caller may not know it exists
	EUnauthorized       = "unauthorized"        // no valid credentials
	EForbidden          = "forbidden"           // authenticated, but not allowed
	EConflict           = "conflict"            // the change clashes with current state
	EHandleTaken        = "handle_taken"        // registration with a handle already in use
	EDMNotAllowed       = "dm_not_allowed"      // privacy rules or a block refuse the conversation
	ERequestLimit       = "request_limit"       // too many messages into a request not yet accepted
	ERateLimited        = "rate_limited"        // slow down; RetryAfter says for how long
	ETooLarge           = "too_large"           // a body or field exceeds its limit
	EEditWindow         = "edit_window_closed"  // the message is too old to edit
	EGroupFull          = "group_full"          // the group has reached its member limit
	EBadCredentials     = "bad_credentials"     // login or password check failed
	EMalformed          = "malformed_request"   // the body is not the JSON the route takes
	ENotAssignee        = "not_assignee"        // the business lets only the assignee reply
	EUnresolvedVar      = "unresolved_variable" // a saved reply's variable has no value for this contact
	EInsufficientScope  = "insufficient_scope"  // the API token's scopes do not cover the request
	EHumanControl       = "human_control"       // people hold the conversation; its bot may not send
	ESensitiveData      = "sensitive_data"      // the text holds a card number, IBAN, secret or password; confirm to send it
	EAccountSuspended   = "account_suspended"   // an administrator suspended the account
	ELinkExpired        = "link_expired"        // a download link past its expiry (or never valid)
	EWindowClosed       = "window_closed"       // the contact's messaging window is closed: only approved templates for opted-in topics (or a person's reply within the agent window)
	ENoConsent          = "no_consent"          // the contact has not opted in to the topic of this promotional message (or sent STOP)
	EFrequencyCap       = "frequency_cap"       // the contact had as many promotional messages as the business's cap allows for now
	EQuietHours         = "quiet_hours"         // it is the quiet hours in the contact's time zone; promotional messages wait
	EBlockedContent     = "blocked_content"     // the server's filters refuse the text (a blocked word, pattern or link)
	EWeakPassword       = "weak_password"       // the new password is one of the most common ones
	ETwoFactorRequired  = "two_factor_required" // the business requires its team to use two-factor authentication
	EViewOnceOpened     = "view_once_opened"    // the view-once media was opened already by this recipient
	ETemplateInUse      = "template_in_use"     // a campaign that may still send the template (draft, scheduled, running, paused) refuses its deletion
	ELastAdmin          = "last_admin"          // the account is the last admin of a business: hand it over first
	EChannelUnsupported = "channel_unsupported" // the platform of a channel conversation (Messenger, Instagram, WhatsApp) cannot carry this change (an edit, an unsend of a sent message)
	ELegalHold          = "legal_hold"          // a legal hold covers the content: it cannot be redacted until the hold is released
	EChannelDisabled    = "channel_disabled"    // the conversation's channel (Messenger, Instagram, WhatsApp) is paused: nothing is sent through it until an admin resumes it
	ETagNotAllowed      = "tag_not_allowed"     // a message tag (or notification token) was asked for a message it may not carry: promotional content, a campaign
)

// EStorageFull says the server's disk is full: nothing was stored and the
// request may be retried once an operator frees space. It is kept apart
// from the list above because it describes the server, not the request.
const EStorageFull = "storage_full"

// errStorageFull is what a client is told when the disk is full.
var errStorageFull = &Error{Code: EStorageFull, Message: "the server's storage is full; nothing was stored, try again later"}

// StorageFull returns err marked EStorageFull, its cause kept in the chain
// for the log, when the operating system said the disk is full (ENOSPC);
// any other error comes back unchanged.
func StorageFull(err error) error {
	if err != nil && errors.Is(err, syscall.ENOSPC) && ErrorCode(err) == EInternal {
		return fmt.Errorf("%w: %w", errStorageFull, err)
	}
	return err
}

// Error is an error meant for the client: Code is stable, Message is safe to
// show. Anything that is not an *Error reaches clients as EInternal.
type Error struct {
	Code    string
	Message string
	// RetryAfter, when set with ERateLimited, tells the client when to retry.
	RetryAfter time.Duration
	// Field names the offending input field for EInvalid, when there is one.
	Field string
	// Kinds, with ESensitiveData, are what the guard found (card_number,
	// iban, secret, password, national_id, phone), so that a client
	// words its question without parsing Message.
	Kinds []string
}

func (e *Error) Error() string {
	return fmt.Sprintf("parley error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EInvalid error about one input field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: EInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EInternal for
// any other error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the client-safe message of err. Internal errors get a
// generic message so that causes never leak to clients.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// IsNotFound reports whether err carries ENotFound.
func IsNotFound(err error) bool { return ErrorCode(err) == ENotFound }
