package app

import (
	"regexp"
	"strings"
	"sync/atomic"

	"github.com/nyaruka/phonenumbers"
)

// Phone numbers in the sensitive-data guard. A cheap pass finds
// candidates (phoneRE, then digit counts and context); only those are
// parsed and validated against libphonenumber's metadata
// (github.com/nyaruka/phonenumbers), which knows each country's number
// plan — so "+49 30 901820" is a number and "+49 12 3" or an order number
// is not.
//
// A candidate counts when it is written in international form (+CC or
// 00CC, any country), or in the national form of the server's phone
// region (SetPhoneRegion, default US) and it looks like a phone number:
// grouped by spaces, dashes, dots or a parenthesised area code, or written
// next to a word such as "call", "phone" or "mobile". A bare run of digits
// with no such word is left alone (order, ticket and account numbers), and
// so is anything right after "order", "invoice", "ref", "#" and the like,
// dates (2026-11-27, 27.11.2026) and card numbers (found first).

// minPhoneDigits and maxPhoneDigits bound a candidate's digits: the
// shortest national numbers worth masking, and E.164's 15 (plus an
// international prefix of two).
const (
	minPhoneDigits = 7
	maxPhoneDigits = 17
)

var (
	// phoneRE finds a run that may be a phone number: "+" (then maybe
	// "("), "(" or a word's start, a digit, digits and separators, a digit.
	phoneRE = regexp.MustCompile(`(?:\+ ?\(?|\(|\b)\d[\d ().\-]{5,24}\d\b`)
	// dateRE is a date in digits (numeric groups joined by - . or /).
	dateRE = regexp.MustCompile(`^\d{1,4}[-./]\d{1,2}[-./]\d{1,4}$`)
	// phoneRegion is the region national-form numbers are checked
	// against; an atomic so that SetPhoneRegion may run while the guard
	// does.
	phoneRegion atomic.Pointer[string]
)

// phoneWords are the words that make a bare run of digits a phone number.
var phoneWords = []string{"call", "phone", "tel:", "tel.", "mobile", "cell", "whatsapp", "sms", "text me", "ring me", "fax", "landline", "reach me"}

// notPhoneWords, right before a candidate, say it is something else.
var notPhoneWords = []string{"order", "invoice", "ref", "reference", "ticket", "tracking", "account", "acct", "case", "id", "no.", "#", "iban", "card", "sku", "po", "serial"}

// ValidPhoneRegion reports whether libphonenumber knows the region.
func ValidPhoneRegion(region string) bool {
	return phonenumbers.GetCountryCodeForRegion(strings.ToUpper(region)) != 0
}

// SetPhoneRegion sets the ISO 3166 region (e.g. "US", "DE") whose national
// number format the guard recognises; numbers in international form are
// found whatever it is. It returns false for a region libphonenumber does
// not know. The setting is process-wide: it describes where the server's
// users are, not one App.
func SetPhoneRegion(region string) bool {
	region = strings.ToUpper(strings.TrimSpace(region))
	if !ValidPhoneRegion(region) {
		return false
	}
	phoneRegion.Store(&region)
	return true
}

// PhoneRegion is the region SetPhoneRegion set (US by default).
func PhoneRegion() string {
	if r := phoneRegion.Load(); r != nil {
		return *r
	}
	return "US"
}

// longestDigitRun counts the digits of the longest run of digits and the
// separators a phone number uses (space . - ( ) +): one pass over the
// bytes, so that a message whose numbers are all short ("page 12", "at
// 7", a year) never reaches the regular expression.
func longestDigitRun(text string) int {
	best, cur := 0, 0
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case c >= '0' && c <= '9':
			cur++
			best = max(best, cur)
		case c == ' ' || c == '.' || c == '-' || c == '(' || c == ')' || c == '+':
		default:
			cur = 0
		}
	}
	return best
}

// findPhones adds the phone numbers of text.
func findPhones(text string, add func(kind string, start, end int)) {
	var lower string // made at the first bare candidate
	for _, m := range phoneRE.FindAllStringIndex(text, -1) {
		start, end := m[0], m[1]
		cand := text[start:end]
		digits := countDigits(cand)
		if digits < minPhoneDigits || digits > maxPhoneDigits || dateRE.MatchString(cand) {
			continue
		}
		if lower == "" {
			lower = strings.ToLower(text)
		}
		if notPhoneBefore(lower[:start]) {
			continue
		}
		var region string
		switch {
		case cand[0] == '+':
			region = "ZZ"
		case strings.HasPrefix(cand, "00"):
			cand, region = "+"+cand[2:], "ZZ"
		default:
			grouped := strings.ContainsAny(cand, " ().-")
			if !grouped && !containsAny(lower, phoneWords) {
				continue
			}
			region = PhoneRegion()
		}
		if phoneValid(cand, region) {
			add(SensitivePhone, start, end)
		}
	}
}

// notPhoneBefore reports whether the text before a candidate ends with a
// word that names another kind of number ("order 4155552671", "#415…").
func notPhoneBefore(before string) bool {
	before = strings.TrimRight(before, " :")
	for _, w := range notPhoneWords {
		if !strings.HasSuffix(before, w) {
			continue
		}
		// A whole word ("id", not "paid"), or a symbol.
		if i := len(before) - len(w); w == "#" || i == 0 || !isLetter(before[i-1]) {
			return true
		}
	}
	return false
}

func isLetter(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }

// phoneValid parses a candidate and checks it against the number plan.
func phoneValid(cand, region string) bool {
	n, err := phonenumbers.Parse(cand, region)
	return err == nil && phonenumbers.IsValidNumber(n)
}
