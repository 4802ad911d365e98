package sqlite

import "testing"

// TestProbeMore: the rest of a probe is read only when, at the density
// its first part showed, it would reach past an eighth of the searcher's
// ranges (TestSearchProbeFirstPart checks the results either way; this
// checks the decision).
func TestProbeMore(t *testing.T) {
	ranges := make([]searchRange, 500) // conversations 0, 400, …, 199,600
	for i := range ranges {
		ranges[i].num = int64(i) * 400
	}
	const first, probe = 1024, 8000 // the rest reads 7.8 times as far
	for _, c := range []struct {
		last int64
		want bool
	}{
		{100, false},   // a common word: the rest would judge 2 ranges
		{3100, false},  // 61 ranges, under an eighth
		{3199, true},   // 63 ranges, an eighth
		{20000, true},  // most of them
		{199600, true}, // the first part already reached the end
	} {
		if got := probeMore(ranges, c.last, first, probe); got != c.want {
			t.Errorf("last %d: probeMore = %v, want %v", c.last, got, c.want)
		}
	}
}
