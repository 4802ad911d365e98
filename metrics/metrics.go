// Package metrics exposes Parley's Prometheus metrics (GET /metrics). It
// implements, with the reference client (prometheus/client_golang), the
// small observer interfaces that app, httpapi, wsgateway and realtime
// define where they are used, and the store's commit hook; those packages
// know nothing of Prometheus. Every Metrics owns its registry — never the
// global one — so that several servers in one process (the tests) keep
// their counts apart. docs/operations.md lists every metric.
package metrics

import (
	"database/sql"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/httpapi"
	"github.com/parleyhq/parley/realtime"
	"github.com/parleyhq/parley/wsgateway"
)

// Metrics holds Parley's metrics and the registry that serves them.
type Metrics struct {
	reg *prometheus.Registry

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec

	sends        *prometheus.CounterVec
	sendDuration prometheus.Histogram
	acks         *prometheus.CounterVec

	batches       prometheus.Counter
	batchSize     prometheus.Histogram
	batchDuration prometheus.Histogram
	commitLatency prometheus.Histogram
	commitErrors  *prometheus.CounterVec
	batchRetries  prometheus.Counter
	cacheResets   prometheus.Counter
	cacheDropped  prometheus.Counter
	lockWait      prometheus.Histogram
	updates       *prometheus.CounterVec
	readBatch     prometheus.Histogram

	streams       prometheus.Gauge
	streamsClosed *prometheus.CounterVec
	delivered     *prometheus.CounterVec
	dropped       *prometheus.CounterVec
	lost          prometheus.Counter
	polls         prometheus.Gauge
	pollsDone     *prometheus.CounterVec

	limited      *prometheus.CounterVec
	loginFailed  prometheus.Counter
	inboxRuns    *prometheus.CounterVec
	snoozesEnded prometheus.Counter
	reassigned   prometheus.Counter
	notes        prometheus.Counter

	webhooks         *prometheus.CounterVec
	webhooksDisabled prometheus.Counter
	campaigns        *prometheus.CounterVec
	recipients       *prometheus.CounterVec

	channelEvents *prometheus.CounterVec
	channelSends  *prometheus.CounterVec

	// Children resolved once: these are counted per event on hot paths.
	deliveredStream, deliveredEphemeral, deliveredSync prometheus.Counter

	// names are the names of Parley's own metrics, for the docs test.
	names []string
}

// The observers Metrics implements.
var (
	_ app.Observer       = (*Metrics)(nil)
	_ httpapi.Observer   = (*Metrics)(nil)
	_ wsgateway.Observer = (*Metrics)(nil)
	_ realtime.Observer  = (*Metrics)(nil)
)

// Buckets, in seconds or counts.
var (
	// requestBuckets reach a minute: long-polls wait up to 60 s.
	requestBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}
	sendBuckets    = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}
	commitBuckets  = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}
	// batchBuckets are powers of two up to the committer's 256 and the
	// read batcher's 64.
	batchBuckets = prometheus.ExponentialBuckets(1, 2, 9)
)

// Label values known in advance, created at start so that every series
// exists (at zero) before its first event: rates and alerts then work
// from the first scrape.
var (
	sendResults  = []string{app.SendCreated, app.SendRepeat, app.SendRefused, app.SendFailed}
	ackKinds     = []string{"delivered", "read"}
	pollResults  = []string{httpapi.PollChanges, httpapi.PollTimeout, httpapi.PollShutdown, httpapi.PollSessionEnded, httpapi.PollClientGone, httpapi.PollError}
	limiters     = []string{"login_address", "login_handle", "bot", "bot_conversation", "stream_tickets"}
	commitStages = []string{"begin", "rollback", "save_position", "commit"}
	hookResults  = []string{app.WebhookDelivered, app.WebhookFailed, app.WebhookDead, app.WebhookSkipped}
	// recipientResults name parley.RecipientSent, …Skipped, …Failed and
	// a deferral (…Pending).
	recipientResults = []string{parley.RecipientSent, parley.RecipientSkipped, parley.RecipientFailed, "deferred"}
)

