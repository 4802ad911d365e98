// Package app holds Parley's use cases and every business rule: who may
// message whom, message requests, sending, editing, reactions, folders,
// accounts and sessions. Transports (HTTP, WebSocket, bots, the CLI) call
// App; stores stay thin and rule-free.
package app

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/channel"
	"github.com/parleyhq/parley/sealed"
)

// Config holds the tunable limits of the rules. The zero value of a field
// means its default.
type Config struct {
	// RequestLimit is how many messages a sender may send into a request
	// before the recipient accepts (default 3).
	RequestLimit int
	// EditWindow is how long after sending a message may be edited
	// (default 15 minutes).
	EditWindow time.Duration
	// MaxGroupMembers caps active and invited members of a group (default 1000).
	MaxGroupMembers int
	// LargeGroupMembers is the group size above which the conversation
	// list finds a group through its own row (default
	// DefaultLargeGroupMembers; see app/listing.go).
	LargeGroupMembers int
	// MaxTextLen caps a message's text in characters (default 10,000).
	MaxTextLen int
	// SyncMaxBacklog is how many messages and events a device may have
	// missed and still be sent them all by sync or the stream (default
	// DefaultSyncMaxBacklog); further behind, it reloads (limited).
	SyncMaxBacklog int
	// Password sets the argon2id cost (default PasswordDefault).
	Password PasswordParams
	// LoginPerHandle and LoginPerAddress limit login attempts per minute
	// (defaults 10 and 30).
	LoginPerHandle  int
	LoginPerAddress int
	// Media holds the upload limits.
	Media MediaConfig
	// Admins are the handles of the server's administrators (sticker
	// packs for now).
	Admins []string
	// PhoneRegion is the ISO 3166 region whose national phone-number
	// format the sensitive-data guard recognises (default US; see
	// SetPhoneRegion: the setting is process-wide).
	PhoneRegion string
	// SendPerConversation and SendBurst limit what one account sends into
	// one conversation, across its devices and tokens (defaults 5 a
	// second, bursts of 30).
	SendPerConversation float64
	SendBurst           int
	// NewConversationsPerDay caps the conversations an account starts in
	// 24 hours (default 200); accounts younger than NewAccountAge (7 days)
	// get NewConversationsPerDayNew (20).
	NewConversationsPerDay    int
	NewConversationsPerDayNew int
	NewAccountAge             time.Duration
	// RegistrationsPerHour caps sign-ups per client address (default 20;
	// loopback is exempt — behind a proxy set the server's TrustProxy).
	RegistrationsPerHour int
	// BotPerConversation and BotPerSecond limit what a bot sends: per
	// conversation (default 1 a second, bursts of 3) and in all (default
	// 30 a second).
	BotPerConversation float64
	BotPerSecond       float64
	// Records configures exports (and their signing key).
	Records RecordsConfig
	// CampaignRate is a campaign's default messages per second (100);
	// CampaignConcurrency caps the sends a campaign has in flight (64).
	CampaignRate        float64
	CampaignConcurrency int
	// SpamThreshold is the request score (0 to 1) from which a request is
	// filed under "filtered" (default 0.8).
	SpamThreshold float64
	// SpamRepeatWindow is how long the same text sent to many recipients
	// counts against a sender (default 24 hours).
	SpamRepeatWindow time.Duration
	// BulkMax caps the requests one bulk action takes (default 100).
	BulkMax int
	// EncryptionKey (32 bytes), when set, seals secrets the server must
	// keep readable — TOTP secrets — with AES-256-GCM (app/seal.go).
	EncryptionKey []byte
	// TOTPIssuer names the server in authenticator apps (default "Parley").
	TOTPIssuer string
	// Retention is the server's retention policy (default: keep for ever).
	Retention RetentionConfig
	// Deletion is the account deletion policy (default: erase, handles
	// reserved 30 days).
	Deletion DeletionConfig
}

