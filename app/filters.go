package app

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parleyhq/parley"
	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
)

// Content filters: words and phrases, regular expressions and link
// domains. An account's filters hide matching requests from it (they go
// to "filtered"); the server's filters refuse a matching send with
// blocked_content, or let it through and file a report for moderators.
//
// Time bound: Go's regexp runs in time linear in the text (RE2, no
// backtracking), so a pattern's cost is bounded by bounding its size
// (maxFilterRegex bytes, maxRegexInsts compiled instructions), the number of
// filters and the text matched (MaxTextLen, at most maxFilterText bytes).

const (
	maxFilterPattern   = 200  // bytes of a word, phrase or domain
	maxFilterRegex     = 200  // bytes of a regular expression
	maxRegexInsts      = 1000 // compiled instructions of one regular expression
	maxAccountFilters  = 100
	maxServerFilters   = 500
	maxFilterText      = 64 << 10
	serverFiltersCache = 10 * time.Second
)

// FoldText lowers s, strips diacritics (é → e) and turns every run of
// characters that are not letters or digits into one space, with a space
// at each end, so that " phrase " finds a phrase on word boundaries.
func FoldText(s string) string {
	if len(s) > maxFilterText {
		s = s[:maxFilterText]
	}
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte(' ')
	space := true
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if !ascii {
		s = norm.NFD.String(s)
	}
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= '0' && r <= '9'):
			b.WriteRune(r)
			space = false
		case r >= 'A' && r <= 'Z':
			b.WriteRune(r + 'a' - 'A')
			space = false
		case r >= utf8.RuneSelf && unicode.Is(unicode.Mn, r):
			// a combining mark: dropped, its letter stays
		case r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(unicode.ToLower(r))
			space = false
		default:
			if !space {
				b.WriteByte(' ')
				space = true
			}
		}
	}
	if !space {
		b.WriteByte(' ')
	}
	return b.String()
}

// linkTLDs are the top-level domains a bare domain (no scheme, no www.)
// must end in to count as a link, so that "file.txt" or "e.g." do not.
var linkTLDs = map[string]bool{}

func init() {
	for _, t := range strings.Fields(`com net org io co info biz xyz top me ly gl app dev link click site online shop store live
		ru cn uk de fr es it nl tk ml ga cf gq us ca au in br pl be ch at se no dk fi pt cz gr ro hu tv cc ws to gg sh ai so
		one club vip win bet money loan work eu jp kr su ua ir tr vn id za mx ar cl nz page blog news email tech`) {
		linkTLDs[t] = true
	}
}

// LinkHosts returns the host names of the links in text, lower-case, in
// ASCII (IDNA), without a trailing dot or port, in order, each once. A
// link is a word with a scheme (https://…), one starting with www., or a
// bare domain whose top-level domain is a common one. It scans the text
// once, without regular expressions: it runs on every message.
func LinkHosts(text string) []string {
	if !strings.ContainsRune(text, '.') {
		return nil
	}
	var out []string
	for i := 0; i < len(text) && len(out) < 50; {
		// One word: up to the next space.
		j := i
		for j < len(text) && !isLinkSpace(text[j]) {
			j++
		}
		if w := text[i:j]; strings.IndexByte(w, '.') >= 0 {
			if h, ok := wordHost(w); ok && !slices.Contains(out, h) {
				out = append(out, h)
			}
		}
		for j < len(text) && isLinkSpace(text[j]) {
			j++
		}
		i = j
	}
	return out
}

func isLinkSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '<' || c == '>' || c == '"' || c == '\''
}

