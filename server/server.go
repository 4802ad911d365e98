// Package server wires Parley together — store, application, HTTP API —
// and runs it with graceful shutdown. cmd/parley and the end-to-end tests
// both start Parley through it, so tests run the real thing on :0.
package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/bus/inproc"
	"github.com/parleyhq/parley/bus/natsbus"
	"github.com/parleyhq/parley/channel"
	"github.com/parleyhq/parley/channel/instagram"
	"github.com/parleyhq/parley/channel/messenger"
	"github.com/parleyhq/parley/channel/whatsapp"
	"github.com/parleyhq/parley/httpapi"
	"github.com/parleyhq/parley/metrics"
	"github.com/parleyhq/parley/outbound"
	"github.com/parleyhq/parley/realtime"
	"github.com/parleyhq/parley/sealed"
	"github.com/parleyhq/parley/store/postgres"
	"github.com/parleyhq/parley/store/sqlite"
	"github.com/parleyhq/parley/web"
	"github.com/parleyhq/parley/webhook"
	"github.com/parleyhq/parley/wsgateway"
)

// Config is everything needed to run a node.
type Config struct {
	// Listen is the HTTP address (PARLEY_LISTEN, default 127.0.0.1:8080).
	Listen string
	// DataDir holds the embedded database and media (PARLEY_DATA_DIR,
	// default ./parley-data).
	DataDir string
	// DatabaseURL selects the store (PARLEY_DATABASE_URL): empty for SQLite
	// in DataDir, "sqlite:PATH" for another SQLite file, "postgres://..."
	// for PostgreSQL (with several nodes, share media through MediaURL).
	DatabaseURL string
	// MediaURL is where media and finished exports live (PARLEY_MEDIA_URL):
	// empty for the data directory; file:///DIR for a directory every
	// node mounts (media/ and exports/ in it); s3://BUCKET?region=…
	// for an S3-compatible bucket (media/ and exports/ prefixes).
	MediaURL string
	// NATSURL, when set, carries notifications between nodes through NATS
	// (PARLEY_NATS_URL); empty means the in-process bus of one node.
	NATSURL string
	// TrustProxy takes client addresses from X-Forwarded-For.
	TrustProxy bool
	// AllowedOrigins are browser origins, besides the server's own, that
	// may open the WebSocket stream (PARLEY_ALLOWED_ORIGINS).
	AllowedOrigins []string
	// StreamWriteTimeout is how long a stream write may wait for a slow
	// client before it is cut off (default 10 s).
	StreamWriteTimeout time.Duration
	// StreamPingInterval is how often an idle stream is pinged to detect
	// dead connections (default 30 s).
	StreamPingInterval time.Duration
	// FanoutMin is the smallest audience a group's new message is
	// hydrated once for and pushed to (default realtime.FanoutMin); tests
	// lower it to take that path with a few members.
	FanoutMin int
	// PollPresenceHold is how long a long-poll request keeps its user
	// online after it answers (default realtime.PollHold; tests).
	PollPresenceHold time.Duration
	// DebugListen, when set, is a second address serving Go's profiler
	// (/debug/pprof/). Keep it on loopback: it is not authenticated.
	DebugListen string
	// MetricsListen says where GET /metrics is served
	// (PARLEY_METRICS_LISTEN): empty for the main listener, an address
	// for a listener of its own (and not the main one), "off" for
	// nowhere. The endpoint is not authenticated: on the main listener,
	// restrict it at the reverse proxy.
	MetricsListen string
	// App holds the rule limits.
	App app.Config
	// RetentionInterval is how often retention runs over the server when
	// a policy is set (default 24 h); queued runs start at once.
	RetentionInterval time.Duration
	// NoLinkPreviews turns link cards off (PARLEY_LINK_PREVIEWS=false):
	// the server then never fetches a URL found in a message.
	NoLinkPreviews bool
	// OutboundAllowLoopback lets link previews reach loopback addresses.
	// Tests only: their web servers listen on loopback.
	OutboundAllowLoopback bool
	// WebhookAllow lists the operator's exceptions to the webhook SSRF
	// rules (PARLEY_WEBHOOK_ALLOW): addresses, address:port pairs, CIDR
	// ranges and host names that webhooks may reach, over plain HTTP
	// too, though they are not public. Webhooks ignore
	// OutboundAllowLoopback: a test allows its receiver here.
	WebhookAllow []string
	// WebhookTimeout bounds one webhook post (PARLEY_WEBHOOK_TIMEOUT,
	// default 10 s).
	WebhookTimeout time.Duration
	// WebhookPoll is how often due webhook retries are looked for
	// (default 1 s).
	WebhookPoll time.Duration
	// Clock replaces time.Now in the rules, for tests.
	Clock func() time.Time
	// AuthMaxAge is how long a verified token is remembered (default 5 s;
	// app.WithAuthMaxAge), for tests.
	AuthMaxAge time.Duration
	// RecordsKeyFile is the Ed25519 key (PEM, PKCS #8) that signs exports
	// (PARLEY_RECORDS_KEY_FILE); empty: records-ed25519.key in DataDir,
	// made on the first start.
	RecordsKeyFile string
	// TLSCert and TLSKey are PEM files (PARLEY_TLS_CERT, PARLEY_TLS_KEY):
	// both set, the server speaks HTTPS itself (tls.go).
	TLSCert, TLSKey string
	// TLSRedirectListen, with TLS, is an address answering plain HTTP
	// with a redirect to HTTPS (PARLEY_TLS_REDIRECT_LISTEN).
	TLSRedirectListen string
	// PublicURL is where users reach the server (PARLEY_PUBLIC_URL);
	// https:// (or built-in TLS) turns HSTS on.
	PublicURL string
	// Channels configures the Messenger, Instagram and WhatsApp
	// connectors (docs/channels.md).
	Channels ChannelsConfig
}

