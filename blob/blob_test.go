package blob_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/blob"
)

const key = "0123456789abcdef0123456789abcdef"

func TestDiskPutOpenDelete(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d, err := blob.OpenDisk(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Put(ctx, key, strings.NewReader("hello blob")); err != nil {
		t.Fatal(err)
	}
	f, err := d.Open(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(6, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(f)
	f.Close()
	if string(b) != "blob" || f.Size() != 10 {
		t.Fatalf("read %q size %d", b, f.Size())
	}
	var keys []string
	d.Keys(ctx, time.Now().Add(time.Minute), func(k string) error { keys = append(keys, k); return nil })
	if len(keys) != 1 || keys[0] != key {
		t.Fatalf("keys %v", keys)
	}
	keys = nil
	d.Keys(ctx, time.Now().Add(-time.Hour), func(k string) error { keys = append(keys, k); return nil })
	if len(keys) != 0 {
		t.Fatalf("a fresh blob listed as old: %v", keys)
	}
	if err := d.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if err := d.Delete(ctx, key); err != nil {
		t.Fatalf("deleting a missing blob: %v", err)
	}
	if _, err := d.Open(ctx, key); !errors.Is(err, parley.ErrBlobNotFound) {
		t.Fatalf("open after delete: %v", err)
	}
}

// TestDiskRefusesBadKeys: a key can never name a path outside the store.
func TestDiskRefusesBadKeys(t *testing.T) {
	d, _ := blob.OpenDisk(t.TempDir())
	for _, k := range []string{"../../etc/passwd", "", "ABCDEF0123456789ABCDEF", "short", strings.Repeat("a", 200)} {
		if err := d.Put(context.Background(), k, strings.NewReader("x")); err == nil {
			t.Errorf("key %q accepted", k)
		}
	}
}

// TestDiskFailedPutLeavesNothing: a Put whose reader fails leaves no blob
// under the key and no temporary file; temporaries left by a crash are
// removed at the next open.
func TestDiskFailedPutLeavesNothing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d, _ := blob.OpenDisk(dir)
	err := d.Put(ctx, key, io.MultiReader(strings.NewReader("half"), failing{}))
	if err == nil {
		t.Fatal("a failing reader was stored")
	}
	if _, err := d.Open(ctx, key); !errors.Is(err, parley.ErrBlobNotFound) {
		t.Fatalf("partial blob visible: %v", err)
	}
	if left, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
	// An hour-old temporary is a crash's; a younger one may be another
	// node's upload in progress (the directory may be shared).
	crashed, writing := filepath.Join(dir, "tmp", "put-crash"), filepath.Join(dir, "tmp", "put-other-node")
	os.WriteFile(crashed, []byte("x"), 0o600)
	os.WriteFile(writing, []byte("x"), 0o600)
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(crashed, old, old)
	if _, err := blob.OpenDisk(dir); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(left) != 1 || left[0].Name() != "put-other-node" {
		t.Fatalf("after reopening, tmp holds %v; want only the young file", left)
	}
}

type failing struct{}

func (failing) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }
