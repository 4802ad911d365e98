package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape is one parsed GET /metrics.
type scrape map[string]*dto.MetricFamily

// scrapeURL reads and parses the metrics at url.
func scrapeURL(t *testing.T, url string) scrape {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse %s: %v", url, err)
	}
	return fams
}

func (ts *testServer) scrape(t *testing.T) scrape {
	t.Helper()
	return scrapeURL(t, ts.URL()+"/metrics")
}

// value sums the series of name whose labels include the given name,
// value pairs: a counter's or gauge's value, a histogram's sample count.
// A family that is missing fails the test.
func (s scrape) value(t *testing.T, name string, labels ...string) float64 {
	f, ok := s[name]
	if !ok {
		t.Fatalf("metric %s missing", name)
	}
	sum := 0.0
series:
	for _, m := range f.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, lp := range m.GetLabel() {
				if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue series
			}
		}
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		case m.Untyped != nil:
			sum += m.Untyped.GetValue()
		}
	}
	return sum
}

// valueOr0 is value, with 0 for a family that has no series yet.
func (s scrape) valueOr0(name string, labels ...string) float64 {
	if _, ok := s[name]; !ok {
		return 0
	}
	return s.value(nil, name, labels...)
}

// labelValues returns every value the label takes in the family.
func (s scrape) labelValues(name, label string) []string {
	var out []string
	for _, m := range s[name].GetMetric() {
		for _, lp := range m.GetLabel() {
			if lp.GetName() == label {
				out = append(out, lp.GetValue())
			}
		}
	}
	return out
}

// eventually scrapes until cond holds, for what the server counts after
// it answered (stream frames, closes); liveness bounds a hang.
func (ts *testServer) eventually(t *testing.T, what string, cond func(scrape) bool) scrape {
	t.Helper()
	deadline := time.Now().Add(liveness)
	for {
		s := ts.scrape(t)
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics never showed %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestMetricsScenario drives a real node through registrations, sends
// (one repeated), a stream with a delivered marker and typing, a read
// marker, long-polls, failed logins up to the rate limit, a business note
// and an inbox timer run, and checks that each metric moved by what the
// scenario did.
func TestMetricsScenario(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.App.LoginPerHandle = 2 })
	before := ts.scrape(t)
	delta := func(after scrape, name string, labels ...string) float64 {
		t.Helper()
		return after.value(t, name, labels...) - before.valueOr0(name, labels...)
	}

	ann := ts.register("ann", "person")
	ben := ts.register("ben", "person")
	must(t, ben.do("PUT", "/api/v1/users/ann/follow", nil), http.StatusNoContent)
	conv := ann.direct("ben")

	// Streams: ben reads, ann types.
	benStream := ts.dial(t, ben.Token, 0)
	annStream := ts.dial(t, ann.Token, 0)
	if got := ts.scrape(t).value(t, "parley_websocket_connections"); got != 2 {
		t.Errorf("parley_websocket_connections = %v with two streams open, want 2", got)
	}

	// Sends: one created, then the same client_id again.
	msgs := "/api/v1/conversations/" + conv + "/messages"
	must(t, ann.do("POST", msgs, map[string]string{"text": "one", "client_id": "c-1"}), http.StatusCreated)
	must(t, ann.do("POST", msgs, map[string]string{"text": "one", "client_id": "c-1"}), http.StatusOK)
	benStream.until(isText("one"))

	// Acks: delivered on the stream, read over HTTP.
	benStream.send(map[string]any{"type": "delivered", "conversation_id": conv, "seq": 1})
	must(t, ben.do("POST", "/api/v1/conversations/"+conv+"/read", map[string]any{"seq": 1}), http.StatusOK)

	// Typing: an ephemeral event pushed to ben's stream.
	annStream.send(map[string]any{"type": "typing", "conversation_id": conv, "typing": true})
	benStream.until(func(e streamEvent) bool { return e.Type == "typing" })

	// Long-polls: one answered at once, one that waits for a send.
	r := must(t, ben.do("GET", "/api/v1/sync?since=0&timeout=5", nil), http.StatusOK)
	head := int64(r.JSON()["next"].(float64))
	polled := make(chan *response, 1)
	go func() {
		polled <- ts.do(ben.Token, "GET", "/api/v1/sync?since="+strconv.FormatInt(head, 10)+"&timeout=50", nil)
	}()
	ts.eventually(t, "a long-poll in flight", func(s scrape) bool { return s.value(t, "parley_sync_polls_in_flight") == 1 })
	must(t, ann.do("POST", msgs, map[string]string{"text": "two"}), http.StatusCreated)
	select {
	case r := <-polled:
		if r.Status != http.StatusOK || !strings.Contains(string(r.Body), conv) {
			t.Fatalf("long-poll: %d %s", r.Status, r.Body)
		}
	case <-time.After(liveness):
		t.Fatal("the long-poll did not return after a send")
	}

	// Failed logins up to the per-handle limit (2 a minute in this test).
	bad := map[string]string{"handle": "ann", "password": "wrong password!"}
	wantProblem(t, ts.do("", "POST", "/api/v1/sessions", bad), http.StatusUnauthorized, "bad_credentials")
	wantProblem(t, ts.do("", "POST", "/api/v1/sessions", bad), http.StatusUnauthorized, "bad_credentials")
	wantProblem(t, ts.do("", "POST", "/api/v1/sessions", bad), http.StatusTooManyRequests, "rate_limited")

	// Business inbox: a customer writes, the business adds a note, the
	// timers run once.
	biz := regNamed(ts, "shop", "business", "Shop")
	cust := ann.direct("shop")
	ann.send(cust, "hello shop")
	must(t, biz.do("POST", bz(biz, "/conversations/"+cust+"/notes"), map[string]string{"text": "VIP customer"}), http.StatusCreated)
	if err := ts.App.InboxTick(context.Background()); err != nil {
		t.Fatal(err)
	}

	// Streams end from the client side.
	benStream.conn.Close(websocket.StatusNormalClosure, "")
	annStream.conn.Close(websocket.StatusNormalClosure, "")
	after := ts.eventually(t, "the streams closed and the delivered marker counted", func(s scrape) bool {
		return s.value(t, "parley_websocket_connections") == 0 &&
			s.valueOr0("parley_websocket_closed_total", "code", "client")-before.valueOr0("parley_websocket_closed_total", "code", "client") == 2 &&
			s.value(t, "parley_message_acks_total", "kind", "delivered")-before.value(t, "parley_message_acks_total", "kind", "delivered") == 1
	})

	sendRoute := "POST /api/v1/conversations/{id}/messages"
	for _, c := range []struct {
		name   string
		labels []string
		want   float64 // exact change; -1: any increase
	}{
		{"parley_http_requests_total", []string{"route", "POST /api/v1/accounts", "code", "201"}, 3},
		{"parley_http_requests_total", []string{"route", sendRoute, "code", "201"}, 3},
		{"parley_http_requests_total", []string{"route", sendRoute, "code", "200"}, 1},
		{"parley_http_requests_total", []string{"route", "POST /api/v1/sessions", "code", "401"}, 2},
		{"parley_http_requests_total", []string{"route", "POST /api/v1/sessions", "code", "429"}, 1},
		{"parley_http_requests_total", []string{"route", "GET /api/v1/stream", "code", "101"}, 2},
		{"parley_http_request_duration_seconds", []string{"route", sendRoute}, 4},
		{"parley_messages_sent_total", []string{"result", "created"}, 3},
		{"parley_messages_sent_total", []string{"result", "repeat"}, 1},
		{"parley_messages_sent_total", []string{"result", "refused"}, 0},
		{"parley_message_send_duration_seconds", nil, 3},
		{"parley_message_acks_total", []string{"kind", "read"}, 1},
		{"parley_message_acks_total", []string{"kind", "delivered"}, 1},
		{"parley_store_commits_total", nil, -1},
		{"parley_store_commit_batch_size", nil, -1},
		{"parley_store_commit_duration_seconds", nil, -1},
		{"parley_store_commit_batch_duration_seconds", nil, -1},
		{"parley_store_updates_total", []string{"result", "committed"}, -1},
		{"parley_store_read_batch_size", nil, -1},
		{"parley_store_commit_errors_total", nil, 0},
		{"parley_websocket_closed_total", []string{"code", "client"}, 2},
		{"parley_events_delivered_total", []string{"transport", "stream", "kind", "stored"}, -1},
		{"parley_events_delivered_total", []string{"transport", "stream", "kind", "ephemeral"}, -1},
		{"parley_events_delivered_total", []string{"transport", "sync", "kind", "stored"}, -1},
		{"parley_sync_polls_total", []string{"result", "changes"}, 2},
		{"parley_sync_polls_in_flight", nil, 0},
		{"parley_login_failures_total", nil, 2},
		{"parley_rate_limited_total", []string{"limiter", "login_handle"}, 1},
		{"parley_rate_limited_total", []string{"limiter", "login_address"}, 0},
		{"parley_inbox_notes_total", nil, 1},
		{"parley_inbox_timer_runs_total", []string{"result", "ok"}, 1},
		{"parley_inbox_timer_runs_total", []string{"result", "error"}, 0},
	} {
		got := delta(after, c.name, c.labels...)
		if c.want < 0 && got <= 0 || c.want >= 0 && got != c.want {
			want := fmt.Sprint(c.want)
			if c.want < 0 {
				want = "an increase"
			}
			t.Errorf("%s%v moved by %v, want %s", c.name, c.labels, got, want)
		}
	}

	// Present from the start, even without an event.
	for _, name := range []string{"parley_events_dropped_total", "parley_bus_notifications_lost_total", "parley_store_commit_retries_total",
		"parley_inbox_snoozes_ended_total", "parley_inbox_reassignments_total", "parley_realtime_devices",
		"parley_db_open_connections", "parley_db_in_use_connections", "parley_db_wait_count_total",
		"go_goroutines", "go_memstats_heap_alloc_bytes", "process_cpu_seconds_total", "process_resident_memory_bytes", "go_build_info",
		"promhttp_metric_handler_requests_total"} {
		after.value(t, name)
	}
	if got := after.value(t, "parley_db_max_open_connections", "pool", "write"); got != 1 {
		t.Errorf("write pool max open = %v, want 1 (one committer connection)", got)
	}

	// Routes are patterns, never paths: no id becomes a label.
	for _, route := range after.labelValues("parley_http_requests_total", "route") {
		if strings.Contains(route, conv) || strings.Contains(route, cust) || strings.Contains(route, "shop") {
			t.Errorf("route label %q holds a raw path", route)
		}
	}
}

