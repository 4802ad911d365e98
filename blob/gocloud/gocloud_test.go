package gocloud_test

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
	"github.com/parleyhq/parley/blob/gocloud"
)

const key = "0123456789abcdef0123456789abcdef"

// TestStore runs the store on gocloud's fileblob driver: the code path of
// an S3 bucket but for the driver.
func TestStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	media, err := gocloud.Open(ctx, "fileblob://"+dir, "media/")
	if err != nil {
		t.Fatal(err)
	}
	defer media.Close()
	exports, err := gocloud.Open(ctx, "fileblob://"+dir, "exports/")
	if err != nil {
		t.Fatal(err)
	}
	defer exports.Close()

	if err := media.Put(ctx, key, strings.NewReader("hello blob")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "media", key)); err != nil {
		t.Fatalf("not under the prefix: %v", err)
	}
	f, err := media.Open(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(6, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(f)
	f.Close()
	if string(b) != "blob" || f.Size() != 10 || f.ModTime().IsZero() {
		t.Fatalf("read %q size %d mod %v", b, f.Size(), f.ModTime())
	}
	if _, err := exports.Open(ctx, key); !errors.Is(err, parley.ErrBlobNotFound) {
		t.Fatalf("a media key visible under exports/: %v", err)
	}

	// Keys lists this prefix's keys only, older than the cut-off.
	if err := exports.Put(ctx, "abcdefabcdefabcdef", strings.NewReader("zip")); err != nil {
		t.Fatal(err)
	}
	list := func(s *gocloud.Store, before time.Time) []string {
		var keys []string
		if err := s.Keys(ctx, before, func(k string) error { keys = append(keys, k); return nil }); err != nil {
			t.Fatal(err)
		}
		return keys
	}
	if keys := list(media, time.Now().Add(time.Minute)); len(keys) != 1 || keys[0] != key {
		t.Fatalf("media keys %v", keys)
	}
	if keys := list(media, time.Now().Add(-time.Hour)); len(keys) != 0 {
		t.Fatalf("a fresh blob listed as old: %v", keys)
	}

	if err := media.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if err := media.Delete(ctx, key); err != nil {
		t.Fatalf("deleting a missing blob: %v", err)
	}
	if _, err := media.Open(ctx, key); !errors.Is(err, parley.ErrBlobNotFound) {
		t.Fatalf("open after delete: %v", err)
	}
}

// TestFailedPutLeavesNothing: a Put whose reader fails stores nothing.
func TestFailedPutLeavesNothing(t *testing.T) {
	ctx := context.Background()
	s, err := gocloud.Open(ctx, "fileblob://"+t.TempDir(), "media/")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Put(ctx, key, io.MultiReader(strings.NewReader("half"), failing{})); err == nil {
		t.Fatal("a failed read stored a blob")
	}
	if _, err := s.Open(ctx, key); !errors.Is(err, parley.ErrBlobNotFound) {
		t.Fatalf("partial blob visible: %v", err)
	}
}

// TestRefusesBadKeys: a key can never name another prefix or a path.
func TestRefusesBadKeys(t *testing.T) {
	s, err := gocloud.Open(context.Background(), "fileblob://"+t.TempDir(), "media/")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, k := range []string{"../exports/0123456789abcdef", "", "ABCDEF0123456789ABCDEF", "short"} {
		if err := s.Put(context.Background(), k, strings.NewReader("x")); err == nil {
			t.Errorf("key %q accepted", k)
		}
	}
	if _, err := gocloud.Open(context.Background(), "gs://bucket", "media/"); err == nil {
		t.Error("an unknown scheme opened")
	}
}

type failing struct{}

func (failing) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }
