package app

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyhq/parley"
)

// Webhooks: an account subscribes a URL to some of its events. Each event
// a subscription wants becomes an outbox row (parley.WebhookDelivery) in
// the transaction that records the event, so a crash loses nothing; a
// worker (package webhook) claims due rows, renders them as the owner's
// view, signs and posts them, and reports back here, where the retry,
// dead-letter and auto-disable rules live (webhook_delivery.go).

// Public webhook event names. Subscriptions name these; deliveries carry
// them in "type".
const (
	HookMessageCreated       = "message.created"
	HookMessageEdited        = "message.edited"
	HookMessageUnsent        = "message.unsent"
	HookMessageExpired       = "message.expired" // purged at its expiry or by retention: delete your copy
	HookReactionAdded        = "reaction.added"
	HookReactionRemoved      = "reaction.removed"
	HookRead                 = "read"
	HookConversationCreated  = "conversation.created"
	HookConversationAssigned = "conversation.assigned"
	HookConversationResolved = "conversation.resolved"
	HookRequestAccepted      = "request.accepted"
	HookInboxUpdated         = "inbox.updated"
	HookNoteCreated          = "note.created"
	HookPostback             = "postback"
	HookHandover             = "handover"
	HookRuleTriggered        = "rule.triggered"
	HookOptIn                = "optin"
	HookOptOut               = "optout"
	// HookPing is the test event of POST /webhooks/{id}/test; every
	// webhook receives it.
	HookPing = "ping"
)

// WebhookEvents lists the event names a webhook may subscribe to. optin
// and optout are accepted before anything sends them.
var WebhookEvents = []string{HookConversationAssigned, HookConversationCreated, HookConversationResolved, HookHandover,
	HookInboxUpdated, HookMessageCreated, HookMessageEdited, HookMessageExpired, HookMessageUnsent, HookNoteCreated, HookOptIn, HookOptOut,
	HookPostback, HookReactionAdded, HookReactionRemoved, HookRead, HookRequestAccepted, HookRuleTriggered}

// EventWebhookDisabled tells a webhook's owner that it was disabled after
// failing for too long (Data: webhook_id, url, reason).
const EventWebhookDisabled = "webhook.disabled"

// hookNames maps the stored event types that webhooks may receive to their
// public names; inbox.updated is refined by inboxHookNames.
var hookNames = map[string][]string{
	parley.EventMessageCreated: {HookMessageCreated},
	parley.EventMessageEdited:  {HookMessageEdited},
	parley.EventMessageUnsent:  {HookMessageUnsent},
	parley.EventMessageExpired: {HookMessageExpired},
	// An erased message reads as unsent to a receiver, a redacted one as
	// edited (to the placeholder): both drop the content they stored.
	parley.EventMessageErased:       {HookMessageUnsent},
	parley.EventMessageRedacted:     {HookMessageEdited},
	parley.EventReactionAdded:       {HookReactionAdded},
	parley.EventReactionRemoved:     {HookReactionRemoved},
	parley.EventRead:                {HookRead},
	parley.EventConversationCreated: {HookConversationCreated},
	parley.EventRequestAccepted:     {HookRequestAccepted},
	EventInboxUpdated:               {HookConversationResolved, HookConversationAssigned, HookInboxUpdated},
	EventNoteCreated:                {HookNoteCreated},
	EventPostback:                   {HookPostback},
	EventHandover:                   {HookHandover},
	EventRuleTriggered:              {HookRuleTriggered},
	"optin":                         {HookOptIn},
	"optout":                        {HookOptOut},
}

// Webhook limits and defaults.
const (
	maxWebhooksPerOwner = 20
	maxWebhookURL       = 2048
	// secretOverlap is how long a rotated-out secret keeps signing.
	secretOverlap = 24 * time.Hour
	// DefaultWebhookRetryFor is how long a delivery is retried.
	DefaultWebhookRetryFor = 24 * time.Hour
	// DefaultWebhookDisableAfter is how long a webhook may fail without a
	// single success before it is disabled.
	DefaultWebhookDisableAfter = 24 * time.Hour
)

