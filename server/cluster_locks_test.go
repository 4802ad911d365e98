package server

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/internal/mediatest"
)

// TestMediaCollectOneNodeAtATime: while another holder (another node, on
// PostgreSQL) holds the collection lock, CollectMedia does nothing; after
// it is released, the collection runs.
func TestMediaCollectOneNodeAtATime(t *testing.T) {
	// The server's background loops read the clock too: the skew is
	// atomic (a plain variable was a data race under -race).
	start := time.Now()
	var skew atomic.Int64
	ts := startServer(t, func(c *Config) { c.Clock = func() time.Time { return start.Add(time.Duration(skew.Load())) } })
	alice := ts.register("alice", "person")
	must(t, alice.upload("image", "a.png", mediatest.PNG(40, 40)), http.StatusCreated)
	skew.Store(int64(25 * time.Hour)) // the upload was never sent: collectable

	l, ok := ts.Store.(parley.Locker)
	if !ok {
		t.Fatalf("%T is not a parley.Locker", ts.Store)
	}
	unlock, ok, err := l.TryLock(t.Context(), app.MediaCollectLock)
	if err != nil || !ok {
		t.Fatalf("take the collection lock: %v %v", ok, err)
	}
	if rows, blobs, err := ts.App.CollectMedia(t.Context()); err != nil || rows+blobs != 0 {
		t.Fatalf("collect while another node collects: %d rows, %d blobs, %v", rows, blobs, err)
	}
	unlock()
	if rows, _, err := ts.App.CollectMedia(t.Context()); err != nil || rows != 1 {
		t.Fatalf("collect after the release: %d rows, %v", rows, err)
	}
}

// TestUploadWaitsForBlobLock: an upload holds its blob's lock from the
// write to the row, so a collection elsewhere that is deleting the same
// blob (holding the lock) finishes first and the upload writes the blob
// again after it: the new media's blob is on disk.
func TestUploadWaitsForBlobLock(t *testing.T) {
	ts := startServer(t)
	alice := ts.register("alice", "person")
	png := mediatest.PNG(60, 60)
	first := must(t, alice.upload("image", "a.png", png), http.StatusCreated).JSON()["id"].(string)
	sum := sha256.Sum256(png)
	key := hex.EncodeToString(sum[:])
	path := filepath.Join(ts.cfg.DataDir, "media", key[:2], key[2:4], key)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the blob is not where the test looks: %v", err)
	}

	// "Another node" collects the blob: it holds the key's lock, deletes
	// the file, and releases.
	l := ts.Store.(parley.Locker)
	unlock, err := l.Lock(t.Context(), "blob:"+key)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan string, 1)
	go func() {
		r := alice.upload("image", "b.png", png)
		if r.Status != http.StatusCreated {
			done <- ""
			return
		}
		done <- r.JSON()["id"].(string)
	}()
	time.Sleep(100 * time.Millisecond) // let the upload reach the lock (it must wait there)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	unlock()
	second := <-done
	if second == "" {
		t.Fatal("the second upload failed")
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the upload's blob is gone: the upload did not wait for the lock (%v)", err)
	}
	must(t, alice.download("/api/v1/media/"+second), http.StatusOK)
	must(t, alice.download("/api/v1/media/"+first), http.StatusOK) // the same blob
}
