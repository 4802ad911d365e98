package app

import (
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parleyhq/parley"
)

// Fuzz targets for the validators and decoders of package app (issue 13,
// item 7). Each checks a property of what it accepts, not only that it
// does not panic; the seeds below run as ordinary tests.

// FuzzNormalizeHandle: an accepted handle is 3–30 bytes of a–z, 0–9, "_"
// and ".", starts with a letter or digit, has no ".." and no trailing dot,
// and normalising it again changes nothing; lookupHandle agrees.
func FuzzNormalizeHandle(f *testing.F) {
	for _, s := range []string{"alice", "@Alice_Q7", " bob.smith ", "a..b", "ab.", "_ab", "ab", strings.Repeat("x", 31),
		"admin", "ＡＢＣ", "a\u200bb", "a\u202eb", "İstanbul", "ſoo", "\xff\xfe", "k\u212a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		h, err := normalizeHandle(in)
		l, lerr := lookupHandle(in)
		if (err == nil) != (lerr == nil) || l != h {
			t.Fatalf("normalizeHandle(%q) = %q, %v but lookupHandle = %q, %v", in, h, err, l, lerr)
		}
		if err != nil {
			if parley.ErrorCode(err) != parley.EInvalid || parley.ErrorCode(lerr) != parley.ENotFound {
				t.Fatalf("%q: codes %q / %q", in, parley.ErrorCode(err), parley.ErrorCode(lerr))
			}
			return
		}
		if len(h) < 3 || len(h) > 30 {
			t.Fatalf("%q → %q: %d bytes", in, h, len(h))
		}
		for i := 0; i < len(h); i++ {
			c := h[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || (c == '_' || c == '.') && i > 0) {
				t.Fatalf("%q → %q: byte %q at %d", in, h, c, i)
			}
		}
		if strings.Contains(h, "..") || strings.HasSuffix(h, ".") {
			t.Fatalf("%q → %q", in, h)
		}
		if again, err := normalizeHandle(h); err != nil || again != h {
			t.Fatalf("not idempotent: %q → %q → %q, %v", in, h, again, err)
		}
		// A handle is used in paths unescaped.
		if url.PathEscape(h) != h {
			t.Fatalf("%q needs escaping in a path", h)
		}
	})
}

// FuzzCheckEmoji: an accepted reaction is valid UTF-8, 1–16 runes and at
// most 64 bytes, has no letter, space or control character, uses ASCII
// only for keycaps, does not start with a combining mark, and survives a round trip through a URL path segment
// (it is sent as /reactions/{emoji}).
func FuzzCheckEmoji(f *testing.F) {
	for _, s := range []string{"👍", "❤️", "🎉", "👨‍👩‍👧‍👦", "🇫🇷", "#️⃣", "1️⃣", "1", "a", "👍a", " 👍", "👍\u0000",
		"\u202e", "\u200b", "🏳️‍🌈", strings.Repeat("👍", 17), "\xf0\x9f", "*", "<", "😀😀"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, e string) {
		if checkEmoji(e) != nil {
			return
		}
		if !utf8.ValidString(e) || e == "" || utf8.RuneCountInString(e) > 16 || len(e) > 64 {
			t.Fatalf("accepted %q", e)
		}
		ascii := false
		for _, r := range e {
			if unicode.IsLetter(r) || unicode.IsSpace(r) || unicode.IsControl(r) {
				t.Fatalf("accepted %q with %U", e, r)
			}
			if r < 0x80 {
				ascii = true
				if !strings.ContainsRune("#*0123456789", r) {
					t.Fatalf("accepted %q with ASCII %q", e, r)
				}
			}
		}
		if ascii && !strings.ContainsRune(e, 0x20E3) {
			t.Fatalf("accepted %q: ASCII outside a keycap", e)
		}
		if r, _ := utf8.DecodeRuneInString(e); unicode.Is(unicode.M, r) {
			t.Fatalf("accepted %q starting with a combining mark", e)
		}
		if back, err := url.PathUnescape(url.PathEscape(e)); err != nil || back != e {
			t.Fatalf("%q does not survive a path: %q, %v", e, back, err)
		}
	})
}

