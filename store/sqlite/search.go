package sqlite

import (
	"cmp"
	"container/heap"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/sealed"
	"github.com/parleyhq/parley/store/storeseal"
)

// The search index (migration 0021) has one row per live message, whose
// rowid is the conversation's search_num << 32 | (maxSearchSeq - the
// message's seq): each conversation is a range of rowids, newest first,
// and what a member may read a sub-range. A search visits the ranges of the searcher's conversations,
// newest conversation first, takes each one's matches newest first, and
// stops as soon as no conversation left can hold a match newer than the
// ones it has: its cost follows the searcher's conversations and the
// page asked for, not the size of the server.

// Search tuning.
const (
	// searchProbe is how many matches in the whole index a search reads,
	// per conversation of the searcher, to tell a rare query from a
	// common one (at least searchProbeMin, at most searchProbeMax). A
	// query with at most that many visits only the conversations holding
	// one of them. Measured on the pure-Go driver: reading a match costs
	// about 0.5 µs, visiting a conversation about 250 µs.
	searchProbe    = 16
	searchProbeMin = 4096
	searchProbeMax = 65536
	// searchProbeFirst is how many matches the probe reads before it
	// decides whether the rest would pay (probeMore, probePays), and the
	// size of the rest's first part (each next part is twice the one
	// before); searchProbeFirstAnd for a query of several words, whose
	// matches cost a seek into each word's list, up to several µs each.
	searchProbeFirst    = 1024
	searchProbeFirstAnd = 256
	// searchVisitOne and searchVisitAnd are what a visit of a conversation
	// is taken to cost until searches have measured it (visitCosts), for
	// a query of one word and of several (10 million messages, pure-Go
	// driver, this project's 2-vCPU machine: 25–60 and 45–80 µs).
	searchVisitOne = 30 * time.Microsecond
	searchVisitAnd = 60 * time.Microsecond
	searchVisitMax = time.Millisecond
	// searchProbeRanges is the number of conversations from which the
	// probe pays: below it, visiting every range is as cheap.
	searchProbeRanges = 16
	// searchScanPerVisit is how many matches of the index a search reads
	// in one pass (scanRanges) for the cost of visiting one conversation
	// (10 million messages, pure-Go driver: ~0.2 µs a match read, ~130 µs
	// a visit by positions; less than their ratio, for the estimate's error).
	searchScanPerVisit = 500
	// searchExpandMax is how many words longer than a long last word
	// (one that starts them) a search asks the index for by name
	// (expandLast); a word starting more is looked up by its first letters.
	searchExpandMax = 16
	// searchSplitPerVisit is how many matches of the words a long last
	// word starts a search reads in one pass (splitLast) for each of the
	// searcher's ranges, whose visits it spares a seek at least (the
	// pure-Go driver: a seek into a word's list 5–10 µs, a match read in
	// one pass about 0.5 µs).
	searchSplitPerVisit = 8
	// searchRarePerRange is how many matches in the whole index, per
	// range of the searcher, a word of a query of several may have for
	// the search to read its matches in the searcher's ranges in one pass
	// and check those against the whole query (rarePart): at ~0.15 µs a
	// match read, 16 a range cost a few per cent of a walk's visits
	// (50–100 µs each, each seeking every word: a common word's list holds
	// millions). searchRareChecks is how many of those matches per range
	// holding one the search checks one by one (a seek per word each,
	// like a visit); with more it visits those ranges instead.
	searchRarePerRange = 16
	searchRareChecks   = 2
	// searchRareMax bounds that count whatever the searcher's ranges (a
	// business in 50,000 conversations): a newest-first walk may stop
	// after a few of them, and a count or a pass of 800,000 matches
	// would cost it 50–100 ms.
	searchRareMax = 32768
	// searchCommonFor is how long a part of a query found common stays
	// known as such (commonParts), for at most searchCommonMax parts.
	searchCommonFor = 10 * time.Minute
	searchCommonMax = 4096
	// searchPrefixIndex is the longest prefix the index holds (0021's
	// prefix = '3 4 5 6'). A longer last word is looked up by its first
	// searchPrefixIndex letters and checked whole on the text.
	searchPrefixIndex = 6
	// maxSearchSeq is the highest seq a rowid holds.
	maxSearchSeq = 1<<32 - 1
)

// searchQuery is a query as the index is asked it.
type searchQuery struct {
	// match is the FTS5 query. It finds every message the query finds,
	// and when exact is false possibly more.
	match string
	exact bool
	// tokens is false when a word is several tokens (or none): then even
	// whole may find more than the query.
	tokens bool
	// When the last word is longer than the prefix index, match looks it
	// up by its first letters, which may find far more than the word:
	// whole is the query with the word as a prefix in full (FTS5 expands
	// it over the whole index, which costs what the expansion holds).
	whole string
	// last is the last word alone as a whole word, when whole is set.
	last string
	// terms are the folded words; prefix tells whether the last one
	// matches as a prefix.
	terms  []string
	prefix bool
	// When expandLast asked for a long last word as the index's words it
	// starts, head is match before them (the other words, ANDed, with
	// the trailing " AND ") and expanded those words, quoted, the word
	// itself first (splitLast).
	head     string
	expanded []string
	// parts are match's ANDed parts: a word each, the last one as
	// expandLast left it.
	parts []string
}

