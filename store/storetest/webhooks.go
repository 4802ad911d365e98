package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

func newWebhook(id, owner string, created int) *parley.Webhook {
	return &parley.Webhook{ID: id, OwnerID: owner, URL: "https://example.com/hook/" + id, Events: []string{"message.created"},
		Secret: "whsec_" + id, Enabled: true, CreatedAt: at(created), UpdatedAt: at(created)}
}

func mkWebhooks(t *testing.T, s parley.Store, hs ...*parley.Webhook) {
	t.Helper()
	update(t, s, func(tx parley.Tx) error {
		for _, h := range hs {
			if err := tx.CreateWebhook(h); err != nil {
				return err
			}
		}
		return nil
	})
}

func webhookIDs(hs []*parley.Webhook) []string {
	out := []string{}
	for _, h := range hs {
		out = append(out, h.ID)
	}
	return out
}

// testWebhooks: webhooks round-trip with every field, list by owner oldest
// first, EnabledWebhooks lists the enabled ones of everyone, updates save
// everything, deletion takes the deliveries along.
func testWebhooks(t *testing.T, s parley.Store) {
	mkUsers(t, s, "u1", "u2")
	full := &parley.Webhook{ID: "h1", OwnerID: "u1", URL: "https://example.com/a", Description: "CRM sync",
		Events: []string{"message.created", "reaction.added"}, Secret: "whsec_a", PreviousSecret: "whsec_old",
		PreviousUntil: ptr(at(9)), Enabled: false, DisabledReason: "failing", DisabledAt: ptr(at(8)), FailingSince: ptr(at(3)),
		LastSuccessAt: ptr(at(2)), CreatedAt: at(1), UpdatedAt: at(8)}
	mkWebhooks(t, s, full, newWebhook("h2", "u1", 0), newWebhook("h3", "u2", 2))
	wantEqual(t, "webhook h1", view(t, s, func(tx parley.Tx) (*parley.Webhook, error) { return tx.Webhook("h1") }), full)
	wantNotFound(t, s, "no such webhook", func(tx parley.Tx) (*parley.Webhook, error) { return tx.Webhook("nope") })
	wantEqual(t, "webhooks of u1", webhookIDs(view(t, s, func(tx parley.Tx) ([]*parley.Webhook, error) { return tx.Webhooks("u1") })),
		[]string{"h2", "h1"})
	wantEqual(t, "webhooks of nobody", webhookIDs(view(t, s, func(tx parley.Tx) ([]*parley.Webhook, error) { return tx.Webhooks("nobody") })),
		[]string{})
	wantEqual(t, "enabled webhooks", webhookIDs(view(t, s, func(tx parley.Tx) ([]*parley.Webhook, error) { return tx.EnabledWebhooks() })),
		[]string{"h2", "h3"})

	changed := *full
	changed.URL, changed.Description, changed.Events = "https://example.org/b", "", []string{"read"}
	changed.Secret, changed.PreviousSecret, changed.PreviousUntil = "whsec_b", "", nil
	changed.Enabled, changed.DisabledReason, changed.DisabledAt, changed.FailingSince, changed.LastSuccessAt = true, "", nil, nil, nil
	changed.UpdatedAt = at(20)
	update(t, s, func(tx parley.Tx) error { return tx.UpdateWebhook(&changed) })
	wantEqual(t, "updated h1", view(t, s, func(tx parley.Tx) (*parley.Webhook, error) { return tx.Webhook("h1") }), &changed)
	gone := newWebhook("gone", "u1", 0)
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error { return tx.UpdateWebhook(gone) }), parley.ENotFound)

	enqueue(t, s, newDelivery("d1", "h1", "c1", 1, at(0)), newDelivery("d2", "h2", "c1", 2, at(0)))
	update(t, s, func(tx parley.Tx) error { return tx.DeleteWebhook("h1") })
	wantNotFound(t, s, "deleted webhook", func(tx parley.Tx) (*parley.Webhook, error) { return tx.Webhook("h1") })
	wantNotFound(t, s, "delivery of a deleted webhook", func(tx parley.Tx) (*parley.WebhookDelivery, error) { return tx.Delivery("h1", "d1") })
	if d := view(t, s, func(tx parley.Tx) (*parley.WebhookDelivery, error) { return tx.Delivery("h2", "d2") }); d.ID != "d2" {
		t.Fatalf("another webhook's delivery went too: %+v", d)
	}
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error { return tx.DeleteWebhook("h1") }), parley.ENotFound)
}