// TestMetricsListen serves /metrics on its own listener, or nowhere, and
// keeps each server's counts on its own registry.
func TestMetricsListen(t *testing.T) {
	own := startServer(t, func(c *Config) { c.MetricsListen = "127.0.0.1:0" })
	off := startServer(t, func(c *Config) { c.MetricsListen = "off" })
	if own.MetricsAddr() == "" || off.MetricsAddr() != "" {
		t.Fatalf("metrics addresses %q and %q", own.MetricsAddr(), off.MetricsAddr())
	}
	own.register("ann", "person")
	s := scrapeURL(t, "http://"+own.MetricsAddr()+"/metrics")
	if got := s.value(t, "parley_http_requests_total", "route", "POST /api/v1/accounts"); got != 1 {
		t.Errorf("own listener: %v registrations counted, want 1", got)
	}
	// The other server counts on a registry of its own.
	fams, err := off.Metrics.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == "parley_http_requests_total" && len(f.GetMetric()) > 0 {
			t.Errorf("the other server counted requests: %v", f)
		}
	}
	for _, ts := range []*testServer{own, off} {
		resp, err := http.Get(ts.URL() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
			t.Errorf("the main listener serves /metrics although MetricsListen is %q", ts.cfg.MetricsListen)
		}
	}

	cfg := Defaults()
	cfg.Listen, cfg.DataDir, cfg.MetricsListen = "127.0.0.1:0", t.TempDir(), "9090"
	if _, err := Open(cfg, nil); err == nil || !strings.Contains(err.Error(), "PARLEY_METRICS_LISTEN") {
		t.Errorf("a bad PARLEY_METRICS_LISTEN gave %v", err)
	}
}

// TestDebugListen: the profiler is served on its own listener only, with
// the mutex and block profiles sampled.
func TestDebugListen(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.DebugListen = "127.0.0.1:0" })
	if ts.DebugAddr() == "" {
		t.Fatal("no profiler address")
	}
	get := func(u string) (int, string) {
		t.Helper()
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for p, head := range map[string]string{"mutex": "--- mutex:", "block": "--- contention:"} {
		code, body := get("http://" + ts.DebugAddr() + "/debug/pprof/" + p + "?debug=1")
		if code != http.StatusOK || !strings.HasPrefix(body, head) {
			t.Errorf("%s profile: %d %.200q", p, code, body)
		}
	}
	if code, body := get("http://" + ts.DebugAddr() + "/debug/pprof/mutex?debug=1"); !strings.Contains(body, "sampling period=100") {
		t.Errorf("mutex profile not sampled: %d %.200q", code, body)
	}
	if _, body := get("http://" + ts.DebugAddr() + "/debug/pprof/"); !strings.Contains(body, "goroutine") {
		t.Errorf("no profiler index: %.200q", body)
	}
	if _, body := get(ts.URL() + "/debug/pprof/"); strings.Contains(body, "goroutine") {
		t.Error("the main listener serves the profiler")
	}
}
