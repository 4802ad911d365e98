package realtime

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/bus/inproc"
	"github.com/parleyhq/parley/store/sqlite"
)

func newHub(t *testing.T, opts ...app.Option) (*Hub, *app.App) {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "p.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	bus := inproc.New(0)
	var h *Hub
	a := app.New(db, app.Config{Password: app.PasswordParams{Time: 1, MemoryK: 1024, Threads: 1}},
		append([]app.Option{app.WithNotify(func(evs []*parley.Event) { h.Publish(evs) })}, opts...)...)
	if h, err = New(a, bus, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(); bus.Close(); db.Close() })
	return h, a
}

func actor(t *testing.T, a *app.App, handle string) *app.Actor {
	t.Helper()
	auth, err := a.Register(context.Background(), app.Registration{Handle: handle, Password: "long enough password"})
	if err != nil {
		t.Fatal(err)
	}
	act, err := a.Authenticate(context.Background(), auth.Token)
	if err != nil {
		t.Fatal(err)
	}
	return act
}

func woken(d *Device) bool {
	select {
	case <-d.Wake():
		return true
	case <-time.After(10 * time.Second):
		return false
	}
}

// told reports whether the device learned of a change: woken to sync, or
// handed the change itself (a new direct message is pushed to a device
// the hub knows to be caught up; publish.go).
func told(d *Device) bool {
	select {
	case <-d.Wake():
		return true
	case <-d.Delivered():
		return true
	case <-time.After(10 * time.Second):
		return false
	}
}

// TestGapWakesEveryDevice: when the bus reports dropped notifications, every
// local device syncs, since any of them may have missed something.
func TestGapWakesEveryDevice(t *testing.T) {
	h, a := newHub(t)
	d1, d2 := h.Register(actor(t, a, "ann"), nil, false), h.Register(actor(t, a, "ben"), nil, false)
	h.receive(nil)
	if !woken(d1) || !woken(d2) {
		t.Fatal("a gap did not wake every device")
	}
}

