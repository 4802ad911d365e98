//go:build unix

package loadkit

import (
	"fmt"
	"syscall"
)

// RaiseFileLimit lifts the soft limit on open files to at least want, if
// the hard limit allows; child processes inherit it. hint tells the user
// what to lower when it does not.
func RaiseFileLimit(want uint64, hint string) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if uint64(lim.Cur) >= want {
		return nil
	}
	if uint64(lim.Max) < want {
		return fmt.Errorf("open file limit %d (hard) is below the %d needed; %s", lim.Max, want, hint)
	}
	lim.Cur = lim.Max
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
}
