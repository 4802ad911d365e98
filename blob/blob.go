// Package blob implements parley.BlobStore on local disk, the default
// home of media bytes (<data dir>/media).
package blob

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/parleyhq/parley"
)

var _ parley.BlobStore = (*Disk)(nil)

var keyPattern = regexp.MustCompile(`^[a-z0-9]{16,128}$`)

// ValidKey reports whether key is a key this package accepts: lower-case
// letters and digits only, so that no key can name a path outside the
// store.
func ValidKey(key string) bool { return keyPattern.MatchString(key) }

// Disk keeps blobs as files under a directory: <dir>/<k[0:2]>/<k[2:4]>/<k>.
// A Put writes a temporary file in <dir>/tmp, syncs it, renames it into
// place and syncs the directory, so a crash never leaves a partial blob
// under a key.
type Disk struct {
	dir string
}

// OpenDisk opens (creating it if needed) a disk store in dir.
func OpenDisk(dir string) (*Disk, error) {
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o700); err != nil {
		return nil, fmt.Errorf("blob store: %w", err)
	}
	// Temporary files left by a crash are never renamed: drop them once
	// they are an hour old (the directory may be shared by several
	// nodes, and another node's upload may be writing a younger one).
	entries, _ := os.ReadDir(filepath.Join(dir, "tmp"))
	for _, e := range entries {
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > time.Hour {
			os.Remove(filepath.Join(dir, "tmp", e.Name()))
		}
	}
	return &Disk{dir: dir}, nil
}

func (d *Disk) path(key string) (string, error) {
	if !ValidKey(key) {
		return "", fmt.Errorf("blob store: bad key %q", key)
	}
	return filepath.Join(d.dir, key[0:2], key[2:4], key), nil
}

// Put implements parley.BlobStore. A full disk is EStorageFull.
func (d *Disk) Put(ctx context.Context, key string, r io.Reader) error {
	return parley.StorageFull(d.put(ctx, key, r))
}

func (d *Disk) put(ctx context.Context, key string, r io.Reader) (err error) {
	final, err := d.path(key)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Join(d.dir, "tmp"), "put-"+rand.Text()[:8]+"-*")
	if err != nil {
		return fmt.Errorf("blob store: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = io.Copy(tmp, ctxReader{ctx, r}); err != nil {
		return fmt.Errorf("blob store: write: %w", err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("blob store: sync: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("blob store: close: %w", err)
	}
	dir := filepath.Dir(final)
	if err = os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("blob store: %w", err)
	}
	if err = os.Rename(tmp.Name(), final); err != nil {
		return fmt.Errorf("blob store: rename: %w", err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("blob store: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("blob store: sync dir: %w", err)
	}
	return nil
}

type diskFile struct {
	*os.File
	size int64
	mod  time.Time
}

func (f *diskFile) Size() int64        { return f.size }
func (f *diskFile) ModTime() time.Time { return f.mod }

// Open implements parley.BlobStore.
func (d *Disk) Open(ctx context.Context, key string) (parley.BlobFile, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, parley.ErrBlobNotFound
	} else if err != nil {
		return nil, fmt.Errorf("blob store: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("blob store: %w", err)
	}
	return &diskFile{File: f, size: st.Size(), mod: st.ModTime()}, nil
}

// Delete implements parley.BlobStore.
func (d *Disk) Delete(ctx context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob store: %w", err)
	}
	return nil
}

// Keys implements parley.BlobStore.
func (d *Disk) Keys(ctx context.Context, before time.Time, fn func(string) error) error {
	return filepath.WalkDir(d.dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			if p != d.dir && e.Name() == "tmp" {
				return filepath.SkipDir
			}
			return ctx.Err()
		}
		if !ValidKey(e.Name()) {
			return nil
		}
		info, err := e.Info()
		if err != nil || !info.ModTime().Before(before) {
			return nil
		}
		return fn(e.Name())
	})
}

// ctxReader stops a copy when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
