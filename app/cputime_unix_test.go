//go:build unix

package app_test

import (
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's CPU time so far (user + system), every
// goroutine included: the store's committer, the send path, the guard.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