// New returns metrics on a registry of their own, with the Go runtime,
// process and build collectors.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{reg: reg}
	f := factory{reg: reg, names: &m.names}

	m.httpRequests = f.counterVec("parley_http_requests_total", "HTTP requests answered, by route pattern (never the raw path) and status code.", "route", "code")
	m.httpDuration = f.histogramVec("parley_http_request_duration_seconds", "Time to answer an HTTP request, by route pattern; long-polls count their wait.", requestBuckets, "route")

	m.sends = f.counterVec("parley_messages_sent_total", "Message sends by result: created, repeat (a client_id sent again: the original is returned, nothing stored), refused (a rule or the input said no), error.", "result")
	m.sendDuration = f.histogram("parley_message_send_duration_seconds", "Time to create a message, from the call to the committed transaction (rules, group commit and fsync).", sendBuckets)
	m.acks = f.counterVec("parley_message_acks_total", "Delivered and read markers accepted from devices.", "kind")

	m.batches = f.counter("parley_store_commits_total", "Group-commit transactions committed.")
	m.batchSize = f.histogram("parley_store_commit_batch_size", "Update calls (transactions of the application) per group commit.", batchBuckets)
	m.batchDuration = f.histogram("parley_store_commit_batch_duration_seconds", "Time a group commit held the writer, from BEGIN to the end of COMMIT (both runs of a retried batch).", commitBuckets)
	m.commitLatency = f.histogram("parley_store_commit_duration_seconds", "Time of COMMIT: the write-ahead log written and synced (fsync). On PostgreSQL, the last round trip of a batch: the writes it left to flush, the saved position and the COMMIT.", commitBuckets)
	m.commitErrors = f.counterVec("parley_store_commit_errors_total", "Group commits that committed nothing, by the stage that failed (begin, rollback, save_position, commit).", "stage")
	m.batchRetries = f.counter("parley_store_commit_retries_total", "Group commits run a second time with a savepoint per update because one update failed.")
	m.cacheResets = f.counter("parley_store_cache_resets_total", "PostgreSQL: group commits that started with an empty committer cache because other nodes' changes since this node's last commit could not be told apart.")
	m.cacheDropped = f.counter("parley_store_cache_keys_dropped_total", "PostgreSQL: committer-cache keys (conversations, block pairs) dropped because another node changed them.")
	m.lockWait = f.histogram("parley_store_lock_wait_seconds", "PostgreSQL: time a group commit took to get the positions lock that orders every node's commits (other nodes' batches, plus one round trip).", commitBuckets)
	m.updates = f.counterVec("parley_store_updates_total", "Update calls by result: committed, or failed (refused by a rule or failed with the batch).", "result")
	m.readBatch = f.histogram("parley_store_read_batch_size", "Short reads (device syncs, session checks) answered from one shared read transaction.", batchBuckets)

	m.streams = f.gauge("parley_websocket_connections", "WebSocket streams open on this node.")
	m.streamsClosed = f.counterVec("parley_websocket_closed_total", "WebSocket streams ended, by the close code the server sent (client: the client closed first or the connection failed).", "code")
	m.delivered = f.counterVec("parley_events_delivered_total", "Events written to devices, by transport (stream, sync) and kind (stored, ephemeral).", "transport", "kind")
	m.dropped = f.counterVec("parley_events_dropped_total", "Events not delivered, by reason (ephemeral_queue_full: a typing or presence event for a device whose queue was full).", "reason")
	m.lost = f.counter("parley_bus_notifications_lost_total", "Times the bus dropped change notifications for this node; every local device was woken to sync.")
	m.polls = f.gauge("parley_sync_polls_in_flight", "Long-poll syncs waiting for changes.")
	m.pollsDone = f.counterVec("parley_sync_polls_total", "Long-poll syncs ended, by result.", "result")

	m.limited = f.counterVec("parley_rate_limited_total", "Requests refused by a rate limit, by limiter.", "limiter")
	m.loginFailed = f.counter("parley_login_failures_total", "Logins refused for a wrong handle or password.")
	m.inboxRuns = f.counterVec("parley_inbox_timer_runs_total", "Runs of the business inbox timers, by result (ok, error).", "result")
	m.snoozesEnded = f.counter("parley_inbox_snoozes_ended_total", "Snoozed customer conversations reopened by the inbox timers.")
	m.reassigned = f.counter("parley_inbox_reassignments_total", "Customer conversations reassigned by the inbox timers because the assignee did not answer in time.")
	m.notes = f.counter("parley_inbox_notes_total", "Private notes added to customer conversations.")
	m.channelEvents = f.counterVec("parley_channel_events_total", "Webhook events of connected channels, by platform, kind (message, reaction, read ...) and result (applied, ignored: a replay or about nothing Parley knows).", "platform", "kind", "result")
	m.channelSends = f.counterVec("parley_channel_sends_total", "Send API attempts of connected channels, by platform and result (sent, retry: rate limited or temporary, failed: final).", "platform", "result")

	m.webhooks = f.counterVec("parley_webhook_deliveries_total", "Webhook delivery attempts by outcome: delivered (2xx), failed (retried with backoff), dead (failed for the whole retry period), skipped (the owner may no longer see the event).", "result")
	m.webhooksDisabled = f.counter("parley_webhooks_disabled_total", "Webhooks disabled because every delivery failed for too long.")
	m.campaigns = f.counterVec("parley_campaigns_total", "Campaigns that started sending and that finished (nobody left pending), by event.", "event")
	m.recipients = f.counterVec("parley_campaign_recipients_total", "Campaign recipients settled, by result: sent, skipped (no consent, frequency cap, …), failed, or deferred to after quiet hours.", "result")

	for _, v := range sendResults {
		m.sends.WithLabelValues(v)
	}
	for _, v := range ackKinds {
		m.acks.WithLabelValues(v)
	}
	for _, v := range pollResults {
		m.pollsDone.WithLabelValues(v)
	}
	for _, v := range limiters {
		m.limited.WithLabelValues(v)
	}
	for _, v := range commitStages {
		m.commitErrors.WithLabelValues(v)
	}
	m.updates.WithLabelValues("committed")
	m.updates.WithLabelValues("failed")
	m.inboxRuns.WithLabelValues("ok")
	m.inboxRuns.WithLabelValues("error")
	m.dropped.WithLabelValues("ephemeral_queue_full")
	for _, v := range hookResults {
		m.webhooks.WithLabelValues(v)
	}
	for _, v := range recipientResults {
		m.recipients.WithLabelValues(v)
	}
	m.campaigns.WithLabelValues("started")
	m.campaigns.WithLabelValues("finished")
	m.streamsClosed.WithLabelValues("client")
	m.deliveredStream = m.delivered.WithLabelValues("stream", "stored")
	m.deliveredEphemeral = m.delivered.WithLabelValues("stream", "ephemeral")
	m.deliveredSync = m.delivered.WithLabelValues("sync", "stored")

	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(),
	)
	return m
}

