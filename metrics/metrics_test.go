package metrics

import (
	"database/sql"
	"errors"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// gather returns the registry's families by name.
func gather(t *testing.T, m *Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}

// counter returns the value of the series of name with label=value (or
// the only series when label is empty).
func counter(t *testing.T, fams map[string]*dto.MetricFamily, name, label, value string) float64 {
	t.Helper()
	for _, m := range fams[name].GetMetric() {
		for _, lp := range m.GetLabel() {
			if label == "" || lp.GetName() == label && lp.GetValue() == value {
				return m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
		if label == "" {
			return m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no series %s{%s=%q}", name, label, value)
	return 0
}

func TestCommitted(t *testing.T) {
	m := New()
	m.Committed(Batch{Updates: 10, Failed: 2, Retried: true, Duration: 3 * time.Millisecond, Commit: time.Millisecond, CacheDropped: 5, Lock: 2 * time.Millisecond})
	m.Committed(Batch{Updates: 4, Failed: 4, Duration: time.Millisecond, FailedAt: "commit", CacheReset: true, CacheDropped: 2})
	f := gather(t, m)
	for _, c := range []struct {
		name, label, value string
		want               float64
	}{
		{"parley_store_commits_total", "", "", 1},
		{"parley_store_commit_retries_total", "", "", 1},
		{"parley_store_updates_total", "result", "committed", 8},
		{"parley_store_updates_total", "result", "failed", 6},
		{"parley_store_commit_errors_total", "stage", "commit", 1},
		{"parley_store_commit_errors_total", "stage", "begin", 0},
		{"parley_store_cache_resets_total", "", "", 1},
		{"parley_store_cache_keys_dropped_total", "", "", 7},
	} {
		if got := counter(t, f, c.name, c.label, c.value); got != c.want {
			t.Errorf("%s{%s=%q} = %v, want %v", c.name, c.label, c.value, got, c.want)
		}
	}
	if h := f["parley_store_commit_batch_size"].GetMetric()[0].GetHistogram(); h.GetSampleCount() != 2 || h.GetSampleSum() != 14 {
		t.Errorf("batch size histogram: %d samples, sum %v", h.GetSampleCount(), h.GetSampleSum())
	}
	// Only the store with a positions lock reports its wait.
	if h := f["parley_store_lock_wait_seconds"].GetMetric()[0].GetHistogram(); h.GetSampleCount() != 1 || h.GetSampleSum() != 0.002 {
		t.Errorf("lock wait histogram: %d samples, sum %v", h.GetSampleCount(), h.GetSampleSum())
	}
	// A batch that committed nothing has no COMMIT time to report.
	if n := f["parley_store_commit_duration_seconds"].GetMetric()[0].GetHistogram().GetSampleCount(); n != 1 {
		t.Errorf("commit latency samples = %d, want 1", n)
	}
}

func TestObserversAndPools(t *testing.T) {
	m := New()
	m.WatchPools(func() map[string]sql.DBStats {
		return map[string]sql.DBStats{"write": {MaxOpenConnections: 1, OpenConnections: 1, WaitCount: 3, WaitDuration: 2 * time.Second}}
	})
	m.WatchDevices(func() int { return 7 })
	m.Request("", 405, time.Millisecond)
	m.StreamOpened()
	m.StreamOpened()
	m.StreamClosed(0)
	m.StreamClosed(4008)
	m.InboxTick(2, 3, nil)
	m.InboxTick(0, 0, errors.New("boom"))
	m.MessageSent("refused", time.Millisecond)
	f := gather(t, m)
	for _, c := range []struct {
		name, label, value string
		want               float64
	}{
		{"parley_db_max_open_connections", "pool", "write", 1},
		{"parley_db_wait_count_total", "pool", "write", 3},
		{"parley_db_wait_duration_seconds_total", "pool", "write", 2},
		{"parley_realtime_devices", "", "", 7},
		{"parley_http_requests_total", "route", "unmatched", 1},
		{"parley_websocket_connections", "", "", 0},
		{"parley_websocket_closed_total", "code", "client", 1},
		{"parley_websocket_closed_total", "code", "4008", 1},
		{"parley_inbox_timer_runs_total", "result", "ok", 1},
		{"parley_inbox_timer_runs_total", "result", "error", 1},
		{"parley_inbox_snoozes_ended_total", "", "", 2},
		{"parley_inbox_reassignments_total", "", "", 3},
		{"parley_messages_sent_total", "result", "refused", 1},
	} {
		if got := counter(t, f, c.name, c.label, c.value); got != c.want {
			t.Errorf("%s{%s=%q} = %v, want %v", c.name, c.label, c.value, got, c.want)
		}
	}
	// Refused sends are counted, not timed: the histogram is the time to
	// create a message.
	if n := f["parley_message_send_duration_seconds"].GetMetric()[0].GetHistogram().GetSampleCount(); n != 0 {
		t.Errorf("send duration samples = %d, want 0", n)
	}
}
