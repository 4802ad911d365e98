// Package client is a Go client for Parley's public HTTP API and its event
// stream.
//
// A Client holds the server's address and a bearer token (a session token
// from Register or Login, or an API token). Every route an integrator
// needs has a typed method; Do reaches any other route with the same
// authentication and error handling.
//
//	c := client.New("http://127.0.0.1:8080", "")
//	auth, err := c.Login(ctx, client.LoginRequest{Handle: "alice", Password: "…"})
//	alice := c.WithToken(auth.Token)
//	conv, err := alice.StartDirect(ctx, "bob")
//	msg, err := alice.Send(ctx, conv.ID, client.SendRequest{Text: "Hi Bob!"})
//
// Errors the server answers come back as *Error (decoded from the
// problem+json body); switch on their Code with IsCode or errors.Is with
// the Err… values. Sends carry a client_id (generated when empty) and are
// retried with the same one after network errors, 5xx answers and 429s
// (honouring Retry-After), so that a retry never stores a message twice.
//
// Stream follows the user's changes over the WebSocket stream, reconnects
// and resumes from the last position after any disconnect, falls back to
// long-poll sync when the WebSocket is unavailable, and delivers every
// change once, in order.
//
// The package depends on the standard library and
// github.com/coder/websocket only; it does not import the server.
package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Retry defaults for sends.
const (
	// DefaultMaxRetries is how many times a send is retried when
	// Client.MaxRetries is 0.
	DefaultMaxRetries = 4
	// DefaultMaxRetryWait is the longest Retry-After a send waits for when
	// Client.MaxRetryWait is 0.
	DefaultMaxRetryWait = 30 * time.Second
)

// Client calls one Parley server as one user (or anonymously, for
// Register and Login). Its fields may be set directly; a Client must not
// be changed while in use, so use WithToken to act as someone else. It is
// safe for concurrent use.
type Client struct {
	// BaseURL is the server's address, e.g. "http://127.0.0.1:8080". A
	// trailing "/" or "/api/v1" is ignored.
	BaseURL string
	// Token is the bearer token sent on every call: a session token
	// (Auth.Token) or an API token (Token.Token). Empty sends none.
	Token string
	// HTTP is the HTTP client used for every call and for the WebSocket
	// handshake; nil means http.DefaultClient. If it has a Timeout, keep
	// it above the longest long-poll wait asked for (Sync, and
	// StreamOptions.PollWait), or rely on contexts instead.
	HTTP *http.Client
	// MaxRetries bounds how many times a send is retried after a network
	// error, a 5xx answer or a 429: 0 means DefaultMaxRetries, a negative
	// number never retries.
	MaxRetries int
	// MaxRetryWait is the longest Retry-After a send waits for: 0 means
	// DefaultMaxRetryWait. When the server asks for longer, the 429 is
	// returned at once.
	MaxRetryWait time.Duration
	// UserAgent, when set, is sent as the User-Agent header.
	UserAgent string
}

// New returns a Client for the server at baseURL acting with token
// (which may be empty).
func New(baseURL, token string) *Client {
	return &Client{BaseURL: baseURL, Token: token}
}

// WithToken returns a copy of c that acts with token.
func (c *Client) WithToken(token string) *Client {
	cp := *c
	cp.Token = token
	return &cp
}

// NewClientID returns a fresh random client_id for a send (26 characters
// of base32, 130 random bits).
func NewClientID() string { return rand.Text() }

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// root is the server's address without a trailing /api/v1.
func (c *Client) root() string {
	u := strings.TrimRight(c.BaseURL, "/")
	return strings.TrimSuffix(u, "/api/v1")
}

