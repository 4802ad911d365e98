//go:build unix

package server

import (
	"syscall"
	"testing"
)

// raiseFileLimit lifts the soft limit on open files to the hard one for
// the test (each member holds two descriptors: its socket and the
// server's) and returns the limit now in force.
func raiseFileLimit(tb testing.TB) int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 1024
	}
	if lim.Cur < lim.Max {
		old := lim.Cur
		lim.Cur = lim.Max
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim) != nil {
			lim.Cur = old
		} else {
			tb.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: old, Max: lim.Max}) })
		}
	}
	return int(min(uint64(lim.Cur), 1<<30))
}
