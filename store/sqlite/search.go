package sqlite

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/parleyhq/parley"
)

// ftsQuery turns what a user typed into an FTS5 query that has no
// operator of theirs: each word is quoted (words hold only letters,
// digits and marks, so never a quote), words are ANDed, and the last one
// matches as a prefix. With several words, the words as one phrase are
// ORed in: every match still holds all the words, and the ones that hold
// them together, as typed, score higher. "" when q has no word.
func ftsQuery(q string) string {
	terms := parley.SearchTerms(q)
	if len(terms) == 0 {
		return ""
	}
	last := len(terms) - 1
	star := ""
	if len([]rune(terms[last])) >= parley.SearchPrefixRunes {
		star = "*"
	}
	quoted := make([]string, len(terms))
	for i, t := range terms {
		quoted[i] = `"` + strings.ReplaceAll(t, `"`, `""`) + `"`
	}
	quoted[last] += star
	if len(terms) == 1 {
		return quoted[0]
	}
	phrase := `"` + strings.ReplaceAll(strings.Join(terms, " "), `"`, `""`) + `"` + star
	return "(" + phrase + ") OR (" + strings.Join(quoted, " AND ") + ")"
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

// The two orders. bm25 is negative, lower is better: the score is its
// opposite. ?9 and ?10 are the cursor's score and position (?10 = 0: the
// first page), ?11 the limit.
const (
	searchByRelevance = `SELECT ` + messageColsM + `, -bm25(message_search) AS score` + searchWhere + `
	  AND (?10 = 0 OR -bm25(message_search) < ?9 OR -bm25(message_search) = ?9 AND m.pos < ?10)
	ORDER BY score DESC, m.pos DESC LIMIT ?11`
	searchByRecency = `SELECT ` + messageColsM + `, 0.0 AS score` + searchWhere + `
	  AND (?10 = 0 OR s.rowid < ?10)
	ORDER BY s.rowid DESC LIMIT ?11`
)

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
	var curScore float64
	var curPos int64
	if f.After != nil {
		curScore, curPos = f.After.Score, f.After.Pos
	}
	q := searchByRelevance
	if f.Order == parley.SearchRecent {
		q = searchByRecency
	}
	rows, err := t.query(q, match, idList(f.ViewerIDs), f.ConversationID, f.SenderID, since, until,
		string(kindList), f.MaxPos, curScore, curPos, limit)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var score float64
		m, err := scanMessage(scoreScanner{rows, &score})
		if err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		out = append(out, parley.SearchHit{Message: m, Score: score})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	return out, nil
}

// scoreScanner reads a messageCols row followed by one more column.
type scoreScanner struct {
	s     scanner
	score *float64
}

func (s scoreScanner) Scan(dest ...any) error { return s.s.Scan(append(dest, s.score)...) }