func newDelivery(id, webhook, conv string, pos int64, due time.Time) *parley.WebhookDelivery {
	return &parley.WebhookDelivery{ID: id, WebhookID: webhook, Pos: pos, Type: "message.created", ConversationID: conv,
		NextAt: due, CreatedAt: due}
}

func enqueue(t *testing.T, s parley.Store, ds ...*parley.WebhookDelivery) {
	t.Helper()
	update(t, s, func(tx parley.Tx) error { return tx.EnqueueDeliveries(ds) })
}

// claim claims deliveries, and checks that DeliveriesDue, asked just
// before in a read transaction, said whether there would be any.
func claim(t *testing.T, s parley.Store, now, until time.Time, limit int) []string {
	t.Helper()
	due := view(t, s, func(tx parley.Tx) (bool, error) { return tx.DeliveriesDue(now) })
	var ids []string
	update(t, s, func(tx parley.Tx) error {
		ds, err := tx.ClaimDeliveries(now, until, limit)
		ids = []string{}
		for _, d := range ds {
			ids = append(ids, d.ID)
		}
		return err
	})
	if limit > 0 && due != (len(ids) > 0) {
		t.Fatalf("DeliveriesDue(%v) = %v, but the claim took %v", now, due, ids)
	}
	return sorted(ids)
}

