package realtime

import "slices"

// The indexes of coverage (coverage.go): sorted sets of positions, the
// runs of recorded positions, and the audiences read before their change
// waiting for base to pass them.

// posList is a sorted set of positions.
type posList []int64

// highestIn returns the highest position of l in (lo, hi], or lo.
func (l posList) highestIn(lo, hi int64) int64 {
	i, _ := slices.BinarySearch(l, hi+1)
	if i > 0 && l[i-1] > lo {
		return l[i-1]
	}
	return lo
}

// add inserts p; positions come mostly in order, so mostly an append.
func (l *posList) add(p int64) {
	if n := len(*l); n == 0 || (*l)[n-1] < p {
		*l = append(*l, p)
		return
	}
	if i, found := slices.BinarySearch(*l, p); !found {
		*l = slices.Insert(*l, i, p)
	}
}

// remove deletes p if present.
func (l *posList) remove(p int64) {
	if i, found := slices.BinarySearch(*l, p); found {
		*l = slices.Delete(*l, i, i+1)
	}
}

// dropBelow deletes the positions below floor.
func (l *posList) dropBelow(floor int64) {
	if i, _ := slices.BinarySearch(*l, floor); i > 0 {
		*l = slices.Delete(*l, 0, i)
	}
}

// run is a maximal stretch [lo, hi] of recorded positions.
type run struct{ lo, hi int64 }

// runs is the recorded positions as sorted, disjoint, non-adjacent runs,
// so that the highest position not recorded below a point is one lookup.
type runs []run

// find returns the index of the last run starting at or below p, or -1.
func (rs runs) find(p int64) int {
	i, _ := slices.BinarySearchFunc(rs, p+1, func(r run, t int64) int {
		switch {
		case r.lo < t:
			return -1
		case r.lo > t:
			return 1
		}
		return 0
	})
	return i - 1
}

// add notes p as recorded.
func (rs *runs) add(p int64) {
	s := *rs
	if n := len(s); n > 0 && s[n-1].hi+1 == p { // the usual case
		s[n-1].hi = p
		return
	}
	i := s.find(p)
	if i >= 0 && s[i].hi >= p {
		return // already recorded
	}
	joinsPrev := i >= 0 && s[i].hi+1 == p
	joinsNext := i+1 < len(s) && s[i+1].lo == p+1
	switch {
	case joinsPrev && joinsNext:
		s[i].hi = s[i+1].hi
		*rs = slices.Delete(s, i+1, i+2)
	case joinsPrev:
		s[i].hi = p
	case joinsNext:
		s[i+1].lo = p
	default:
		*rs = slices.Insert(s, i+1, run{p, p})
	}
}

// highestGap returns the highest position in (lo, hi] not recorded, or lo.
func (rs runs) highestGap(lo, hi int64) int64 {
	g := hi
	if i := rs.find(hi); i >= 0 && rs[i].hi >= hi {
		g = rs[i].lo - 1 // runs are maximal: lo-1 is not recorded
	}
	return max(g, lo)
}

// dropBelow forgets the positions below floor.
func (rs *runs) dropBelow(floor int64) {
	s := *rs
	i := 0
	for i < len(s) && s[i].hi < floor {
		i++
	}
	s = slices.Delete(s, 0, i)
	if len(s) > 0 && s[0].lo < floor {
		s[0].lo = floor
	}
	*rs = s
}

// readBefore is a recorded change whose audience was read at at, below
// its position pos less one.
type readBefore struct{ at, pos int64 }

// byRead is a min-heap of readBefore by at (no boxing, unlike
// container/heap: one push per recorded change).
type byRead []readBefore

func (h *byRead) push(x readBefore) {
	s := append(*h, x)
	for i := len(s) - 1; i > 0; {
		parent := (i - 1) / 2
		if s[parent].at <= s[i].at {
			break
		}
		s[parent], s[i] = s[i], s[parent]
		i = parent
	}
	*h = s
}

func (h *byRead) pop() readBefore {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s = s[:n]
	for i := 0; ; {
		least, l, r := i, 2*i+1, 2*i+2
		if l < n && s[l].at < s[least].at {
			least = l
		}
		if r < n && s[r].at < s[least].at {
			least = r
		}
		if least == i {
			break
		}
		s[least], s[i] = s[i], s[least]
		i = least
	}
	*h = s
	return top
}
