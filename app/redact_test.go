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

	start, err := a.Sync(ctx, w.bob, 0, 1) // a new device: the head to follow from
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