func sorted(ids []string) []string {
	out := append([]string{}, ids...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func delivery(t *testing.T, s parley.Store, webhook, id string) *parley.WebhookDelivery {
	t.Helper()
	return view(t, s, func(tx parley.Tx) (*parley.WebhookDelivery, error) { return tx.Delivery(webhook, id) })
}

// finish saves a final status for a delivery and promotes its queue's next.
func finish(t *testing.T, s parley.Store, d *parley.WebhookDelivery, status parley.DeliveryStatus, when time.Time) {
	t.Helper()
	d.Status, d.Attempts, d.LastAttemptAt, d.LastStatus = status, d.Attempts+1, ptr(when), 200
	if d.FirstAttemptAt == nil {
		d.FirstAttemptAt = ptr(when)
	}
	if status == parley.DeliveryDelivered {
		d.DeliveredAt = ptr(when)
	}
	update(t, s, func(tx parley.Tx) error {
		if err := tx.SaveDelivery(d); err != nil {
			return err
		}
		return tx.PromoteNext(d.WebhookID, d.ConversationID, when)
	})
}

// testDeliveryQueues: the first delivery of a queue (webhook and
// conversation) is pending, later ones queued until it finishes; claims
// take due heads of enabled webhooks only, earliest due first, and lease
// them; a failed attempt keeps its place; finishing promotes the next.
func testDeliveryQueues(t *testing.T, s parley.Store) {
	mkUsers(t, s, "u1")
	off := newWebhook("off", "u1", 0)
	off.Enabled = false
	mkWebhooks(t, s, newWebhook("h1", "u1", 0), newWebhook("h2", "u1", 0), off)
	ds := []*parley.WebhookDelivery{
		newDelivery("a1", "h1", "ca", 1, at(0)), newDelivery("a2", "h1", "ca", 2, at(0)), newDelivery("b1", "h1", "cb", 3, at(1)),
		newDelivery("x1", "h2", "ca", 4, at(2)), newDelivery("n1", "h1", "", 5, at(3)), newDelivery("o1", "off", "ca", 6, at(0)),
	}
	enqueue(t, s, ds...)
	want := map[string]parley.DeliveryStatus{"a1": parley.DeliveryPending, "a2": parley.DeliveryQueued, "b1": parley.DeliveryPending,
		"x1": parley.DeliveryPending, "n1": parley.DeliveryPending, "o1": parley.DeliveryPending}
	for i, d := range ds {
		if d.Status != want[d.ID] {
			t.Fatalf("%s enqueued %s, want %s", d.ID, d.Status, want[d.ID])
		}
		if i > 0 && d.Seq <= ds[i-1].Seq {
			t.Fatalf("seq %d after %d: enqueue order is not kept", d.Seq, ds[i-1].Seq)
		}
	}
	// A delivery enqueued in a later transaction joins the queue too.
	a3 := newDelivery("a3", "h1", "ca", 7, at(0))
	enqueue(t, s, a3)
	if a3.Status != parley.DeliveryQueued {
		t.Fatalf("a3 is %s behind a pending a1", a3.Status)
	}
	queued := func(webhook, conv string, limit int) []string {
		ds := view(t, s, func(tx parley.Tx) ([]*parley.WebhookDelivery, error) {
			return tx.QueuedDeliveries(webhook, conv, limit)
		})
		ids := []string{}
		for _, d := range ds {
			ids = append(ids, d.ID)
		}
		return ids
	}
	wantEqual(t, "queued behind a1", queued("h1", "ca", 10), []string{"a2", "a3"})
	wantEqual(t, "queued, limited", queued("h1", "ca", 1), []string{"a2"})
	wantEqual(t, "nothing queued in cb", queued("h1", "cb", 10), []string{})

	// Nothing is due before 0 s; o1, due then, is of a disabled webhook.
	if due := view(t, s, func(tx parley.Tx) (bool, error) { return tx.DeliveriesDue(at(0).Add(-time.Nanosecond)) }); due {
		t.Fatal("DeliveriesDue before anything is due: true")
	}
	// Due at 1 s: a1 and b1 (not x1, due at 2 s, nor the disabled one).
	wantEqual(t, "claim at 1s", claim(t, s, at(1), at(100), 10), []string{"a1", "b1"})
	if d := delivery(t, s, "h1", "a1"); !d.NextAt.Equal(at(100)) || d.Status != parley.DeliveryPending {
		t.Fatalf("claimed a1: %+v, want pending until 100 s", d)
	}
	wantEqual(t, "leased rows are not claimed again", claim(t, s, at(2), at(100), 10), []string{"x1"})
	wantEqual(t, "limit, earliest due first", claim(t, s, at(50), at(100), 1), []string{"n1"})
	wantEqual(t, "nothing due", claim(t, s, at(50), at(100), 10), []string{})
	wantEqual(t, "leases run out", claim(t, s, at(100), at(200), 10), []string{"a1", "b1", "n1", "x1"})

	// a1 fails once: it stays pending with its retry time, a2 waits.
	a1 := delivery(t, s, "h1", "a1")
	a1.Attempts, a1.NextAt, a1.FirstAttemptAt, a1.LastAttemptAt, a1.LastStatus, a1.LastError = 1, at(300), ptr(at(100)), ptr(at(100)), 503, "status 503"
	update(t, s, func(tx parley.Tx) error { return tx.SaveDelivery(a1) })
	wantEqual(t, "failed a1 round-trips", delivery(t, s, "h1", "a1"), a1)
	wantEqual(t, "a2 waits behind a1", claim(t, s, at(250), at(400), 10), []string{"b1", "n1", "x1"})
	finish(t, s, a1, parley.DeliveryDelivered, at(300))
	wantEqual(t, "delivered a1 round-trips", delivery(t, s, "h1", "a1"), a1)
	if d := delivery(t, s, "h1", "a2"); d.Status != parley.DeliveryPending || !d.NextAt.Equal(at(300)) {
		t.Fatalf("a2 after a1 finished: %+v", d)
	}
	if d := delivery(t, s, "h1", "a3"); d.Status != parley.DeliveryQueued {
		t.Fatalf("a3 after a1 finished: %s, want queued behind a2", d.Status)
	}
	wantEqual(t, "a2 is due", claim(t, s, at(300), at(400), 10), []string{"a2"})
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error { return tx.SaveDelivery(a1) }), parley.ENotFound) // final already

	// Rescheduling moves only the pending rows of one webhook.
	update(t, s, func(tx parley.Tx) error { return tx.RescheduleDeliveries("h1", at(1000)) })
	for id, due := range map[string]time.Time{"a2": at(1000), "b1": at(1000), "a3": at(0)} {
		if d := delivery(t, s, "h1", id); !d.NextAt.Equal(due) {
			t.Fatalf("%s due at %v after rescheduling, want %v", id, d.NextAt, due)
		}
	}
	if d := delivery(t, s, "h2", "x1"); !d.NextAt.Equal(at(400)) {
		t.Fatalf("another webhook's delivery was rescheduled: %v", d.NextAt)
	}
}

