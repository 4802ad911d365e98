package app

import (
	"math/big"
	"regexp"
	"strings"

	"github.com/parleyhq/parley"
)

// The sensitive-data guard finds card numbers (Luhn), IBANs (mod 97),
// national identity numbers (US Social Security numbers written
// AAA-GG-SSSS, UK National Insurance numbers), phone numbers (validated
// with libphonenumber's metadata, phone.go), secrets and API keys, and
// passwords in message text. A sender is warned before such a message goes
// out (the send or edit is refused with sensitive_data until it is
// confirmed) — except for phone numbers, which people give on purpose all
// the time: they warn only senders who asked for it (User.WarnPhone). A
// business's team sees the values masked unless the business turned
// show_sensitive (phone numbers: show_phone_numbers) on.

// Sensitive kinds.
const (
	SensitiveCard       = "card_number"
	SensitiveIBAN       = "iban"
	SensitiveSecret     = "secret"
	SensitivePassword   = "password"
	SensitiveNationalID = "national_id"
	SensitivePhone      = "phone"
)

// Finding is one sensitive value in a text: its kind and byte range.
type Finding struct {
	Kind       string
	Start, End int
}

var (
	// cardRE finds 13 to 19 digits, optionally grouped by spaces or dashes.
	cardRE = regexp.MustCompile(`\b\d(?:[ -]?\d){12,18}\b`)
	// ibanRE finds a country code, two check digits and up to 30
	// alphanumerics, optionally grouped by spaces.
	ibanRE = regexp.MustCompile(`\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}\b`)
	// secretRE finds well-known key formats and private keys.
	secretRE = regexp.MustCompile(`\b(?:sk_live_[0-9A-Za-z]{16,}|sk-[A-Za-z0-9_-]{32,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36,}|xox[abpr]-[0-9A-Za-z-]{10,}|AIza[0-9A-Za-z_-]{35}|prl_[A-Za-z0-9_-]{40,}|whsec_[A-Za-z0-9+/=]{20,})\b|-----BEGIN [A-Z ]*PRIVATE KEY-----`)
	// ssnRE finds US Social Security numbers written with dashes (nine
	// bare digits are too often something else); ssnValid drops the
	// numbers never issued.
	ssnRE = regexp.MustCompile(`\b(\d{3})-(\d{2})-(\d{4})\b`)
	// ninoRE finds UK National Insurance numbers: two prefix letters (D,
	// F, I, Q, U, V never; O never second), six digits (optionally in
	// pairs), a suffix A–D.
	ninoRE = regexp.MustCompile(`\b([A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]) ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b`)
	// passwordRE finds "password: xyz"-like statements.
	passwordRE = regexp.MustCompile(`(?i)\b(?:password|passwd|pwd|passcode|pin)\s*(?:is|:|=)\s*(\S{4,})`)
)

// luhn reports whether digits passes the Luhn check.
func luhn(digits string) bool {
	sum, double := 0, false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

func onlyDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// ibanValid checks an IBAN's length and mod-97 checksum.
func ibanValid(s string) bool {
	s = strings.ReplaceAll(s, " ", "")
	if len(s) < 15 || len(s) > 34 {
		return false
	}
	rearranged := s[4:] + s[:4]
	var b strings.Builder
	for _, r := range rearranged {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r >= 'A' && r <= 'Z':
			b.WriteString(big.NewInt(int64(r - 'A' + 10)).String())
		default:
			return false
		}
	}
	n, ok := new(big.Int).SetString(b.String(), 10)
	return ok && new(big.Int).Mod(n, big.NewInt(97)).Int64() == 1
}

// FindSensitive lists the sensitive values in text, in order, without
// overlaps.
func FindSensitive(text string) []Finding { return findSensitive(text, true) }

// findSensitive is FindSensitive, phone numbers only when phones is set:
// parsing one against the number plan costs more than every other check
// together (BENCHMARKS.md), and most callers do not want them — the
// guard of a sender who did not turn warn_phone on, a team's view that
// shows phone numbers.
func findSensitive(text string, phones bool) []Finding { return scanSensitive(text, phones, true) }