// wordHost returns the host of a word that is a link.
func wordHost(w string) (string, bool) {
	if k := strings.Index(w, "://"); k >= 0 {
		start := k
		for start > 0 && isSchemeChar(w[start-1]) {
			start--
		}
		scheme := strings.ToLower(w[start:k])
		if scheme != "http" && scheme != "https" {
			return "", false
		}
		u, err := url.Parse(strings.TrimRight(w[start:], ".,;:!?)]}"))
		if err != nil {
			return "", false
		}
		return normalizeHost(u.Hostname())
	}
	w = strings.TrimLeft(w, "([{*_~")
	host := w
	if k := strings.IndexAny(host, "/?#"); k >= 0 {
		host = host[:k]
	}
	host = strings.TrimRight(host, ".,;:!?)]}*_~")
	if k := strings.LastIndexByte(host, ':'); k >= 0 { // a port
		host = host[:k]
	}
	lower := strings.ToLower(host)
	if !strings.HasPrefix(lower, "www.") {
		dot := strings.LastIndexByte(lower, '.')
		if dot <= 0 || !linkTLDs[lower[dot+1:]] {
			return "", false
		}
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if c < 0x80 && !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return "", false
		}
	}
	return normalizeHost(host)
}

func isSchemeChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// normalizeHost lowers a host name, drops a trailing dot and converts it
// to ASCII; ok is false for what is not a host name with a dot.
func normalizeHost(h string) (string, bool) {
	h = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
	if h == "" || !strings.Contains(h, ".") || strings.Contains(h, "..") || strings.HasPrefix(h, ".") {
		return "", false
	}
	a, err := idna.Lookup.ToASCII(h)
	if err != nil {
		return "", false
	}
	return a, true
}

// hostMatches reports whether host is domain or one of its subdomains:
// "a.example.com" matches "example.com"; "badexample.com" and
// "example.com.evil.net" do not.
func hostMatches(host, domain string) bool {
	return host == domain || strings.HasSuffix(host, "."+domain)
}

// compiledFilter is a filter ready to match.
type compiledFilter struct {
	f      *parley.Filter
	phrase string         // FilterWord: the folded phrase with spaces at each end
	single bool           // the phrase is one word
	re     *regexp.Regexp // FilterRegex
	// lits are lower-case ASCII literals one of which every match of re
	// contains (nil if none is known): a text without any is not run
	// through re.
	lits   []string
	domain string // the domain kinds
}

// key says when two filters are the same: the same kind and pattern,
// once folded.
func (c *compiledFilter) key() string {
	return c.f.Kind + "\x00" + c.phrase + "\x00" + c.domain + "\x00" + map[bool]string{true: c.f.Pattern}[c.re != nil]
}

// FilterInput is a new filter.
type FilterInput struct {
	Kind    string `json:"kind"`
	Pattern string `json:"pattern"`
	// Action is refuse or flag for server filters; account filters hide.
	Action string `json:"action,omitempty"`
}

// compileFilter checks and compiles a filter; server filters may refuse,
// flag or allow domains, account filters only hide.
func compileFilter(f *parley.Filter, server bool) (*compiledFilter, error) {
	if f.Pattern == "" || len(f.Pattern) > maxFilterPattern {
		return nil, parley.Invalid("pattern", "pattern has 1 to %d bytes", maxFilterPattern)
	}
	c := &compiledFilter{f: f}
	switch f.Kind {
	case parley.FilterWord:
		c.phrase = FoldText(f.Pattern)
		if strings.TrimSpace(c.phrase) == "" {
			return nil, parley.Invalid("pattern", "a word filter needs letters or digits")
		}
		c.single = strings.Count(c.phrase, " ") == 2
	case parley.FilterRegex:
		if len(f.Pattern) > maxFilterRegex {
			return nil, parley.Invalid("pattern", "a regular expression has at most %d bytes", maxFilterRegex)
		}
		re, err := syntax.Parse(f.Pattern, syntax.Perl)
		if err != nil {
			return nil, parley.Invalid("pattern", "the regular expression does not compile: %s", regexError(err))
		}
		prog, err := syntax.Compile(re.Simplify())
		if err != nil {
			return nil, parley.Invalid("pattern", "the regular expression does not compile: %s", regexError(err))
		}
		if len(prog.Inst) > maxRegexInsts {
			return nil, parley.Invalid("pattern", "the regular expression is too complex (%d instructions, at most %d)", len(prog.Inst), maxRegexInsts)
		}
		if c.re, err = regexp.Compile("(?i)" + f.Pattern); err != nil {
			return nil, parley.Invalid("pattern", "the regular expression does not compile: %s", regexError(err))
		}
		c.lits = requiredLiterals(re)
	case parley.FilterDomainDeny, parley.FilterDomainAllow:
		if f.Kind == parley.FilterDomainAllow && !server {
			return nil, parley.Invalid("kind", "allowed domains are a server filter")
		}
		p := strings.TrimPrefix(strings.TrimSpace(f.Pattern), "*.")
		if i := strings.Index(p, "://"); i >= 0 {
			p = p[i+3:]
		}
		p, _, _ = strings.Cut(p, "/")
		d, ok := normalizeHost(p)
		if !ok {
			return nil, parley.Invalid("pattern", "%q is not a domain name", f.Pattern)
		}
		c.domain = d
	default:
		return nil, parley.Invalid("kind", "kind is word, regex, domain_deny or domain_allow")
	}
	switch {
	case !server && f.Action != parley.FilterHide:
		return nil, parley.Invalid("action", "an account's filters hide requests")
	case server && f.Action != parley.FilterRefuse && f.Action != parley.FilterFlag:
		return nil, parley.Invalid("action", "action is refuse or flag")
	}
	return c, nil
}

