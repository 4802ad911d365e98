package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/outbound"
	"github.com/parleyhq/parley/webhook"
)

// received is one POST the test receiver got.
type received struct {
	ID, Type, Conv, Text, As, Kind string
	Seq                            int64
	Status                         int
	Verified                       bool
	Payload                        map[string]any
}

// receiver is a webhook endpoint on loopback. answer decides the status
// of each delivery (200 unless set).
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []received
	secret map[string]string // by path: the secret to verify with
	answer func(r received) int
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{secret: map[string]string{}}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var p struct {
			ID   string `json:"id"`
			Type string `json:"type"`
			Data struct {
				ConversationID string `json:"conversation_id"`
				Seq            int64  `json:"seq"`
				As             string `json:"as"`
				Message        *struct {
					Text string `json:"text"`
					Kind string `json:"kind"`
				} `json:"message"`
			} `json:"data"`
		}
		var raw map[string]any
		if json.Unmarshal(body, &p) != nil || json.Unmarshal(body, &raw) != nil {
			t.Errorf("not JSON: %s", body)
		}
		rc.mu.Lock()
		defer rc.mu.Unlock()
		got := received{ID: p.ID, Type: p.Type, Conv: p.Data.ConversationID, Seq: p.Data.Seq, As: p.Data.As, Payload: raw}
		if p.Data.Message != nil {
			got.Text, got.Kind = p.Data.Message.Text, p.Data.Message.Kind
		}
		got.Verified = webhook.Verify(rc.secret[r.URL.Path], r.Header, body, time.Now(), 5*time.Minute) == nil
		if r.Header.Get("webhook-id") != p.ID {
			t.Errorf("webhook-id %q, payload id %q", r.Header.Get("webhook-id"), p.ID)
		}
		got.Status = 200
		if rc.answer != nil {
			got.Status = rc.answer(got)
		}
		rc.got = append(rc.got, got)
		w.WriteHeader(got.Status)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) take() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := rc.got
	rc.got = nil
	return out
}

func (rc *receiver) setAnswer(f func(r received) int) {
	rc.mu.Lock()
	rc.answer = f
	rc.mu.Unlock()
}

// hookEnv is an app on a fake clock whose webhooks may reach the
// receiver, and a worker driven by the test.
type hookEnv struct {
	t      *testing.T
	ctx    context.Context
	a      *app.App
	clock  *fakeClock
	worker *webhook.Worker
	rc     *receiver
	n      int
}

func newHookEnv(t *testing.T) *hookEnv {
	t.Helper()
	db := openStore(t)
	rc := newReceiver(t)
	allow, err := webhook.ParseAllow([]string{strings.TrimPrefix(rc.srv.URL, "http://")})
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	a := app.New(db, app.Config{Password: cheap}, app.WithClock(clock.Now), app.WithWebhooks(app.WebhookOptions{CheckURL: allow.CheckURL}))
	opts := webhook.Options{Concurrency: 8, Timeout: 2 * time.Second}
	w := webhook.New(a, outbound.New(allow.ClientOptions(opts.ClientOptions(outbound.Options{}))), opts)
	return &hookEnv{t: t, ctx: context.Background(), a: a, clock: clock, worker: w, rc: rc}
}

func (e *hookEnv) register(handle string, kind parley.UserKind) *app.Actor {
	e.t.Helper()
	auth, err := e.a.Register(e.ctx, app.Registration{Handle: handle, Password: "correct horse battery", DisplayName: handle, Kind: kind})
	if err != nil {
		e.t.Fatal(err)
	}
	actor, err := e.a.Authenticate(e.ctx, auth.Token)
	if err != nil {
		e.t.Fatal(err)
	}
	return actor
}

// hook subscribes actor's webhook at the receiver's path /<handle>.
func (e *hookEnv) hook(actor *app.Actor, events ...string) *app.WebhookView {
	e.t.Helper()
	v, err := e.a.CreateWebhook(e.ctx, actor, app.WebhookInput{URL: e.rc.srv.URL + "/" + actor.User.Handle, Events: events})
	if err != nil {
		e.t.Fatal(err)
	}
	if !strings.HasPrefix(v.Secret, "whsec_") {
		e.t.Fatalf("secret %q", v.Secret)
	}
	e.rc.mu.Lock()
	e.rc.secret["/"+actor.User.Handle] = v.Secret
	e.rc.mu.Unlock()
	return v
}

