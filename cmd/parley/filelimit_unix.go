//go:build unix

package main

import (
	"context"
	"log/slog"
	"syscall"
)

// logFileLimit says how many connections the open file limit allows (the
// Go runtime has already raised the soft limit to the hard one): each
// WebSocket stream holds one descriptor.
func logFileLimit(log *slog.Logger) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return
	}
	level := slog.LevelInfo
	if lim.Cur < 65536 {
		level = slog.LevelWarn
	}
	log.Log(context.Background(), level, "open file limit: each connection holds one descriptor; raise the hard limit (LimitNOFILE, ulimit -Hn) for more (docs/operations.md)", "limit", lim.Cur)
}
