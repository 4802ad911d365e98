//go:build !unix

package loadkit

// RaiseFileLimit has nothing to raise where there is no open file limit
// of the Unix kind (Windows: handles are limited by memory).
func RaiseFileLimit(want uint64, hint string) error { return nil }
