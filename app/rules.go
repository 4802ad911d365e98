package app

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parleyhq/parley"
)

// Automation rules of a business: when a customer message (or a label)
// matches, do actions. They run inside the transaction of the message that
// triggered them, in order, each logged in the audit; a dry run shows what
// would happen without doing it.

// Rule is one automation rule.
type Rule struct {
	Name     string       `json:"name"`
	Disabled bool         `json:"disabled,omitempty"`
	When     RuleWhen     `json:"when"`
	Actions  []RuleAction `json:"actions"`
	// Stop skips the rules after this one when it matches.
	Stop bool `json:"stop,omitempty"`
}

// RuleWhen is a rule's trigger. Event is "message" (any customer
// message), "first_message" (the first of a conversation) or
// "label_added" (with Label). Keywords (any of them, as whole words, any
// case), Regex and OutsideHours narrow a message trigger; all that are set
// must hold.
type RuleWhen struct {
	Event        string   `json:"event"`
	Keywords     []string `json:"keywords,omitempty"`
	Regex        string   `json:"regex,omitempty"`
	OutsideHours bool     `json:"outside_hours,omitempty"`
	Label        string   `json:"label,omitempty"`
}

// RuleAction is what a rule does: "reply" (Text, with variables),
// "saved_reply" (SavedReply id), "label" (Label added), "assign_team"
// (Team id; the team's assignment then applies), "priority" (Priority),
// "handover" (to people, with Text as the reason), "webhook" (a
// rule.triggered event to the business's webhook subscriptions).
type RuleAction struct {
	Type       string `json:"type"`
	Text       string `json:"text,omitempty"`
	SavedReply string `json:"saved_reply,omitempty"`
	Label      string `json:"label,omitempty"`
	Team       string `json:"team,omitempty"`
	Priority   string `json:"priority,omitempty"`
}

// Rule limits.
const (
	maxRules        = 50
	maxRuleActions  = 5
	maxKeywords     = 20
	maxRegexLen     = 200
	maxWelcomeLen   = 1000
	maxIceBreakers  = 4
	maxIceBreakerSz = 80
)

// EventRuleTriggered goes to the business (and so to its webhooks) when a
// rule with a webhook action fires.
const EventRuleTriggered = "rule.triggered"

var ruleActionTypes = []string{"reply", "saved_reply", "label", "assign_team", "priority", "handover", "webhook"}

// validateRules checks rules, welcome message and ice breakers.
func (s *BusinessSettings) validateAutomation() error {
	if utf8.RuneCountInString(s.Welcome) > maxWelcomeLen {
		return parley.Invalid("welcome", "welcome has at most %d characters", maxWelcomeLen)
	}
	if len(s.IceBreakers) > maxIceBreakers {
		return parley.Invalid("ice_breakers", "at most %d ice breakers", maxIceBreakers)
	}
	for i, q := range s.IceBreakers {
		q = strings.TrimSpace(q)
		if q == "" || utf8.RuneCountInString(q) > maxIceBreakerSz || strings.ContainsAny(q, "\r\n") {
			return parley.Invalid("ice_breakers", "an ice breaker is one line of 1 to %d characters", maxIceBreakerSz)
		}
		s.IceBreakers[i] = q
	}
	if len(s.Rules) > maxRules {
		return parley.Invalid("rules", "at most %d rules", maxRules)
	}
	for i := range s.Rules {
		r := &s.Rules[i]
		r.Name = strings.TrimSpace(r.Name)
		if r.Name == "" || utf8.RuneCountInString(r.Name) > 80 {
			return parley.Invalid("rules", "rule %d needs a name of at most 80 characters", i+1)
		}
		switch r.When.Event {
		case "message", "first_message":
		case "label_added":
			if r.When.Label == "" {
				return parley.Invalid("rules", "rule %q: label_added needs a label", r.Name)
			}
		default:
			return parley.Invalid("rules", "rule %q: when.event is message, first_message or label_added", r.Name)
		}
		if len(r.When.Keywords) > maxKeywords {
			return parley.Invalid("rules", "rule %q: at most %d keywords", r.Name, maxKeywords)
		}
		for j, k := range r.When.Keywords {
			k = strings.ToLower(strings.TrimSpace(k))
			if k == "" || utf8.RuneCountInString(k) > 40 {
				return parley.Invalid("rules", "rule %q: keywords have 1 to 40 characters", r.Name)
			}
			r.When.Keywords[j] = k
		}
		if r.When.Regex != "" {
			// Go's regexp is RE2: linear time in the input, so a pattern
			// cannot hang the send path.
			if len(r.When.Regex) > maxRegexLen {
				return parley.Invalid("rules", "rule %q: regex has at most %d bytes", r.Name, maxRegexLen)
			}
			if _, err := regexp.Compile(r.When.Regex); err != nil {
				return parley.Invalid("rules", "rule %q: regex does not compile: %v", r.Name, err)
			}
		}
		if len(r.Actions) == 0 || len(r.Actions) > maxRuleActions {
			return parley.Invalid("rules", "rule %q: 1 to %d actions", r.Name, maxRuleActions)
		}
		for _, ac := range r.Actions {
			if !slices.Contains(ruleActionTypes, ac.Type) {
				return parley.Invalid("rules", "rule %q: action type is one of %s", r.Name, strings.Join(ruleActionTypes, ", "))
			}
			switch {
			case ac.Type == "reply" && (strings.TrimSpace(ac.Text) == "" || badVars(ac.Text) != ""):
				return parley.Invalid("rules", "rule %q: a reply needs text with known variables", r.Name)
			case ac.Type == "saved_reply" && ac.SavedReply == "":
				return parley.Invalid("rules", "rule %q: saved_reply needs its id", r.Name)
			case ac.Type == "label" && ac.Label == "":
				return parley.Invalid("rules", "rule %q: label needs a label", r.Name)
			case ac.Type == "assign_team" && ac.Team == "":
				return parley.Invalid("rules", "rule %q: assign_team needs a team", r.Name)
			case ac.Type == "priority" && !slices.Contains(Priorities, ac.Priority):
				return parley.Invalid("rules", "rule %q: priority is low, normal, high or urgent", r.Name)
			}
		}
	}
	return nil
}

