package client_test

import (
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/client"
)

// TestSettingsRulesAuditAndReport changes a business's settings, dry-runs
// and then fires an automation rule, and reads the audit and the report
// that follow, against a real server.
func TestSettingsRulesAuditAndReport(t *testing.T) {
	_, anon := start(t)
	ctx := testContext(t)
	shop := register(t, anon, "shop", "business")
	ann := register(t, anon, "ann", "")
	alice := register(t, anon, "alice", "")
	agent := "agent"
	if _, err := shop.Business("shop").SetAgent(ctx, "ann", client.AgentChange{Role: &agent}); err != nil {
		t.Fatal(err)
	}
	admin, inbox := shop.Business("shop"), ann.Business("shop")

	st, err := inbox.Settings(ctx)
	if err != nil || st.CSAT || len(st.Rules) != 0 {
		t.Fatalf("settings %+v %v", st, err)
	}
	refunds := client.Rule{Name: "refunds", When: client.RuleWhen{Event: client.RuleOnMessage, Keywords: []string{"refund"}},
		Actions: []client.RuleAction{{Type: client.ActionLabel, Label: "refunds"}, {Type: client.ActionPriority, Priority: "high"}}}
	st.Rules = []client.Rule{refunds}
	st.SLA = map[string]client.SLATarget{"high": {FirstResponseMinutes: 30}}
	st.Welcome = "Thanks for writing to the shop."
	if _, err := inbox.SetSettings(ctx, *st); !client.IsCode(err, "forbidden") {
		t.Fatalf("an agent replaced the settings: %v", err)
	}
	saved, err := admin.SetSettings(ctx, *st)
	if err != nil || len(saved.Rules) != 1 || saved.Rules[0].Name != "refunds" || saved.SLA["high"].FirstResponseMinutes != 30 {
		t.Fatalf("set settings %+v %v", saved, err)
	}
	if got, err := inbox.Settings(ctx); err != nil || got.Welcome != st.Welcome || len(got.Rules) != 1 {
		t.Fatalf("settings after set %+v %v", got, err)
	}
	bad := *st
	bad.AutoAssign = "by_lottery"
	if _, err := admin.SetSettings(ctx, bad); !client.IsCode(err, "invalid") {
		t.Fatalf("an unknown assign mode: %v", err)
	}

	// The dry run fires the saved rule for a matching text only, and
	// tests rules given in the request instead when asked to.
	if r, err := inbox.TestRules(ctx, client.RuleTest{Text: "I want a REFUND please"}); err != nil || len(r.Fired) != 1 || r.Fired[0].Name != "refunds" {
		t.Fatalf("test rules %+v %v", r, err)
	}
	if r, err := inbox.TestRules(ctx, client.RuleTest{Text: "where is my parcel"}); err != nil || len(r.Fired) != 0 {
		t.Fatalf("test rules, no match %+v %v", r, err)
	}
	parcel := client.Rule{Name: "parcel", When: client.RuleWhen{Event: client.RuleOnMessage, Regex: `parcel|package`},
		Actions: []client.RuleAction{{Type: client.ActionLabel, Label: "shipping"}}}
	if r, err := inbox.TestRules(ctx, client.RuleTest{Text: "where is my parcel", Rules: []client.Rule{parcel}}); err != nil ||
		len(r.Fired) != 1 || r.Fired[0].Name != "parcel" {
		t.Fatalf("test given rules %+v %v", r, err)
	}

	// A real message fires the rule; the audit shows it.
	conv, err := alice.StartDirect(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Send(ctx, conv.ID, client.SendRequest{Text: "I need a refund"}); err != nil {
		t.Fatal(err)
	}
	if d, err := inbox.Conversation(ctx, conv.ID); err != nil || !slices.Contains(d.Item.Labels, "refunds") || d.Item.Priority != "high" {
		t.Fatalf("the rule did not apply: %+v %v", d, err)
	}
	rows, err := inbox.ConversationAudit(ctx, conv.ID, 0, 0)
	if err != nil || !hasAction(rows, "opened") || !hasAction(rows, "rule") {
		t.Fatalf("conversation audit %+v %v", rows, err)
	}
	for _, r := range rows {
		if r.ConversationID != conv.ID {
			t.Fatalf("a row of another conversation: %+v", r)
		}
	}
	if rest, err := inbox.ConversationAudit(ctx, conv.ID, rows[0].ID, 0); err != nil || len(rest) != len(rows)-1 {
		t.Fatalf("audit after the first row: %d rows, want %d (%v)", len(rest), len(rows)-1, err)
	}
	if _, err := inbox.Audit(ctx, 0, 0); !client.IsCode(err, "forbidden") {
		t.Fatalf("an agent read the business's audit: %v", err)
	}
	first, err := admin.Audit(ctx, 0, 1)
	if err != nil || len(first) != 1 || first[0].Action != "member" {
		t.Fatalf("business audit, first row (ann joined) %+v %v", first, err)
	}
	if rest, err := admin.Audit(ctx, first[0].ID, 0); err != nil || !slices.ContainsFunc(rest, func(r client.AuditEntry) bool { return r.ID == rows[0].ID }) {
		t.Fatalf("business audit after the first row %+v %v", rest, err)
	}

	// The report counts the opened conversation, as JSON and as CSV.
	q := client.ReportQuery{From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Hour), Bucket: "hour"}
	rep, err := admin.Report(ctx, q)
	if err != nil || rep.Bucket != "hour" || rep.Totals.Opened != 1 || len(rep.Volume) == 0 {
		t.Fatalf("report %+v %v", rep, err)
	}
	if _, err := admin.Report(ctx, client.ReportQuery{Bucket: "minute"}); !client.IsCode(err, "invalid") {
		t.Fatalf("a bad bucket: %v", err)
	}
	d, err := admin.ReportCSV(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	csv, err := io.ReadAll(d.Body)
	d.Body.Close()
	if err != nil || !strings.HasPrefix(string(csv), "scope,name,opened") || !strings.Contains(string(csv), "\ntotal,,1,") ||
		!strings.HasPrefix(d.ContentType, "text/csv") {
		t.Fatalf("report CSV (%s):\n%s %v", d.ContentType, csv, err)
	}
}

func hasAction(rows []client.AuditEntry, action string) bool {
	return slices.ContainsFunc(rows, func(r client.AuditEntry) bool { return r.Action == action })
}
