package main

import "testing"

func TestReclaimable(t *testing.T) {
	for _, c := range []struct{ free, objects, live, want uint64 }{
		{free: 1 << 20, objects: 100 << 20, live: 20 << 20, want: 81 << 20}, // garbage left by a burst
		{free: 40 << 20, objects: 20 << 20, live: 20 << 20, want: 40 << 20}, // collected, not returned
		{free: 0, objects: 10 << 20, live: 12 << 20, want: 0},               // live estimate above objects
	} {
		if got := reclaimable(c.free, c.objects, c.live); got != c.want {
			t.Errorf("reclaimable(%d, %d, %d) = %d, want %d", c.free, c.objects, c.live, got, c.want)
		}
	}
}

func TestGCPercentFor(t *testing.T) {
	for _, c := range []struct {
		live uint64
		want int
	}{
		{live: 0, want: 400},
		{live: 20 << 20, want: 400},  // small heap: the full target
		{live: 32 << 20, want: 400},  // 4 × 32 MiB is the headroom exactly
		{live: 64 << 20, want: 200},  // the headroom stays 128 MiB
		{live: 100 << 20, want: 128}, // 18,900 idle streams
		{live: 512 << 20, want: 100}, // never under Go's default
	} {
		if got := gcPercentFor(c.live, 400); got != c.want {
			t.Errorf("gcPercentFor(%d MiB) = %d, want %d", c.live>>20, got, c.want)
		}
	}
}