// requiredLiterals returns ASCII literals (lower-cased, at least 3 bytes)
// one of which every match of re contains, or nil when none is known:
// literals reached from the top through concatenations, groups, repeats
// of at least one, and alternations whose every branch has one.
func requiredLiterals(re *syntax.Regexp) []string {
	shortest := func(ls []string) int {
		n := 1 << 30
		for _, l := range ls {
			n = min(n, len(l))
		}
		return n
	}
	switch re.Op {
	case syntax.OpLiteral:
		lit := strings.ToLower(string(re.Rune))
		for i := 0; i < len(lit); i++ {
			if lit[i] >= utf8.RuneSelf {
				return nil
			}
		}
		if len(lit) < 3 {
			return nil
		}
		return []string{lit}
	case syntax.OpConcat:
		var best []string
		for _, sub := range re.Sub {
			if ls := requiredLiterals(sub); ls != nil && (best == nil || shortest(ls) > shortest(best)) {
				best = ls
			}
		}
		return best
	case syntax.OpCapture, syntax.OpPlus:
		return requiredLiterals(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return requiredLiterals(re.Sub[0])
		}
	case syntax.OpAlternate:
		var all []string
		for _, sub := range re.Sub {
			ls := requiredLiterals(sub)
			if ls == nil {
				return nil
			}
			all = append(all, ls...)
		}
		return all
	}
	return nil
}

func regexError(err error) string {
	var e *syntax.Error
	if errors.As(err, &e) {
		return fmt.Sprintf("%s in %q", e.Code, e.Expr)
	}
	return err.Error()
}

// wordSet returns the words of a folded text.
func wordSet(folded string) map[string]bool {
	m := make(map[string]bool, strings.Count(folded, " "))
	for w := range strings.FieldsSeq(folded) {
		m[w] = true
	}
	return m
}

// FilterSet is a compiled list of filters.
type FilterSet struct {
	filters []*compiledFilter
	allow   []string // allowed domains (server): others match
	// anyRE is every regex filter without a required literal in one
	// alternation: one pass over a text finds whether any matches.
	anyRE *regexp.Regexp
}

// newFilterSet compiles stored filters; one that no longer compiles is
// skipped (it was checked when created).
func newFilterSet(fs []*parley.Filter, server bool) *FilterSet {
	s := &FilterSet{}
	var res []string
	for _, f := range fs {
		c, err := compileFilter(f, server)
		if err != nil {
			continue
		}
		if f.Kind == parley.FilterDomainAllow {
			s.allow = append(s.allow, c.domain)
			continue
		}
		s.filters = append(s.filters, c)
		if c.re != nil && c.lits == nil {
			res = append(res, "(?:"+f.Pattern+")")
		}
	}
	if len(res) > 0 {
		s.anyRE, _ = regexp.Compile("(?i)" + strings.Join(res, "|")) // each part compiled alone
	}
	return s
}

