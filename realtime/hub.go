// Package realtime routes change notifications to the devices connected to
// this node. The database is the source of truth and the bus only
// notifies: a notification wakes the devices it may concern, and each
// device then asks app.Sync for what is new after its own position — the
// same query a reconnecting device uses — so live delivery and resume can
// never disagree about what a device may see. Ephemeral events (typing,
// presence) are pushed as they are, to the audience the app chose.
package realtime

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
)

// Subject is the bus subject of change notifications.
const Subject = "parley.changes"

// notification is what travels on the bus: enough to know whom to wake,
// never message content.
type notification struct {
	Type           string `json:"t"`
	Pos            int64  `json:"p,omitempty"`
	ConversationID string `json:"c,omitempty"`
	UserID         string `json:"u,omitempty"`
	// MessageID names a new message, so that the fan-out can load it.
	MessageID string          `json:"m,omitempty"`
	ActorID   string          `json:"a,omitempty"`
	Audience  []string        `json:"aud,omitempty"`
	Data      json.RawMessage `json:"d,omitempty"`
	As        string          `json:"as,omitempty"`
	CreatedAt time.Time       `json:"at"`
	// Frames, for a new message of a direct conversation, holds the
	// frame each member's Sync gives for it (app.DirectFrames), by user
	// id: the one piece of content a notification carries, so that the
	// receiving node may push it to caught-up devices without a read.
	Frames map[string]json.RawMessage `json:"f,omitempty"`
}

// Revocation types travel on the bus too; they are not stored.
const (
	typeRevokeSessions = "session.revoked"
)

// Hub knows the devices connected to this node.
type Hub struct {
	app  *app.App
	bus  parley.Bus
	log  *slog.Logger
	sub  parley.Subscription
	aud  *audienceCache
	cov  *coverage
	pub  *publisher
	hold *holder
	obs  Observer
	fan  *fanout
	// fanoutMin is the smallest audience a new message is fanned out to.
	fanoutMin int
	// pollHold is how long a long-poll request keeps its user online
	// after it ends (PollHold).
	pollHold time.Duration
	// pushed counts changes queued to devices as they are (no sync).
	pushed atomic.Int64
	// rendered counts new messages published with their frames.
	rendered atomic.Int64

	// mu is read-locked by lookups (the fan-out's workers look up at
	// once).
	mu      sync.RWMutex
	users   map[string]map[*Device]struct{}
	streams map[string]int // per user, devices that count for presence
	tickets map[string]ticket
	closed  bool
	// nodeID names this node to the others; peers is what they said of
	// their online users (nodes.go); done ends the heartbeat.
	nodeID    string
	peers     *peerNodes
	done      chan struct{}
	closeOnce sync.Once
	// away holds the users whose last stream here went while another
	// node still had one: not announced offline yet (settleAway).
	awayMu sync.Mutex
	away   map[string]bool
}

type ticket struct {
	actor   *app.Actor
	expires time.Time
}

// TicketTTL is how long a stream ticket may wait to be used.
const TicketTTL = 30 * time.Second

// Observer is told what the hub gave up on or refused, for metrics. Its
// methods run on the bus delivery goroutine and in requests: they must be
// quick and must not block.
type Observer interface {
	// EphemeralDropped reports a typing or presence event not queued for
	// a device whose queue was full.
	EphemeralDropped()
	// NotificationsLost reports that the bus dropped notifications for
	// this node, so every local device was woken to sync.
	NotificationsLost()
	// RateLimited reports a refusal by the named limit
	// ("stream_tickets": too many tickets waiting).
	RateLimited(limit string)
}

type nopObserver struct{}

func (nopObserver) EphemeralDropped()  {}
func (nopObserver) NotificationsLost() {}
func (nopObserver) RateLimited(string) {}

// Option configures a Hub.
type Option func(*Hub)

// WithObserver sets the hub's observer.
func WithObserver(o Observer) Option { return func(h *Hub) { h.obs = o } }

