package server

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/blob"
	"github.com/parleyhq/parley/blob/gocloud"
	"github.com/parleyhq/parley/sealed"
)

// openBlobs opens the stores of media (sealed under ring when encryption
// at rest is on) and of finished exports that cfg.MediaURL names. With no
// URL, media stay in the data directory and exports (nil store) in its
// exports/ folder, as on a single node.
func openBlobs(cfg Config, ring *sealed.Keyring) (media, exports parley.BlobStore, closeFn func() error, err error) {
	media, exports, closeFn, err = openPlainBlobs(cfg)
	if err != nil || ring == nil {
		return media, exports, closeFn, err
	}
	return blob.NewSealed(media, ring), exports, closeFn, nil
}

func openPlainBlobs(cfg Config) (media, exports parley.BlobStore, closeFn func() error, err error) {
	noop := func() error { return nil }
	u := cfg.MediaURL
	switch {
	case u == "":
		d, err := blob.OpenDisk(filepath.Join(cfg.DataDir, "media"))
		return d, nil, noop, err
	case strings.HasPrefix(u, "file://"):
		// A shared directory: the disk store as on one node (fsync'd,
		// the same layout, so an existing media folder moves there as
		// is), media/ and exports/ side by side.
		p, err := url.Parse(u)
		if err != nil || p.Path == "" || p.Host != "" {
			return nil, nil, nil, fmt.Errorf("PARLEY_MEDIA_URL: %q is not file:///ABSOLUTE/PATH", u)
		}
		m, err := blob.OpenDisk(filepath.Join(p.Path, "media"))
		if err != nil {
			return nil, nil, nil, err
		}
		e, err := blob.OpenDisk(filepath.Join(p.Path, "exports"))
		if err != nil {
			return nil, nil, nil, err
		}
		return m, e, noop, nil
	case strings.HasPrefix(u, "s3://"), strings.HasPrefix(u, "fileblob://"):
		m, err := gocloud.Open(context.Background(), u, "media/")
		if err != nil {
			return nil, nil, nil, fmt.Errorf("PARLEY_MEDIA_URL: %w", err)
		}
		e, err := gocloud.Open(context.Background(), u, "exports/")
		if err != nil {
			m.Close()
			return nil, nil, nil, fmt.Errorf("PARLEY_MEDIA_URL: %w", err)
		}
		return m, e, func() error { return errors.Join(m.Close(), e.Close()) }, nil
	}
	return nil, nil, nil, fmt.Errorf("PARLEY_MEDIA_URL: unknown scheme in %q (want empty, file:///DIR or s3://BUCKET)", u)
}