// FilterMatch is why a text matched a filter.
type FilterMatch struct {
	FilterID string `json:"filter_id,omitempty"`
	Kind     string `json:"kind"`
	Pattern  string `json:"pattern"`
	Action   string `json:"action"`
}

// Match returns the matches of text, refusing ones first; folded and
// hosts may be passed in when already computed ("" and nil compute them).
func (s *FilterSet) Match(text, folded string, hosts []string) []FilterMatch {
	if s == nil || (len(s.filters) == 0 && len(s.allow) == 0) {
		return nil
	}
	if len(text) > maxFilterText {
		text = text[:maxFilterText]
	}
	if folded == "" {
		folded = FoldText(text)
	}
	if hosts == nil {
		hosts = LinkHosts(text)
	}
	var out []FilterMatch
	regexes := s.anyRE != nil && s.anyRE.MatchString(text)
	lower := ""
	var words map[string]bool
	add := func(c *compiledFilter) {
		out = append(out, FilterMatch{FilterID: c.f.ID, Kind: c.f.Kind, Pattern: c.f.Pattern, Action: c.f.Action})
	}
	for _, c := range s.filters {
		switch c.f.Kind {
		case parley.FilterWord:
			if c.single {
				if words == nil {
					words = wordSet(folded)
				}
				if words[c.phrase[1:len(c.phrase)-1]] {
					add(c)
				}
			} else if strings.Contains(folded, c.phrase) {
				add(c)
			}
		case parley.FilterRegex:
			if c.lits != nil {
				if lower == "" {
					lower = strings.ToLower(text)
				}
				found := false
				for _, l := range c.lits {
					if strings.Contains(lower, l) {
						found = true
						break
					}
				}
				if !found {
					continue
				}
			} else if !regexes {
				continue
			}
			if c.re.MatchString(text) {
				add(c)
			}
		case parley.FilterDomainDeny:
			for _, h := range hosts {
				if hostMatches(h, c.domain) {
					add(c)
					break
				}
			}
		}
	}
	if len(s.allow) > 0 {
		for _, h := range hosts {
			allowed := false
			for _, d := range s.allow {
				if hostMatches(h, d) {
					allowed = true
					break
				}
			}
			if !allowed {
				out = append(out, FilterMatch{Kind: parley.FilterDomainAllow, Pattern: h, Action: parley.FilterRefuse})
				break
			}
		}
	}
	// Refusals first.
	for i := range out {
		if out[i].Action == parley.FilterRefuse && i > 0 {
			out[0], out[i] = out[i], out[0]
			break
		}
	}
	return out
}

// serverFilters caches the server's compiled filters; other nodes see a
// change within serverFiltersCache.
type serverFilters struct {
	mu     sync.Mutex
	set    *FilterSet
	loaded time.Time
}

func (a *App) serverFilterSet(ctx context.Context) (*FilterSet, error) {
	a.sfilters.mu.Lock()
	defer a.sfilters.mu.Unlock()
	now := a.now()
	if a.sfilters.set != nil && now.Sub(a.sfilters.loaded) < serverFiltersCache && !now.Before(a.sfilters.loaded) {
		return a.sfilters.set, nil
	}
	var fs []*parley.Filter
	err := a.view(ctx, func(tx parley.Tx) error {
		var err error
		fs, err = tx.Filters("")
		return err
	})
	if err != nil {
		return nil, err
	}
	a.sfilters.set, a.sfilters.loaded = newFilterSet(fs, true), now
	return a.sfilters.set, nil
}

func (a *App) dropServerFilters() {
	a.sfilters.mu.Lock()
	a.sfilters.set = nil
	a.sfilters.mu.Unlock()
}