func (c *Config) setDefaults() {
	if c.RequestLimit <= 0 {
		c.RequestLimit = 3
	}
	c.Deletion.setDefaults()
	if c.EditWindow <= 0 {
		c.EditWindow = 15 * time.Minute
	}
	if c.MaxGroupMembers <= 0 {
		c.MaxGroupMembers = 1000
	}
	if c.PhoneRegion == "" {
		c.PhoneRegion = "US"
	}
	if c.LargeGroupMembers <= 0 {
		c.LargeGroupMembers = DefaultLargeGroupMembers
	}
	if c.MaxTextLen <= 0 {
		c.MaxTextLen = 10000
	}
	if c.Password == (PasswordParams{}) {
		c.Password = PasswordDefault
	}
	if c.LoginPerHandle <= 0 {
		c.LoginPerHandle = 10
	}
	if c.LoginPerAddress <= 0 {
		c.LoginPerAddress = 30
	}
	if c.SendPerConversation <= 0 {
		c.SendPerConversation = 5
	}
	if c.SendBurst <= 0 {
		c.SendBurst = 30
	}
	if c.SyncMaxBacklog <= 0 {
		c.SyncMaxBacklog = DefaultSyncMaxBacklog
	}
	if c.NewConversationsPerDay <= 0 {
		c.NewConversationsPerDay = 200
	}
	if c.NewConversationsPerDayNew <= 0 {
		c.NewConversationsPerDayNew = 20
	}
	if c.NewAccountAge <= 0 {
		c.NewAccountAge = 7 * 24 * time.Hour
	}
	if c.RegistrationsPerHour <= 0 {
		c.RegistrationsPerHour = 20
	}
	if c.BotPerConversation <= 0 {
		c.BotPerConversation = 1
	}
	if c.BotPerSecond <= 0 {
		c.BotPerSecond = 30
	}
	if c.CampaignRate <= 0 {
		c.CampaignRate = 100
	}
	if c.CampaignConcurrency <= 0 {
		c.CampaignConcurrency = 64
	}
	if c.SpamThreshold <= 0 || c.SpamThreshold > 1 {
		c.SpamThreshold = 0.8
	}
	if c.SpamRepeatWindow <= 0 {
		c.SpamRepeatWindow = 24 * time.Hour
	}
	if c.BulkMax <= 0 {
		c.BulkMax = 100
	}
	if c.TOTPIssuer == "" {
		c.TOTPIssuer = "Parley"
	}
	c.Media.setDefaults()
	c.Records.setDefaults()
	for i, h := range c.Admins {
		c.Admins[i] = strings.ToLower(strings.TrimSpace(h))
	}
}

// App is Parley's application layer.
type App struct {
	store  parley.Store
	cfg    Config
	log    *slog.Logger
	now    func() time.Time
	notify func([]*parley.Event)
	revoke func(userID string, sessionIDs []string)
	obs    Observer
	reads  *readBatcher
	blobs  parley.BlobStore
	// auth caches verified tokens (authcache.go); authChanged tells the
	// other nodes whose to forget.
	auth        *authCache
	authChanged func(userIDs []string)
	// keyring is encryption at rest's (keys.go); nil when off.
	keyring *sealed.Keyring
	media   *mediaState
	fetch   LinkFetcher
	// cardSlots bounds the link cards fetched at once.
	cardSlots chan struct{}

	online onlineSet
	// onlineElsewhere, when set, says whether a user is online on
	// another node (SetOnlineElsewhere).
	onlineElsewhere atomic.Pointer[func(string) bool]
	// members keeps large groups' member states (membercache.go).
	members memberCache

	// exp runs export jobs (exports.go).
	exp exportState
	// campaigns is the campaign worker's state (campaign_worker.go).
	campaigns campaignRunner
	// sfilters caches the server's content filters (filters.go).
	sfilters serverFilters

	// webhooks knows who has webhooks and their options (webhooks.go).
	webhooks webhookState

	// channels are the platforms connected by name (channels.go);
	// channelWake wakes the channel send worker (channel_send.go).
	channels    map[string]channel.Channel
	channelWake chan struct{}
	// publicURL is where platforms fetch outbound channel media.
	publicURL string

	// retentionWake tells RunRetention a run was queued; retentionMu
	// lets one runner at a time work through the queued runs.
	retentionWake chan struct{}
	retentionMu   sync.Mutex

	botPerConv, botPerBot *Limiter
	sendPerConv           *Limiter
	// repeats serializes the copies of one send on this node (repeatLocks).
	repeats repeatLocks
	// sharedLimits is the store's rate-limit buckets, when it keeps them
	// (PostgreSQL: every node's); nil keeps them in this node's memory.
	sharedLimits  *sharedLimits
	registrations *Limiter

	loginByHandle  *Limiter
	loginByAddress *Limiter
	dummyHash      string

	// frameWrites counts the runs of updates that may change how a
	// message already sent renders (every update but sends and markers):
	// a send's message renders from what its transaction had in hand
	// only while no such update ran after it (directpush.go).
	frameWrites atomic.Uint64
}

// Option configures an App.
type Option func(*App)

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option { return func(a *App) { a.now = now } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(a *App) { a.log = l } }