// testDeliveryListAndReplay: listing by status newest first with a
// cursor, attempted only; a replay of a final delivery goes to the end of
// its queue with its id, and only final ones may be replayed; pruning
// deletes old rows of the given statuses.
func testDeliveryListAndReplay(t *testing.T, s parley.Store) {
	mkUsers(t, s, "u1")
	mkWebhooks(t, s, newWebhook("h1", "u1", 0), newWebhook("h2", "u1", 0))
	var ds []*parley.WebhookDelivery
	for i := range 6 {
		ds = append(ds, newDelivery(fmt.Sprintf("d%d", i), "h1", fmt.Sprintf("c%d", i), int64(i+1), at(i)))
	}
	ds = append(ds, newDelivery("q", "h1", "c0", 9, at(9)), newDelivery("other", "h2", "c0", 10, at(0)))
	enqueue(t, s, ds...)
	finish(t, s, ds[0], parley.DeliveryDelivered, at(10)) // q becomes pending
	finish(t, s, ds[1], parley.DeliveryDead, at(11))
	finish(t, s, ds[2], parley.DeliveryDead, at(12))
	finish(t, s, ds[3], parley.DeliverySkipped, at(13))
	d4 := delivery(t, s, "h1", "d4")
	d4.Attempts, d4.LastAttemptAt, d4.FirstAttemptAt, d4.NextAt = 2, ptr(at(14)), ptr(at(14)), at(50)
	update(t, s, func(tx parley.Tx) error { return tx.SaveDelivery(d4) })

	list := func(f parley.DeliveryFilter) []string {
		f.WebhookID = "h1"
		ds := view(t, s, func(tx parley.Tx) ([]*parley.WebhookDelivery, error) { return tx.Deliveries(f) })
		out := []string{}
		for _, d := range ds {
			out = append(out, d.ID)
		}
		return out
	}
	wantEqual(t, "all", list(parley.DeliveryFilter{}), []string{"q", "d5", "d4", "d3", "d2", "d1", "d0"})
	wantEqual(t, "dead", list(parley.DeliveryFilter{Statuses: []parley.DeliveryStatus{parley.DeliveryDead}}), []string{"d2", "d1"})
	wantEqual(t, "failed", list(parley.DeliveryFilter{Statuses: []parley.DeliveryStatus{parley.DeliveryPending}, Attempted: true}),
		[]string{"d4"})
	wantEqual(t, "unfinished", list(parley.DeliveryFilter{Statuses: []parley.DeliveryStatus{parley.DeliveryPending, parley.DeliveryQueued}}),
		[]string{"q", "d5", "d4"})
	first := view(t, s, func(tx parley.Tx) ([]*parley.WebhookDelivery, error) {
		return tx.Deliveries(parley.DeliveryFilter{WebhookID: "h1", Limit: 3})
	})
	wantEqual(t, "second page", list(parley.DeliveryFilter{BeforeSeq: first[2].Seq, Limit: 3}), []string{"d3", "d2", "d1"})

	// Replaying d1 (dead, its queue empty) makes it pending and last.
	var r *parley.WebhookDelivery
	update(t, s, func(tx parley.Tx) error {
		var err error
		r, err = tx.ReplayDelivery("h1", "d1", at(20))
		return err
	})
	if r.ID != "d1" || r.Status != parley.DeliveryPending || r.Attempts != 0 || r.LastAttemptAt != nil || r.FirstAttemptAt != nil ||
		r.LastError != "" || r.LastStatus != 0 || !r.NextAt.Equal(at(20)) {
		t.Fatalf("replayed d1: %+v", r)
	}
	wantEqual(t, "replayed d1 lists first", list(parley.DeliveryFilter{Limit: 1}), []string{"d1"})
	// Replaying d0 (delivered) puts it behind q, still unfinished in c0.
	update(t, s, func(tx parley.Tx) error {
		var err error
		r, err = tx.ReplayDelivery("h1", "d0", at(21))
		return err
	})
	if r.Status != parley.DeliveryQueued || r.DeliveredAt != nil {
		t.Fatalf("replayed d0 behind q: %+v", r)
	}
	wantEqual(t, "the replayed d0 waits behind q", claim(t, s, at(30), at(100), 10), []string{"d1", "d5", "other", "q"})
	for _, id := range []string{"d4", "d1", "nope"} {
		_, err := viewOrUpdateReplay(s, "h1", id)
		wantCode(t, err, parley.ENotFound)
	}
	_, err := viewOrUpdateReplay(s, "h2", "d2") // another webhook's id space
	wantCode(t, err, parley.ENotFound)

	// Pruning: final rows of the statuses, created before the time.
	var n int
	update(t, s, func(tx parley.Tx) error {
		var err error
		n, err = tx.PruneDeliveries([]parley.DeliveryStatus{parley.DeliveryDead, parley.DeliverySkipped}, at(3), 10)
		return err
	})
	if n != 1 { // d2 (dead, created at 2 s); d3 was created at 3 s
		t.Fatalf("pruned %d, want 1", n)
	}
	wantEqual(t, "after pruning", list(parley.DeliveryFilter{}), []string{"d0", "d1", "q", "d5", "d4", "d3"})
}