// checkServerFilters applies the server's filters to text: a refusing
// match returns blocked_content; flagging ones are returned for a report,
// with the filter set.
func (a *App) checkServerFilters(ctx context.Context, text string) (*FilterSet, []FilterMatch, error) {
	set, err := a.serverFilterSet(ctx)
	if err != nil || text == "" {
		return set, nil, err
	}
	ms := set.Match(text, "", nil)
	if len(ms) > 0 && ms[0].Action == parley.FilterRefuse {
		what := "a blocked word"
		switch ms[0].Kind {
		case parley.FilterDomainDeny, parley.FilterDomainAllow:
			what = "a link this server does not allow"
		case parley.FilterRegex:
			what = "blocked content"
		}
		return nil, nil, &parley.Error{Code: parley.EBlockedContent, Field: "text", Message: "this message contains " + what + "; it was not sent"}
	}
	return set, ms, nil
}

// FilterView is a filter as the API shows it.
type FilterView struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Pattern   string    `json:"pattern"`
	Action    string    `json:"action"`
	CreatedAt time.Time `json:"created_at"`
}

func filterView(f *parley.Filter) *FilterView {
	return &FilterView{ID: f.ID, Kind: f.Kind, Pattern: f.Pattern, Action: f.Action, CreatedAt: f.CreatedAt}
}

// Filters lists the actor's own filters (server false) or, for server
// administrators, the server's.
func (a *App) Filters(ctx context.Context, actor *Actor, server bool) ([]*FilterView, error) {
	owner, err := a.filterOwner(actor, server)
	if err != nil {
		return nil, err
	}
	out := []*FilterView{}
	err = a.view(ctx, func(tx parley.Tx) error {
		fs, err := tx.Filters(owner)
		for _, f := range fs {
			out = append(out, filterView(f))
		}
		return err
	})
	return out, err
}

func (a *App) filterOwner(actor *Actor, server bool) (string, error) {
	if !server {
		return actor.User.ID, nil
	}
	if !a.IsAdmin(actor) {
		return "", parley.Errorf(parley.EForbidden, "only the server's administrators manage its filters")
	}
	return "", nil
}

// AddFilter adds a filter to the actor's own (server false) or, for
// server administrators, to the server's. A regular expression that does
// not compile, or is too large, is refused with invalid.
func (a *App) AddFilter(ctx context.Context, actor *Actor, server bool, in FilterInput) (*FilterView, error) {
	owner, err := a.filterOwner(actor, server)
	if err != nil {
		return nil, err
	}
	if !server && in.Action == "" {
		in.Action = parley.FilterHide
	}
	f := &parley.Filter{ID: newID(), OwnerID: owner, Kind: in.Kind, Pattern: strings.TrimSpace(in.Pattern), Action: in.Action, CreatedBy: actor.User.ID}
	nc, err := compileFilter(f, server)
	if err != nil {
		return nil, err
	}
	err = a.update(ctx, func(w *writer) error {
		fs, err := w.Filters(owner)
		if err != nil {
			return err
		}
		for _, old := range fs {
			if oc, err := compileFilter(old, server); err == nil && oc.key() == nc.key() {
				return parley.Errorf(parley.EConflict, "this filter exists")
			}
		}
		if limit := map[bool]int{false: maxAccountFilters, true: maxServerFilters}[server]; len(fs) >= limit {
			return parley.Errorf(parley.ETooLarge, "at most %d filters", limit)
		}
		f.CreatedAt = w.now
		if err := w.CreateFilter(f); err != nil {
			return err
		}
		if server {
			return a.auditModeration(w, actor, AuditFilterCreate, auditTargetFilter, f.ID, map[string]string{"kind": f.Kind, "pattern": f.Pattern, "action": f.Action})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if server {
		a.dropServerFilters()
	}
	return filterView(f), nil
}

// DeleteFilter deletes one of the actor's filters (or the server's).
func (a *App) DeleteFilter(ctx context.Context, actor *Actor, server bool, id string) error {
	owner, err := a.filterOwner(actor, server)
	if err != nil {
		return err
	}
	err = a.update(ctx, func(w *writer) error {
		if err := w.DeleteFilter(owner, id); err != nil {
			return err
		}
		if server {
			return a.auditModeration(w, actor, AuditFilterDelete, auditTargetFilter, id, nil)
		}
		return nil
	})
	if err == nil && server {
		a.dropServerFilters()
	}
	return err
}
