package client_test

import (
	"testing"

	"github.com/parleyhq/parley/client"
)

// TestRedactAndDeleteAccount: Redact and DeleteAccount against a real
// server.
func TestRedactAndDeleteAccount(t *testing.T) {
	_, anon := start(t)
	alice, bob, conv := pair(t, anon)
	ctx := testContext(t)
	m, err := alice.Send(ctx, conv, client.SendRequest{Text: "oops, wrong chat"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Redact(ctx, conv, m.ID); !client.IsCode(err, client.CodeForbidden) {
		t.Fatalf("bob redacts alice's message: %v", err)
	}
	r, err := alice.Redact(ctx, conv, m.ID)
	if err != nil || !r.Redacted || r.Text != "This message was redacted" {
		t.Fatalf("redact: %+v %v", r, err)
	}
	if _, err := alice.DeleteAccount(ctx, "wrong password", ""); !client.IsCode(err, client.CodeForbidden) {
		t.Fatalf("delete with a wrong password: %v", err)
	}
	res, err := alice.DeleteAccount(ctx, "correct horse battery", "")
	if err != nil || res.Handle != "alice" || res.Policy != "erase" || res.SessionsEnded != 1 {
		t.Fatalf("delete: %+v %v", res, err)
	}
	if _, err := alice.Me(ctx); !client.IsCode(err, client.CodeUnauthorized) {
		t.Fatalf("the deleted account's token: %v", err)
	}
	page, err := bob.Messages(ctx, conv, client.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range page.Items {
		if msg.ID == m.ID && (!msg.Sender.Deleted || msg.Sender.DisplayName != "Deleted account") {
			t.Fatalf("bob sees %+v", msg.Sender)
		}
	}
}