// WithNotify sets the function that receives events after they commit. It
// must not block.
func WithNotify(fn func([]*parley.Event)) Option { return func(a *App) { a.notify = fn } }

// WithRevoke sets the function told which sessions ended (logout, revoked
// session, password change), so that their live connections close. It must
// not block.
func WithRevoke(fn func(userID string, sessionIDs []string)) Option {
	return func(a *App) { a.revoke = fn }
}

// New returns an App on store.
func New(store parley.Store, cfg Config, opts ...Option) *App {
	cfg.setDefaults()
	a := &App{
		store:     store,
		cfg:       cfg,
		log:       slog.Default(),
		now:       time.Now,
		notify:    func([]*parley.Event) {},
		revoke:    func(string, []string) {},
		obs:       NopObserver{},
		reads:     newReadBatcher(),
		cardSlots: make(chan struct{}, maxCardFetches),

		auth:        newAuthCache(authMaxAge),
		authChanged: func([]string) {},

		retentionWake: make(chan struct{}, 1),
		channelWake:   make(chan struct{}, 1),
	}
	for _, o := range opts {
		o(a)
	}
	a.media = newMediaState(cfg.Media.DecodeBudget)
	if cfg.PhoneRegion != "" && cfg.PhoneRegion != PhoneRegion() {
		SetPhoneRegion(cfg.PhoneRegion) // an unknown region keeps the last one (config checks it)
	}
	a.campaigns.init()
	if rl, ok := store.(parley.RateLimits); ok {
		now := func() time.Time { return a.now() }
		a.sharedLimits = newSharedLimits(rl, now, warnEvery(time.Minute, now, func(err error) {
			a.log.Warn("shared rate limits unavailable: this node decides alone", "err", err)
		}))
	}
	a.loginByHandle = a.limiter("login_handle", float64(cfg.LoginPerHandle)/60, cfg.LoginPerHandle)
	a.loginByAddress = a.limiter("login_address", float64(cfg.LoginPerAddress)/60, cfg.LoginPerAddress)
	a.sendPerConv = a.limiter("send_conversation", a.cfg.SendPerConversation, a.cfg.SendBurst)
	a.registrations = a.limiter("registration_address", float64(a.cfg.RegistrationsPerHour)/3600, a.cfg.RegistrationsPerHour)
	a.botPerConv = a.limiter("bot_conversation", a.cfg.BotPerConversation, max(1, int(a.cfg.BotPerConversation*3)))
	a.botPerBot = a.limiter("bot", a.cfg.BotPerSecond, max(1, int(a.cfg.BotPerSecond)))
	a.dummyHash = hashPassword("parley-dummy-password", a.cfg.Password)
	return a
}

// Config returns the effective configuration.
func (a *App) Config() Config { return a.cfg }

// Ready reports whether the store answers.
func (a *App) Ready(ctx context.Context) error { return a.store.Ping(ctx) }

func (a *App) clock() time.Time { return a.now().UTC() }

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newID returns an opaque id with 128 bits of randomness.
func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return idEncoding.EncodeToString(b[:])
}