func (e *hookEnv) direct(from *app.Actor, to string) string {
	e.t.Helper()
	c, _, err := e.a.CreateDirect(e.ctx, from, to)
	if err != nil {
		e.t.Fatal(err)
	}
	return c.ID
}

func (e *hookEnv) say(actor *app.Actor, convID, text string) *app.MessageView {
	e.t.Helper()
	e.n++
	m, _, err := e.a.Send(e.ctx, actor, convID, app.SendInput{ClientID: fmt.Sprintf("c%d", e.n), Text: text})
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

// deliver runs the worker over everything due and returns what arrived.
func (e *hookEnv) deliver() []received {
	e.t.Helper()
	if _, err := e.worker.DeliverDue(e.ctx); err != nil {
		e.t.Fatal(err)
	}
	got := e.rc.take()
	for _, r := range got {
		if !r.Verified {
			e.t.Errorf("delivery %s (%s) has no valid signature", r.ID, r.Type)
		}
	}
	return got
}

func texts(rs []received) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.Type+":"+r.Text)
	}
	return out
}

// TestWebhookDeliversWhatSyncShows: a webhook receives the events of its
// subscription that its owner's sync shows, as the owner sees them, and
// nothing else: not other people's conversations, not a group's after
// the owner left, not event types it did not ask for.
func TestWebhookDeliversWhatSyncShows(t *testing.T) {
	e := newHookEnv(t)
	ann, bob, carl := e.register("ann", parley.KindPerson), e.register("bob", parley.KindPerson), e.register("carl", parley.KindPerson)
	for _, u := range []*app.Actor{ann, bob, carl} {
		for _, v := range []string{"ann", "bob", "carl"} {
			if v != u.User.Handle {
				if err := e.a.Follow(e.ctx, u, v, true); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	// Before any webhook, sends pay nothing and queue nothing.
	ab := e.direct(bob, "ann")
	e.say(bob, ab, "before the webhook")
	h := e.hook(ann, app.HookMessageCreated, app.HookReactionAdded)
	if got := e.deliver(); len(got) != 0 {
		t.Fatalf("delivered before anything happened: %v", texts(got))
	}

	m := e.say(bob, ab, "hi ann")
	cb := e.direct(carl, "bob")
	e.say(carl, cb, "not for ann")
	if _, err := e.a.Edit(e.ctx, bob, ab, m.ID, "hi ann!"); err != nil { // not subscribed
		t.Fatal(err)
	}
	if err := e.a.React(e.ctx, bob, ab, m.ID, "👍", true); err != nil {
		t.Fatal(err)
	}
	got := e.deliver()
	// The payload is rendered when sent: the edit shows.
	if want := []string{"message.created:hi ann!", "reaction.added:hi ann!"}; !slices.Equal(texts(got), want) {
		t.Fatalf("delivered %v, want %v", texts(got), want)
	}
	p := got[0].Payload
	data := p["data"].(map[string]any)
	if p["id"] != got[0].ID || !strings.HasPrefix(got[0].ID, "msg_") || p["created_at"] == nil ||
		data["type"] != "message.created" || data["actor_id"] != bob.User.ID || data["pos"] == nil {
		t.Fatalf("payload %v", p)
	}
	if sender := data["message"].(map[string]any)["sender"].(map[string]any); sender["handle"] != "bob" {
		t.Fatalf("the message view names the sender: %v", sender)
	}
	if _, ok := data["message"].(map[string]any)["client_id"]; ok {
		t.Fatalf("bob's client id reached ann's webhook: %v", data["message"])
	}

	// A group: ann's view, until she leaves.
	g, _, err := e.a.CreateGroup(e.ctx, carl, app.GroupInput{Title: "trio", Members: []string{"ann", "bob"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.Accept(e.ctx, ann, g.ID); err != nil && parley.ErrorCode(err) != parley.EConflict {
		t.Fatal(err)
	}
	e.say(carl, g.ID, "group hello")
	var people []received // the group's system messages (members added) come too
	for _, r := range e.deliver() {
		if r.Kind != "system" {
			people = append(people, r)
		}
	}
	if got := texts(people); !slices.Equal(got, []string{"message.created:group hello"}) {
		t.Fatalf("group: %v", got)
	}
	if err := e.a.Leave(e.ctx, ann, g.ID); err != nil {
		t.Fatal(err)
	}
	e.say(carl, g.ID, "after ann left")
	for _, r := range e.deliver() {
		if r.Kind != "system" || r.Seq == 0 { // her own departure she sees
			t.Fatalf("delivered after leaving: %+v", r)
		}
	}

	// A ping reaches every webhook, signed like the rest.
	if _, err := e.a.TestWebhook(e.ctx, ann, h.ID); err != nil {
		t.Fatal(err)
	}
	if got := e.deliver(); len(got) != 1 || got[0].Type != "ping" {
		t.Fatalf("ping: %v", texts(got))
	}
	// Others cannot see or touch ann's webhook.
	if _, err := e.a.Webhook(e.ctx, bob, h.ID); parley.ErrorCode(err) != parley.ENotFound {
		t.Fatalf("bob reads ann's webhook: %v", err)
	}
	if _, err := e.a.TestWebhook(e.ctx, bob, h.ID); parley.ErrorCode(err) != parley.ENotFound {
		t.Fatalf("bob pings ann's webhook: %v", err)
	}
}

// TestWebhookRetriesKeepOrder: a failing conversation retries its oldest
// delivery with the same id and holds the rest back, while other
// conversations flow; when the receiver recovers everything arrives in
// order. A delivery that fails for 24 h is dead; replay sends it again.
func TestWebhookRetriesKeepOrder(t *testing.T) {
	e := newHookEnv(t)
	ann, bob, carl := e.register("ann", parley.KindPerson), e.register("bob", parley.KindPerson), e.register("carl", parley.KindPerson)
	if err := e.a.Follow(e.ctx, ann, "bob", true); err != nil {
		t.Fatal(err)
	}
	if err := e.a.Follow(e.ctx, ann, "carl", true); err != nil {
		t.Fatal(err)
	}
	h := e.hook(ann, app.HookMessageCreated)
	ab, ac := e.direct(bob, "ann"), e.direct(carl, "ann")
	down := map[string]bool{ab: true}
	var mu sync.Mutex
	e.rc.setAnswer(func(r received) int {
		mu.Lock()
		defer mu.Unlock()
		if down[r.Conv] {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	e.say(bob, ab, "b1")
	e.say(bob, ab, "b2")
	e.say(carl, ac, "c1")
	got := e.deliver()
	if want := []string{"message.created:b1", "message.created:c1"}; !slices.Equal(sortedTexts(got), want) {
		t.Fatalf("first round: %v, want %v", texts(got), want)
	}
	firstID := ""
	for _, r := range got {
		if r.Text == "b1" {
			firstID = r.ID
		}
	}
	e.say(carl, ac, "c2")
	if got := texts(e.deliver()); !slices.Equal(got, []string{"message.created:c2"}) {
		t.Fatalf("c2 must not wait for the other conversation: %v", got)
	}
	page, err := e.a.WebhookDeliveries(e.ctx, ann, h.ID, app.DeliveryQuery{Status: "failed"})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("failed list: %v %+v", err, page)
	}
	if f := page.Items[0]; f.ID != firstID || f.Attempts != 1 || f.LastStatusCode != 503 || f.NextAttemptAt == nil ||
		!strings.Contains(f.LastError, "503") {
		t.Fatalf("failed delivery %+v", f)
	}
	pending, _ := e.a.WebhookDeliveries(e.ctx, ann, h.ID, app.DeliveryQuery{Status: "pending"})
	if len(pending.Items) != 2 || pending.Items[0].Status != "queued" {
		t.Fatalf("b2 waits, queued: %+v", pending.Items)
	}

	// Retries follow the backoff; each carries the same id.
	for i, wait := range []time.Duration{app.WebhookBackoff(1), app.WebhookBackoff(2)} {
		e.clock.Advance(wait * 8 / 10) // the jitter is at most ±10 %
		if got := e.deliver(); len(got) != 0 {
			t.Fatalf("retry %d came early: %v", i+1, texts(got))
		}
		e.clock.Advance(wait * 4 / 10)
		got := e.deliver()
		if len(got) != 1 || got[0].ID != firstID || got[0].Text != "b1" {
			t.Fatalf("retry %d: %+v", i+1, got)
		}
	}
	// The receiver recovers: b1 then b2, in order.
	mu.Lock()
	down[ab] = false
	mu.Unlock()
	e.clock.Advance(app.WebhookBackoff(3) * 12 / 10)
	if got := e.deliver(); !slices.Equal(texts(got), []string{"message.created:b1", "message.created:b2"}) || got[0].ID != firstID {
		t.Fatalf("after recovery: %v", texts(got))
	}
	if v, _ := e.a.Webhook(e.ctx, ann, h.ID); !v.Enabled || v.FailingSince != nil || v.LastSuccessAt == nil {
		t.Fatalf("webhook after recovery: %+v", v)
	}

	// A conversation that keeps failing: dead after 24 h of retries, the
	// rest of it waits until then, other conversations flow meanwhile.
	mu.Lock()
	down[ac] = true
	mu.Unlock()
	e.say(carl, ac, "c3")
	e.say(carl, ac, "c4")
	start := e.clock.Now()
	attempts, sawC4 := 0, false
	for e.clock.Now().Sub(start) < 40*time.Hour && !sawC4 {
		for _, r := range e.deliver() {
			switch {
			case r.Conv != ac:
			case r.Text == "c3":
				attempts++
			case r.Text == "c4":
				// c4 goes only once c3 is dead (in the same run, at once).
				if d, _ := e.a.WebhookDeliveries(e.ctx, ann, h.ID, app.DeliveryQuery{Status: "dead"}); len(d.Items) != 1 {
					t.Fatalf("c4 arrived while c3 was still being retried")
				}
				sawC4 = true
			default:
				t.Fatalf("%s arrived while c3 was failing", r.Text)
			}
		}
		e.say(bob, ab, "keeps the webhook alive") // succeeds: the webhook is not failing as a whole
		e.clock.Advance(30 * time.Minute)
	}
	dead, _ := e.a.WebhookDeliveries(e.ctx, ann, h.ID, app.DeliveryQuery{Status: "dead"})
	if !sawC4 || len(dead.Items) != 1 || dead.Items[0].Attempts != attempts || attempts < 9 {
		t.Fatalf("dead list %+v after %d attempts", dead.Items, attempts)
	}
	if d := dead.Items[0]; d.LastAttemptAt.Sub(start) < app.DefaultWebhookRetryFor {
		t.Fatalf("dead after %v of retries, want at least 24 h", d.LastAttemptAt.Sub(start))
	}
	if v, _ := e.a.Webhook(e.ctx, ann, h.ID); !v.Enabled {
		t.Fatal("a webhook with successes was disabled")
	}
	// The receiver recovers: c4 on its next retry, then c3 replayed, with its id.
	mu.Lock()
	down[ac] = false
	mu.Unlock()
	e.clock.Advance(time.Minute)
	if got := texts(e.deliver()); !slices.Contains(got, "message.created:c4") || slices.Contains(got, "message.created:c3") {
		t.Fatalf("after c3 died: %v", got)
	}
	r, err := e.a.ReplayDelivery(e.ctx, ann, h.ID, dead.Items[0].ID)
	if err != nil || r.Status != "pending" || r.Attempts != 0 {
		t.Fatalf("replay: %v %+v", err, r)
	}
	if got := e.deliver(); len(got) != 1 || got[0].ID != dead.Items[0].ID || got[0].Text != "c3" {
		t.Fatalf("replayed: %+v", got)
	}
	if _, err := e.a.ReplayDelivery(e.ctx, ann, h.ID, "msg_nope"); parley.ErrorCode(err) != parley.ENotFound {
		t.Fatalf("replay of nothing: %v", err)
	}
}

func sortedTexts(rs []received) []string {
	out := texts(rs)
	slices.Sort(out)
	return out
}

// TestWebhookAutoDisable: a webhook whose every delivery fails for 24 h is
// disabled; its owner gets a webhook.disabled event in sync; nothing more
// is queued or sent until it is enabled again, and then the waiting
// deliveries go.
func TestWebhookAutoDisable(t *testing.T) {
	e := newHookEnv(t)
	ann, bob := e.register("ann", parley.KindPerson), e.register("bob", parley.KindPerson)
	if err := e.a.Follow(e.ctx, ann, "bob", true); err != nil {
		t.Fatal(err)
	}
	h := e.hook(ann, app.HookMessageCreated)
	ab := e.direct(bob, "ann")
	up := false
	var mu sync.Mutex
	e.rc.setAnswer(func(received) int {
		mu.Lock()
		defer mu.Unlock()
		if up {
			return 204
		}
		return 500
	})
	head, _ := e.a.Head(e.ctx)
	e.say(bob, ab, "m1")
	for range 200 {
		e.deliver()
		e.clock.Advance(time.Hour)
		if v, _ := e.a.Webhook(e.ctx, ann, h.ID); !v.Enabled {
			break
		}
	}
	v, err := e.a.Webhook(e.ctx, ann, h.ID)
	if err != nil || v.Enabled || v.DisabledReason == "" || v.DisabledAt == nil || v.FailingSince == nil ||
		v.DisabledAt.Sub(*v.FailingSince) < app.DefaultWebhookDisableAfter {
		t.Fatalf("webhook after a day of failures: %v %+v", err, v)
	}
	page, err := e.a.Sync(e.ctx, ann, head, 0)
	if err != nil {
		t.Fatal(err)
	}
	var notice *app.SyncEvent
	for _, ev := range page.Events {
		if ev.Type == app.EventWebhookDisabled {
			notice = ev
		}
	}
	if notice == nil || !strings.Contains(string(notice.Data), h.ID) {
		t.Fatalf("no webhook.disabled event in ann's sync: %+v", page.Events)
	}

	// Disabled: nothing is queued or posted.
	e.say(bob, ab, "m2 while disabled")
	e.clock.Advance(10 * time.Hour)
	if got := e.deliver(); len(got) != 0 {
		t.Fatalf("a disabled webhook got %v", texts(got))
	}
	if _, err := e.a.TestWebhook(e.ctx, ann, h.ID); parley.ErrorCode(err) != parley.EConflict {
		t.Fatalf("ping to a disabled webhook: %v", err)
	}
	// Enabled again: what was waiting goes; events while disabled are not kept.
	mu.Lock()
	up = true
	mu.Unlock()
	on := true
	if v, err := e.a.UpdateWebhook(e.ctx, ann, h.ID, app.WebhookChange{Enabled: &on}); err != nil || !v.Enabled || v.FailingSince != nil {
		t.Fatalf("enable: %v %+v", err, v)
	}
	e.say(bob, ab, "m3")
	got := texts(e.deliver())
	if slices.Contains(got, "message.created:m2 while disabled") || !slices.Contains(got, "message.created:m3") {
		t.Fatalf("after enabling: %v", got)
	}
	dead, _ := e.a.WebhookDeliveries(e.ctx, ann, h.ID, app.DeliveryQuery{Status: "dead"})
	if len(dead.Items) != 1 {
		t.Fatalf("m1 died on the way: %+v", dead.Items)
	}
}

// TestWebhookSecretRotation: after a rotation deliveries carry a signature
// by the new secret and, for a day, one by the old.
func TestWebhookSecretRotation(t *testing.T) {
	e := newHookEnv(t)
	ann := e.register("ann", parley.KindPerson)
	h := e.hook(ann, app.HookMessageCreated)
	old := h.Secret
	v, err := e.a.UpdateWebhook(e.ctx, ann, h.ID, app.WebhookChange{RotateSecret: true})
	if err != nil || v.Secret == "" || v.Secret == old || v.PreviousSecretUntil == nil {
		t.Fatalf("rotate: %v %+v", err, v)
	}
	for _, secret := range []string{old, v.Secret} {
		e.rc.mu.Lock()
		e.rc.secret["/ann"] = secret
		e.rc.mu.Unlock()
		if _, err := e.a.TestWebhook(e.ctx, ann, h.ID); err != nil {
			t.Fatal(err)
		}
		if got := e.deliver(); len(got) != 1 {
			t.Fatalf("ping verified by %s: %+v", secret[:10], got)
		}
	}
	e.clock.Advance(25 * time.Hour)
	e.rc.mu.Lock()
	e.rc.secret["/ann"] = old
	e.rc.mu.Unlock()
	if _, err := e.a.TestWebhook(e.ctx, ann, h.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.worker.DeliverDue(e.ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.rc.take(); len(got) != 1 || got[0].Verified {
		t.Fatalf("the old secret still signs after a day: %+v", got)
	}
	if v, _ := e.a.Webhook(e.ctx, ann, h.ID); v.Secret != "" {
		t.Fatal("the secret is shown again")
	}
}

// TestWebhookBusinessInbox: a business's webhook gets its inbox changes
// by name (assigned, resolved), and a bot working for the business gets
// the business's customer conversations as the business sees them.
func TestWebhookBusinessInbox(t *testing.T) {
	e := newHookEnv(t)
	acme := e.register("acme", parley.KindBusiness)
	admin, err := e.a.ActAs(e.ctx, acme, "acme")
	if err != nil {
		t.Fatal(err)
	}
	e.hook(acme, app.HookConversationAssigned, app.HookConversationResolved, app.HookRuleTriggered)
	st, err := e.a.Settings(e.ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	st.Rules = []app.Rule{{Name: "parcels", When: app.RuleWhen{Event: "message", Keywords: []string{"parcel"}},
		Actions: []app.RuleAction{{Type: "webhook"}}}}
	if _, err := e.a.PutSettings(e.ctx, admin, st); err != nil {
		t.Fatal(err)
	}
	e.register("dora", parley.KindPerson)
	if _, err := e.a.PutAgent(e.ctx, admin, "dora", app.AgentChange{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.CreateBot(e.ctx, acme, app.BotInput{Handle: "acmebot", DisplayName: "Acme Bot"}); err != nil {
		t.Fatal(err)
	}
	tok, err := e.a.CreateBotToken(e.ctx, acme, "acmebot", app.TokenInput{Name: "hooks", Scopes: []string{app.ScopeRead, app.ScopeWebhooks}})
	if err != nil {
		t.Fatal(err)
	}
	bot, err := e.a.Authenticate(e.ctx, tok.Token)
	if err != nil {
		t.Fatal(err)
	}
	e.hook(bot, app.HookMessageCreated)
	cust := e.register("cust", parley.KindPerson)
	conv := e.direct(cust, "acme")
	e.say(cust, conv, "where is my parcel?")
	got := e.deliver()
	var toBot []received
	rules := 0
	for _, r := range got {
		switch r.Type {
		case "message.created":
			toBot = append(toBot, r)
		case "rule.triggered":
			rules++
		}
	}
	if rules != 1 {
		t.Fatalf("the rule's webhook action: %v", texts(got))
	}
	if len(toBot) != 1 || toBot[0].As != acme.User.ID || toBot[0].Text != "where is my parcel?" {
		t.Fatalf("the bot's webhook: %+v", got)
	}
	dh := "dora"
	if _, err := e.a.UpdateItem(e.ctx, admin, conv, app.ItemChange{Assignee: &dh}); err != nil {
		t.Fatal(err)
	}
	prio := "high"
	if _, err := e.a.UpdateItem(e.ctx, admin, conv, app.ItemChange{Priority: &prio}); err != nil { // neither
		t.Fatal(err)
	}
	resolved := "resolved"
	if _, err := e.a.UpdateItem(e.ctx, admin, conv, app.ItemChange{Status: &resolved}); err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, r := range e.deliver() {
		if r.Type != "message.created" {
			types = append(types, r.Type)
		}
	}
	if want := []string{"conversation.assigned", "conversation.resolved"}; !slices.Equal(types, want) {
		t.Fatalf("the business's inbox events: %v, want %v", types, want)
	}
	// A scope-less token cannot manage webhooks.
	tok2, err := e.a.CreateBotToken(e.ctx, acme, "acmebot", app.TokenInput{Name: "read only", Scopes: []string{app.ScopeRead}})
	if err != nil {
		t.Fatal(err)
	}
	ro, _ := e.a.Authenticate(e.ctx, tok2.Token)
	if _, err := e.a.Webhooks(e.ctx, ro); parley.ErrorCode(err) != parley.EInsufficientScope {
		t.Fatalf("a token without webhooks:write lists webhooks: %v", err)
	}
}

// TestWebhookValidation: URLs, events and limits.
func TestWebhookValidation(t *testing.T) {
	e := newHookEnv(t)
	ann := e.register("ann", parley.KindPerson)
	for _, tc := range []struct {
		in   app.WebhookInput
		code string
	}{
		{app.WebhookInput{URL: "https://example.com/h", Events: nil}, parley.EInvalid},
		{app.WebhookInput{URL: "https://example.com/h", Events: []string{"message.deleted"}}, parley.EInvalid},
		{app.WebhookInput{URL: "http://example.com/h", Events: []string{"read"}}, parley.EInvalid},
		{app.WebhookInput{URL: "https://10.0.0.7/h", Events: []string{"read"}}, parley.EInvalid},
		{app.WebhookInput{URL: "https://169.254.169.254/latest", Events: []string{"read"}}, parley.EInvalid},
		{app.WebhookInput{URL: "https://127.0.0.1/h", Events: []string{"read"}}, parley.EInvalid},
		{app.WebhookInput{URL: "https://user:pw@example.com/h", Events: []string{"read"}}, parley.EInvalid},
		{app.WebhookInput{URL: "example.com/h", Events: []string{"read"}}, parley.EInvalid},
		{app.WebhookInput{URL: "https://example.com/h", Events: []string{"optin", "optout", "postback"}}, ""},
	} {
		_, err := e.a.CreateWebhook(e.ctx, ann, tc.in)
		if parley.ErrorCode(err) != tc.code {
			t.Errorf("%+v: %v, want %q", tc.in, err, tc.code)
		}
	}
	for i := 1; i < 20; i++ {
		if _, err := e.a.CreateWebhook(e.ctx, ann, app.WebhookInput{URL: "https://example.com/h", Events: []string{"read"}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.a.CreateWebhook(e.ctx, ann, app.WebhookInput{URL: "https://example.com/h", Events: []string{"read"}}); parley.ErrorCode(err) != parley.EConflict {
		t.Fatalf("the 21st webhook: %v", err)
	}
}

// TestWebhookChainStopsAtFailure: deliveries queued behind a due one go
// with it, in order; a failure in the middle stops the rest, which wait
// for the failed one's retry.
func TestWebhookChainStopsAtFailure(t *testing.T) {
	e := newHookEnv(t)
	ann, bob := e.register("ann", parley.KindPerson), e.register("bob", parley.KindPerson)
	if err := e.a.Follow(e.ctx, ann, "bob", true); err != nil {
		t.Fatal(err)
	}
	e.hook(ann, app.HookMessageCreated)
	ab := e.direct(bob, "ann")
	failed := false
	var mu sync.Mutex
	e.rc.setAnswer(func(r received) int {
		mu.Lock()
		defer mu.Unlock()
		if r.Text == "m3" && !failed {
			failed = true
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	for i := 1; i <= 6; i++ {
		e.say(bob, ab, fmt.Sprintf("m%d", i))
	}
	if got := texts(e.deliver()); !slices.Equal(got, []string{"message.created:m1", "message.created:m2", "message.created:m3"}) {
		t.Fatalf("first run: %v", got)
	}
	e.clock.Advance(app.WebhookBackoff(1) * 12 / 10)
	want := []string{"message.created:m3", "message.created:m4", "message.created:m5", "message.created:m6"}
	if got := texts(e.deliver()); !slices.Equal(got, want) {
		t.Fatalf("after the retry: %v, want %v", got, want)
	}
}

// TestWebhookTeamChanges: a person with a webhook who joins a business's
// team starts receiving its customer conversations (as the business); one
// who leaves stops at once, even for events queued before.
func TestWebhookTeamChanges(t *testing.T) {
	e := newHookEnv(t)
	acme := e.register("acme", parley.KindBusiness)
	admin, err := e.a.ActAs(e.ctx, acme, "acme")
	if err != nil {
		t.Fatal(err)
	}
	dora := e.register("dora", parley.KindPerson)
	e.hook(dora, app.HookMessageCreated)
	cust := e.register("cust", parley.KindPerson)
	conv := e.direct(cust, "acme")
	e.say(cust, conv, "before dora joined")
	if got := e.deliver(); len(got) != 0 {
		t.Fatalf("dora is not in the team yet: %v", texts(got))
	}
	if _, err := e.a.PutAgent(e.ctx, admin, "dora", app.AgentChange{}); err != nil {
		t.Fatal(err)
	}
	e.say(cust, conv, "dora works here")
	if got := e.deliver(); len(got) != 1 || got[0].Text != "dora works here" || got[0].As != acme.User.ID {
		t.Fatalf("after joining: %+v", got)
	}
	e.say(cust, conv, "queued before she left")
	if err := e.a.RemoveAgent(e.ctx, admin, "dora"); err != nil {
		t.Fatal(err)
	}
	e.say(cust, conv, "after she left")
	if got := e.deliver(); len(got) != 0 {
		t.Fatalf("after leaving: %v", texts(got))
	}
	skipped, _ := e.a.WebhookDeliveries(e.ctx, dora, func() string {
		hs, _ := e.a.Webhooks(e.ctx, dora)
		return hs[0].ID
	}(), app.DeliveryQuery{Status: "skipped"})
	if len(skipped.Items) != 1 {
		t.Fatalf("the delivery queued before she left: %+v", skipped.Items)
	}
}