// never is the due time of deliveries of a disabled webhook.
var never = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// WebhookOptions configure webhooks. The zero value of a field means its
// default.
type WebhookOptions struct {
	// CheckURL refuses a URL the server will not post to (SSRF rules,
	// plain HTTP); the default accepts https URLs whose host is a name or
	// a public address.
	CheckURL func(rawURL string) error
	// RetryFor is how long a failing delivery is retried before it is
	// dead (default 24 h).
	RetryFor time.Duration
	// DisableAfter is how long a webhook may fail without a success
	// before it is disabled (default 24 h).
	DisableAfter time.Duration
}

// WithWebhooks sets the webhook options.
func WithWebhooks(o WebhookOptions) Option { return func(a *App) { a.webhooks.opts = o } }

func (o *WebhookOptions) retryFor() time.Duration {
	return cmp.Or(o.RetryFor, DefaultWebhookRetryFor)
}

func (o *WebhookOptions) disableAfter() time.Duration {
	return cmp.Or(o.DisableAfter, DefaultWebhookDisableAfter)
}

// defaultCheckURL accepts https URLs to names and public addresses.
func defaultCheckURL(raw string) error {
	u, _ := url.Parse(raw)
	if u.Scheme != "https" {
		return parley.Invalid("url", "a webhook URL starts with https://")
	}
	if ip, err := netip.ParseAddr(u.Hostname()); err == nil {
		ip = ip.Unmap()
		if !ip.IsGlobalUnicast() || ip.IsPrivate() {
			return parley.Invalid("url", "a webhook may not point to a private, loopback or link-local address")
		}
	}
	return nil
}

// ---- Who has webhooks ----

// webhookState is the App's knowledge of webhooks. Its zero value works.
type webhookState struct {
	opts WebhookOptions
	// set is nil until loaded; it is replaced, never changed in place.
	set atomic.Pointer[webhookSet]
	// mu orders the reloads of set.
	mu         sync.Mutex
	signalOnce sync.Once
	signal     chan struct{}
}

func (s *webhookState) queued() chan struct{} {
	s.signalOnce.Do(func() { s.signal = make(chan struct{}, 1) })
	return s.signal
}

// webhookSub is an enabled webhook as the outbox needs it.
type webhookSub struct {
	id     string
	owner  string
	events []string
}

func (h *webhookSub) wants(name string) bool { return slices.Contains(h.events, name) }

// webhookSet is who has enabled webhooks: kept in memory so that a write
// pays nothing when nobody has a webhook and a map lookup when the event
// concerns nobody who has.
type webhookSet struct {
	// subs are the enabled webhooks of each owner.
	subs map[string][]webhookSub
	// teams lists, per business, the owners with webhooks who work for it
	// (its agents and bots): they receive its events too, as it sees them.
	teams map[string][]string
	// agentOf lists the businesses each owner works for.
	agentOf map[string][]string
	// watched are the users whose view of an event may go to a webhook
	// (owners and the businesses in teams), sorted; wants is every name
	// some webhook subscribes to.
	watched    []string
	watchedSet map[string]bool
	wants      map[string]bool
}

func (s *webhookSet) empty() bool { return len(s.subs) == 0 }

// clone copies the set for a change.
func (s *webhookSet) clone() *webhookSet {
	n := &webhookSet{subs: map[string][]webhookSub{}, agentOf: map[string][]string{}}
	for k, v := range s.subs {
		n.subs[k] = v
	}
	for k, v := range s.agentOf {
		n.agentOf[k] = v
	}
	return n
}

// setOwner replaces an owner's webhooks and the businesses they work for.
func (s *webhookSet) setOwner(owner string, hs []*parley.Webhook, businesses []string) {
	var subs []webhookSub
	for _, h := range hs {
		if h.Enabled {
			subs = append(subs, webhookSub{id: h.ID, owner: owner, events: h.Events})
		}
	}
	if len(subs) == 0 {
		delete(s.subs, owner)
		delete(s.agentOf, owner)
		return
	}
	s.subs[owner] = subs
	s.agentOf[owner] = slices.DeleteFunc(businesses, func(b string) bool { return b == owner })
}

