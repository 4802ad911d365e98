package app

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/parleyhq/parley"
)

// reservedHandles cannot be registered: they name routes or would mislead.
var reservedHandles = map[string]bool{
	"me": true, "admin": true, "root": true, "api": true, "parley": true, "support": true,
	"system": true, "null": true, "undefined": true, "settings": true, "help": true,
}

// normalizeHandle lower-cases a handle and checks its shape: 3–30 of a–z,
// 0–9, "_" and ".", starting with a letter or digit, no "..".
func normalizeHandle(h string) (string, error) {
	h = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(h), "@"))
	if n := len(h); n < 3 || n > 30 {
		return "", parley.Invalid("handle", "a handle has 3 to 30 characters")
	}
	for i, r := range h {
		ok := (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || ((r == '_' || r == '.') && i > 0)
		if !ok {
			return "", parley.Invalid("handle", "a handle uses a–z, 0–9, _ and . and starts with a letter or digit")
		}
	}
	if strings.Contains(h, "..") || strings.HasSuffix(h, ".") {
		return "", parley.Invalid("handle", "a handle cannot end with a dot or hold two in a row")
	}
	return h, nil
}

// lookupHandle normalizes a handle given to find someone; a malformed one
// cannot exist, so it is not found rather than invalid.
func lookupHandle(h string) (string, error) {
	n, err := normalizeHandle(h)
	if err != nil {
		return "", parley.Errorf(parley.ENotFound, "user not found")
	}
	return n, nil
}

// cleanText checks a free-text field: valid UTF-8, no control characters
// except newlines and tabs when multiline, at most max characters.
func cleanText(field, s string, max int, multiline bool) (string, error) {
	if !utf8.ValidString(s) {
		return "", parley.Invalid(field, "%s is not valid UTF-8", field)
	}
	if !multiline {
		s = strings.TrimSpace(s)
	}
	n := 0
	for _, r := range s {
		n++
		if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\t' || r == '\r')) {
			return "", parley.Invalid(field, "%s holds a control character", field)
		}
	}
	if n > max {
		return "", &parley.Error{Code: parley.ETooLarge, Field: field, Message: field + " is too long"}
	}
	return s, nil
}

// checkEmoji accepts a short emoji sequence: 1–16 runes, no letters, digits,
// spaces, punctuation or control characters.
func checkEmoji(e string) error {
	if !utf8.ValidString(e) || e == "" || utf8.RuneCountInString(e) > 16 || len(e) > 64 {
		return parley.Invalid("emoji", "a reaction is one emoji")
	}
	for _, r := range e {
		if r < 0x80 && r != '#' && r != '*' && !(r >= '0' && r <= '9') {
			return parley.Invalid("emoji", "a reaction is one emoji")
		}
		if unicode.IsLetter(r) || unicode.IsSpace(r) || unicode.IsControl(r) {
			return parley.Invalid("emoji", "a reaction is one emoji")
		}
	}
	// Keycap sequences (#️⃣, 1️⃣) are the only ones allowed to hold ASCII
	// (found by FuzzCheckEmoji: "\u05960" passed when only the first rune
	// was checked), and nothing starts with a combining mark.
	if strings.IndexFunc(e, func(r rune) bool { return r < 0x80 }) >= 0 && !strings.ContainsRune(e, 0x20E3) {
		return parley.Invalid("emoji", "a reaction is one emoji")
	}
	if r, _ := utf8.DecodeRuneInString(e); unicode.Is(unicode.M, r) {
		return parley.Invalid("emoji", "a reaction is one emoji")
	}
	return nil
}
