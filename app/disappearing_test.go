package app_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/blob"
	"github.com/parleyhq/parley/internal/mediatest"
	"github.com/parleyhq/parley/store/sqlite"
)

// chat is two people in a direct conversation on an app with a fake clock,
// a real SQLite store and a real disk blob store.
type chat struct {
	t        testing.TB
	ctx      context.Context
	a        *app.App
	db       *sqlite.DB
	clock    *fakeClock
	blobDir  string
	dir      string // the data directory: parley.db, blobs
	ann, bob *app.Actor
	conv     string
	n        int
}

func newChat(t *testing.T) *chat { return newChatWith(t, app.Config{}) }

// newChatB is newChat for benchmarks: no per-conversation send limit.
func newChatB(b *testing.B) *chat {
	return newChatWith(b, app.Config{SendPerConversation: 1e9, SendBurst: 1e9, NewConversationsPerDayNew: 1000, NewConversationsPerDay: 1000})
}

func newChatWith(t testing.TB, cfg app.Config) *chat {
	t.Helper()
	cfg.Password = cheap
	dir := t.TempDir()
	db, err := sqlite.Open(filepath.Join(dir, "parley.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	blobs, err := blob.OpenDisk(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	c := &chat{t: t, ctx: context.Background(), db: db, blobDir: filepath.Join(dir, "blobs"), dir: dir,
		clock: &fakeClock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}}
	c.a = app.New(db, cfg, app.WithClock(c.clock.Now), app.WithBlobs(blobs))
	c.ann, c.bob = c.register("ann"), c.register("bob")
	if err := c.a.Follow(c.ctx, c.bob, "ann", true); err != nil {
		t.Fatal(err)
	}
	conv, _, err := c.a.CreateDirect(c.ctx, c.ann, "bob")
	if err != nil {
		t.Fatal(err)
	}
	c.conv = conv.ID
	return c
}

func (c *chat) register(handle string) *app.Actor {
	c.t.Helper()
	auth, err := c.a.Register(c.ctx, app.Registration{Handle: handle, Password: "correct horse battery", DisplayName: handle})
	if err != nil {
		c.t.Fatal(err)
	}
	actor, err := c.a.Authenticate(c.ctx, auth.Token)
	if err != nil {
		c.t.Fatal(err)
	}
	return actor
}

func (c *chat) send(from *app.Actor, in app.SendInput) *app.MessageView {
	c.t.Helper()
	c.n++
	in.ClientID = fmt.Sprintf("k%d", c.n)
	m, _, err := c.a.Send(c.ctx, from, c.conv, in)
	if err != nil {
		c.t.Fatal(err)
	}
	return m
}

func (c *chat) setTimer(who *app.Actor, seconds int64) {
	c.t.Helper()
	if _, err := c.a.SetDisappearing(c.ctx, who, c.conv, seconds); err != nil {
		c.t.Fatal(err)
	}
}

func (c *chat) history(who *app.Actor) []*app.MessageView {
	c.t.Helper()
	p, err := c.a.Messages(c.ctx, who, c.conv, app.HistoryQuery{})
	if err != nil {
		c.t.Fatal(err)
	}
	return p.Items
}

func (c *chat) stored(id string) *parley.Message {
	c.t.Helper()
	var m *parley.Message
	if err := c.db.View(c.ctx, func(tx parley.Tx) error {
		var err error
		m, err = tx.MessageByID(id)
		return err
	}); err != nil {
		c.t.Fatal(err)
	}
	return m
}

func (c *chat) reap() app.ReapStats {
	c.t.Helper()
	st, err := c.a.Reap(c.ctx)
	if err != nil {
		c.t.Fatal(err)
	}
	return st
}

