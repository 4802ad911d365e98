package client

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// SearchQuery filters a full-text search of the caller's messages. Every
// field but Q is optional.
type SearchQuery struct {
	// Q is the words to find (required).
	Q string
	// Conversation limits the search to one conversation.
	Conversation string
	// From limits it to messages sent by this handle.
	From string
	// After and Before bound the send time (zero means unbounded).
	After, Before time.Time
	// Has is "media" (messages with attachments) or "".
	Has string
	// Sort is "relevance" (the default) or "recent" (newest first).
	Sort   string
	Cursor string
	Limit  int
}

// SnippetPart is a piece of a search result's snippet; Hit marks a word of
// the query.
type SnippetPart struct {
	Text string `json:"text"`
	Hit  bool   `json:"hit,omitempty"`
}

// SearchResult is one message found.
type SearchResult struct {
	Message Message       `json:"message"`
	Snippet []SnippetPart `json:"snippet"`
	// Score is the relevance (sort=relevance only).
	Score float64 `json:"score,omitempty"`
	// As is set when found through a business the caller works for: the
	// business's id.
	As string `json:"as,omitempty"`
}

// SearchPage is a page of search results.
type SearchPage struct {
	Page[SearchResult]
	// Truncated is set when a relevance search ranked only the server's
	// window of newest matches (100) and older ones may exist: sort
	// "recent" pages through all of them.
	Truncated bool `json:"truncated,omitempty"`
}

// Search finds the caller's messages matching q.
func (c *Client) Search(ctx context.Context, q SearchQuery) (*SearchPage, error) {
	var out SearchPage
	_, err := c.call(ctx, http.MethodGet, "/search", q.values(), nil, &out)
	return ret(&out, err)
}

// Search finds messages of the business's conversations (agents and
// admins), with the same filters as Client.Search.
func (b *Business) Search(ctx context.Context, q SearchQuery) (*SearchPage, error) {
	var out SearchPage
	_, err := b.c.call(ctx, http.MethodGet, b.path("/search"), q.values(), nil, &out)
	return ret(&out, err)
}

func (q SearchQuery) values() url.Values {
	v := url.Values{}
	setString(v, "q", q.Q)
	setString(v, "conversation", q.Conversation)
	setString(v, "from", q.From)
	if !q.After.IsZero() {
		v.Set("after", q.After.UTC().Format(time.RFC3339Nano))
	}
	if !q.Before.IsZero() {
		v.Set("before", q.Before.UTC().Format(time.RFC3339Nano))
	}
	setString(v, "has", q.Has)
	setString(v, "sort", q.Sort)
	setString(v, "cursor", q.Cursor)
	setInt(v, "limit", int64(q.Limit))
	return v
}
