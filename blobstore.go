package parley

import (
	"context"
	"errors"
	"io"
	"time"
)

// BlobStore keeps media bytes under keys the caller chooses (Parley uses
// the SHA-256 of the content, so equal files share one blob). The database
// holds which blob a media row uses; a blob store only keeps bytes. The
// disk implementation is package blob; the interface fits an S3-compatible
// store as well.
type BlobStore interface {
	// Put stores r's bytes under key, atomically: after a crash the key
	// holds all of them or nothing. Putting an existing key replaces it
	// with (by content addressing) the same bytes.
	Put(ctx context.Context, key string, r io.Reader) error
	// Open returns the blob for reading and seeking, or ErrBlobNotFound.
	Open(ctx context.Context, key string) (BlobFile, error)
	// Delete removes a blob; a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// Keys calls fn for every blob last written before a time, for the
	// collection of blobs that no row refers to.
	Keys(ctx context.Context, before time.Time, fn func(key string) error) error
}

// BlobFile is an open blob.
type BlobFile interface {
	io.ReadSeekCloser
	Size() int64
	ModTime() time.Time
}

// ErrBlobNotFound is returned by BlobStore.Open for a missing key.
var ErrBlobNotFound = errors.New("blob not found")