// ChannelsConfig is where the platforms' APIs are. A base URL on a
// loopback address (a test's local server, a local egress proxy) is
// allowed through the SSRF-safe client for exactly that address and
// port; other private addresses stay refused.
type ChannelsConfig struct {
	// MessengerURL, InstagramURL and WhatsAppURL are the Graph API base
	// URLs (default https://graph.facebook.com).
	MessengerURL, InstagramURL, WhatsAppURL string
	// GraphVersion is the Graph API version in the paths (default v21.0).
	GraphVersion string
	// SendPoll is how often due retries of channel sends are looked for
	// (default 1 s); a new send wakes the worker at once.
	SendPoll time.Duration
	// Timeout bounds one Send API call (default 10 s).
	Timeout time.Duration
}

// DefaultGraphVersion is the Graph API version used unless configured.
const DefaultGraphVersion = "v21.0"

// channelClient is the SSRF-safe client of the Send API calls, allowing
// the configured base URLs that are on loopback.
func channelClient(cfg ChannelsConfig) channel.Poster {
	opts := outbound.Options{Timeout: cfg.Timeout, NoRedirects: true, UserAgent: "Parley (channels)", MaxConnsPerHost: 8}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	for _, raw := range []string{cfg.MessengerURL, cfg.InstagramURL, cfg.WhatsAppURL} {
		u, err := url.Parse(raw)
		if err != nil || raw == "" {
			continue
		}
		port := u.Port()
		if port == "" {
			port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
		}
		if ap, err := netip.ParseAddrPort(net.JoinHostPort(u.Hostname(), port)); err == nil && ap.Addr().IsLoopback() {
			opts.AllowOnly = append(opts.AllowOnly, ap)
		}
	}
	post := outbound.New(opts)
	// Attachments are downloaded through a client of their own: the CDN
	// may redirect (each hop is checked again), and a file takes longer
	// than a Send API call.
	opts.NoRedirects, opts.Timeout, opts.UserAgent = false, max(opts.Timeout, time.Minute), "Parley (channel media)"
	return &channelHTTP{post: post, get: outbound.New(opts)}
}

// channelHTTP is the channels' SSRF-safe client: Send API posts and
// attachment downloads.
type channelHTTP struct{ post, get *outbound.Client }

var _ channel.Getter = (*channelHTTP)(nil)