// build derives teams, watched and wants from subs and agentOf.
func (s *webhookSet) build() *webhookSet {
	s.teams, s.watchedSet, s.wants = map[string][]string{}, map[string]bool{}, map[string]bool{}
	for owner, subs := range s.subs {
		s.watchedSet[owner] = true
		for _, h := range subs {
			for _, e := range h.events {
				s.wants[e] = true
			}
		}
		for _, b := range s.agentOf[owner] {
			s.teams[b] = append(s.teams[b], owner)
			s.watchedSet[b] = true
		}
	}
	s.watched = make([]string, 0, len(s.watchedSet))
	for id := range s.watchedSet {
		s.watched = append(s.watched, id)
	}
	slices.Sort(s.watched)
	return s
}

// activeBusinesses lists the businesses a user works for.
func activeBusinesses(tx parley.Tx, userID string) ([]string, error) {
	ags, err := tx.AgentOf(userID)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, ag := range ags {
		if ag.Active {
			out = append(out, ag.BusinessID)
		}
	}
	return out, nil
}

// loadWebhookSet reads the whole set.
func loadWebhookSet(tx parley.Tx) (*webhookSet, error) {
	hs, err := tx.EnabledWebhooks()
	if err != nil {
		return nil, err
	}
	byOwner := map[string][]*parley.Webhook{}
	for _, h := range hs {
		byOwner[h.OwnerID] = append(byOwner[h.OwnerID], h)
	}
	s := (&webhookSet{}).clone()
	for owner, hs := range byOwner {
		bs, err := activeBusinesses(tx, owner)
		if err != nil {
			return nil, err
		}
		s.setOwner(owner, hs, bs)
	}
	return s.build(), nil
}

// LoadWebhooks loads who has webhooks, so that the first write does not
// have to; serve calls it before it answers.
func (a *App) LoadWebhooks(ctx context.Context) error {
	a.webhooks.mu.Lock()
	defer a.webhooks.mu.Unlock()
	return a.view(ctx, func(tx parley.Tx) error {
		s, err := loadWebhookSet(tx)
		if err == nil {
			a.webhooks.set.Store(s)
		}
		return err
	})
}

// webhookWrites is what one write transaction changed for webhooks.
type webhookWrites struct {
	// queued is set when outbox rows became due.
	queued bool
	// owners changed their webhooks; businesses changed their team.
	owners, businesses []string
}

// webhooksCommitted runs after a commit: it refreshes the set for owners
// and teams that changed and wakes the delivery worker. The refresh reads
// after the commit, under mu, so that two refreshes cannot undo each
// other: the later one reads a state that includes the earlier's commit.
func (a *App) webhooksCommitted(ww webhookWrites) {
	if len(ww.owners) > 0 || len(ww.businesses) > 0 {
		a.refreshWebhooks(ww.owners, ww.businesses)
	}
	if ww.queued {
		a.wakeWebhooks()
	}
}

func (a *App) wakeWebhooks() {
	select {
	case a.webhooks.queued() <- struct{}{}:
	default:
	}
}

// WebhooksQueued signals (coalesced) that deliveries may have become due:
// new events, a finished delivery that let the next of its conversation
// go, a replay, a test.
func (a *App) WebhooksQueued() <-chan struct{} { return a.webhooks.queued() }

