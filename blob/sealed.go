package blob

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/sealed"
)

var _ parley.BlobStore = (*Sealed)(nil)

// Sealed is a parley.BlobStore that encrypts blobs at rest: it seals each
// blob in the segmented stream format of package sealed (64 KiB
// AES-256-GCM segments, associated data "blob:" + key, so a blob copied
// under another key does not open) and keeps the result in another blob
// store. Open decrypts on the fly and can seek, so range requests and
// thumbnails read only the segments they need.
//
// Blobs written before encryption was turned on are served as they are
// (they do not start with a stream header); Reseal, which key rotation
// runs on every blob, seals them.
type Sealed struct {
	inner parley.BlobStore
	keys  *sealed.Keyring
}

// NewSealed returns a store that seals blobs under keys' current data key
// and keeps them in inner.
func NewSealed(inner parley.BlobStore, keys *sealed.Keyring) *Sealed {
	return &Sealed{inner: inner, keys: keys}
}

func blobAD(key string) []byte { return []byte("blob:" + key) }

// Put implements parley.BlobStore: r is sealed as it streams into inner.
func (s *Sealed) Put(ctx context.Context, key string, r io.Reader) error {
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		w, err := s.keys.SealStream(pw, blobAD(key))
		if err == nil {
			if _, err = io.Copy(w, r); err == nil {
				err = w.Close()
			}
		}
		pw.CloseWithError(err) // nil: EOF for inner
		done <- err
	}()
	err := s.inner.Put(ctx, key, pr)
	pr.CloseWithError(errors.New("blob store: put ended")) // unblocks the sealer if inner stopped early
	if serr := <-done; err == nil && serr != nil {
		err = serr
	}
	return err
}

// Open implements parley.BlobStore.
func (s *Sealed) Open(ctx context.Context, key string) (parley.BlobFile, error) {
	f, err := s.inner.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	ra := &seekReaderAt{rs: f}
	if _, ok := streamKeyID(ra, f.Size()); !ok {
		return f, nil // written before encryption was on
	}
	sr, err := s.keys.OpenStream(ra, f.Size(), blobAD(key))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("blob store: open %s: %w", key, err)
	}
	return &sealedFile{StreamReader: sr, f: f}, nil
}

// Delete implements parley.BlobStore.
func (s *Sealed) Delete(ctx context.Context, key string) error { return s.inner.Delete(ctx, key) }

// Keys implements parley.BlobStore.
func (s *Sealed) Keys(ctx context.Context, before time.Time, fn func(string) error) error {
	return s.inner.Keys(ctx, before, fn)
}

// Reseal rewrites a blob under the current data key unless it is under it
// already, and reports whether it did.
func (s *Sealed) Reseal(ctx context.Context, key string) (bool, error) {
	f, err := s.inner.Open(ctx, key)
	if err != nil {
		return false, err
	}
	id, ok := streamKeyID(&seekReaderAt{rs: f}, f.Size())
	f.Close()
	if ok && id == s.keys.Current() {
		return false, nil
	}
	plain, err := s.Open(ctx, key)
	if err != nil {
		return false, err
	}
	defer plain.Close()
	// Put writes a new file and renames it over the old one, which this
	// reader keeps open.
	if err := s.Put(ctx, key, plain); err != nil {
		return false, err
	}
	return true, nil
}

// streamKeyID reads a sealed stream's header: its data key id, and
// whether the bytes are a sealed stream at all.
func streamKeyID(r io.ReaderAt, size int64) (uint32, bool) {
	if _, err := sealed.PlainSize(size); err != nil {
		return 0, false
	}
	h := make([]byte, 5)
	if _, err := r.ReadAt(h, 0); err != nil || h[0] != sealed.StreamVersion {
		return 0, false
	}
	id := binary.BigEndian.Uint32(h[1:])
	return id, id != 0
}

// sealedFile is an open sealed blob: plaintext reads, the plaintext size.
type sealedFile struct {
	*sealed.StreamReader
	f parley.BlobFile
}

func (f *sealedFile) Close() error       { return f.f.Close() }
func (f *sealedFile) ModTime() time.Time { return f.f.ModTime() }

// seekReaderAt reads at an offset of a ReadSeeker; it serialises reads.
type seekReaderAt struct {
	mu sync.Mutex
	rs io.ReadSeeker
}

func (s *seekReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if ra, ok := s.rs.(io.ReaderAt); ok {
		return ra.ReadAt(p, off)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.rs.Seek(off, io.SeekStart); err != nil {
		return 0, err
	}
	return io.ReadFull(s.rs, p)
}