// factory creates metrics, registers them and notes their names.
type factory struct {
	reg   prometheus.Registerer
	names *[]string
}

func (f factory) counter(name, help string) prometheus.Counter {
	*f.names = append(*f.names, name)
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	f.reg.MustRegister(c)
	return c
}

func (f factory) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	*f.names = append(*f.names, name)
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	f.reg.MustRegister(c)
	return c
}

func (f factory) gauge(name, help string) prometheus.Gauge {
	*f.names = append(*f.names, name)
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
	f.reg.MustRegister(g)
	return g
}

func (f factory) histogram(name, help string, buckets []float64) prometheus.Histogram {
	*f.names = append(*f.names, name)
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets})
	f.reg.MustRegister(h)
	return h
}

func (f factory) histogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	*f.names = append(*f.names, name)
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	f.reg.MustRegister(h)
	return h
}

// Registry returns the registry the metrics are on, to add collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus text format, counting its
// own scrapes.
func (m *Metrics) Handler() http.Handler {
	return promhttp.InstrumentMetricHandler(m.reg, promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		Registry: m.reg, MaxRequestsInFlight: 4, Timeout: 10 * time.Second,
	}))
}

// Instrument counts the requests h answers under a fixed route label,
// for handlers outside the API router (the web app, /metrics).
func (m *Metrics) Instrument(route string, h http.Handler) http.Handler {
	l := prometheus.Labels{"route": route}
	return promhttp.InstrumentHandlerCounter(m.httpRequests.MustCurryWith(l),
		promhttp.InstrumentHandlerDuration(m.httpDuration.MustCurryWith(l), h))
}

// Request implements httpapi.Observer.
func (m *Metrics) Request(route string, status int, d time.Duration) {
	if route == "" {
		route = "unmatched" // e.g. a method the route does not take
	}
	m.httpRequests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.httpDuration.WithLabelValues(route).Observe(d.Seconds())
}

// PollStarted implements httpapi.Observer.
func (m *Metrics) PollStarted() { m.polls.Inc() }

// PollEnded implements httpapi.Observer.
func (m *Metrics) PollEnded(result string) {
	m.polls.Dec()
	m.pollsDone.WithLabelValues(result).Inc()
}

// Synced implements httpapi.Observer.
func (m *Metrics) Synced(events int) { m.deliveredSync.Add(float64(events)) }

// StreamOpened implements wsgateway.Observer.
func (m *Metrics) StreamOpened() { m.streams.Inc() }

// StreamClosed implements wsgateway.Observer.
func (m *Metrics) StreamClosed(code int) {
	m.streams.Dec()
	label := "client"
	if code != 0 {
		label = strconv.Itoa(code)
	}
	m.streamsClosed.WithLabelValues(label).Inc()
}

// Delivered implements wsgateway.Observer.
func (m *Metrics) Delivered(ephemeral bool) {
	if ephemeral {
		m.deliveredEphemeral.Inc()
	} else {
		m.deliveredStream.Inc()
	}
}

// EphemeralDropped implements realtime.Observer.
func (m *Metrics) EphemeralDropped() { m.dropped.WithLabelValues("ephemeral_queue_full").Inc() }

// NotificationsLost implements realtime.Observer.
func (m *Metrics) NotificationsLost() { m.lost.Inc() }

