package app_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/internal/mediatest"
	"github.com/parleyhq/parley/records"
)

// TestHiddenMessagesStayHidden: once a ban hides an account's messages,
// their content comes back through no path: not sync (and so the stream),
// not webhooks (rendered after the ban), not search, not reply previews,
// not the inbox's last-message preview.
func TestHiddenMessagesStayHidden(t *testing.T) {
	e := newHookEnv(t)
	bob := e.register("bob", "person")
	troll := e.register("troll", "person")
	if err := e.a.Follow(e.ctx, bob, "troll", true); err != nil {
		t.Fatal(err)
	}
	e.hook(bob, app.HookMessageCreated)
	conv := e.direct(troll, "bob")
	head, err := e.a.Head(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	bad := e.say(troll, conv, "you are an awful zebra")
	// Before the ban the text is searchable: the checks below can fail.
	if got := searchIDs(t, e.a, bob, "zebra"); len(got) != 1 || got[0] != bad.ID {
		t.Fatalf("before the ban, search finds %v", got)
	}
	if _, err := e.a.Ban(e.ctx, "troll", true); err != nil {
		t.Fatal(err)
	}
	reply, _, err := e.a.Send(e.ctx, bob, conv, app.SendInput{ClientID: "r1", Text: "go away", ReplyTo: bad.ID})
	if err != nil {
		t.Fatal(err)
	}
	if reply.ReplyTo == nil || reply.ReplyTo.Text != "" || !reply.ReplyTo.Hidden {
		t.Fatalf("reply preview as sent: %+v", reply.ReplyTo)
	}
	// Webhooks: rendered after the ban, the troll's message is blank, and
	// bob's reply does not quote it.
	got := e.deliver()
	if len(got) != 2 {
		t.Fatalf("deliveries: %v", texts(got))
	}
	for _, r := range got {
		b, _ := json.Marshal(r.Payload)
		if strings.Contains(string(b), "zebra") {
			t.Fatalf("hidden text in a webhook: %s", b)
		}
	}
	if got[0].Text != "" || got[1].Text != "go away" {
		t.Fatalf("deliveries: %v", texts(got))
	}
	// Sync (the stream sends what sync hydrates).
	page, err := e.a.Sync(e.ctx, bob, head, 100)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(page)
	if strings.Contains(string(b), "zebra") || !strings.Contains(string(b), "go away") {
		t.Fatalf("sync after the ban: %s", b)
	}
	var hidden int
	for _, ev := range page.Events {
		if ev.Message != nil && ev.Message.ID == bad.ID && ev.Message.Hidden {
			hidden++
		}
	}
	if hidden == 0 {
		t.Fatalf("sync does not mark the message hidden: %s", b)
	}
	// Search: no hit, not even a blank one.
	if got := searchIDs(t, e.a, bob, "zebra"); len(got) != 0 {
		t.Fatalf("search finds a hidden message: %v", got)
	}
	if got := searchIDs(t, e.a, bob, "away"); len(got) != 1 || got[0] != reply.ID {
		t.Fatalf("search for bob's own reply: %v", got)
	}
	// History: the reply's preview is blank too.
	hist, err := e.a.Messages(e.ctx, bob, conv, app.HistoryQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = json.Marshal(hist)
	if strings.Contains(string(b), "zebra") {
		t.Fatalf("history after the ban: %s", b)
	}
}

func searchIDs(t *testing.T, a *app.App, who *app.Actor, q string) []string {
	t.Helper()
	page, err := a.Search(context.Background(), who, app.SearchQuery{Q: q})
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, r := range page.Items {
		ids = append(ids, r.Message.ID)
	}
	return ids
}

// TestHiddenMessagesLeaveExports: the other party's export carries a
// hidden message as a purged one (its place and content hash, no text)
// and still verifies.
func TestHiddenMessagesLeaveExports(t *testing.T) {
	e := newRecordsApp(t)
	ctx := context.Background()
	alice, bob := e.user(t, "alice"), e.user(t, "bob")
	for _, p := range [][2]*app.Actor{{alice, bob}, {bob, alice}} {
		if err := e.a.Follow(ctx, p[0], p[1].User.Handle, true); err != nil {
			t.Fatal(err)
		}
	}
	c, _, err := e.a.CreateDirect(ctx, alice, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.a.Send(ctx, alice, c.ID, app.SendInput{ClientID: "a1", Text: "hello bob"}); err != nil {
		t.Fatal(err)
	}
	bad, _, err := e.a.Send(ctx, bob, c.ID, app.SendInput{ClientID: "b1", Text: "a secret zebra"})
	if err != nil {
		t.Fatal(err)
	}
	up, err := e.a.Upload(ctx, bob, parley.MessageImage, bytes.NewReader(mediatest.PNG(20, 20)))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.a.Send(ctx, bob, c.ID, app.SendInput{ClientID: "b2", Kind: parley.MessageImage, Attachments: []string{up.ID}}); err != nil {
		t.Fatal(err)
	}
	if f, err := e.a.OpenMedia(ctx, alice, up.ID, false); err != nil {
		t.Fatalf("alice opens bob's picture before the ban: %v", err)
	} else {
		f.Close()
	}
	pub := e.key.Public().(ed25519.PublicKey)
	_, before := e.export(t, alice, app.ExportInput{Scope: parley.ExportAccount})
	if !zipContains(t, before, "zebra") {
		t.Fatal("the export before the ban lacks the message: the check below proves nothing")
	}
	if _, err := e.a.Ban(ctx, "bob", true); err != nil {
		t.Fatal(err)
	}
	_, after := e.export(t, alice, app.ExportInput{Scope: parley.ExportAccount})
	if zipContains(t, after, "zebra") {
		t.Fatal("alice's export holds the hidden text")
	}
	if _, err := e.a.OpenMedia(ctx, alice, up.ID, false); parley.ErrorCode(err) != parley.ENotFound {
		t.Fatalf("alice opens a hidden picture: %v", err)
	}
	if rep := verify(t, after, pub); !rep.OK || rep.Conversations[0].Purged != 2 {
		t.Fatalf("export after the ban: %+v", rep)
	}
	var conv records.Conversation
	if err := json.Unmarshal(readZip(t, after, records.ConversationDir(c.ID)+"conversation.json"), &conv); err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, m := range conv.Messages {
		if m.ID == bad.ID {
			found = m.Purged && m.Hidden && m.Text == ""
		}
	}
	if !found {
		t.Fatalf("the hidden message in the export: %+v", conv.Messages)
	}
}

// zipContains reports whether any file of the ZIP holds s.
func zipContains(t *testing.T, z []byte, s string) bool {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(s)) {
			return true
		}
	}
	return false
}
