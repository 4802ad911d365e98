package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"
)

// Send sends a message and returns it once the server has committed it.
// An empty ClientID is filled with NewClientID. After a network error, a
// 5xx answer or a 429, the send is retried with the same ClientID (see
// Client.MaxRetries), so it is stored at most once: a repeat answers the
// original message.
func (c *Client) Send(ctx context.Context, conversationID string, m SendRequest) (*Message, error) {
	if m.ClientID == "" {
		m.ClientID = NewClientID()
	}
	return c.sendMessage(ctx, "/conversations/"+esc(conversationID)+"/messages", m)
}

// sendMessage posts a message body that carries a client_id, retrying.
func (c *Client) sendMessage(ctx context.Context, path string, body any) (*Message, error) {
	var out *Message
	err := c.retrying(ctx, func() error {
		var m Message
		if _, err := c.call(ctx, http.MethodPost, path, nil, body, &m); err != nil {
			return err
		}
		out = &m
		return nil
	})
	return out, err
}

// Messages returns a page of a conversation's history, in ascending seq.
func (c *Client) Messages(ctx context.Context, conversationID string, q HistoryQuery) (*Page[Message], error) {
	return c.history(ctx, "/conversations/"+esc(conversationID)+"/messages", q)
}

// MessagesAfter pages forward through a conversation's history from the
// message after seq (0: from the first), yielding each message once in
// order, until the newest. It stops at the first error, which it yields.
func (c *Client) MessagesAfter(ctx context.Context, conversationID string, seq int64) iter.Seq2[*Message, error] {
	return c.historyAfter(ctx, "/conversations/"+esc(conversationID)+"/messages", seq)
}

func (c *Client) history(ctx context.Context, path string, q HistoryQuery) (*Page[Message], error) {
	v := url.Values{}
	if q.Cursor != "" {
		v.Set("cursor", q.Cursor)
	} else if q.Forward || q.AfterSeq > 0 {
		v.Set("after_seq", strconv.FormatInt(q.AfterSeq, 10))
	} else {
		setInt(v, "before_seq", q.BeforeSeq)
	}
	setInt(v, "limit", int64(q.Limit))
	var out Page[Message]
	_, err := c.call(ctx, http.MethodGet, path, v, nil, &out)
	return ret(&out, err)
}

func (c *Client) historyAfter(ctx context.Context, path string, seq int64) iter.Seq2[*Message, error] {
	return func(yield func(*Message, error) bool) {
		q := HistoryQuery{AfterSeq: seq, Forward: true, Limit: 200}
		for {
			page, err := c.history(ctx, path, q)
			if err != nil {
				yield(nil, err)
				return
			}
			for i := range page.Items {
				if !yield(&page.Items[i], nil) {
					return
				}
			}
			if page.NextCursor == "" {
				return
			}
			q = HistoryQuery{Cursor: page.NextCursor, Limit: 200}
		}
	}
}

// Edit changes the text of one of the caller's messages (within the edit
// window).
func (c *Client) Edit(ctx context.Context, conversationID, messageID, text string) (*Message, error) {
	var out Message
	_, err := c.call(ctx, http.MethodPatch, messagePath(conversationID, messageID), nil, map[string]string{"text": text}, &out)
	return ret(&out, err)
}

// Unsend deletes one of the caller's messages for everyone; a tombstone
// keeps its seq. Unsending twice is fine.
func (c *Client) Unsend(ctx context.Context, conversationID, messageID string) error {
	return c.Do(ctx, http.MethodDelete, messagePath(conversationID, messageID), nil, nil)
}

// Redact replaces one of the caller's messages by a placeholder for
// everyone: its content, attachments and edit history go; the audit log
// and the hash chain record it.
func (c *Client) Redact(ctx context.Context, conversationID, messageID string) (*Message, error) {
	var out Message
	_, err := c.call(ctx, http.MethodPost, messagePath(conversationID, messageID)+"/redact", nil, map[string]any{}, &out)
	return ret(&out, err)
}

// Edits lists a message's previous versions, oldest first.
func (c *Client) Edits(ctx context.Context, conversationID, messageID string) ([]Edit, error) {
	var out Page[Edit]
	_, err := c.call(ctx, http.MethodGet, messagePath(conversationID, messageID)+"/edits", nil, nil, &out)
	return out.Items, err
}

// React adds an emoji reaction (idempotent).
func (c *Client) React(ctx context.Context, conversationID, messageID, emoji string) error {
	return c.Do(ctx, http.MethodPut, messagePath(conversationID, messageID)+"/reactions/"+esc(emoji), nil, nil)
}

// Unreact removes an emoji reaction (idempotent).
func (c *Client) Unreact(ctx context.Context, conversationID, messageID, emoji string) error {
	return c.Do(ctx, http.MethodDelete, messagePath(conversationID, messageID)+"/reactions/"+esc(emoji), nil, nil)
}

// Postback taps a postback button of someone else's message: the sender
// (a bot, or a business and its team) receives a "postback" event with
// the payload.
func (c *Client) Postback(ctx context.Context, conversationID, messageID, payload string) error {
	return c.Do(ctx, http.MethodPost, messagePath(conversationID, messageID)+"/postback", map[string]string{"payload": payload}, nil)
}

// StickerPacks lists the server's sticker packs.
func (c *Client) StickerPacks(ctx context.Context) ([]StickerPack, error) {
	var out Page[StickerPack]
	_, err := c.call(ctx, http.MethodGet, "/sticker-packs", nil, nil, &out)
	return out.Items, err
}

func messagePath(conversationID, messageID string) string {
	return "/conversations/" + esc(conversationID) + "/messages/" + esc(messageID)
}
