//go:build !unix

package main

import (
	"context"
	"fmt"
	"os"
	"time"
)

// lockDataDir only creates the data directory where flock is missing: run
// the admin commands there only while the server is stopped.
func lockDataDir(ctx context.Context, dir string, wait time.Duration) (release func(), err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	return func() {}, nil
}
