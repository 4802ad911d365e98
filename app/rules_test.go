package app_test

import (
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
)

func TestRuleMatching(t *testing.T) {
	msg := func(text string, open bool) app.RuleInput {
		return app.RuleInput{Event: "message", Text: text, Open: open}
	}
	first := func(text string) app.RuleInput { return app.RuleInput{Event: "first_message", Text: text, Open: true} }
	cases := []struct {
		name string
		rule app.Rule
		in   app.RuleInput
		want bool
	}{
		{"keyword whole word", app.Rule{When: app.RuleWhen{Event: "message", Keywords: []string{"refund"}}}, msg("I want a REFUND now", true), true},
		{"keyword inside a word", app.Rule{When: app.RuleWhen{Event: "message", Keywords: []string{"refund"}}}, msg("refunded already", true), false},
		{"keyword any of", app.Rule{When: app.RuleWhen{Event: "message", Keywords: []string{"price", "cost"}}}, msg("what does it cost?", true), true},
		{"keyword phrase", app.Rule{When: app.RuleWhen{Event: "message", Keywords: []string{"opening hours"}}}, msg("Opening hours please", true), true},
		{"keyword non-latin", app.Rule{When: app.RuleWhen{Event: "message", Keywords: []string{"доставка"}}}, msg("Где моя доставка?", true), true},
		{"no keyword", app.Rule{When: app.RuleWhen{Event: "message", Keywords: []string{"refund"}}}, msg("hello", true), false},
		{"regex", app.Rule{When: app.RuleWhen{Event: "message", Regex: `(?i)order\s*#?\d{4,}`}}, msg("where is order #12345", true), true},
		{"regex miss", app.Rule{When: app.RuleWhen{Event: "message", Regex: `(?i)order\s*#?\d{4,}`}}, msg("where is my order", true), false},
		{"keyword and regex both", app.Rule{When: app.RuleWhen{Event: "message", Keywords: []string{"order"}, Regex: `\d+`}}, msg("order please", true), false},
		{"outside hours when closed", app.Rule{When: app.RuleWhen{Event: "message", OutsideHours: true}}, msg("hi", false), true},
		{"outside hours when open", app.Rule{When: app.RuleWhen{Event: "message", OutsideHours: true}}, msg("hi", true), false},
		{"message rule on a first message", app.Rule{When: app.RuleWhen{Event: "message"}}, first("hi"), true},
		{"first-message rule on a later one", app.Rule{When: app.RuleWhen{Event: "first_message"}}, msg("hi", true), false},
		{"first-message rule", app.Rule{When: app.RuleWhen{Event: "first_message"}}, first("hi"), true},
		{"label added", app.Rule{When: app.RuleWhen{Event: "label_added", Label: "VIP"}}, app.RuleInput{Event: "label_added", Labels: []string{"vip"}}, true},
		{"other label", app.Rule{When: app.RuleWhen{Event: "label_added", Label: "vip"}}, app.RuleInput{Event: "label_added", Labels: []string{"billing"}}, false},
		{"label rule on a message", app.Rule{When: app.RuleWhen{Event: "label_added", Label: "vip"}}, msg("vip", true), false},
		{"disabled", app.Rule{Disabled: true, When: app.RuleWhen{Event: "message"}}, msg("hi", true), false},
	}
	for _, c := range cases {
		if got := c.rule.Matches(c.in); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestRulesRunOnCustomerMessages(t *testing.T) {
	s := newShop(t)
	_, ann := s.agent("ann", "Ann", true)
	name := "Billing"
	rr := app.AssignRoundRobin
	team, err := s.a.SaveTeam(s.ctx, s.admin, "", app.TeamInput{Name: &name, Assign: &rr})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.a.SetTeamMember(s.ctx, s.admin, team.ID, "ann", true); err != nil {
		t.Fatal(err)
	}
	s.settings(func(st *app.BusinessSettings) {
		st.Welcome = "Welcome to Acme! We usually answer within an hour."
		st.IceBreakers = []string{"Where is my order?", "How do returns work?"}
		st.Rules = []app.Rule{
			{Name: "refunds to billing", When: app.RuleWhen{Event: "message", Keywords: []string{"refund", "invoice"}},
				Actions: []app.RuleAction{{Type: "label", Label: "billing"}, {Type: "assign_team", Team: team.ID}, {Type: "priority", Priority: "high"},
					{Type: "reply", Text: "Thanks {{contact.first_name}}, our billing team is on it."}}, Stop: true},
			{Name: "broken reply", When: app.RuleWhen{Event: "message", Keywords: []string{"order"}},
				Actions: []app.RuleAction{{Type: "reply", Text: "Order {{conversation.order}} is on its way"}, {Type: "label", Label: "orders"}}},
			{Name: "vip escalates", When: app.RuleWhen{Event: "label_added", Label: "vip"}, Actions: []app.RuleAction{{Type: "priority", Priority: "urgent"}}},
		}
	})
	// Ice breakers show on the business's profile.
	cust := s.register("cara", "Cara Diaz", parley.KindPerson)
	prof, err := s.a.Profile(s.ctx, cust, "acme")
	if err != nil || len(prof.IceBreakers) != 2 {
		t.Fatalf("profile %+v %v", prof, err)
	}
	conv, _, err := s.a.CreateDirect(s.ctx, cust, "acme")
	if err != nil {
		t.Fatal(err)
	}
	s.say(cust, conv.ID, "Hi, I need a refund for invoice 77")
	v := s.item(conv.ID)
	if v.TeamID != team.ID || assignee(v) != "ann" || v.Priority != "high" || strings.Join(v.Labels, ",") != "billing" {
		t.Fatalf("after the refund rule: %+v", v)
	}
	hist := s.history(cust, conv.ID)
	if !strings.Contains(hist, "Welcome to Acme!") || !strings.Contains(hist, "Thanks Cara, our billing team is on it.") {
		t.Fatalf("history %s", hist)
	}
	if strings.Count(hist, "Welcome to Acme!") != 1 {
		t.Fatal("welcome sent twice")
	}
	// Stop: the order rule did not run on that message; on the next it
	// does, its reply is skipped (missing variable) but its label lands.
	s.say(cust, conv.ID, "and where is my order?")
	if h := s.history(cust, conv.ID); strings.Contains(h, "is on its way") || strings.Count(h, "Welcome") != 1 {
		t.Fatalf("history %s", h)
	}
	if v := s.item(conv.ID); strings.Join(v.Labels, ",") != "billing,orders" {
		t.Fatalf("labels %v", v.Labels)
	}
	// A label added by hand fires label rules.
	labels := []string{"billing", "orders", "vip"}
	if _, err := s.a.UpdateItem(s.ctx, ann, conv.ID, app.ItemChange{Labels: &labels}); err != nil {
		t.Fatal(err)
	}
	if v := s.item(conv.ID); v.Priority != "urgent" {
		t.Fatalf("priority %s after vip", v.Priority)
	}
	// Every firing is in the audit, with what failed.
	rows, _ := s.a.Audit(s.ctx, s.admin, conv.ID, 0, 200)
	var log []string
	for _, r := range rows {
		if r.Action == "rule" {
			log = append(log, string(r.Data))
		}
	}
	if len(log) != 3 || !strings.Contains(log[1], "conversation.order") {
		t.Fatalf("rule audit %v", log)
	}
	// Dry run: what would fire, without doing it.
	res, err := s.a.TestRules(s.ctx, ann, app.RuleTest{Text: "my invoice is wrong", At: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)})
	if err != nil || len(res.Fired) != 1 || res.Fired[0].Name != "refunds to billing" {
		t.Fatalf("dry run %+v %v", res, err)
	}
	before := s.history(cust, conv.ID)
	res, err = s.a.TestRules(s.ctx, ann, app.RuleTest{Text: "order", Rules: []app.Rule{{Name: "try", When: app.RuleWhen{Event: "message", Regex: "ord(er"}, Actions: []app.RuleAction{{Type: "label", Label: "x"}}}}})
	if parley.ErrorCode(err) != parley.EInvalid {
		t.Fatalf("a bad regex in a dry run: %+v %v", res, err)
	}
	if s.history(cust, conv.ID) != before {
		t.Fatal("a dry run wrote something")
	}
}

func TestRuleValidation(t *testing.T) {
	s := newShop(t)
	for name, r := range map[string]app.Rule{
		"no name":       {When: app.RuleWhen{Event: "message"}, Actions: []app.RuleAction{{Type: "label", Label: "x"}}},
		"bad event":     {Name: "x", When: app.RuleWhen{Event: "sometimes"}, Actions: []app.RuleAction{{Type: "label", Label: "x"}}},
		"bad regex":     {Name: "x", When: app.RuleWhen{Event: "message", Regex: "(("}, Actions: []app.RuleAction{{Type: "label", Label: "x"}}},
		"no actions":    {Name: "x", When: app.RuleWhen{Event: "message"}},
		"bad action":    {Name: "x", When: app.RuleWhen{Event: "message"}, Actions: []app.RuleAction{{Type: "delete_everything"}}},
		"bad variable":  {Name: "x", When: app.RuleWhen{Event: "message"}, Actions: []app.RuleAction{{Type: "reply", Text: "{{secret.key}}"}}},
		"bad priority":  {Name: "x", When: app.RuleWhen{Event: "message"}, Actions: []app.RuleAction{{Type: "priority", Priority: "asap"}}},
		"label no name": {Name: "x", When: app.RuleWhen{Event: "label_added"}, Actions: []app.RuleAction{{Type: "priority", Priority: "high"}}},
	} {
		st := &app.BusinessSettings{Rules: []app.Rule{r}}
		if _, err := s.a.PutSettings(s.ctx, s.admin, st); parley.ErrorCode(err) != parley.EInvalid {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
	if _, err := s.a.PutSettings(s.ctx, s.admin, &app.BusinessSettings{IceBreakers: []string{"a", "b", "c", "d", "e"}}); parley.ErrorCode(err) != parley.EInvalid {
		t.Errorf("five ice breakers: %v", err)
	}
}

func TestHandoverRule(t *testing.T) {
	s, _, bot := botShop(t)
	s.agent("ann", "Ann", true)
	s.settings(func(st *app.BusinessSettings) {
		st.AutoAssign = app.AssignRoundRobin
		st.Rules = []app.Rule{{Name: "complaints to people", When: app.RuleWhen{Event: "message", Keywords: []string{"complaint"}},
			Actions: []app.RuleAction{{Type: "handover", Text: "complaint"}}}}
	})
	c, conv := s.customer("Cara")
	if v := s.item(conv); v.Control != "bot" {
		t.Fatalf("control %s", v.Control)
	}
	s.say(c, conv, "I have a complaint")
	if v := s.item(conv); v.Control != "human" || assignee(v) != "ann" {
		t.Fatalf("after the rule: control %s assignee %q", v.Control, assignee(v))
	}
	if _, err := s.botSay(bot, conv, app.SendInput{Text: "hi"}); parley.ErrorCode(err) != parley.EHumanControl {
		t.Fatalf("bot after handover rule: %v", err)
	}
}

// BenchmarkRules measures evaluating 50 rules (keywords and regexes)
// against one customer message.
func BenchmarkRules(b *testing.B) {
	var rules []app.Rule
	for i := range 50 {
		r := app.Rule{Name: "r", When: app.RuleWhen{Event: "message", Keywords: []string{"refund", "invoice", "shipping", "lost"}},
			Actions: []app.RuleAction{{Type: "label", Label: "x"}}}
		if i%5 == 0 {
			r.When.Keywords = nil
			r.When.Regex = `(?i)order\s*#?\d{4,}`
		}
		rules = append(rules, r)
	}
	in := app.RuleInput{Event: "message", Text: "Hello, I ordered a blue jacket last week (order 123456) and it has not arrived yet; can you check?", Open: true}
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		n += app.MatchRules(rules, in)
	}
	if n == 0 {
		b.Fatal("nothing matched")
	}
}
