package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/blob"
	"github.com/parleyhq/parley/internal/mediatest"
)

// frameEnv is an app that keeps the events its updates notify, with a
// fake clock and a disk blob store, on the store of openStore.
type frameEnv struct {
	t      *testing.T
	ctx    context.Context
	a      *app.App
	clock  *fakeClock
	actors map[string]*app.Actor // by user id
	n      int

	mu     sync.Mutex
	events []*parley.Event
}

func newFrameEnv(t *testing.T) *frameEnv {
	t.Helper()
	blobs, err := blob.OpenDisk(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	e := &frameEnv{t: t, ctx: context.Background(), actors: map[string]*app.Actor{},
		clock: &fakeClock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}}
	e.a = app.New(openStore(t), app.Config{Password: cheap}, app.WithClock(e.clock.Now), app.WithBlobs(blobs),
		app.WithNotify(func(evs []*parley.Event) {
			e.mu.Lock()
			e.events = append(e.events, evs...)
			e.mu.Unlock()
		}))
	return e
}

func (e *frameEnv) register(handle string, kind parley.UserKind) *app.Actor {
	e.t.Helper()
	auth, err := e.a.Register(e.ctx, app.Registration{Handle: handle, Password: "correct horse battery", DisplayName: "Name of " + handle, Kind: kind})
	if err != nil {
		e.t.Fatal(err)
	}
	actor, err := e.a.Authenticate(e.ctx, auth.Token)
	if err != nil {
		e.t.Fatal(err)
	}
	e.actors[actor.User.ID] = actor
	return actor
}

// direct opens the direct conversation of from and to; to follows from
// first unless request is set (the conversation is then a request).
func (e *frameEnv) direct(from, to *app.Actor, request bool) string {
	e.t.Helper()
	if !request {
		if err := e.a.Follow(e.ctx, to, from.User.Handle, true); err != nil {
			e.t.Fatal(err)
		}
	}
	c, _, err := e.a.CreateDirect(e.ctx, from, to.User.Handle)
	if err != nil {
		e.t.Fatal(err)
	}
	return c.ID
}