// newSortableID returns an opaque id that sorts by creation time: 48 bits
// of milliseconds, then 80 random bits. Messages get these so that their
// primary-key index grows at the end instead of splitting pages at random.
func newSortableID(t time.Time) string {
	var b [16]byte
	ms := uint64(t.UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	if _, err := rand.Read(b[6:]); err != nil {
		panic(err)
	}
	return idEncoding.EncodeToString(b[:])
}

// update runs fn in a write transaction and hands the events it records to
// the notifier after commit.
func (a *App) update(ctx context.Context, fn func(w *writer) error) error {
	return a.updateFrames(ctx, false, fn)
}

// anyDue asks a background worker's question "is anything due?" in a read
// transaction, before the worker takes its leases in a write batch. Most
// polls find nothing, and a write batch, even an empty one, takes the
// writer (on PostgreSQL the positions lock, which every node's sends wait
// for); a read takes nothing from the sends. Something that becomes due
// just after is taken at the next poll.
func (a *App) anyDue(ctx context.Context, due func(parley.Tx) (bool, error)) (bool, error) {
	var any bool
	err := a.view(ctx, func(tx parley.Tx) error {
		var err error
		any, err = due(tx)
		return err
	})
	return any, err
}

// updateKeepingFrames is update for an update that changes nothing of how
// a message sent before it renders for anyone: a send (which adds its own
// message, moves a request to active and an archived conversation to the
// inbox, none of which shows in another message's view), a marker, and
// the background workers' leases (channel sends and work, webhook
// deliveries), which poll every second or so even on an idle server: as
// plain updates they made every send in flight render its frames from
// the store again (two nodes on PostgreSQL at 1,000 msg/s: renders over
// 100 ms, shed, and their devices synced).
// Only such updates may run between a send and the rendering of its
// message from what the send had in hand (directpush.go); declaring one
// that is not would let a stale frame through.
func (a *App) updateKeepingFrames(ctx context.Context, fn func(w *writer) error) error {
	return a.updateFrames(ctx, true, fn)
}

func (a *App) updateFrames(ctx context.Context, keepsFrames bool, fn func(w *writer) error) error {
	var events []*parley.Event
	var hooks webhookWrites
	var authUsers []string
	var wakeChannels bool
	// The events are published in commit order, by the store once the
	// update committed (parley.WithCommitted): published after Update
	// returned, the updates of one batch came out in whatever order their
	// goroutines woke up, and a message could reach the hub before the one
	// below it — a device then synced instead of taking the pushed frame.
	// Cached tokens go first, as below.
	notified := false
	committed := parley.WithCommitted(ctx, func() {
		notified = true
		a.authWrites(authUsers)
		if len(events) > 0 {
			a.notify(events)
		}
	})
	err := a.store.Update(committed, func(tx parley.Tx) error {
		if !keepsFrames {
			// Counted before it writes anything (and on every run of
			// it): a send that ran earlier sees the count moved.
			a.frameWrites.Add(1)
		}
		w := &writer{Tx: tx, now: a.clock(), origin: OriginFrom(ctx)}
		err := fn(w)
		authUsers = w.authUsers
		if err != nil {
			return err
		}
		wakeChannels = w.wakeChannels
		// The outbox rows of the events commit with them (webhooks.go).
		if err := a.enqueueWebhooks(w); err != nil {
			return err
		}
		events, hooks = w.events, w.webhooks
		return nil
	})
	// Cached tokens go before the change is answered, even after an error:
	// a failed commit may have happened, and forgetting costs a refill.
	if !notified { // failed, or a store that does not run WithCommitted's function
		a.authWrites(authUsers)
		if err == nil && len(events) > 0 {
			a.notify(events)
		}
	}
	if err == nil {
		a.webhooksCommitted(hooks)
		if wakeChannels {
			a.wakeChannelSends()
		}
	}
	return err
}

func (a *App) view(ctx context.Context, fn func(tx parley.Tx) error) error {
	return a.store.View(ctx, func(tx parley.Tx) error { return fn(&reader{Tx: tx, now: a.clock()}) })
}

// writer is a transaction plus the events it has appended.
type writer struct {
	parley.Tx
	now    time.Time
	events []*parley.Event
	// webhooks notes what the transaction changed for webhooks.
	webhooks webhookWrites
	// origin says where the call came from, for the audit log.
	origin Origin
	// authUsers are the users whose rows or sessions changed: their
	// cached tokens go after commit (authcache.go).
	authUsers []string
	// wakeChannels is set when the transaction queued channel work: the
	// channel worker is woken after the commit (wakeChannelSends).
	wakeChannels bool
}

// messageCreated appends m to its conversation's hash chain and records,
// for the notifier only, its creation: the message row itself is the
// stored event. Call it after m's attachments are attached.
func (w *writer) messageCreated(m *parley.Message) error {
	if err := w.chainMessage(m); err != nil {
		return err
	}
	w.messageEvent(m)
	return nil
}

// messagesCreated is messageCreated for stored messages, their chain
// entries written together.
func (w *writer) messagesCreated(ms []*parley.Message) error {
	if err := w.chainMessages(ms); err != nil {
		return err
	}
	for _, m := range ms {
		w.messageEvent(m)
	}
	return nil
}

// messageEvent queues the notification of a stored message.
func (w *writer) messageEvent(m *parley.Message) {
	w.events = append(w.events, &parley.Event{Pos: m.Pos, Type: parley.EventMessageCreated, ConversationID: m.ConversationID,
		ActorID: m.SenderID, MessageID: m.ID, Seq: m.Seq, CreatedAt: m.CreatedAt})
}

// event appends e to the log with the transaction's time, and to its
// conversation's hash chain when it changes content or membership.
func (w *writer) event(e *parley.Event) error {
	e.CreatedAt = w.now
	if err := w.AppendEvent(e); err != nil {
		return err
	}
	if err := w.chainEvent(e); err != nil {
		return err
	}
	w.events = append(w.events, e)
	return nil
}
