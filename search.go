package parley

import (
	"strings"
	"time"
	"unicode"
)

// SearchTx finds messages by the words of their text.
type SearchTx interface {
	// SearchMessages returns up to f.Limit messages whose live text holds
	// every word of f.Query (the last one as a prefix), that one of
	// f.ViewerIDs may read: a member of the conversation (declined
	// requests excepted) within the member's visible range of sequence
	// numbers (Member.CanRead). Unsent messages and system messages are
	// never found. The store turns f.Query into its own query syntax: no
	// character of it is an operator. A query with no words finds nothing.
	SearchMessages(f SearchFilter) ([]SearchHit, error)
}

// SearchOrder is how search results are ordered.
type SearchOrder string

// The search orders.
const (
	// SearchRelevance orders by score (BM25-like: the words more often
	// in a short message, and together as typed, count more), best first,
	// then newest first.
	SearchRelevance SearchOrder = "relevance"
	// SearchRecent orders newest first.
	SearchRecent SearchOrder = "recent"
)

// SearchFilter selects one page of a search.
type SearchFilter struct {
	// ViewerIDs are the users whose memberships make a message visible:
	// the searcher, and the businesses they work for.
	ViewerIDs []string
	// Query is the searcher's text as typed.
	Query string
	// ConversationID, when set, limits the search to one conversation.
	ConversationID string
	// SenderID, when set, keeps messages sent by that user or written by
	// them as a business's agent.
	SenderID string
	// Since and Until, when set, keep messages created at or after Since
	// and before Until.
	Since, Until time.Time
	// Kinds, when set, keeps messages of those kinds.
	Kinds []MessageKind
	// MaxPos, when set, keeps messages at or before that position, so
	// that messages sent while a client pages do not shift its pages.
	MaxPos int64
	Order  SearchOrder
	// Window, when set, bounds the work of a SearchRelevance search: only
	// the Window newest matching messages (the other filters applied) are
	// ranked, so that a common word costs what a recent search costs.
	Window int
	// After, when set, continues after that hit of the previous page.
	After *SearchCursor
	Limit int
	// WindowFull, when set, is told on the first page (After nil) of a
	// SearchRelevance search with a Window whether the window was full:
	// Window matches were ranked, and older ones may exist that were not.
	WindowFull *bool
}

// SearchCursor is the place of the last hit of a page.
type SearchCursor struct {
	Score float64
	Pos   int64
}

// SearchHit is one message found, with its score (higher is better; 0
// in SearchRecent order).
type SearchHit struct {
	Message *Message
	Score   float64
}

// Query limits.
const (
	// MaxSearchTerms caps the words of a query that count.
	MaxSearchTerms = 16
	// SearchPrefixRunes is how long the last word of a query must be to
	// match as a prefix ("zeb" finds "zebra"): shorter prefixes would
	// expand to too many words to be quick.
	SearchPrefixRunes = 3
)

// SearchTerms splits a query into its words: runs of letters, digits and
// combining marks, as the stores' tokenizers split text. Everything else
// (quotes, operators, punctuation) separates words. Only the first
// MaxSearchTerms words are kept.
func SearchTerms(q string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(q, func(r rune) bool { return !IsWordRune(r) }) {
		if len(out) == MaxSearchTerms {
			break
		}
		out = append(out, w)
	}
	return out
}

// IsWordRune reports whether r belongs to a word for search.
func IsWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.Mn, r) ||
		unicode.Is(unicode.Mc, r) || unicode.Is(unicode.Co, r)
}
