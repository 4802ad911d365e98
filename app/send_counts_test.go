package app_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/store/sqlite"
)

// commitCounts adds up what the SQLite committer reports of its batches
// (sqlite.Options.OnCommit) from start on, and what the process spent
// meanwhile: CPU time and write calls. Per send, these hold up on a
// loaded machine where sends/s does not.
type commitCounts struct {
	mu               sync.Mutex
	on               bool
	batches, updates int
	statements       int
	busy, commit     time.Duration
	cpu0             time.Duration
	io0              ioCounts
}

// openCountingStore opens the benchmark's store like openStore, counting
// the committer's batches when it is SQLite (counts is then non-nil).
func openCountingStore(b *testing.B) (parley.Store, *commitCounts) {
	if os.Getenv("PARLEY_TEST_STORE") == "postgres" || os.Getenv("PARLEY_TEST_ENCRYPTION") == "1" {
		return openStore(b), nil
	}
	c := &commitCounts{}
	path := filepath.Join(b.TempDir(), "parley.db")
	db, err := sqlite.Open(path, sqlite.Options{OnCommit: c.add})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db, c
}

func (c *commitCounts) add(i sqlite.CommitInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.on {
		return
	}
	c.batches++
	c.updates += i.Updates
	c.busy += i.Duration
	c.commit += i.Commit
	c.statements += i.Statements
}

// start begins counting.
func (c *commitCounts) start(b *testing.B) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.on = true
	c.cpu0 = cpuTime(b)
	c.io0 = processIO()
}

// report adds, per send: the process's CPU µs, its write calls and bytes,
// the committer's busy µs (BEGIN to the end of COMMIT) and COMMIT's alone;
// and the mean updates per batch.
func (c *commitCounts) report(b *testing.B) {
	if c == nil {
		return
	}
	cpu, io := cpuTime(b)-c.cpu0, processIO()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.on = false
	if c.updates == 0 {
		return
	}
	n := float64(c.updates)
	b.ReportMetric(float64(cpu.Microseconds())/n, "cpu-µs/send")
	b.ReportMetric(float64(c.busy.Microseconds())/n, "batch-µs/send")
	b.ReportMetric(float64(c.commit.Microseconds())/n, "commit-µs/send")
	b.ReportMetric(n/float64(c.batches), "sends/batch")
	b.ReportMetric(float64(c.statements)/n, "stmts/send")
	if io.syscw > 0 {
		b.ReportMetric(float64(io.syscw-c.io0.syscw)/n, "writes/send")
		b.ReportMetric(float64(io.wchar-c.io0.wchar)/n, "written-B/send")
	}
}
