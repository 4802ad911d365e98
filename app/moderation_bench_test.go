package app

import (
	"fmt"
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

// benchServerFilters is a server filter list of a realistic size: 40 words
// and phrases, 5 regular expressions, 20 denied domains and 5 allowed.
func benchServerFilters() *FilterSet {
	var fs []*parley.Filter
	add := func(kind, pattern, action string) {
		fs = append(fs, &parley.Filter{ID: fmt.Sprint(len(fs)), Kind: kind, Pattern: pattern, Action: action})
	}
	for i := range 40 {
		add(parley.FilterWord, fmt.Sprintf("blockedword%d", i), parley.FilterRefuse)
	}
	for _, re := range []string{`fr[e3]{2}\s*m[o0]ney`, `b[i1]tc[o0]in\s+doubl`, `\bwhats?app\s*\+?\d{6,}`, `(?:viagra|cialis)`, `click\s+here\s+now`} {
		add(parley.FilterRegex, re, parley.FilterFlag)
	}
	for i := range 20 {
		add(parley.FilterDomainDeny, fmt.Sprintf("spam%d.example", i), parley.FilterRefuse)
	}
	for i := range 5 {
		add(parley.FilterDomainAllow, fmt.Sprintf("ok%d.example", i), parley.FilterRefuse)
	}
	return newFilterSet(fs, true)
}

// BenchmarkMessageChecks is the per-message CPU cost of the guard, the
// server's filters and the scoring of a request's text (tokens, the Bayes
// sum over counts already loaded, the signals and the fingerprint), each
// alone and all together. Every send pays guard + filters; only messages
// into a request pay scoring (and its store reads, which this leaves out).
func BenchmarkMessageChecks(b *testing.B) {
	texts := []struct {
		name, text string
		found      int // what the guard finds
	}{
		{"plain", "Hello, I ordered a blue jacket last week (order 123456) and it has not arrived yet; can you check? My phone is +49 30 1234567.", 1},
		{"link", "Hi! The slides from yesterday's meetup are at https://ok1.example/slides/2026 — the part about Prométhée is on page 12.", 0},
		{"chat", "Sounds good, see you at the station around 7 then. I'll bring the tickets and some snacks for the ride!", 0},
	}
	set := benchServerFilters()
	counts := map[string]parley.TokenCounts{}
	for _, t := range texts {
		for _, w := range SpamTokens(t.text) {
			counts[w] = parley.TokenCounts{Spam: int64(len(w) % 7), Ham: int64(len(w) % 5)}
		}
	}
	guard := func(b *testing.B, text string, want int) {
		if got := FindSensitive(text); len(got) != want {
			b.Fatalf("guard: found %v", got)
		}
	}
	filters := func(b *testing.B, text string) (string, []string) {
		folded, hosts := FoldText(text), LinkHosts(text)
		if ms := set.Match(text, folded, hosts); len(ms) != 0 {
			b.Fatalf("filters: %+v", ms)
		}
		return folded, hosts
	}
	scoring := func(b *testing.B, folded string, hosts []string) {
		tokens := spamTokens(folded, hosts)
		lo := TextLogOdds(tokens, counts, 50, 50)
		t := ScoreSignals(SpamSignals{AccountAge: 48 * time.Hour, Links: len(hosts), TextLogOdds: lo, TextTrained: true}, 0.8)
		if t.Score <= 0 || fingerprintFolded(folded) == "" {
			b.Fatal("scoring")
		}
	}
	for _, tc := range texts {
		text, want := tc.text, tc.found
		b.Run(tc.name+"/guard", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				guard(b, text, want)
			}
		})
		// The guard of a sender who did not turn warn_phone on (the
		// default): phone numbers are not parsed at all.
		b.Run(tc.name+"/guard-nophone", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if got := findSensitive(text, false); len(got) != 0 {
					b.Fatalf("guard without phones: found %v", got)
				}
			}
		})
		b.Run(tc.name+"/filters", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				filters(b, text)
			}
		})
		folded, hosts := FoldText(text), LinkHosts(text)
		b.Run(tc.name+"/scoring", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				scoring(b, folded, hosts)
			}
		})
		b.Run(tc.name+"/all", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				guard(b, text, want)
				folded, hosts := filters(b, text)
				scoring(b, folded, hosts)
			}
		})
	}
}
