package sqlite

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// BenchmarkDiskFdatasync measures the floor the disk under the data
// directory sets for commit latency, without SQLite: what one group
// commit of the embedded store costs the disk at 1,000 msg/s, an append
// of 12 log frames (a single send's commit, BENCHMARKS.md) and
// fdatasync(2), paced at PARLEY_BENCH_SYNCS per second (default 600, the
// commits per second seen at 1,000 msg/s), with the checkpoint's writes
// beside it or not: every 250 ms, PARLEY_BENCH_CKPT_KIB (default 2,048)
// KiB of random 4 KiB pages written to another file and fsync(2)ed, as
// the background checkpoint copies the log into the database. A send is
// acknowledged after its commit's sync, so the sync's tail is the least
// any commit's tail can be on this disk.
//
//	go test ./store/sqlite -run '^$' -bench DiskFdatasync -benchtime 6000x
//
// Reported per sync: p50, p90, p99, p99.9 and max in ms, and how many
// took over 5 and 10 ms. Set TMPDIR to measure another disk.
func BenchmarkDiskFdatasync(b *testing.B) {
	rate := 600
	if v, err := strconv.Atoi(os.Getenv("PARLEY_BENCH_SYNCS")); err == nil && v > 0 {
		rate = v
	}
	ckptKiB := 2048
	if v, err := strconv.Atoi(os.Getenv("PARLEY_BENCH_CKPT_KIB")); err == nil && v >= 0 {
		ckptKiB = v
	}
	for _, ckpt := range []bool{false, true} {
		name := "alone"
		if ckpt {
			name = "with-checkpoint"
		}
		b.Run(name, func(b *testing.B) {
			const fileSize = 64 << 20
			dir := b.TempDir()
			open := func(name string) *os.File {
				f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_RDWR, 0o600)
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { f.Close() })
				// Written out once, so that the syncs measured change
				// no file's size (as the log reused after a restart).
				if _, err := f.WriteAt(make([]byte, fileSize), 0); err != nil {
					b.Fatal(err)
				}
				if err := f.Sync(); err != nil {
					b.Fatal(err)
				}
				return f
			}
			wal, db := open("log"), open("db")
			stop := make(chan struct{})
			var wg sync.WaitGroup
			if ckpt && ckptKiB > 0 {
				wg.Go(func() {
					t := time.NewTicker(250 * time.Millisecond)
					defer t.Stop()
					page := make([]byte, 4096)
					for {
						select {
						case <-stop:
							return
						case <-t.C:
						}
						for range ckptKiB / 4 {
							db.WriteAt(page, int64(rand.IntN(fileSize/4096))*4096)
						}
						db.Sync()
					}
				})
			}
			frames := make([]byte, 12*(4096+24))
			lat := make([]time.Duration, 0, b.N)
			interval := time.Second / time.Duration(rate)
			var off int64
			b.ResetTimer()
			start := time.Now()
			for n := range b.N {
				if d := time.Until(start.Add(time.Duration(n) * interval)); d > 0 {
					time.Sleep(d)
				}
				t0 := time.Now()
				if _, err := wal.WriteAt(frames, off); err != nil {
					b.Fatal(err)
				}
				if err := fdatasync(wal); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
				if off += int64(len(frames)); off+int64(len(frames)) > fileSize {
					off = 0
				}
			}
			b.StopTimer()
			close(stop)
			wg.Wait()
			slices.Sort(lat)
			ms := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))]) / 1e6 }
			over := func(d time.Duration) float64 {
				i, _ := slices.BinarySearch(lat, d+1)
				return float64(len(lat) - i)
			}
			b.ReportMetric(ms(0.5), "p50-ms")
			b.ReportMetric(ms(0.9), "p90-ms")
			b.ReportMetric(ms(0.99), "p99-ms")
			b.ReportMetric(ms(0.999), "p999-ms")
			b.ReportMetric(ms(1), "max-ms")
			b.ReportMetric(over(5*time.Millisecond), "over5ms")
			b.ReportMetric(over(10*time.Millisecond), "over10ms")
		})
	}
}
