package client

import (
	"context"
	"net/http"
)

// Register creates an account and signs it in. Use WithToken(auth.Token)
// to act as the new user.
func (c *Client) Register(ctx context.Context, in RegisterRequest) (*Auth, error) {
	var out Auth
	_, err := c.call(ctx, http.MethodPost, "/accounts", nil, in, &out)
	return ret(&out, err)
}

// Login opens a new session (one per device); for an account with
// two-factor authentication the answer has SecondFactor instead of a
// Token (see CompleteLogin). Failed attempts are
// bad_credentials; too many are rate_limited with a RetryAfter.
func (c *Client) Login(ctx context.Context, in LoginRequest) (*Auth, error) {
	var out Auth
	_, err := c.call(ctx, http.MethodPost, "/sessions", nil, in, &out)
	return ret(&out, err)
}

// Logout ends the session (or API token) making the call; its streams
// close.
func (c *Client) Logout(ctx context.Context) error {
	return c.Do(ctx, http.MethodDelete, "/sessions/current", nil, nil)
}

// LogoutEverywhere ends every device session of the account, this one
// included; API tokens stay.
func (c *Client) LogoutEverywhere(ctx context.Context) error {
	return c.Do(ctx, http.MethodDelete, "/sessions", nil, nil)
}

// Sessions lists the account's device sessions, newest first.
func (c *Client) Sessions(ctx context.Context) ([]Session, error) {
	var out Page[Session]
	_, err := c.call(ctx, http.MethodGet, "/sessions", nil, nil, &out)
	return out.Items, err
}

// EndSession ends one of the account's sessions.
func (c *Client) EndSession(ctx context.Context, id string) error {
	return c.Do(ctx, http.MethodDelete, "/sessions/"+esc(id), nil, nil)
}

// ChangePassword sets a new password and ends every other session.
func (c *Client) ChangePassword(ctx context.Context, current, next string) error {
	return c.Do(ctx, http.MethodPut, "/me/password", map[string]string{"current_password": current, "new_password": next}, nil)
}

// CreateToken makes an API token for the account; the secret is in the
// answer's Token field, shown only this once. Needs a device session.
func (c *Client) CreateToken(ctx context.Context, in TokenRequest) (*Token, error) {
	var out Token
	_, err := c.call(ctx, http.MethodPost, "/tokens", nil, in, &out)
	return ret(&out, err)
}

// Tokens lists the account's API tokens, without their secrets.
func (c *Client) Tokens(ctx context.Context) ([]Token, error) {
	var out Page[Token]
	_, err := c.call(ctx, http.MethodGet, "/tokens", nil, nil, &out)
	return out.Items, err
}

// RevokeToken revokes an API token at once.
func (c *Client) RevokeToken(ctx context.Context, id string) error {
	return c.Do(ctx, http.MethodDelete, "/tokens/"+esc(id), nil, nil)
}

// Me returns the signed-in account.
func (c *Client) Me(ctx context.Context) (*Me, error) {
	var out Me
	_, err := c.call(ctx, http.MethodGet, "/me", nil, nil, &out)
	return ret(&out, err)
}

// UpdateMe changes the signed-in account's profile and settings.
func (c *Client) UpdateMe(ctx context.Context, in ProfileUpdate) (*Me, error) {
	var out Me
	_, err := c.call(ctx, http.MethodPatch, "/me", nil, in, &out)
	return ret(&out, err)
}

// Blocks lists the accounts the caller blocks, most recent first.
func (c *Client) Blocks(ctx context.Context) ([]UserSummary, error) {
	var out Page[UserSummary]
	_, err := c.call(ctx, http.MethodGet, "/me/blocks", nil, nil, &out)
	return out.Items, err
}

// User returns another user's profile by handle.
func (c *Client) User(ctx context.Context, handle string) (*Profile, error) {
	var out Profile
	_, err := c.call(ctx, http.MethodGet, "/users/"+esc(handle), nil, nil, &out)
	return ret(&out, err)
}

// Follow follows a user (idempotent).
func (c *Client) Follow(ctx context.Context, handle string) error {
	return c.Do(ctx, http.MethodPut, "/users/"+esc(handle)+"/follow", nil, nil)
}

// Unfollow stops following a user (idempotent).
func (c *Client) Unfollow(ctx context.Context, handle string) error {
	return c.Do(ctx, http.MethodDelete, "/users/"+esc(handle)+"/follow", nil, nil)
}

// Block blocks a user, silently and in both directions (idempotent).
func (c *Client) Block(ctx context.Context, handle string) error {
	return c.Do(ctx, http.MethodPut, "/users/"+esc(handle)+"/block", nil, nil)
}

// Unblock lifts a block (idempotent).
func (c *Client) Unblock(ctx context.Context, handle string) error {
	return c.Do(ctx, http.MethodDelete, "/users/"+esc(handle)+"/block", nil, nil)
}

// Report reports a user and returns the report's id.
func (c *Client) Report(ctx context.Context, handle string, in ReportRequest) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	_, err := c.call(ctx, http.MethodPost, "/users/"+esc(handle)+"/report", nil, in, &out)
	return out.ID, err
}

// ret returns v, or nil with err.
func ret[T any](v *T, err error) (*T, error) {
	if err != nil {
		return nil, err
	}
	return v, nil
}
