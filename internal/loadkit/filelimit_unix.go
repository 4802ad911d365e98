//go:build unix

package loadkit

import (
	"fmt"
	"syscall"
)

// FileLimit returns the soft and hard limits on open files.
func FileLimit() (soft, hard uint64, err error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, 0, err
	}
	return uint64(lim.Cur), uint64(lim.Max), nil
}

// SetFileLimit sets the soft limit on open files (at most the hard one);
// child processes inherit it.
func SetFileLimit(soft uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	setLimit(&lim.Cur, min(soft, uint64(lim.Max)))
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
}

// setLimit sets a field of syscall.Rlimit, uint64 on Linux and int64 on
// some BSDs.
func setLimit[T int64 | uint64](field *T, v uint64) { *field = T(v) }

// RaiseFileLimit lifts the soft limit on open files to at least want, if
// the hard limit allows; child processes inherit it. hint tells the user
// what to lower when it does not.
func RaiseFileLimit(want uint64, hint string) error {
	soft, hard, err := FileLimit()
	if err != nil {
		return err
	}
	if soft >= want {
		return nil
	}
	if hard < want {
		return fmt.Errorf("open file limit %d (hard) is below the %d needed; %s", hard, want, hint)
	}
	if err := SetFileLimit(hard); err != nil {
		return err
	}
	// macOS takes an unlimited hard limit but caps the soft one at
	// kern.maxfilesperproc: what is in force is what counts.
	if soft, _, err = FileLimit(); err != nil {
		return err
	}
	if soft < want {
		return fmt.Errorf("open file limit %d (in force) is below the %d needed; %s", soft, want, hint)
	}
	return nil
}
