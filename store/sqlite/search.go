package sqlite

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/parleyhq/parley"
)

// ftsQuery turns what a user typed into an FTS5 query that has no
// operator of theirs: each word is quoted (words hold only letters,
// digits and marks, so never a quote), words are ANDed, and the last one
// matches as a prefix. "" when q has no word.
func ftsQuery(q string) string {
	terms := parley.SearchTerms(q)
	if len(terms) == 0 {
		return ""
	}
	quoted := make([]string, len(terms))
	for i, t := range terms {
		quoted[i] = `"` + strings.ReplaceAll(t, `"`, `""`) + `"`
	}
	if last := len(terms) - 1; len([]rune(terms[last])) >= parley.SearchPrefixRunes {
		quoted[last] += "*"
	}
	return strings.Join(quoted, " AND ")
}

// searchWhere is what every search keeps: a visible, live message of the
// filter. ?1 is the FTS query, ?2 the viewers (JSON array), then
// conversation, sender, since, until, kinds (JSON array, "[]" for any),
// max position.
const searchWhere = ` FROM message_search s
	JOIN messages m ON m.pos = s.rowid
	WHERE message_search MATCH ?1
	  AND m.deleted_at IS NULL
	  AND (?3 = '' OR m.conversation_id = ?3)
	  AND (?4 = '' OR m.sender_id = ?4 OR m.agent_id = ?4)
	  AND (?5 = 0 OR m.created_at >= ?5)
	  AND (?6 = 0 OR m.created_at < ?6)
	  AND (?7 = '[]' OR m.kind IN (SELECT value FROM json_each(?7)))
	  AND (?8 = 0 OR m.pos <= ?8)
	  AND EXISTS (SELECT 1 FROM members mb
	      WHERE mb.conversation_id = m.conversation_id AND mb.user_id IN (SELECT value FROM json_each(?2))
	        AND m.seq > mb.joined_seq
	        AND (mb.status = 'active'
	          OR mb.status = 'pending' AND (mb.left_seq = 0 OR m.seq <= mb.left_seq)
	          OR mb.status IN ('left', 'removed') AND m.seq <= mb.left_seq))`

// searchNewest finds the matches newest first, straight from the index
// (FTS5 reads it in rowid order without sorting). ?9 is unused, ?10 the
// position to continue before (0: from the newest), ?11 the limit (-1:
// none). Recent searches page with it; relevance searches take their
// window with it and rank that in Go (rankWindow).
const searchNewest = `SELECT ` + messageColsM + searchWhere + `
	  AND (?8 = 0 OR s.rowid <= ?8) AND (?10 = 0 OR s.rowid < ?10)
	ORDER BY s.rowid DESC LIMIT ?11`

// SearchMessages implements parley.SearchTx. The default page size is 20.
func (t *tx) SearchMessages(f parley.SearchFilter) ([]parley.SearchHit, error) {
	out := []parley.SearchHit{}
	match := ftsQuery(f.Query)
	if match == "" || len(f.ViewerIDs) == 0 {
		return out, nil
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 20
	}
	kinds := make([]string, len(f.Kinds))
	for i, k := range f.Kinds {
		kinds[i] = string(k)
	}
	kindList, err := json.Marshal(kinds)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	var since, until int64
	if !f.Since.IsZero() {
		since = toNanos(f.Since)
	}
	if !f.Until.IsZero() {
		until = toNanos(f.Until)
	}
	if f.Order == parley.SearchRecent {
		var after int64
		if f.After != nil {
			after = f.After.Pos
		}
		msgs, err := t.scanMessages(searchNewest, match, idList(f.ViewerIDs), f.ConversationID, f.SenderID, since, until,
			string(kindList), f.MaxPos, 0, after, limit)
		if err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		for _, m := range msgs {
			out = append(out, parley.SearchHit{Message: m})
		}
		return out, nil
	}
	// Relevance: the window (chosen before the cursor, so that every page
	// ranks the same messages), ranked, then the page after the cursor.
	window := -1
	if f.Window > 0 {
		window = f.Window
	}
	msgs, err := t.scanMessages(searchNewest, match, idList(f.ViewerIDs), f.ConversationID, f.SenderID, since, until,
		string(kindList), f.MaxPos, 0, 0, window)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	scores := rankWindow(msgs, f.Query)
	hits := make([]parley.SearchHit, len(msgs))
	for i, m := range msgs {
		hits[i] = parley.SearchHit{Message: m, Score: scores[i]}
	}
	slices.SortStableFunc(hits, func(a, b parley.SearchHit) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(b.Message.Pos, a.Message.Pos)
	})
	for _, h := range hits {
		if c := f.After; c != nil && !(h.Score < c.Score || h.Score == c.Score && h.Message.Pos < c.Pos) {
			continue
		}
		out = append(out, h)
		if len(out) == limit {
			break
		}
	}
	return out, nil
}