// ftsTokens splits a word as the unicode61 tokenizer does: its token
// characters are letters, numbers and private-use characters, so a
// word with combining marks (Devanagari, for one) is several tokens.
func ftsTokens(word string) []string {
	return strings.FieldsFunc(word, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r) && !unicode.Is(unicode.Co, r)
	})
}

// newSearchQuery turns what a user typed into an FTS5 query that has no
// operator of theirs: each token is quoted (tokens hold only letters,
// digits and marks, so never a quote) and the tokens are ANDed (the index
// keeps no positions, so there are no phrases). The last word matches as
// a prefix when it has at least parley.SearchPrefixRunes letters, through
// the index's prefix index. Its match is "" when q has no word.
func newSearchQuery(q string) searchQuery {
	words := parley.SearchTerms(q)
	if len(words) == 0 {
		return searchQuery{}
	}
	sq := searchQuery{exact: true, tokens: true, prefix: utf8.RuneCountInString(words[len(words)-1]) >= parley.SearchPrefixRunes}
	var parts, whole []string
	for i, w := range words {
		sq.terms = append(sq.terms, foldWord(w))
		toks := ftsTokens(w)
		if len(toks) != 1 {
			sq.exact, sq.tokens = false, false // several tokens (or none left): the store checks the word
		}
		for j, tok := range toks {
			part := `"` + tok + `"`
			whole = append(whole, part)
			if i == len(words)-1 && j == len(toks)-1 && sq.prefix {
				whole[len(whole)-1] += "*"
				if runes := []rune(tok); len(runes) > searchPrefixIndex {
					part = `"` + string(runes[:searchPrefixIndex]) + `"`
					sq.exact = false
				}
				part += "*"
				sq.last = `"` + tok + `"`
			}
			parts = append(parts, part)
		}
	}
	if len(parts) == 0 {
		return searchQuery{}
	}
	sq.match = strings.Join(parts, " AND ")
	sq.parts = parts
	if sq.whole = strings.Join(whole, " AND "); sq.whole == sq.match {
		sq.whole, sq.last = "", ""
	}
	return sq
}

// searchNextTerm is the first word of the index at or after ?1.
const searchNextTerm = `SELECT term FROM message_search_terms WHERE term >= ?1 LIMIT 1`

// expandLast makes a query whose long last word is looked up by its first
// letters (sq.whole set) exact: it lists the index's words that start with
// the word (migration 0039), each found by one seek past the one before,
// and asks the index for those words by name, ORed. A word that starts
// more than searchExpandMax words, or that is not plain ASCII (the
// tokenizer folds other letters), keeps the inexact query.
func (t *tx) expandLast(sq *searchQuery) error {
	if sq.whole == "" || !sq.tokens {
		return nil
	}
	typed := strings.Trim(sq.last, `"`)
	for _, r := range typed {
		if r >= utf8.RuneSelf {
			return nil
		}
	}
	word := strings.ToLower(typed) // as the tokenizer folds ASCII
	terms := []string{word}
	from := word + "\x01"
	for {
		var term string
		err := t.queryRow(searchNextTerm, from).Scan(&term)
		if errors.Is(err, sql.ErrNoRows) {
			break
		} else if err != nil {
			return err
		}
		if !strings.HasPrefix(term, word) {
			break
		}
		if len(terms) > searchExpandMax {
			return nil
		}
		terms = append(terms, term)
		from = term + "\x01"
	}
	for i, term := range terms {
		terms[i] = `"` + term + `"`
	}
	last := terms[0]
	if len(terms) > 1 {
		last = "(" + strings.Join(terms, " OR ") + ")"
	}
	// The match's last part is the word's indexed first letters as a prefix.
	cut := strings.LastIndex(sq.match, `"`+firstRunes(typed, searchPrefixIndex)+`"*`)
	if cut < 0 {
		return nil
	}
	sq.head, sq.expanded = sq.match[:cut], terms
	sq.match = sq.match[:cut] + last
	sq.parts = append(sq.parts[:len(sq.parts)-1:len(sq.parts)-1], last)
	sq.exact, sq.whole, sq.last = true, "", ""
	return nil
}

// splitLast takes out of the walk the words a long last word was
// expanded to (expandLast) beyond itself, when they are rare: the walk's
// every visit seeks each word of the expansion (eight seeks a visit for
// a word that starts seven others), while those words' own matches in
// all of the searcher's ranges come from one pass over the index
// (scanRanges, about 0.5 µs a match). Those in the searcher's ranges are
// offered to keep like a walk's (searchScanned, which stops as the walk
// does), each checked first against the whole query without the word
// itself (a seek per word, as a visit; without the word, no message
// comes twice); sq.match is left asking for the word alone, and
// splitLast reports whether it did. It goes ahead when those words have
// at most searchSplitPerVisit matches in the whole index per range of
// the searcher, and at most one in the searcher's ranges for every two
// of them.
func (t *tx) splitLast(sq *searchQuery, ranges []searchRange, keep *newest, bound func(searchRange) int64, maxPos, before int64) (bool, error) {
	if len(sq.expanded) < 2 || len(ranges) <= searchProbeRanges || t.db.noSplit {
		return false, nil
	}
	word, others := sq.expanded[0], "("+strings.Join(sq.expanded[1:], " OR ")+")"
	most := len(ranges) * searchSplitPerVisit
	if n, err := t.countMatches(others, most+1); err != nil || n > most {
		return false, err
	}
	sc, err := t.scanRanges(others, ranges)
	if err != nil {
		return false, err
	}
	found := 0
	for _, seqs := range sc.seqs {
		found += len(seqs)
	}
	if found*2 > len(ranges) {
		return false, nil
	}
	sc.check = t.matchCheck("(" + sq.head + others + ") NOT " + word)
	if err := t.searchScanned(sc, ranges, keep, bound, maxPos, before); err != nil {
		return false, err
	}
	t.db.splits.Add(1)
	sq.match = sq.head + word
	return true, nil
}