// TestCommitWakesMembersOnly: a committed message reaches the devices of
// the conversation's members (a wake, or the message pushed), not a
// stranger's.
func TestCommitWakesMembersOnly(t *testing.T) {
	h, a := newHub(t)
	ctx := context.Background()
	ann, ben, cid := actor(t, a, "ann"), actor(t, a, "ben"), actor(t, a, "cid")
	conv, _, err := a.CreateDirect(ctx, ann, "ben")
	if err != nil {
		t.Fatal(err)
	}
	dAnn, dBen, dCid := h.Register(ann, nil, false), h.Register(ben, nil, false), h.Register(cid, nil, false)
	for _, d := range []*Device{dAnn, dBen, dCid} { // drain registration-time wakes
		select {
		case <-d.Wake():
		default:
		}
	}
	if _, _, err := a.Send(ctx, ann, conv.ID, app.SendInput{Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	if !told(dAnn) || !told(dBen) {
		t.Fatal("members were neither woken nor handed the message")
	}
	select {
	case <-dCid.Wake():
		t.Fatal("a stranger was woken")
	case <-dCid.Delivered():
		t.Fatal("a stranger was handed the message")
	case <-time.After(200 * time.Millisecond):
	}
}

// TestEndedSessionRegistersRevoked: a device registered for a session that
// has already ended is revoked at once.
func TestEndedSessionRegistersRevoked(t *testing.T) {
	h, a := newHub(t)
	ann := actor(t, a, "ann")
	if err := a.Logout(context.Background(), ann); err != nil {
		t.Fatal(err)
	}
	d := h.Register(ann, nil, false)
	select {
	case <-d.Revoked():
	default:
		t.Fatal("a device of an ended session was not revoked")
	}
}

// TestTicketsAreSingleUse: a ticket opens one stream, then is gone.
func TestTicketsAreSingleUse(t *testing.T) {
	h, a := newHub(t)
	ann := actor(t, a, "ann")
	tk, exp, err := h.IssueTicket(ann)
	if err != nil {
		t.Fatal(err)
	}
	if time.Until(exp) <= 0 || time.Until(exp) > TicketTTL {
		t.Fatalf("expiry %v", exp)
	}
	if got, ok := h.RedeemTicket(tk); !ok || got.User.ID != ann.User.ID {
		t.Fatal("a fresh ticket was refused")
	}
	if _, ok := h.RedeemTicket(tk); ok {
		t.Fatal("a ticket worked twice")
	}
	if _, ok := h.RedeemTicket("tkt_made_up"); ok {
		t.Fatal("an unknown ticket worked")
	}
}

// TestRevokeClosesOnlyThatSession: revoking one session revokes its devices
// and leaves the user's others.
func TestRevokeClosesOnlyThatSession(t *testing.T) {
	h, a := newHub(t)
	ann := actor(t, a, "ann")
	auth, err := a.Login(context.Background(), "ann", "long enough password", "second device", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	other, err := a.Authenticate(context.Background(), auth.Token)
	if err != nil {
		t.Fatal(err)
	}
	d1, d2 := h.Register(ann, nil, false), h.Register(other, nil, false)
	h.receive(mustJSON(t, notification{Type: typeRevokeSessions, UserID: ann.User.ID, Audience: []string{ann.SessionID}}))
	select {
	case <-d1.Revoked():
	case <-time.After(10 * time.Second):
		t.Fatal("the revoked session's device was not revoked")
	}
	select {
	case <-d2.Revoked():
		t.Fatal("another session's device was revoked")
	default:
	}
}

func mustJSON(t *testing.T, n notification) []byte {
	t.Helper()
	b, err := json.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGapRechecksSessions: a revocation lost with dropped notifications is
// caught by the session check that follows a gap.
func TestGapRechecksSessions(t *testing.T) {
	h, a := newHub(t)
	ann := actor(t, a, "ann")
	d := h.Register(ann, nil, false)
	// The app in this test has no revocation hook: the logout's revocation
	// never reaches the hub, as if it had been dropped.
	if err := a.Logout(context.Background(), ann); err != nil {
		t.Fatal(err)
	}
	h.receive(nil)
	select {
	case <-d.Revoked():
	case <-time.After(10 * time.Second):
		t.Fatal("the device of an ended session survived a gap")
	}
}

// TestAudienceFollowsMembership: the hub caches who belongs to a
// conversation, and a member added after the cache filled is woken by the
// addition and by every message after it.
func TestAudienceFollowsMembership(t *testing.T) {
	h, a := newHub(t)
	ctx := context.Background()
	ann, ben, cid := actor(t, a, "ann"), actor(t, a, "ben"), actor(t, a, "cid")
	g, _, err := a.CreateGroup(ctx, ann, app.GroupInput{Title: "g", Members: []string{"ben"}})
	if err != nil {
		t.Fatal(err)
	}
	dBen, dCid := h.Register(ben, nil, false), h.Register(cid, nil, false)
	send := func(text string) {
		t.Helper()
		if _, _, err := a.Send(ctx, ann, g.ID, app.SendInput{Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	cached := func() bool {
		deadline := time.Now().Add(10 * time.Second)
		for { // the hub handles notifications on its own goroutine
			if _, _, _, _, ok := h.aud.get(g.ID); ok || time.Now().After(deadline) {
				return ok
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	send("before cid")
	if !woken(dBen) {
		t.Fatal("ben was not woken")
	}
	if !cached() {
		t.Fatal("the audience was not cached")
	}
	select {
	case <-dCid.Wake():
		t.Fatal("cid was woken before joining")
	case <-time.After(100 * time.Millisecond):
	}
	if _, err := a.AddMembers(ctx, ann, g.ID, []string{"cid"}); err != nil {
		t.Fatal(err)
	}
	if !woken(dCid) {
		t.Fatal("cid was not woken by the addition")
	}
	cached() // let the hub finish with the addition's notifications
	select {
	case <-dCid.Wake():
	default:
	}
	send("after cid")
	if !woken(dCid) {
		t.Fatal("cid was not woken by a message after joining")
	}
}

// TestFormerMemberNotWoken: a member who was removed is woken for the
// removal, and then no more by the group's activity (an empty sync would
// still move their position and tell them the group is busy).
func TestFormerMemberNotWoken(t *testing.T) {
	h, a := newHub(t)
	ctx := context.Background()
	ann, ben := actor(t, a, "ann"), actor(t, a, "ben")
	g, _, err := a.CreateGroup(ctx, ann, app.GroupInput{Title: "g", Members: []string{"ben"}})
	if err != nil {
		t.Fatal(err)
	}
	dBen := h.Register(ben, nil, false)
	if err := a.RemoveMember(ctx, ann, g.ID, "ben"); err != nil {
		t.Fatal(err)
	}
	if !woken(dBen) {
		t.Fatal("ben was not woken for his removal")
	}
	time.Sleep(100 * time.Millisecond) // the removal's other notifications
	select {
	case <-dBen.Wake():
	default:
	}
	if _, _, err := a.Send(ctx, ann, g.ID, app.SendInput{Text: "after ben"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-dBen.Wake():
		t.Fatal("a former member was woken by the group's activity")
	case <-time.After(300 * time.Millisecond):
	}
}

// TestCloseSendsWhatIsQueued: the notifications of new messages waiting
// for the publisher when the hub closes still go out on the bus (an
// admin command publishes and exits at once).
func TestCloseSendsWhatIsQueued(t *testing.T) {
	h, a := newHub(t)
	got := make(chan notification, 16)
	sub, err := h.bus.Subscribe(Subject, func(b []byte) {
		var n notification
		if b != nil && json.Unmarshal(b, &n) == nil {
			got <- n
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	ann := actor(t, a, "ann")
	h.Publish([]*parley.Event{
		{Type: parley.EventMessageCreated, Pos: 7, ConversationID: "c", MessageID: "m", Audience: []string{ann.User.ID}},
		{Type: parley.EventMemberLeft, Pos: 8, ConversationID: "c", Audience: []string{ann.User.ID}},
	})
	h.Close()
	for _, want := range []string{parley.EventMessageCreated, parley.EventMemberLeft} {
		select {
		case n := <-got:
			if n.Type != want {
				t.Fatalf("got %s, want %s", n.Type, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s never went out: the hub closed with it queued", want)
		}
	}
}