// Post implements channel.Poster.
func (c *channelHTTP) Post(ctx context.Context, rawURL string, h http.Header, body []byte) (int, http.Header, []byte, error) {
	r, err := c.post.Post(ctx, rawURL, h, body, channel.MaxAnswer)
	if err != nil {
		return 0, nil, nil, err
	}
	return r.Status, r.Header, r.Body, nil
}

// Get implements channel.Getter.
func (c *channelHTTP) Get(ctx context.Context, rawURL string, h http.Header, maxBody int64) (int, http.Header, []byte, error) {
	r, err := c.get.GetWithHeader(ctx, rawURL, h, maxBody+1)
	if err != nil {
		return 0, nil, nil, err
	}
	return r.Status, r.Header, r.Body, nil
}

// channels builds the platforms' connectors.
func channels(cfg ChannelsConfig) []channel.Channel {
	v := cfg.GraphVersion
	if v == "" {
		v = DefaultGraphVersion
	}
	post := channelClient(cfg)
	return []channel.Channel{messenger.New(post, cfg.MessengerURL, v), instagram.New(post, cfg.InstagramURL, v),
		whatsapp.New(post, cfg.WhatsAppURL, v)}
}

// Defaults returns the zero-config settings.
func Defaults() Config {
	return Config{Listen: "127.0.0.1:8080", DataDir: "./parley-data"}
}

// Server is a running Parley node.
type Server struct {
	cfg     Config
	log     *slog.Logger
	Store   parley.Store
	App     *app.App
	Bus     parley.Bus
	Hub     *realtime.Hub
	Metrics *metrics.Metrics // this node's, on a registry of its own
	blobs   parley.BlobStore
	// closeBlobs releases the blob stores' bucket, if any.
	closeBlobs func() error
	gateway    *wsgateway.Gateway
	ln         net.Listener
	http       *http.Server
	debugLn    net.Listener
	debug      *http.Server
	promLn     net.Listener // PARLEY_METRICS_LISTEN's, when set
	prom       *http.Server
	redirLn    net.Listener // PARLEY_TLS_REDIRECT_LISTEN's, when set
	redir      *http.Server
	hooks      *webhook.Worker
	stopGC     chan struct{}
	stopOnce   sync.Once
	// shutdownOnce makes Shutdown run once; later calls wait for it.
	shutdownOnce sync.Once
	shutdownErr  error
	bg           sync.WaitGroup // the background loops, which use the store
}

// MediaGCInterval is how often unused media is collected.
const MediaGCInterval = 10 * time.Minute

// collectMedia deletes unsent uploads past their time, the media of
// unsent messages, and the blobs nothing uses, until Shutdown.
func (s *Server) collectMedia() {
	defer s.bg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-s.stopGC; cancel() }()
	t := time.NewTicker(MediaGCInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stopGC:
			return
		case <-t.C:
		}
		rows, blobs, err := s.App.CollectMedia(ctx)
		if err != nil {
			s.log.Warn("media collection", "err", err)
		} else if rows+blobs > 0 {
			s.log.Info("media collected", "rows", rows, "blobs", blobs)
		}
	}
}

// InboxTickInterval is how often the business inbox's timers run (ended
// snoozes, reassignment of unanswered conversations).
const InboxTickInterval = 15 * time.Second

func (s *Server) inboxTimers() {
	defer s.bg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-s.stopGC; cancel() }()
	s.App.RunInbox(ctx, InboxTickInterval)
}

// CampaignTickInterval is how often the campaign worker looks for due
// work when nothing wakes it (a campaign started or resumed wakes it).
const CampaignTickInterval = time.Second

// runCampaigns runs the campaign worker until Shutdown.
func (s *Server) runCampaigns() {
	defer s.bg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-s.stopGC; cancel() }()
	s.App.RunCampaigns(ctx, CampaignTickInterval)
}

// ReaperInterval is how often expired disappearing messages are purged.
const ReaperInterval = 30 * time.Second

// reap runs the reaper of disappearing messages until Shutdown.
func (s *Server) reap() {
	defer s.bg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-s.stopGC; cancel() }()
	s.App.RunReaper(ctx, ReaperInterval)
}