// upload sends up a picture and returns its media id and blob key.
func (c *chat) upload(from *app.Actor, png []byte) (string, string) {
	c.t.Helper()
	mv, err := c.a.Upload(c.ctx, from, parley.MessageImage, bytes.NewReader(png))
	if err != nil {
		c.t.Fatal(err)
	}
	var key string
	if err := c.db.View(c.ctx, func(tx parley.Tx) error {
		m, err := tx.MediaByID(mv.ID)
		if err == nil {
			key = m.BlobKey
		}
		return err
	}); err != nil {
		c.t.Fatal(err)
	}
	return mv.ID, key
}

func (c *chat) blobExists(key string) bool {
	_, err := os.Stat(filepath.Join(c.blobDir, key[0:2], key[2:4], key))
	return err == nil
}

func byID(ms []*app.MessageView, id string) *app.MessageView {
	for _, m := range ms {
		if m.ID == id {
			return m
		}
	}
	return nil
}

func TestDisappearingTimerRules(t *testing.T) {
	c := newChat(t)
	if _, err := c.a.SetDisappearing(c.ctx, c.ann, c.conv, 42); parley.ErrorCode(err) != parley.EInvalid {
		t.Fatalf("timer 42s: %v, want invalid", err)
	}
	before := c.send(c.ann, app.SendInput{Text: "before the timer"})
	v, err := c.a.SetDisappearing(c.ctx, c.bob, c.conv, 300)
	if err != nil {
		t.Fatal(err)
	}
	if v.DisappearAfter != 300 {
		t.Fatalf("DisappearAfter = %d", v.DisappearAfter)
	}
	h := c.history(c.ann)
	last := h[len(h)-1]
	if last.Kind != "system" || string(last.System) != `{"action":"disappearing_set","disappear_after":300}` {
		t.Fatalf("no system line announces the timer: %+v", last)
	}
	m := c.send(c.ann, app.SendInput{Text: "now it disappears"})
	if want := c.clock.Now().Add(5 * time.Minute); m.ExpiresAt == nil || !m.ExpiresAt.Equal(want) {
		t.Fatalf("ExpiresAt = %v, want %v", m.ExpiresAt, want)
	}
	if c.stored(before.ID).ExpiresAt != nil {
		t.Fatal("a message sent before the timer got an expiry")
	}

	// In a group only admins set the timer.
	carl := c.register("carl")
	if err := c.a.Follow(c.ctx, carl, "ann", true); err != nil {
		t.Fatal(err)
	}
	g, _, err := c.a.CreateGroup(c.ctx, c.ann, app.GroupInput{Title: "g", Members: []string{"bob", "carl"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.a.SetDisappearing(c.ctx, carl, g.ID, 3600); parley.ErrorCode(err) != parley.EForbidden {
		t.Fatalf("member sets group timer: %v, want forbidden", err)
	}
	if _, err := c.a.SetDisappearing(c.ctx, c.ann, g.ID, 3600); err != nil {
		t.Fatalf("owner sets group timer: %v", err)
	}
	// Once carl has left, the group's later settings are not his to see:
	// his view keeps the timer of his departure and no invite policy.
	if err := c.a.Leave(c.ctx, carl, g.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.a.SetDisappearing(c.ctx, c.ann, g.ID, 86400); err != nil {
		t.Fatal(err)
	}
	members := app.InviteMembers
	if _, err := c.a.UpdateGroup(c.ctx, c.ann, g.ID, app.GroupUpdate{InvitePolicy: &members}); err != nil {
		t.Fatal(err)
	}
	if v, err := c.a.Conversation(c.ctx, carl, g.ID); err != nil || v.DisappearAfter != 3600 || v.InvitePolicy != "" {
		t.Fatalf("carl's view after leaving: timer %d, invite policy %q, %v; want 3600 and none", v.DisappearAfter, v.InvitePolicy, err)
	}
	if v, err := c.a.Conversation(c.ctx, c.bob, g.ID); err != nil || v.DisappearAfter != 86400 || v.InvitePolicy != app.InviteMembers {
		t.Fatalf("bob's view: timer %d, invite policy %q, %v; want 86400 and members", v.DisappearAfter, v.InvitePolicy, err)
	}
	if _, err := c.a.SetDisappearing(c.ctx, c.register("dan"), c.conv, 0); parley.ErrorCode(err) != parley.ENotFound {
		t.Fatalf("outsider: %v, want not_found", err)
	}
}

func TestReaperPurgesExpired(t *testing.T) {
	c := newChat(t)
	c.setTimer(c.ann, 300)
	secret := c.send(c.ann, app.SendInput{Text: "the secret plan"})
	if err := c.a.React(c.ctx, c.bob, c.conv, secret.ID, "👍", true); err != nil {
		t.Fatal(err)
	}
	c.setTimer(c.bob, 0)
	keep := c.send(c.bob, app.SendInput{Text: "replying", ReplyTo: secret.ID})
	c.clock.Advance(4 * time.Minute)
	if st := c.reap(); st.Purged != 0 {
		t.Fatalf("purged before expiry: %+v", st)
	}
	head, err := c.a.Head(c.ctx)
	if err != nil {
		t.Fatal(err)
	}
	c.clock.Advance(2 * time.Minute)

	// Past expiry, before the reaper: readers already see a tombstone.
	if m := byID(c.history(c.bob), secret.ID); !m.Deleted || !m.Expired || m.Text != "" || len(m.Reactions) != 0 {
		t.Fatalf("expired message still readable: %+v", m)
	}
	if m := byID(c.history(c.bob), keep.ID); m.ReplyTo == nil || m.ReplyTo.Text != "" || !m.ReplyTo.Deleted {
		t.Fatalf("reply preview shows expired text: %+v", m.ReplyTo)
	}

	st := c.reap()
	if st.Purged != 1 {
		t.Fatalf("reap: %+v, want 1 purged", st)
	}
	got := c.stored(secret.ID)
	if got.Text != "" || got.DeletedAt == nil || got.Seq != secret.Seq {
		t.Fatalf("stored after reap: %+v", got)
	}
	var reactions map[string][]*parley.Reaction
	if err := c.db.View(c.ctx, func(tx parley.Tx) error {
		var err error
		reactions, err = tx.Reactions([]string{secret.ID})
		return err
	}); err != nil || len(reactions) != 0 {
		t.Fatalf("reactions survive: %v %v", reactions, err)
	}
	// Tombstones keep their place: the history has no gap.
	h := c.history(c.ann)
	for i := 1; i < len(h); i++ {
		if h[i].Seq != h[i-1].Seq+1 {
			t.Fatalf("gap in seq: %d then %d", h[i-1].Seq, h[i].Seq)
		}
	}
	// Devices learn of it by an event, with no content.
	page, err := c.a.Sync(c.ctx, c.bob, head, 0)
	if err != nil {
		t.Fatal(err)
	}
	expiredEvents := 0
	for _, e := range page.Events {
		if e.Type == parley.EventMessageExpired {
			expiredEvents++
			if e.Message == nil || e.Message.Text != "" || !e.Message.Deleted {
				t.Fatalf("expired event carries %+v", e.Message)
			}
		}
		if e.Message != nil && e.Message.Text == "the secret plan" {
			t.Fatal("sync returns expired text")
		}
	}
	if expiredEvents != 1 {
		t.Fatalf("%d message.expired events, want 1", expiredEvents)
	}
	// A second pass is a no-op.
	if st := c.reap(); st != (app.ReapStats{}) {
		t.Fatalf("second reap: %+v", st)
	}
}

func TestReaperDeletesBlobs(t *testing.T) {
	c := newChat(t)
	shared := mediatest.PNG(40, 30)
	kept, sharedKey := c.upload(c.ann, shared)
	c.send(c.ann, app.SendInput{Kind: parley.MessageImage, Attachments: []string{kept}}) // no timer: stays
	c.setTimer(c.ann, 3600)
	dup, dupKey := c.upload(c.ann, shared)
	own, ownKey := c.upload(c.ann, mediatest.PNG(50, 20))
	if dupKey != sharedKey || ownKey == sharedKey {
		t.Fatal("blobs are not content-addressed as the test expects")
	}
	m1 := c.send(c.ann, app.SendInput{Kind: parley.MessageImage, Attachments: []string{dup}})
	m2 := c.send(c.ann, app.SendInput{Kind: parley.MessageImage, Attachments: []string{own}})
	c.clock.Advance(2 * time.Hour)
	if _, err := c.a.OpenMedia(c.ctx, c.bob, own, false); parley.ErrorCode(err) != parley.ENotFound {
		t.Fatalf("expired media served before the reaper: %v", err)
	}
	st := c.reap()
	// The picture of its own and its thumbnail go; the shared ones stay.
	if st.Purged != 2 || st.MediaRows != 2 || st.Blobs != 2 {
		t.Fatalf("reap: %+v, want 2 purged, 2 rows, 2 blobs", st)
	}
	if c.blobExists(ownKey) {
		t.Fatal("the expired message's own blob is still on disk")
	}
	if !c.blobExists(sharedKey) {
		t.Fatal("a blob another message uses was deleted")
	}
	for _, id := range []string{dup, own} {
		err := c.db.View(c.ctx, func(tx parley.Tx) error { _, err := tx.MediaByID(id); return err })
		if !parley.IsNotFound(err) {
			t.Fatalf("media row %s: %v, want gone", id, err)
		}
	}
	for _, m := range []*app.MessageView{m1, m2} {
		if v := byID(c.history(c.bob), m.ID); !v.Deleted || len(v.Attachments) != 0 {
			t.Fatalf("history after reap: %+v", v)
		}
	}
	if _, err := c.a.OpenMedia(c.ctx, c.bob, kept, false); err != nil {
		t.Fatalf("the message without a timer lost its media: %v", err)
	}
}

func TestLegalHoldFreezesReaper(t *testing.T) {
	c := newChat(t)
	c.setTimer(c.ann, 300)
	m := c.send(c.ann, app.SendInput{Text: "keep this for the court"})
	h, err := c.a.PlaceHold(c.ctx, "root", app.HoldInput{Scope: "conversation", Target: c.conv, Reason: "case 12"})
	if err != nil {
		t.Fatal(err)
	}
	conv, err := c.a.Conversation(c.ctx, c.bob, c.conv)
	if err != nil {
		t.Fatal(err)
	}
	if !conv.LegalHold {
		t.Fatal("conversation does not say legal_hold")
	}
	c.clock.Advance(time.Hour)
	if st := c.reap(); st.Purged != 0 || st.HeldSkipped != 1 {
		t.Fatalf("reap under hold: %+v", st)
	}
	if v := byID(c.history(c.bob), m.ID); v.Deleted || v.Text != "keep this for the court" {
		t.Fatalf("held message hidden: %+v", v)
	}
	if _, err := c.a.ReleaseHold(c.ctx, "root", h.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.a.ReleaseHold(c.ctx, "root", h.ID); parley.ErrorCode(err) != parley.EConflict {
		t.Fatalf("second release: %v", err)
	}
	if st := c.reap(); st.Purged != 1 || st.HeldSkipped != 0 {
		t.Fatalf("reap after release: %+v", st)
	}
	if c.stored(m.ID).Text != "" {
		t.Fatal("overdue message kept after the release")
	}
	// Both are in the audit log, which still verifies.
	for _, action := range []string{app.AuditHoldPlace, app.AuditHoldRelease} {
		rs, _, err := c.a.AuditLog(c.ctx, app.AuditQuery{Action: action, Target: h.ID})
		if err != nil || len(rs) != 1 {
			t.Fatalf("audit %s: %v %v", action, rs, err)
		}
		if rs[0].ActorID != "operator:root" || rs[0].Details["scope"] != "conversation" || rs[0].Details["reason"] != "case 12" {
			t.Fatalf("audit %s: %+v", action, rs[0])
		}
	}
	if v, err := c.a.VerifyAuditLog(c.ctx); err != nil || !v.OK {
		t.Fatalf("audit log does not verify: %+v %v", v, err)
	}

	// An account hold covers the account's conversations.
	m2 := c.send(c.bob, app.SendInput{Text: "second"})
	if _, err := c.a.PlaceHold(c.ctx, "root", app.HoldInput{Scope: "account", Target: "bob"}); err != nil {
		t.Fatal(err)
	}
	c.clock.Advance(time.Hour)
	if st := c.reap(); st.HeldSkipped != 1 || st.Purged != 0 {
		t.Fatalf("reap under account hold: %+v", st)
	}
	if c.stored(m2.ID).Text != "second" {
		t.Fatal("account hold did not keep the message")
	}
}

func TestViewOnce(t *testing.T) {
	c := newChat(t)
	id, _ := c.upload(c.ann, mediatest.PNG(20, 20))
	if _, _, err := c.a.Send(c.ctx, c.ann, c.conv, app.SendInput{ClientID: "t", Text: "x", ViewOnce: true}); parley.ErrorCode(err) != parley.EInvalid {
		t.Fatalf("view-once text: %v", err)
	}
	m := c.send(c.ann, app.SendInput{Kind: parley.MessageImage, Attachments: []string{id}, ViewOnce: true})
	if !m.ViewOnce {
		t.Fatal("view_once not set")
	}
	if _, err := c.a.OpenMedia(c.ctx, c.bob, id, true); parley.ErrorCode(err) != parley.ENotFound {
		t.Fatalf("thumbnail of view-once media: %v", err)
	}
	f, err := c.a.OpenMedia(c.ctx, c.bob, id, false)
	if err != nil {
		t.Fatalf("first open: %v", err)
	}
	f.Close()
	if _, err := c.a.OpenMedia(c.ctx, c.bob, id, false); parley.ErrorCode(err) != parley.EViewOnceOpened {
		t.Fatalf("second open: %v, want %s", err, parley.EViewOnceOpened)
	}
	for i := 0; i < 2; i++ { // the sender may look again
		f, err := c.a.OpenMedia(c.ctx, c.ann, id, false)
		if err != nil {
			t.Fatalf("sender open %d: %v", i, err)
		}
		f.Close()
	}
	if v := byID(c.history(c.ann), m.ID); !v.Opened {
		t.Fatal("the sender does not see opened")
	}
	if v := byID(c.history(c.bob), m.ID); !v.Opened {
		t.Fatal("the recipient does not see opened")
	}
}

// TestUnreadSkipsExpired: a disappearing message that expired while its
// recipient was away is not shown, so it is not unread either — even before
// the reaper purges it; under a legal hold it stays and counts.
func TestUnreadSkipsExpired(t *testing.T) {
	c := newChat(t)
	c.setTimer(c.ann, 300)
	c.send(c.ann, app.SendInput{Text: "gone in five minutes"})
	c.send(c.ann, app.SendInput{Text: "this one too"})
	unread := func() int {
		t.Helper()
		v, err := c.a.Conversation(c.ctx, c.bob, c.conv)
		if err != nil {
			t.Fatal(err)
		}
		return v.UnreadCount
	}
	if n := unread(); n != 2 {
		t.Fatalf("unread before expiry %d, want 2", n)
	}
	c.clock.Advance(301 * time.Second)
	if n, shown := unread(), len(c.history(c.bob)); n != 0 {
		t.Fatalf("unread after expiry %d, want 0 (history shows %d messages)", n, shown)
	}
	c.send(c.ann, app.SendInput{Text: "a new one"})
	if n := unread(); n != 1 {
		t.Fatalf("unread after a new message %d, want 1", n)
	}
}