// scanSensitive is findSensitive; with prefilter, each regular expression
// runs only when one pass over the bytes finds what every one of its
// matches needs (a test checks they never change a result).
func scanSensitive(text string, phones, prefilter bool) []Finding {
	if len(text) < 4 {
		return nil
	}
	var out []Finding
	add := func(kind string, start, end int) {
		for _, f := range out {
			if start < f.End && end > f.Start {
				return
			}
		}
		out = append(out, Finding{Kind: kind, Start: start, End: end})
	}
	// Cheap checks first: most messages hold none of the markers, and the
	// guard runs on every send.
	if containsAny(text, secretMarkers) {
		for _, m := range secretRE.FindAllStringIndex(text, -1) {
			add(SensitiveSecret, m[0], m[1])
		}
	}
	digits := countDigits(text)
	// A card: 13 digits or more joined by single spaces or dashes.
	if digits >= 10 && (!prefilter || longestDigitRun(text) >= 13) {
		for _, m := range cardRE.FindAllStringIndex(text, -1) {
			d := onlyDigits(text[m[0]:m[1]])
			if len(d) >= 13 && len(d) <= 19 && luhn(d) && strings.Trim(d, "0") != "" {
				add(SensitiveCard, m[0], m[1])
			}
		}
	}
	// An IBAN starts with two capitals and a digit.
	if digits >= 10 && (!prefilter || capitalsThenDigit(text, false)) {
		for _, m := range ibanRE.FindAllStringIndex(text, -1) {
			if ibanValid(text[m[0]:m[1]]) {
				add(SensitiveIBAN, m[0], m[1])
			}
		}
	}
	// A Social Security number is nine digits with dashes.
	if digits >= 9 && (!prefilter || strings.IndexByte(text, '-') >= 0) {
		for _, m := range ssnRE.FindAllStringSubmatchIndex(text, -1) {
			if ssnValid(text[m[2]:m[3]], text[m[4]:m[5]], text[m[6]:m[7]]) {
				add(SensitiveNationalID, m[0], m[1])
			}
		}
	}
	// A National Insurance number: two capitals, maybe a space, a digit.
	if digits >= 6 && (!prefilter || capitalsThenDigit(text, true)) {
		for _, m := range ninoRE.FindAllStringSubmatchIndex(text, -1) {
			switch text[m[2]:m[3]] {
			case "BG", "GB", "NK", "KN", "TN", "NT", "ZZ": // never issued
			default:
				add(SensitiveNationalID, m[0], m[1])
			}
		}
	}
	// Phone numbers last: a card number or an IBAN that is also a
	// valid-looking phone number stays what it is.
	if phones && longestDigitRun(text) >= minPhoneDigits {
		findPhones(text, add)
	}
	// (?i) folds ſ (U+017F) to s, which ToLower does not.
	if lower := strings.ToLower(text); strings.Contains(lower, "pass") || strings.Contains(lower, "pwd") || strings.Contains(lower, "pin") || strings.ContainsRune(text, 'ſ') || !prefilter {
		for _, m := range passwordRE.FindAllStringSubmatchIndex(text, -1) {
			add(SensitivePassword, m[2], m[3])
		}
	}
	// Keep them in text order.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Start < out[j-1].Start; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// sensitiveWarning is the guard's refusal of a send or an edit (what) of
// text by sender, or nil when nothing in it warns.
func sensitiveWarning(text string, sender *parley.User, what string) error {
	fs := guardFindings(text, sender)
	if len(fs) == 0 {
		return nil
	}
	found := sensitiveKinds(fs)
	kinds := strings.ReplaceAll(strings.Join(found, ", "), "_", " ")
	return &parley.Error{Code: parley.ESensitiveData, Field: "text", Kinds: found,
		Message: "this message contains what looks like a " + kinds + "; " + what + " it again with confirm_sensitive if you mean to share it"}
}

// sensitiveKinds lists the distinct kinds found, in order.
func sensitiveKinds(fs []Finding) []string {
	var kinds []string
	for _, f := range fs {
		if !strings.Contains(strings.Join(kinds, ","), f.Kind) {
			kinds = append(kinds, f.Kind)
		}
	}
	return kinds
}

// MaskSensitive replaces each sensitive value by bullets, keeping the last
// four characters of card numbers and IBANs so that a customer's "the card
// ending 4242" still makes sense. Phone numbers are masked too.
func MaskSensitive(text string) string {
	return maskText(text, teamMask{sensitive: true, phones: true})
}

// teamMask says which kinds a business's team sees masked.
type teamMask struct {
	sensitive bool // every kind but phone numbers (show_sensitive off)
	phones    bool // phone numbers (show_phone_numbers off)
}

func (m teamMask) any() bool { return m.sensitive || m.phones }

// covers reports whether the mask hides a finding of kind.
func (m teamMask) covers(kind string) bool {
	if kind == SensitivePhone {
		return m.phones
	}
	return m.sensitive
}

// teamMaskOf is what a business's settings mask.
func teamMaskOf(st *BusinessSettings) teamMask {
	return teamMask{sensitive: !st.ShowSensitive, phones: !st.ShowPhoneNumbers}
}

// maskText masks the findings m covers. A phone number keeps nothing:
// its last digits identify a person better than a card's.
func maskText(text string, m teamMask) string {
	if !m.any() {
		return text
	}
	fs := findSensitive(text, m.phones)
	if len(fs) == 0 {
		return text
	}
	var b strings.Builder
	last := 0
	for _, f := range fs {
		if !m.covers(f.Kind) {
			continue
		}
		b.WriteString(text[last:f.Start])
		v := text[f.Start:f.End]
		keep := ""
		if f.Kind == SensitiveCard || f.Kind == SensitiveIBAN {
			compact := strings.NewReplacer(" ", "", "-", "").Replace(v)
			keep = compact[len(compact)-4:]
		}
		b.WriteString("••••" + keep)
		last = f.End
	}
	if last == 0 {
		return text
	}
	b.WriteString(text[last:])
	return b.String()
}

// maskForTeam says what of a message's text is masked for the viewer: a
// customer's message seen by a business (its account, its agents and
// bots, who all view as the business) masks what the business's settings
// do not show. cache holds the answer for the viewer across a page.
func maskForTeam(tx parley.Tx, c *parley.Conversation, viewer *parley.Member, m *parley.Message, cache **teamMask) teamMask {
	if m.SenderID == viewer.UserID || m.DeletedAt != nil || m.Text == "" || c.Kind != parley.ConversationDirect {
		return teamMask{}
	}
	if *cache == nil {
		var on teamMask
		if it, err := tx.InboxItem(c.ID); err == nil && it.BusinessID == viewer.UserID {
			if st, err := loadSettings(tx, it.BusinessID); err == nil {
				on = teamMaskOf(st)
			}
		}
		*cache = &on
	}
	return **cache
}

// guardFindings are the findings that warn a sender: every kind but phone
// numbers, and phone numbers too for a sender who asked (WarnPhone).
func guardFindings(text string, sender *parley.User) []Finding {
	return findSensitive(text, sender.WarnPhone)
}

// ssnValid drops Social Security numbers that are never issued: area
// 000, 666 or 900–999, group 00, serial 0000.
func ssnValid(area, group, serial string) bool {
	return area != "000" && area != "666" && area[0] != '9' && group != "00" && serial != "0000"
}

// secretMarkers are substrings every secretRE match contains.
var secretMarkers = []string{"sk_live_", "sk-", "AKIA", "gh", "xox", "AIza", "prl_", "whsec_", "PRIVATE KEY"}

func containsAny(s string, subs []string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

// capitalsThenDigit reports whether text holds two ASCII capitals
// followed by a digit — right after them, or after one space too when
// space is set.
func capitalsThenDigit(text string, space bool) bool {
	for i := 0; i+2 < len(text); i++ {
		if !isUpper(text[i]) || !isUpper(text[i+1]) {
			continue
		}
		j := i + 2
		if space && text[j] == ' ' && j+1 < len(text) {
			j++
		}
		if text[j] >= '0' && text[j] <= '9' {
			return true
		}
	}
	return false
}

func isUpper(b byte) bool { return b >= 'A' && b <= 'Z' }

func countDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			n++
		}
	}
	return n
}
