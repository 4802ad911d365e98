package client_test

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/server"
)

// TestSearchExportAndTimer searches a sent message, exports the
// conversation and downloads the ZIP, and sets a disappearing timer, all
// against a real server.
func TestSearchExportAndTimer(t *testing.T) {
	_, anon := start(t)
	ctx := testContext(t)
	alice := register(t, anon, "alice", "")
	register(t, anon, "bob", "")
	conv, err := alice.StartDirect(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	sent, err := alice.Send(ctx, conv.ID, client.SendRequest{Text: "the lighthouse keeper waves"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Send(ctx, conv.ID, client.SendRequest{Text: "unrelated words"}); err != nil {
		t.Fatal(err)
	}
	var found *client.SearchPage
	eventually(t, "search finds the message", func() bool {
		found, err = alice.Search(ctx, client.SearchQuery{Q: "lighthouse", Conversation: conv.ID})
		return err == nil && len(found.Items) == 1
	})
	if r := found.Items[0]; r.Message.ID != sent.ID || !hasHit(r.Snippet, "lighthouse") {
		t.Fatalf("search result %+v", r)
	}
	if _, err := alice.Business("bob").Search(ctx, client.SearchQuery{Q: "lighthouse"}); err == nil {
		t.Fatal("a non-member searched a business")
	}
	if _, err := alice.Search(ctx, client.SearchQuery{}); err == nil {
		t.Fatalf("an empty query: %v", err)
	}

	job, err := alice.StartExport(ctx, client.ExportRequest{Scope: "conversation", ConversationID: conv.ID})
	if err != nil || job.ID == "" || job.Scope != "conversation" {
		t.Fatalf("start export %+v %v", job, err)
	}
	eventually(t, "the export completes", func() bool {
		job, err = alice.Export(ctx, job.ID)
		if err != nil || job.State == client.ExportFailed {
			t.Fatalf("export %+v %v", job, err)
		}
		return job.State == client.ExportDone
	})
	if jobs, err := alice.Exports(ctx); err != nil || len(jobs) != 1 || jobs[0].ID != job.ID {
		t.Fatalf("exports %+v %v", jobs, err)
	}
	d, err := alice.DownloadExport(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	zip, err := io.ReadAll(d.Body)
	d.Body.Close()
	if err != nil || !strings.HasPrefix(string(zip), "PK") || int64(len(zip)) != job.Size {
		t.Fatalf("download: %d bytes (job says %d), %v", len(zip), job.Size, err)
	}
	if key, err := alice.RecordsKey(ctx); err != nil || key.Algorithm != "ed25519" || key.PublicKey == "" {
		t.Fatalf("records key %+v %v", key, err)
	}

	got, err := alice.SetDisappearing(ctx, conv.ID, client.Disappear1Hour)
	if err != nil || got.DisappearAfter != 3600 {
		t.Fatalf("set the timer %+v %v", got, err)
	}
	if _, err := alice.SetDisappearing(ctx, conv.ID, 42*time.Second); err == nil {
		t.Fatal("a timer outside the allowed values was accepted")
	}
	if got, err := alice.Conversation(ctx, conv.ID); err != nil || got.DisappearAfter != 3600 {
		t.Fatalf("the timer is not kept %+v %v", got, err)
	}
}

func hasHit(parts []client.SnippetPart, word string) bool {
	for _, p := range parts {
		if p.Hit && strings.EqualFold(p.Text, word) {
			return true
		}
	}
	return false
}

// TestTwoFactorAndFilters turns two-factor on and off and manages the
// caller's filters against a real server.
func TestTwoFactorAndFilters(t *testing.T) {
	_, anon := start(t)
	ctx := testContext(t)
	alice := register(t, anon, "alice", "")
	if _, err := alice.SetupTwoFactor(ctx, "wrong password"); err == nil {
		t.Fatal("setup with a wrong password was accepted")
	}
	setup, err := alice.SetupTwoFactor(ctx, "correct horse battery")
	if err != nil || setup.Secret == "" || !strings.HasPrefix(setup.OTPAuthURI, "otpauth://totp/") ||
		!strings.HasPrefix(setup.QRPNG, "data:image/png;base64,") {
		t.Fatalf("setup %+v %v", setup, err)
	}
	if st, err := alice.TwoFactorStatus(ctx); err != nil || st.Enabled || !st.Pending {
		t.Fatalf("status after setup %+v %v", st, err)
	}
	code, err := totp.GenerateCode(setup.Secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	codes, err := alice.ConfirmTwoFactor(ctx, code)
	if err != nil || len(codes) != 10 {
		t.Fatalf("confirm %v %v", codes, err)
	}
	if st, err := alice.TwoFactorStatus(ctx); err != nil || !st.Enabled || st.RecoveryCodesLeft != 10 {
		t.Fatalf("status after confirm %+v %v", st, err)
	}
	auth, err := anon.Login(ctx, client.LoginRequest{Handle: "alice", Password: "correct horse battery"})
	if err != nil || auth.Token != "" || auth.SecondFactor == nil || auth.SecondFactor.Challenge == "" {
		t.Fatalf("login with two-factor on %+v %v", auth, err)
	}
	if _, err := anon.CompleteLogin(ctx, auth.SecondFactor.Challenge, "000000"); err == nil {
		t.Fatal("a wrong code completed the login")
	}
	done, err := anon.CompleteLogin(ctx, auth.SecondFactor.Challenge, codes[1])
	if err != nil || !strings.HasPrefix(done.Token, "prl_") || done.User.Handle != "alice" {
		t.Fatalf("complete login with a recovery code %+v %v", done, err)
	}
	if err := alice.DisableTwoFactor(ctx, "correct horse battery", codes[0]); err != nil {
		t.Fatalf("disable with a recovery code: %v", err)
	}
	if st, err := alice.TwoFactorStatus(ctx); err != nil || st.Enabled {
		t.Fatalf("status after disable %+v %v", st, err)
	}

	f, err := alice.AddFilter(ctx, client.FilterInput{Kind: "word", Pattern: "casino"})
	if err != nil || f.ID == "" || f.Action != "hide" {
		t.Fatalf("add filter %+v %v", f, err)
	}
	if fs, err := alice.Filters(ctx); err != nil || len(fs) != 1 || fs[0].Pattern != "casino" {
		t.Fatalf("filters %+v %v", fs, err)
	}
	if err := alice.DeleteFilter(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	if fs, err := alice.Filters(ctx); err != nil || len(fs) != 0 {
		t.Fatalf("filters after delete %+v %v", fs, err)
	}
	if _, err := alice.ServerFilters(ctx); err == nil {
		t.Fatal("a non-admin read the server filters")
	}
}

// TestConsentTopics creates, lists, renames and deletes a business's
// consent topic against a real server.
func TestConsentTopics(t *testing.T) {
	_, anon := start(t)
	ctx := testContext(t)
	shop := register(t, anon, "shop", "business").Business("shop")
	topic, err := shop.CreateTopic(ctx, client.TopicInput{Name: "Offers", Keyword: "OFFERS"})
	if err != nil || topic.ID == "" || topic.FormPath != "/api/v1/consent/"+topic.FormToken || topic.LinkPath != "/subscribe/"+topic.FormToken {
		t.Fatalf("create topic %+v %v", topic, err)
	}
	if ts, err := shop.Topics(ctx); err != nil || len(ts) != 1 || ts[0].Name != "Offers" {
		t.Fatalf("topics %+v %v", ts, err)
	}
	if up, err := shop.UpdateTopic(ctx, topic.ID, client.TopicInput{Name: "Deals"}); err != nil || up.Name != "Deals" {
		t.Fatalf("update topic %+v %v", up, err)
	}
	tpl, err := shop.CreateTemplate(ctx, client.TemplateInput{Name: "Sale", Body: "Hi {{contact.name}}, 20% off today", Topic: topic.ID})
	if err != nil || tpl.ID == "" || tpl.Status != client.TemplateDraft || len(tpl.Variables) != 1 || tpl.Topic == nil || tpl.Topic.ID != topic.ID || tpl.Variables[0] != "contact.name" {
		t.Fatalf("create template %+v %v", tpl, err)
	}
	if up, err := shop.UpdateTemplate(ctx, tpl.ID, client.TemplateInput{Status: client.TemplateApproved}); err != nil || up.Status != client.TemplateApproved {
		t.Fatalf("approve template %+v %v", up, err)
	}
	if ts, err := shop.Templates(ctx); err != nil || len(ts) != 1 || ts[0].ID != tpl.ID {
		t.Fatalf("templates %+v %v", ts, err)
	}
	if n, err := shop.CountSegment(ctx, client.Segment{Topics: []string{topic.ID}}); err != nil || n != 0 {
		t.Fatalf("count segment %d %v", n, err)
	}
	camp, err := shop.CreateCampaign(ctx, client.CampaignInput{Name: "Spring", Template: tpl.ID})
	if err != nil || camp.ID == "" || camp.Status != "draft" || camp.Template == nil || camp.Template.ID != tpl.ID {
		t.Fatalf("create campaign %+v %v", camp, err)
	}
	if cs, err := shop.Campaigns(ctx); err != nil || len(cs) != 1 || cs[0].ID != camp.ID {
		t.Fatalf("campaigns %+v %v", cs, err)
	}
	if got, err := shop.SetCampaignStatus(ctx, camp.ID, "cancelled", nil); err != nil || got.Status != "cancelled" {
		t.Fatalf("cancel campaign %+v %v", got, err)
	}
	if got, err := shop.Campaign(ctx, camp.ID); err != nil || got.Status != "cancelled" {
		t.Fatalf("campaign %+v %v", got, err)
	}
	if rs, err := shop.CampaignRecipients(ctx, camp.ID, client.RecipientQuery{}); err != nil || len(rs.Items) != 0 {
		t.Fatalf("recipients %+v %v", rs, err)
	}
	if st, err := shop.CampaignStats(ctx, camp.ID, 0); err != nil || st.Campaign != camp.ID || st.Status != "cancelled" || len(st.Series) != 0 || st.AttributionHours != 168 {
		t.Fatalf("stats %+v %v", st, err)
	}
	if _, err := shop.CampaignStats(ctx, camp.ID, 7*time.Second); !client.IsCode(err, "invalid") {
		t.Fatalf("stats with a bad bucket: %v", err)
	}
	if err := shop.DeleteTemplate(ctx, tpl.ID); err != nil {
		t.Fatal(err)
	}
	if err := shop.DeleteTopic(ctx, topic.ID); err != nil {
		t.Fatal(err)
	}
	if ts, err := shop.Topics(ctx); err != nil || len(ts) != 0 {
		t.Fatalf("topics after delete %+v %v", ts, err)
	}
}

// TestRequestsHoldsAndRetention reports a request as spam, declines
// requests in bulk, and manages a business's legal holds and retention
// against a real server.
func TestRequestsHoldsAndRetention(t *testing.T) {
	_, anon := start(t)
	ctx := testContext(t)
	alice := register(t, anon, "alice", "")
	bob := register(t, anon, "bob", "")
	carol := register(t, anon, "carol", "")
	spam, err := bob.StartDirect(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Send(ctx, spam.ID, client.SendRequest{Text: "cheap watches"}); err != nil {
		t.Fatal(err)
	}
	req, err := carol.StartDirect(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := carol.Send(ctx, req.ID, client.SendRequest{Text: "hello"}); err != nil {
		t.Fatal(err)
	}
	if err := alice.ReportSpam(ctx, spam.ID); err != nil {
		t.Fatalf("report spam: %v", err)
	}
	res, err := alice.BulkRequests(ctx, "decline", []string{req.ID, "nonexistent"})
	if err != nil || len(res) != 2 || !res[0].OK || res[0].ID != req.ID || res[1].OK || res[1].Code == "" {
		t.Fatalf("bulk decline %+v %v", res, err)
	}
	if reqs, err := alice.Conversations(ctx, client.ConversationQuery{Folder: "requests"}); err != nil || len(reqs.Items) != 0 {
		t.Fatalf("requests left %+v %v", reqs, err)
	}

	shop := register(t, anon, "shop", "business").Business("shop")
	conv, err := alice.StartDirect(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Send(ctx, conv.ID, client.SendRequest{Text: "my order"}); err != nil {
		t.Fatal(err)
	}
	hold, err := shop.PlaceHold(ctx, client.HoldInput{Scope: "conversation", Target: conv.ID, Reason: "dispute"})
	if err != nil || !hold.Active || hold.TargetID != conv.ID {
		t.Fatalf("place hold %+v %v", hold, err)
	}
	if hs, err := shop.Holds(ctx); err != nil || len(hs) != 1 || hs[0].ID != hold.ID {
		t.Fatalf("holds %+v %v", hs, err)
	}
	if _, err := alice.Business("shop").Holds(ctx); err == nil {
		t.Fatal("a customer listed the business's holds")
	}
	if r, err := shop.ReleaseHold(ctx, hold.ID); err != nil || r.Active || r.ReleasedAt == nil {
		t.Fatalf("release hold %+v %v", r, err)
	}
	pol, err := shop.SetRetention(ctx, 30, 7)
	if err != nil || pol.MaxAgeDays != 30 || pol.AfterResolutionDays != 7 {
		t.Fatalf("set retention %+v %v", pol, err)
	}
	if got, err := shop.Retention(ctx); err != nil || *got != *pol {
		t.Fatalf("retention %+v %v", got, err)
	}
	job, err := shop.StartRetention(ctx, true)
	if err != nil || job.ID == "" || !job.DryRun {
		t.Fatalf("start retention %+v %v", job, err)
	}
	eventually(t, "the dry run finishes", func() bool {
		job, err = shop.RetentionJob(ctx, job.ID)
		if err != nil || job.State == "failed" {
			t.Fatalf("retention job %+v %v", job, err)
		}
		return job.State == "done"
	})
	if job.Purged != 0 {
		t.Fatalf("a dry run purged %d messages", job.Purged)
	}
}

// TestWebhooks registers, reads, changes, tests and deletes a webhook
// against a real server (no delivery has to succeed).
func TestWebhooks(t *testing.T) {
	_, anon := start(t)
	ctx := testContext(t)
	bot := register(t, anon, "helper", "bot")
	if _, err := bot.CreateWebhook(ctx, client.WebhookInput{URL: "http://127.0.0.1/x", Events: []string{"message.created"}}); err == nil {
		t.Fatal("a plain-http loopback webhook was accepted")
	}
	hook, err := bot.CreateWebhook(ctx, client.WebhookInput{URL: "https://hooks.example.com/parley", Events: []string{"message.created"}})
	if err != nil || hook.ID == "" || hook.Secret == "" || !hook.Enabled {
		t.Fatalf("create webhook %+v %v", hook, err)
	}
	if hs, err := bot.Webhooks(ctx); err != nil || len(hs) != 1 || hs[0].ID != hook.ID || hs[0].Secret != "" {
		t.Fatalf("webhooks %+v %v", hs, err)
	}
	off := false
	if h, err := bot.UpdateWebhook(ctx, hook.ID, client.WebhookChange{Enabled: &off}); err != nil || h.Enabled {
		t.Fatalf("disable webhook %+v %v", h, err)
	}
	if h, err := bot.Webhook(ctx, hook.ID); err != nil || h.Enabled || h.URL != hook.URL {
		t.Fatalf("webhook %+v %v", h, err)
	}
	on := true
	if _, err := bot.UpdateWebhook(ctx, hook.ID, client.WebhookChange{Enabled: &on}); err != nil {
		t.Fatal(err)
	}
	d, err := bot.TestWebhook(ctx, hook.ID)
	if err != nil || d.ID == "" {
		t.Fatalf("test webhook %+v %v", d, err)
	}
	if ds, err := bot.Deliveries(ctx, hook.ID, client.DeliveryQuery{}); err != nil || len(ds.Items) == 0 || ds.Items[0].ID != d.ID {
		t.Fatalf("deliveries %+v %v", ds, err)
	}
	if err := bot.DeleteWebhook(ctx, hook.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := bot.Webhook(ctx, hook.ID); !client.IsNotFound(err) {
		t.Fatalf("a deleted webhook: %v", err)
	}
}

// TestConsentFormAndSubscriptions opts a person in through a topic's link,
// reads their consent as the business, and unsubscribes them, against a
// real server.
func TestConsentFormAndSubscriptions(t *testing.T) {
	_, anon := start(t)
	ctx := testContext(t)
	shop := register(t, anon, "shop", "business").Business("shop")
	alice := register(t, anon, "alice", "")
	topic, err := shop.CreateTopic(ctx, client.TopicInput{Name: "News"})
	if err != nil {
		t.Fatal(err)
	}
	form, err := anon.ConsentForm(ctx, topic.FormToken)
	if err != nil || form.Business.Handle != "shop" || form.Topic.ID != topic.ID {
		t.Fatalf("consent form %+v %v", form, err)
	}
	sub, err := alice.SubmitConsentForm(ctx, topic.FormToken)
	if err != nil || sub.Business.Handle != "shop" || len(sub.Topics) != 1 || !sub.Topics[0].OptedIn {
		t.Fatalf("submit form %+v %v", sub, err)
	}
	if subs, err := alice.Subscriptions(ctx); err != nil || len(subs) != 1 || subs[0].Topics[0].Topic.ID != topic.ID {
		t.Fatalf("subscriptions %+v %v", subs, err)
	}
	contacts, err := shop.Contacts(ctx, "", "", 0)
	if err != nil || len(contacts.Items) != 1 {
		t.Fatalf("contacts %+v %v", contacts, err)
	}
	contact := contacts.Items[0].ID
	if c, err := shop.Consent(ctx, contact); err != nil || len(c.Topics) != 1 || !c.Topics[0].OptedIn || len(c.Records) == 0 {
		t.Fatalf("consent %+v %v", c, err)
	}
	vip, note := "vip", "prefers mornings"
	if c, err := shop.UpdateContact(ctx, contact, client.ContactChange{Attributes: map[string]*string{"tier": &vip}, Labels: []string{"loyal"}, Notes: &note}); err != nil ||
		c.Attributes["tier"] != "vip" || len(c.Labels) != 1 || c.Labels[0] != "loyal" || c.Notes != note {
		t.Fatalf("update contact %+v %v", c, err)
	}
	if _, err := shop.MergeContact(ctx, contact, contact); err == nil {
		t.Fatal("a contact was merged into itself")
	}
	if c, err := shop.OptOut(ctx, contact, topic.ID); err != nil || c.Topics[0].OptedIn {
		t.Fatalf("opt out %+v %v", c, err)
	}
	if c, err := shop.OptIn(ctx, contact, topic.ID); err != nil || !c.Topics[0].OptedIn {
		t.Fatalf("opt in %+v %v", c, err)
	}
	if s, err := alice.UnsubscribeTopic(ctx, "shop", topic.ID); err != nil || s.Topics[0].OptedIn {
		t.Fatalf("unsubscribe topic %+v %v", s, err)
	}
	if s, err := alice.Unsubscribe(ctx, "shop"); err != nil || s.StoppedAt == nil {
		t.Fatalf("unsubscribe %+v %v", s, err)
	}
	if c, err := shop.OptOutAll(ctx, contact); err != nil || c.StoppedAt == nil {
		t.Fatalf("opt out of all %+v %v", c, err)
	}
}

// TestAdminHoldsAndRetention places and releases a server-wide hold and
// runs a dry retention pass as a server admin, against a real server.
func TestAdminHoldsAndRetention(t *testing.T) {
	_, anon := start(t, func(c *server.Config) { c.App.Admins = []string{"operator"} })
	ctx := testContext(t)
	root := register(t, anon, "operator", "")
	alice := register(t, anon, "alice", "")
	if _, err := alice.AdminHolds(ctx); err == nil {
		t.Fatal("a non-admin listed the holds")
	}
	bob := register(t, anon, "bob", "")
	if _, err := alice.Report(ctx, "bob", client.ReportRequest{Reason: "spam", Detail: "ads"}); err != nil {
		t.Fatal(err)
	}
	reports, err := root.Reports(ctx, "open", "", 0)
	if err != nil || len(reports.Items) != 1 || reports.Items[0].Target.Handle != "bob" || reports.Items[0].Reason != "spam" {
		t.Fatalf("reports %+v %v", reports, err)
	}
	if r, err := root.ResolveReport(ctx, reports.Items[0].ID, client.ResolveRequest{Action: "dismiss"}); err != nil || r.Status != "resolved" || r.Resolution != "dismiss" {
		t.Fatalf("resolve %+v %v", r, err)
	}
	if _, err := bob.Reports(ctx, "", "", 0); err == nil {
		t.Fatal("a non-admin read the reports")
	}
	pack, err := root.CreateStickerPack(ctx, "Cats")
	if err != nil || pack.ID == "" || pack.Name != "Cats" {
		t.Fatalf("create sticker pack %+v %v", pack, err)
	}
	if _, err := alice.CreateStickerPack(ctx, "Dogs"); err == nil {
		t.Fatal("a non-admin created a sticker pack")
	}
	if _, err := alice.StickerImage(ctx, "nonexistent"); !client.IsNotFound(err) {
		t.Fatalf("an unknown sticker: %v", err)
	}
	if err := root.DeleteStickerPack(ctx, pack.ID); err != nil {
		t.Fatal(err)
	}
	if ps, err := alice.StickerPacks(ctx); err != nil || len(ps) != 0 {
		t.Fatalf("packs after delete %+v %v", ps, err)
	}
	hold, err := root.AdminPlaceHold(ctx, client.AdminHoldInput{Scope: "account", Target: "alice", Reason: "court order"})
	if err != nil || !hold.Active || hold.Scope != "account" {
		t.Fatalf("place hold %+v %v", hold, err)
	}
	if hs, err := root.AdminHolds(ctx); err != nil || len(hs) != 1 || hs[0].ID != hold.ID {
		t.Fatalf("holds %+v %v", hs, err)
	}
	if r, err := root.AdminReleaseHold(ctx, hold.ID); err != nil || r.Active {
		t.Fatalf("release %+v %v", r, err)
	}
	job, err := root.AdminStartRetention(ctx, true)
	if err != nil || !job.DryRun {
		t.Fatalf("start retention %+v %v", job, err)
	}
	eventually(t, "the dry run finishes", func() bool {
		job, err = root.AdminRetentionJob(ctx, job.ID)
		if err != nil || job.State == "failed" {
			t.Fatalf("retention job %+v %v", job, err)
		}
		return job.State == "done"
	})
}

// TestTeams creates a team with hours, adds and removes an agent, and
// deletes it, against a real server.
func TestTeams(t *testing.T) {
	_, anon := start(t)
	ctx := testContext(t)
	shop := register(t, anon, "shop", "business").Business("shop")
	register(t, anon, "ann", "")
	agent := "agent"
	if _, err := shop.SetAgent(ctx, "ann", client.AgentChange{Role: &agent}); err != nil {
		t.Fatal(err)
	}
	name, rr := "Support", client.AssignRoundRobin
	team, err := shop.CreateTeam(ctx, client.TeamInput{Name: &name, Assign: &rr,
		Hours: &client.Hours{TimeZone: "Europe/Berlin", Days: map[string][]string{"mon": {"09:00-17:00"}}}})
	if err != nil || team.ID == "" || team.Assign != rr || team.Hours == nil || team.Hours.TimeZone != "Europe/Berlin" {
		t.Fatalf("create team %+v %v", team, err)
	}
	if err := shop.AddTeamMember(ctx, team.ID, "ann"); err != nil {
		t.Fatal(err)
	}
	if ts, err := shop.Teams(ctx); err != nil || len(ts) != 1 || len(ts[0].Members) != 1 || ts[0].Members[0].Handle != "ann" {
		t.Fatalf("teams %+v %v", ts, err)
	}
	if up, err := shop.UpdateTeam(ctx, team.ID, client.TeamInput{ClearHours: true}); err != nil || up.Hours != nil || up.Name != name {
		t.Fatalf("update team %+v %v", up, err)
	}
	if err := shop.RemoveTeamMember(ctx, team.ID, "ann"); err != nil {
		t.Fatal(err)
	}
	if err := shop.DeleteTeam(ctx, team.ID); err != nil {
		t.Fatal(err)
	}
	if ts, err := shop.Teams(ctx); err != nil || len(ts) != 0 {
		t.Fatalf("teams after delete %+v %v", ts, err)
	}

	alice := register(t, anon, "alice", "")
	conv, err := alice.StartDirect(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Send(ctx, conv.ID, client.SendRequest{Text: "my parcel never arrived"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the business search finds the message", func() bool {
		res, err := shop.Search(ctx, client.SearchQuery{Q: "parcel"})
		return err == nil && len(res.Items) == 1 && res.Items[0].Message.ConversationID == conv.ID
	})
}
