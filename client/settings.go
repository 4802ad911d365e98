package client

import (
	"context"
	"net/http"
	"time"
)

// BusinessSettings are a business's inbox rules. SetSettings replaces
// them all: read them with Settings, change what you need and send the
// whole value back.
type BusinessSettings struct {
	// ShowAgentNames shows customers the first name of the agent who
	// wrote each reply.
	ShowAgentNames bool `json:"show_agent_names"`
	// OnlyAssigneeReplies refuses replies from agents other than the
	// assignee (admins excepted) with not_assignee.
	OnlyAssigneeReplies bool `json:"only_assignee_replies"`
	// AutoAssign is AssignManual, AssignRoundRobin or AssignLeastLoad.
	AutoAssign string `json:"auto_assign"`
	// DefaultTeam is the id of the team that receives new conversations.
	DefaultTeam string `json:"default_team,omitempty"`
	// MaxOpenPerAgent caps automatic assignment per agent (0: no cap).
	MaxOpenPerAgent int `json:"max_open_per_agent"`
	// ReassignAfterMinutes moves a conversation to another available
	// agent when its assignee has not answered for that long (0: never).
	ReassignAfterMinutes int `json:"reassign_after_minutes"`
	// Hours are the default business hours (teams may have their own).
	Hours *Hours `json:"hours,omitempty"`
	// AwayMessage goes to a customer who writes outside business hours,
	// once per closed period.
	AwayMessage string `json:"away_message,omitempty"`
	// SLA maps a priority (low, normal, high, urgent) to its targets.
	SLA map[string]SLATarget `json:"sla,omitempty"`
	// CSAT asks the customer for a 1–5 rating when a conversation is
	// resolved, with CSATQuestion (a default when empty).
	CSAT         bool   `json:"csat"`
	CSATQuestion string `json:"csat_question,omitempty"`
	// Views are saved inbox filters the whole team sees.
	Views []SavedView `json:"views,omitempty"`
	// Welcome is sent (automated) after a customer's first message.
	Welcome string `json:"welcome,omitempty"`
	// IceBreakers are up to 4 starter questions shown on the profile.
	IceBreakers []string `json:"ice_breakers,omitempty"`
	// Rules are the automation rules, evaluated in order.
	Rules []Rule `json:"rules,omitempty"`
	// ShowSensitive shows the team customers' sensitive values unmasked.
	ShowSensitive bool `json:"show_sensitive,omitempty"`
	// RequireTwoFactor lets only team members with two-factor
	// authentication act as the business.
	RequireTwoFactor bool `json:"require_two_factor,omitempty"`
	// Messaging is what the business may send and when.
	Messaging MessagingPolicy `json:"messaging"`
}

// SLATarget is a priority's targets in minutes (0: none).
type SLATarget struct {
	FirstResponseMinutes int `json:"first_response_minutes"`
	ResolutionMinutes    int `json:"resolution_minutes"`
}

// SavedView is a named inbox filter; its fields are those of InboxQuery.
type SavedView struct {
	Name     string `json:"name"`
	View     string `json:"view,omitempty"`
	Status   string `json:"status,omitempty"`
	Team     string `json:"team,omitempty"`
	Label    string `json:"label,omitempty"`
	Assignee string `json:"assignee,omitempty"`
}

// MessagingPolicy limits what a business sends and when (docs/campaigns.md).
type MessagingPolicy struct {
	// WindowHours allows free-form messages only within that many hours
	// of the contact's last message (0: no window).
	WindowHours int `json:"window_hours"`
	// HumanAgentDays lets a person of the team still reply that many
	// days after the contact's last message.
	HumanAgentDays int `json:"human_agent_days"`
	// PromoCap promotional messages per PromoCapDays days per contact.
	PromoCap     int `json:"promo_cap"`
	PromoCapDays int `json:"promo_cap_days"`
	// QuietStart and QuietEnd ("21:00", "08:00") are quiet hours in the
	// contact's zone, TimeZone by default.
	QuietStart string `json:"quiet_start,omitempty"`
	QuietEnd   string `json:"quiet_end,omitempty"`
	TimeZone   string `json:"time_zone,omitempty"`
	// StopKeywords replace the default opt-out words; StopReply confirms
	// an opt-out.
	StopKeywords []string `json:"stop_keywords,omitempty"`
	StopReply    string   `json:"stop_reply,omitempty"`
}