// send sends in and returns the event of the new message as the notifier
// got it (with what the send had in hand).
func (e *frameEnv) send(from *app.Actor, conv string, in app.SendInput) *parley.Event {
	e.t.Helper()
	e.n++
	in.ClientID = fmt.Sprint("c", e.n)
	e.mu.Lock()
	e.events = nil
	e.mu.Unlock()
	v, _, err := e.a.Send(e.ctx, from, conv, in)
	if err != nil {
		e.t.Fatal(err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ev := range e.events {
		if ev.Type == parley.EventMessageCreated && ev.MessageID == v.ID {
			return ev
		}
	}
	e.t.Fatalf("no event for message %s in %v", v.ID, e.events)
	return nil
}

// check renders the frames of evs, with the sends' hands where they still
// hold (hands of them) and from the store alone: both must be the same
// bytes, every frame must be what its user's Sync gives for the message,
// and the users with a frame for evs[0] must be want.
func (e *frameEnv) check(name string, evs []*parley.Event, hands int, want ...*app.Actor) {
	e.t.Helper()
	got, users := e.a.HandsHold(evs)
	if got != hands {
		e.t.Errorf("%s: %d hands hold, want %d", name, got, hands)
	}
	// On SQLite the send read the users too (no read after the commit);
	// on PostgreSQL they are read after it.
	if inProcess := os.Getenv("PARLEY_TEST_STORE") != "postgres"; (users > 0) != (inProcess && hands > 0) {
		e.t.Errorf("%s: hands hold %d users (SQLite: %v)", name, users, inProcess)
	}
	frames, err := e.a.DirectFrames(e.ctx, evs)
	if err != nil {
		e.t.Fatalf("%s: %v", name, err)
	}
	read, err := e.a.DirectFramesFromStore(e.ctx, evs)
	if err != nil {
		e.t.Fatalf("%s: %v", name, err)
	}
	if !reflect.DeepEqual(frames, read) {
		e.t.Errorf("%s: with hands\n%s\nfrom the store\n%s", name, dump(frames), dump(read))
	}
	var wantIDs, gotIDs []string
	for _, a := range want {
		wantIDs = append(wantIDs, a.User.ID)
	}
	for id := range frames[evs[0].Pos] {
		gotIDs = append(gotIDs, id)
	}
	slices.Sort(wantIDs)
	slices.Sort(gotIDs)
	if !slices.Equal(gotIDs, wantIDs) {
		e.t.Errorf("%s: frames for %v, want %v", name, gotIDs, wantIDs)
	}
	for _, ev := range evs {
		for id, frame := range frames[ev.Pos] {
			page, err := e.a.Sync(e.ctx, e.actors[id], ev.Pos-1, 0)
			if err != nil {
				e.t.Fatalf("%s: sync: %v", name, err)
			}
			var bySync []byte
			for _, se := range page.Events {
				if se.Pos == ev.Pos {
					if bySync, err = json.Marshal(se); err != nil {
						e.t.Fatal(err)
					}
				}
			}
			if !bytes.Equal(frame, bySync) {
				e.t.Errorf("%s: the frame for %s is\n%s\nsync gives\n%s", name, e.actors[id].User.Handle, frame, bySync)
			}
		}
	}
}

func dump(fs map[int64]map[string][]byte) string {
	var b bytes.Buffer
	for pos, byUser := range fs {
		for u, f := range byUser {
			fmt.Fprintf(&b, "%d %s %s\n", pos, u, f)
		}
	}
	return b.String()
}

// TestDirectFramesAreWhatSyncGives: the frames of a new direct message,
// rendered from what its send had in hand, are byte for byte those read
// from the store and those each member's Sync gives — and as soon as an
// update that may change them (an edit, an unsend, a reaction, a block, a
// ban, an account deletion) ran after the send, they are read from the
// store again. Runs on both stores (PARLEY_TEST_STORE).
func TestDirectFramesAreWhatSyncGives(t *testing.T) {
	e := newFrameEnv(t)
	ann, bob := e.register("ann", parley.KindPerson), e.register("bob", parley.KindPerson)
	mallory := e.register("mallory", parley.KindPerson)
	conv := e.direct(ann, bob, false)

	// A block elsewhere changes nothing here.
	if err := e.a.Block(e.ctx, ann, "mallory", true); err != nil {
		t.Fatal(err)
	}
	first := e.send(ann, conv, app.SendInput{Text: "hello bob"})
	e.check("plain", []*parley.Event{first}, 1, ann, bob)
	reply := e.send(bob, conv, app.SendInput{Text: "hello ann", ReplyTo: first.MessageID})
	e.check("reply", []*parley.Event{reply}, 1, ann, bob)

	// Several sends rendered together, one with media seen once.
	mv, err := e.a.Upload(e.ctx, ann, parley.MessageImage, bytes.NewReader(mediatest.PNG(20, 10)))
	if err != nil {
		t.Fatal(err)
	}
	batch := []*parley.Event{
		e.send(ann, conv, app.SendInput{Kind: parley.MessageImage, Attachments: []string{mv.ID}, ViewOnce: true, Text: "look"}),
		e.send(bob, conv, app.SendInput{Text: "two"}),
		e.send(ann, conv, app.SendInput{Text: "three"}),
	}
	e.check("batch", batch, 3, ann, bob)

	// A request: the recipient has not accepted and gets no frame.
	carol := e.register("carol", parley.KindPerson)
	req := e.direct(ann, carol, true)
	asked := e.send(ann, req, app.SendInput{Text: "may I?"})
	e.check("request", []*parley.Event{asked}, 1, ann)

	// A bot's message is automated.
	bot := e.register("helperbot", parley.KindBot)
	botConv := e.direct(bot, bob, false)
	e.check("bot", []*parley.Event{e.send(bot, botConv, app.SendInput{Text: "beep"})}, 1, bot, bob)

	// Updates after the send: the frames are read again, and show them.
	edited := e.send(ann, conv, app.SendInput{Text: "typo"})
	if _, err := e.a.Edit(e.ctx, ann, conv, edited.MessageID, "fixed"); err != nil {
		t.Fatal(err)
	}
	e.check("edited", []*parley.Event{edited}, 0, ann, bob)

	unsent := e.send(ann, conv, app.SendInput{Text: "oops"})
	if err := e.a.Unsend(e.ctx, ann, conv, unsent.MessageID); err != nil {
		t.Fatal(err)
	}
	e.check("unsent", []*parley.Event{unsent}, 0, ann, bob)

	reacted := e.send(ann, conv, app.SendInput{Text: "react to me"})
	if err := e.a.React(e.ctx, bob, conv, reacted.MessageID, "👍", true); err != nil {
		t.Fatal(err)
	}
	e.check("reacted", []*parley.Event{reacted}, 0, ann, bob)

	// The hand of a send older than a later update is dropped, a newer
	// one's kept, in one rendering.
	fresh := e.send(bob, conv, app.SendInput{Text: "after the reaction"})
	e.check("old and new", []*parley.Event{fresh, reacted}, 1, ann, bob)

	dave, erin := e.register("dave", parley.KindPerson), e.register("erin", parley.KindPerson)
	blockConv := e.direct(dave, erin, false)
	blocked := e.send(dave, blockConv, app.SendInput{Text: "before the block"})
	if err := e.a.Block(e.ctx, erin, "dave", true); err != nil {
		t.Fatal(err)
	}
	e.check("blocked", []*parley.Event{blocked}, 0, dave, erin)

	troll := e.register("troll", parley.KindPerson)
	trollConv := e.direct(troll, bob, false)
	trolled := e.send(troll, trollConv, app.SendInput{Text: "you zebra"})
	if _, err := e.a.Ban(e.ctx, "troll", true); err != nil {
		t.Fatal(err)
	}
	e.check("banned", []*parley.Event{trolled}, 0, troll, bob)

	// A member who left (an account deleted) gets no frame.
	frank, gina := e.register("frank", parley.KindPerson), e.register("gina", parley.KindPerson)
	leftConv := e.direct(frank, gina, false)
	left := e.send(frank, leftConv, app.SendInput{Text: "are you there?"})
	if _, err := e.a.DeleteAccount(e.ctx, gina, app.DeleteAccountInput{Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	e.check("left", []*parley.Event{left}, 0, frank)

	// A disappearing message past its expiry renders as its tombstone.
	if _, err := e.a.SetDisappearing(e.ctx, ann, conv, 300); err != nil {
		t.Fatal(err)
	}
	short := e.send(ann, conv, app.SendInput{Text: "gone soon"})
	e.check("disappearing", []*parley.Event{short}, 1, ann, bob)
	e.clock.Advance(10 * time.Minute)
	e.check("expired", []*parley.Event{short}, 1, ann, bob)
	_ = mallory
}

// TestDirectFramesSkipAgents: a member who is on a business's team gets
// no frame (their Sync merges their businesses' changes); the other
// member's frame is still rendered from the send's hand.
func TestDirectFramesSkipAgents(t *testing.T) {
	e := newFrameEnv(t)
	biz := e.register("acme", parley.KindBusiness)
	admin, err := e.a.ActAs(e.ctx, biz, "acme")
	if err != nil {
		t.Fatal(err)
	}
	agent := e.register("agnes", parley.KindPerson)
	if _, err := e.a.PutAgent(e.ctx, admin, "agnes", app.AgentChange{}); err != nil {
		t.Fatal(err)
	}
	friend := e.register("friend", parley.KindPerson)
	conv := e.direct(agent, friend, false)
	e.check("agent sends", []*parley.Event{e.send(agent, conv, app.SendInput{Text: "hi from work"})}, 1, friend)
	e.check("agent receives", []*parley.Event{e.send(friend, conv, app.SendInput{Text: "hi"})}, 1, friend)
}

// TestIdleWorkersKeepHands: the background workers' polls on an idle
// server (channel sends, channel work, webhook deliveries) take leases
// that no message's view shows, so a send's frames may still be rendered
// from what it had in hand after them; an update that may change a view
// (an edit) still stops the hands.
func TestIdleWorkersKeepHands(t *testing.T) {
	e := newFrameEnv(t)
	ann := e.register("ann", parley.KindPerson)
	bob := e.register("bob", parley.KindPerson)
	conv := e.direct(ann, bob, false)
	ev := e.send(ann, conv, app.SendInput{Text: "lunch at one?"})
	if hands, _ := e.a.HandsHold([]*parley.Event{ev}); hands != 1 {
		t.Fatalf("right after the send: %d hands hold, want 1", hands)
	}
	for range 3 {
		if _, err := e.a.ChannelSendTick(e.ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := e.a.ChannelWorkTick(e.ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := e.a.ClaimWebhookDeliveries(e.ctx, 16, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if hands, _ := e.a.HandsHold([]*parley.Event{ev}); hands != 1 {
		t.Fatalf("after the workers' polls: %d hands hold, want 1", hands)
	}
	e.check("after the workers' polls", []*parley.Event{ev}, 1, ann, bob)
	other := e.send(bob, conv, app.SendInput{Text: "sure"})
	if _, err := e.a.Edit(e.ctx, ann, conv, ev.MessageID, "lunch at two?"); err != nil {
		t.Fatal(err)
	}
	if hands, _ := e.a.HandsHold([]*parley.Event{other}); hands != 0 {
		t.Fatalf("after an edit: %d hands hold, want 0", hands)
	}
}
