//go:build !unix

package main

import "log/slog"

// logFileLimit has nothing to say where there is no open file limit.
func logFileLimit(*slog.Logger) {}