// New returns a hub subscribed to bus. Call Publish from the app's notifier.
func New(a *app.App, bus parley.Bus, log *slog.Logger, opts ...Option) (*Hub, error) {
	if log == nil {
		log = slog.Default()
	}
	h := &Hub{app: a, bus: bus, log: log, aud: newAudienceCache(), cov: newCoverage(), obs: nopObserver{}, fanoutMin: FanoutMin, pollHold: PollHold,
		users: map[string]map[*Device]struct{}{}, streams: map[string]int{}, tickets: map[string]ticket{},
		nodeID: newNodeID(), peers: newPeerNodes(), done: make(chan struct{}), away: map[string]bool{}}
	h.fan = &fanout{h: h}
	h.pub = &publisher{h: h}
	h.hold = &holder{h: h, wait: holdFor}
	for _, o := range opts {
		o(h)
	}
	sub, err := bus.Subscribe(Subject, h.receive)
	if err != nil {
		return nil, err
	}
	h.sub = sub
	a.SetOnlineElsewhere(h.peers.online)
	go h.heartbeat()
	return h, nil
}

// Publish sends committed (or ephemeral) events to every node's hub. It is
// the app's notifier: it must not block, so errors are only logged — a
// lost notification costs latency, and devices converge through sync.
func (h *Hub) Publish(events []*parley.Event) {
	for _, e := range events {
		if e.Type == parley.EventMessageCreated && e.Pos > 0 && h.pub.enqueue(events) {
			return // published in order, with frames, by the publisher
		}
	}
	h.publishEvents(events, nil)
}

// publishEvents publishes events in order; frames holds, by position, the
// frames of new messages of direct conversations (app.DirectFrames).
func (h *Hub) publishEvents(events []*parley.Event, frames map[int64]map[string][]byte) {
	for _, e := range events {
		n := notification{Type: e.Type, Pos: e.Pos, ConversationID: e.ConversationID, UserID: e.UserID,
			ActorID: e.ActorID, Audience: e.Audience, As: e.As, CreatedAt: e.CreatedAt}
		switch {
		case e.Pos == 0: // ephemeral: the payload travels with it
			n.Data = e.Data
		case e.Type == parley.EventMessageCreated:
			n.MessageID = e.MessageID
			if fs := frames[e.Pos]; len(fs) > 0 {
				n.Frames = make(map[string]json.RawMessage, len(fs))
				for u, f := range fs {
					n.Frames[u] = f
				}
			}
		case e.Type == parley.EventMemberLeft || e.Type == parley.EventMemberRemoved:
			// Names the member who went ({"user": id}): no longer in
			// the audience, they are woken for this one event.
			n.Data = e.Data
		}
		h.publish(n)
	}
}

func (h *Hub) publish(n notification) {
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		return // shutting down: the devices are gone and so is the bus
	}
	b, err := json.Marshal(n)
	if err != nil {
		h.log.Error("encode notification", "err", err)
		return
	}
	if err := h.bus.Publish(context.Background(), Subject, b); err != nil {
		h.log.Warn("publish notification", "err", err)
	}
}

// RevokeSessions tells every node to cut the devices of these sessions
// (logout, revoked session, password change).
func (h *Hub) RevokeSessions(userID string, sessionIDs []string) {
	if len(sessionIDs) == 0 {
		return
	}
	h.publish(notification{Type: typeRevokeSessions, UserID: userID, Audience: sessionIDs, CreatedAt: time.Now().UTC()})
}

// receive handles one bus message; nil means notifications were dropped,
// so every local device syncs.
func (h *Hub) receive(data []byte) {
	if data == nil {
		h.obs.NotificationsLost()
		h.app.ForgetAllAuth() // it may have said a token went
		h.aud.clear()
		h.cov.reset()
		h.wakeAll()
		// A dropped notification may have been a revocation: check every
		// local device's session, off the delivery path.
		go h.recheckSessions()
		return
	}
	var n notification
	if err := json.Unmarshal(data, &n); err != nil {
		h.log.Warn("bad notification", "err", err)
		return
	}
	if h.authNotice(&n) || h.nodeNotice(&n) {
		return
	}
	h.aud.seen(&n)
	if n.Pos > 0 {
		// A position recorded may let held pushes go.
		defer h.hold.recheck()
	}
	switch {
	case n.Type == typeRevokeSessions:
		h.revoke(n.UserID, n.Audience)
	case n.Pos == 0: // ephemeral
		ev := &app.SyncEvent{Type: n.Type, ConversationID: n.ConversationID, ActorID: n.ActorID, Data: n.Data, As: n.As, CreatedAt: n.CreatedAt}
		for _, u := range n.Audience {
			h.forUser(u, func(d *Device) { d.push(ev) })
		}
	case n.UserID != "":
		if n.Type == app.EventAgentsChanged {
			// A business's team changed: the audience of each of its
			// conversations did.
			h.cov.taint(n.Pos, "")
		}
		// Events of a business also wake its team (the audience the app
		// chose at commit).
		users := append([]string{n.UserID}, n.Audience...)
		h.cov.record(n.Pos, users, false)
		for _, u := range users {
			h.forUser(u, (*Device).wake)
		}
	case n.ConversationID != "":
		h.conversationChange(&n)
	default:
		h.cov.record(n.Pos, nil, true)
	}
}

