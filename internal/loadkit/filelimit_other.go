//go:build !unix

package loadkit

// noFileLimit stands for the absent limit where there is no open file
// limit of the Unix kind (Windows: handles are limited by memory).
const noFileLimit = 1 << 30

// FileLimit reports no limit.
func FileLimit() (soft, hard uint64, err error) { return noFileLimit, noFileLimit, nil }

// SetFileLimit has nothing to set.
func SetFileLimit(soft uint64) error { return nil }

// RaiseFileLimit has nothing to raise.
func RaiseFileLimit(want uint64, hint string) error { return nil }