// rarePart finds the matches of a query of several words through its
// rarest part, when that part is rare in the whole index: at most
// searchRarePerRange matches per range of the searcher, and at most
// searchRareMax. Two words of
// which one is in most messages and the other in a few thousand cost a
// walk a seek into the common word's list at each of the searcher's
// conversations, and a probe of the AND such a seek per match; the rare
// part's own matches in the searcher's ranges come from one pass over
// the index (scanRanges) instead. Only the ranges holding one can hold a
// match of the query, so the others are dropped (an exact pruning, no
// probe needed). When those ranges hold few of the part's matches
// (searchRareChecks a range), each is checked against the whole query
// (a seek per word, by rowid) as searchScanned offers it, and the
// returned scan stands for the walk; otherwise the walk visits the ranges
// left. ok is false when no part is rare enough (ranges untouched).
//
// The parts are counted longest first (a bounded count each, which is
// what a common word costs the search when none is rare), and once one
// is rare enough, the others only up to its count.
func (t *tx) rarePart(sq searchQuery, ranges []searchRange) (_ []searchRange, _ *searchScan, ok bool, err error) {
	if len(sq.parts) < 2 || len(ranges) <= searchProbeRanges || !sq.exact || t.db.noRare {
		return ranges, nil, false, nil
	}
	order := slices.Clone(sq.parts)
	slices.SortStableFunc(order, func(a, b string) int {
		// A short word's prefix (the index's prefixes) last: it matches
		// every word it starts. A long last word's expansion, an OR of
		// the words it starts, comes first by its length, as the long
		// word it is.
		if pa, pb := strings.HasSuffix(a, "*"), strings.HasSuffix(b, "*"); pa != pb {
			if pa {
				return 1
			}
			return -1
		}
		return cmp.Compare(len(b), len(a))
	})
	best, most := "", min(len(ranges)*searchRarePerRange, searchRareMax)
	for _, part := range order {
		if best != "" && most <= 0 {
			break // none can be rarer
		}
		if best == "" && t.db.common.known(part, most) {
			continue
		}
		n, err := t.countMatches(part, most+1)
		if err != nil {
			return ranges, nil, false, err
		}
		if n <= most {
			best, most = part, n-1
		} else if best == "" {
			t.db.common.note(part, most)
		}
	}
	if best == "" {
		return ranges, nil, false, nil
	}
	sc, err := t.scanRanges(best, ranges)
	if err != nil {
		return ranges, nil, false, err
	}
	t.db.rares.Add(1)
	// Each range by its own matches: a conversation can be several
	// ranges (viewers' ranges merged apart), and the scan keeps its
	// matches by conversation.
	found := 0
	ranges = slices.DeleteFunc(ranges, func(r searchRange) bool {
		n := 0
		for _, seq := range sc.seqs[r.num] {
			if seq >= r.lo && seq <= r.hi {
				n++
			}
		}
		found += n
		return n == 0
	})
	if found > len(ranges)*searchRareChecks {
		return ranges, nil, true, nil
	}
	t.db.rareChecks.Add(1)
	sc.check = t.matchCheck(sq.match)
	return ranges, sc, true, nil
}

// matchCheck returns a searchScan.check that tells whether the index's
// entry of a conversation's message matches match (a seek per word).
func (t *tx) matchCheck(match string) func(num, seq int64) (bool, error) {
	return func(num, seq int64) (bool, error) {
		var one int
		err := t.queryRow(`SELECT 1 FROM message_search WHERE message_search MATCH ?1 AND rowid = ?2`,
			match, num<<32|(maxSearchSeq-seq)).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil
		}
		return err == nil, err
	}
}

// commonParts remembers, for a while, the parts of queries that had more
// matches in the whole index than a search could read in one pass
// (rarePart): a common word is in many queries, and counting it up to
// the bound costs ~0.5 ms each time. What it remembers only chooses a
// plan: a word that became rare meanwhile (messages deleted) is counted
// again after searchCommonFor.
type commonParts struct {
	mu    sync.Mutex
	parts map[string]commonPart
}

type commonPart struct {
	most int // the part has more matches than this
	at   time.Time
}

// known reports whether part was seen lately with more than most matches.
func (c *commonParts) known(part string, most int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.parts[part]
	return ok && p.most >= most && time.Since(p.at) < searchCommonFor
}

// note records that part has more than most matches.
func (c *commonParts) note(part string, most int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.parts == nil || len(c.parts) >= searchCommonMax {
		c.parts = map[string]commonPart{}
	}
	c.parts[part] = commonPart{most: most, at: time.Now()}
}

// firstRunes is the first n runes of s.
func firstRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