// FuzzCleanText: accepted text is valid UTF-8, within the limit, without
// control characters (but newlines and tabs in multi-line fields), and
// cleaning it again changes nothing. Refusals are invalid or too_large,
// never anything else.
func FuzzCleanText(f *testing.F) {
	for _, s := range []string{"hello", "  padded  ", "line\nbreak", "tab\there", "bell\a", "\xff", "\u202eevil",
		"zero\u200bwidth", "\r\n", strings.Repeat("é", 11), "\u0085", "\u2028"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, multiline bool) {
		const max = 10
		out, err := cleanText("field", s, max, multiline)
		if err != nil {
			if c := parley.ErrorCode(err); c != parley.EInvalid && c != parley.ETooLarge {
				t.Fatalf("%q: code %q", s, c)
			}
			return
		}
		if !utf8.ValidString(out) || utf8.RuneCountInString(out) > max {
			t.Fatalf("%q → %q", s, out)
		}
		for _, r := range out {
			if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\t' || r == '\r')) {
				t.Fatalf("%q → %q keeps %U", s, out, r)
			}
		}
		if !multiline && out != strings.TrimSpace(out) {
			t.Fatalf("single-line %q → %q is not trimmed", s, out)
		}
		if again, err := cleanText("field", out, max, multiline); err != nil || again != out {
			t.Fatalf("not idempotent: %q → %q → %q, %v", s, out, again, err)
		}
	})
}

// FuzzHistoryCursor: a message-list cursor names exactly one direction and
// a sequence ≥ 0, and encoding what was decoded gives the same cursor.
func FuzzHistoryCursor(f *testing.F) {
	for _, s := range []string{"a0", "b12", "a9223372036854775807", "a9223372036854775808", "a-1", "a+5", "a05", "c1", "a", "", "b 1", "ä1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		after, before, err := decodeHistoryCursor(s)
		if err != nil {
			if parley.ErrorCode(err) != parley.EInvalid || after != nil || before != nil {
				t.Fatalf("%q: %v %v %v", s, after, before, err)
			}
			return
		}
		if (after == nil) == (before == nil) {
			t.Fatalf("%q: after %v before %v: want exactly one", s, after, before)
		}
		n, isAfter := int64(0), after != nil
		if isAfter {
			n = *after
		} else {
			n = *before
		}
		if n < 0 {
			t.Fatalf("%q → %d", s, n)
		}
		if back := encodeHistoryCursor(isAfter, n); back != s {
			t.Fatalf("%q decodes to (%v, %d) which encodes to %q", s, isAfter, n, back)
		}
	})
}