// conversationChange handles a stored change of a conversation: a new
// message of a large group is hydrated once and pushed (fanout.go), one
// of a direct conversation that came with its frames is pushed to the
// devices caught up to it (coverage.go), and everything else wakes its
// audience to sync. Every change is recorded with whom it concerns, as
// far as the hub knows it exactly.
func (h *Hub) conversationChange(n *notification) {
	if !keepsAudience[n.Type] {
		// Who may see the conversation changed: what was recorded above
		// it with an audience read before it no longer holds.
		h.cov.taint(n.Pos, n.ConversationID)
	}
	if !h.anyLocal() {
		h.cov.record(n.Pos, nil, true)
		return
	}
	ids, rows, at, large, ok := h.aud.get(n.ConversationID)
	record := func() {
		h.cov.recordConv(n.Pos, concern{users: rows, all: large || !ok, conv: n.ConversationID, at: at})
	}
	if h.fansOut(n, ids, large, ok) && h.fan.enqueue(*n) {
		record()
		return
	}
	if !ok || large {
		var err error
		ids, rows, at, err = h.app.AudienceAt(context.Background(), n.ConversationID)
		if err != nil {
			h.log.Warn("audience", "conversation", n.ConversationID, "err", err)
			h.cov.record(n.Pos, nil, true)
			h.wakeAll()
			return
		}
		h.aud.put(n.ConversationID, ids, rows, at)
		ok, large = true, false
		if h.fansOut(n, ids, false, true) && h.fan.enqueue(*n) {
			record()
			return
		}
	}
	var gone string
	if n.Type == parley.EventMemberLeft || n.Type == parley.EventMemberRemoved {
		// The member who went is no longer in the audience: woken for
		// this one change.
		var d struct {
			User string `json:"user"`
		}
		if json.Unmarshal(n.Data, &d) == nil && d.User != "" {
			gone = d.User
			rows = append(slices.Clip(rows), gone)
		}
	}
	record()
	for u, frame := range n.Frames {
		if len(frame) > 0 && h.Online(u) {
			h.hold.push(u, &app.Push{Pos: n.Pos, Frame: frame})
		}
	}
	for _, u := range ids {
		if _, pushed := n.Frames[u]; !pushed {
			h.forUser(u, (*Device).wake)
		}
	}
	if gone != "" {
		h.forUser(gone, (*Device).wake)
	}
}

// recheckSessions revokes the local devices whose session has ended.
func (h *Hub) recheckSessions() {
	for _, d := range h.all(false) {
		if !h.app.SessionAlive(context.Background(), &app.Actor{User: &parley.User{ID: d.UserID}, SessionID: d.SessionID}) {
			d.revoke()
		}
	}
}

func (h *Hub) anyLocal() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.users) > 0
}

func (h *Hub) forUser(userID string, fn func(*Device)) {
	var buf [4]*Device // most users have a device or two: no allocation
	h.mu.RLock()
	devs := buf[:0]
	for d := range h.users[userID] {
		devs = append(devs, d)
	}
	h.mu.RUnlock()
	for _, d := range devs {
		fn(d)
	}
}

func (h *Hub) wakeAll() {
	for _, d := range h.all(false) {
		d.wake()
	}
}

// all returns every local device; with closing set it also marks the hub
// closed, in the same critical section.
func (h *Hub) all(closing bool) []*Device {
	h.mu.Lock()
	defer h.mu.Unlock()
	if closing {
		h.closed = true
	}
	var devs []*Device
	for _, ds := range h.users {
		for d := range ds {
			devs = append(devs, d)
		}
	}
	return devs
}

