package app

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parleyhq/parley"
	"golang.org/x/text/unicode/norm"
)

// Search limits.
const (
	// MaxSearchQuery caps the length of a query in bytes.
	MaxSearchQuery = 256
	// DefaultSearchLimit and MaxSearchLimit are the page sizes of Search.
	DefaultSearchLimit = 20
	MaxSearchLimit     = 50
	// RelevanceWindow is how many of the newest matches a relevance
	// search ranks: a common word then costs about what a newest-first
	// search costs, instead of growing with the whole server (see
	// BENCHMARKS.md). Older matches are found with sort=recent or a
	// narrower query.
	RelevanceWindow = 100
	// snippetRunes is about how much text a snippet shows around the
	// first word found.
	snippetRunes = 160
)

// SearchQuery is a search as a client asks for it.
type SearchQuery struct {
	// Q is the text typed: its words must all be in a message, the last
	// one as a prefix. Nothing in it is an operator.
	Q string
	// Conversation limits the search to one conversation (an id).
	Conversation string
	// From keeps the messages of one sender (a handle); for a business,
	// also the replies one of its agents wrote.
	From string
	// After and Before bound the creation time (RFC 3339, or a date
	// YYYY-MM-DD meaning its midnight UTC): at or after After, before Before.
	After, Before string
	// Has is "media" to keep messages with attachments, or "".
	Has string
	// Sort is "relevance" (the default) or "recent".
	Sort   string
	Cursor string
	Limit  int
}

// SnippetPart is a piece of a snippet; Hit marks a word of the query.
// Clients show the parts as text, in order, and mark the hits.
type SnippetPart struct {
	Text string `json:"text"`
	Hit  bool   `json:"hit,omitempty"`
}

// SearchResult is one message found.
type SearchResult struct {
	Message *MessageView `json:"message"`
	// Snippet is the part of the message's text around the words found,
	// "…" where it was cut.
	Snippet []SnippetPart `json:"snippet"`
	// Score ranks the results of a relevance search (higher is better).
	Score float64 `json:"score,omitempty"`
	// As is set when the message was found through a business the
	// searcher works for: the business's id. The message is the
	// business's view (customers' sensitive values masked).
	As string `json:"as,omitempty"`
}

// SearchPage is a page of search results.
type SearchPage struct {
	Items      []*SearchResult `json:"items"`
	NextCursor string          `json:"next_cursor,omitempty"`
	// Truncated is set, on every page, when a relevance search ranked
	// only the RelevanceWindow newest matches and older ones may exist:
	// sort=recent pages through all of them, and a narrower query (more
	// words, a conversation, a sender, dates) ranks fewer.
	Truncated bool `json:"truncated,omitempty"`
}

// searchCursor is what a search cursor encodes: the last hit, the
// position the first page saw as the newest, the order, and whether the
// first page's window was full.
type searchCursor struct {
	Score     float64 `json:"s"`
	Pos       int64   `json:"p"`
	MaxPos    int64   `json:"m"`
	Order     string  `json:"o"`
	Truncated bool    `json:"t,omitempty"`
}

// Search finds the messages the actor may read whose text holds the words
// of q.Q: in the actor's conversations, within what their membership
// shows (Member.CanRead: nothing after they left or were removed, nothing
// of a request they declined), never unsent text; and in the customer
// conversations of the businesses they work for, as those businesses see
// them. A business's team never finds a customer's masked value by
// searching for it.
func (a *App) Search(ctx context.Context, actor *Actor, q SearchQuery) (*SearchPage, error) {
	return a.search(ctx, actor, q, false)
}

// BusinessSearch is Search in one business's conversations only, for its
// team (see ActAs).
func (a *App) BusinessSearch(ctx context.Context, ba *BusinessActor, q SearchQuery) (*SearchPage, error) {
	return a.search(ctx, &Actor{User: ba.Business}, q, true)
}

