package main

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/tcpproxy"
)

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// TestLoadResumesCutStreams: when every connection is cut twice during
// the run, each device reconnects with since = the last position it
// handled and gets what was committed meanwhile, so no delivery counts
// as lost or duplicated; sends whose stream died before their answer
// count as failed (stream_closed), not lost.
func TestLoadResumesCutStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the load generator for two seconds")
	}
	s := startLoadServer(t)
	p := tcpproxy.Start(t, strings.TrimPrefix(s.URL(), "http://"), nil)
	// The progress line of each measured second cuts every connection:
	// twice during the run, once sends flow.
	var mu sync.Mutex
	var cuts []int
	progress := writerFunc(func(b []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		if strings.Contains(string(b), "measuring") && len(cuts) < 2 {
			cuts = append(cuts, p.Cut())
		}
		return len(b), nil
	})
	cfg := loadConfig{Target: "http://" + p.Addr(), Users: 10, Devices: 2, Shape: "pairs",
		Rate: 200, Duration: 2500 * time.Millisecond, Warmup: 200 * time.Millisecond, Via: "ws",
		Size: 100, Drain: 5 * time.Second, Workers: 4, Progress: progress}
	ctx := context.Background()
	res, err := runLoad(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", *res)
	if res.Lost != 0 || res.Duplicated != 0 || res.Misdelivered != 0 {
		t.Errorf("lost %d, duplicated %d, misdelivered %d", res.Lost, res.Duplicated, res.Misdelivered)
	}
	if res.Expected == 0 || res.Received != res.Expected {
		t.Errorf("received %d of %d expected deliveries", res.Received, res.Expected)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(cuts) != 2 || res.StreamsResumed < 2*int64(cfg.Users*cfg.Devices) || res.StreamsClosedEarly != 0 {
		t.Errorf("%d streams resumed, %d closed for good, after cuts of %v connections", res.StreamsResumed, res.StreamsClosedEarly, cuts)
	}
	if res.Acked == 0 {
		t.Error("nothing acknowledged")
	}
}