// Rule events and action types.
const (
	RuleOnMessage      = "message"
	RuleOnFirstMessage = "first_message"
	RuleOnLabelAdded   = "label_added"

	ActionReply      = "reply"
	ActionSavedReply = "saved_reply"
	ActionLabel      = "label"
	ActionAssignTeam = "assign_team"
	ActionPriority   = "priority"
	ActionHandover   = "handover"
	ActionWebhook    = "webhook"
)

// Rule is an automation rule: when its condition holds, its actions run.
type Rule struct {
	Name     string       `json:"name"`
	Disabled bool         `json:"disabled,omitempty"`
	When     RuleWhen     `json:"when"`
	Actions  []RuleAction `json:"actions"`
	// Stop skips the later rules when this one fires.
	Stop bool `json:"stop,omitempty"`
}

// RuleWhen is a rule's condition.
type RuleWhen struct {
	// Event is RuleOnMessage, RuleOnFirstMessage or RuleOnLabelAdded.
	Event string `json:"event"`
	// Keywords match as whole words, any case; any one is enough.
	Keywords []string `json:"keywords,omitempty"`
	// Regex is RE2 syntax.
	Regex        string `json:"regex,omitempty"`
	OutsideHours bool   `json:"outside_hours,omitempty"`
	// Label is the label of a RuleOnLabelAdded rule.
	Label string `json:"label,omitempty"`
}

// RuleAction is one thing a rule does; Type says which field applies.
type RuleAction struct {
	Type       string `json:"type"`
	Text       string `json:"text,omitempty"`
	SavedReply string `json:"saved_reply,omitempty"`
	Label      string `json:"label,omitempty"`
	Team       string `json:"team,omitempty"`
	Priority   string `json:"priority,omitempty"`
}

// RuleTest asks which rules would fire; nothing is done.
type RuleTest struct {
	// Event defaults to RuleOnMessage.
	Event string `json:"event,omitempty"`
	Text  string `json:"text,omitempty"`
	// At defaults to now (it decides OutsideHours).
	At     *time.Time `json:"at,omitempty"`
	Labels []string   `json:"labels,omitempty"`
	// Rules, when not nil, are tested instead of the saved ones.
	Rules []Rule `json:"rules,omitempty"`
}

// RuleTestResult lists the rules that would fire, in order.
type RuleTestResult struct {
	// Open says whether business hours are open at the test's time.
	Open  bool   `json:"open"`
	Fired []Rule `json:"fired"`
}

// Settings returns the business's inbox settings (any team member).
func (b *Business) Settings(ctx context.Context) (*BusinessSettings, error) {
	var out BusinessSettings
	_, err := b.c.call(ctx, http.MethodGet, b.path("/settings"), nil, nil, &out)
	return ret(&out, err)
}

// SetSettings replaces every setting and returns them as stored (admins).
func (b *Business) SetSettings(ctx context.Context, s BusinessSettings) (*BusinessSettings, error) {
	var out BusinessSettings
	_, err := b.c.call(ctx, http.MethodPut, b.path("/settings"), nil, s, &out)
	return ret(&out, err)
}

// TestRules dry-runs the automation rules for a message or added labels.
func (b *Business) TestRules(ctx context.Context, in RuleTest) (*RuleTestResult, error) {
	var out RuleTestResult
	_, err := b.c.call(ctx, http.MethodPost, b.path("/rules/test"), nil, in, &out)
	return ret(&out, err)
}