func (a *App) search(ctx context.Context, actor *Actor, q SearchQuery, only bool) (*SearchPage, error) {
	f, truncated, err := parseSearch(q)
	if err != nil {
		return nil, err
	}
	terms := foldTerms(parley.SearchTerms(q.Q))
	page := &SearchPage{Items: []*SearchResult{}}
	err = a.view(ctx, func(tx parley.Tx) error {
		page.Items, page.NextCursor = []*SearchResult{}, ""
		viewers := []string{actor.User.ID}
		if !only {
			ags, err := tx.AgentOf(actor.User.ID)
			if err != nil {
				return err
			}
			for _, ag := range ags {
				viewers = append(viewers, ag.BusinessID)
			}
		}
		f.ViewerIDs = viewers
		if q.From != "" {
			u, err := userByHandle(tx, q.From)
			if parley.IsNotFound(err) {
				return parley.Invalid("from", "from is the handle of a user")
			} else if err != nil {
				return err
			}
			f.SenderID = u.ID
		}
		if f.ConversationID != "" {
			if _, err := readableBy(tx, f.ConversationID, viewers); err != nil {
				return err
			}
		}
		if f.MaxPos == 0 {
			head, err := tx.Head()
			if err != nil {
				return err
			}
			f.MaxPos = max(head, 1)
		}
		full := truncated
		if f.After == nil && f.Window > 0 {
			f.WindowFull = &full
		}
		hits, err := tx.SearchMessages(f)
		if err != nil {
			return err
		}
		page.Truncated = full
		if len(hits) == f.Limit {
			last := hits[len(hits)-1]
			page.NextCursor = encodeSearchCursor(searchCursor{Score: last.Score, Pos: last.Message.Pos, MaxPos: f.MaxPos, Order: string(f.Order),
				Truncated: full})
		}
		page.Items, err = searchResults(tx, hits, viewers, terms)
		return err
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}

// parseSearch checks a query and turns it into a store filter (without
// viewers or sender); truncated is the cursor's (SearchPage.Truncated).
func parseSearch(q SearchQuery) (f parley.SearchFilter, truncated bool, err error) {
	text := strings.TrimSpace(q.Q)
	switch {
	case text == "":
		return f, false, parley.Invalid("q", "q is the text to search for")
	case len(q.Q) > MaxSearchQuery:
		return f, false, &parley.Error{Code: parley.ETooLarge, Field: "q", Message: fmt.Sprintf("q has at most %d bytes", MaxSearchQuery)}
	case !utf8.ValidString(q.Q):
		return f, false, parley.Invalid("q", "q is UTF-8 text")
	case len(parley.SearchTerms(text)) == 0:
		return f, false, parley.Invalid("q", "q has no word to search for (letters or digits)")
	}
	f.Query, f.ConversationID = text, q.Conversation
	if f.Since, err = searchTime("after", q.After); err != nil {
		return f, false, err
	}
	if f.Until, err = searchTime("before", q.Before); err != nil {
		return f, false, err
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return f, false, parley.Invalid("after", "after is before before")
	}
	switch q.Has {
	case "":
	case "media":
		for k := range mediaKinds {
			f.Kinds = append(f.Kinds, k)
		}
	default:
		return f, false, parley.Invalid("has", "has is media")
	}
	switch q.Sort {
	case "", string(parley.SearchRelevance):
		f.Order, f.Window = parley.SearchRelevance, RelevanceWindow
	case string(parley.SearchRecent):
		f.Order = parley.SearchRecent
	default:
		return f, false, parley.Invalid("sort", "sort is relevance or recent")
	}
	switch {
	case q.Limit == 0:
		f.Limit = DefaultSearchLimit
	case q.Limit < 0 || q.Limit > MaxSearchLimit:
		return f, false, parley.Invalid("limit", "limit is between 1 and %d", MaxSearchLimit)
	default:
		f.Limit = q.Limit
	}
	if q.Cursor == "" {
		return f, false, nil
	}
	c, err := decodeSearchCursor(q.Cursor)
	if err != nil || c.Order != string(f.Order) {
		return f, false, parley.Invalid("cursor", "cursor is not one this server gave for this sort")
	}
	f.After, f.MaxPos = &parley.SearchCursor{Score: c.Score, Pos: c.Pos}, c.MaxPos
	return f, c.Truncated, nil
}

// searchTime parses a time bound: RFC 3339, or a date at midnight UTC.
func searchTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, parley.Invalid(field, "%s is an RFC 3339 time or a date (YYYY-MM-DD)", field)
}

func encodeSearchCursor(c searchCursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeSearchCursor(s string) (*searchCursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	var c searchCursor
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, err
	}
	if c.Pos <= 0 || c.MaxPos <= 0 || math.IsNaN(c.Score) || math.IsInf(c.Score, 0) {
		return nil, parley.Invalid("cursor", "bad cursor")
	}
	return &c, nil
}

// readableBy returns the membership through which one of the viewers
// (in order) sees a conversation at all; ENotFound when none does.
func readableBy(tx parley.Tx, convID string, viewers []string) (*parley.Member, error) {
	for _, v := range viewers {
		m, err := tx.Member(convID, v)
		if parley.IsNotFound(err) {
			continue
		} else if err != nil {
			return nil, err
		}
		if m.Status != parley.StatusDeclined {
			return m, nil
		}
	}
	return nil, parley.Errorf(parley.ENotFound, "conversation not found")
}

// searchResults hydrates hits for the first viewer who may read each one,
// in the hits' order. A hit whose words are all inside values masked for
// that viewer is left out: searching must not confirm a masked value.
func searchResults(tx parley.Tx, hits []parley.SearchHit, viewers []string, terms []string) ([]*SearchResult, error) {
	type key struct{ conv, viewer string }
	members := map[key]*parley.Member{}
	convs := map[string]*parley.Conversation{}
	member := func(convID, viewer string) (*parley.Member, error) {
		k := key{convID, viewer}
		if m, ok := members[k]; ok {
			return m, nil
		}
		c, m, err := tx.ConversationMember(convID, viewer)
		if parley.IsNotFound(err) {
			members[k] = nil
			return nil, nil
		} else if err != nil {
			return nil, err
		}
		members[k], convs[convID] = m, c
		return m, nil
	}
	out := make([]*SearchResult, 0, len(hits))
	for _, h := range hits {
		var me *parley.Member
		for _, v := range viewers {
			m, err := member(h.Message.ConversationID, v)
			if err != nil {
				return nil, err
			}
			if m != nil && m.CanRead(h.Message.Seq) {
				me = m
				break
			}
		}
		if me == nil {
			continue // the store and CanRead disagree: show nothing
		}
		vs, err := messageViews(tx, convs[h.Message.ConversationID], me, []*parley.Message{h.Message})
		if err != nil {
			return nil, err
		}
		v := vs[0]
		if v.Deleted || v.Hidden {
			continue // past its expiry, or its sender's messages hidden by a moderator: gone for every reader
		}
		snippet, found := makeSnippet(v.Text, terms)
		if !found && v.Masked {
			continue
		}
		r := &SearchResult{Message: v, Snippet: snippet, Score: h.Score}
		if me.UserID != viewers[0] {
			r.As = me.UserID
		}
		out = append(out, r)
	}
	return out, nil
}

// fold lowers a word and strips its accents, as the index does.
func fold(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Mn, r) {
			return -1
		}
		return unicode.ToLower(r)
	}, norm.NFD.String(s))
}

