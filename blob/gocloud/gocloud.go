// Package gocloud implements parley.BlobStore on a gocloud.dev/blob
// bucket, so that several nodes keep media and export files in one
// S3-compatible bucket (s3://…). The tests run it on gocloud's fileblob
// driver, the same code path but for the driver.
package gocloud

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/parleyhq/parley"
	pblob "github.com/parleyhq/parley/blob"
	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/s3blob"
	"gocloud.dev/gcerrors"
)

var _ parley.BlobStore = (*Store)(nil)

// Store keeps blobs in a bucket, each under its key and the store's
// prefix (for example "media/").
type Store struct {
	b *blob.Bucket
}

// Open opens the part under prefix ("media/", "exports/") of the bucket a
// URL names: s3://BUCKET?region=…&endpoint=… (credentials from the usual
// AWS sources: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile, an
// instance role), or gocloud's fileblob:///DIR (the tests' bucket). The
// drivers are wired here, not registered by import side effect.
func Open(ctx context.Context, rawURL, prefix string) (*Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("blob store url: %w", err)
	}
	var b *blob.Bucket
	switch u.Scheme {
	case "s3":
		b, err = (&s3blob.URLOpener{}).OpenBucketURL(ctx, u)
	case "fileblob":
		b, err = fileblob.OpenBucket(u.Path, &fileblob.Options{CreateDir: true, NoTempDir: true, Metadata: fileblob.MetadataDontWrite})
	default:
		return nil, fmt.Errorf("blob store url: unknown scheme %q (want s3://)", u.Scheme)
	}
	if err != nil {
		return nil, fmt.Errorf("blob store: %w", err)
	}
	// PrefixedBucket takes b over (and closes it with itself).
	return &Store{b: blob.PrefixedBucket(b, prefix)}, nil
}

// Close releases the store's view of the bucket.
func (s *Store) Close() error { return s.b.Close() }

// Put implements parley.BlobStore. A bucket's writer is atomic: the
// object appears whole when Close succeeds, or not at all.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) error {
	if !pblob.ValidKey(key) {
		return fmt.Errorf("blob store: bad key %q", key)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := s.b.NewWriter(wctx, key, &blob.WriterOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return fmt.Errorf("blob store: %w", err)
	}
	if _, err := io.Copy(w, r); err != nil {
		cancel() // abandons the write
		w.Close()
		return fmt.Errorf("blob store: write: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("blob store: %w", err)
	}
	return nil
}

// reader adapts a bucket reader to parley.BlobFile.
type reader struct{ *blob.Reader }

// Open implements parley.BlobStore.
func (s *Store) Open(ctx context.Context, key string) (parley.BlobFile, error) {
	if !pblob.ValidKey(key) {
		return nil, fmt.Errorf("blob store: bad key %q", key)
	}
	// The reader outlives the request's context only as long as the
	// caller reads it; a bucket reader stops when its context ends.
	r, err := s.b.NewReader(ctx, key, nil)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, parley.ErrBlobNotFound
	} else if err != nil {
		return nil, fmt.Errorf("blob store: %w", err)
	}
	return reader{r}, nil
}

// Delete implements parley.BlobStore.
func (s *Store) Delete(ctx context.Context, key string) error {
	if !pblob.ValidKey(key) {
		return fmt.Errorf("blob store: bad key %q", key)
	}
	if err := s.b.Delete(ctx, key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return fmt.Errorf("blob store: %w", err)
	}
	return nil
}

// Keys implements parley.BlobStore. Objects whose names are not keys of
// this store (another prefix, a driver's temporary file) are skipped.
func (s *Store) Keys(ctx context.Context, before time.Time, fn func(string) error) error {
	it := s.b.List(&blob.ListOptions{Delimiter: "/"})
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("blob store: list: %w", err)
		}
		if obj.IsDir || strings.Contains(obj.Key, "/") || !pblob.ValidKey(obj.Key) || !obj.ModTime.Before(before) {
			continue
		}
		if err := fn(obj.Key); err != nil {
			return err
		}
	}
}
