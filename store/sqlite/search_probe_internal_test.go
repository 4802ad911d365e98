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

// TestScanPays: a scan is chosen when the matches the probe's first part
// saw, spread over the searcher's span of conversation numbers, come to
// at most searchScanPerVisit (500) per range (TestSearchScan checks the
// results).
func TestScanPays(t *testing.T) {
	ranges := make([]searchRange, 500) // conversations 1000, 1400, …, 200,600
	for i := range ranges {
		ranges[i].num = 1000 + int64(i)*400
	}
	for _, c := range []struct {
		last int64
		want bool
	}{
		{900, false},   // no range of the searcher reached: too common to tell
		{1000, false},  // 1024 in one conversation: ~200 million in the span
		{1816, false},  // ~250,300 in the span, over 500*500
		{1818, true},   // ~249,700
		{199600, true}, // the whole span in ~1,000
	} {
		if got := scanPays(ranges, c.last, 1024); got != c.want {
			t.Errorf("last %d: scanPays = %v, want %v", c.last, got, c.want)
		}
	}
	// TestSearchScan's conversations: the searcher's 30 around b0 (10).
	scan := make([]searchRange, 30)
	for i := range scan {
		scan[i].num = int64(i) + 1
		if i >= 10 {
			scan[i].num++
		}
	}
	if !scanPays(scan, 11, 1024) {
		t.Error("TestSearchScan's corpus does not scan")
	}
}
