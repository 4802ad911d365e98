package blob_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parleyhq/parley/blob"
	"github.com/parleyhq/parley/sealed"
	"github.com/parleyhq/parley/sealed/sealedtest"
)

// rawFiles returns every file under dir, concatenated.
func rawFiles(t *testing.T, dir string) []byte {
	t.Helper()
	var all []byte
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			all = append(all, b...)
		}
		return nil
	})
	return all
}

func TestSealedBlobs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	disk, err := blob.OpenDisk(dir)
	if err != nil {
		t.Fatal(err)
	}
	ring, master, _ := sealedtest.Keyring(t)
	s := blob.NewSealed(disk, ring)
	secret := strings.Repeat("TOP SECRET PHOTO BYTES ", 10000) // ~230 KB, several segments
	if err := s.Put(ctx, key, strings.NewReader(secret)); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(rawFiles(t, dir), []byte("TOP SECRET")) {
		t.Fatal("the blob directory holds the plaintext")
	}
	f, err := s.Open(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if f.Size() != int64(len(secret)) {
		t.Errorf("size %d, want %d", f.Size(), len(secret))
	}
	if _, err := f.Seek(70000, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	part := make([]byte, 100)
	if _, err := io.ReadFull(f, part); err != nil || string(part) != secret[70000:70100] {
		t.Fatalf("range read %q %v", part, err)
	}
	f.Seek(0, io.SeekStart)
	all, err := io.ReadAll(f)
	f.Close()
	if err != nil || string(all) != secret {
		t.Fatalf("read all: %d bytes, %v", len(all), err)
	}

	// Under another key name it does not open (associated data).
	const other = "fedcba9876543210fedcba9876543210"
	src, _ := disk.Open(ctx, key)
	disk.Put(ctx, other, src)
	src.Close()
	if f, err := s.Open(ctx, other); err == nil {
		_, err = io.ReadAll(f)
		f.Close()
		if err == nil {
			t.Error("a blob copied under another key opened")
		}
	}

	// A blob written before encryption is served as it is, and Reseal
	// seals it.
	const legacy = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	disk.Put(ctx, legacy, strings.NewReader("old clear bytes"))
	if f, err := s.Open(ctx, legacy); err != nil {
		t.Fatal(err)
	} else if b, _ := io.ReadAll(f); string(b) != "old clear bytes" {
		t.Fatalf("legacy blob read %q", b)
	} else {
		f.Close()
	}
	// Rotation: key 2, then Reseal moves both blobs to it.
	k2, _ := sealed.NewDataKey(master, 2)
	if err := ring.Add(k2); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{key, legacy} {
		if done, err := s.Reseal(ctx, k); err != nil || !done {
			t.Fatalf("Reseal(%s) = %v %v", k, done, err)
		}
		if done, err := s.Reseal(ctx, k); err != nil || done {
			t.Fatalf("second Reseal(%s) = %v %v", k, done, err)
		}
	}
	if bytes.Contains(rawFiles(t, dir), []byte("old clear bytes")) {
		t.Fatal("the legacy blob is still in clear after Reseal")
	}
	only2, _ := sealed.NewKeyring(master, []sealed.WrappedKey{k2})
	s2 := blob.NewSealed(disk, only2)
	for k, want := range map[string]string{key: secret, legacy: "old clear bytes"} {
		f, err := s2.Open(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(f)
		f.Close()
		if err != nil || string(b) != want {
			t.Fatalf("%s after rotation: %d bytes %v", k, len(b), err)
		}
	}
}

func TestSealedBlobTampered(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	disk, _ := blob.OpenDisk(dir)
	ring := sealedtest.Ring(t)
	s := blob.NewSealed(disk, ring)
	if err := s.Put(ctx, key, strings.NewReader(strings.Repeat("x", 100000))); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, key[0:2], key[2:4], key)
	b, _ := os.ReadFile(p)
	b[len(b)-20] ^= 1
	os.WriteFile(p, b, 0o600)
	f, err := s.Open(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.ReadAll(f); !errors.Is(err, sealed.ErrOpen) {
		t.Fatalf("tampered blob read: %v", err)
	}
}

// A reader that fails makes Put fail and leaves no blob.
func TestSealedBlobPutError(t *testing.T) {
	ctx := context.Background()
	disk, _ := blob.OpenDisk(t.TempDir())
	ring := sealedtest.Ring(t)
	s := blob.NewSealed(disk, ring)
	boom := errors.New("boom")
	if err := s.Put(ctx, key, io.MultiReader(strings.NewReader("partial"), errReader{boom})); !errors.Is(err, boom) {
		t.Fatalf("Put = %v", err)
	}
	if _, err := s.Open(ctx, key); err == nil {
		t.Fatal("a failed Put left a blob")
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
