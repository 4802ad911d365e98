package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	msqlite "modernc.org/sqlite"

	"github.com/parleyhq/parley"
)

// openCheckpointTest opens a store whose log is restarted past limit
// bytes and checkpointed every 5 ms, with a scratch table to write.
func openCheckpointTest(t *testing.T, limit int64) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ckpt.db")
	db, err := Open(path, Options{walLimit: limit, checkpointEvery: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.write.Exec(`CREATE TABLE scratch (id INTEGER PRIMARY KEY, body TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	return db, path
}

// writeScratch commits one update that writes a row of about 3 KiB (a
// page or more of log per commit).
func writeScratch(ctx context.Context, db *DB) error {
	return db.Update(ctx, func(ptx parley.Tx) error {
		_, err := ptx.(*tx).exec(`INSERT INTO scratch (body) VALUES (?)`, strings.Repeat("x", 3000))
		return err
	})
}

func walSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path + "-wal")
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// Under a steady stream of commits with readers beside them, SQLite never
// starts the log over by itself; the committer must, once the log is
// past its limit (without it this test sees no restart at all).
func TestLogStartsOverUnderSteadyWrites(t *testing.T) {
	const limit = 256 << 10
	db, path := openCheckpointTest(t, limit)
	ctx := context.Background()

	stop := make(chan struct{})
	var readers sync.WaitGroup
	var reads atomic.Int64
	for range 2 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				_ = db.View(ctx, func(ptx parley.Tx) error {
					var n int
					reads.Add(1)
					return ptx.(*tx).queryRow(`SELECT COUNT(*) FROM scratch`).Scan(&n)
				})
			}
		}()
	}
	// 600 commits of a page or more each: over 2.4 MiB of log, 9 times
	// the limit, if it never started over.
	var maxWal int64
	for i := range 600 {
		if err := writeScratch(ctx, db); err != nil {
			t.Fatal(err)
		}
		if i%50 == 0 {
			maxWal = max(maxWal, walSize(t, path))
		}
	}
	close(stop)
	readers.Wait()
	maxWal = max(maxWal, walSize(t, path))
	if db.restarts.Load() == 0 {
		t.Fatalf("the log never started over (%d reads beside the writes); log file %d bytes", reads.Load(), maxWal)
	}
	// How far past the limit the file gets depends on how the committer,
	// the readers and the checkpoint ticks interleave (on a loaded
	// machine, a few times the limit): it is reported, not asserted.
	t.Logf("%d restarts; log file at most %d bytes (limit %d)", db.restarts.Load(), maxWal, limit)
	var n int
	if err := db.read.QueryRow(`SELECT COUNT(*) FROM scratch`).Scan(&n); err != nil || n != 600 {
		t.Fatalf("%d rows, %v; want 600", n, err)
	}
}

// A reader that keeps a snapshot open (an export, a long search) keeps
// the log from starting over, but must not hold up sends: the committer
// waits for it only briefly, gives up, and writes on.
func TestLongReaderDoesNotHoldUpWrites(t *testing.T) {
	const limit = 64 << 10
	db, _ := openCheckpointTest(t, limit)
	ctx := context.Background()
	if err := writeScratch(ctx, db); err != nil {
		t.Fatal(err)
	}

	inRead := make(chan struct{})
	release := make(chan struct{})
	readDone := make(chan error, 1)
	go func() {
		readDone <- db.View(ctx, func(ptx parley.Tx) error {
			var n int
			if err := ptx.(*tx).queryRow(`SELECT COUNT(*) FROM scratch`).Scan(&n); err != nil {
				return err
			}
			close(inRead)
			<-release
			return nil
		})
	}()
	<-inRead

	// Far past the limit while the snapshot is held: the committer is
	// asked to restart the log again and again and cannot.
	written := make(chan error, 1)
	go func() {
		for range 100 {
			if err := writeScratch(ctx, db); err != nil {
				written <- err
				return
			}
		}
		written <- nil
	}()
	select {
	case err := <-written:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("writes did not finish while a reader held its snapshot")
	}
	close(release)
	if err := <-readDone; err != nil {
		t.Fatal(err)
	}
}

// Unsending content (purged) makes the next checkpoint empty the log, so
// that no copy of the content stays in it.
func TestPurgeEmptiesTheLog(t *testing.T) {
	db, path := openCheckpointTest(t, 64<<20)
	ctx := context.Background()
	for range 20 {
		if err := writeScratch(ctx, db); err != nil {
			t.Fatal(err)
		}
	}
	if walSize(t, path) == 0 {
		t.Fatal("no log written")
	}
	db.purged.Store(true)
	deadline := time.Now().Add(30 * time.Second)
	for walSize(t, path) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("log still %d bytes after the purge's checkpoint", walSize(t, path))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if db.purged.Load() {
		t.Fatal("purge still pending with the log emptied")
	}
}

// On Linux the store commits with fdatasync(2), as native SQLite does
// (useFdatasync).
func TestCommitsWithFdatasync(t *testing.T) {
	openCheckpointTest(t, 64<<20)
	if runtime.GOOS == "linux" && !msqlite.FdatasyncEnabled() {
		t.Fatal("SQLite still commits with fsync")
	}
}