// holds reports whether a text holds the query's words: each as a word
// of the text, the last one as a prefix when sq.prefix.
func (sq searchQuery) holds(text string) bool {
	var words []string
	for _, w := range strings.FieldsFunc(text, func(r rune) bool { return !parley.IsWordRune(r) }) {
		words = append(words, foldWord(w))
	}
	for i, t := range sq.terms {
		pre := sq.prefix && i == len(sq.terms)-1
		if !slices.ContainsFunc(words, func(w string) bool { return w == t || pre && strings.HasPrefix(w, t) }) {
			return false
		}
	}
	return true
}

// searchRange is the part of a conversation a search may find: the
// index's rowids num<<32|lo to num<<32|hi.
type searchRange struct {
	conv    string
	num     int64
	lo, hi  int64 // seq, both included
	lastPos int64 // the conversation's newest position
}

// searchMembers lists the viewers' memberships that show anything.
const searchMembers = `SELECT c.id, c.search_num, c.last_pos, mb.status, mb.joined_seq, mb.left_seq
	FROM members mb JOIN conversations c ON c.id = mb.conversation_id
	WHERE mb.user_id IN (SELECT value FROM json_each(?1)) AND mb.status != 'declined'
	  AND (?2 = '' OR mb.conversation_id = ?2)`