// RateLimited implements app.Observer and realtime.Observer.
func (m *Metrics) RateLimited(limiter string) { m.limited.WithLabelValues(limiter).Inc() }

// MessageSent implements app.Observer.
func (m *Metrics) MessageSent(result string, d time.Duration) {
	m.sends.WithLabelValues(result).Inc()
	if result == app.SendCreated {
		m.sendDuration.Observe(d.Seconds())
	}
}

// MarkerMoved implements app.Observer.
func (m *Metrics) MarkerMoved(kind string) { m.acks.WithLabelValues(kind).Inc() }

// LoginFailed implements app.Observer.
func (m *Metrics) LoginFailed() { m.loginFailed.Inc() }

// InboxTick implements app.Observer.
func (m *Metrics) InboxTick(snoozesEnded, reassigned int, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.inboxRuns.WithLabelValues(result).Inc()
	m.snoozesEnded.Add(float64(snoozesEnded))
	m.reassigned.Add(float64(reassigned))
}

// NoteAdded implements app.Observer.
func (m *Metrics) NoteAdded() { m.notes.Inc() }

// ChannelEvent implements app.Observer.
func (m *Metrics) ChannelEvent(platform, kind string, changed bool) {
	result := "ignored"
	if changed {
		result = "applied"
	}
	m.channelEvents.WithLabelValues(platform, kind, result).Inc()
}

// ChannelSend implements app.Observer.
func (m *Metrics) ChannelSend(platform, result string) {
	m.channelSends.WithLabelValues(platform, result).Inc()
}

// ReadBatch implements app.Observer.
func (m *Metrics) ReadBatch(size int) { m.readBatch.Observe(float64(size)) }

// WebhookAttempted implements app.Observer.
func (m *Metrics) WebhookAttempted(result string) { m.webhooks.WithLabelValues(result).Inc() }

// WebhookDisabled implements app.Observer.
func (m *Metrics) WebhookDisabled() { m.webhooksDisabled.Inc() }

// CampaignStarted implements app.Observer.
func (m *Metrics) CampaignStarted() { m.campaigns.WithLabelValues("started").Inc() }

// CampaignFinished implements app.Observer.
func (m *Metrics) CampaignFinished() { m.campaigns.WithLabelValues("finished").Inc() }

// CampaignRecipient implements app.Observer.
func (m *Metrics) CampaignRecipient(state string) {
	if state == parley.RecipientPending {
		state = "deferred"
	}
	m.recipients.WithLabelValues(state).Inc()
}

// Batch is one group commit of the store, as the store reports it.
type Batch struct {
	// Updates shared the batch; Failed of them got an error.
	Updates, Failed int
	// Retried: the batch ran again with a savepoint per update.
	Retried bool
	// Duration is the whole batch, Commit the COMMIT (on PostgreSQL with
	// the batch's last writes, sent with it).
	Duration, Commit time.Duration
	// FailedAt names the stage that failed when nothing was committed.
	FailedAt string
	// CacheReset and CacheDropped (PostgreSQL): the batch started with an
	// empty committer cache, or dropped that many keys other nodes changed.
	CacheReset   bool
	CacheDropped int
	// Lock (PostgreSQL) is the wait for the positions lock that orders
	// every node's commits; zero when the store has none.
	Lock time.Duration
}

// Committed records a group commit.
func (m *Metrics) Committed(b Batch) {
	m.batchSize.Observe(float64(b.Updates))
	m.batchDuration.Observe(b.Duration.Seconds())
	if b.Retried {
		m.batchRetries.Inc()
	}
	if b.CacheReset {
		m.cacheResets.Inc()
	}
	m.cacheDropped.Add(float64(b.CacheDropped))
	if b.Lock > 0 {
		m.lockWait.Observe(b.Lock.Seconds())
	}
	if b.FailedAt != "" {
		m.commitErrors.WithLabelValues(b.FailedAt).Inc()
		m.updates.WithLabelValues("failed").Add(float64(b.Updates))
		return
	}
	m.batches.Inc()
	m.commitLatency.Observe(b.Commit.Seconds())
	m.updates.WithLabelValues("committed").Add(float64(b.Updates - b.Failed))
	m.updates.WithLabelValues("failed").Add(float64(b.Failed))
}

// WatchDevices reports devices(), the devices connected to this node
// (streams and waiting long-polls), at every scrape.
func (m *Metrics) WatchDevices(devices func() int) {
	m.names = append(m.names, "parley_realtime_devices")
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "parley_realtime_devices",
		Help: "Devices connected to this node: WebSocket streams and waiting long-polls.",
	}, func() float64 { return float64(devices()) }))
}

// WatchPools reports the database/sql statistics of the store's
// connection pools, by pool name, at every scrape.
func (m *Metrics) WatchPools(stats func() map[string]sql.DBStats) {
	m.reg.MustRegister(newPoolCollector(stats, &m.names))
}
