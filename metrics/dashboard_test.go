package metrics

import (
	"database/sql"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

// knownMetrics returns every metric family a node serves: Parley's own
// (histograms with their _bucket, _sum and _count series), the pool
// statistics and the Go, process and promhttp collectors.
func knownMetrics(t *testing.T) map[string]bool {
	t.Helper()
	m := New()
	m.WatchPools(func() map[string]sql.DBStats { return map[string]sql.DBStats{"write": {}} })
	m.WatchDevices(func() int { return 0 })
	// One scrape through the handler registers promhttp's own counter.
	known := map[string]bool{"promhttp_metric_handler_requests_total": true, "promhttp_metric_handler_requests_in_flight": true}
	for _, n := range m.names {
		known[n] = true
	}
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		known[f.GetName()] = true
	}
	for n := range known {
		for _, s := range []string{"_bucket", "_sum", "_count"} {
			known[n+s] = true
		}
	}
	return known
}

// External series the alert examples use: Prometheus's own up and the
// blackbox exporter's probe for /readyz.
var external = map[string]bool{"up": true, "probe_success": true}

var (
	promString   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	promMatchers = regexp.MustCompile(`\{[^}]*\}|\[[^\]]*\]`)
	promGrouping = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promIdent    = regexp.MustCompile(`\b[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?`)
	promKeywords = map[string]bool{"and": true, "or": true, "unless": true, "offset": true, "bool": true, "by": true, "without": true}
)

// metricNames returns the metric names a PromQL expression selects:
// strings, label matchers, ranges and grouping labels removed, functions
// (a name followed by "(") and keywords left out.
func metricNames(expr string) []string {
	e := promString.ReplaceAllString(expr, `""`)
	e = promMatchers.ReplaceAllString(e, " ")
	e = promGrouping.ReplaceAllString(e, " ")
	var out []string
	for _, m := range promIdent.FindAllStringSubmatch(e, -1) {
		if m[1] != "" || promKeywords[m[0]] {
			continue
		}
		out = append(out, m[0])
	}
	return out
}

func TestMetricNames(t *testing.T) {
	for _, c := range []struct{ expr, want string }{
		{`sum by (le, route) (rate(parley_http_request_duration_seconds_bucket{route!~".*/(sync|stream)"}[5m]))`, "parley_http_request_duration_seconds_bucket"},
		{`up{job="parley"} == 0`, "up"},
		{`sum(a{x="y"}) == 0 and sum(b offset 1d) > 0`, "a b"},
		{`histogram_quantile(0.99, sum by (le) (rate(x_bucket[$__rate_interval])))`, "x_bucket"},
	} {
		if got := strings.Join(metricNames(c.expr), " "); got != c.want {
			t.Errorf("metricNames(%q) = %q, want %q", c.expr, got, c.want)
		}
	}
}

// TestDashboardAndAlerts parses the Grafana dashboard and the alert rules
// of docs/grafana and checks every query against the metrics a node
// really serves: each panel and rule queries something, and every metric
// it names exists.
func TestDashboardAndAlerts(t *testing.T) {
	known := knownMetrics(t)
	check := func(where, expr string) {
		t.Helper()
		names := metricNames(expr)
		if len(names) == 0 {
			t.Errorf("%s: %q names no metric", where, expr)
		}
		for _, n := range names {
			if !known[n] && !external[n] {
				t.Errorf("%s: %s does not exist (in %q)", where, n, expr)
			}
		}
	}

	b, err := os.ReadFile("../docs/grafana/parley-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	type panel struct {
		ID      int     `json:"id"`
		Type    string  `json:"type"`
		Title   string  `json:"title"`
		Panels  []panel `json:"panels"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	}
	var dash struct {
		Title  string  `json:"title"`
		Panels []panel `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	ids := map[int]bool{}
	queries := 0
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if ids[p.ID] {
				t.Errorf("panel id %d is used twice", p.ID)
			}
			ids[p.ID] = true
			walk(p.Panels)
			if p.Type == "row" {
				continue
			}
			if len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, tg := range p.Targets {
				check("panel "+p.Title, tg.Expr)
				queries++
			}
		}
	}
	walk(dash.Panels)
	if queries < 20 {
		t.Fatalf("only %d dashboard queries found; the test is broken", queries)
	}

	b, err = os.ReadFile("../docs/grafana/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &rules); err != nil {
		t.Fatalf("the alert rules are not YAML: %v", err)
	}
	alerts := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			alerts++
			if r.Alert == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("rule %q lacks a name, a severity, a summary or a description", r.Alert)
			}
			check("alert "+r.Alert, r.Expr)
		}
	}
	if alerts < 5 {
		t.Fatalf("only %d alert rules found; the test is broken", alerts)
	}
}