// endpoint is the full URL of an API path ("/conversations/…").
func (c *Client) endpoint(path string, q url.Values) string {
	u := c.root() + "/api/v1" + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// esc escapes one path segment.
func esc(s string) string { return url.PathEscape(s) }

// transportError marks a failure to reach the server or to read its
// answer: the request may or may not have been processed.
type transportError struct{ err error }

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

// Do calls any API route: method and path relative to /api/v1 (for
// example "GET", "/business/shop/teams"; escape path segments yourself
// with url.PathEscape). in, when not nil, is sent as the JSON body; out,
// when not nil, receives the decoded JSON answer. Errors are as for the
// typed methods. Do never retries.
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	_, err := c.call(ctx, method, path, nil, in, out)
	return err
}

// call sends one request with an optional JSON body and decodes a JSON
// answer into out. It returns the HTTP status of a successful answer.
func (c *Client) call(ctx context.Context, method, path string, q url.Values, in, out any) (int, error) {
	var body io.Reader
	contentType := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, fmt.Errorf("parley: encode %s %s: %w", method, path, err)
		}
		body, contentType = bytes.NewReader(b), "application/json"
	}
	resp, err := c.send(ctx, method, c.endpoint(path, q), body, contentType)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if out == nil || resp.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, &transportError{fmt.Errorf("parley: read the answer to %s %s: %w", method, path, err)}
	}
	if err := json.Unmarshal(b, out); err != nil {
		return 0, fmt.Errorf("parley: decode the answer to %s %s: %w", method, path, err)
	}
	return resp.StatusCode, nil
}

// send performs a request and returns a successful (2xx) response, whose
// body the caller closes, or an error: *Error for an error answer,
// *transportError when the server could not be reached or answer.
func (c *Client) send(ctx context.Context, method, u string, body io.Reader, contentType string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("parley: %w", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	c.authorize(req.Header)
	resp, err := c.httpClient().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &transportError{fmt.Errorf("parley: %s %s: %w", method, req.URL.Path, err)}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, errorFrom(resp)
}

func (c *Client) authorize(h http.Header) {
	if c.Token != "" {
		h.Set("Authorization", "Bearer "+c.Token)
	}
	if c.UserAgent != "" {
		h.Set("User-Agent", c.UserAgent)
	}
}

// retrying runs fn until it succeeds, fails for good, the retries are
// used up or ctx ends. Network errors and 5xx answers are retried after a
// growing, jittered pause; 429s after their Retry-After.
func (c *Client) retrying(ctx context.Context, fn func() error) error {
	limit := c.MaxRetries
	if limit == 0 {
		limit = DefaultMaxRetries
	}
	maxWait := c.MaxRetryWait
	if maxWait <= 0 {
		maxWait = DefaultMaxRetryWait
	}
	for attempt := 0; ; attempt++ {
		err := fn()
		if err == nil || attempt >= limit || ctx.Err() != nil {
			return err
		}
		wait, ok := retryAfter(err, attempt)
		if !ok || wait > maxWait {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (while waiting to retry after: %w)", ctx.Err(), err)
		case <-t.C:
		}
	}
}

// retryAfter says whether err is worth retrying and after how long.
func retryAfter(err error, attempt int) (time.Duration, bool) {
	var te *transportError
	if errors.As(err, &te) {
		return backoff(attempt, 200*time.Millisecond, 5*time.Second), true
	}
	var e *Error
	if !errors.As(err, &e) {
		return 0, false
	}
	switch {
	case e.Status == http.StatusTooManyRequests:
		if e.RetryAfter > 0 {
			return e.RetryAfter, true
		}
		return backoff(attempt, time.Second, 5*time.Second), true
	case e.Status >= 500:
		return backoff(attempt, 200*time.Millisecond, 5*time.Second), true
	}
	return 0, false
}

// backoff is lo·2^attempt capped at hi, with ±25 % jitter so that many
// clients do not retry in step.
func backoff(attempt int, lo, hi time.Duration) time.Duration {
	d := lo
	for i := 0; i < attempt && d < hi; i++ {
		d *= 2
	}
	return time.Duration(float64(min(d, hi)) * (0.75 + mrand.Float64()/2))
}