func (h *Hub) revoke(userID string, sessions []string) {
	set := map[string]bool{}
	for _, s := range sessions {
		set[s] = true
	}
	h.mu.Lock()
	for k, t := range h.tickets { // tickets of ended sessions die with them
		if t.actor.User.ID == userID && set[t.actor.SessionID] {
			delete(h.tickets, k)
		}
	}
	h.mu.Unlock()
	h.forUser(userID, func(d *Device) {
		if set[d.SessionID] {
			d.revoke()
		}
	})
}

// PollHold is how long a long-poll request keeps its user online after
// it answers: a client that polls in a loop asks again at once, so it
// stays online without flapping between two requests, and goes offline
// this long after it stops.
const PollHold = 10 * time.Second

// WithPollHold sets PollHold (tests).
func WithPollHold(d time.Duration) Option {
	return func(h *Hub) {
		if d > 0 {
			h.pollHold = d
		}
	}
}

// Register adds a device of actor. The caller must Unregister it.
// Presence goes online with the user's first device on this node. kick,
// if not nil, is called after every signal to the device; it must not
// block.
//
// A device registered after the session ended (or expired), or while the
// hub shuts down, is born revoked, so that a token or ticket checked just
// before a logout cannot open a stream that outlives it. A device of a
// session with an expiry (actor.ExpiresAt: an API token's, fixed when it
// was made) is revoked when the expiry passes by the app's clock, by a
// timer of its own that Unregister stops; see also Device.Expired.
// poll devices (long-poll requests) count for presence until PollHold
// after they end, so that a client polling in a loop is online while it
// polls and does not flap offline between two requests.
func (h *Hub) Register(actor *app.Actor, kick func(), poll bool) *Device {
	return h.register(actor, kick, nil, poll)
}

// RegisterStream is Register for a stream that can take a push on the
// hub's goroutine (the fan-out's, or the bus delivery's for a direct
// message's push): offer writes p there and then, and reports
// true, when that cannot wait (nothing else is due for the device, it is
// caught up to p.After, its socket has room) or p is old news for it;
// otherwise it returns false at once and the push is queued as for any
// device (Delivered, then kick). A new message then costs each idle
// device a write, not a goroutine woken to make it. offer must
// never block, and must only write what the device's writer would.
func (h *Hub) RegisterStream(actor *app.Actor, kick func(), offer func(*app.Push) bool) *Device {
	return h.register(actor, kick, offer, false)
}

func (h *Hub) register(actor *app.Actor, kick func(), offer func(*app.Push) bool, poll bool) *Device {
	d := &Device{UserID: actor.User.ID, SessionID: actor.SessionID, hub: h, kick: kick, offer: offer, poll: poll,
		wakeC: make(chan struct{}, 1), pushC: make(chan *app.SyncEvent, ephemeralQueue),
		deliverC: make(chan *app.Push, deliverQueue), revoked: make(chan struct{})}
	if actor.ExpiresAt != nil {
		d.expires = *actor.ExpiresAt
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		d.shutdown()
		return d
	}
	first := h.streams[d.UserID] == 0
	if h.users[d.UserID] == nil {
		h.users[d.UserID] = map[*Device]struct{}{}
	}
	h.users[d.UserID][d] = struct{}{}
	h.streams[d.UserID]++
	h.mu.Unlock()
	if !h.app.SessionAlive(context.Background(), actor) {
		d.revoke()
		return d
	}
	if !d.expires.IsZero() {
		// An API token with an expiry: the device is revoked when it
		// passes, as if the token were revoked then.
		d.armExpiry()
	}
	if first {
		go h.presence(d.UserID, true)
	}
	if !poll {
		go h.presenceSnapshot(d)
	}
	return d
}

// presenceSnapshot tells a new stream who among its user's direct peers
// is online now; presence events keep it current from there.
func (h *Hub) presenceSnapshot(d *Device) {
	online, err := h.app.OnlinePeers(context.Background(), d.UserID)
	if err != nil {
		h.log.Warn("presence snapshot", "user", d.UserID, "err", err)
		return
	}
	data, _ := json.Marshal(map[string][]string{"online": online})
	d.push(&app.SyncEvent{Type: parley.EventPresenceSnapshot, Data: data, CreatedAt: time.Now().UTC()})
}

