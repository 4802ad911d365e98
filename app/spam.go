package app

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/parleyhq/parley"
)

// Request triage: every direct message request gets a spam score from
// signals, each with a contribution in log-odds; the score is the logistic
// of their sum, in [0, 1]. Requests at or above the threshold (and those
// an account's own filter matches) go to the hidden "filtered" sub-folder.
// The text signal is a naive Bayes model over tokens, with Laplace
// smoothing, learned server-wide from "report as spam" (spam) and
// "accept" (ham).

// Signal names.
const (
	SignalBase          = "base"
	SignalAccountAge    = "account_age"
	SignalFollowOverlap = "follow_overlap"
	SignalLinks         = "links"
	SignalRepeatedText  = "repeated_text"
	SignalReports       = "reports"
	SignalText          = "text"
	SignalAccountFilter = "your_filter"
	SignalServerFilter  = "server_filter"
)

const (
	// maxSpamTokens caps the tokens of one document.
	maxSpamTokens = 200
	// spamMinDocs is how many documents of each class the model needs
	// before its opinion counts.
	spamMinDocs = 3
	// reportsWindow is how far back reports against a sender count.
	reportsWindow = 30 * 24 * time.Hour
	// requestTexts caps the messages of a request that are scored.
	maxRequestTexts = 10
)

// Signal is one reason for a request's score.
type Signal struct {
	Name string `json:"name"`
	// Detail says what was seen, for people ("account 2 days old").
	Detail string `json:"detail"`
	// Contribution is the signal's share of the score, in log-odds:
	// positive looks like spam, negative does not.
	Contribution float64 `json:"contribution"`
}

// Triage is a request's score and why.
type Triage struct {
	Score    float64  `json:"score"`
	Filtered bool     `json:"filtered"`
	Signals  []Signal `json:"signals"`
}

// SpamSignals are the facts a request is scored on.
type SpamSignals struct {
	AccountAge time.Duration
	// Overlap counts the accounts the recipient follows that follow the
	// sender.
	Overlap int
	// Links counts distinct link hosts in the text.
	Links int
	// Repeats counts the distinct recipients the sender sent the same
	// (normalized) text to within the window, this one included.
	Repeats int
	// Reports counts reports against the sender in the last 30 days.
	Reports int
	// TextLogOdds is the Bayes model's log-odds of spam; TextTrained
	// says whether the model has learned enough to count.
	TextLogOdds float64
	TextTrained bool
	// AccountFilter and ServerFilter are the first filter matches of the
	// recipient's and the server's (flagging) filters.
	AccountFilter *FilterMatch
	ServerFilter  *FilterMatch
}