// retain runs retention jobs until Shutdown.
func (s *Server) retain() {
	defer s.bg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-s.stopGC; cancel() }()
	every := s.cfg.RetentionInterval
	if every <= 0 {
		every = 24 * time.Hour
	}
	s.App.RunRetention(ctx, every)
}

// deliverWebhooks posts webhook deliveries until Shutdown.
func (s *Server) deliverWebhooks() {
	defer s.bg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-s.stopGC; cancel() }()
	s.hooks.Run(ctx)
}

// sendChannels runs the channel send worker until Shutdown.
func (s *Server) sendChannels() {
	defer s.bg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-s.stopGC; cancel() }()
	poll := s.cfg.Channels.SendPoll
	if poll <= 0 {
		poll = time.Second
	}
	s.App.RunChannelSends(ctx, poll)
}

// OpenStore opens the store that cfg names, creating the data directory.
// With an encryption key, message text is sealed at rest.
func OpenStore(cfg Config) (parley.Store, error) {
	st, _, err := OpenStoreKeyring(cfg)
	return st, err
}

// OpenStoreKeyring is OpenStore that also returns the keyring of
// encryption at rest (nil when no key is configured), for commands that
// manage keys or read media.
func OpenStoreKeyring(cfg Config) (parley.Store, *sealed.Keyring, error) {
	return openStore(cfg, nil)
}

// openStore opens the store, reporting its commits to m when m is set,
// and sets up encryption at rest.
func openStore(cfg Config, m *metrics.Metrics) (parley.Store, *sealed.Keyring, error) {
	st, err := openPlainStore(cfg, m)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now
	if cfg.Clock != nil {
		now = cfg.Clock
	}
	ring, err := openKeyring(context.Background(), st.(keyringStore), cfg.App.EncryptionKey, now)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, ring, nil
}

// OpenBlobs opens the media blob store that cfg.MediaURL names (the data
// directory's media/ by default), sealed under ring when encryption at
// rest is on. It is for short-lived commands: the store is not closed.
func OpenBlobs(cfg Config, ring *sealed.Keyring) (parley.BlobStore, error) {
	media, _, _, err := openBlobs(cfg, ring)
	return media, err
}

// openPlainStore opens the store, reporting its commits to m when m is set.
func openPlainStore(cfg Config, m *metrics.Metrics) (parley.Store, error) {
	var onCommit func(updates, failed int, retried bool, duration, commit time.Duration, failedAt string)
	if m != nil {
		onCommit = func(updates, failed int, retried bool, duration, commit time.Duration, failedAt string) {
			m.Committed(metrics.Batch{Updates: updates, Failed: failed, Retried: retried,
				Duration: duration, Commit: commit, FailedAt: failedAt})
		}
	}
	if IsPostgresURL(cfg.DatabaseURL) {
		var opts postgres.Options
		if m != nil {
			opts.OnCommit = func(c postgres.CommitInfo) {
				m.Committed(metrics.Batch{Updates: c.Updates, Failed: c.Failed, Retried: c.Retried,
					Duration: c.Duration, Commit: c.Commit, FailedAt: c.FailedAt,
					CacheReset: c.CacheReset, CacheDropped: c.CacheDropped, Lock: c.Lock})
			}
		}
		db, err := postgres.Open(cfg.DatabaseURL, opts)
		if err != nil {
			return nil, err
		}
		if m != nil {
			m.WatchPools(db.PoolStats)
		}
		return db, nil
	}
	path, err := sqlitePath(cfg)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	var opts sqlite.Options
	if onCommit != nil {
		opts.OnCommit = func(c sqlite.CommitInfo) {
			onCommit(c.Updates, c.Failed, c.Retried, c.Duration, c.Commit, c.FailedAt)
		}
	}
	db, err := sqlite.Open(path, opts)
	if err != nil {
		return nil, err
	}
	if m != nil {
		m.WatchPools(db.PoolStats)
	}
	return db, nil
}