// foldTerms folds the query's words; the last one, when long enough to
// match as a prefix in the store, is marked with a trailing "*".
func foldTerms(terms []string) []string {
	out := make([]string, len(terms))
	for i, t := range terms {
		out[i] = fold(t)
	}
	if n := len(out); n > 0 && utf8.RuneCountInString(terms[n-1]) >= parley.SearchPrefixRunes {
		out[n-1] += "*"
	}
	return out
}

// matches reports whether a folded word of the text is one of the terms.
func matches(word string, terms []string) bool {
	for _, t := range terms {
		if p, ok := strings.CutSuffix(t, "*"); ok {
			if strings.HasPrefix(word, p) {
				return true
			}
		} else if word == t {
			return true
		}
	}
	return false
}

// makeSnippet cuts about snippetRunes of text around the first word of
// the query and marks every word of the query in it. found is false when
// no word of the text is one of the query's.
func makeSnippet(text string, terms []string) (parts []SnippetPart, found bool) {
	type span struct{ start, end int } // byte offsets of a word found
	var hits []span
	start := -1
	for i, r := range text + " " {
		if i < len(text) && parley.IsWordRune(r) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			if matches(fold(text[start:i]), terms) {
				hits = append(hits, span{start, i})
			}
			start = -1
		}
	}
	runes := []rune(text)
	// The window, in bytes: from a little before the first hit.
	from, to := 0, len(text)
	if len(runes) > snippetRunes {
		first := 0
		if len(hits) > 0 {
			first = utf8.RuneCountInString(text[:hits[0].start])
		}
		lo := max(0, first-snippetRunes/4)
		hi := min(len(runes), lo+snippetRunes)
		lo = max(0, hi-snippetRunes)
		from, to = len(string(runes[:lo])), len(string(runes[:hi]))
		// Do not cut a word in two.
		for from > 0 && from < len(text) && wordAt(text, from) && wordBefore(text, from) {
			_, n := utf8.DecodeRuneInString(text[from:])
			from += n
		}
		for to < len(text) && to > from && wordAt(text, to) && wordBefore(text, to) {
			_, n := utf8.DecodeLastRuneInString(text[:to])
			to -= n
		}
	}
	add := func(s string, hit bool) {
		if s != "" {
			parts = append(parts, SnippetPart{Text: s, Hit: hit})
		}
	}
	if from > 0 {
		add("…", false)
	}
	at := from
	for _, h := range hits {
		if h.start < from || h.end > to {
			continue
		}
		add(text[at:h.start], false)
		add(text[h.start:h.end], true)
		at = h.end
	}
	add(text[at:to], false)
	if to < len(text) {
		add("…", false)
	}
	if parts == nil {
		parts = []SnippetPart{}
	}
	return parts, len(hits) > 0
}

// wordAt and wordBefore report whether the runes at and before byte i
// belong to words.
func wordAt(s string, i int) bool {
	r, _ := utf8.DecodeRuneInString(s[i:])
	return parley.IsWordRune(r)
}

func wordBefore(s string, i int) bool {
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return parley.IsWordRune(r)
}
