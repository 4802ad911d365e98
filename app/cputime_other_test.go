//go:build !unix

package app_test

import (
	"testing"
	"time"
)

// cpuTime is not measured here: the benchmarks' CPU metrics read 0.
func cpuTime(testing.TB) time.Duration { return 0 }