// FuzzConversationCursor: a decoded conversation-list cursor has an id of
// bounded size, and re-encoding it decodes to the same position.
func FuzzConversationCursor(f *testing.F) {
	f.Add(encodeConvCursor(parley.ConversationCursor{Pinned: true, ActivityAt: time.Unix(1_800_000_000, 5), ID: "c1"}))
	f.Add(encodeConvCursor(parley.ConversationCursor{ActivityAt: time.Unix(0, -1), ID: strings.Repeat("x", 200)}))
	for _, s := range []string{"", "e30", "eyJ0IjoxLCJpIjoiIn0", "!!", "eyJ0IjoiMSIsImkiOiJ4In0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := decodeConvCursor(s)
		if err != nil {
			if parley.ErrorCode(err) != parley.EInvalid {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		if c == nil {
			if s != "" {
				t.Fatalf("%q decodes to no cursor", s)
			}
			return
		}
		if c.ID == "" || len(c.ID) > 256 {
			t.Fatalf("%q: id %q", s, c.ID)
		}
		again, err := decodeConvCursor(encodeConvCursor(*c))
		if err != nil || again.Pinned != c.Pinned || !again.ActivityAt.Equal(c.ActivityAt) || again.ID != c.ID {
			t.Fatalf("%q: %+v re-encodes to %+v, %v", s, c, again, err)
		}
	})
}

// FuzzInboxCursor: the same for the team inbox and contacts cursors.
func FuzzInboxCursor(f *testing.F) {
	f.Add(encodeInboxCursor(parley.InboxCursor{ActivityAt: time.Unix(1_800_000_000, 7), ConversationID: "c1"}))
	for _, s := range []string{"", "MTox", "OnM", "LTE6eA", "!!"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := decodeInboxCursor(s)
		if err != nil {
			if parley.ErrorCode(err) != parley.EInvalid {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		if c.ConversationID == "" || len(c.ConversationID) > 200 {
			t.Fatalf("%q: id %q", s, c.ConversationID)
		}
		again, err := decodeInboxCursor(encodeInboxCursor(*c))
		if err != nil || !again.ActivityAt.Equal(c.ActivityAt) || again.ConversationID != c.ConversationID {
			t.Fatalf("%q: %+v re-encodes to %+v, %v", s, c, again, err)
		}
	})
}

// FuzzFirstURL: the link detector returns "" or an http(s) URL that occurs
// in the text, holds no whitespace, quote, angle bracket or backtick (the
// characters that would end it in HTML or markdown), does not end in
// punctuation, and parses as an absolute URL with a host or not at all
// (then no card is fetched: outbound.CheckURL refuses it).
func FuzzFirstURL(f *testing.F) {
	for _, s := range []string{"see https://example.com/a.", "HTTP://X.Y/(z)", "<a href=\"https://e.com\">x</a>", "javascript:alert(1)",
		"http://", "https://[::1]:80/", "x https://a.b/c?d=e&f='g' y", "https://e.com/\u202e/x", "https://e.com\u200b/x", "http://a\xffb", "http://\v", "see http://a.b\vc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		u := firstURL(text)
		if u == "" {
			return
		}
		if !strings.Contains(text, u) {
			t.Fatalf("%q: %q is not in the text", text, u)
		}
		low := strings.ToLower(u)
		if !strings.HasPrefix(low, "http://") && !strings.HasPrefix(low, "https://") {
			t.Fatalf("%q: %q is not http(s)", text, u)
		}
		if strings.ContainsAny(u, " \t\n\r\f\v<>\"'`") {
			t.Fatalf("%q: %q holds a delimiter", text, u)
		}
		if strings.ContainsAny(u[len(u)-1:], ".,;:!?)]}") {
			t.Fatalf("%q: %q ends in punctuation", text, u)
		}
	})
}

// FuzzLinkCardText: what a hostile page's <title> and <meta> tags become
// on a card is at most the limit in runes, without control characters or
// runs of whitespace; parsing never panics.
func FuzzLinkCardText(f *testing.F) {
	for _, s := range []string{
		`<html><head><title>Hi</title><meta property="og:title" content="OG"></head>`,
		`<title><script>alert(1)</script></title>`,
		`<meta name="description" content="` + strings.Repeat("d", 2000) + `">`,
		"<title>\x00\x01\u202e\u200b</title>", `<title>&lt;img src=x onerror=alert(1)&gt;</title>`,
		`<meta property="og:title" content="a&#0;b">`, "<title>\xff</title>",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, page []byte) {
		meta := parseCard(page)
		for k, v := range meta {
			for _, n := range []int{maxCardTitle, maxCardDesc, 5} {
				c := clip(v, n)
				if utf8.RuneCountInString(c) > n {
					t.Fatalf("%s: clip to %d gave %d runes", k, n, utf8.RuneCountInString(c))
				}
				for _, r := range c {
					if r < 0x20 || r == 0x7f {
						t.Fatalf("%s: clip kept %U", k, r)
					}
				}
				if c != strings.TrimSpace(c) || strings.Contains(c, "  ") {
					t.Fatalf("%s: clip left spacing %q", k, c)
				}
			}
		}
	})
}
