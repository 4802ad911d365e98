package main

import (
	"context"
	"log/slog"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Returning memory when the server goes quiet.
//
// serve runs the collector at a 400 % target (setGC), so under load the
// heap grows to a few times what is live, and that memory stays with the
// process afterwards: the runtime returns only what lies beyond the
// target. A node holding many idle WebSocket streams then keeps, per
// stream, four times the garbage its handshake made. releaseWhenQuiet
// watches the allocation rate and, once the process has allocated little
// for a whole interval while holding much free heap, collects and returns
// the free memory to the operating system once (debug.FreeOSMemory): a
// full collection, paid only when the server has nothing else to do.
const (
	quietInterval = 10 * time.Second
	// quietRate is the allocation rate under which the server counts as
	// quiet (an idle node pinging 100,000 streams allocates far less).
	quietRate = 2 << 20 // bytes per second
	// quietFreeMin is the reclaimable heap (free, or garbage the collector
	// has not reached yet) below which nothing is worth returning.
	quietFreeMin = 32 << 20
)

func releaseWhenQuiet(ctx context.Context, log *slog.Logger) {
	samples := []metrics.Sample{
		{Name: "/gc/heap/allocs:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/gc/heap/live:bytes"},
	}
	metrics.Read(samples)
	last := samples[0].Value.Uint64()
	every(ctx, quietInterval, func() {
		metrics.Read(samples)
		allocs, free := samples[0].Value.Uint64(), samples[1].Value.Uint64()
		allocated := allocs - last
		last = allocs
		if reclaimable(free, samples[2].Value.Uint64(), samples[3].Value.Uint64()) < quietFreeMin ||
			allocated > uint64(quietRate*quietInterval.Seconds()) {
			return
		}
		start := time.Now()
		debug.FreeOSMemory()
		metrics.Read(samples)
		last = samples[0].Value.Uint64()
		log.Debug("quiet: returned free memory to the system", "free_bytes", free, "took", time.Since(start))
	})
}

// The collector's headroom. A 400 % target buys few cycles while the live
// heap is small, but it also lets a burst of allocation spread across five
// times the live heap: a node that accepts thousands of WebSocket streams
// interleaves each stream's long-lived objects with its handshake's
// garbage, and the spans those objects pin stay resident after the
// garbage is gone (measured: 10.3 KiB of RSS per idle stream at 400 %,
// 8.7 KiB at 100, with 18,900 streams; BENCHMARKS.md). tuneGC therefore
// keeps the headroom above the live heap at gcHeadroom once the maximum
// target would exceed it, never going under Go's default of 100 %: a
// large heap collects as rarely, in bytes allocated, as a small one.
const (
	gcHeadroom     = 128 << 20
	gcTuneInterval = time.Second
)

// gcPercentFor is the target for a live heap: most while most % of it is
// within gcHeadroom, then gcHeadroom as a share of the live heap, at
// least 100.
func gcPercentFor(live uint64, most int) int {
	if live == 0 || live*uint64(most) <= gcHeadroom*100 {
		return most
	}
	return int(min(uint64(most), max(100, gcHeadroom*100/live)))
}

// tuneGC follows the live heap after each collection and moves the
// target when it differs by more than a tenth from the one in force.
func tuneGC(ctx context.Context, most int) {
	samples := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/cycles/total:gc-cycles"}}
	cur, cycles := most, uint64(0)
	every(ctx, gcTuneInterval, func() {
		metrics.Read(samples)
		c := samples[1].Value.Uint64()
		if c == cycles {
			return // the live heap is only measured by a collection
		}
		cycles = c
		if p := gcPercentFor(samples[0].Value.Uint64(), most); p*10 < cur*9 || p*10 > cur*11 {
			debug.SetGCPercent(p)
			cur = p
		}
	})
}

// every runs fn every interval until ctx is done.
func every(ctx context.Context, interval time.Duration, fn func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

// reclaimable is what a full collection could give back: the free heap
// plus the garbage among the heap's objects (objects minus what the last
// collection found live). With the 400 % target the garbage is most of it:
// a burst of handshakes leaves it dead but uncollected, so free alone
// stays small and the memory was never returned.
func reclaimable(free, objects, live uint64) uint64 {
	if objects > live {
		return free + objects - live
	}
	return free
}