// IsPostgresURL reports whether a PARLEY_DATABASE_URL names PostgreSQL.
func IsPostgresURL(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

func sqlitePath(cfg Config) (string, error) {
	u := cfg.DatabaseURL
	switch {
	case u == "":
		return filepath.Join(cfg.DataDir, "parley.db"), nil
	case strings.HasPrefix(u, "sqlite:"):
		p := strings.TrimPrefix(strings.TrimPrefix(u, "sqlite:"), "//")
		if p == "" {
			return "", errors.New("PARLEY_DATABASE_URL: sqlite: needs a path")
		}
		return p, nil
	case IsPostgresURL(u):
		return "", errors.New("PARLEY_DATABASE_URL: a PostgreSQL database has no SQLite file")
	}
	return "", fmt.Errorf("PARLEY_DATABASE_URL: unknown scheme in %q (want empty, sqlite:PATH or postgres://)", u)
}

// Open opens the store, builds the app and binds the listener; Serve
// starts answering.
func Open(cfg Config, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.Default()
	}
	if err := checkMetricsListen(cfg); err != nil {
		return nil, err
	}
	allow, err := webhook.ParseAllow(cfg.WebhookAllow)
	if err != nil {
		return nil, fmt.Errorf("PARLEY_WEBHOOK_ALLOW: %w", err)
	}
	m := metrics.New()
	st, ring, err := openStore(cfg, m)
	if err != nil {
		return nil, err
	}
	if ring == nil {
		log.Warn("encryption at rest is off: message text and media are stored in clear; set PARLEY_ENCRYPTION_KEY to encrypt them (docs/security.md)")
	} else {
		log.Info("encryption at rest is on", "data_key", ring.Current())
	}
	blobs, exportFiles, closeBlobs, err := openBlobs(cfg, ring)
	if err != nil {
		st.Close()
		return nil, err
	}
	cfg.App.Records.Files = exportFiles
	if cfg.App.Media.TempDir == "" {
		// Local even when media live elsewhere: uploads are inspected here.
		cfg.App.Media.TempDir = filepath.Join(cfg.DataDir, "media", "tmp")
		if err := os.MkdirAll(cfg.App.Media.TempDir, 0o700); err != nil {
			st.Close()
			return nil, fmt.Errorf("media temp dir: %w", err)
		}
	}
	if cfg.App.Records.Key == nil {
		if cfg.App.Records.Key, err = LoadRecordsKey(cfg); err != nil {
			st.Close()
			return nil, err
		}
	}
	if cfg.App.Records.Dir == "" {
		cfg.App.Records.Dir = filepath.Join(cfg.DataDir, "exports")
	}
	var bus parley.Bus = inproc.New(0)
	if cfg.NATSURL != "" {
		nb, err := natsbus.Open(cfg.NATSURL, natsbus.Options{Logger: log})
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("PARLEY_NATS_URL: %w", err)
		}
		bus = nb
	}
	// The hub needs the app and the app notifies the hub: tie the knot
	// through a variable.
	var hub *realtime.Hub
	opts := []app.Option{app.WithLogger(log), app.WithBlobs(blobs), app.WithKeyring(ring),
		app.WithNotify(func(evs []*parley.Event) { hub.Publish(evs) }),
		app.WithRevoke(func(user string, sessions []string) { hub.RevokeSessions(user, sessions) }),
		app.WithAuthChanged(func(users []string) { hub.AuthChanged(users) }),
		app.WithObserver(m)}
	if cfg.Clock != nil {
		opts = append(opts, app.WithClock(cfg.Clock))
	}
	if cfg.AuthMaxAge > 0 {
		opts = append(opts, app.WithAuthMaxAge(cfg.AuthMaxAge))
	}
	if !cfg.NoLinkPreviews {
		client := outbound.New(outbound.Options{AllowLoopback: cfg.OutboundAllowLoopback})
		opts = append(opts, app.WithLinkPreviews(func(ctx context.Context, url string, maxBody int64, accept string) (*app.Fetched, error) {
			r, err := client.Get(ctx, url, maxBody, accept)
			if err != nil {
				return nil, err
			}
			return &app.Fetched{URL: r.URL.String(), Status: r.Status, ContentType: r.ContentType, Body: r.Body}, nil
		}))
	}
	// Webhooks go out through their own SSRF-safe client: only the
	// operator's exceptions open private addresses to them.
	hookOpts := webhook.Options{Logger: log, Timeout: cfg.WebhookTimeout, Poll: cfg.WebhookPoll}
	hookClient := outbound.New(allow.ClientOptions(hookOpts.ClientOptions(outbound.Options{})))
	opts = append(opts, app.WithWebhooks(app.WebhookOptions{CheckURL: allow.CheckURL}))
	opts = append(opts, app.WithChannels(channels(cfg.Channels)...), app.WithPublicURL(cfg.PublicURL))
	a := app.New(st, cfg.App, opts...)
	if err := a.LoadWebhooks(context.Background()); err != nil {
		bus.Close()
		st.Close()
		return nil, fmt.Errorf("load webhooks: %w", err)
	}
	if hub, err = realtime.New(a, bus, log, realtime.WithObserver(m), realtime.WithFanoutMin(cmp.Or(cfg.FanoutMin, realtime.FanoutMin)),
		realtime.WithPollHold(cfg.PollPresenceHold)); err != nil {
		bus.Close()
		st.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		hub.Close()
		bus.Close()
		st.Close()
		return nil, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	var redirLn net.Listener
	if cfg.tlsOn() {
		tln, terr := tlsListener(cfg, ln)
		if terr == nil && cfg.TLSRedirectListen != "" {
			redirLn, terr = net.Listen("tcp", cfg.TLSRedirectListen)
		}
		if terr != nil {
			ln.Close()
			hub.Close()
			bus.Close()
			st.Close()
			return nil, terr
		}
		ln = tln
	}
	var promLn net.Listener
	if cfg.MetricsListen != "" && cfg.MetricsListen != "off" {
		if promLn, err = net.Listen("tcp", cfg.MetricsListen); err != nil {
			ln.Close()
			hub.Close()
			bus.Close()
			st.Close()
			return nil, fmt.Errorf("metrics listen on %s: %w", cfg.MetricsListen, err)
		}
	}
	m.WatchDevices(hub.Devices)
	gw := wsgateway.New(a, hub, wsgateway.Options{Logger: log, OriginPatterns: cfg.AllowedOrigins, WriteTimeout: cfg.StreamWriteTimeout, PingInterval: cfg.StreamPingInterval, Observer: m})
	api := httpapi.New(a, httpapi.Options{Logger: log, TrustProxy: cfg.TrustProxy, Hub: hub, Streamer: gw, Observer: m,
		Ready: func(ctx context.Context) error { return ready(ctx, a, bus) }})
	s := &Server{cfg: cfg, log: log, Store: st, App: a, Bus: bus, Hub: hub, Metrics: m, blobs: blobs, closeBlobs: closeBlobs, gateway: gw, ln: ln,
		promLn: promLn, redirLn: redirLn, hooks: webhook.New(a, hookClient, hookOpts), stopGC: make(chan struct{})}
	if redirLn != nil {
		s.redir = newRedirectServer(cfg, ln.Addr().String())
	}
	s.bg.Add(8)
	go s.cleanExports()
	go s.reap()
	go s.retain()
	go s.collectMedia()
	go s.inboxTimers()
	go s.runCampaigns()
	go s.deliverWebhooks()
	go s.sendChannels()
	root := http.NewServeMux()
	root.Handle("/api/", api)
	root.Handle("/healthz", api)
	root.Handle("/hooks/", api)
	root.Handle("/readyz", api)
	metricsHandler := m.Instrument("GET /metrics", m.Handler())
	if cfg.MetricsListen == "" {
		root.Handle("GET /metrics", metricsHandler)
	} else if promLn != nil {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", metricsHandler)
		s.prom = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	}
	root.Handle("/", m.Instrument("web", web.Handler()))
	s.http = &http.Server{
		// Every answer — API, web app, media, metrics, errors — carries
		// the security headers.
		Handler:           httpapi.SecurityHeaders(root, cfg.HTTPS()),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if cfg.DebugListen != "" {
		if s.debugLn, err = net.Listen("tcp", cfg.DebugListen); err != nil {
			if promLn != nil {
				promLn.Close()
			}
			ln.Close()
			hub.Close()
			bus.Close()
			st.Close()
			return nil, fmt.Errorf("debug listen on %s: %w", cfg.DebugListen, err)
		}
		// With the profiler on, the mutex and block profiles are
		// sampled too (one contention event in 100, blocking events
		// in proportion to 100 µs), so that /debug/pprof/mutex and
		// /block show where goroutines wait on each other.
		runtime.SetMutexProfileFraction(100)
		runtime.SetBlockProfileRate(int(100 * time.Microsecond))
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		s.debug = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	}
	return s, nil
}

// ready is GET /readyz: the database answers with this build's schema
// (every migration applied, none from a newer build), and the bus is
// connected.
func ready(ctx context.Context, a *app.App, bus parley.Bus) error {
	if err := a.Ready(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	if b, ok := bus.(interface{ Ready() error }); ok {
		if err := b.Ready(); err != nil {
			return fmt.Errorf("bus: %w", err)
		}
	}
	return nil
}

// checkMetricsListen refuses a PARLEY_METRICS_LISTEN that is neither
// empty, "off" nor a host:port.
func checkMetricsListen(cfg Config) error {
	if cfg.MetricsListen == "" || cfg.MetricsListen == "off" {
		return nil
	}
	if _, _, err := net.SplitHostPort(cfg.MetricsListen); err != nil {
		return fmt.Errorf("PARLEY_METRICS_LISTEN: %q is not host:port (or empty for the main listener, off for none): %w", cfg.MetricsListen, err)
	}
	return nil
}

// DebugAddr is the profiler's address ("" without DebugListen).
func (s *Server) DebugAddr() string {
	if s.debugLn == nil {
		return ""
	}
	return s.debugLn.Addr().String()
}

// MetricsAddr is the address of the metrics listener, or "" when /metrics
// is on the main listener or off.
func (s *Server) MetricsAddr() string {
	if s.promLn == nil {
		return ""
	}
	return s.promLn.Addr().String()
}

// Addr is the address the server listens on (useful with port 0).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the server's base URL.
func (s *Server) URL() string {
	if s.cfg.tlsOn() {
		return "https://" + s.Addr()
	}
	return "http://" + s.Addr()
}

// Serve answers requests until Shutdown.
func (s *Server) Serve() error {
	s.log.Info("parley listening", "addr", s.Addr())
	if s.debug != nil {
		s.log.Info("profiler listening", "addr", s.debugLn.Addr().String())
		go s.debug.Serve(s.debugLn)
	}
	if s.prom != nil {
		s.log.Info("metrics listening", "addr", s.promLn.Addr().String())
		go s.prom.Serve(s.promLn)
	}
	if s.redir != nil {
		s.log.Info("redirecting plain HTTP to HTTPS", "addr", s.redirLn.Addr().String())
		go s.redir.Serve(s.redirLn)
	}
	if err := s.http.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Shutdown closes every stream with "going away" (clients resume on
// another node or after the restart), stops accepting requests, waits for
// those in flight (until ctx ends), then closes the store so that every
// acknowledged write is on disk.
//
// Shutdown may be called more than once, and concurrently: every call
// returns only after the first has finished (the store closed), with its
// result.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() { s.shutdownErr = s.shutdown(ctx) })
	return s.shutdownErr
}

func (s *Server) shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() { close(s.stopGC) })
	s.bg.Wait() // the background loops use the store, closed below
	s.App.StopExports()
	herr := s.Hub.Close()
	werr := s.gateway.Wait(ctx)
	err := s.http.Shutdown(ctx)
	var derr, merr error
	if s.debug != nil {
		derr = s.debug.Close()
	}
	if s.prom != nil {
		merr = s.prom.Close()
	}
	if s.redir != nil {
		s.redir.Close()
	}
	return errors.Join(herr, werr, err, derr, merr, s.Bus.Close(), s.Store.Close(), s.closeBlobs())
}
