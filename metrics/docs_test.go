package metrics

import (
	"database/sql"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestDocsNameEveryMetric checks the operator's documents against the metrics: every
// metric of Parley's is explained in docs/operations.md, and every
// parley_ name used by the docs, the Grafana dashboard or the alert rules
// exists, so that they cannot drift apart.
func TestDocsNameEveryMetric(t *testing.T) {
	m := New()
	m.WatchPools(func() map[string]sql.DBStats { return nil })
	m.WatchDevices(func() int { return 0 })
	known := map[string]bool{}
	for _, n := range m.names {
		known[n] = true
	}
	if len(known) < 30 {
		t.Fatalf("only %d metric names recorded; the test is broken", len(known))
	}
	ops, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	for n := range known {
		if !strings.Contains(string(ops), "`"+n+"`") {
			t.Errorf("docs/operations.md does not explain %s", n)
		}
	}
	name := regexp.MustCompile(`parley_[a-z0-9_]+`)
	for _, doc := range []string{"../docs/operations.md", "../docs/grafana/parley-dashboard.json", "../docs/grafana/alerts.yml"} {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		used := 0
		for _, n := range name.FindAllString(string(b), -1) {
			base := n
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if s, ok := strings.CutSuffix(n, suffix); ok && known[s] {
					base = s
				}
			}
			if !known[base] {
				t.Errorf("%s uses %s, which does not exist", doc, n)
			}
			used++
		}
		if used == 0 {
			t.Errorf("%s names no metric", doc)
		}
	}
}
