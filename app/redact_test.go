package app_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
)

func TestRedact(t *testing.T) {
	w := newEraseWorld(t, app.DeletionErase)
	ctx := context.Background()
	a := w.e.a
	m := w.aliceMsgs[0] // edited once: "zanzibar first draft" → "zanzibar final words"
	reply, _, err := a.Send(ctx, w.bob, w.direct, app.SendInput{Text: "replying", ReplyTo: m.ID})
	if err != nil {
		t.Fatal(err)
	}

	start, err := a.Sync(ctx, w.bob, app.SinceHead, 1) // a device that follows from the head
	if err != nil {
		t.Fatal(err)
	}

	// Authorization: another member may not; a stranger does not see it.
	if _, err := a.Redact(ctx, w.bob, w.direct, m.ID); parley.ErrorCode(err) != parley.EForbidden {
		t.Fatalf("bob redacts alice's message: %v, want forbidden", err)
	}
	if _, err := a.Redact(ctx, w.carol, w.direct, m.ID); !parley.IsNotFound(err) {
		t.Fatalf("a non-member redacts: %v, want not_found", err)
	}
	sys := w.history(t, w.alice, w.group)[0]
	if _, err := a.Redact(ctx, w.alice, w.group, sys.ID); parley.ErrorCode(err) != parley.EForbidden {
		t.Fatalf("redact a system message: %v, want forbidden", err)
	}

	v, err := a.Redact(ctx, w.alice, w.direct, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Redacted || v.Text != app.RedactedText || v.EditedAt != nil || v.Deleted || v.RedactedAt == nil {
		t.Fatalf("redacted view %+v", v)
	}
	if again, err := a.Redact(ctx, w.alice, w.direct, m.ID); err != nil || !again.RedactedAt.Equal(*v.RedactedAt) {
		t.Fatalf("redact twice: %v, %+v", err, again)
	}
	// Everyone sees the placeholder; reactions and the place stay.
	for _, who := range []*app.Actor{w.alice, w.bob} {
		got := byID(w.history(t, who, w.direct), m.ID)
		if got == nil || !got.Redacted || got.Text != app.RedactedText || len(got.Reactions) != 1 {
			t.Fatalf("%s sees %+v", who.User.Handle, got)
		}
		r := byID(w.history(t, who, w.direct), reply.ID)
		if r.ReplyTo == nil || !r.ReplyTo.Redacted || r.ReplyTo.Text != app.RedactedText {
			t.Fatalf("reply preview after redaction: %+v", r.ReplyTo)
		}
	}
	if h, err := a.EditHistory(ctx, w.bob, w.direct, m.ID); err != nil || len(h) != 0 {
		t.Fatalf("edit history after redaction: %v %+v", err, h)
	}
	// Search: neither the text nor the placeholder.
	if n := w.found(t, w.bob, "final"); n != 0 {
		t.Fatalf("search finds the redacted text (%d)", n)
	}
	if n := w.found(t, w.bob, "redacted"); n != 0 {
		t.Fatalf("search finds the placeholder (%d)", n)
	}
	if n := w.found(t, w.bob, "zanzibar"); n != 2 {
		t.Fatalf("search finds %d of alice's other messages, want 2", n)
	}
	// The inbox preview shows the placeholder too, once it is the last.
	pic := w.aliceMsgs[1]
	if _, err := a.Redact(ctx, w.alice, w.direct, pic.ID); err != nil {
		t.Fatal(err)
	}
	if w.blobExists(w.blobKey) {
		t.Fatal("a redacted picture's blob is still on disk")
	}
	if got := byID(w.history(t, w.bob, w.direct), pic.ID); len(got.Attachments) != 0 || got.Text != app.RedactedText {
		t.Fatalf("redacted picture %+v", got)
	}

	// Sync tells devices with message.redacted and the placeholder.
	page, err := a.Sync(ctx, w.bob, start.Next, 500)
	if err != nil {
		t.Fatal(err)
	}
	var events int
	for _, e := range page.Events {
		if e.Type == parley.EventMessageRedacted {
			events++
			if e.Message == nil || e.Message.Text != app.RedactedText {
				t.Fatalf("redacted event %+v", e)
			}
		}
		if e.Message != nil && strings.Contains(e.Message.Text, "final words") {
			t.Fatalf("sync still carries the text: %+v", e.Message)
		}
	}
	if events != 2 {
		t.Fatalf("%d message.redacted events, want 2", events)
	}

	// The export shows it redacted and verifies; the chain has the entry.
	rc, all := w.exportVerified(t, w.bob, w.direct)
	if strings.Contains(all, "final words") || strings.Contains(all, "first draft") {
		t.Fatal("redacted text in the export")
	}
	if !strings.Contains(all, `"kind":"redact"`) {
		t.Fatal("no redact entry in the chain")
	}
	var marked int
	for _, em := range rc.Messages {
		if em.ID == m.ID || em.ID == pic.ID {
			if !em.Redacted || !em.Purged || em.Text != "" || em.RedactedAt == nil {
				t.Fatalf("exported redacted message %+v", em)
			}
			marked++
		}
	}
	if marked != 2 {
		t.Fatalf("%d redacted messages in the export, want 2", marked)
	}

	// The audit log records who and when, never the content.
	recs, _, err := a.AuditLog(ctx, app.AuditQuery{Action: app.AuditMessageRedact})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].ActorID != w.alice.User.ID || recs[0].TargetID != m.ID || recs[0].Details["conversation"] != w.direct {
		t.Fatalf("audit of the redaction: %+v", recs)
	}
	if s := fmt.Sprint(recs); strings.Contains(s, "zanzibar") {
		t.Fatalf("the audit log holds the content: %s", s)
	}
	// A message unsent already has nothing to redact.
	gone := w.aliceMsgs[2]
	if err := a.Unsend(ctx, w.alice, w.group, gone.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Redact(ctx, w.alice, w.group, gone.ID); parley.ErrorCode(err) != parley.EConflict {
		t.Fatalf("redact an unsent message: %v, want conflict", err)
	}
}

// TestRedactByBusinessAdmin: an admin of a business redacts a customer's
// message in the business's inbox; an agent may not.
func TestRedactByBusinessAdmin(t *testing.T) {
	e := newRecordsApp(t)
	ctx := context.Background()
	if _, err := e.a.Register(ctx, app.Registration{Handle: "shop", Password: "shop password ok", Kind: parley.KindBusiness}); err != nil {
		t.Fatal(err)
	}
	cust, boss, agent := e.user(t, "cust"), e.user(t, "boss"), e.user(t, "agent")
	ba, err := e.a.AsBusiness(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	for handle, role := range map[string]string{"boss": "admin", "agent": "agent"} {
		if _, err := e.a.PutAgent(ctx, ba, handle, app.AgentChange{Role: &role}); err != nil {
			t.Fatal(err)
		}
	}
	conv, _, err := e.a.CreateDirect(ctx, cust, "shop")
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := e.a.Send(ctx, cust, conv.ID, app.SendInput{Text: "my card is 4111 1111 1111 1111", ConfirmSensitive: true})
	if err != nil {
		t.Fatal(err)
	}
	asAgent, err := e.a.ActAs(ctx, agent, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.Redact(ctx, asAgent.Actor, conv.ID, m.ID); parley.ErrorCode(err) != parley.EForbidden {
		t.Fatalf("an agent redacts a customer's message: %v, want forbidden", err)
	}
	asAdmin, err := e.a.ActAs(ctx, boss, "shop")
	if err != nil {
		t.Fatal(err)
	}
	v, err := e.a.Redact(ctx, asAdmin.Actor, conv.ID, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Redacted {
		t.Fatalf("admin's redaction: %+v", v)
	}
	recs, _, err := e.a.AuditLog(ctx, app.AuditQuery{Action: app.AuditMessageRedact})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].ActorID != boss.User.ID || recs[0].Details["business"] == "" {
		t.Fatalf("audit of the admin's redaction: %+v", recs)
	}
}

// TestRedactUnderLegalHold: a hold on the conversation, on a member's
// account or on the customer's contact refuses the redaction with
// legal_hold (audited as refused, the content kept as it was); once the
// hold is released the redaction goes through.
func TestRedactUnderLegalHold(t *testing.T) {
	e := newRecordsApp(t)
	ctx := context.Background()
	a := e.a
	if _, err := a.Register(ctx, app.Registration{Handle: "shop", Password: "shop password ok", Kind: parley.KindBusiness}); err != nil {
		t.Fatal(err)
	}
	alice, bob, boss := e.user(t, "alice"), e.user(t, "bob"), e.user(t, "boss")
	conv, _, err := a.CreateDirect(ctx, alice, "bob")
	if err != nil {
		t.Fatal(err)
	}
	text := "my card is 4111 1111 1111 1111"
	send := func(who *app.Actor, conv string) *app.MessageView {
		t.Helper()
		m, _, err := a.Send(ctx, who, conv, app.SendInput{Text: text, ConfirmSensitive: true})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	refused := func(who *app.Actor, conv string, m *app.MessageView) {
		t.Helper()
		if _, err := a.Redact(ctx, who, conv, m.ID); parley.ErrorCode(err) != parley.ELegalHold {
			t.Fatalf("redact under a hold: %v, want legal_hold", err)
		}
		page, err := a.Messages(ctx, who, conv, app.HistoryQuery{Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		if got := byID(page.Items, m.ID); got == nil || got.Redacted || got.Text != text {
			t.Fatalf("held message after a refused redaction: %+v", got)
		}
	}
	audits := func(action string) []*app.AuditRecordView {
		t.Helper()
		recs, _, err := a.AuditLog(ctx, app.AuditQuery{Action: action})
		if err != nil {
			t.Fatal(err)
		}
		return recs
	}

	// A conversation hold.
	m1 := send(alice, conv.ID)
	h, err := a.PlaceHold(ctx, "ops", app.HoldInput{Scope: "conversation", Target: conv.ID, Reason: "dispute"})
	if err != nil {
		t.Fatal(err)
	}
	refused(alice, conv.ID, m1)
	recs := audits(app.AuditMessageRedactRefused)
	if len(recs) != 1 || recs[0].ActorID != alice.User.ID || recs[0].TargetID != m1.ID || recs[0].Details["reason"] != "legal_hold" {
		t.Fatalf("audit of the refusal: %+v", recs)
	}
	if n := len(audits(app.AuditMessageRedact)); n != 0 {
		t.Fatalf("%d redactions audited under the hold", n)
	}
	if _, err := a.ReleaseHold(ctx, "ops", h.ID); err != nil {
		t.Fatal(err)
	}
	if v, err := a.Redact(ctx, alice, conv.ID, m1.ID); err != nil || !v.Redacted {
		t.Fatalf("redact after the release: %v %+v", err, v)
	}
	if n := len(audits(app.AuditMessageRedact)); n != 1 {
		t.Fatalf("%d redactions audited after the release, want 1", n)
	}

	// An account hold on the other member covers the conversation too.
	m2 := send(alice, conv.ID)
	h, err = a.PlaceHold(ctx, "ops", app.HoldInput{Scope: "account", Target: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	refused(alice, conv.ID, m2)
	if _, err := a.ReleaseHold(ctx, "ops", h.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Redact(ctx, alice, conv.ID, m2.ID); err != nil {
		t.Fatalf("redact after the account hold's release: %v", err)
	}
	_ = bob

	// A business's contact hold refuses its admin's redaction.
	ba, err := a.AsBusiness(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	role := "admin"
	if _, err := a.PutAgent(ctx, ba, "boss", app.AgentChange{Role: &role}); err != nil {
		t.Fatal(err)
	}
	cust, _, err := a.CreateDirect(ctx, alice, "shop")
	if err != nil {
		t.Fatal(err)
	}
	m3 := send(alice, cust.ID)
	asAdmin, err := a.ActAs(ctx, boss, "shop")
	if err != nil {
		t.Fatal(err)
	}
	d, err := a.InboxConversation(ctx, asAdmin, cust.ID)
	if err != nil {
		t.Fatal(err)
	}
	bh, err := a.PlaceBusinessHold(ctx, asAdmin, app.HoldInput{Scope: "contact", Target: d.Item.Contact.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Redact(ctx, asAdmin.Actor, cust.ID, m3.ID); parley.ErrorCode(err) != parley.ELegalHold {
		t.Fatalf("admin redacts under a contact hold: %v, want legal_hold", err)
	}
	recs = audits(app.AuditMessageRedactRefused)
	if len(recs) != 3 {
		t.Fatalf("%d refusals audited, want 3", len(recs))
	}
	var byAdmin int
	for _, r := range recs {
		if r.ActorID == boss.User.ID && r.TargetID == m3.ID && r.Details["business"] != "" {
			byAdmin++
		}
	}
	if byAdmin != 1 {
		t.Fatalf("audit of the admin's refused redaction: %d entries", byAdmin)
	}
	if _, err := a.ReleaseBusinessHold(ctx, asAdmin, bh.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Redact(ctx, asAdmin.Actor, cust.ID, m3.ID); err != nil {
		t.Fatalf("admin redacts after the release: %v", err)
	}
}