// ScoreSignals turns signals into a triage; threshold is where filtering
// starts.
func ScoreSignals(s SpamSignals, threshold float64) Triage {
	sig := []Signal{{SignalBase, "every request starts here", -1.5}}
	add := func(name, detail string, c float64) { sig = append(sig, Signal{name, detail, c}) }
	days := int(s.AccountAge / (24 * time.Hour))
	switch {
	case s.AccountAge < 24*time.Hour:
		add(SignalAccountAge, "account created less than a day ago", 1.5)
	case s.AccountAge < 7*24*time.Hour:
		add(SignalAccountAge, fmt.Sprintf("account %d days old", days), 0.8)
	case s.AccountAge < 30*24*time.Hour:
		add(SignalAccountAge, fmt.Sprintf("account %d days old", days), 0)
	default:
		add(SignalAccountAge, fmt.Sprintf("account %d days old", days), -0.5)
	}
	switch {
	case s.Overlap >= 3:
		add(SignalFollowOverlap, fmt.Sprintf("followed by %d or more people you follow", s.Overlap), -2)
	case s.Overlap > 0:
		add(SignalFollowOverlap, fmt.Sprintf("followed by %d people you follow", s.Overlap), -1)
	default:
		add(SignalFollowOverlap, "followed by no one you follow", 0.3)
	}
	switch {
	case s.Links >= 2:
		add(SignalLinks, fmt.Sprintf("links to %d sites", s.Links), 1.4)
	case s.Links == 1:
		add(SignalLinks, "a link", 0.8)
	}
	switch {
	case s.Repeats >= 20:
		add(SignalRepeatedText, fmt.Sprintf("the same text sent to %d or more people", s.Repeats), 3)
	case s.Repeats >= 5:
		add(SignalRepeatedText, fmt.Sprintf("the same text sent to %d people", s.Repeats), 2)
	case s.Repeats >= 2:
		add(SignalRepeatedText, fmt.Sprintf("the same text sent to %d people", s.Repeats), 1)
	}
	switch {
	case s.Reports >= 5:
		add(SignalReports, fmt.Sprintf("reported %d or more times recently", s.Reports), 3)
	case s.Reports >= 2:
		add(SignalReports, fmt.Sprintf("reported %d times recently", s.Reports), 1.8)
	case s.Reports == 1:
		add(SignalReports, "reported once recently", 1)
	}
	if s.TextTrained {
		c := math.Max(-6, math.Min(6, s.TextLogOdds)) * 0.5
		detail := "the text looks like requests people accepted"
		if c > 0 {
			detail = "the text looks like requests people reported as spam"
		}
		add(SignalText, detail, round2(c))
	}
	if f := s.ServerFilter; f != nil {
		add(SignalServerFilter, fmt.Sprintf("flagged by the server's filter (%s)", f.Kind), 2)
	}
	if f := s.AccountFilter; f != nil {
		add(SignalAccountFilter, fmt.Sprintf("matches your filter %q", f.Pattern), 10)
	}
	sum := 0.0
	for _, x := range sig {
		sum += x.Contribution
	}
	score := round2(1 / (1 + math.Exp(-sum)))
	return Triage{Score: score, Filtered: score >= threshold || s.AccountFilter != nil, Signals: sig}
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

// SpamTokens returns the distinct tokens of a text for the Bayes model:
// folded words of 2 to 30 characters (numbers as "<num>"), a token per
// link host and "<link>" when there are links.
func SpamTokens(text string) []string {
	return spamTokens(FoldText(text), LinkHosts(text))
}

func spamTokens(folded string, hosts []string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(t string) {
		if !seen[t] && len(out) < maxSpamTokens {
			seen[t] = true
			out = append(out, t)
		}
	}
	for _, w := range strings.Fields(folded) {
		if len(w) < 2 || len(w) > 30 {
			continue
		}
		if strings.Trim(w, "0123456789") == "" {
			w = "<num>"
		}
		add(w)
	}
	for _, h := range hosts {
		add("<link>")
		add("host:" + h)
	}
	return out
}

// TextLogOdds is the naive Bayes log-odds that a document with these
// tokens is spam: the class prior and, for each token the model has seen,
// the ratio of its Laplace-smoothed document frequencies,
// (n_spam(t)+1)/(N_spam+2) over (n_ham(t)+1)/(N_ham+2).
func TextLogOdds(tokens []string, counts map[string]parley.TokenCounts, spamDocs, hamDocs int64) float64 {
	s, h := float64(spamDocs), float64(hamDocs)
	lo := math.Log((s + 1) / (h + 1))
	for _, t := range tokens {
		c, ok := counts[t]
		if !ok || c.Spam+c.Ham == 0 {
			continue
		}
		lo += math.Log((float64(c.Spam)+1)/(s+2)) - math.Log((float64(c.Ham)+1)/(h+2))
	}
	return lo
}

// Fingerprint is the normalized-text fingerprint of a message (case,
// diacritics, punctuation and spacing ignored), or "" for text too short
// to tell senders apart ("hi").
func Fingerprint(text string) string {
	return fingerprintFolded(FoldText(text))
}

func fingerprintFolded(folded string) string {
	f := strings.TrimSpace(folded)
	if len(f) < 12 || strings.Count(f, " ") < 2 {
		return ""
	}
	sum := sha256.Sum256([]byte(f))
	return hex.EncodeToString(sum[:8])
}

// requestTexts returns the texts the sender wrote in a conversation so far
// (the first maxRequestTexts messages).
func requestTexts(tx parley.Tx, c *parley.Conversation, senderID string) ([]string, error) {
	// c.LastSeq may predate the message being sent: read from the start.
	ms, err := tx.Messages(parley.MessageRange{ConversationID: c.ID, MinSeq: 1, MaxSeq: math.MaxInt64, Limit: maxRequestTexts})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range ms {
		if m.SenderID == senderID && m.DeletedAt == nil && m.Text != "" {
			out = append(out, m.Text)
		}
	}
	return out, nil
}

// scoreRequest scores the request of sender to the pending member rm in
// c and stores it. newText, when set, is the message just sent: its
// fingerprint is recorded. server, when set, holds the server's filters
// (flagging ones count as a signal).
func (a *App) scoreRequest(w *writer, c *parley.Conversation, rm *parley.Member, sender *parley.User, newText string, server *FilterSet) (*Triage, error) {
	texts, err := requestTexts(w, c, sender.ID)
	if err != nil {
		return nil, err
	}
	// A group invite shows its title before anything else: a spammer's
	// group is named like their message.
	if c.Kind == parley.ConversationGroup && c.Title != "" {
		texts = append([]string{c.Title}, texts...)
	}
	joined := strings.Join(texts, "\n")
	folded, hosts := FoldText(joined), LinkHosts(joined)
	s := SpamSignals{AccountAge: w.now.Sub(sender.CreatedAt), Links: len(hosts)}
	if s.Overlap, err = w.CountFollowOverlap(rm.UserID, sender.ID, 3); err != nil {
		return nil, err
	}
	if s.Reports, err = w.CountReportsAgainst(sender.ID, w.now.Add(-reportsWindow), 5); err != nil {
		return nil, err
	}
	window := w.now.Add(-a.cfg.SpamRepeatWindow)
	if fp := Fingerprint(newText); fp != "" {
		if err := w.AddFingerprint(sender.ID, fp, rm.UserID, w.now, window); err != nil {
			return nil, err
		}
	}
	for _, t := range texts {
		if fp := Fingerprint(t); fp != "" {
			n, err := w.CountFingerprintRecipients(sender.ID, fp, window, 20)
			if err != nil {
				return nil, err
			}
			s.Repeats = max(s.Repeats, n)
		}
	}
	if tokens := spamTokens(folded, hosts); len(tokens) > 0 {
		spamDocs, hamDocs, err := w.SpamTotals()
		if err != nil {
			return nil, err
		}
		if spamDocs >= spamMinDocs && hamDocs >= spamMinDocs {
			counts, err := w.SpamTokens(tokens)
			if err != nil {
				return nil, err
			}
			s.TextLogOdds, s.TextTrained = TextLogOdds(tokens, counts, spamDocs, hamDocs), true
		}
	}
	if joined != "" {
		fs, err := w.Filters(rm.UserID)
		if err != nil {
			return nil, err
		}
		if ms := newFilterSet(fs, false).Match(joined, folded, hosts); len(ms) > 0 {
			s.AccountFilter = &ms[0]
		}
		if ms := server.Match(joined, folded, hosts); len(ms) > 0 {
			s.ServerFilter = &ms[0]
		}
	}
	t := ScoreSignals(s, a.cfg.SpamThreshold)
	rs := &parley.RequestScore{ConversationID: c.ID, UserID: rm.UserID, SenderID: sender.ID, Score: t.Score, Filtered: t.Filtered,
		Signals: string(mustJSON(t.Signals)), UpdatedAt: w.now}
	if old, err := w.RequestScore(c.ID, rm.UserID); err == nil {
		rs.Learned = old.Learned
	} else if !parley.IsNotFound(err) {
		return nil, err
	}
	if err := w.PutRequestScore(rs); err != nil {
		return nil, err
	}
	return &t, nil
}

// learnRequest teaches the model a direct request's text as spam or ham,
// once per request: learning the other class later takes the first back.
func (a *App) learnRequest(w *writer, c *parley.Conversation, recipientID, senderID string, spam bool) error {
	class := "ham"
	if spam {
		class = "spam"
	}
	rs, err := w.RequestScore(c.ID, recipientID)
	if parley.IsNotFound(err) {
		rs = &parley.RequestScore{ConversationID: c.ID, UserID: recipientID, SenderID: senderID, Signals: "[]", UpdatedAt: w.now}
	} else if err != nil {
		return err
	}
	if rs.Learned == class {
		return nil
	}
	texts, err := requestTexts(w, c, senderID)
	if err != nil {
		return err
	}
	tokens := SpamTokens(strings.Join(texts, "\n"))
	if rs.Learned != "" {
		if err := w.LearnSpam(tokens, !spam, -1); err != nil {
			return err
		}
	}
	if err := w.LearnSpam(tokens, spam, 1); err != nil {
		return err
	}
	rs.Learned, rs.UpdatedAt = class, w.now
	return w.PutRequestScore(rs)
}

// triageView decodes a stored score for the API.
func triageView(rs *parley.RequestScore) *Triage {
	t := &Triage{Score: rs.Score, Filtered: rs.Filtered, Signals: []Signal{}}
	_ = json.Unmarshal([]byte(rs.Signals), &t.Signals) // written by scoreRequest
	return t
}