// RuleInput is what a rule looks at.
type RuleInput struct {
	Event string // "message", "first_message" or "label_added"
	Text  string
	// Open is whether business hours are open at the time.
	Open bool
	// Labels added, for label_added.
	Labels []string

	lower string // Text lower-cased, once per message
}

// regexCache keeps compiled rule patterns; rules change rarely and are
// evaluated on every customer message.
var regexCache sync.Map // pattern -> *regexp.Regexp

func ruleRegex(p string) *regexp.Regexp {
	if re, ok := regexCache.Load(p); ok {
		return re.(*regexp.Regexp)
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil
	}
	regexCache.Store(p, re)
	return re
}

// hasWord reports whether text contains kw as whole words (letters and
// digits around it end a word).
func hasWord(text, kw string) bool {
	for i := 0; ; {
		j := strings.Index(text[i:], kw)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(kw)
		before, _ := utf8.DecodeLastRuneInString(text[:start])
		after, _ := utf8.DecodeRuneInString(text[end:])
		if (start == 0 || !isWordRune(before)) && (end == len(text) || !isWordRune(after)) {
			return true
		}
		i = start + 1
	}
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// Matches reports whether the rule fires for in.
func (r *Rule) Matches(in RuleInput) bool {
	if r.Disabled {
		return false
	}
	switch r.When.Event {
	case "label_added":
		return in.Event == "label_added" && slices.Contains(in.Labels, strings.ToLower(r.When.Label))
	case "first_message":
		if in.Event != "first_message" {
			return false
		}
	case "message":
		if in.Event != "message" && in.Event != "first_message" {
			return false
		}
	default:
		return false
	}
	if r.When.OutsideHours && in.Open {
		return false
	}
	if len(r.When.Keywords) > 0 {
		text := in.lower
		if text == "" {
			text = strings.ToLower(in.Text)
		}
		found := false
		for _, k := range r.When.Keywords {
			if hasWord(text, k) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if r.When.Regex != "" {
		re := ruleRegex(r.When.Regex)
		if re == nil || !re.MatchString(in.Text) {
			return false
		}
	}
	return true
}

// matchRules returns the rules that fire for in, in order, honouring Stop.
func matchRules(rules []Rule, in RuleInput) []*Rule {
	in.lower = strings.ToLower(in.Text)
	var out []*Rule
	for i := range rules {
		if rules[i].Matches(in) {
			out = append(out, &rules[i])
			if rules[i].Stop {
				break
			}
		}
	}
	return out
}

// runRules applies the matching rules' actions to a customer conversation
// inside the triggering transaction. A failing action (a saved reply with
// a missing variable, a deleted team) is skipped and logged; it never
// refuses the customer's message.
func (a *App) runRules(w *writer, c *parley.Conversation, it *parley.InboxItem, st *BusinessSettings, in RuleInput, actorID string) error {
	fired := matchRules(st.Rules, in)
	if len(fired) == 0 {
		return nil
	}
	biz, err := w.UserByID(it.BusinessID)
	if err != nil {
		return err
	}
	ba := &BusinessActor{Actor: &Actor{User: biz}, Business: biz, Role: parley.AgentRoleAdmin}
	for _, r := range fired {
		var done, failed []string
		for _, ac := range r.Actions {
			var err error
			switch ac.Type {
			case "reply", "saved_reply":
				body := ac.Text
				if ac.Type == "saved_reply" {
					var sr *parley.SavedReply
					if sr, err = w.SavedReply(it.BusinessID, ac.SavedReply); err == nil {
						body = sr.Body
					}
				}
				if err == nil {
					err = customerReachable(w, c, it)
				}
				if err == nil {
					var out *RenderedReply
					if out, err = render(w, ba, body, c.ID); err == nil && len(out.Missing) > 0 {
						err = parley.Errorf(parley.EUnresolvedVar, "no value for %s", strings.Join(out.Missing, ", "))
					} else if err == nil {
						_, err = a.autoMessage(w, c, it, out.Text, "")
					}
				}
			case "label":
				var labels []string
				if labels, err = cleanLabels(append(append([]string{}, it.Labels...), ac.Label)); err == nil {
					it.Labels = labels
				}
			case "assign_team":
				if _, err = w.Team(it.BusinessID, ac.Team); err == nil && it.TeamID != ac.Team {
					it.TeamID, it.AssigneeID = ac.Team, ""
					if it.Control != parley.ControlBot {
						err = a.autoAssign(w, it, st, "")
					}
				}
			case "priority":
				it.Priority = ac.Priority
				setDues(it, st)
			case "handover":
				if it.Control == parley.ControlBot {
					it.Control = parley.ControlHuman
					reason := ac.Text
					if reason == "" {
						reason = "rule: " + r.Name
					}
					if err = handoverRecord(w, it, it.BusinessID, reason); err == nil && it.AssigneeID == "" {
						err = a.autoAssign(w, it, st, "")
					}
				}
			case "webhook":
				err = businessEvent(w, &parley.Event{Type: EventRuleTriggered, ConversationID: c.ID, ActorID: actorID,
					Data: mustJSON(map[string]string{"rule": r.Name, "event": in.Event})}, it.BusinessID)
			}
			if err != nil {
				if parley.ErrorCode(err) == parley.EInternal {
					return err // the store failed: the transaction must not commit half
				}
				failed = append(failed, ac.Type+": "+parley.ErrorMessage(err))
				continue
			}
			done = append(done, ac.Type)
		}
		if err := auditRow(w, it.BusinessID, it.BusinessID, c.ID, "rule", "", it.TeamID, 0,
			map[string]any{"rule": r.Name, "event": in.Event, "done": done, "failed": failed}); err != nil {
			return err
		}
	}
	return nil
}

// RuleTest is a dry run's input: a message (or labels added) and when.
type RuleTest struct {
	Event  string    `json:"event"`
	Text   string    `json:"text"`
	At     time.Time `json:"at"`
	Labels []string  `json:"labels"`
	// Rules, when set, are tested instead of the saved ones (to try an
	// edit before saving it).
	Rules []Rule `json:"rules"`
}

// RuleTestResult lists the rules that would fire and their actions.
type RuleTestResult struct {
	Open  bool   `json:"open"`
	Fired []Rule `json:"fired"`
}

// TestRules is a dry run: which rules would fire for a message at a time,
// without doing anything.
func (a *App) TestRules(ctx context.Context, ba *BusinessActor, in RuleTest) (*RuleTestResult, error) {
	if in.Event == "" {
		in.Event = "message"
	}
	if in.At.IsZero() {
		in.At = a.clock()
	}
	st, err := a.Settings(ctx, ba)
	if err != nil {
		return nil, err
	}
	if in.Rules != nil {
		probe := &BusinessSettings{Rules: in.Rules}
		if err := probe.validateAutomation(); err != nil {
			return nil, err
		}
		st.Rules = probe.Rules
	}
	res := &RuleTestResult{Open: st.Hours.IsOpen(in.At), Fired: []Rule{}}
	labels, err := cleanLabels(in.Labels)
	if err != nil {
		return nil, err
	}
	for _, r := range matchRules(st.Rules, RuleInput{Event: in.Event, Text: in.Text, Open: res.Open, Labels: labels}) {
		res.Fired = append(res.Fired, *r)
	}
	return res, nil
}

// MatchRules counts the rules that fire for in (for benchmarks and tools).
func MatchRules(rules []Rule, in RuleInput) int { return len(matchRules(rules, in)) }

// customerReachable refuses an automated message the customer may not get:
// a block either way, or a request they have not accepted.
func customerReachable(tx parley.Tx, c *parley.Conversation, it *parley.InboxItem) error {
	peer, blocked, err := tx.Peer(c.ID, it.BusinessID, contactUser(tx, it))
	if parley.IsNotFound(err) {
		return parley.Errorf(parley.EDMNotAllowed, "the customer is not in the conversation")
	} else if err != nil {
		return err
	}
	if blocked || peer.Status != parley.StatusActive {
		return parley.Errorf(parley.EDMNotAllowed, "the customer blocked the business or has not accepted its request")
	}
	return nil
}
