package app_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/internal/mediatest"
	"github.com/parleyhq/parley/records"
)

const erasePassword = "records password"

// eraseWorld: alice and bob in a direct conversation, alice, bob and carol
// in a group alice owns; alice sends text (one edited, one with a
// picture), bob replies and reacts.
type eraseWorld struct {
	e                 *recordsEnv
	alice, bob, carol *app.Actor
	direct, group     string
	aliceMsgs         []*app.MessageView
	blobKey           string
}

func newEraseWorld(t *testing.T, policy string) *eraseWorld {
	t.Helper()
	e := newRecordsAppWith(t, func(c *app.Config) { c.Deletion.Policy = policy })
	ctx := context.Background()
	w := &eraseWorld{e: e, alice: e.user(t, "alice"), bob: e.user(t, "bob"), carol: e.user(t, "carol")}
	for _, p := range [][2]*app.Actor{{w.alice, w.bob}, {w.bob, w.alice}, {w.carol, w.alice}, {w.alice, w.carol}} {
		if err := e.a.Follow(ctx, p[0], p[1].User.Handle, true); err != nil {
			t.Fatal(err)
		}
	}
	d, _, err := e.a.CreateDirect(ctx, w.alice, "bob")
	if err != nil {
		t.Fatal(err)
	}
	g, _, err := e.a.CreateGroup(ctx, w.alice, app.GroupInput{Title: "g", Members: []string{"bob", "carol"}})
	if err != nil {
		t.Fatal(err)
	}
	w.direct, w.group = d.ID, g.ID
	send := func(who *app.Actor, conv string, in app.SendInput) *app.MessageView {
		v, _, err := e.a.Send(ctx, who, conv, in)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	m1 := send(w.alice, w.direct, app.SendInput{Text: "zanzibar first draft"})
	if _, err := e.a.Edit(ctx, w.alice, w.direct, m1.ID, "zanzibar final words"); err != nil {
		t.Fatal(err)
	}
	mv, err := e.a.Upload(ctx, w.alice, parley.MessageImage, bytes.NewReader(mediatest.PNG(40, 30)))
	if err != nil {
		t.Fatal(err)
	}
	m2 := send(w.alice, w.direct, app.SendInput{Kind: "image", Text: "zanzibar picture", Attachments: []string{mv.ID}})
	if err := e.db.View(ctx, func(tx parley.Tx) error {
		md, err := tx.MediaByID(mv.ID)
		if err == nil {
			w.blobKey = md.BlobKey
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	send(w.bob, w.direct, app.SendInput{Text: "bob answers kumquat"})
	if err := e.a.React(ctx, w.bob, w.direct, m1.ID, "👍", true); err != nil {
		t.Fatal(err)
	}
	m3 := send(w.alice, w.group, app.SendInput{Text: "zanzibar in the group"})
	send(w.carol, w.group, app.SendInput{Text: "carol says kumquat"})
	w.aliceMsgs = []*app.MessageView{m1, m2, m3}
	return w
}

func (w *eraseWorld) history(t *testing.T, who *app.Actor, conv string) []*app.MessageView {
	t.Helper()
	p, err := w.e.a.Messages(context.Background(), who, conv, app.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	return p.Items
}

func (w *eraseWorld) found(t *testing.T, who *app.Actor, q string) int {
	t.Helper()
	p, err := w.e.a.Search(context.Background(), who, app.SearchQuery{Q: q})
	if err != nil {
		t.Fatal(err)
	}
	return len(p.Items)
}

func (w *eraseWorld) blobExists(key string) bool {
	_, err := os.Stat(filepath.Join(w.e.blobs, key[0:2], key[2:4], key))
	return err == nil
}

// exportVerified exports conv as who and checks the export verifies.
func (w *eraseWorld) exportVerified(t *testing.T, who *app.Actor, conv string) (records.Conversation, string) {
	t.Helper()
	_, zipBytes := w.e.export(t, who, app.ExportInput{Scope: parley.ExportConversation, ConversationID: conv})
	rep := verify(t, zipBytes, w.e.key.Public().(ed25519.PublicKey))
	if !rep.OK {
		t.Fatalf("export of %s does not verify: %v", conv, rep.Problems)
	}
	var rc records.Conversation
	if err := json.Unmarshal(readZip(t, zipBytes, records.ConversationDir(conv)+"conversation.json"), &rc); err != nil {
		t.Fatal(err)
	}
	return rc, string(rezipConcat(t, zipBytes))
}

func TestDeleteAccountErase(t *testing.T) {
	w := newEraseWorld(t, app.DeletionErase)
	ctx := context.Background()
	a := w.e.a
	// A second device and an API token: both must die.
	second, err := a.Login(ctx, "alice", erasePassword, "phone", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := a.CreateToken(ctx, w.alice, app.TokenInput{Name: "script", Scopes: []string{app.ScopeRead}})
	if err != nil {
		t.Fatal(err)
	}
	if w.found(t, w.bob, "zanzibar") != 3 {
		t.Fatalf("before deletion bob finds %d zanzibar messages, want 3", w.found(t, w.bob, "zanzibar"))
	}

	if _, err := a.DeleteAccount(ctx, w.alice, app.DeleteAccountInput{Password: "wrong password"}); parley.ErrorCode(err) != parley.EForbidden {
		t.Fatalf("wrong password: %v, want forbidden", err)
	}
	if _, err := a.DeleteAccount(ctx, &app.Actor{User: w.alice.User, Scopes: []string{app.ScopeRead}}, app.DeleteAccountInput{Password: erasePassword}); parley.ErrorCode(err) != parley.EInsufficientScope {
		t.Fatalf("from an API token: %v, want insufficient_scope", err)
	}
	res, err := a.DeleteAccount(ctx, w.alice, app.DeleteAccountInput{Password: erasePassword})
	if err != nil {
		t.Fatal(err)
	}
	if res.Policy != "erase" || res.Erased != 3 || res.Kept != 0 || res.Held != 0 || res.MediaRows != 1 || res.Blobs != 2 ||
		res.SessionsEnded != 3 || res.ConversationsLeft != 2 {
		t.Fatalf("deletion result %+v", res)
	}

	// Sessions, tokens and the password are gone.
	for name, token := range map[string]string{"second device": second.Token, "API token": tok.Token} {
		if _, err := a.Authenticate(ctx, token); parley.ErrorCode(err) != parley.EUnauthorized {
			t.Errorf("%s after deletion: %v, want unauthorized", name, err)
		}
	}
	if _, err := a.Login(ctx, "alice", erasePassword, "", "127.0.0.2"); parley.ErrorCode(err) != parley.EBadCredentials {
		t.Fatalf("login after deletion: %v, want bad_credentials", err)
	}
	// The handle is reserved, then released.
	if _, err := a.Register(ctx, app.Registration{Handle: "alice", Password: "another good password"}); parley.ErrorCode(err) != parley.EHandleTaken {
		t.Fatalf("register the reserved handle: %v, want handle_taken", err)
	}
	if res.HandleReservedUntil.Sub(w.e.clk.now()) != 30*24*time.Hour {
		t.Fatalf("handle reserved until %v", res.HandleReservedUntil)
	}

	// Bob sees tombstones from a deleted account; the text and the
	// picture are gone everywhere.
	for _, conv := range []string{w.direct, w.group} {
		for _, m := range w.history(t, w.bob, conv) {
			if m.Sender.ID != w.alice.User.ID || m.Kind == "system" {
				continue
			}
			if !m.Deleted || m.Text != "" || len(m.Reactions) != 0 || len(m.Attachments) != 0 {
				t.Errorf("alice's message %d after erasure: %+v", m.Seq, m)
			}
			if !m.Sender.Deleted || m.Sender.DisplayName != app.DeletedAccountName || m.Sender.Handle != "" {
				t.Errorf("sender after deletion: %+v", m.Sender)
			}
		}
	}
	if n := w.found(t, w.bob, "zanzibar"); n != 0 {
		t.Fatalf("search finds %d erased messages", n)
	}
	if n := w.found(t, w.bob, "kumquat"); n != 2 {
		t.Fatalf("search finds %d of the others' messages, want 2", n)
	}
	if w.blobExists(w.blobKey) {
		t.Fatal("the erased picture's blob is still on disk")
	}
	if _, err := a.EditHistory(ctx, w.bob, w.direct, w.aliceMsgs[0].ID); err != nil {
		t.Fatal(err)
	} else if h, _ := a.EditHistory(ctx, w.bob, w.direct, w.aliceMsgs[0].ID); len(h) != 0 {
		t.Fatalf("edit history survives: %+v", h)
	}
	// Nobody can message the deleted account, or find it.
	if _, _, err := a.Send(ctx, w.bob, w.direct, app.SendInput{Text: "are you there?"}); parley.ErrorCode(err) != parley.EDMNotAllowed {
		t.Fatalf("send to a deleted account: %v, want dm_not_allowed", err)
	}
	if _, err := a.Profile(ctx, w.bob, "alice"); !parley.IsNotFound(err) {
		t.Fatalf("profile of a deleted account: %v, want not_found", err)
	}
	// The group has a new owner; its members go on.
	g, err := a.Conversation(ctx, w.bob, w.group)
	if err != nil {
		t.Fatal(err)
	}
	owners := 0
	for _, m := range g.Members {
		if m.Role == "owner" && m.Status == "active" {
			owners++
		}
	}
	if owners != 1 || g.MemberCount != 2 {
		t.Fatalf("group after the owner's deletion: %d owners, %d members", owners, g.MemberCount)
	}
	if _, _, err := a.Send(ctx, w.carol, w.group, app.SendInput{Text: "still here"}); err != nil {
		t.Fatal(err)
	}

	// The chain stays verifiable: erase entries, no content in the export.
	for _, conv := range []string{w.direct, w.group} {
		rc, all := w.exportVerified(t, w.bob, conv)
		if strings.Contains(all, "zanzibar") {
			t.Fatalf("erased text in the export of %s", conv)
		}
		if !strings.Contains(all, `"kind":"erase"`) {
			t.Fatalf("no erase entry in the chain of %s", conv)
		}
		for _, m := range rc.Messages {
			if m.Sender.ID == w.alice.User.ID && m.Kind != "system" && !m.Purged {
				t.Fatalf("export holds an erased message: %+v", m)
			}
		}
	}

	// The audit log has the deletion, by the account itself.
	recs, _, err := a.AuditLog(ctx, app.AuditQuery{Action: app.AuditUserDelete})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].TargetID != w.alice.User.ID || recs[0].ActorID != w.alice.User.ID || recs[0].Details["policy"] != "erase" {
		t.Fatalf("audit of the deletion: %+v", recs)
	}

	// After the reservation the handle is free; the old row keeps its
	// messages' sender.
	w.e.clk.add(30*24*time.Hour + time.Minute)
	if _, err := a.Register(ctx, app.Registration{Handle: "alice", Password: "another good password"}); err != nil {
		t.Fatalf("register the released handle: %v", err)
	}
	for _, m := range w.history(t, w.bob, w.direct) {
		if m.Seq == w.aliceMsgs[0].Seq && (m.Sender.ID != w.alice.User.ID || !m.Sender.Deleted) {
			t.Fatalf("after the handle's release the old message's sender is %+v", m.Sender)
		}
	}
}

func TestDeleteAccountAnonymise(t *testing.T) {
	w := newEraseWorld(t, app.DeletionAnonymise)
	ctx := context.Background()
	res, err := w.e.a.DeleteAccountByHandle(ctx, "@alice")
	if err != nil {
		t.Fatal(err)
	}
	if res.Policy != "anonymise" || res.Erased != 0 || res.Kept != 3 || res.Blobs != 0 {
		t.Fatalf("anonymise result %+v", res)
	}
	var seen int
	for _, m := range w.history(t, w.bob, w.direct) {
		if m.Sender.ID != w.alice.User.ID || m.Kind == "system" {
			continue
		}
		seen++
		if m.Deleted || !strings.Contains(m.Text, "zanzibar") {
			t.Errorf("anonymised message lost its content: %+v", m)
		}
		if m.Sender.DisplayName != "Deleted account" || m.Sender.Handle != "" || !m.Sender.Deleted {
			t.Errorf("anonymised sender %+v", m.Sender)
		}
	}
	if seen != 2 {
		t.Fatalf("bob sees %d of alice's messages, want 2", seen)
	}
	if !w.blobExists(w.blobKey) {
		t.Fatal("anonymise deleted the picture")
	}
	rc, all := w.exportVerified(t, w.bob, w.direct)
	if !strings.Contains(all, "zanzibar final words") {
		t.Fatal("anonymised text missing from the export")
	}
	for _, m := range rc.Messages {
		if m.Sender.ID == w.alice.User.ID && m.Sender.Handle == "alice" {
			t.Fatalf("the export names the deleted account: %+v", m.Sender)
		}
	}
	// The operator's delete of an account deleted already finishes step
	// 2 again (a no-op here).
	if _, err := w.e.a.DeleteAccountByHandle(ctx, "alice"); err != nil {
		t.Fatalf("resume: %v", err)
	}
}

func TestDeleteAccountHeldContentKept(t *testing.T) {
	w := newEraseWorld(t, app.DeletionErase)
	ctx := context.Background()
	if _, err := w.e.a.PlaceHold(ctx, "ops", app.HoldInput{Scope: "conversation", Target: w.direct, Reason: "dispute"}); err != nil {
		t.Fatal(err)
	}
	res, err := w.e.a.DeleteAccount(ctx, w.alice, app.DeleteAccountInput{Password: erasePassword})
	if err != nil {
		t.Fatal(err)
	}
	if res.Erased != 1 || res.Held != 2 || res.Kept != 2 || !strings.Contains(res.Note, "legal hold") {
		t.Fatalf("held deletion result %+v", res)
	}
	for _, m := range w.history(t, w.bob, w.direct) {
		if m.Sender.ID == w.alice.User.ID && m.Kind != "system" && (m.Deleted || m.Text == "") {
			t.Fatalf("held message erased: %+v", m)
		}
	}
	for _, m := range w.history(t, w.bob, w.group) {
		if m.Sender.ID == w.alice.User.ID && m.Kind != "system" && !m.Deleted {
			t.Fatalf("unheld message kept: %+v", m)
		}
	}
	if !w.blobExists(w.blobKey) {
		t.Fatal("a held picture was deleted")
	}
	w.exportVerified(t, w.bob, w.direct)
	w.exportVerified(t, w.bob, w.group)
}

func TestDeleteAccountLastBusinessAdmin(t *testing.T) {
	e := newRecordsApp(t)
	ctx := context.Background()
	if _, err := e.a.Register(ctx, app.Registration{Handle: "shop", Password: "shop password ok", Kind: parley.KindBusiness}); err != nil {
		t.Fatal(err)
	}
	ann, ben := e.user(t, "ann"), e.user(t, "ben")
	ba, err := e.a.AsBusiness(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	admin := "admin"
	if _, err := e.a.PutAgent(ctx, ba, "ann", app.AgentChange{Role: &admin}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.DeleteAccount(ctx, ann, app.DeleteAccountInput{Password: erasePassword}); parley.ErrorCode(err) != parley.ELastAdmin {
		t.Fatalf("last admin deletes their account: %v, want last_admin", err)
	}
	if _, err := e.a.Authenticate(ctx, mustToken(t, e, "ann")); err != nil {
		t.Fatalf("a refused deletion ended the account: %v", err)
	}
	if _, err := e.a.PutAgent(ctx, ba, "ben", app.AgentChange{Role: &admin}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.DeleteAccount(ctx, ann, app.DeleteAccountInput{Password: erasePassword}); err != nil {
		t.Fatalf("once another admin exists: %v", err)
	}
	_ = ben
}

// mustToken signs handle in again and returns the token.
func mustToken(t *testing.T, e *recordsEnv, handle string) string {
	t.Helper()
	auth, err := e.a.Login(context.Background(), handle, erasePassword, "", "127.0.0.9")
	if err != nil {
		t.Fatal(err)
	}
	return auth.Token
}

// TestDeleteAccountTwoFactor: with two-factor on, deletion needs a code;
// a recovery code does.
func TestDeleteAccountTwoFactor(t *testing.T) {
	e := newRecordsApp(t)
	ctx := context.Background()
	ann := e.user(t, "ann")
	setup, err := e.a.SetupTwoFactor(ctx, ann, erasePassword)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := e.a.ConfirmTwoFactor(ctx, ann, code(t, setup.Secret, e.clk.now()))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"", "000000"} {
		_, err := e.a.DeleteAccount(ctx, ann, app.DeleteAccountInput{Password: erasePassword, Code: c})
		if perr, ok := err.(*parley.Error); !ok || perr.Code != parley.EForbidden || perr.Field != "code" {
			t.Fatalf("code %q: %v, want forbidden on code", c, err)
		}
	}
	if _, err := e.a.DeleteAccount(ctx, ann, app.DeleteAccountInput{Password: erasePassword, Code: rc.Codes[0]}); err != nil {
		t.Fatalf("with a recovery code: %v", err)
	}
	recs, _, err := e.a.AuditLog(ctx, app.AuditQuery{Action: app.AuditUserDelete})
	if err != nil || len(recs) != 1 {
		t.Fatalf("audit: %v %+v", err, recs)
	}
}