// Unregister removes a device; presence goes offline with the last stream
// (a long-poll request's hold on it ends PollHold later).
func (h *Hub) Unregister(d *Device) {
	h.mu.Lock()
	if _, ok := h.users[d.UserID][d]; !ok {
		h.mu.Unlock()
		return
	}
	delete(h.users[d.UserID], d)
	if len(h.users[d.UserID]) == 0 {
		delete(h.users, d.UserID)
	}
	h.mu.Unlock()
	d.stopExpiry()
	select {
	case <-d.revoked:
		// Signed out (or the hub closing): no hold.
	default:
		if d.poll && !d.Expired() {
			time.AfterFunc(h.pollHold, func() { h.release(d.UserID) })
			return
		}
	}
	h.release(d.UserID)
}

// release ends a device's hold on its user's presence (Register's count).
func (h *Hub) release(userID string) {
	h.mu.Lock()
	h.streams[userID]--
	last := h.streams[userID] <= 0
	if last {
		delete(h.streams, userID)
	}
	closed := h.closed
	h.mu.Unlock()
	if last && !closed {
		go h.presence(userID, false)
	}
}

// presence tells the other nodes and the user's peers that the user's
// first stream came to this node or their last one left it. A user who
// leaves this node while another still has a stream of theirs is not
// offline to their peers: the node they leave last announces it, or, if
// none does (they left both at once, a node died), this one once no node
// has them (settleAway).
func (h *Hub) presence(userID string, online bool) {
	h.awayMu.Lock()
	away := !online && h.peers.online(userID)
	if away {
		h.away[userID] = true
	} else {
		delete(h.away, userID)
	}
	h.awayMu.Unlock()
	// The other nodes learn whether peers were told: a node that left the
	// user away settles only an offline nobody announced (nodeNotice).
	h.announceNode(userID, online, !away)
	if away {
		h.app.PresenceHere(userID, false)
		return
	}
	if err := h.app.Presence(context.Background(), userID, online); err != nil {
		h.log.Warn("presence", "user", userID, "err", err)
	}
}

// Online reports whether the user has a device connected to this node.
func (h *Hub) Online(userID string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.users[userID]) > 0
}

// Pushed counts the stored changes handed to local devices as they are,
// hydrated once, instead of waking them to sync. A device that turns out
// not to be caught up still syncs.
func (h *Hub) Pushed() int64 { return h.pushed.Load() }

// Rendered counts the new messages this node published with their
// frames (app.DirectFrames); the others' devices sync.
func (h *Hub) Rendered() int64 { return h.rendered.Load() }

// Devices counts the devices connected to this node.
func (h *Hub) Devices() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, ds := range h.users {
		n += len(ds)
	}
	return n
}

// IssueTicket returns a single-use ticket that opens one stream as actor,
// for browsers, which cannot set headers on a WebSocket.
func (h *Hub) IssueTicket(actor *app.Actor) (string, time.Time, error) {
	t := "tkt_" + rand.Text()
	exp := time.Now().Add(TicketTTL)
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	mine := 0
	for k, v := range h.tickets { // tickets are few and short-lived
		if now.After(v.expires) {
			delete(h.tickets, k)
		} else if v.actor.SessionID == actor.SessionID {
			mine++
		}
	}
	if mine >= maxTicketsPerSession || len(h.tickets) >= maxTickets {
		h.obs.RateLimited("stream_tickets")
		return "", time.Time{}, &parley.Error{Code: parley.ERateLimited, Message: "too many stream tickets waiting; use one first", RetryAfter: TicketTTL}
	}
	h.tickets[t] = ticket{actor: actor, expires: exp}
	return t, exp.UTC(), nil
}

// Ticket limits keep the ticket table, walked under the hub's lock, small.
const (
	maxTicketsPerSession = 8
	maxTickets           = 10000
)

// RedeemTicket returns the actor of a ticket and forgets the ticket.
func (h *Hub) RedeemTicket(t string) (*app.Actor, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	tk, ok := h.tickets[t]
	delete(h.tickets, t)
	if !ok || time.Now().After(tk.expires) {
		return nil, false
	}
	return tk.actor, true
}

// Close unsubscribes and tells every device the server is going away.
func (h *Hub) Close() error {
	h.closeOnce.Do(func() { close(h.done) })
	h.fan.close()
	h.pub.close()
	for _, d := range h.all(true) {
		d.shutdown()
	}
	return h.sub.Unsubscribe()
}