func (a *App) refreshWebhooks(owners, businesses []string) {
	s := &a.webhooks
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.set.Load()
	if cur == nil {
		return // the next write loads it whole
	}
	next := cur.clone()
	err := a.view(context.Background(), func(tx parley.Tx) error {
		for _, owner := range owners {
			hs, err := tx.Webhooks(owner)
			if err != nil {
				return err
			}
			bs, err := activeBusinesses(tx, owner)
			if err != nil {
				return err
			}
			next.setOwner(owner, hs, bs)
		}
		for _, b := range businesses {
			ags, err := tx.Agents(b)
			if err != nil {
				return err
			}
			for _, ag := range ags {
				if _, ok := next.subs[ag.UserID]; !ok || ag.UserID == b {
					continue
				}
				bs := slices.DeleteFunc(slices.Clone(next.agentOf[ag.UserID]), func(x string) bool { return x == b })
				if ag.Active {
					bs = append(bs, b)
				}
				next.agentOf[ag.UserID] = bs
			}
		}
		return nil
	})
	if err != nil {
		// A set that misses an owner would lose events: forget it, and the
		// next write reloads it whole inside its transaction.
		a.log.Warn("webhooks: refresh failed; reloading", "err", err)
		s.set.Store(nil)
		return
	}
	s.set.Store(next.build())
}

// ---- The outbox ----

// enqueueWebhooks writes, in w's transaction, an outbox row for each
// webhook that wants one of the events w recorded: the webhooks of users
// who may see the event, and of the people and bots working for a business
// that may.
func (a *App) enqueueWebhooks(w *writer) error {
	if len(w.events) == 0 {
		return nil
	}
	set := a.webhooks.set.Load()
	if set == nil {
		a.webhooks.mu.Lock()
		if set = a.webhooks.set.Load(); set == nil {
			var err error
			if set, err = loadWebhookSet(w); err != nil {
				a.webhooks.mu.Unlock()
				return err
			}
			a.webhooks.set.Store(set)
		}
		a.webhooks.mu.Unlock()
	}
	if set.empty() {
		return nil
	}
	evs := w.events
	if !slices.IsSortedFunc(evs, func(x, y *parley.Event) int { return cmp.Compare(x.Pos, y.Pos) }) {
		evs = slices.SortedFunc(slices.Values(evs), func(x, y *parley.Event) int { return cmp.Compare(x.Pos, y.Pos) })
	}
	var rows []*parley.WebhookDelivery
	for _, e := range evs {
		if e.Type == EventAgentsChanged && e.UserID != "" {
			w.webhooks.businesses = append(w.webhooks.businesses, e.UserID)
		}
		names := hookNames[e.Type]
		if e.Pos == 0 || !slices.ContainsFunc(names, func(n string) bool { return set.wants[n] }) {
			continue
		}
		viewers, err := hookViewers(w, set, e)
		if err != nil {
			return err
		}
		if len(viewers) == 0 {
			continue
		}
		if e.Type == EventInboxUpdated {
			if names, err = inboxHookNames(w, e); err != nil {
				return err
			}
		}
		sent := map[string]bool{} // webhook ids: one delivery per event, the owner's own view first
		add := func(h webhookSub, as string) {
			if sent[h.id] {
				return
			}
			for _, n := range names {
				if h.wants(n) {
					sent[h.id] = true
					rows = append(rows, &parley.WebhookDelivery{ID: "msg_" + newSortableID(w.now), WebhookID: h.id, Pos: e.Pos,
						Type: n, As: as, ConversationID: e.ConversationID, NextAt: w.now, CreatedAt: w.now})
					return
				}
			}
		}
		for _, v := range viewers {
			for _, h := range set.subs[v] {
				add(h, "")
			}
		}
		for _, v := range viewers {
			for _, owner := range set.teams[v] {
				for _, h := range set.subs[owner] {
					add(h, v)
				}
			}
		}
	}
	if len(rows) == 0 {
		return nil
	}
	if err := w.EnqueueDeliveries(rows); err != nil {
		return err
	}
	w.webhooks.queued = true
	return nil
}

