package metrics

import (
	"database/sql"
	"sort"

	"github.com/prometheus/client_golang/prometheus"
)

// poolCollector reports database/sql pool statistics at scrape time, like
// client_golang's DBStatsCollector but for pools the store names itself
// (the store does not hand out its *sql.DB).
type poolCollector struct {
	stats func() map[string]sql.DBStats

	maxOpen, open, inUse, idle                                          *prometheus.Desc
	waitCount, waitDuration, idleClosed, idleTimeClosed, lifetimeClosed *prometheus.Desc
}

func newPoolCollector(stats func() map[string]sql.DBStats, names *[]string) *poolCollector {
	d := func(name, help string) *prometheus.Desc {
		*names = append(*names, "parley_db_"+name)
		return prometheus.NewDesc("parley_db_"+name, help, []string{"pool"}, nil)
	}
	return &poolCollector{
		stats:          stats,
		maxOpen:        d("max_open_connections", "Maximum number of open connections of the pool."),
		open:           d("open_connections", "Established connections, in use and idle."),
		inUse:          d("in_use_connections", "Connections in use."),
		idle:           d("idle_connections", "Idle connections."),
		waitCount:      d("wait_count_total", "Times a caller waited for a connection."),
		waitDuration:   d("wait_duration_seconds_total", "Total time callers waited for a connection."),
		idleClosed:     d("max_idle_closed_total", "Connections closed because of the idle limit."),
		idleTimeClosed: d("max_idle_time_closed_total", "Connections closed because of the idle time limit."),
		lifetimeClosed: d("max_lifetime_closed_total", "Connections closed because of the lifetime limit."),
	}
}

// Describe implements prometheus.Collector.
func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.maxOpen, c.open, c.inUse, c.idle, c.waitCount, c.waitDuration, c.idleClosed, c.idleTimeClosed, c.lifetimeClosed} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	all := c.stats()
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := all[n]
		g := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, n)
		}
		k := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, n)
		}
		g(c.maxOpen, float64(s.MaxOpenConnections))
		g(c.open, float64(s.OpenConnections))
		g(c.inUse, float64(s.InUse))
		g(c.idle, float64(s.Idle))
		k(c.waitCount, float64(s.WaitCount))
		k(c.waitDuration, s.WaitDuration.Seconds())
		k(c.idleClosed, float64(s.MaxIdleClosed))
		k(c.idleTimeClosed, float64(s.MaxIdleTimeClosed))
		k(c.lifetimeClosed, float64(s.MaxLifetimeClosed))
	}
}
