package server

import (
	"testing"

	"github.com/parleyhq/parley/internal/loadkit"
)

// raiseFileLimit lifts the soft limit on open files to the hard one for
// the test (each member holds two descriptors: its socket and the
// server's) and returns the limit now in force.
func raiseFileLimit(tb testing.TB) int {
	soft, hard, err := loadkit.FileLimit()
	if err != nil {
		return 1024
	}
	if soft < hard && loadkit.SetFileLimit(hard) == nil {
		tb.Cleanup(func() { loadkit.SetFileLimit(soft) })
		// What is in force (macOS caps an unlimited hard limit).
		if now, _, err := loadkit.FileLimit(); err == nil {
			soft = now
		}
	}
	return int(min(soft, 1<<30))
}
