package postgres

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/store/storeseal"
)

// searchQuery is the tsquery of what a user typed, as SQL with its
// arguments: the words ANDed (plainto_tsquery: nothing typed is an
// operator), the last one as a prefix when long enough. Words pass
// through parley_search_text as the indexed text does; the last one is
// quoted by to_tsquery's rules after that (which leaves no quote in it).
func searchQuery(terms []string) (string, []any) {
	last := terms[len(terms)-1]
	if utf8.RuneCountInString(last) < parley.SearchPrefixRunes {
		return `plainto_tsquery('simple', parley_search_text(?))`, []any{strings.Join(terms, " ")}
	}
	prefix := `to_tsquery('simple', '''' || parley_search_text(?) || ''':*')`
	if len(terms) == 1 {
		return prefix, []any{last}
	}
	return `(plainto_tsquery('simple', parley_search_text(?)) && ` + prefix + `)`,
		[]any{strings.Join(terms[:len(terms)-1], " "), last}
}

// SearchMessages implements parley.SearchTx. Relevance is ts_rank_cd
// (cover density: the words close together, as typed, rank higher).
// The default page size is 20.
func (t *tx) SearchMessages(f parley.SearchFilter) ([]parley.SearchHit, error) {
	out := []parley.SearchHit{}
	terms := parley.SearchTerms(f.Query)
	viewers := uniqueIDs(f.ViewerIDs)
	if len(terms) == 0 || len(viewers) == 0 {
		return out, nil
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 20
	}
	tsq, args := searchQuery(terms)
	score := `ts_rank_cd(m.search, sq.q)::float8`
	if f.Order == parley.SearchRecent {
		score = `0::float8`
	}
	full := false // the rows carry the window's size (f.WindowFull)
	var b strings.Builder
	b.WriteString(`SELECT ` + messageColsM + `, ` + score + ` AS score
		FROM (SELECT ` + tsq + ` AS q) sq JOIN messages m ON m.search @@ sq.q
		WHERE m.deleted_at IS NULL
		  AND EXISTS (SELECT 1 FROM members mb
		      WHERE mb.conversation_id = m.conversation_id AND mb.user_id IN (?` + strings.Repeat(`, ?`, len(viewers)-1) + `)
		        AND m.seq > mb.joined_seq
		        AND (mb.status = 'active'
		          OR mb.status = 'pending' AND (mb.left_seq = 0 OR m.seq <= mb.left_seq)
		          OR mb.status IN ('left', 'removed') AND m.seq <= mb.left_seq))`)
	for _, v := range viewers {
		args = append(args, v)
	}
	add := func(cond string, a ...any) {
		b.WriteString("\n\t\t  AND " + cond)
		args = append(args, a...)
	}
	if f.ConversationID != "" {
		add(`m.conversation_id = ?`, f.ConversationID)
	}
	if f.SenderID != "" {
		add(`(m.sender_id = ? OR m.agent_id = ?)`, f.SenderID, f.SenderID)
	}
	if !f.Since.IsZero() {
		add(`m.created_at >= ?`, toNanos(f.Since))
	}
	if !f.Until.IsZero() {
		add(`m.created_at < ?`, toNanos(f.Until))
	}
	if len(f.Kinds) > 0 {
		kinds := make([]any, len(f.Kinds))
		for i, k := range f.Kinds {
			kinds[i] = string(k)
		}
		add(`m.kind IN (?`+strings.Repeat(`, ?`, len(kinds)-1)+`)`, kinds...)
	}
	if f.MaxPos > 0 {
		add(`m.pos <= ?`, f.MaxPos)
	}
	q := b.String()
	if f.Order == parley.SearchRecent {
		if c := f.After; c != nil {
			q += "\n\t\t  AND m.pos < ?"
			args = append(args, c.Pos)
		}
		q += "\n\t\tORDER BY m.pos DESC LIMIT ?"
	} else {
		// The window (the newest matches) is chosen before the cursor
		// applies, so that every page ranks the same messages.
		q += "\n\t\tORDER BY m.pos DESC"
		if f.Window > 0 {
			q += " LIMIT ?"
			args = append(args, f.Window)
		}
		if full = f.WindowFull != nil && f.After == nil && f.Window > 0; full {
			// The window's size beside each row (f.WindowFull).
			q = `SELECT * FROM (SELECT w.*, count(*) OVER () AS ranked FROM (` + q + `) w) w`
		} else {
			q = `SELECT * FROM (` + q + `) w`
		}
		if c := f.After; c != nil {
			q += ` WHERE score < ? OR score = ? AND pos < ?`
			args = append(args, c.Score, c.Score, c.Pos)
		}
		q += ` ORDER BY score DESC, pos DESC LIMIT ?`
	}
	args = append(args, limit)
	rows, err := t.query(q, args...)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var score float64
		var ranked int
		sc := scoreScanner{s: rows, extra: []any{&score}}
		if full {
			sc.extra = append(sc.extra, &ranked)
		}
		m, err := scanMessage(sc)
		if err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		if err := storeseal.OpenMessage(t.db.seal.Get(), m); err != nil {
			return nil, err
		}
		out = append(out, parley.SearchHit{Message: m, Score: score})
		if full {
			*f.WindowFull = ranked >= f.Window
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	return out, nil
}

// scoreScanner reads a messageCols row followed by more columns.
type scoreScanner struct {
	s     scanner
	extra []any
}

func (s scoreScanner) Scan(dest ...any) error { return s.s.Scan(append(dest, s.extra...)...) }
