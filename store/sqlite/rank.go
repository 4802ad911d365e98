package sqlite

import (
	"strings"
	"unicode"

	"github.com/parleyhq/parley"
	"golang.org/x/text/unicode/norm"
)

// BM25's constants, as FTS5's bm25() uses them.
const (
	bm25K1 = 1.2
	bm25B  = 0.75
)

// rankWindow scores the messages of a relevance window with BM25's term
// frequency and length parts, computed here from their text rather than
// by FTS5's bm25(), which first counts every message in the index holding
// each word — a pass over the whole server for a common word. IDF is left
// out: every message of the window holds every word of the query, so it
// would only weigh the words against each other. The words found next to
// each other in the order typed count once more, as a phrase, like the
// phrase FTS5 itself cannot see (the index keeps no positions).
func rankWindow(msgs []*parley.Message, query string) []float64 {
	terms := parley.SearchTerms(query)
	prefix := len(terms) > 0 && len([]rune(terms[len(terms)-1])) >= parley.SearchPrefixRunes
	for i, t := range terms {
		terms[i] = foldWord(t)
	}
	docs := make([][]string, len(msgs))
	total := 0
	for i, m := range msgs {
		for _, w := range strings.FieldsFunc(m.Text, func(r rune) bool { return !parley.IsWordRune(r) }) {
			docs[i] = append(docs[i], foldWord(w))
		}
		total += len(docs[i])
	}
	avg := 1.0
	if len(msgs) > 0 && total > 0 {
		avg = float64(total) / float64(len(msgs))
	}
	is := func(word string, j int) bool {
		if j == len(terms)-1 && prefix {
			return strings.HasPrefix(word, terms[j])
		}
		return word == terms[j]
	}
	scores := make([]float64, len(msgs))
	for i, words := range docs {
		norm := bm25K1 * (1 - bm25B + bm25B*float64(len(words))/avg)
		part := func(tf int) float64 { return float64(tf) * (bm25K1 + 1) / (float64(tf) + norm) }
		var score float64
		for j := range terms {
			tf := 0
			for _, w := range words {
				if is(w, j) {
					tf++
				}
			}
			score += part(tf)
		}
		if len(terms) > 1 {
			phrases := 0
			for k := 0; k+len(terms) <= len(words); k++ {
				all := true
				for j := range terms {
					if !is(words[k+j], j) {
						all = false
						break
					}
				}
				if all {
					phrases++
				}
			}
			score += part(phrases)
		}
		scores[i] = score
	}
	return scores
}

// foldWord lowers a word and strips its accents, as the unicode61
// tokenizer with remove_diacritics does.
func foldWord(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Mn, r) {
			return -1
		}
		return unicode.ToLower(r)
	}, norm.NFD.String(s))
}