// hookViewers returns the watched users who may see e now: its addressee,
// or the members of its conversation whose membership shows it. Delivery
// checks again, with every rule of sync, when it renders the event.
func hookViewers(w *writer, set *webhookSet, e *parley.Event) ([]string, error) {
	if e.UserID != "" {
		if set.watchedSet[e.UserID] {
			return []string{e.UserID}, nil
		}
		return nil, nil
	}
	if e.ConversationID == "" {
		return nil, nil
	}
	c, err := w.ConversationByID(e.ConversationID)
	if err != nil {
		return nil, err
	}
	var ms []*parley.Member
	switch {
	case c.Kind == parley.ConversationDirect && c.DirectKey != "":
		// The two members are in the key, and a send has their
		// memberships in the store's cache already.
		for _, id := range strings.Split(c.DirectKey, ":") {
			if !set.watchedSet[id] {
				continue
			}
			m, err := w.Member(c.ID, id)
			if parley.IsNotFound(err) {
				continue
			} else if err != nil {
				return nil, err
			}
			ms = append(ms, m)
		}
	case len(set.watched) <= c.MemberCount+8:
		if ms, err = w.MembersAmong(c.ID, set.watched); err != nil {
			return nil, err
		}
	default:
		all, err := w.Members(c.ID)
		if err != nil {
			return nil, err
		}
		for _, m := range all {
			if set.watchedSet[m.UserID] {
				ms = append(ms, m)
			}
		}
	}
	var out []string
	for _, m := range ms {
		if seesHookEvent(m, e) {
			out = append(out, m.UserID)
		}
	}
	return out, nil
}

// seesHookEvent is sync's rule for a conversation-wide change: a message
// by the member's readable range, an event by their positions.
func seesHookEvent(m *parley.Member, e *parley.Event) bool {
	if e.Type == parley.EventMessageCreated {
		return m.CanRead(e.Seq)
	}
	return m.SeesEvent(e.Pos) && (e.MessageID == "" || m.CanRead(e.Seq))
}

// inboxHookNames names an inbox change by what changed since the
// conversation's previous inbox event: resolved, (re)assigned, or else a
// plain inbox update.
func inboxHookNames(tx parley.Tx, e *parley.Event) ([]string, error) {
	type item struct {
		Status   string `json:"status"`
		Assignee string `json:"assignee"`
		Team     string `json:"team"`
	}
	prev := item{Status: string(parley.InboxResolved)} // a new conversation's item
	if p, err := tx.PreviousEvent(e.UserID, e.ConversationID, EventInboxUpdated, e.Pos); err == nil {
		_ = json.Unmarshal(p.Data, &prev)
	} else if !parley.IsNotFound(err) {
		return nil, err
	}
	var cur item
	_ = json.Unmarshal(e.Data, &cur)
	var names []string
	if cur.Status == string(parley.InboxResolved) && prev.Status != cur.Status {
		names = append(names, HookConversationResolved)
	}
	if cur.Assignee != prev.Assignee || cur.Team != prev.Team {
		names = append(names, HookConversationAssigned)
	}
	return append(names, HookInboxUpdated), nil
}

// ---- Subscriptions ----

// WebhookView is a webhook as its owner sees it. Secret is set only in the
// answers that create or rotate it.
type WebhookView struct {
	ID          string   `json:"id"`
	URL         string   `json:"url"`
	Description string   `json:"description"`
	Events      []string `json:"events"`
	Enabled     bool     `json:"enabled"`
	// DisabledReason says why the webhook stopped.
	DisabledReason string     `json:"disabled_reason,omitempty"`
	DisabledAt     *time.Time `json:"disabled_at,omitempty"`
	// FailingSince is the first failure since the last success.
	FailingSince  *time.Time `json:"failing_since,omitempty"`
	LastSuccessAt *time.Time `json:"last_success_at,omitempty"`
	// PreviousSecretUntil is how long the secret before the last
	// rotation keeps signing deliveries beside the new one.
	PreviousSecretUntil *time.Time `json:"previous_secret_until,omitempty"`
	CreatedAt           time.Time  `json:"created_at"`
	UpdatedAt           time.Time  `json:"updated_at"`
	Secret              string     `json:"secret,omitempty"`
}

func webhookView(h *parley.Webhook, now time.Time) *WebhookView {
	v := &WebhookView{ID: h.ID, URL: h.URL, Description: h.Description, Events: slices.Clone(h.Events), Enabled: h.Enabled,
		DisabledReason: h.DisabledReason, DisabledAt: h.DisabledAt, FailingSince: h.FailingSince, LastSuccessAt: h.LastSuccessAt,
		CreatedAt: h.CreatedAt, UpdatedAt: h.UpdatedAt}
	if h.PreviousSecret != "" && h.PreviousUntil != nil && h.PreviousUntil.After(now) {
		v.PreviousSecretUntil = h.PreviousUntil
	}
	return v
}