func viewOrUpdateReplay(s parley.Store, webhook, id string) (*parley.WebhookDelivery, error) {
	var d *parley.WebhookDelivery
	err := s.Update(ctx, func(tx parley.Tx) error {
		var err error
		d, err = tx.ReplayDelivery(webhook, id, at(40))
		return err
	})
	return d, err
}

// testWebhookLookups: EventsAt finds messages and events by position,
// MembersAmong the memberships of some users, PreviousEvent the newest
// earlier event of a type addressed to a user in a conversation.
func testWebhookLookups(t *testing.T, s parley.Store) {
	mkUsers(t, s, "u1", "u2", "u3", "biz")
	mkConversation(t, s, "c1", "u1")
	update(t, s, func(tx parley.Tx) error {
		for _, u := range []string{"u1", "u2"} {
			if err := tx.PutMember(newMember("c1", u)); err != nil {
				return err
			}
		}
		return nil
	})
	m1 := mkMessage(t, s, "c1", "u1", "", "one", at(1))
	e1 := &parley.Event{Type: "inbox.updated", ConversationID: "c1", UserID: "biz", Data: []byte(`{"status":"open"}`), CreatedAt: at(2)}
	e2 := &parley.Event{Type: "reaction.added", ConversationID: "c1", ActorID: "u2", MessageID: m1.ID, Seq: m1.Seq, CreatedAt: at(3)}
	e3 := &parley.Event{Type: "inbox.updated", ConversationID: "c1", UserID: "biz", Data: []byte(`{"status":"resolved"}`), CreatedAt: at(4)}
	update(t, s, func(tx parley.Tx) error {
		for _, e := range []*parley.Event{e1, e2, e3} {
			if err := tx.AppendEvent(e); err != nil {
				return err
			}
		}
		return nil
	})
	m2 := mkMessage(t, s, "c1", "u2", "", "two", at(5))

	type found struct {
		msgs []*parley.Message
		evs  []*parley.Event
	}
	got := view(t, s, func(tx parley.Tx) (found, error) {
		msgs, evs, err := tx.EventsAt([]int64{m2.Pos, e3.Pos, m1.Pos, e1.Pos, 99999})
		return found{msgs, evs}, err
	})
	if len(got.msgs) != 2 || got.msgs[0].ID != m1.ID || got.msgs[1].ID != m2.ID || got.msgs[1].Text != "two" {
		t.Fatalf("EventsAt messages: %s", show(got.msgs))
	}
	wantEqual(t, "EventsAt events", got.evs, []*parley.Event{e1, e3})

	ms := view(t, s, func(tx parley.Tx) ([]*parley.Member, error) {
		return tx.MembersAmong("c1", []string{"u2", "u3", "biz"})
	})
	if len(ms) != 1 || ms[0].UserID != "u2" || ms[0].ConversationID != "c1" || ms[0].Status != parley.StatusActive {
		t.Fatalf("MembersAmong: %s", show(ms))
	}
	if ms := view(t, s, func(tx parley.Tx) ([]*parley.Member, error) { return tx.MembersAmong("c1", nil) }); len(ms) != 0 {
		t.Fatalf("MembersAmong of nobody: %s", show(ms))
	}

	prev := view(t, s, func(tx parley.Tx) (*parley.Event, error) {
		return tx.PreviousEvent("biz", "c1", "inbox.updated", e3.Pos)
	})
	wantEqual(t, "previous inbox event", prev, e1)
	wantNotFound(t, s, "none before the first", func(tx parley.Tx) (*parley.Event, error) {
		return tx.PreviousEvent("biz", "c1", "inbox.updated", e1.Pos)
	})
	wantNotFound(t, s, "another user's", func(tx parley.Tx) (*parley.Event, error) {
		return tx.PreviousEvent("u1", "c1", "inbox.updated", e3.Pos+1)
	})
}
