package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Error codes the server answers with (the problem's "code"). The list is
// the server's; codes are stable and clients should switch on them.
const (
	CodeMalformed         = "malformed_request"
	CodeUnauthorized      = "unauthorized"
	CodeBadCredentials    = "bad_credentials"
	CodeForbidden         = "forbidden"
	CodeInsufficientScope = "insufficient_scope"
	CodeDMNotAllowed      = "dm_not_allowed"
	CodeRequestLimit      = "request_limit"
	CodeEditWindow        = "edit_window_closed"
	CodeNotAssignee       = "not_assignee"
	CodeNotFound          = "not_found"
	CodeConflict          = "conflict"
	CodeHandleTaken       = "handle_taken"
	CodeGroupFull         = "group_full"
	CodeHumanControl      = "human_control"
	CodeTooLarge          = "too_large"
	CodeInvalid           = "invalid"
	CodeUnresolvedVar     = "unresolved_variable"
	CodeRateLimited       = "rate_limited"
	CodeInternal          = "internal"
	CodeLastAdmin         = "last_admin"
	CodeLegalHold         = "legal_hold"
	CodeSensitiveData     = "sensitive_data"
)

// Error is an error answer of the server, decoded from its
// application/problem+json body (RFC 9457). Answers without such a body
// (a proxy's 502, say) have Status and Title, Detail holding the start of
// the body, and no Code.
type Error struct {
	// Status is the HTTP status.
	Status int
	// Code is the stable machine-readable code (Code… constants).
	Code string
	// Title is the HTTP reason phrase.
	Title string
	// Detail is a sentence safe to show to users.
	Detail string
	// Field names the input field at fault, when there is one.
	Field string
	// Kinds, with CodeSensitiveData, are what the guard found
	// (card_number, iban, secret, password, national_id, phone).
	Kinds []string
	// RequestID identifies the request in the server's log; quote it in
	// bug reports.
	RequestID string
	// RetryAfter is the Retry-After header (429 and 503), or 0.
	RetryAfter time.Duration
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "parley: %d", e.Status)
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	}
	if e.Detail != "" {
		fmt.Fprintf(&b, ": %s", e.Detail)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, " (field %s)", e.Field)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	return b.String()
}

// Is makes errors.Is match an *Error target by code, or by status when
// the target has no code: errors.Is(err, client.ErrNotFound).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	if t.Code != "" {
		return t.Code == e.Code
	}
	return t.Status != 0 && t.Status == e.Status
}

// Targets for errors.Is, matched by code.
var (
	ErrUnauthorized      = &Error{Code: CodeUnauthorized}
	ErrForbidden         = &Error{Code: CodeForbidden}
	ErrInsufficientScope = &Error{Code: CodeInsufficientScope}
	ErrNotFound          = &Error{Code: CodeNotFound}
	ErrConflict          = &Error{Code: CodeConflict}
	ErrHumanControl      = &Error{Code: CodeHumanControl}
	ErrInvalid           = &Error{Code: CodeInvalid}
	ErrRateLimited       = &Error{Code: CodeRateLimited}
)

// IsCode reports whether err is (or wraps) an *Error with this code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// IsNotFound reports whether err is a not_found answer.
func IsNotFound(err error) bool { return IsCode(err, CodeNotFound) }

// IsRateLimited reports whether err is a rate_limited answer; its
// RetryAfter says when to try again.
func IsRateLimited(err error) bool { return IsCode(err, CodeRateLimited) }

// AsError returns the *Error in err's chain, or nil.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// errorFrom decodes an error answer; it reads (part of) the body but does
// not close it.
func errorFrom(resp *http.Response) *Error {
	e := &Error{Status: resp.StatusCode, Title: http.StatusText(resp.StatusCode)}
	e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt == "application/problem+json" || mt == "application/json" {
		var p struct {
			Title     string   `json:"title"`
			Status    int      `json:"status"`
			Detail    string   `json:"detail"`
			Code      string   `json:"code"`
			Field     string   `json:"field"`
			Kinds     []string `json:"kinds"`
			RequestID string   `json:"request_id"`
		}
		if json.Unmarshal(b, &p) == nil {
			e.Code, e.Detail, e.Field, e.Kinds, e.RequestID = p.Code, p.Detail, p.Field, p.Kinds, p.RequestID
			if p.Title != "" {
				e.Title = p.Title
			}
			if e.RequestID == "" {
				e.RequestID = resp.Header.Get("X-Request-Id")
			}
			return e
		}
	}
	e.Detail = strings.TrimSpace(string(b[:min(len(b), 200)]))
	e.RequestID = resp.Header.Get("X-Request-Id")
	return e
}

// parseRetryAfter reads a Retry-After header: seconds, or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