// WebhookInput creates a webhook.
type WebhookInput struct {
	URL         string   `json:"url"`
	Events      []string `json:"events"`
	Description string   `json:"description"`
}

// WebhookChange changes a webhook; nil fields stay as they are.
type WebhookChange struct {
	URL         *string  `json:"url"`
	Events      []string `json:"events"`
	Description *string  `json:"description"`
	// Enabled re-enables (clearing the failure record) or pauses it.
	Enabled *bool `json:"enabled"`
	// RotateSecret makes a new secret; the old one signs too for 24 h.
	RotateSecret bool `json:"rotate_secret"`
}

// newWebhookSecret returns a Standard Webhooks secret: "whsec_" and the
// base64 of 32 random bytes.
func newWebhookSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

func (a *App) checkWebhookURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", parley.Invalid("url", "a webhook needs a url")
	}
	if len(raw) > maxWebhookURL {
		return "", parley.Invalid("url", "url is longer than %d bytes", maxWebhookURL)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return "", parley.Invalid("url", "url is not an absolute URL")
	}
	if u.User != nil {
		return "", parley.Invalid("url", "url may not hold a user name or password")
	}
	if u.Fragment != "" {
		return "", parley.Invalid("url", "url may not hold a #fragment")
	}
	check := a.webhooks.opts.CheckURL
	if check == nil {
		check = defaultCheckURL
	}
	if err := check(raw); err != nil {
		if parley.ErrorCode(err) == parley.EInternal {
			return "", parley.Invalid("url", "this server does not post to that URL: %v", err)
		}
		return "", err
	}
	return raw, nil
}

