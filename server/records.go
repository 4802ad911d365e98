package server

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"database/sql"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the driver the restore check opens the copy with

	"github.com/parleyhq/parley/app"
)

// RecordsKeyName is the signing key's file in the data directory when
// PARLEY_RECORDS_KEY_FILE is not set.
const RecordsKeyName = "records-ed25519.key"

// recordsKeyPath is where the server's export signing key lives.
func recordsKeyPath(cfg Config) string {
	if cfg.RecordsKeyFile != "" {
		return cfg.RecordsKeyFile
	}
	return filepath.Join(cfg.DataDir, RecordsKeyName)
}

// LoadRecordsKey reads the Ed25519 key that signs exports (PEM, PKCS #8).
// Without a configured file, a key is made in the data directory on the
// first start and kept there (mode 0600); a configured file must exist.
func LoadRecordsKey(cfg Config) (ed25519.PrivateKey, error) {
	path := recordsKeyPath(cfg)
	buf, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && cfg.RecordsKeyFile == "" {
		return newRecordsKey(path)
	} else if err != nil {
		return nil, fmt.Errorf("records key: %w", err)
	}
	block, _ := pem.Decode(buf)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("records key %s: not a PEM \"PRIVATE KEY\" block", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("records key %s: %w", path, err)
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("records key %s: not an Ed25519 key (make one with: openssl genpkey -algorithm ed25519)", path)
	}
	return key, nil
}

func newRecordsKey(path string) (ed25519.PrivateKey, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := writeFileSync(path, pemBytes, 0o600); err != nil {
		return nil, fmt.Errorf("records key: %w", err)
	}
	return key, nil
}

// writeFileSync writes a new file durably (temp, fsync, rename).
func writeFileSync(path string, b []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// ExportCleanInterval is how often expired exports are deleted and
// exports whose node stopped (their lease ran out) are failed.
const ExportCleanInterval = app.ExportLease

// cleanExports fails the exports whose node stopped and deletes expired
// ones, at start and every ExportCleanInterval, until Shutdown. Exports
// other live nodes are building keep their lease and are left alone.
func (s *Server) cleanExports() {
	defer s.bg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-s.stopGC; cancel() }()
	t := time.NewTicker(ExportCleanInterval)
	defer t.Stop()
	for {
		if n, err := s.App.CleanExports(ctx, true); err != nil && ctx.Err() == nil {
			s.log.Warn("export cleanup", "err", err)
		} else if n > 0 {
			s.log.Info("expired exports deleted", "count", n)
		}
		select {
		case <-s.stopGC:
			return
		case <-t.C:
		}
	}
}

// snapshotter is a store that can write a consistent copy of itself.
type snapshotter interface {
	Backup(ctx context.Context, path string) error
}

// Backup writes a consistent copy of the running server's data to dest,
// an empty or new directory: see BackupStore.
func (s *Server) Backup(ctx context.Context, dest string) (*BackupResult, error) {
	return BackupStore(ctx, s.Store, s.cfg, dest)
}

// BackupResult says what a backup copied.
type BackupResult struct {
	Dir        string `json:"dir"`
	Database   int64  `json:"database_bytes"`
	MediaFiles int    `json:"media_files"`
	MediaBytes int64  `json:"media_bytes"`
}

// BackupStore snapshots the database (SQLite's VACUUM INTO on the live
// handle: one read transaction, so the copy holds exactly the commits
// before it began and readers and writers go on meanwhile), then copies
// the media blobs and the records key. Blobs are written before the rows
// that name them and never change, so every blob the snapshot refers to
// is on disk by the time it is copied.
func BackupStore(ctx context.Context, st any, cfg Config, dest string) (*BackupResult, error) {
	snap, ok := st.(snapshotter)
	if !ok {
		return nil, errors.New("backup: this store cannot take snapshots")
	}
	if err := emptyDir(dest); err != nil {
		return nil, err
	}
	res := &BackupResult{Dir: dest}
	dbPath := filepath.Join(dest, "parley.db")
	if err := snap.Backup(ctx, dbPath); err != nil {
		return nil, fmt.Errorf("backup: snapshot: %w", err)
	}
	if fi, err := os.Stat(dbPath); err == nil {
		res.Database = fi.Size()
	}
	n, size, err := copyTree(ctx, filepath.Join(cfg.DataDir, "media"), filepath.Join(dest, "media"))
	if err != nil {
		return nil, fmt.Errorf("backup: media: %w", err)
	}
	res.MediaFiles, res.MediaBytes = n, size
	if cfg.RecordsKeyFile == "" {
		if _, _, err := copyFile(recordsKeyPath(cfg), filepath.Join(dest, RecordsKeyName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("backup: records key: %w", err)
		}
	}
	return res, syncDir(dest)
}

// Restore copies a backup made by BackupStore into cfg's data directory,
// which must be empty or missing, and checks the copy with SQLite's
// integrity_check before anything else may open it.
func Restore(ctx context.Context, cfg Config, src string) (*BackupResult, error) {
	if _, err := os.Stat(filepath.Join(src, "parley.db")); err != nil {
		return nil, fmt.Errorf("restore: %s holds no parley.db: %w", src, err)
	}
	dbPath, err := sqlitePath(cfg)
	if err != nil {
		return nil, err
	}
	if err := emptyDir(cfg.DataDir); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	if _, err := os.Stat(dbPath); err == nil {
		return nil, fmt.Errorf("restore: %s exists; restore into an empty data directory", dbPath)
	}
	res := &BackupResult{Dir: cfg.DataDir}
	if res.Database, _, err = copyFile(filepath.Join(src, "parley.db"), dbPath); err != nil {
		return nil, fmt.Errorf("restore: database: %w", err)
	}
	if err := IntegrityCheck(ctx, dbPath); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	if res.MediaFiles, res.MediaBytes, err = copyTree(ctx, filepath.Join(src, "media"), filepath.Join(cfg.DataDir, "media")); err != nil {
		return nil, fmt.Errorf("restore: media: %w", err)
	}
	if _, _, err := copyFile(filepath.Join(src, RecordsKeyName), filepath.Join(cfg.DataDir, RecordsKeyName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("restore: records key: %w", err)
	}
	return res, syncDir(cfg.DataDir)
}

// IntegrityCheck runs PRAGMA integrity_check on a database file.
func IntegrityCheck(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=query_only(ON)")
	if err != nil {
		return err
	}
	defer db.Close()
	var out []string
	rows, err := db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(out) != 1 || out[0] != "ok" {
		return fmt.Errorf("integrity check failed: %s", strings.Join(out, "; "))
	}
	return nil
}

// emptyDir makes dir if needed and fails unless it is empty but for the
// lock file of parley restore, which holds the directory meanwhile.
func emptyDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.Name() != "parley.lock" {
			return fmt.Errorf("%s is not empty", dir)
		}
	}
	return nil
}

// copyTree copies the regular files under src to dst, skipping the
// temporary uploads; a missing src copies nothing.
func copyTree(ctx context.Context, src, dst string) (int, int64, error) {
	n, total := 0, int64(0)
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && path == src {
			return filepath.SkipDir
		}
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			if rel == "tmp" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o700)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		size, _, err := copyFile(path, filepath.Join(dst, rel))
		if errors.Is(err, fs.ErrNotExist) {
			return nil // collected since the walk listed it: nothing refers to it
		}
		n, total = n+1, total+size
		return err
	})
	return n, total, err
}

// copyFile copies one file durably.
func copyFile(src, dst string) (int64, bool, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, false, err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return 0, false, err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, false, err
	}
	n, err := io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return n, true, err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
