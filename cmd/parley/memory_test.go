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