func checkWebhookEvents(in []string) ([]string, error) {
	if len(in) == 0 {
		return nil, parley.Invalid("events", "a webhook needs at least one event: %s", strings.Join(WebhookEvents, ", "))
	}
	var out []string
	for _, e := range in {
		if !slices.Contains(WebhookEvents, e) {
			return nil, parley.Invalid("events", "unknown event %q; events are %s", e, strings.Join(WebhookEvents, ", "))
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	slices.Sort(out)
	return out, nil
}

// CreateWebhook subscribes a URL to some of the actor's events. The
// answer holds the signing secret; it is never shown again.
func (a *App) CreateWebhook(ctx context.Context, actor *Actor, in WebhookInput) (*WebhookView, error) {
	if err := actor.RequireScope(ScopeWebhooks); err != nil {
		return nil, err
	}
	u, err := a.checkWebhookURL(in.URL)
	if err != nil {
		return nil, err
	}
	events, err := checkWebhookEvents(in.Events)
	if err != nil {
		return nil, err
	}
	desc, err := cleanText("description", in.Description, 200, false)
	if err != nil {
		return nil, err
	}
	var view *WebhookView
	err = a.update(ctx, func(w *writer) error {
		hs, err := w.Webhooks(actor.User.ID)
		if err != nil {
			return err
		}
		if len(hs) >= maxWebhooksPerOwner {
			return parley.Errorf(parley.EConflict, "an account has at most %d webhooks; delete one first", maxWebhooksPerOwner)
		}
		h := &parley.Webhook{ID: newID(), OwnerID: actor.User.ID, URL: u, Description: desc, Events: events,
			Secret: newWebhookSecret(), Enabled: true, CreatedAt: w.now, UpdatedAt: w.now}
		if err := w.CreateWebhook(h); err != nil {
			return err
		}
		w.webhooks.owners = append(w.webhooks.owners, actor.User.ID)
		view = webhookView(h, w.now)
		view.Secret = h.Secret
		return nil
	})
	return view, err
}

// ownWebhook returns one of the actor's webhooks; others' are not found.
func ownWebhook(tx parley.Tx, actor *Actor, id string) (*parley.Webhook, error) {
	h, err := tx.Webhook(id)
	if err == nil && h.OwnerID != actor.User.ID {
		err = parley.Errorf(parley.ENotFound, "webhook not found")
	}
	return h, err
}

// Webhooks lists the actor's webhooks, oldest first.
func (a *App) Webhooks(ctx context.Context, actor *Actor) ([]*WebhookView, error) {
	if err := actor.RequireScope(ScopeWebhooks); err != nil {
		return nil, err
	}
	out := []*WebhookView{}
	now := a.clock()
	err := a.view(ctx, func(tx parley.Tx) error {
		hs, err := tx.Webhooks(actor.User.ID)
		for _, h := range hs {
			out = append(out, webhookView(h, now))
		}
		return err
	})
	return out, err
}

// Webhook returns one of the actor's webhooks.
func (a *App) Webhook(ctx context.Context, actor *Actor, id string) (*WebhookView, error) {
	if err := actor.RequireScope(ScopeWebhooks); err != nil {
		return nil, err
	}
	var view *WebhookView
	err := a.view(ctx, func(tx parley.Tx) error {
		h, err := ownWebhook(tx, actor, id)
		if err == nil {
			view = webhookView(h, a.clock())
		}
		return err
	})
	return view, err
}

// UpdateWebhook changes a webhook: its URL, events, description, whether
// it is enabled, and its secret.
func (a *App) UpdateWebhook(ctx context.Context, actor *Actor, id string, ch WebhookChange) (*WebhookView, error) {
	if err := actor.RequireScope(ScopeWebhooks); err != nil {
		return nil, err
	}
	var u, desc string
	var events []string
	var err error
	if ch.URL != nil {
		if u, err = a.checkWebhookURL(*ch.URL); err != nil {
			return nil, err
		}
	}
	if ch.Events != nil {
		if events, err = checkWebhookEvents(ch.Events); err != nil {
			return nil, err
		}
	}
	if ch.Description != nil {
		if desc, err = cleanText("description", *ch.Description, 200, false); err != nil {
			return nil, err
		}
	}
	var secret string
	if ch.RotateSecret {
		secret = newWebhookSecret()
	}
	var view *WebhookView
	err = a.update(ctx, func(w *writer) error {
		h, err := ownWebhook(w, actor, id)
		if err != nil {
			return err
		}
		if ch.URL != nil {
			h.URL = u
		}
		if ch.Events != nil {
			h.Events = events
		}
		if ch.Description != nil {
			h.Description = desc
		}
		if secret != "" {
			until := w.now.Add(secretOverlap)
			h.PreviousSecret, h.PreviousUntil, h.Secret = h.Secret, &until, secret
		}
		if ch.Enabled != nil && *ch.Enabled != h.Enabled {
			if *ch.Enabled {
				h.Enabled, h.DisabledReason, h.DisabledAt, h.FailingSince = true, "", nil, nil
				err = w.RescheduleDeliveries(h.ID, w.now)
				w.webhooks.queued = true
			} else {
				t := w.now
				h.Enabled, h.DisabledReason, h.DisabledAt = false, "disabled by its owner", &t
				err = w.RescheduleDeliveries(h.ID, never)
			}
			if err != nil {
				return err
			}
		}
		h.UpdatedAt = w.now
		if err := w.UpdateWebhook(h); err != nil {
			return err
		}
		w.webhooks.owners = append(w.webhooks.owners, actor.User.ID)
		view = webhookView(h, w.now)
		view.Secret = secret
		return nil
	})
	return view, err
}

// DeleteWebhook deletes a webhook and its deliveries.
func (a *App) DeleteWebhook(ctx context.Context, actor *Actor, id string) error {
	if err := actor.RequireScope(ScopeWebhooks); err != nil {
		return err
	}
	return a.update(ctx, func(w *writer) error {
		if _, err := ownWebhook(w, actor, id); err != nil {
			return err
		}
		w.webhooks.owners = append(w.webhooks.owners, actor.User.ID)
		return w.DeleteWebhook(id)
	})
}
