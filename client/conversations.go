package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// StartDirect starts (or returns the existing) direct conversation with
// handle. Privacy rules may refuse it (dm_not_allowed).
func (c *Client) StartDirect(ctx context.Context, handle string) (*Conversation, error) {
	var out Conversation
	_, err := c.call(ctx, http.MethodPost, "/conversations", nil, map[string]string{"kind": "direct", "with": handle}, &out)
	return ret(&out, err)
}

// CreateGroup creates a group owned by the caller; the answer's Added says
// what happened to each handle in Members.
func (c *Client) CreateGroup(ctx context.Context, in GroupRequest) (*Conversation, error) {
	body := struct {
		Kind string `json:"kind"`
		GroupRequest
	}{"group", in}
	var out Conversation
	_, err := c.call(ctx, http.MethodPost, "/conversations", nil, body, &out)
	return ret(&out, err)
}

// Conversations lists a folder, pinned first, then newest activity.
func (c *Client) Conversations(ctx context.Context, q ConversationQuery) (*Page[Conversation], error) {
	v := url.Values{}
	setString(v, "folder", q.Folder)
	setString(v, "cursor", q.Cursor)
	setInt(v, "limit", int64(q.Limit))
	var out Page[Conversation]
	_, err := c.call(ctx, http.MethodGet, "/conversations", v, nil, &out)
	return ret(&out, err)
}

// Conversation returns one conversation with its members.
func (c *Client) Conversation(ctx context.Context, id string) (*Conversation, error) {
	return c.conversationCall(ctx, http.MethodGet, id, "", nil)
}

// UpdateGroup changes a group's title or invite policy (owner or admin).
func (c *Client) UpdateGroup(ctx context.Context, id string, in GroupUpdate) (*Conversation, error) {
	return c.conversationCall(ctx, http.MethodPatch, id, "", in)
}

// Accept accepts a request: it moves to the inbox.
func (c *Client) Accept(ctx context.Context, id string) (*Conversation, error) {
	return c.conversationCall(ctx, http.MethodPost, id, "/accept", nil)
}

// Decline declines a request silently; it disappears for the caller.
func (c *Client) Decline(ctx context.Context, id string) error {
	return c.Do(ctx, http.MethodPost, "/conversations/"+esc(id)+"/decline", nil, nil)
}

// Archive moves a conversation to the caller's archived folder.
func (c *Client) Archive(ctx context.Context, id string) (*Conversation, error) {
	return c.conversationCall(ctx, http.MethodPut, id, "/archive", nil)
}

// Unarchive moves it back to the inbox.
func (c *Client) Unarchive(ctx context.Context, id string) (*Conversation, error) {
	return c.conversationCall(ctx, http.MethodDelete, id, "/archive", nil)
}

// Pin pins a conversation (at most 10 per folder).
func (c *Client) Pin(ctx context.Context, id string) (*Conversation, error) {
	return c.conversationCall(ctx, http.MethodPut, id, "/pin", nil)
}

// Unpin unpins it.
func (c *Client) Unpin(ctx context.Context, id string) (*Conversation, error) {
	return c.conversationCall(ctx, http.MethodDelete, id, "/pin", nil)
}

// Mute mutes a conversation until a time, for a duration, or (zero Mute)
// for ever.
func (c *Client) Mute(ctx context.Context, id string, m Mute) (*Conversation, error) {
	return c.conversationCall(ctx, http.MethodPut, id, "/mute", m)
}

// Unmute unmutes it.
func (c *Client) Unmute(ctx context.Context, id string) (*Conversation, error) {
	return c.conversationCall(ctx, http.MethodDelete, id, "/mute", nil)
}

// MarkRead moves the caller's read marker up to seq and returns the
// marker as it now stands (it never moves back).
func (c *Client) MarkRead(ctx context.Context, id string, seq int64) (int64, error) {
	return c.markRead(ctx, "/conversations/"+esc(id)+"/read", seq)
}

// MarkDelivered moves the caller's delivered marker (the messages up to
// seq reached a device) and returns it as it now stands. A Stream on a
// WebSocket can send the same as a frame; this is for long-poll clients.
func (c *Client) MarkDelivered(ctx context.Context, id string, seq int64) (int64, error) {
	var out struct {
		DeliveredSeq int64 `json:"delivered_seq"`
	}
	_, err := c.call(ctx, http.MethodPost, "/conversations/"+esc(id)+"/delivered", nil, map[string]int64{"seq": seq}, &out)
	return out.DeliveredSeq, err
}

// Typing tells the conversation's other members that the caller is typing
// (true) or stopped (false). The server ignores a repeat of true within
// two seconds.
func (c *Client) Typing(ctx context.Context, id string, typing bool) error {
	_, err := c.call(ctx, http.MethodPost, "/conversations/"+esc(id)+"/typing", nil, map[string]bool{"typing": typing}, nil)
	return err
}

func (c *Client) markRead(ctx context.Context, path string, seq int64) (int64, error) {
	var out struct {
		ReadSeq int64 `json:"read_seq"`
	}
	_, err := c.call(ctx, http.MethodPost, path, nil, map[string]int64{"seq": seq}, &out)
	return out.ReadSeq, err
}

// AddMembers adds or invites people to a group.
func (c *Client) AddMembers(ctx context.Context, id string, handles ...string) ([]AddResult, error) {
	var out Page[AddResult]
	_, err := c.call(ctx, http.MethodPost, "/conversations/"+esc(id)+"/members", nil, map[string][]string{"members": handles}, &out)
	return out.Items, err
}

// RemoveMember removes someone from a group.
func (c *Client) RemoveMember(ctx context.Context, id, handle string) error {
	return c.Do(ctx, http.MethodDelete, "/conversations/"+esc(id)+"/members/"+esc(handle), nil, nil)
}

// SetRole sets a group member's role: "admin", "member" or "owner"
// (hands the group over).
func (c *Client) SetRole(ctx context.Context, id, handle, role string) error {
	return c.Do(ctx, http.MethodPut, "/conversations/"+esc(id)+"/members/"+esc(handle)+"/role", map[string]string{"role": role}, nil)
}

// Leave leaves a group.
func (c *Client) Leave(ctx context.Context, id string) error {
	return c.Do(ctx, http.MethodPost, "/conversations/"+esc(id)+"/leave", nil, nil)
}

func (c *Client) conversationCall(ctx context.Context, method, id, suffix string, in any) (*Conversation, error) {
	var out Conversation
	_, err := c.call(ctx, method, "/conversations/"+esc(id)+suffix, nil, in, &out)
	return ret(&out, err)
}

func setString(v url.Values, k, s string) {
	if s != "" {
		v.Set(k, s)
	}
}

func setInt(v url.Values, k string, n int64) {
	if n != 0 {
		v.Set(k, strconv.FormatInt(n, 10))
	}
}