// searchRanges returns the ranges the viewers may read (Member.CanRead),
// one or more per conversation (several viewers' ranges merged), newest
// conversation first.
func (t *tx) searchRanges(viewers []string, convID string) ([]searchRange, error) {
	rows, err := t.query(searchMembers, idList(viewers), convID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var all []searchRange
	for rows.Next() {
		var r searchRange
		var status string
		var joined, left int64
		if err := rows.Scan(&r.conv, &r.num, &r.lastPos, &status, &joined, &left); err != nil {
			return nil, err
		}
		r.lo, r.hi = joined+1, int64(maxSearchSeq)
		switch parley.MemberStatus(status) {
		case parley.StatusActive:
		case parley.StatusPending:
			if left > 0 {
				r.hi = left
			}
		case parley.StatusLeft, parley.StatusRemoved:
			r.hi = left
		default:
			continue
		}
		if r.lo <= r.hi {
			all = append(all, r)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Merge the ranges of one conversation that overlap or touch.
	slices.SortFunc(all, func(a, b searchRange) int {
		return cmp.Or(cmp.Compare(b.lastPos, a.lastPos), cmp.Compare(a.conv, b.conv), cmp.Compare(a.lo, b.lo))
	})
	out := all[:0]
	for _, r := range all {
		if n := len(out); n > 0 && out[n-1].conv == r.conv && r.lo <= out[n-1].hi+1 {
			out[n-1].hi = max(out[n-1].hi, r.hi)
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

// searchProbeQuery reads the first ?2 matches of the whole index in
// rowid order, by conversation number, from the rowid after ?3.
const searchProbeQuery = `SELECT rowid >> 32, COUNT(*), MAX(rowid)
	FROM (SELECT rowid FROM message_search WHERE message_search MATCH ?1 AND rowid > ?3 ORDER BY rowid LIMIT ?2) GROUP BY 1`

// pruneRanges drops the ranges of conversations that hold no match, as
// far as a bounded probe of the whole index tells (see searchProbe): it
// reads the index's first matches in rowid order, that is by conversation
// number, so every conversation numbered below the last one it reached
// has been seen whole. When the whole index holds few matches (a rare
// word), only the conversations holding one stay, and the search costs
// a look at a few of them instead of all of the searcher's; a commoner
// word keeps the ranges the probe did not reach and the ones it found.
//
// The probe reads its first searchProbeFirst matches, and the rest only
// when they would reach far enough to pay (probeMore): a common word's
// full probe reaches a few conversations of a large server, and cost a
// quarter of such a search at 10 million messages.
//
// A long last word is searched in the ranges by its first letters
// (sq.match), which may match far more than the word, so it is probed as
// the prefix it is (sq.whole) when that is cheap: FTS5 expands such a
// prefix over the whole index, at the cost of every entry of the words it
// starts, which is small when the word itself (sq.last) is rare (a bounded
// count tells; the old rule counted the whole query, so a rare first word
// made a common last word expand). Otherwise sq.match probes, which finds
// every range the word is in.
func (t *tx) pruneRanges(sq searchQuery, ranges []searchRange, scan bool) ([]searchRange, *searchScan, error) {
	probe := min(max(searchProbe*len(ranges), searchProbeMin), searchProbeMax)
	first := min(probe, searchProbeFirst)
	if len(sq.terms) > 1 {
		first = min(probe, searchProbeFirstAnd)
	}
	start := time.Now()
	// A scan reads one word's matches exactly: a query of one word of
	// one token (a long last word by itself, sq.whole).
	scan = scan && len(sq.terms) == 1 && sq.tokens
	match := sq.match
	if sq.whole != "" {
		// The expansion is cheap, as a rule, when the word itself is rare:
		// the longer words it starts are rarer still. (When it is common,
		// so are its indexed first letters, and the probe could not prune.)
		n, err := t.countMatches(sq.last, probe+1)
		if err != nil {
			return nil, nil, err
		}
		if n <= probe {
			match = sq.whole
		}
	}
	found := map[int64]bool{}
	var last int64 = -1 // the highest conversation number read
	after := int64(-1)  // the highest rowid read
	readMatch := func(match string, limit int) (all bool, err error) {
		rows, err := t.query(searchProbeQuery, match, limit+1, after)
		if err != nil {
			return false, err
		}
		defer rows.Close()
		got := 0
		for rows.Next() {
			var num, top int64
			var n int
			if err := rows.Scan(&num, &n, &top); err != nil {
				return false, err
			}
			found[num] = true
			got += n
			last = max(last, num)
			after = max(after, top)
		}
		if err := rows.Err(); err != nil {
			return false, err
		}
		return got <= limit, nil
	}
	read := func(limit int) (bool, error) { return readMatch(match, limit) }
	scanned := func(match string) ([]searchRange, *searchScan, error) {
		sc, err := t.scanRanges(match, ranges)
		if err != nil {
			return nil, nil, err
		}
		return slices.DeleteFunc(ranges, func(r searchRange) bool { return len(sc.seqs[r.num]) == 0 }), sc, nil
	}
	if scan && match == sq.match && sq.whole != "" {
		// A common long word: the word itself tells how far a scan of
		// its matches (sq.whole, a prefix FTS5 expands once) would read.
		// Without a scan the probe goes on with its first letters.
		all, err := readMatch(sq.last, first)
		if err != nil {
			return nil, nil, err
		}
		if !all && scanPays(ranges, last, first) {
			return scanned(sq.whole)
		}
		clear(found)
		last, after = -1, -1
	}
	all, err := read(first)
	if err != nil {
		return nil, nil, err
	}
	if !all && scan && sq.whole == "" && scanPays(ranges, last, first) {
		return scanned(sq.match)
	}
	// The rest, in parts twice as large each time (each part is a query
	// of its own, which seeks every word again), while the probe has
	// saved more visits than it cost (probePays): two words that are each
	// common but rarely together cost a probe more per match than it
	// prunes.
	visit := t.db.visitCosts(len(sq.terms))
	for n, part := first, first; !all && n < probe && probeMore(ranges, last, n, probe) &&
		probePays(time.Since(start), absent(ranges, found, last), visit); n, part = n+part, part*2 {
		if all, err = read(min(part, probe-n)); err != nil {
			return nil, nil, err
		}
		t.db.probeParts.Add(1)
	}
	if all { // the probe read every match
		last = math.MaxInt64
	}
	return slices.DeleteFunc(ranges, func(r searchRange) bool { return r.num < last && !found[r.num] }), nil, nil
}

// countMatches counts the index's matches of match, reading at most
// limit of them.
func (t *tx) countMatches(match string, limit int) (int, error) {
	var n int
	err := t.queryRow(`SELECT COUNT(*) FROM (SELECT 1 FROM message_search WHERE message_search MATCH ?1 LIMIT ?2)`,
		match, limit).Scan(&n)
	return n, err
}

// absent counts the ranges a probe that reached conversation number
// last has judged to hold no match: those numbered below last that it
// found none in.
func absent(ranges []searchRange, found map[int64]bool, last int64) int {
	n := 0
	for _, r := range ranges {
		if r.num < last && !found[r.num] {
			n++
		}
	}
	return n
}

// probePays reports whether a probe that has run for spent should go
// on: while the visits it saved so far (absent ranges, at visit each)
// are worth more than it cost, the rest, which judges the searcher's
// other ranges at the same density, is expected to pay as well.
func probePays(spent time.Duration, absent int, visit time.Duration) bool {
	return spent < time.Duration(absent)*visit
}

// visitCosts is what a visit of one of the searcher's conversations has
// cost lately in a search of terms words (noteVisits).
func (db *DB) visitCosts(terms int) time.Duration {
	i, d := 0, searchVisitOne
	if terms > 1 {
		i, d = 1, searchVisitAnd
	}
	if c := db.visitCost[i].Load(); c > 0 {
		return time.Duration(c)
	}
	return d
}

// noteVisits records what visits of conversations that held no match
// cost in a walk (what a probe saves), as a moving average (an eighth of
// the new cost) per kind of query; too few visits tell little and are
// left out, and a walk that stalled (a busy machine) counts as at most
// searchVisitMax a visit.
func (db *DB) noteVisits(terms, visits int, took time.Duration) {
	if visits < 16 {
		return
	}
	i := 0
	if terms > 1 {
		i = 1
	}
	cost := min(int64(took)/int64(visits), int64(searchVisitMax))
	for {
		cur := db.visitCost[i].Load()
		old := cur
		if old <= 0 {
			old = int64(db.visitCosts(terms))
		}
		if db.visitCost[i].CompareAndSwap(cur, old+(cost-old)/8) {
			return
		}
	}
}

// scanPays reports whether reading every match of the index in the
// searcher's span of conversation numbers in one pass (scanRanges) is
// estimated cheaper than visiting the searcher's conversations one by
// one: the probe's first matches reached conversation number last, so
// the span holds about first * span / last matches, each costing about
// 1/searchScanPerVisit of a visit.
func scanPays(ranges []searchRange, last int64, first int) bool {
	if len(ranges) == 0 {
		return false
	}
	lo, hi := ranges[0].num, ranges[0].num
	for _, r := range ranges {
		lo, hi = min(lo, r.num), max(hi, r.num)
	}
	if last < lo {
		// Not one of the searcher's conversations reached: the word is
		// commoner than the probe can tell; the walk's stop rule does best.
		return false
	}
	est := float64(first) * float64(hi-lo+1) / float64(last-lo+1)
	return est <= float64(len(ranges))*searchScanPerVisit
}

// searchScan is what scanRanges found: the seqs of the matches in each
// of the searcher's conversations (by number), newest first, inside the
// searcher's ranges.
type searchScan struct {
	seqs map[int64][]int64
	// check, when set, tells whether a match is one to offer (splitLast);
	// searchScanned asks it only of the matches it offers.
	check func(num, seq int64) (bool, error)
}

// searchScanQuery reads the matches of the index between two rowids
// whose conversation number is one of a JSON array's.
const searchScanQuery = `SELECT rowid FROM message_search
	WHERE message_search MATCH ?1 AND rowid >= ?2 AND rowid < ?3
	  AND (rowid >> 32) IN (SELECT value FROM json_each(?4))`

// scanRanges reads, in one pass over the index, the matches of sq.match in
// the searcher's ranges.
func (t *tx) scanRanges(match string, ranges []searchRange) (*searchScan, error) {
	byNum := make(map[int64][]searchRange, len(ranges))
	var list strings.Builder
	list.WriteByte('[')
	lo, hi := ranges[0].num, ranges[0].num
	for _, r := range ranges {
		if len(byNum[r.num]) == 0 {
			if list.Len() > 1 {
				list.WriteByte(',')
			}
			list.WriteString(strconv.FormatInt(r.num, 10))
		}
		byNum[r.num] = append(byNum[r.num], r)
		lo, hi = min(lo, r.num), max(hi, r.num)
	}
	list.WriteByte(']')
	rows, err := t.query(searchScanQuery, match, lo<<32, (hi+1)<<32, list.String())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	sc := &searchScan{seqs: map[int64][]int64{}}
	for rows.Next() {
		var rowid int64
		if err := rows.Scan(&rowid); err != nil {
			return nil, err
		}
		num, seq := rowid>>32, maxSearchSeq-rowid&maxSearchSeq
		for _, r := range byNum[num] {
			if seq >= r.lo && seq <= r.hi {
				sc.seqs[num] = append(sc.seqs[num], seq)
				break
			}
		}
	}
	return sc, rows.Err()
}

// probeMore reports whether the rest of a probe (to probe matches) is
// worth reading after its first reached conversation number last in
// first matches: when, at the same density, it would reach past at least
// an eighth of the searcher's ranges. Reading a match costs about 0.5 µs,
// visiting a conversation 60-250 µs, so the rest pays when it can spare
// a few dozen visits; a word common enough to reach fewer is also one
// that most conversations hold, which the probe could not prune anyway.
func probeMore(ranges []searchRange, last int64, first, probe int) bool {
	reach := float64(last+1) * float64(probe) / float64(first)
	judged := 0
	for _, r := range ranges {
		if float64(r.num) < reach {
			judged++
		}
	}
	return judged*8 >= len(ranges)
}

// searchInRange finds the matches of one range, newest first. ?1 is the
// FTS query, ?2 the conversation, ?3 and ?4 the rowids, then sender,
// since, until, kinds (JSON array, "[]" for any), the highest position
// and the position to stay below (0: none).
const searchInRange = `SELECT ` + messageColsM + ` FROM message_search s
	JOIN messages m ON m.conversation_id = ?2 AND m.seq = 4294967295 - (s.rowid & 4294967295)
	WHERE message_search MATCH ?1 AND s.rowid >= ?3 AND s.rowid <= ?4
	  AND m.deleted_at IS NULL
	  AND (?5 = '' OR m.sender_id = ?5 OR m.agent_id = ?5)
	  AND (?6 = 0 OR m.created_at >= ?6)
	  AND (?7 = 0 OR m.created_at < ?7)
	  AND (?8 = '[]' OR m.kind IN (SELECT value FROM json_each(?8)))
	  AND (?9 = 0 OR m.pos <= ?9)
	  AND (?10 = 0 OR m.pos < ?10)
	ORDER BY s.rowid`

// searchInRangePos is searchInRange for a search without filters on
// the messages' columns (searchLight): the positions of the range's
// matches, newest first, from the (conversation_id, seq) index alone. ?1
// is the FTS query, ?2 the conversation, ?3 and ?4 the rowids, then the
// highest position and the position to stay below (0: none).
const searchInRangePos = `SELECT m.pos FROM message_search s
	JOIN messages m ON m.conversation_id = ?2 AND m.seq = 4294967295 - (s.rowid & 4294967295)
	WHERE message_search MATCH ?1 AND s.rowid >= ?3 AND s.rowid <= ?4
	  AND (?5 = 0 OR m.pos <= ?5)
	  AND (?6 = 0 OR m.pos < ?6)
	ORDER BY s.rowid`

// searchLoad reads the messages at the positions of a JSON array.
const searchLoad = `SELECT ` + messageColsM + ` FROM messages m
	WHERE m.pos IN (SELECT value FROM json_each(?1)) AND m.deleted_at IS NULL`

// newest keeps the k newest messages offered (k < 0: all of them).
type newest struct {
	k    int
	msgs posHeap
}

func (n *newest) full() bool { return n.k >= 0 && len(n.msgs) >= n.k }

// oldest is the position of the oldest message kept, meaningful when full.
func (n *newest) oldest() int64 { return n.msgs[0].Pos }

func (n *newest) add(m *parley.Message) {
	if n.k == 0 {
		return
	}
	if !n.full() {
		heap.Push(&n.msgs, m)
		return
	}
	if m.Pos > n.msgs[0].Pos {
		n.msgs[0] = m
		heap.Fix(&n.msgs, 0)
	}
}

// posHeap is a min-heap of messages by position.
type posHeap []*parley.Message

func (h posHeap) Len() int           { return len(h) }
func (h posHeap) Less(i, j int) bool { return h[i].Pos < h[j].Pos }
func (h posHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *posHeap) Push(x any)        { *h = append(*h, x.(*parley.Message)) }
func (h *posHeap) Pop() any {
	old := *h
	m := old[len(old)-1]
	*h = old[:len(old)-1]
	return m
}

// SearchMessages implements parley.SearchTx. The default page size is 20.
func (t *tx) SearchMessages(f parley.SearchFilter) ([]parley.SearchHit, error) {
	// The index holds the messages below its watermark (indexer.go).
	switch {
	case t.write:
		// Those this transaction created, and any still waiting.
		if !t.indexed || t.created > 0 || t.db.backlog > 0 {
			if err := t.indexBacklog(); err != nil {
				return nil, err
			}
		}
	case t.caughtUp:
		// After an index step: what came in after it is newer than the
		// search, which reads as of the watermark (so does Head).
		mark, err := t.indexedBelow()
		if err != nil {
			return nil, err
		}
		if f.MaxPos <= 0 || f.MaxPos >= mark {
			f.MaxPos = mark - 1
		}
	default:
		if behind, err := t.behind(f.MaxPos); err != nil {
			return nil, err
		} else if behind {
			return nil, errSearchBehind // View catches the index up and runs again
		}
	}
	out := []parley.SearchHit{}
	sq := newSearchQuery(f.Query)
	if sq.match == "" || len(f.ViewerIDs) == 0 {
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
	ranges, err := t.searchRanges(f.ViewerIDs, f.ConversationID)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	// Without filters on the messages' columns, and when the index's
	// matches need no check on the text, the walk reads positions only
	// and the messages kept are read at the end (searchLight): a relevance
	// search offers its window hundreds of matches it drops again, and a
	// visit reads at least one match to tell that it holds nothing newer.
	if err := t.expandLast(&sq); err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	plain := f.SenderID == "" && since == 0 && until == 0 && len(kinds) == 0
	light := sq.exact && plain
	var scan *searchScan
	rare := false
	if light {
		if ranges, scan, rare, err = t.rarePart(sq, ranges); err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
	}
	if !rare && len(ranges) > searchProbeRanges {
		if ranges, scan, err = t.pruneRanges(sq, ranges, plain); err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		if scan != nil {
			light = true // the scan's matches are the query's
		}
	}
	// Recent searches take the page after the cursor; relevance searches
	// their window (chosen before the cursor, so that every page ranks the
	// same messages), ranked in Go (rankWindow).
	keep := &newest{k: limit}
	var before int64
	if f.Order == parley.SearchRecent {
		if f.After != nil {
			before = f.After.Pos
		}
	} else {
		keep.k = -1
		if f.Window > 0 {
			keep.k = f.Window
		}
	}
	// The newest position a range may hold, given the filters.
	bound := func(r searchRange) int64 {
		p := r.lastPos
		if f.MaxPos > 0 {
			p = min(p, f.MaxPos)
		}
		if before > 0 {
			p = min(p, before-1)
		}
		return p
	}
	k := t.db.seal.Get()
	walk := func(light bool) error {
		if light && scan != nil {
			return t.searchScanned(scan, ranges, keep, bound, f.MaxPos, before)
		}
		// What visits that found nothing cost, for the probe (noteVisits);
		// the slow walk after a failed load is not a measure of them.
		var empty int
		var emptyTook time.Duration
		if light {
			defer func() { t.db.noteVisits(len(sq.terms), empty, emptyTook) }()
		}
		for _, r := range ranges {
			// Ranges come newest conversation first: once the ones kept are
			// all newer than anything this one holds, no later one can do
			// better either.
			if keep.full() && bound(r) <= keep.oldest() {
				break
			}
			var err error
			if light {
				t0 := time.Now()
				var n int
				if n, err = t.searchRangePos(sq, r, keep, f.MaxPos, before); n == 0 {
					empty++
					emptyTook += time.Since(t0)
				}
			} else {
				err = t.searchRange(sq, r, keep, k, f.SenderID, since, until, string(kindList), f.MaxPos, before)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	full := sq.match
	if light && scan == nil {
		if _, err := t.splitLast(&sq, ranges, keep, bound, f.MaxPos, before); err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
	}
	if err := walk(light); err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	if light {
		ok, err := t.searchLoad(keep, k)
		if err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		if !ok {
			// A message the index holds was deleted (the index's triggers
			// make this no more than a safeguard): the slow walk, which
			// checks every row.
			keep.msgs = keep.msgs[:0]
			sq.match = full // the words splitLast took out too
			if err := walk(false); err != nil {
				return nil, fmt.Errorf("search: %w", err)
			}
		}
	}
	msgs := []*parley.Message(keep.msgs)
	slices.SortFunc(msgs, func(a, b *parley.Message) int { return cmp.Compare(b.Pos, a.Pos) })
	if f.Order == parley.SearchRecent {
		for _, m := range msgs {
			out = append(out, parley.SearchHit{Message: m})
		}
		return out, nil
	}
	if f.WindowFull != nil && f.After == nil {
		*f.WindowFull = keep.k > 0 && keep.full()
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

// searchScanLoad reads the positions of the messages of a JSON array of
// [conversation id, seq] pairs, with the position bounds of searchInRangePos.
const searchScanLoad = `SELECT m.pos FROM json_each(?1) j
	JOIN messages m ON m.conversation_id = j.value ->> 0 AND m.seq = j.value ->> 1
	WHERE (?2 = 0 OR m.pos <= ?2) AND (?3 = 0 OR m.pos < ?3)`

// searchScanBatch is how many matches searchScanned looks up at once.
const searchScanBatch = 256

// searchScanned is the walk of searchRangePos over the matches a scan
// found (scanRanges): it offers keep the positions of the ranges'
// matches, ranges newest conversation first, looked up by batches from
// the (conversation_id, seq) index, and stops as the walk does.
func (t *tx) searchScanned(sc *searchScan, ranges []searchRange, keep *newest, bound func(searchRange) int64, maxPos, before int64) error {
	var list strings.Builder
	n := 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		list.WriteByte(']')
		rows, err := t.query(searchScanLoad, list.String(), maxPos, before)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var pos int64
			if err := rows.Scan(&pos); err != nil {
				return err
			}
			keep.add(&parley.Message{Pos: pos})
		}
		list.Reset()
		n = 0
		return rows.Err()
	}
	for _, r := range ranges {
		// Matches checked one by one (sc.check) are looked up as soon as
		// they could fill keep, so that the stop below comes as early as
		// a walk's would, not after a batch's checks.
		batch := searchScanBatch
		if sc.check != nil && keep.k >= 0 {
			batch = min(batch, max(keep.k-len(keep.msgs), 1))
		}
		if n >= batch {
			if err := flush(); err != nil {
				return err
			}
		}
		if keep.full() && bound(r) <= keep.oldest() {
			break
		}
		conv, err := json.Marshal(r.conv)
		if err != nil {
			return err
		}
		for _, seq := range sc.seqs[r.num] {
			if seq < r.lo || seq > r.hi {
				continue
			}
			if sc.check != nil {
				if ok, err := sc.check(r.num, seq); err != nil {
					return err
				} else if !ok {
					continue
				}
			}
			if n == 0 {
				list.WriteByte('[')
			} else {
				list.WriteByte(',')
			}
			list.WriteByte('[')
			list.Write(conv)
			list.WriteByte(',')
			list.WriteString(strconv.FormatInt(seq, 10))
			list.WriteByte(']')
			n++
		}
	}
	return flush()
}

// searchRange offers keep the matches of one range, newest first, until
// keep holds only newer ones. A conversation's positions grow with its
// sequence numbers (both are given in commit order), so the index's
// ascending order within a range is newest first.
func (t *tx) searchRange(sq searchQuery, r searchRange, keep *newest, k *sealed.Keyring, sender string,
	since, until int64, kinds string, maxPos, before int64) error {
	rows, err := t.query(searchInRange, sq.match, r.conv, r.num<<32|(maxSearchSeq-min(r.hi, maxSearchSeq)), r.num<<32|(maxSearchSeq-r.lo),
		sender, since, until, kinds, maxPos, before)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return err
		}
		if keep.full() && m.Pos <= keep.oldest() {
			break
		}
		if err := storeseal.OpenMessage(k, m); err != nil {
			return err
		}
		if !sq.exact && !sq.holds(m.Text) {
			continue
		}
		keep.add(m)
	}
	return rows.Err()
}

// searchRangePos is searchRange by positions (searchInRangePos): it
// offers keep messages holding only their position, which searchLoad
// replaces with the messages.
// It returns how many matches it read.
func (t *tx) searchRangePos(sq searchQuery, r searchRange, keep *newest, maxPos, before int64) (int, error) {
	rows, err := t.query(searchInRangePos, sq.match, r.conv, r.num<<32|(maxSearchSeq-min(r.hi, maxSearchSeq)), r.num<<32|(maxSearchSeq-r.lo),
		maxPos, before)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var pos int64
		if err := rows.Scan(&pos); err != nil {
			return n, err
		}
		n++
		if keep.full() && pos <= keep.oldest() {
			break
		}
		keep.add(&parley.Message{Pos: pos})
	}
	return n, rows.Err()
}

// searchLoad replaces the positions keep holds with their messages. It
// reports false, and leaves keep as it was, when one is missing (deleted).
func (t *tx) searchLoad(keep *newest, k *sealed.Keyring) (bool, error) {
	if len(keep.msgs) == 0 {
		return true, nil
	}
	var list strings.Builder
	list.WriteByte('[')
	for i, m := range keep.msgs {
		if i > 0 {
			list.WriteByte(',')
		}
		list.WriteString(strconv.FormatInt(m.Pos, 10))
	}
	list.WriteByte(']')
	rows, err := t.query(searchLoad, list.String())
	if err != nil {
		return false, err
	}
	defer rows.Close()
	byPos := make(map[int64]*parley.Message, len(keep.msgs))
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return false, err
		}
		if err := storeseal.OpenMessage(k, m); err != nil {
			return false, err
		}
		byPos[m.Pos] = m
	}
	if err := rows.Err(); err != nil {
		return false, err
	}
	if len(byPos) != len(keep.msgs) {
		return false, nil
	}
	for i, m := range keep.msgs {
		keep.msgs[i] = byPos[m.Pos] // same positions: the heap stays ordered
	}
	return true, nil
}
